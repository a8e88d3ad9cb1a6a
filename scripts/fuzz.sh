#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/, with -sanitize=fuzzer,address, in .build-fuzz) and runs each
# for SECONDS (default 10) from its committed seeds (Fuzz/Seeds/<target>) and its growing corpus
# (.build-fuzz/corpus/<target>). Prints executions per target; exits 1 on any crash, leak or
# timeout, with the input that caused it in .build-fuzz/artifacts/.
#   scripts/fuzz.sh            a short pass (about a minute in all; the test command runs this)
#   scripts/fuzz.sh 3600       an hour per target
#   FUZZ_TARGETS="FuzzGzip FuzzZip" scripts/fuzz.sh 600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
targets="${FUZZ_TARGETS:-FuzzSafeTensors FuzzGzip FuzzZip FuzzConfigJSON FuzzSweepJSON FuzzCheckpointConfig}"
scratch="$PWD/.build-fuzz"
swift build --package-path Fuzz --scratch-path "$scratch" -c release -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -E "error|warning: unre|Build complete" || true
bin="$(swift build --package-path Fuzz --scratch-path "$scratch" -c release -Xswiftc -sanitize=fuzzer,address --show-bin-path)"
failed=0
printf '%-22s %12s %8s  %s\n' target executions seconds result
for t in $targets; do
  corpus="$scratch/corpus/$t"; artifacts="$scratch/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  log="$scratch/$t.log"
  set +e
  # The toolkit's parallel runtime is off the path here; one OpenMP thread keeps libFuzzer's clock honest.
  OMP_NUM_THREADS=1 "$bin/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$artifacts" "$corpus" "Fuzz/Seeds/$t" >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
  if [ "$status" -eq 0 ]; then result=ok; else result="FAILED (exit $status; see $log and $artifacts)"; failed=1; fi
  printf '%-22s %12s %8s  %s\n' "$t" "$runs" "$seconds" "$result"
done
exit $failed
