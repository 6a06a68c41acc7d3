#!/usr/bin/env bash
# pg-cluster.sh start DIR | stop DIR | url DIR - a throwaway PostgreSQL
# cluster for the tests (the ctest fixture "pg", cmake/tests.cmake).
#
#   start  makes a new cluster for DIR (created if needed; a cluster left
#          there by an interrupted run is stopped first), listening on
#          127.0.0.1 on a free port and on a Unix socket beside its data,
#          and writes its base URI, postgresql://tienbo@127.0.0.1:PORT/postgres,
#          to DIR/url. Fails, printing the server's log, if the server is
#          not accepting connections within 30 s.
#   stop   stops it (pg_ctl stop -m fast, at most 30 s; then SIGKILL) and
#          removes DIR and the cluster. Works after a start that failed
#          half-way, and on a DIR that holds nothing.
#   url    prints DIR/url.
#
# initdb and postgres refuse to run as root, so as root (CI) they run as
# an unprivileged system user, tienbo-pgtest (made here once), through
# runuser; otherwise as the calling user. The cluster lives in DIR/cluster
# when that user can reach it and the socket path fits in sun_path, else
# in a mktemp directory under /tmp owned by that user; DIR/base names it.
#
# This cluster holds test data only and is deleted after the run:
#   - fsync, synchronous_commit and full_page_writes are off (speed; a
#     crash loses it, which is fine), unless TB_PG_DURABLE=1 is in the
#     environment of start: then all three are on, as on a real server
#     (bench/ compares it with SQLite's synchronous=FULL);
#   - authentication is trust, for the local socket (in a directory only
#     its owner can enter) and 127.0.0.1/32 only: nothing else can connect,
#     and the tests need no passwords. Never copy these settings to a
#     real server.
set -euo pipefail

PGUSER_OS=tienbo-pgtest   # the system user the server runs as under root
ROLE=tienbo               # the superuser role the tests connect as
READY_S=30                # bounds: readiness, stop
STOP_S=30
TRIES=8                   # ports tried before giving up

die() { echo "pg-cluster: $*" >&2; exit 1; }

usage() { die "usage: pg-cluster.sh start|stop|url DIR"; }

[ $# -eq 2 ] || usage
cmd=$1
dir=$2
[ -n "$dir" ] || usage
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac

# The server binaries: Debian 12's PostgreSQL 15, else what pg_config
# names, else the highest version installed.
find_bindir() {
  local d
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    echo /usr/lib/postgresql/15/bin; return
  fi
  if command -v pg_config >/dev/null &&
     d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then
    echo "$d"; return
  fi
  d=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  die "no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin" \
      "or pg_config --bindir: run scripts/deps.sh (package postgresql)"
}

root=0
[ "$(id -u)" -eq 0 ] && root=1

# Runs a command as the cluster's owner, from / (root's working directory
# may be one that user cannot enter, which initdb and postgres dislike).
as_owner() {
  if [ $root -eq 1 ]; then
    (cd / && runuser -u "$PGUSER_OS" -- "$@")
  else
    (cd / && "$@")
  fi
}

ensure_user() {
  [ $root -eq 1 ] || return 0
  getent passwd "$PGUSER_OS" >/dev/null && return 0
  # Two starts at once may both try; the loser finds the user made.
  useradd --system --no-create-home --home-dir /nonexistent \
          --shell /usr/sbin/nologin "$PGUSER_OS" 2>/dev/null ||
    getent passwd "$PGUSER_OS" >/dev/null ||
    die "could not create the system user $PGUSER_OS (useradd)"
}

# sun_path holds 107 bytes: BASE/.s.PGSQL.NNNNN must fit.
socket_fits() { [ $(( ${#1} + 15 )) -le 107 ]; }

do_stop() {
  local base="" data pid rc=0
  [ -f "$dir/base" ] && base=$(cat "$dir/base")
  if [ -n "$base" ] && [ -f "$base/data/postmaster.pid" ]; then
    data="$base/data"
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    if [ -z "$bindir" ] ||
       ! as_owner "$bindir/pg_ctl" stop -D "$data" -m fast -t "$STOP_S" \
         >/dev/null 2>&1; then
      # Only the postmaster this cluster recorded, and only if it is one.
      if [ -n "$pid" ] && [ -d "/proc/$pid" ] &&
         [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] &&
         [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$data" ]; then
        echo "pg-cluster: pg_ctl stop failed or did not finish in" \
             "${STOP_S} s; killing postmaster $pid" >&2
        kill -KILL "$pid" 2>/dev/null || true
        rc=1
      fi
    fi
  fi
  # The rest of the server (backends, its shared memory) ends with the
  # postmaster; the files go now.
  if [ -n "$base" ] && [ "$base" != "$dir/cluster" ]; then
    case "$base" in
      /tmp/tienbo-pg.*) rm -rf -- "$base" ;;
      *) echo "pg-cluster: not removing $base (not ours)" >&2; rc=1 ;;
    esac
  fi
  rm -rf -- "$dir"
  return $rc
}

# The postmaster of the last attempt ended (its log's last word).
postmaster_ended() { grep -q 'database system is shut down' "$1" 2>/dev/null; }

do_start() {
  local base data log port t0 up=0 url got durability

  if [ -e "$dir" ]; then do_stop || true; fi
  mkdir -p "$dir"
  chmod 0755 "$dir"
  ensure_user

  base="$dir/cluster"
  mkdir -p "$base"
  chmod 0700 "$base"
  [ $root -eq 1 ] && chown "$PGUSER_OS:" "$base"
  if ! socket_fits "$base" || ! as_owner test -w "$base" -a -x "$base"; then
    rm -rf -- "$base"
    base=$(mktemp -d /tmp/tienbo-pg.XXXXXX)
    [ $root -eq 1 ] && chown "$PGUSER_OS:" "$base"
  fi
  # Recorded first, so a stop after any failure below finds it.
  echo "$base" >"$dir/base"
  data="$base/data"
  log="$base/server.log"

  if ! as_owner timeout 120 "$bindir/initdb" -D "$data" -U "$ROLE" \
       --auth=trust --encoding=UTF8 --locale=C --no-sync \
       >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed in $data (its output above)"
  fi
  # Trust on the local socket and 127.0.0.1/32 only (see the top).
  as_owner tee "$data/pg_hba.conf" >/dev/null <<'EOF'
# pg-cluster.sh: a throwaway test cluster on loopback; trust is fine here
local all all trust
host  all all 127.0.0.1/32 trust
EOF
  if [ "${TB_PG_DURABLE:-0}" = 1 ]; then
    durability="# TB_PG_DURABLE=1: durable, as a real server (a benchmark)
fsync = on
synchronous_commit = on
full_page_writes = on"
  else
    durability="# test data only, deleted after the run: durability buys nothing
fsync = off
synchronous_commit = off
full_page_writes = off"
  fi
  as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# pg-cluster.sh: a throwaway test cluster (see scripts/pg-cluster.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$base'
unix_socket_permissions = 0700
# ~64 test clients at once, plus superuser and spare slots
max_connections = 128
$durability
include 'port.conf'
EOF

  for _ in $(seq 1 "$TRIES"); do
    # Below Linux's ephemeral range (32768-60999), so an outgoing
    # connection cannot hold it; one in use is skipped, and one taken
    # between this check and the bind fails the bind and is retried.
    port=$(( 20000 + RANDOM % 12000 ))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue
    fi
    echo "port = $port" | as_owner tee "$data/port.conf" >/dev/null
    : | as_owner tee "$log" >/dev/null
    as_owner "$bindir/pg_ctl" start -W -D "$data" -l "$log" >/dev/null ||
      { cat "$log" >&2; die "pg_ctl start failed (server log above)"; }
    t0=$SECONDS
    while :; do
      # Asked on this cluster's own socket: on 127.0.0.1:PORT another
      # server (one that won the port) could answer. Postgres makes its
      # socket after binding its TCP ports, so an answer here means
      # 127.0.0.1:PORT is ours too (checked below).
      if "$bindir/pg_isready" -q -h "$base" -p "$port" -U "$ROLE" \
         -d postgres -t 2; then
        up=1; break
      fi
      if postmaster_ended "$log"; then
        if grep -q 'Address already in use' "$log"; then
          # its lock file goes last; the next attempt needs it gone
          for t0 in $(seq 50); do
            [ -f "$data/postmaster.pid" ] || break
            sleep 0.1
          done
          break  # next port
        fi
        cat "$log" >&2
        die "the server stopped while starting (server log above)"
      fi
      if [ $(( SECONDS - t0 )) -ge "$READY_S" ]; then
        cat "$log" >&2
        die "timed out after ${READY_S} s waiting for PostgreSQL to accept" \
            "connections on 127.0.0.1:$port (pg_isready; server log above)"
      fi
      sleep 0.2
    done
    [ $up -eq 1 ] && break
    echo "pg-cluster: port $port taken, trying another" >&2
  done
  [ $up -eq 1 ] || die "no free port after $TRIES tries"
  url="postgresql://$ROLE@127.0.0.1:$port/postgres"
  got=$(timeout 15 "$bindir/psql" -X -At -d "$url?connect_timeout=10" \
        -c "SELECT current_setting('data_directory')" 2>&1) || true
  [ "$got" = "$data" ] ||
    die "127.0.0.1:$port does not answer as this cluster ($data): $got"

  echo "$url" >"$dir/url.tmp"
  mv "$dir/url.tmp" "$dir/url"
  echo "pg-cluster: $("$bindir/postgres" --version) on 127.0.0.1:$port," \
       "data in $data$([ "${TB_PG_DURABLE:-0}" = 1 ] &&
       echo ", fsync and synchronous_commit on")"
  cat "$dir/url"
}

case "$cmd" in
  start)
    bindir=$(find_bindir)
    do_start ;;
  stop)
    # Without the binaries (a start that failed for want of them) there
    # is no server to stop, only files.
    bindir=$(find_bindir 2>/dev/null) || bindir=""
    do_stop ;;
  url)
    [ -f "$dir/url" ] ||
      die "$dir/url missing: the cluster is not started (pg-cluster.sh start)"
    cat "$dir/url" ;;
  *) usage ;;
esac
