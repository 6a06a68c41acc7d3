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
  chromium
  # the checks: scripts/fuzz.sh (clang + libFuzzer's runtime),
  # scripts/lint.sh, scripts/valgrind.sh
  clang libclang-rt-14-dev clang-tidy cppcheck valgrind
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
