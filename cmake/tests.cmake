# cmake/tests.cmake - the cmocka tests (tests/test_*.c) and the tools they
# run (tests/tools/). Included by CMakeLists.txt when TB_TESTS is ON,
# after the libraries, the binaries and tb_test_helpers exist.
#
# Each test is one executable linking every library that exists and the
# helpers, and it depends on the binaries it runs, so
# `cmake --build build --target test_x` builds those too. Each carries one
# label (below; a test left out of the lists fails the configure):
#   unit   modules called in-process, no server: seconds in all
#   e2e    the real binaries over real HTTPS on loopback
#   fault  the same through crashes, cut links and hostile clients
#   soak   many agents, a crashing server, a bad link, for minutes
# `ctest -L unit` runs the quick ones; `ctest -LE soak` all but the soak.
#
# PostgreSQL: tienbo-server stores in SQLite or PostgreSQL. A test that
# should also run against PostgreSQL gets a second ctest, NAME_pg: add
#   tb_add_pg_variant(test_x)
# below the loop. NAME_pg runs the same executable with TB_TEST_DB=pg and
# TB_TEST_PG_URL_FILE=<build>/pg/url, with the base test's label and
# timeout; the test asks helper_pg_wanted() and takes its database from
# helper_pg_newdb() (tests/helper_pg.h). It requires the fixture "pg":
# ctest runs pg_cluster_start (scripts/pg-cluster.sh start <build>/pg: a
# throwaway PostgreSQL 15 on 127.0.0.1, as an unprivileged user when run
# as root) before the first such test and pg_cluster_stop after the last,
# also under -R or -L. A cluster that cannot start fails pg_cluster_start
# and every NAME_pg test; none is skipped. A test that means nothing
# without PostgreSQL goes in TB_TESTS_PG_ONLY instead: only NAME_pg is
# registered.
set(TB_TESTS_UNIT test_buf test_codec test_config test_csv test_date test_event
    test_err test_gz test_i18n test_input test_helper_proc test_merge test_opts test_plan test_store
    test_store_oom test_vectors test_xlsx)
set(TB_TESTS_E2E test_agent_cli test_agent_import test_agent_tty test_pg_report test_report test_report_pdf test_report_xlsx test_server_cli
    test_server_ingest test_server_limits test_server_ops test_server_shutdown
    test_server_vectors test_sync_e2e test_units test_version test_metrics
    test_pg_cluster test_pg_merge test_migrate)
set(TB_TESTS_FAULT test_agent_crash test_backup test_agent_faults test_hostile
    test_rollup test_sync_faults test_link)
set(TB_TESTS_SOAK test_soak)
# Registered only as NAME_pg (see the top); each also has a label above.
set(TB_TESTS_PG_ONLY test_pg_cluster test_pg_merge test_migrate test_pg_report)
# ctest's timeout per label: a hang fails in this time, not in 600 s
# (the tests' own waits are bounded far below it). TB_TIMEOUT_SCALE
# stretches them for builds that run every process many times slower:
# scripts/valgrind.sh sets 5 (memcheck is 20-50x slower, and the machine
# may be busy with another build).
set(TB_TIMEOUT_SCALE 1 CACHE STRING "multiplies the ctest timeouts")
math(EXPR TB_TIMEOUT_unit "120 * ${TB_TIMEOUT_SCALE}")
math(EXPR TB_TIMEOUT_e2e "300 * ${TB_TIMEOUT_SCALE}")
math(EXPR TB_TIMEOUT_fault "300 * ${TB_TIMEOUT_SCALE}")
math(EXPR TB_TIMEOUT_soak "600 * ${TB_TIMEOUT_SCALE}")

# name's label from the lists above, into var; a test in none fails the
# configure.
function(tb_test_label name var)
  set(label)
  foreach(l unit e2e fault soak)
    string(TOUPPER ${l} L)
    if(name IN_LIST TB_TESTS_${L})
      set(label ${l})
    endif()
  endforeach()
  if(NOT label)
    message(FATAL_ERROR "${name}: give it a label in cmake/tests.cmake "
                        "(unit, e2e, fault or soak)")
  endif()
  set(${var} ${label} PARENT_SCOPE)
endfunction()

# The PostgreSQL test cluster, one per ctest run (see the top). Labelled
# e2e: a real server on loopback. ctest adds them to any run that selects
# a test requiring "pg", whatever its label.
set(TB_PG_DIR ${CMAKE_BINARY_DIR}/pg)
add_test(NAME pg_cluster_start COMMAND bash
         ${CMAKE_SOURCE_DIR}/scripts/pg-cluster.sh start ${TB_PG_DIR})
add_test(NAME pg_cluster_stop COMMAND bash
         ${CMAKE_SOURCE_DIR}/scripts/pg-cluster.sh stop ${TB_PG_DIR})
set_tests_properties(pg_cluster_start PROPERTIES LABELS e2e
  TIMEOUT ${TB_TIMEOUT_e2e} FIXTURES_SETUP pg)
set_tests_properties(pg_cluster_stop PROPERTIES LABELS e2e
  TIMEOUT ${TB_TIMEOUT_e2e} FIXTURES_CLEANUP pg)

# test_name_pg: test_name's executable against PostgreSQL (see the top).
function(tb_add_pg_variant name)
  tb_test_label(${name} label)
  add_test(NAME ${name}_pg COMMAND ${name})
  set_tests_properties(${name}_pg PROPERTIES LABELS ${label}
    TIMEOUT ${TB_TIMEOUT_${label}}
    FIXTURES_REQUIRED pg
    ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=STDOUT;TB_TEST_DB=pg;TB_TEST_PG_URL_FILE=${TB_PG_DIR}/url")
endfunction()

file(GLOB TB_TEST_SRC CONFIGURE_DEPENDS tests/test_*.c)
foreach(src ${TB_TEST_SRC})
  get_filename_component(name ${src} NAME_WE)
  tb_test_label(${name} label)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE tb_test_helpers tb_protocol
                        PkgConfig::CMOCKA PkgConfig::CURL)
  if(TARGET tb_agent)
    target_link_libraries(${name} PRIVATE tb_agent)
  endif()
  if(TARGET tb_server)
    target_link_libraries(${name} PRIVATE tb_server)
  endif()
  if(NOT label STREQUAL "unit")
    add_dependencies(${name} tienbo-agent tienbo-server tb-faultproxy)
  endif()
  if(name STREQUAL "test_i18n")
    add_dependencies(${name} tb_locale) # it reads the compiled catalog
  endif()
  if(name IN_LIST TB_TESTS_PG_ONLY)
    tb_add_pg_variant(${name})
  else()
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS ${label}
      TIMEOUT ${TB_TIMEOUT_${label}}
      ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=STDOUT")
  endif()
endforeach()
# PostgreSQL variants of tests that also run on SQLite: the server's
# database is a fresh one in the test cluster (helper_server_setup, or the
# test's own tb_db_open in-process), and every check of it goes through
# the store interface. Cases about a SQLite file by nature skip in the
# variant, each saying why where it does. Not here: test_backup (file
# backups and restores), test_server_ops, test_server_cli, test_metrics
# and test_server_limits (file modes, WAL, disk full, a corrupt or
# missing file), the agent's tests (the agent is always SQLite).
foreach(t test_merge test_sync_e2e test_server_vectors test_hostile
          test_report test_report_xlsx test_report_pdf test_server_ingest
          test_rollup test_units)
  tb_add_pg_variant(${t})
endforeach()
# test_soak_pg: two `serve` instances on one database behind Debian's
# HAProxy with packaging/haproxy-tienbo.cfg, either killed at random
# (tests/test_soak.c).
tb_add_pg_variant(test_soak)


# What cmake/install.cmake makes (tests/install/test_package.sh, label
# e2e, a few seconds): the man pages against --help, the systemd units
# through systemd-analyze verify, the Debian packages installed into a
# scratch root with their maintainer scripts, and paths in config files.
# It runs cpack over this build dir, so it needs the build done first
# (as every ctest run here has).
add_test(NAME test_package COMMAND bash
         ${CMAKE_SOURCE_DIR}/tests/install/test_package.sh
         ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR})
set_tests_properties(test_package PROPERTIES LABELS e2e
  TIMEOUT ${TB_TIMEOUT_e2e})

# packaging/haproxy-tienbo.cfg (tests/install/test_haproxy.sh, label e2e,
# about 15 s): accepted by haproxy -c once filled in, and in front of two
# HTTPS stand-ins its HTTP health checks over TLS take out one answering
# 503 or stopped, while TLS passes through to them.
add_test(NAME test_haproxy COMMAND bash
         ${CMAKE_SOURCE_DIR}/tests/install/test_haproxy.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(test_haproxy PROPERTIES LABELS e2e
  TIMEOUT ${TB_TIMEOUT_e2e})
