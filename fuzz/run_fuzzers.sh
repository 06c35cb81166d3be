#!/usr/bin/env bash
# Runs each libFuzzer harness of a fuzz build for a bounded time and prints what it did
# (`make fuzz` calls it after building the harnesses).
#   fuzz/run_fuzzers.sh BUILD_DIR SECONDS [RUNS] [HARNESS...]
# Each harness starts from its seeds (regenerated: fuzz/make_corpus.py and qreport_fuzz_seeds),
# the corpus it grew in earlier runs (BUILD_DIR/corpus/<harness>, kept) and the regression
# inputs (fuzz/regressions/<harness>). A crash, leak, timeout or sanitizer report fails the
# run; the input is left in BUILD_DIR/artifacts/<harness>/ to be fixed and saved as a
# regression input.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:?usage: run_fuzzers.sh BUILD_DIR SECONDS [RUNS] [HARNESS...]}
seconds=${2:?seconds per harness}
runs=${3:--1}
shift $(($# < 3 ? $# : 3))
harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  harnesses=(npy npz state qconfig report data_entry)
  if [[ -x "$build/fuzz/archive_fuzzer" ]]; then harnesses+=(archive); fi
fi

seeds="$build/seeds"
rm -rf "$seeds"
/usr/bin/python3 fuzz/make_corpus.py "$seeds" >/dev/null
"$build/fuzz/qreport_fuzz_seeds" "$seeds"

# The undefined-behaviour checks abort (-fno-sanitize-recover); the stack says where.
export UBSAN_OPTIONS=print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
failed=()
printf '%-11s %12s %8s %10s  %s\n' harness executions seconds exec/s result
for h in "${harnesses[@]}"; do
  corpus="$build/corpus/$h"
  artifacts="$build/artifacts/$h"
  log="$build/fuzz-$h.log"
  mkdir -p "$corpus" "$artifacts" "$seeds/$h"
  inputs=("$corpus" "$seeds/$h")
  if [[ -d "fuzz/regressions/$h" ]]; then inputs+=("fuzz/regressions/$h"); fi
  # -timeout: an input taking seconds is a hang to report, not a slow input to wait for.
  status=ok
  start=$(date +%s)
  # LibTorch leaks on every damaged archive (fuzz/lsan.supp), and libFuzzer then scans the
  # whole heap for each such input: 90 executions a second instead of 15,000. The archive
  # harness fuzzes without leak checks, then reads its whole corpus once with them.
  leaks=()
  if [[ $h == archive ]]; then leaks=(-detect_leaks=0); fi
  dict=()
  case $h in
    state) dict=(-dict=fuzz/state.dict) ;;
    qconfig | report) dict=(-dict=fuzz/json.dict) ;;
  esac
  "$build/fuzz/${h}_fuzzer" -max_total_time="$seconds" -runs="$runs" -timeout=10 "${leaks[@]}" \
    "${dict[@]}" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${inputs[@]}" >"$log" 2>&1 || status=FAILED
  if [[ $status == ok && ${#leaks[@]} -gt 0 ]]; then
    "$build/fuzz/${h}_fuzzer" -runs=0 -artifact_prefix="$artifacts/" "${inputs[@]}" \
      >"$build/fuzz-$h-leaks.log" 2>&1 || { status=FAILED; log="$build/fuzz-$h-leaks.log"; }
  fi
  elapsed=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  execs=${execs:-?}
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  if [[ $status != ok ]]; then
    status="FAILED: see $log and $artifacts/"
    failed+=("$h")
  fi
  printf '%-11s %12s %8s %10s  %s\n' "$h" "$execs" "$elapsed" "${rate:-?}" "$status"
done
if ((${#failed[@]} > 0)); then
  echo "run_fuzzers: ${failed[*]} failed" >&2
  exit 1
fi
