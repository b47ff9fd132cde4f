#!/usr/bin/env bash
# Publishes services as their images run them: publish.sh OUT SERVICE... [-p:PROPERTY=VALUE...]
# → OUT/<service>/ (framework-dependent, Release, no apphost: the image starts `dotnet <assembly>.dll`).
# The Dockerfile's build stages run it; so does CI (scripts/test.sh), which cannot pull base images here.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$1"; shift
services=(); props=()
for arg in "$@"; do
  case "$arg" in -p:*) props+=("$arg") ;; *) services+=("$arg") ;; esac
done
for service in "${services[@]}"; do
  [ -d "services/$service" ] || { echo "publish.sh: no service '$service' under services/" >&2; exit 1; }
  dotnet publish "services/$service" -c Release -o "$out/$service" --nologo -v quiet -p:UseAppHost=false "${props[@]}"
done
