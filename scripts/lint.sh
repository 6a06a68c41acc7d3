#!/usr/bin/env bash
# lint.sh - static analysis of the product code (common/ protocol/ agent/
# server/) and the fuzz targets (fuzz/): clang-tidy with the checked-in
# .clang-tidy over the compile commands of a clang configure in build-lint
# (with TB_FUZZ, so fuzz/ is in them), then cppcheck with the
# project's defines and scripts/cppcheck-tienbo.cfg (the allocation
# wrappers). Any finding fails; a proven false positive is silenced on its
# line with the reason (NOLINT / cppcheck-suppress), never in bulk.
# Needs clang, clang-tidy, cppcheck (scripts/deps.sh). Prints one summary
# line; exits non-zero on any finding. About 1.5 minutes on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=build-lint
jobs=$(nproc)
dirs=(common protocol agent server fuzz)
t0=$(date +%s)

# Configure only: compile_commands.json is all clang-tidy needs.
CC=${LINT_CC:-clang} cmake -S . -B "$out" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
  -DCMAKE_BUILD_TYPE=Debug -DTB_FUZZ=ON >/dev/null
pattern="^$here/($(IFS='|'; echo "${dirs[*]}"))/[^/]*\\.c\$"
mapfile -t files < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' \
  "$out/compile_commands.json" | grep -E "$pattern" | sort -u)
if [ ${#files[@]} -eq 0 ]; then
  echo "lint: FAILED: no source files found in $out/compile_commands.json"
  exit 1
fi

echo "== clang-tidy: ${#files[@]} files, $jobs at a time"
tidy_log=$out/clang-tidy.log
tidy_rc=0
printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 2 clang-tidy -p "$out" --quiet >"$tidy_log" 2>"$out/clang-tidy.err" ||
  tidy_rc=$?
tidy_n=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: (warning|error):' "$tidy_log" || true)
if [ "$tidy_rc" -ne 0 ] || [ "$tidy_n" -ne 0 ]; then
  cat "$tidy_log"
  grep -v 'warnings\? generated\|Suppressed .* warnings\|Use -header-filter\|Use -system-headers' \
    "$out/clang-tidy.err" || true
fi

echo "== cppcheck: ${dirs[*]}"
cpp_log=$out/cppcheck.log
cpp_rc=0
cppcheck --enable=warning,performance,portability --error-exitcode=1 \
  --inline-suppr --std=c11 --library=posix \
  --library=scripts/cppcheck-tienbo.cfg -I . \
  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DTB_VERSION=\"lint\" \
  -j"$jobs" --quiet \
  --template='{file}:{line}: {severity}: {message} [{id}]' \
  "${dirs[@]}" >"$cpp_log" 2>&1 || cpp_rc=$?
cpp_n=$(grep -cE ':[0-9]+: [a-z]+: ' "$cpp_log" || true)
[ "$cpp_rc" -eq 0 ] || cat "$cpp_log"

secs=$(($(date +%s) - t0))
if [ "$tidy_rc" -ne 0 ] || [ "$tidy_n" -ne 0 ] || [ "$cpp_rc" -ne 0 ]; then
  echo "lint: FAILED: clang-tidy $tidy_n findings (rc $tidy_rc), cppcheck $cpp_n findings (rc $cpp_rc) in ${secs}s"
  exit 1
fi
echo "lint: OK: clang-tidy clean over ${#files[@]} files, cppcheck clean over ${dirs[*]} (${secs}s)"
