#!/usr/bin/env bash
# deps.sh - install what a fresh Debian 12 machine lacks to build and test
# tienbo. Idempotent: asks apt only for packages that are not installed.
set -euo pipefail

pkgs=(
  gcc make cmake pkg-config git
  libcurl4-openssl-dev libsqlite3-dev libcjson-dev zlib1g-dev
  libcmocka-dev libmicrohttpd-dev libgnutls28-dev
  sqlite3 curl openssl ca-certificates procps
  faketime
  # the agent: case folding and NFC of clerks' input
  libunistring-dev
  # the agent: reading .xlsx workbooks (zip + XML) in agent/xlsx.c
  libzip-dev libxml2-dev
  # the agent: writing the template workbook (agent/cmd_template.c)
  libxlsxwriter-dev
  # the server's printed report (server/report_pdf.c): cairo draws the PDF,
  # Pango shapes and wraps the Vietnamese; Liberation Serif is Times-metric
  # (the administrative convention) and covers Vietnamese (U+1EA0-1EF9,
  # stacked diacritics) in regular, bold and italic, in 4 MB; poppler-utils
  # (pdftotext, pdftoppm, pdffonts) lets tests/test_report_pdf.c read it back
  libcairo2-dev libpango1.0-dev fonts-liberation2 poppler-utils
  # the agent's Vietnamese: msgfmt/xgettext (po/, tests/test_i18n.c), the
  # vi_VN.UTF-8 locale and the zone data (the CLI tests run in Vietnamese
  # and show times in Asia/Ho_Chi_Minh)
  gettext locales tzdata
  chromium
  # packaging (cmake/install.cmake, tests/install/test_package.sh): cpack's
  # Depends (dpkg-shlibdeps), the units (systemd-analyze verify), the man
  # pages (man --warnings, groff, col), the postinst in a scratch root
  # (useradd --prefix)
  dpkg-dev systemd man-db groff-base bsdextrautils passwd
  # the checks: scripts/fuzz.sh (clang + libFuzzer's runtime),
  # scripts/lint.sh, scripts/valgrind.sh
  clang libclang-rt-14-dev clang-tidy cppcheck valgrind
  # tests/test_metrics.c reads /metrics with a real parser of the
  # Prometheus text format (prometheus_client.parser, run by /usr/bin/python3)
  python3 python3-prometheus-client
  # tienbo-server's PostgreSQL backend (beside SQLite) links libpq; the
  # tests start a throwaway PostgreSQL 15 cluster of their own
  # (scripts/pg-cluster.sh: initdb and pg_ctl from /usr/lib/postgresql/15/bin)
  libpq-dev postgresql
  # the soak test's TCP load balancer in front of several tienbo-server
  # instances (packaging/haproxy-tienbo.cfg)
  haproxy
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The CLI tests run the agent with LANG=vi_VN.UTF-8: without the locale
# glibc falls back to C and the agent speaks English. Generated once.
if ! locale -a 2>/dev/null | grep -qix 'vi_VN.utf-\?8'; then
  echo "deps: generating the vi_VN.UTF-8 locale"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO sed -i 's/^# *\(vi_VN.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  grep -q '^vi_VN.UTF-8 UTF-8' /etc/locale.gen ||
    echo 'vi_VN.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
  $SUDO locale-gen
fi
