#!/usr/bin/env bash
# The embedded benchmark (docs/benchmarks.md, "Embedded serve: capacity and overload"): `serve` in Release (the whole
# pipeline in one process, no Kafka, no Redis), N stereo calls replayed through its native ingest at real time, and the
# delay from audio chunk accepted to window stored, per window, from serve's own histogram (streaming.pipeline.latency on
# /metrics, read before and after each run: p50/p99 interpolated within its buckets; the share of windows within 500 ms is
# exact at that bucket edge). CPU seconds of serve and of the replay client.
# Usage: bench/serve.sh "CALLS [CALLS...]" [WAV]   (default WAV: samples/call-calm.wav, 52 s)
#   REFUSE_ABOVE=00:00:01 ADMIT_BELOW=00:00:00.5  overload refusal by the pipeline's delay on (default off: capacity runs
#                                               measure what is admitted)
#   REFUSE_LATE=00:00:00.5 ADMIT_LATE=00:00:00.2  overload refusal by audio arriving late on (default off)
#   RAMP=30                                     the calls' starts spread over this many seconds (default 1)
#   SERVE_CPUS=1 CLIENT_CPUS=0                  pin serve and the replay client to these cores (taskset), so the client's
#                                               load does not take serve's CPU and an overload can be offered in full
# serve starts once; each CALLS value is one replay.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:?usage: serve.sh \"CALLS [CALLS...]\" [WAV]}"
WAV="${2:-samples/call-calm.wav}"
MODEL="${MODEL:-models/emotion-cnn-bilstm.onnx}"
OUT=".servers/bench-serve"
PORT=5301
mkdir -p "$OUT"
for p in services/standalone tools/replay; do
  dotnet build -c Release -v q -nologo "$p" >"$OUT/build-${p##*/}.log" 2>&1 || { tail -20 "$OUT/build-${p##*/}.log"; exit 1; }
done

API_KEY="bench-api-key-$RANDOM$RANDOM$RANDOM"  # the one tenant of the run, both parties analyzed
Tenants__bench__ApiKey="$API_KEY" Tenants__bench__CustomerOnly=false Tenants__bench__MaxConcurrentSessions=100000 \
Ingest__MaxConnections=100000 Ingest__RefuseAbovePipelineLag="${REFUSE_ABOVE:-00:00:00}" Ingest__AdmitBelowPipelineLag="${ADMIT_BELOW:-00:00:00}" \
Ingest__RefuseAboveArrivalDelay="${REFUSE_LATE:-00:00:00}" Ingest__AdmitBelowArrivalDelay="${ADMIT_LATE:-00:00:00}" \
Logging__LogLevel__Default=Warning \
  ${SERVE_CPUS:+taskset -c "$SERVE_CPUS"} dotnet services/standalone/bin/Release/net10.0/streaming.dll serve --model "$MODEL" --urls "http://127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { echo "serve did not become healthy:"; tail -20 "$OUT/serve.log"; exit 1; }

# The call's length: the data after the 44-byte header over the byte rate (header bytes 28-31).
SECONDS_OF_AUDIO=$(( ($(stat -c %s "$WAV") - 44) / $(od -An -t u4 -j 28 -N 4 "$WAV") ))
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime in clock ticks
TICKS=$(getconf CLK_TCK)
# The latency histogram's cumulative bucket counts: "le count" lines.
buckets() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^streaming_pipeline_latency_seconds_bucket/ { match($0, /le="[^"]+"/); le = substr($0, RSTART + 4, RLENGTH - 5); print le, $NF }'; }
# p50, p99 (linear within the bucket) and the share within 0.5 s of the difference of two bucket snapshots.
report() {
  awk 'FILENAME == ARGV[1] { base[$1] = $2; next } { le = ($1 == "+Inf") ? 1e9 : $1; print le, $2 - base[$1] }' "$1" "$2" | sort -g | awk '
    { le[NR] = $1; c[NR] = $2; n = NR }
    function q(p,   target, i, lo, below) {
      target = p * c[n]; below = 0; lo = 0
      for (i = 1; i <= n; i++) { if (c[i] >= target) return le[i] >= 1e9 ? 1e12 : (lo + (le[i] - lo) * (c[i] == below ? 1 : (target - below) / (c[i] - below))) * 1000; lo = le[i]; below = c[i] }
    }
    END {
      if (n == 0 || c[n] == 0) { print "no windows"; exit }
      for (i = 1; i <= n; i++) if (le[i] == 0.5) within = c[i]
      printf "%d windows; p50 %.0f ms, p99 %.0f ms (bucket-interpolated); within 500 ms: %.2f %%\n", c[n], q(0.5), q(0.99), 100 * within / c[n]
    }'
}

for CALLS in $RUNS; do
  BEFORE_CPU=$(cpu "$SERVE")
  buckets >"$OUT/b0"
  echo "== $CALLS call(s), load average $(cut -d' ' -f1-3 /proc/loadavg), refusal above ${REFUSE_ABOVE:-off} delay / ${REFUSE_LATE:-off} late, starts over ${RAMP:-1} s"
  START=$(date +%s.%N)
  /usr/bin/time -f "  replay client: %U s user + %S s system" -o "$OUT/replay-time" \
    ${CLIENT_CPUS:+taskset -c "$CLIENT_CPUS"} dotnet tools/replay/bin/Release/net10.0/Streaming.Replay.dll --url "ws://127.0.0.1:$PORT/v1/audio" --api-key "$API_KEY" \
    --calls "$CALLS" --prefix "serve$CALLS-$(date +%s)" --ramp "${RAMP:-1}" "$WAV" >"$OUT/replay.out" 2>&1 &
  REPLAY=$!
  # thirds of the run: a p99 that grows from third to third means falling behind
  THIRD=$(echo "($SECONDS_OF_AUDIO + ${RAMP:-1}) / 3" | bc)
  sleep "$THIRD"; buckets >"$OUT/b1"
  sleep "$THIRD"; buckets >"$OUT/b2"
  wait "$REPLAY" || true
  sleep 3  # the last windows of the last calls
  buckets >"$OUT/b3"
  WALL=$(echo "$(date +%s.%N) - $START" | bc)
  echo "  calls: $(grep -c '"type":"stopped"' "$OUT/replay.out") completed, $(grep -c 'closed early: 1013' "$OUT/replay.out") refused (1013), $(grep -vc -e '"type":"stopped"' -e 'closed early: 1013' -e '^replay:' "$OUT/replay.out") other"
  grep -v -e '"type":"stopped"' -e 'closed early: 1013' "$OUT/replay.out" | head -3 | sed 's/^/  /'
  echo "  latency: $(report "$OUT/b0" "$OUT/b3")"
  echo "  by third: $(report "$OUT/b0" "$OUT/b1" | grep -o 'p99 [0-9]* ms') / $(report "$OUT/b1" "$OUT/b2" | grep -o 'p99 [0-9]* ms') / $(report "$OUT/b2" "$OUT/b3" | grep -o 'p99 [0-9]* ms')"
  used=$(echo "scale=1; ($(cpu "$SERVE") - $BEFORE_CPU) / $TICKS" | bc)
  echo "  serve: ${used} s CPU ($(echo "scale=0; 100 * $used / $WALL" | bc) % of a core over ${WALL%.*} s); $(cat "$OUT/replay-time" | tail -1)"
  echo "  memory: serve $(awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%d / %d MiB (now / peak)", r/1024, h/1024}' "/proc/$SERVE/status")"
  sleep 5
done
