#!/usr/bin/env bash
# Coverage-guided fuzzing of the network-facing parsers with AFL++ (Debian's afl++) through SharpFuzz.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (targets: see tests/Fuzz/FuzzTargets.cs; default all)
# Findings land in .fuzz/findings/<target>/default/{crashes,hangs}; a crash input reproduces with
#   dotnet .fuzz/bin/Streaming.Fuzz.dll <target> < input
# CI runs the same targets briefly with generated inputs instead (tests/Fuzz.Tests); this script is for long runs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(native-start audiohook signature-fields twilio wav)

command -v afl-fuzz >/dev/null || {
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends afl++ >/dev/null
}
tools=.fuzz/tools
[ -x "$tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null

rm -rf .fuzz/bin
dotnet build tests/Fuzz -c Release -o .fuzz/bin -v quiet -nologo >/dev/null
# Instrument the assemblies whose parsers are fuzzed (SharpFuzz rewrites them in place with AFL's edge counters).
for dll in Streaming.Platforms Streaming.Audio Streaming.Ingest; do "$tools/sharpfuzz" ".fuzz/bin/$dll.dll" >/dev/null; done

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
for target in "${targets[@]}"; do
  out=".fuzz/findings/$target"
  rm -rf "$out"; mkdir -p .fuzz/findings
  echo "fuzzing $target for $seconds s"
  nice -n 15 afl-fuzz -V "$seconds" -t 5000 -m none -i "tests/Fuzz/corpus/$target" -o "$out" -- dotnet .fuzz/bin/Streaming.Fuzz.dll "$target" >"$out.log" 2>&1 || true
  stats="$out/default/fuzzer_stats"
  if [ -f "$stats" ]; then
    grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|bitmap_cvg) ' "$stats" | tr -s ' ' | sed "s/^/  $target: /"
  else
    echo "  $target: afl-fuzz did not start; see $out.log"; tail -5 "$out.log"
  fi
done
