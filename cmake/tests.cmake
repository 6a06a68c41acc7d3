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
set(TB_TESTS_UNIT test_buf test_codec test_config test_csv test_date test_event
    test_err test_gz test_i18n test_input test_helper_proc test_merge test_opts test_plan test_store
    test_store_oom test_vectors test_xlsx)
set(TB_TESTS_E2E test_agent_cli test_agent_import test_agent_tty test_pg_report test_report test_report_pdf test_report_xlsx test_server_cli
    test_server_ingest test_server_limits test_server_ops test_server_shutdown
    test_server_vectors test_sync_e2e test_units test_version test_metrics)
set(TB_TESTS_FAULT test_agent_crash test_backup test_agent_faults test_hostile
    test_rollup test_sync_faults test_link)
set(TB_TESTS_SOAK test_soak)
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


file(GLOB TB_TEST_SRC CONFIGURE_DEPENDS tests/test_*.c)
foreach(src ${TB_TEST_SRC})
  get_filename_component(name ${src} NAME_WE)
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
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${label}
    TIMEOUT ${TB_TIMEOUT_${label}}
    ENVIRONMENT "CMOCKA_MESSAGE_OUTPUT=STDOUT")
endforeach()

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
