#!/usr/bin/env bash
# The distributed benchmark (docs/benchmarks.md, "## Distributed"): the four services in Release on the local
# Kafka 0.9 and Redis, N stereo calls replayed through ingest at real time, ingest-to-Redis latency from the timeline
# update channel, and CPU seconds per process to name the bottleneck.
# Usage: bench/distributed.sh "CALLS [CALLS...]" [WAV]   (default WAV: samples/call-calm.wav, 52 s)
# The services start once; each CALLS value is one replay (calls started over one second, then real time).
# Soak (docs/reliability.md): SOAK_MINUTES=30 bench/distributed.sh "100" replays the CALLS round after round for that long
# and samples every 10 s each service's resident memory, GC heap and consumer lag into .servers/bench/soak.csv (each
# round's latency into soak-rounds.csv); `dotnet run -c Release --project bench -- soak-plot .servers/bench` draws them (two PNGs).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:?usage: distributed.sh \"CALLS [CALLS...]\" [WAV]}"
WAV="${2:-samples/call-calm.wav}"
MODEL="${MODEL:-models/emotion-cnn-bilstm.onnx}"
NS="bench$(date +%s)."
OUT=".servers/bench"
mkdir -p "$OUT"

bash scripts/servers.sh start >/dev/null
set -a; . .servers/env; set +a
for t in audio-chunks.v1 feature-frames.v1 emotion-windows.v1 dead-letter.v1; do bash scripts/servers.sh topic "$NS$t" 4; done
for p in services/ingest services/featurizer services/classifier services/aggregator tools/replay; do
  dotnet build -c Release -v q -nologo "$p" >"$OUT/build-${p##*/}.log" 2>&1 || { tail -20 "$OUT/build-${p##*/}.log"; exit 1; }
done

declare -A PORT=([ingest]=5201 [featurizer]=5202 [classifier]=5203 [aggregator]=5204) PID=()
cleanup() { for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null || true; done; }
trap cleanup EXIT
API_KEY="bench-api-key-$RANDOM$RANDOM$RANDOM"  # the one tenant of the run, both parties analyzed
for s in aggregator classifier featurizer ingest; do
  name="$(tr '[:lower:]' '[:upper:]' <<<"${s:0:1}")${s:1}"
  Kafka__BootstrapServers="$KAFKA_BOOTSTRAP" Kafka__LegacyBroker09=true Kafka__Namespace="$NS" Kafka__ClientId="$s" \
  Redis__Configuration="$REDIS_ENDPOINT" Redis__KeyPrefix="$NS" Model__Path="$MODEL" Urls="http://127.0.0.1:${PORT[$s]}" \
  Logging__LogLevel__Default=Warning Tenants__bench__ApiKey="$API_KEY" Tenants__bench__CustomerOnly=false Tenants__bench__MaxConcurrentSessions=100000 \
    dotnet "services/$s/bin/Release/net10.0/Streaming.$name.dll" >"$OUT/$s.log" 2>&1 &
  PID[$s]=$!
done
for s in "${!PORT[@]}"; do
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:${PORT[$s]}/health" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:${PORT[$s]}/health" >/dev/null || { echo "$s did not become healthy:"; tail -20 "$OUT/$s.log"; exit 1; }
done

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime in clock ticks
TICKS=$(getconf CLK_TCK)
ALL=(ingest featurizer classifier aggregator kafka redis)
pidof_() { case "$1" in kafka) cat .servers/kafka.pid ;; redis) cat .servers/redis.pid ;; *) echo "${PID[$1]}" ;; esac; }

replay() {  # CALLS PREFIX
  /usr/bin/time -f "  replay client: %U s user + %S s system" dotnet tools/replay/bin/Release/net10.0/Streaming.Replay.dll --url "ws://127.0.0.1:${PORT[ingest]}/v1/audio" --api-key "$API_KEY" \
    --calls "$1" --prefix "$2" --latency "$REDIS_ENDPOINT/$NS" "$WAV" 2>&1 | grep -v '"type":"stopped"' || true
}
metric_sum() { awk -v m="$1" '$1 ~ "^"m"([{ ]|$)" {s += $NF} END {printf "%d", s}' <<<"$2"; }
sample() {  # one line per service: unix time, service, VmRSS MiB, GC heap MiB (all generations, after the last GC), consumer lag
  local now metrics; now=$(date +%s)
  for s in ingest featurizer classifier aggregator; do
    metrics=$(curl -sf "http://127.0.0.1:${PORT[$s]}/metrics" || true)
    echo "$now,$s,$(awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/${PID[$s]}/status"),$(( $(metric_sum dotnet_gc_last_collection_heap_size_bytes "$metrics") / 1048576 )),$(metric_sum streaming_kafka_consumer_lag "$metrics")"
  done
}
soak() {  # CALLS: rounds of CALLS calls until SOAK_MINUTES have passed, sampled every 10 s
  local end=$(( $(date +%s) + SOAK_MINUTES * 60 )) round=0 report
  echo "time,service,rss_mib,gc_heap_mib,consumer_lag" >"$OUT/soak.csv"
  echo "time,round,p50_ms,p99_ms" >"$OUT/soak-rounds.csv"
  ( while [ "$(date +%s)" -lt "$end" ]; do sample >>"$OUT/soak.csv"; sleep 10; done ) &
  local sampler=$!
  while [ "$(date +%s)" -lt "$end" ]; do
    round=$((round + 1))
    report=$(replay "$1" "soak$round")
    echo "$report" | grep -E '^(latency|replay):' | sed "s/^/  round $round: /"
    echo "$(date +%s),$round,$(grep -oP 'p50 \K[0-9]+' <<<"$report"),$(grep -oP 'p99 \K[0-9]+' <<<"$report")" >>"$OUT/soak-rounds.csv"
  done
  wait "$sampler"
}

for CALLS in $RUNS; do
  declare -A BEFORE=()
  for s in "${ALL[@]}"; do BEFORE[$s]=$(cpu "$(pidof_ "$s")"); done
  START=$(date +%s.%N)
  echo "== $CALLS call(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "${SOAK_MINUTES:-}" ]; then soak "$CALLS"; else replay "$CALLS" "bench$CALLS"; fi
  WALL=$(echo "$(date +%s.%N) - $START" | bc)
  echo "wall ${WALL} s; CPU seconds per process (share of one core over the run):"
  for s in "${ALL[@]}"; do
    used=$(echo "scale=1; ($(cpu "$(pidof_ "$s")") - ${BEFORE[$s]}) / $TICKS" | bc)
    echo "  $s: ${used} s ($(echo "scale=0; 100 * $used / $WALL" | bc) %)"
  done
  # Memory for sizing requests and limits (docs/operations.md): resident now and the peak since the process started.
  echo "memory per process (VmRSS now / VmHWM peak since start):"
  for s in "${ALL[@]}"; do
    echo "  $s: $(awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%d / %d MiB", r/1024, h/1024}' "/proc/$(pidof_ "$s")/status")"
  done
  sleep 5
done
