#!/usr/bin/env bash
# The feature extractor against the FFTW C peers (../shared/peers/c/feat_c_live.c), in one sitting.
#   bench/features-vs-peers.sh [rounds=5]       wall clock: peer and project interleaved, round after round
#   bench/features-vs-peers.sh callgrind        instructions per run (valgrind), load-independent
# Workloads (the peer's modes, 60 s of the peers' data/speech60.f32): 16k live and 8k live (log-mel,
# 20 ms chunks), 16k mfcc (whole minute, log-mel + 40 MFCC), and 8k prosody: the featurizer's pitch, voicing and energy
# for a model that reads prosody, on the same 20 ms chunks, against aubio's YIN pitch tracker (Debian python3-aubio, which
# setup.sh installs; yinfast, 512-sample buffer, called per 80-sample hop from Python). PEERS: a writable copy of ../shared/peers
# on which setup.sh has run (default /tmp/peers). Prints medians per workload and project/peer ratios
# (throughput ratio: above 1 means the project is faster).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-/tmp/peers}
INPUT=$PEERS/data/speech60.f32
[ -f "$INPUT" ] || { echo "no $INPUT: copy ../shared/peers to $PEERS and run its setup.sh (or gen_audio.sh and c/build.sh)" >&2; exit 2; }
dotnet build "$ROOT/bench" -c Release -nologo -v q >/dev/null
BENCH=$ROOT/bench/bin/Release/net10.0/bench
WORKLOADS=("16k live" "8k live" "16k mfcc" "8k prosody")
load() { echo "# $(date -u +%H:%M:%SZ) load average $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"; }
peer() {
  if [ "$2" != prosody ]; then (cd "$PEERS/c" && "./feat_c_live_$1" "$2" "$3"); return; fi
  /usr/bin/python3 - "$INPUT" "$3" <<'PY'
import sys, time, numpy as np, aubio
x = np.fromfile(sys.argv[1], dtype=np.float32)[::2].copy()  # 8 kHz: decimated by two, as bench features 8k does
hop, runs = 80, int(sys.argv[2])
def once():
    p = aubio.pitch("yinfast", 512, hop, 8000)
    for at in range(0, len(x) - hop + 1, hop):
        p(x[at:at + hop])
for _ in range(3): once()
times = []
for _ in range(runs):
    start = time.process_time(); once(); times.append(time.process_time() - start)
times.sort()
print(f"audio_s_per_cpu_s={len(x) / 8000 / times[runs // 2]:.1f}")
PY
}

if [ "${1:-}" = callgrind ]; then
  # valgrind 3.19 has no AVX-512: the peer is rebuilt for AVX2 + FMA (x86-64-v3), and under valgrind
  # .NET sees no AVX-512 either, so both run their 256-bit code. Instructions of one run =
  # (total with 7 runs - total with 2 runs) / 5: start-up, JIT and FFTW planning cancel out.
  # .NET: tiered compilation with no call-counting delay and no PGO instrumentation, 5 warm-up runs, so
  # the kernels reach optimised code before the counted runs (DOTNET_TieredCompilation=0 left many
  # methods at MinOpts under valgrind); a few still run as MinOpts, so the project's count is an upper bound.
  # FFTW plans from wisdom made under valgrind, so both peer runs execute the same plan.
  CG=$(mktemp -d)
  for sr in 16000:512:400:160:7600:16k 8000:256:200:80:4000:8k; do
    IFS=: read -r rate fft win hop fmax name <<<"$sr"
    gcc -O3 -march=x86-64-v3 -ffast-math -DSR=$rate -DNFFT=$fft -DWIN=$win -DHOP=$hop -DFMAX=$fmax \
      -o "$CG/feat_c_live_$name" "$PEERS/c/feat_c_live.c" -lfftw3f -lm
  done
  valgrind -q fftwf-wisdom -n -m -o "$CG/wisdom" rof512 rof256
  count() { valgrind --tool=callgrind --callgrind-out-file="$CG/out" "$@" >/dev/null 2>"$CG/log"; grep -o 'Collected : [0-9]*' "$CG/log" | grep -o '[0-9]*$'; }
  load
  for w in "${WORKLOADS[@]}"; do
    read -r rate mode <<<"$w"
    [ "$mode" = prosody ] && continue  # the pitch peer is Python: instruction counts would measure the interpreter
    p2=$(cd "$PEERS/c" && FFTW_WISDOM_FILE=$CG/wisdom count "$CG/feat_c_live_$rate" "$mode" 2)
    p7=$(cd "$PEERS/c" && FFTW_WISDOM_FILE=$CG/wisdom count "$CG/feat_c_live_$rate" "$mode" 7)
    c2=$(DOTNET_TieredPGO=0 DOTNET_TC_CallCountingDelayMs=0 count "$BENCH" features "$rate" "$mode" 2 "$INPUT" 5)
    c7=$(DOTNET_TieredPGO=0 DOTNET_TC_CallCountingDelayMs=0 count "$BENCH" features "$rate" "$mode" 7 "$INPUT" 5)
    awk -v w="$w" -v p=$(( (p7 - p2) / 5 )) -v c=$(( (c7 - c2) / 5 )) \
      'BEGIN { printf "%-9s instructions per 60 s: peer %.1f M, project %.1f M, ratio %.2fx (peer/project)\n", w, p / 1e6, c / 1e6, p / c }'
  done
  load
  rm -rf "$CG"
  exit 0
fi

ROUNDS=${1:-5}
RESULTS=$(mktemp)
load
for ((r = 1; r <= ROUNDS; r++)); do
  for w in "${WORKLOADS[@]}"; do
    read -r rate mode <<<"$w"
    echo "$w peer $(peer "$rate" "$mode" 11 | grep -o 'audio_s_per_cpu_s=[0-9.]*' | cut -d= -f2)" >>"$RESULTS"
    echo "$w project $("$BENCH" features "$rate" "$mode" 11 "$INPUT" | grep -o 'audio_s_per_cpu_s=[0-9.]*' | cut -d= -f2)" >>"$RESULTS"
  done
done
load
for w in "${WORKLOADS[@]}"; do
  p=$(grep "^$w peer" "$RESULTS" | awk '{print $4}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  c=$(grep "^$w project" "$RESULTS" | awk '{print $4}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  awk -v w="$w" -v p="$p" -v c="$c" -v n="$ROUNDS" \
    'BEGIN { printf "%-9s audio-s per CPU-s, median of %d rounds: peer %.0f, project %.0f, ratio %.2fx\n", w, n, p, c, c / p }'
done
rm -f "$RESULTS"
