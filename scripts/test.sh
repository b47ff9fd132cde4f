#!/usr/bin/env bash
# The test command: installs and starts the servers the tests talk to, runs every test project, stops the servers.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f scripts/servers.sh ]; then
  bash scripts/servers.sh start
  trap 'bash scripts/servers.sh stop' EXIT
  # shellcheck disable=SC1091
  set -a; . .servers/env; set +a
fi

# The container images' build step (deploy/docker/Dockerfile runs the same script). No base image can be pulled on
# the build machine, so CI runs the publish each image runs and checks the model travels with the classifier.
images="$(mktemp -d)"
bash deploy/docker/publish.sh "$images" ingest featurizer classifier aggregator
test -f "$images/classifier/models/emotion-cnn-bilstm.onnx" || { echo "test.sh: the classifier's publish output lacks the model" >&2; exit 1; }
rm -rf "$images"

# The CLI as the README installs it (ReadyToRun): it must start and analyze the demo call.
cli="$(mktemp -d)"
bash scripts/install-cli.sh "$cli/streaming" >/dev/null
"$cli/streaming/streaming" analyze samples/call-angry-customer.wav --quiet --json "$cli/call.json"
grep -q '"segments"' "$cli/call.json" || { echo "test.sh: the installed CLI wrote no timeline" >&2; exit 1; }
rm -rf "$cli"

# The failures are repeated at the end: CI keeps only the last part of a long log.
log="$(mktemp)"
status=0
dotnet test Streaming.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "test.sh: the failed tests, repeated from above:" >&2
  grep -E -A20 '^\s+Failed [A-Za-z_]' "$log" | head -c 8000 >&2 || true
fi
rm -f "$log"

# The rest of the fault matrix (the solution's run above has its combined cell): one test run per cell, each on a fresh
# stack, about 2 minutes each. A failed cell fails the command. Arguments (say a --filter) run only the tests they select.
if [ "$#" -eq 0 ]; then
  bash bench/fault-matrix.sh featurizer classifier aggregator featurizer-alone classifier-alone aggregator-alone join ingest redis broker || status=1
else
  echo "test.sh: arguments given, so the fault matrix's other cells (bench/fault-matrix.sh) were not run"
fi
exit "$status"
