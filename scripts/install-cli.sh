#!/usr/bin/env bash
# Builds the `streaming` command as users should run it: published ReadyToRun (methods precompiled, so a run spends
# its time on the call instead of the JIT; docs/benchmarks.md, "Start-up"). Needs only the .NET SDK.
#   bash scripts/install-cli.sh [DIR]     (default: out/streaming) → DIR/streaming analyze CALL.wav
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-out/streaming}"
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64 | arm64) rid=linux-arm64 ;;
  *) echo "install-cli.sh: no ReadyToRun target for $(uname -m); use 'dotnet run --project services/standalone --'" >&2; exit 2 ;;
esac
dotnet publish services/standalone -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true \
  -o "$dir" --nologo -v quiet
echo "installed: $dir/streaming (try: $dir/streaming analyze samples/call-angry-customer.wav)"
