#!/usr/bin/env bash
# The full fault matrix (docs/reliability.md, "Fault matrix"): FaultMatrixTests once per cell, each on a fresh stack of
# two instances per service (one of the stage a "-alone" cell kills) with 20 concurrent 3.5-minute stereo calls.
# scripts/test.sh (CI) runs the "combined" cell with the solution's tests, then every other cell through this script.
# Usage: bench/fault-matrix.sh [CELL...]   (default: every cell; FAULT_MATRIX_SEED=N repeats a run's fault moments)
# Each cell's report lines (faults, moments, recovery, lost/extra/differing windows, load average) are printed and kept
# in .servers/fault-matrix/CELL.log. A cell that fails leaves every service's output, its private broker's logs and a census
# of the wrong calls' messages on the audio and frames topics in .servers/fault-matrix/logs/CELL-SEED/
# (FAULT_MATRIX_KEEP_LOGS=1 keeps them for cells that pass too).
set -uo pipefail
cd "$(dirname "$0")/.."
CELLS=("$@")
[ ${#CELLS[@]} -gt 0 ] || CELLS=(featurizer classifier aggregator featurizer-alone classifier-alone aggregator-alone join ingest redis broker combined)
OUT=".servers/fault-matrix"

bash scripts/servers.sh start >/dev/null || exit 1
set -a; . .servers/env; set +a
mkdir -p "$OUT"
nice -n 10 dotnet build -c Release -v q -nologo tests/Distributed.Tests >"$OUT/build.log" 2>&1 || { tail -20 "$OUT/build.log"; exit 1; }

failed=()
for cell in "${CELLS[@]}"; do
  echo "== cell $cell ($(date -u +%H:%M:%S), load average $(cut -d' ' -f1-3 /proc/loadavg))"
  FAULT_MATRIX_CELL="$cell" FAULT_MATRIX_LOGS="$PWD/$OUT/logs" nice -n 10 dotnet test tests/Distributed.Tests -c Release --no-build \
    --filter "FullyQualifiedName~FaultMatrixTests" --logger "console;verbosity=detailed" >"$OUT/$cell.log" 2>&1
  status=$?
  grep -E "^\s*(cell |kill |SIGTERM |a third |the third |Redis |Kafka |logs and census |matrix-[0-9]+/)" "$OUT/$cell.log" | sed 's/^\s*/  /'
  if [ "$status" -ne 0 ]; then
    failed+=("$cell")
    echo "  FAILED (exit $status):"; grep -E -A12 "^\s+Failed |Error Message" "$OUT/$cell.log" | head -40
    # where only this output survives (CI), the census of the wrong calls says most about what happened
    for census in "$OUT"/logs/"$cell"-*/census.txt; do [ -f "$census" ] && { echo "  $census:"; head -80 "$census" | sed 's/^/    /'; }; done
  else
    echo "  passed"
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "failed cells: ${failed[*]}"; exit 1; }
