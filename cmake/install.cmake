# cmake/install.cmake - what `cmake --install` puts where, and the Debian
# packages `cpack -G DEB` makes of it (two components: server, agent).
# Included at the end of CMakeLists.txt, once the binaries exist.
#
#   bin/tienbo-server, bin/tienbo-agent
#   share/tienbo/plans/*.json          the plans (found there by default)
#   share/tienbo/server.conf           the Debian default config: postinst
#                                      copies it to /etc/tienbo/server.conf
#   share/man/man1/tienbo-*.1.gz       made by the binaries (--man) from
#                                      the tables their --help prints
#   share/doc/tienbo-*/examples/*.conf.example   every key, commented
#   lib/systemd/system/tienbo-server.service     (packaging/)
#   lib/systemd/user/tienbo-agent.service        a clerk's user unit
#   share/locale/vi/LC_MESSAGES/tienbo.mo        (CMakeLists.txt)
#
# The generated files are built with the binaries (target tb_docs, ALL);
# tests/install/ checks them (cmake/tests.cmake).

# The server's plans_dir default when ./plans does not exist: the plans
# beside the binary (bin/../share/tienbo/plans, so an unpacked package
# finds its own), then the absolute installed path (server/settings.c).
file(RELATIVE_PATH TB_PLANS_REL ${CMAKE_INSTALL_FULL_BINDIR}
     ${CMAKE_INSTALL_FULL_DATADIR}/tienbo/plans)
if(TARGET tb_server)
  target_compile_definitions(tb_server PRIVATE
    TB_PLANS_REL="${TB_PLANS_REL}"
    TB_PLANS_INSTALL_DIR="${CMAKE_INSTALL_FULL_DATADIR}/tienbo/plans")
endif()

# ---- generated: man pages, example configs --------------------------------
set(TB_GEN ${CMAKE_BINARY_DIR}/gen)
find_program(GZIP gzip REQUIRED)
# English pages whatever the builder's locale (the agent speaks its
# catalog's language otherwise); gzip -n: no name or time, reproducible.
foreach(bin tienbo-server tienbo-agent)
  add_custom_command(OUTPUT ${TB_GEN}/${bin}.1 ${TB_GEN}/${bin}.1.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${TB_GEN}
    COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C LANGUAGE= sh -c
            "\"$1\" --man > \"$2\".tmp && mv \"$2\".tmp \"$2\"" sh
            $<TARGET_FILE:${bin}> ${TB_GEN}/${bin}.1
    COMMAND ${GZIP} -9nf -k ${TB_GEN}/${bin}.1
    DEPENDS ${bin} VERBATIM)
endforeach()
# server.conf.example: every setting of server/settings.c, commented, with
# its default; server.conf: the same with the Debian paths set (the
# database in the state directory; certificate and key beside the file,
# so relative: paths in a config file are taken from its directory).
add_custom_command(OUTPUT ${TB_GEN}/server.conf.example ${TB_GEN}/server.conf
  COMMAND ${CMAKE_COMMAND} -E make_directory ${TB_GEN}
  COMMAND sh -c "\"$1\" --example-config > \"$2\"" sh
          $<TARGET_FILE:tienbo-server> ${TB_GEN}/server.conf.example
  COMMAND sh -c "sed -e 's|^#db = .*|db = /var/lib/tienbo/tienbo-server.db|' -e 's|^#cert =.*|cert = server.pem|' -e 's|^#key =.*|key = server.key|' \"$1\" > \"$2\"" sh
          ${TB_GEN}/server.conf.example ${TB_GEN}/server.conf
  DEPENDS tienbo-server VERBATIM)
add_custom_target(tb_docs ALL DEPENDS
  ${TB_GEN}/tienbo-server.1.gz ${TB_GEN}/tienbo-agent.1.gz
  ${TB_GEN}/server.conf.example ${TB_GEN}/server.conf)

# ---- install ----------------------------------------------------------------
set(TB_DOC ${CMAKE_INSTALL_DATAROOTDIR}/doc)
install(TARGETS tienbo-server DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT server)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/plans/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/tienbo/plans COMPONENT server
        FILES_MATCHING PATTERN "*.json" PATTERN "README.md")
install(FILES ${TB_GEN}/server.conf DESTINATION ${CMAKE_INSTALL_DATADIR}/tienbo
        COMPONENT server)
install(FILES ${TB_GEN}/tienbo-server.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT server)
install(FILES ${TB_GEN}/server.conf.example
        DESTINATION ${TB_DOC}/tienbo-server/examples COMPONENT server)
install(FILES ${CMAKE_SOURCE_DIR}/server/README.md
        DESTINATION ${TB_DOC}/tienbo-server COMPONENT server)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/tienbo-server.service
        DESTINATION lib/systemd/system COMPONENT server)

install(TARGETS tienbo-agent DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT agent)
install(FILES ${TB_GEN}/tienbo-agent.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT agent)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/agent.conf.example
        DESTINATION ${TB_DOC}/tienbo-agent/examples COMPONENT agent)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/tienbo-agent.service
        DESTINATION lib/systemd/user COMPONENT agent)

# ---- Debian packages: cpack -G DEB (in the build dir) -------------------------
# tienbo-server_VERSION_ARCH.deb and tienbo-agent_VERSION_ARCH.deb, files
# under /usr; Depends from dpkg-shlibdeps over the binaries, plus what they
# use without linking: adduser (postinst), libcurl4 (the agent dlopen()s it
# for sync, agent/http.c). The server's maintainer scripts are in
# packaging/; the agent needs none (its unit is a user unit).
# `cmake --install` and cpack install what is built and build nothing
# (else they would first build every test): build first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tienbo)
set(CPACK_PACKAGE_VENDOR tienbo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tienbo maintainers <tienbo@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server agent)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME tienbo-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser")
# the printed report (server/report_pdf.c): a Times-metric serif with
# Vietnamese
set(CPACK_DEBIAN_SERVER_PACKAGE_RECOMMENDS "fonts-liberation2")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/postinst
    ${CMAKE_SOURCE_DIR}/packaging/prerm
    ${CMAKE_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_COMPONENT_SERVER_DESCRIPTION
  "tienbo office server: school batches over HTTPS, plan reports
The district or provincial office's server of tienbo: it enrols schools,
receives the batches their agents upload over HTTPS, merges them exactly
once into SQLite and reports the gender-equality plans' indicators as
JSON, CSV, Excel, PDF and an HTML dashboard. Runs as tienbo-server.service.")
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME tienbo-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "libcurl4")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
  "tienbo school agent: offline recorder and uploader
Records a school's gender-equality activities on this machine, offline,
and uploads them to the office's tienbo-server when a link is up
(tienbo-agent run, or the user unit tienbo-agent.service).")
include(CPack)
