#!/usr/bin/env bash
# The featurizer's prosody (pitch, voicing, energy per 10 ms frame, bench features 8k prosody) against aubio's YIN pitch
# tracker (Debian python3-aubio, C inside; yinfast, 512-sample buffer, 80-sample hop) on the same 60 s of 8 kHz audio in
# the same sitting, interleaved round after round. Beside them the project's log-mels on the same chunks (8k live), the
# cost prosody is added to. PEERS: a writable copy of ../shared/peers on which setup.sh has run (default /tmp/peers).
#   bench/pitch-vs-peer.sh [rounds=5]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-/tmp/peers}
INPUT=$PEERS/data/speech60.f32
[ -f "$INPUT" ] || { echo "no $INPUT: copy ../shared/peers to $PEERS and run its setup.sh" >&2; exit 2; }
dotnet build "$ROOT/bench" -c Release -nologo -v q >/dev/null
BENCH=$ROOT/bench/bin/Release/net10.0/bench
load() { echo "# $(date -u +%H:%M:%SZ) load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"; }
peer() {
  /usr/bin/python3 - "$INPUT" <<'PY'
import sys, time, numpy as np, aubio
x = np.fromfile(sys.argv[1], dtype=np.float32)[::2].copy()  # 8 kHz: decimated by two, as bench features does
hop, runs = 80, 11
def once():
    p = aubio.pitch("yinfast", 512, hop, 8000)
    for at in range(0, len(x) - hop + 1, hop):
        p(x[at:at + hop])
for _ in range(3): once()
times = []
for _ in range(runs):
    t = time.process_time(); once(); times.append(time.process_time() - t)
times.sort()
print(f"audio_s_per_cpu_s={len(x) / 8000 / times[runs // 2]:.1f}")
PY
}
ROUNDS=${1:-5}
RESULTS=$(mktemp)
load
for ((r = 1; r <= ROUNDS; r++)); do
  echo "aubio-yinfast $(peer | grep -o 'audio_s_per_cpu_s=[0-9.]*' | cut -d= -f2)" >>"$RESULTS"
  echo "prosody $("$BENCH" features 8k prosody 11 "$INPUT" | grep -o 'audio_s_per_cpu_s=[0-9.]*' | cut -d= -f2)" >>"$RESULTS"
  echo "logmel $("$BENCH" features 8k live 11 "$INPUT" | grep -o 'audio_s_per_cpu_s=[0-9.]*' | cut -d= -f2)" >>"$RESULTS"
done
load
median() { grep "^$1 " "$RESULTS" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p=$(median aubio-yinfast); c=$(median prosody); l=$(median logmel)
awk -v p="$p" -v c="$c" -v l="$l" -v n="$ROUNDS" 'BEGIN {
  printf "8 kHz, 60 s, audio-s per CPU-s, median of %d rounds: aubio yinfast %.0f, project prosody %.0f (ratio %.2fx), project log-mels %.0f (prosody costs %.2fx the log-mels)\n", n, p, c, c / p, l, l / c }'
rm -f "$RESULTS"
