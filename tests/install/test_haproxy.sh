#!/usr/bin/env bash
# test_haproxy.sh SOURCE_DIR - packaging/haproxy-tienbo.cfg works as its
# comment says, with Debian 12's haproxy (label e2e, about 15 s):
#  1. its placeholders filled with sed, `haproxy -c` accepts it (and
#     refuses it with them left unfilled);
#  2. in front of two HTTPS servers on loopback standing in for
#     tienbo-server (python3's http.server over TLS: /healthz answers its
#     name, with 200, or 503 while a file "sick" exists beside it), a
#     client that verifies the servers' certificate through HAProxy (TLS
#     passes through) reaches both;
#  3. one answering 503, the HTTP checks over TLS take it out (DOWN,
#     "Layer7 wrong status") and every connection reaches the other; well
#     again, it is put back (UP); stopped, it is taken out again.
# Every wait is bounded and a timeout fails saying what it waited for.
set -euo pipefail
src=$(cd "$1" && pwd)
cfg=$src/packaging/haproxy-tienbo.cfg
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$tmp/haproxy.log" ] && { echo "--- haproxy:" >&2; cat "$tmp/haproxy.log" >&2; }
	exit 1
}
command -v haproxy >/dev/null || fail "no haproxy: run scripts/deps.sh"

# waits up to $1 s for the command after it to succeed
wait_for() {
	local t=$1 what=$2 end=$((SECONDS + $1))
	shift 2
	until "$@"; do
		[ $SECONDS -lt $end ] || fail "timed out after ${t} s waiting for $what"
		sleep 0.2
	done
}

# ---- the two "instances" ----------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 2>/dev/null
cat >"$tmp/https.py" <<'EOF'
import http.server, os, ssl, sys
name, cert, key, here = sys.argv[1:5]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        sick = os.path.exists(os.path.join(here, "sick"))
        body = (name + "\n").encode()
        self.send_response(503 if sick else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("PORT", srv.server_address[1], flush=True)
srv.serve_forever()
EOF
port=()
for i in 1 2; do
	mkdir "$tmp/s$i"
	/usr/bin/python3 "$tmp/https.py" "tienbo$i" "$tmp/cert.pem" \
		"$tmp/key.pem" "$tmp/s$i" >"$tmp/s$i.log" 2>&1 </dev/null &
	pids+=($!)
	wait_for 10 "HTTPS server $i to listen" grep -qs '^PORT' "$tmp/s$i.log"
	port[i]=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$tmp/s$i.log")
done

# ---- 1. the config --------------------------------------------------------
haproxy -c -f "$cfg" >"$tmp/unfilled.log" 2>&1 &&
	fail "haproxy -c accepted the config with its placeholders unfilled"
fill() { # frontend port -> the config
	sed -e "s/\${TB_HAPROXY_ADDR}/127.0.0.1/g" \
	    -e "s/\${TB_HAPROXY_PORT}/$1/g" \
	    -e "s/\${TB_SERVER1_PORT}/${port[1]}/g" \
	    -e "s/\${TB_SERVER2_PORT}/${port[2]}/g" "$cfg" >"$tmp/haproxy.cfg"
	# (outside comments: the comment names a placeholder pattern)
	if grep -v '^[[:space:]]*#' "$tmp/haproxy.cfg" | grep -qF "\${TB_"; then
		fail "placeholders left in the config: $(grep -v '^[[:space:]]*#' \
			"$tmp/haproxy.cfg" | grep -F "\${TB_")"
	fi
}
fill 20000
haproxy -c -f "$tmp/haproxy.cfg" >"$tmp/check.log" 2>&1 ||
	{ cat "$tmp/check.log" >&2; fail "haproxy -c refused the filled config"; }

# ---- 2. both reached through it --------------------------------------------
get() { # one connection through HAProxy: the instance's name
	curl -sS --max-time 5 --cacert "$tmp/cert.pem" \
		"https://127.0.0.1:$front/healthz"
}
started=0
for _ in 1 2 3 4 5; do
	# a free port below the ephemeral range; one taken meanwhile fails
	# haproxy's bind and another is tried
	front=$((20000 + RANDOM % 12000))
	(exec 3<>"/dev/tcp/127.0.0.1/$front") 2>/dev/null && continue
	fill "$front"
	haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
	hp=$!
	end=$((SECONDS + 10))
	while kill -0 "$hp" 2>/dev/null && [ $SECONDS -lt $end ]; do
		get >/dev/null 2>&1 && { started=1; break; }
		sleep 0.2
	done
	[ $started -eq 1 ] && { pids+=("$hp"); break; }
	kill "$hp" 2>/dev/null || true
	wait "$hp" 2>/dev/null || true
	grep -q 'cannot bind\|Address already in use' "$tmp/haproxy.log" ||
		fail "haproxy did not answer on 127.0.0.1:$front within 10 s"
done
[ $started -eq 1 ] || fail "no free port for haproxy's frontend after 5 tries"

seen=""
for _ in 1 2 3 4 5 6; do
	seen+="$(get) "
done
case "$seen" in *tienbo1*) ;; *) fail "tienbo1 never reached: $seen" ;; esac
case "$seen" in *tienbo2*) ;; *) fail "tienbo2 never reached: $seen" ;; esac

# ---- 3. one sick, well again, stopped ---------------------------------------
only() { # NAME WHY: four connections in a row all reach NAME
	local got
	for _ in 1 2 3 4; do
		got=$(get) || fail "no answer through haproxy ($2)"
		[ "$got" = "$1" ] || fail "wanted $1 ($2), got $got"
	done
}
touch "$tmp/s2/sick"
wait_for 15 "haproxy to log tienbo2 DOWN (its /healthz answers 503)" \
	grep -q 'tienbo2 is DOWN, reason: Layer7 wrong status' "$tmp/haproxy.log"
only tienbo1 "tienbo2 answering 503"
rm "$tmp/s2/sick"
wait_for 15 "haproxy to log tienbo2 UP again" \
	grep -q 'tienbo2 is UP' "$tmp/haproxy.log"
kill "${pids[0]}"
wait "${pids[0]}" 2>/dev/null || true
wait_for 15 "haproxy to log tienbo1 DOWN (stopped)" \
	grep -q 'tienbo1 is DOWN' "$tmp/haproxy.log"
only tienbo2 "tienbo1 stopped"
echo "test_haproxy: ok (haproxy $(haproxy -v | sed -n '1s/HAProxy version \([^ ]*\).*/\1/p'))"
