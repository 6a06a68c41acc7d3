#!/usr/bin/env bash
# mkbadcerts.sh DIR CADIR - server certificates an agent must refuse, for
# tests/test_agent_faults.c. CADIR is a test CA made by scripts/mkcerts.sh
# (ca.pem, ca.key): the CA the agent trusts. Made in DIR:
#   wronghost.pem/.key   signed by that CA, for other.example only
#   selfsigned.pem/.key  self-signed, for 127.0.0.1
#   expired.pem/.key     signed by that CA for 127.0.0.1, expired 30 days
#                        ago (needs faketime; left out without it)
#   sysca/               another CA (another name), as an OpenSSL hashed
#                        directory and a bundle: a stand-in for
#                        /etc/ssl/certs, a CA "the system trusts", which
#                        an agent with a ca_file must not trust
#   system.pem/.key      signed by that CA, for 127.0.0.1
# Throwaway test material: never commit what this makes.
set -euo pipefail

dir=${1:?usage: mkbadcerts.sh DIR CADIR}
cadir=${2:?usage: mkbadcerts.sh DIR CADIR}
mkdir -p "$dir/sysca"
cd "$dir"
umask 077

key() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.tmp"
	openssl pkcs8 -topk8 -nocrypt -in "$1.tmp" -out "$1"
	rm -f "$1.tmp"
}

# leaf NAME SAN CA.pem CA.key [FAKETIME-OFFSET]
leaf() {
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/O=tienbo test/CN=$1" \
		-out "$1.csr" 2>/dev/null
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature,keyEncipherment" \
		"extendedKeyUsage=serverAuth" "subjectAltName=$2" >"$1.ext"
	${5:+faketime -f "$5"} openssl x509 -req -in "$1.csr" -CA "$3" \
		-CAkey "$4" -CAcreateserial -CAserial ca.srl -sha256 -days 30 \
		-extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

leaf wronghost "DNS:other.example" "$cadir/ca.pem" "$cadir/ca.key"
if command -v faketime >/dev/null; then
	leaf expired "IP:127.0.0.1" "$cadir/ca.pem" "$cadir/ca.key" -60d
fi

key selfsigned.key
openssl req -x509 -new -key selfsigned.key -sha256 -days 30 \
	-subj "/O=tienbo test/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -out selfsigned.pem 2>/dev/null

key sysca.key
openssl req -x509 -new -key sysca.key -sha256 -days 30 \
	-subj "/O=elsewhere/CN=a CA the system trusts" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out sysca/ca.pem 2>/dev/null
openssl rehash sysca
cp sysca/ca.pem sysca/ca-certificates.crt # the system's bundle, too
leaf system "IP:127.0.0.1" sysca/ca.pem sysca.key

rm -f ca.srl
chmod 644 ./*.pem sysca/ca.pem
