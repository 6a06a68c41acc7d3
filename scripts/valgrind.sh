#!/usr/bin/env bash
# valgrind.sh - memcheck over the end-to-end tests: every tienbo-agent and
# tienbo-server process that tests/test_server_ingest.c and
# tests/test_sync_e2e.c start runs under valgrind (TB_TEST_WRAPPER, read
# by tests/helper_proc.c), in a plain build (no sanitizers) in
# build-valgrind. Both on SQLite and, deliberately, on PostgreSQL
# (test_server_ingest_pg, with the ctest fixture's throwaway cluster;
# PostgreSQL itself is not under valgrind): the server's PostgreSQL
# backend is its own C code over libpq's results, and memcheck's
# uninitialised-value checks are what the ASan run does not give.
# test_sync_e2e_pg is left to the ASan run: under memcheck it took 239 s,
# a quarter of CI, for the same server code paths. Fails on any memcheck error in any process, including
# definitely or indirectly lost memory at exit, and on a failing test.
#
#   scripts/valgrind.sh                       the two end-to-end tests,
#                                             and test_server_ingest_pg
#   VALGRIND_TESTS='test_agent_cli' scripts/valgrind.sh   any ctest regex
#
# One log per process in build-valgrind/valgrind/PID.log. A process the
# test ends with SIGKILL (the crash tests) writes no summary and is only
# counted. No suppressions are used: none have been needed (a file would
# hold only proven third-party noise, each entry with its reason).
# Needs valgrind (scripts/deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=build-valgrind
logs=$here/$out/valgrind
tests=${VALGRIND_TESTS:-^(test_server_ingest(_pg)?|test_sync_e2e)\$}
t0=$(date +%s)

echo "== valgrind: build ($out, plain)"
bash scripts/build.sh "$out" -DTB_TIMEOUT_SCALE=5 >/dev/null
rm -rf "$logs"
mkdir -p "$logs"

export TB_TEST_WRAPPER="valgrind --tool=memcheck --leak-check=full \
--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
--num-callers=30 --log-file=$logs/%p.log"
echo "== valgrind: ctest -R '$tests' with every tienbo binary under memcheck"
test_rc=0
ctest --test-dir "$out" -R "$tests" --output-on-failure || test_rc=$?

procs=0 errors=0 lost=0 unfinished=0 bad=()
for f in "$logs"/*.log; do
  [ -e "$f" ] || continue
  procs=$((procs + 1))
  summary=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" | tail -1)
  if [ -z "$summary" ]; then
    unfinished=$((unfinished + 1))
    continue
  fi
  n=$(sed -n 's/.*\(definitely\|indirectly\) lost: \([0-9,]*\) bytes.*/\2/p' "$f" |
    tr -d , | awk '{s += $1} END {print s + 0}')
  lost=$((lost + n))
  if [ "$summary" -ne 0 ] || [ "$n" -ne 0 ]; then
    errors=$((errors + summary))
    bad+=("$f")
  fi
done

for f in "${bad[@]}"; do
  echo "---- $f"
  cat "$f"
done
secs=$(($(date +%s) - t0))
if [ "$procs" -eq 0 ]; then
  echo "valgrind: FAILED: no process ran under valgrind (tests '$tests')"
  exit 1
fi
if [ "$test_rc" -ne 0 ] || [ ${#bad[@]} -ne 0 ]; then
  echo "valgrind: FAILED: $errors errors, $lost bytes definitely/indirectly lost in ${#bad[@]} of $procs processes; tests rc $test_rc (${secs}s, logs in $logs)"
  exit 1
fi
echo "valgrind: OK: $procs tienbo processes, 0 errors, 0 bytes lost ($unfinished ended by the test with SIGKILL) (${secs}s)"
