#!/usr/bin/env bash
# test.sh - README's second command: install what is missing, build, and run
# the whole suite: a plain -Werror build, the same under ASan + UBSan, the
# static analysers, the end-to-end tests under valgrind, and every fuzz
# target for a short while. On this 2-core machine: about 3 + 3 + 2.5 + 6.5
# + 5 minutes.
#   TB_FUZZ_SECONDS=N   seconds per fuzz target (default 60, as in CI)
#   TB_QUICK=1          only the two ctest runs (for a quick local check)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/deps.sh
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== build (plain, -Werror)"
bash scripts/build.sh build
echo "== ctest (plain)"
ctest --test-dir build --output-on-failure -j2

echo "== build (ASan + UBSan)"
bash scripts/build.sh build-asan -DTB_SANITIZE=ON
echo "== ctest (ASan + UBSan)"
ctest --test-dir build-asan --output-on-failure -j2

if [ "${TB_QUICK:-0}" = 1 ]; then
  exit 0
fi

echo "== lint (clang-tidy, cppcheck)"
bash scripts/lint.sh

echo "== valgrind memcheck over the end-to-end tests"
bash scripts/valgrind.sh

echo "== fuzz (${TB_FUZZ_SECONDS:-60} s per target)"
FUZZ_JOBS=2 bash scripts/fuzz.sh "${TB_FUZZ_SECONDS:-60}"
