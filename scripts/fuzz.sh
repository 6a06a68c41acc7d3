#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...] - build the libFuzzer targets of fuzz/ with
# clang (ASan + UBSan) into build-fuzz and run each for SECONDS.
#
#   scripts/fuzz.sh               every target for 60 s (what CI runs)
#   scripts/fuzz.sh 3600          an hour each, by hand
#   scripts/fuzz.sh 300 batch upload
#
# Targets: batch messages plan csv import config upload (fuzz/README.md).
# Seeds are copied at run time from protocol/vectors/, plans/ and
# tests/data/ into build-fuzz/corpus/TARGET, which keeps what the fuzzer
# finds between runs; fuzz/regress/TARGET (inputs that once broke
# something) is run as well. A crash, leak, timeout or broken property
# stops that target, its input goes to build-fuzz/crashes/ and the script
# fails at the end; logs are in build-fuzz/logs/. Reproduce with
#   build-fuzz/fuzz_TARGET build-fuzz/crashes/TARGET-crash-...
# Environment: FUZZ_JOBS=N runs N targets at once (default 1);
# CI=true prints only the summary lines, not the tail of passing logs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

secs=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
all=(batch messages plan csv import config upload)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
jobs=${FUZZ_JOBS:-1}
out=build-fuzz

echo "== fuzz: build ($out, clang, ASan + UBSan + libFuzzer)"
CC=${FUZZ_CC:-clang} cmake -S . -B "$out" -DTB_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$out" --target fuzz -j"$(nproc)" >"$out/build.log" 2>&1 || {
  tail -40 "$out/build.log"
  echo "fuzz: FAILED to build (see $out/build.log)"
  exit 1
}
mkdir -p "$out/crashes" "$out/logs" "$out/corpus"

# seed_copy DIR FILE... : copies files into DIR under a name made of
# their path, so a rerun overwrites instead of piling up.
seed_copy() {
  local dir=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$dir/$(echo "$f" | tr '/' '_')"
  done
  return 0
}

bodies() {
  local f
  for f in protocol/vectors/{valid,invalid,rejected,setup,transport}/*.json; do
    case $f in *.expect.json) continue ;; esac
    echo "$f"
  done
}

# gen_batch N DEVICE: a batch of N outreach events on seq 1..N; every
# fifth is revision 2 of the event before it (an amendment in the same
# batch), so batches over 32 or 256 events reach the server's multi-row
# writes and its two-thread preparation.
gen_batch() {
  local n=$1 dev=$2 i id rev
  printf '{"version":1,"device":"%s","school":"HB-001","first_seq":1,' "$dev"
  printf '"last_seq":%d,"events":[' "$n"
  for ((i = 1; i <= n; i++)); do
    id=$i rev=1
    if [ $((i % 5)) -eq 0 ]; then id=$((i - 1)) rev=2; fi
    [ "$i" -gt 1 ] && printf ','
    printf '{"id":"e%07d-0000-4000-8000-000000000000","seq":%d,' "$((id + 9000000))" "$i"
    printf '"kind":"outreach","date":"2025-11-20","revision":%d,' "$rev"
    printf '"recorded_at":"2025-11-2%dT09:00:00Z","title":"t%d","parents":%d}' \
      "$rev" "$id" "$i"
  done
  printf ']}'
}

# One upload request of fuzz_upload's input: a flag byte, then the body.
upload_req() { printf "\\x$(printf %02x "$1")"; cat "$2"; }

seed() {
  local t=$1 d=$out/corpus/$1 f v req
  mkdir -p "$d"
  case $t in
  batch)
    for f in $(bodies); do
      seed_copy "$d" "$f"
      gzip -nc "$f" >"$d/$(echo "$f" | tr '/' '_').gz"
    done
    gen_batch 40 d0900040-0000-4000-8000-000000000000 >"$d/gen-40" ;;
  messages)
    seed_copy "$d" protocol/vectors/examples/*.json ;;
  plan)
    seed_copy "$d" plans/*.json ;;
  csv | import)
    seed_copy "$d" tests/data/agent/*.csv tests/data/common/csv/*.csv \
      tests/data/import/*.csv tests/data/import/*.txt ;;
  config)
    seed_copy "$d" tests/data/common/config/*.conf tests/data/server/*.conf ;;
  upload)
    # 0x30: the body gzipped by the target, with Content-Length; a
    # vector's "requires" are sent first, separated by "\n@@\n".
    for f in protocol/vectors/{valid,rejected,invalid,transport}/*.json; do
      case $f in *.expect.json | *.canonical.json) continue ;; esac
      v=${f%.json}.expect.json
      {
        if [ -f "$v" ]; then
          for req in $(grep -o 'setup/[a-z0-9-]*\.json' "$v" || true); do
            upload_req 48 "protocol/vectors/$req"
            printf '\n@@\n'
          done
        fi
        upload_req 48 "$f"
      } >"$d/$(echo "$f" | tr '/' '_')"
    done
    # header variants on one batch: tokens, media types, lengths, case
    for v in 49 50 51 52 56 112 115 176 32; do
      upload_req "$v" protocol/vectors/valid/example.json >"$d/flags-$v"
    done
    # a batch gzipped here, the same batch then resent under another token
    { upload_req 48 protocol/vectors/valid/example.json; printf '\n@@\n'
      upload_req 49 protocol/vectors/valid/example.json; } >"$d/two-tokens"
    # batches over 32 and 256 events (see gen_batch)
    for v in 40 300; do
      gen_batch "$v" "d0900$(printf %03d "$v")-0000-4000-8000-000000000000" \
        >"$out/gen-$v.json"
      upload_req 48 "$out/gen-$v.json" >"$d/gen-$v"
    done ;;
  esac
  if [ -d "fuzz/regress/$t" ]; then
    seed_copy "$d" fuzz/regress/"$t"/*
  fi
}

dict_of() {
  case $1 in
  batch | messages | upload) echo fuzz/dict/batch.dict ;;
  plan) echo fuzz/dict/plan.dict ;;
  csv | import) echo fuzz/dict/csv.dict ;;
  config) echo fuzz/dict/config.dict ;;
  esac
}

max_len_of() {
  case $1 in
  batch | upload) echo 65536 ;;
  plan) echo 32768 ;;
  csv) echo 131072 ;;
  *) echo 16384 ;;
  esac
}

# run TARGET: fuzzes it; writes "TARGET STATUS EXECS" to logs/TARGET.result
run() {
  local t=$1 log=$out/logs/$1.log rc=0 execs
  seed "$t"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$out/fuzz_$t" "$out/corpus/$t" \
      -max_total_time="$secs" -print_final_stats=1 \
      -dict="$(dict_of "$t")" -max_len="$(max_len_of "$t")" \
      -timeout=30 -rss_limit_mb=2560 \
      -artifact_prefix="$out/crashes/$t-" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "$t ok ${execs:-?}" >"$out/logs/$t.result"
  else
    echo "$t FAILED ${execs:-?}" >"$out/logs/$t.result"
  fi
}

echo "== fuzz: ${targets[*]} for ${secs}s each, $jobs at a time"
rm -f "$out"/logs/*.result
export -f run seed seed_copy bodies gen_batch upload_req dict_of max_len_of
export out secs
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}'

failed=0
total=0
for t in "${targets[@]}"; do
  read -r name status execs <"$out/logs/$t.result" || status=FAILED
  printf '  %-9s %-7s %12s execs in %ss\n' "$t" "$status" "${execs:-?}" "$secs"
  [[ ${execs:-} =~ ^[0-9]+$ ]] && total=$((total + execs))
  if [ "$status" != ok ]; then
    failed=$((failed + 1))
    echo "---- $t: tail of $out/logs/$t.log"
    grep -E 'ERROR|SUMMARY|fuzz property|Test unit written|artifact' \
      "$out/logs/$t.log" | head -20 || true
    tail -25 "$out/logs/$t.log"
  elif [ "${CI:-}" != true ]; then
    grep -E '^#[0-9]+ *DONE' "$out/logs/$t.log" | tail -1 || true
  fi
done
if [ $failed -gt 0 ]; then
  echo "fuzz: FAILED: $failed of ${#targets[@]} targets crashed (inputs in $out/crashes/)"
  exit 1
fi
echo "fuzz: OK: ${#targets[@]} targets, ${secs}s each, $total execs, no crashes"
