#!/usr/bin/env bash
# test.sh - README's second command: install what is missing, build, and run
# the whole suite twice: a plain build, then under ASan + UBSan.
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
