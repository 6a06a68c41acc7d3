#!/usr/bin/env bash
# test_package.sh BUILD_DIR SOURCE_DIR - what cmake/install.cmake makes,
# checked the way an office's IT officer meets it (label e2e):
#  1. the man pages render with `man --warnings` silent, and each lists
#     exactly the commands and options --help lists (command by command);
#  2. the systemd units pass `systemd-analyze verify` with no word (a copy
#     with ExecStart pointed at the build dir: verify wants the binary);
#  3. cpack -G DEB builds tienbo-server_V_ARCH.deb and tienbo-agent_V_ARCH
#     .deb; dpkg --root installs them into a scratch root and runs the
#     maintainer scripts for real (--force-script-chrootless: they honour
#     DPKG_ROOT): the tienbo user, /var/lib/tienbo 0750, /etc/tienbo/
#     server.conf 0640 root:tienbo; the installed binaries run, and
#     `report` finds the installed plans beside the binary (bin/../share/
#     tienbo/plans) from a directory without ./plans; remove keeps the
#     data, purge deletes it;
#  4. paths in a config file are relative to the file, on the command line
#     to the current directory (server and agent).
# Needs root for step 3 (chown in the scratch root); skipped otherwise.
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LC_ALL=C.UTF-8 LANGUAGE= MANWIDTH=200
fail() { echo "FAIL: $*" >&2; exit 1; }
gen=$build/gen

# ---- 1. man pages ----------------------------------------------------------
render() { # FILE -> plain text; any groff/man warning fails
	man --warnings -l "$1" 2>"$tmp/warn" | col -bx
	[ ! -s "$tmp/warn" ] || fail "$1: man warns: $(cat "$tmp/warn")"
}
# the options of a --help text / of a command's man subsection
help_opts() { grep -oE '^  +(-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u; }
man_section() { # TEXT CMD: the subsection "   CMD ..." up to the next one
	awk -v c="$2" '/^   [^ ]/ { on = ($1 == c) } /^[^ ]/ { on = 0 } on' "$1"
}
man_opts() { grep -oE '^       (-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u; }
check_page() { # BIN CMDS_FROM_HELP...
	local bin=$1 page=$gen/$1.1 txt=$tmp/$1.txt cmd
	render "$page" >"$txt"
	render "$gen/$1.1.gz" >/dev/null
	shift
	[ $# -gt 3 ] || fail "$bin: too few commands in --help"
	for cmd in "$@"; do
		"$build/$bin" "$cmd" --help | help_opts >"$tmp/h"
		man_section "$txt" "$cmd" | man_opts >"$tmp/m"
		[ -s "$tmp/h" ] || fail "$bin $cmd --help lists no option"
		diff -u "$tmp/h" "$tmp/m" >"$tmp/d" ||
			fail "$bin $cmd: --help and the man page differ: $(cat "$tmp/d")"
	done
	n=$(grep -cE '^   [a-z]' "$txt")
	[ "$n" -eq $# ] || fail "$bin: $n commands in the man page, $# in --help"
}
mapfile -t scmds < <("$build/tienbo-server" --help |
	awk '/^commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
check_page tienbo-server "${scmds[@]}"
mapfile -t acmds < <("$build/tienbo-agent" --help |
	awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }')
check_page tienbo-agent "${acmds[@]}"
# the example config: every setting of `serve --help`, commented
for o in $("$build/tienbo-server" serve --help | help_opts); do
	k=${o#--}
	[ "$k" = config ] || [ "$k" = help ] && continue
	grep -q "^#${k//-/_} =" "$gen/server.conf.example" ||
		fail "server.conf.example lacks setting ${k//-/_}"
done
echo "ok 1 man pages: ${#scmds[@]} + ${#acmds[@]} commands, options as --help"

# ---- 2. systemd units ----------------------------------------------------------
mkdir -p "$tmp/units" "$tmp/run"
chmod 700 "$tmp/run"
sed "s|/usr/bin/|$build/|" "$src/packaging/tienbo-server.service" \
	>"$tmp/units/tienbo-server.service"
sed "s|/usr/bin/|$build/|" "$src/packaging/tienbo-agent.service" \
	>"$tmp/units/tienbo-agent.service"
out=$(systemd-analyze verify --man=no "$tmp/units/tienbo-server.service" 2>&1) ||
	fail "tienbo-server.service: $out"
[ -z "$out" ] || fail "tienbo-server.service: $out"
out=$(XDG_RUNTIME_DIR=$tmp/run systemd-analyze --user verify --man=no \
	"$tmp/units/tienbo-agent.service" 2>&1) || fail "tienbo-agent.service: $out"
[ -z "$out" ] || fail "tienbo-agent.service: $out"
echo "ok 2 systemd-analyze verify: both units"

# ---- 4. paths in a config file ---------------------------------------------------
# a new database: init-db where the server has it (a database is made by
# it alone), else the first enroll makes it
newdb() { # BIN ARGS...
	local bin=$1
	shift
	if "$bin" --help | grep -q '^  init-db '; then
		"$bin" init-db "$@" >/dev/null
	else
		"$bin" enroll --school HB-001 --name T --district HB-D "$@" >/dev/null
	fi
}
mkdir -p "$tmp/cf/conf" "$tmp/cwd"
printf 'db = office.db\n' >"$tmp/cf/conf/server.conf"
(cd "$tmp/cwd" && newdb "$build/tienbo-server" --config ../cf/conf/server.conf)
[ -f "$tmp/cf/conf/office.db" ] || fail "db in a config file not taken from its directory"
(cd "$tmp/cwd" && newdb "$build/tienbo-server" --config ../cf/conf/server.conf --db cl.db)
[ -f "$tmp/cwd/cl.db" ] || fail "--db on the command line not taken from the current directory"
printf 'x\n' >"$tmp/cf/conf/ca.pem"
printf 'ca_file = ca.pem\ndata_dir = data\n' >"$tmp/cf/conf/agent.conf"
(cd "$tmp/cwd" && HOME=$tmp "$build/tienbo-agent" --config ../cf/conf/agent.conf init \
	--server https://127.0.0.1:9 --school HB-001 --token t >/dev/null 2>&1) ||
	fail "agent init with a relative data_dir in its config"
[ -f "$tmp/cf/conf/data/agent.db" ] || fail "agent data_dir not from the config's directory"
(cd "$tmp/cwd" && HOME=$tmp "$build/tienbo-agent" --config ../cf/conf/agent.conf status \
	>"$tmp/st" 2>&1) || true
grep -q "$tmp/cf/conf/ca.pem" "$tmp/st" || fail "agent ca_file not from the config's directory: $(cat "$tmp/st")"
grep -q "$tmp/cf/conf/data" "$tmp/st" || fail "agent data_dir not from the config's directory: $(cat "$tmp/st")"
echo "ok 4 config paths relative to the file (server db; agent ca_file, data_dir)"

# ---- 3. Debian packages ------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	echo "skip 3: the packages are installed into a scratch root as root"
	exit 0
fi
version=$("$build/tienbo-server" --version | awk '{ print $2 }')
arch=$(dpkg --print-architecture)
(cd "$tmp" && cpack -G DEB -B "$tmp/pkg" --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1) ||
	fail "cpack: $(tail -20 "$tmp/cpack.log")"
srv_deb=$tmp/pkg/tienbo-server_${version}_$arch.deb
agt_deb=$tmp/pkg/tienbo-agent_${version}_$arch.deb
[ -f "$srv_deb" ] && [ -f "$agt_deb" ] || fail "no packages: $(ls "$tmp/pkg")"
dpkg-deb -f "$srv_deb" Depends | grep -q 'libgnutls30' || fail "server Depends lacks libgnutls30"
dpkg-deb -f "$srv_deb" Depends | grep -q 'adduser' || fail "server Depends lacks adduser"
dpkg-deb -f "$agt_deb" Depends | grep -q 'libcurl4' || fail "agent Depends lacks libcurl4"

root=$tmp/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$root/etc/shadow"
echo 'root:*::' >"$root/etc/gshadow"
dpkg_root() { dpkg --root="$root" --force-depends --force-not-root \
	--force-script-chrootless --log=/dev/null "$@" >"$tmp/dpkg.log" 2>&1 ||
	fail "dpkg $*: $(cat "$tmp/dpkg.log")"; }
dpkg_root -i "$srv_deb" "$agt_deb"
uid=$(awk -F: '$1 == "tienbo" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "tienbo" { print $3 }' "$root/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "postinst made no tienbo user and group"
grep -q '^tienbo:.*:/var/lib/tienbo:/usr/sbin/nologin$' "$root/etc/passwd" ||
	fail "tienbo user: $(grep tienbo "$root/etc/passwd")"
mode() { stat -c '%a %u:%g' "$1"; }
[ "$(mode "$root/var/lib/tienbo")" = "750 $uid:$gid" ] || fail "/var/lib/tienbo: $(mode "$root/var/lib/tienbo")"
[ "$(mode "$root/etc/tienbo")" = "750 0:$gid" ] || fail "/etc/tienbo: $(mode "$root/etc/tienbo")"
conf=$root/etc/tienbo/server.conf
[ "$(mode "$conf")" = "640 0:$gid" ] || fail "server.conf: $(mode "$conf")"
grep -q '^db = /var/lib/tienbo/tienbo-server.db$' "$conf" || fail "server.conf has no db line"
for f in usr/bin/tienbo-server usr/bin/tienbo-agent; do
	[ "$(mode "$root/$f")" = "755 0:0" ] || fail "$f: $(mode "$root/$f")"
done
for f in usr/share/man/man1/tienbo-server.1.gz usr/share/man/man1/tienbo-agent.1.gz \
	usr/lib/systemd/system/tienbo-server.service usr/lib/systemd/user/tienbo-agent.service \
	usr/share/doc/tienbo-server/examples/server.conf.example \
	usr/share/doc/tienbo-agent/examples/agent.conf.example \
	usr/share/locale/vi/LC_MESSAGES/tienbo.mo; do
	[ "$(mode "$root/$f")" = "644 0:0" ] || fail "$f: $(mode "$root/$f" 2>&1)"
done
ls "$root"/usr/share/tienbo/plans/*.json >/dev/null || fail "no plans installed"
# an edited config survives a reinstall
echo '# edited' >>"$conf"
dpkg_root -i "$srv_deb"
grep -q '^# edited$' "$conf" || fail "reinstall overwrote the edited server.conf"

# the installed binaries, from a directory without ./plans
mkdir -p "$tmp/office"
cd "$tmp/office"
[ "$("$root/usr/bin/tienbo-server" --version)" = "tienbo-server $version" ] || fail "server --version"
"$root/usr/bin/tienbo-agent" --version | grep -q "^tienbo-agent $version" || fail "agent --version"
# the shipped config parses (its cert and key resolve against /etc/tienbo)
newdb "$root/usr/bin/tienbo-server" --config "$conf" --db office.db ||
	fail "the installed server.conf is refused"
plan=$(basename "$(ls "$root"/usr/share/tienbo/plans/*.json | head -1)" .json)
"$root/usr/bin/tienbo-server" report --db office.db --plan "$plan" --period 2025-H1 \
	>"$tmp/report.json" || fail "report did not find the installed plans"
grep -q "\"plan\":[[:space:]]*\"$plan\"" "$tmp/report.json" || fail "report: $(head -c 300 "$tmp/report.json")"
cd "$tmp"

dpkg_root --remove tienbo-server
[ -f "$conf" ] && [ -d "$root/var/lib/tienbo" ] || fail "remove deleted the config or the data"
dpkg_root --purge tienbo-server
[ ! -e "$conf" ] && [ ! -e "$root/var/lib/tienbo" ] || fail "purge left the config or the data"
echo "ok 3 packages: $(basename "$srv_deb") $(basename "$agt_deb") install, run, remove, purge"
