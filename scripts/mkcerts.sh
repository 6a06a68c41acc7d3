#!/usr/bin/env bash
# mkcerts.sh DIR - a throwaway test CA and a server certificate for the
# demo and the tests: DIR/ca.pem (give it to the agent as its CA file),
# DIR/server.pem and DIR/server.key (tienbo-server --cert/--key), valid for
# 127.0.0.1, ::1 and localhost. DIR/ca.key stays beside them to sign more.
# Never commit what this makes (.gitignore keeps *.pem and *.key out).
# A production server uses a certificate from the province's real CA.
set -euo pipefail

dir=${1:?usage: mkcerts.sh DIR}
days=${TB_CERT_DAYS:-825}
mkdir -p "$dir"
umask 077
cd "$dir"

openssl ecparam -name prime256v1 -genkey -noout -out ca.key.tmp
openssl pkcs8 -topk8 -nocrypt -in ca.key.tmp -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" \
	-subj "/O=tienbo test/CN=tienbo test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out server.key.tmp
openssl pkcs8 -topk8 -nocrypt -in server.key.tmp -out server.key
openssl req -new -key server.key -subj "/O=tienbo test/CN=localhost" \
	-out server.csr 2>/dev/null
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-sha256 -days "$days" -extfile server.ext -out server.pem 2>/dev/null

rm -f ca.key.tmp server.key.tmp server.csr server.ext ca.srl
chmod 644 ca.pem server.pem
openssl verify -CAfile ca.pem server.pem >/dev/null
echo "$dir: ca.pem server.pem server.key"
