# cmake/fuzz.cmake - libFuzzer targets (fuzz/fuzz_*.c), one per parser,
# behind option TB_FUZZ (default OFF). Included at the end of CMakeLists.txt,
# after the libraries exist. Needs clang (Debian: clang, libclang-rt-14-dev):
#   CC=clang cmake -S . -B build-fuzz -DTB_FUZZ=ON && cmake --build build-fuzz --target fuzz
# The project's libraries get coverage instrumentation and ASan + UBSan
# (-fsanitize=fuzzer-no-link,address,undefined); each fuzz_NAME executable
# links libFuzzer's main. scripts/fuzz.sh builds and runs them.
option(TB_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)

if(TB_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "TB_FUZZ needs clang (configure with CC=clang)")
  endif()
  set(TB_FUZZ_SAN address,undefined)
  set(TB_FUZZ_CFLAGS -fsanitize=fuzzer-no-link,${TB_FUZZ_SAN}
      -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  foreach(lib tb_common tb_protocol tb_agent tb_server)
    if(TARGET ${lib})
      target_compile_options(${lib} PRIVATE ${TB_FUZZ_CFLAGS})
    endif()
  endforeach()

  # fuzz/fuzz_util.c is shared by every target; fuzz/fake_mhd.c stands in
  # for libmicrohttpd's connection API in fuzz_upload only.
  file(GLOB TB_FUZZ_SRC CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
  list(FILTER TB_FUZZ_SRC EXCLUDE REGEX ".*/fuzz_util\\.c$")
  add_custom_target(fuzz)
  foreach(src ${TB_FUZZ_SRC})
    get_filename_component(name ${src} NAME_WE)
    set(extra)
    if(name STREQUAL "fuzz_upload")
      set(extra ${CMAKE_SOURCE_DIR}/fuzz/fake_mhd.c)
    endif()
    add_executable(${name} EXCLUDE_FROM_ALL ${src}
                   ${CMAKE_SOURCE_DIR}/fuzz/fuzz_util.c ${extra})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,${TB_FUZZ_SAN}
                           -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,${TB_FUZZ_SAN})
    target_link_libraries(${name} PRIVATE tb_protocol)
    if(TARGET tb_agent)
      target_link_libraries(${name} PRIVATE tb_agent)
    endif()
    if(TARGET tb_server)
      target_link_libraries(${name} PRIVATE tb_server)
    endif()
    add_dependencies(fuzz ${name})
  endforeach()
endif()
