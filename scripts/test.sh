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

dotnet test Streaming.sln -c Release --logger "console;verbosity=normal" "$@"
