#!/usr/bin/env bash
# End-to-end: a secure ferry node as an operator meets it. First start with the
# default settings (security on) auto-configures HTTPS with a self-signed CA; the
# operator fetches the CA (openssl s_client -showcerts, ferry cert fetch) and checks
# it with curl; a CA bundle travels to another config folder byte for byte; the TLS
# protocol matrix; untrusted clients; client certificates (required, optional).
set -u
cd "$(dirname "$0")/../.."
FERRY=${FERRY_BIN:-build/ferry}
[ -x build/san/ferry ] && [ -z "${FERRY_BIN:-}" ] && FERRY=build/san/ferry
FERRY=$(cd "$(dirname "$FERRY")" && pwd)/$(basename "$FERRY")

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else fail "$1" "${3:-}"; fi; }

work=$(mktemp -d /tmp/ferry-e2e-tls-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sanitizer_clean() { ! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$1"; }

PASS='e2e-Secret:pa55'       # a ':' inside: Basic auth splits on the first one only
export ELASTIC_PASSWORD=$PASS
port=$(free_port)
conf=$work/conf
mkdir -p "$conf"
printf 'http.port: %s\npath.data: %s\n' "$port" "$work/data" > "$conf/elasticsearch.yml"
log=0

start() { # start [args...]; waits until the port accepts connections
    log=$((log + 1))
    FERRY_PATH_CONF=$conf "$FERRY" serve "$@" >"$work/out$log.log" 2>"$work/err$log.log" &
    pid=$!
    for _ in $(seq 1 150); do
        curl -sk -o /dev/null --max-time 2 "https://127.0.0.1:$port/"
        case $? in 7|28) ;; *) return 0 ;; esac   # anything but "cannot connect": listening
        kill -0 "$pid" 2>/dev/null || { pid=""; return 1; }
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""
    return 1
}
stop() {
    kill -TERM "$pid" 2>/dev/null; wait "$pid"; local rc=$?; pid=""
    sanitizer_clean "$work/err$log.log" || { echo "     sanitizer report in err$log.log"; return 1; }
    return $rc
}
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

cd "$work"

# 1. First start: auto-configuration
if ! start; then
    fail "secure node starts" "$(tail -5 "$work/err$log.log")"
    echo "$passed passed, $((failed + 1)) failed"; exit 1
fi
ok "secure node starts with the default settings"
check "certs generated" '[ -f conf/certs/http_ca.crt ] && [ -f conf/certs/http.crt ] && [ -f conf/certs/http.key ]'
check "private keys are 0600" '[ "$(stat -c %a conf/certs/http.key)" = 600 ] && [ "$(stat -c %a conf/certs/http_ca.key)" = 600 ]'
check "settings block appended to elasticsearch.yml" \
    'grep -q "BEGIN SECURITY AUTO CONFIGURATION" conf/elasticsearch.yml && grep -q "certificate: certs/http.crt" conf/elasticsearch.yml'
check "the user's settings are kept" 'head -1 conf/elasticsearch.yml | grep -q "http.port: $port"'
fp_printed=$(grep -A1 "SHA-256 fingerprint" "out$log.log" | tail -1 | tr -d ' ')
check "CA fingerprint printed (hex, 64 chars)" '[[ $fp_printed =~ ^[0-9a-f]{64}$ ]]' "$(cat "out$log.log")"
check "password not printed when ELASTIC_PASSWORD is set" '! grep -q "Password for the elastic user" "out$log.log" && ! grep -qF -- "$PASS" "out$log.log" "err$log.log"'
check "password not stored in clear" '! grep -rqF -- "$PASS" conf data'

# 2. The scenario, verbatim: fetch the CA with openssl, check with curl
echo quit | openssl s_client -showcerts -servername localhost -connect 127.0.0.1:$port > cacert.pem 2>/dev/null
check "openssl s_client -showcerts captures leaf and CA" '[ "$(grep -c "BEGIN CERTIFICATE" cacert.pem)" = 2 ]'
body=$(curl -s -XGET https://127.0.0.1:$port -u "elastic:$PASS" --cacert cacert.pem)
check "curl --cacert cacert.pem -u elastic:PASS https://127.0.0.1:PORT" '[[ $body == *"You Know, for Search"* ]]' "$body"
last_fp=$(awk '/BEGIN CERT/{n++} {if (n) print > ("cert" n ".pem")}' cacert.pem; openssl x509 -in cert2.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
check "printed fingerprint is the presented CA's" '[ "$last_fp" = "$fp_printed" ]' "$last_fp vs $fp_printed"

"$FERRY" cert fetch 127.0.0.1:$port --ca-only -o ca.pem 2>fetch.err
check "ferry cert fetch --ca-only writes one certificate" '[ "$(grep -c "BEGIN CERTIFICATE" ca.pem)" = 1 ]' "$(cat fetch.err)"
check "curl accepts the fetched CA" '[ "$(status -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 200 ]'
check "fetched CA is the node's http_ca.crt" 'cmp -s ca.pem conf/certs/http_ca.crt'
check "curl through localhost (SAN) works" '[ "$(status -u "elastic:$PASS" --cacert ca.pem https://localhost:$port/)" = 200 ]'

# 3. Bundles: create, install elsewhere, byte-identical; installed at start too
mkdir -p my_source_ca && cp ca.pem my_source_ca/cacert.pem
"$FERRY" bundle create my_source_ca -o my_source_ca.zip >/dev/null 2>bundle.err
mkdir -p dest_conf
"$FERRY" bundle install my_source_ca.zip --config dest_conf >/dev/null 2>>bundle.err
check "bundle installs byte-identical" 'cmp -s my_source_ca/cacert.pem dest_conf/my_source_ca/cacert.pem' "$(cat bundle.err)"
check "curl trusts the bundled CA" '[ "$(status -u "elastic:$PASS" --cacert dest_conf/my_source_ca/cacert.pem https://127.0.0.1:$port/)" = 200 ]'
port2=$(free_port)
mkdir -p dest2/bundles && cp my_source_ca.zip dest2/bundles/
FERRY_PATH_CONF=$work/dest2 timeout 20 "$FERRY" serve -E xpack.security.enabled=false -E http.port=$port2 \
    -E path.data=$work/data2 >dest2.out 2>dest2.err &
pid2=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port2/" && break; sleep 0.1; done
check "serve installs config/bundles/*.zip at start" 'cmp -s my_source_ca/cacert.pem dest2/my_source_ca/cacert.pem && grep -q "installed 1 bundle" dest2.err' "$(tail -3 dest2.err)"
kill -TERM $pid2 2>/dev/null; wait $pid2 2>/dev/null

# 4. TLS matrix
for v in 1_2 1_3; do
    out=$(echo | openssl s_client -tls$v -connect 127.0.0.1:$port -servername localhost 2>&1); rc=$?
    check "TLS ${v/_/.} accepted (openssl -tls$v)" '[ $rc -eq 0 ] && grep -qE "^New, TLSv${v/_/.}, Cipher is [A-Z]" <<<"$out"' "$(grep -E "New|alert|error" <<<"$out" | head -3)"
done
echo | openssl s_client -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' -connect 127.0.0.1:$port -servername localhost >/dev/null 2>&1; rc=$?
check "TLS 1.1 refused (openssl -tls1_1)" '[ $rc -ne 0 ]'
echo | openssl s_client -tls1_2 -connect 127.0.0.1:$port -servername localhost >/dev/null 2>&1; rc=$?
check "the same openssl command with -tls1_2 succeeds" '[ $rc -eq 0 ]'
check "curl --tls-max 1.2 works" '[ "$(status --tlsv1.2 --tls-max 1.2 -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 200 ]'
curl -s -o /dev/null --tlsv1.1 --tls-max 1.1 --cacert ca.pem "https://127.0.0.1:$port/" 2>/dev/null; rc=$?
check "curl --tls-max 1.1 fails" '[ $rc -ne 0 ]' "rc=$rc"
curl -s -S -o /dev/null "https://127.0.0.1:$port/" 2>untrusted.err; rc=$?
check "a client that does not trust the CA is refused" '[ $rc = 60 ] && grep -qi certificate untrusted.err' "rc=$rc $(cat untrusted.err)"
check "no credentials over HTTPS: 401" '[ "$(status --cacert ca.pem https://127.0.0.1:$port/)" = 401 ]'
check "plain HTTP to the HTTPS port gets no answer" '[ "$(status http://127.0.0.1:$port/)" != 200 ]'
check "SIGTERM stops the node cleanly" 'stop'

# 5. Restart: same certificates, no second auto-configuration, same password
if start; then
    check "restart reuses the certificates" 'cmp -s ca.pem conf/certs/http_ca.crt && [ "$(status -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 200 ]'
    check "auto-configuration block written once" '[ "$(grep -c "BEGIN SECURITY AUTO CONFIGURATION" conf/elasticsearch.yml)" = 1 ]'
    check "no first-start banner on restart" '[ ! -s "out$log.log" ]' "$(cat "out$log.log")"
    stop
else
    fail "node restarts" "$(tail -5 "err$log.log")"
fi

# 6. Client certificates
"$FERRY" cert ca --out clientca >/dev/null 2>&1
"$FERRY" cert http --ca clientca/ca.crt --ca-key clientca/ca.key --dns e2e-client --out client >/dev/null 2>&1
"$FERRY" cert ca --out otherca >/dev/null 2>&1
"$FERRY" cert http --ca otherca/ca.crt --ca-key otherca/ca.key --dns stranger --out stranger >/dev/null 2>&1
mkdir -p conf/clientca && cp clientca/ca.crt conf/clientca/ca.crt
cp conf/elasticsearch.yml es.yml.orig
printf 'xpack.security.http.ssl.client_authentication: required\nxpack.security.http.ssl.certificate_authorities: [ clientca/ca.crt ]\n' >> conf/elasticsearch.yml
if start; then
    echo | openssl s_client -tls1_2 -connect 127.0.0.1:$port -servername localhost >/dev/null 2>&1; rc=$?
    check "required: the TLS 1.2 handshake fails without a client certificate" '[ $rc -ne 0 ]'
    echo | openssl s_client -tls1_2 -connect 127.0.0.1:$port -servername localhost -cert client/http.crt \
        -key client/http.key >/dev/null 2>&1; rc=$?
    check "required: the TLS 1.2 handshake succeeds with one" '[ $rc -eq 0 ]'

    check "required: curl without a client certificate fails" '[ "$(status -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 000 ]'
    check "required: a certificate from the listed CA works" \
        '[ "$(status --cert client/http.crt --key client/http.key -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 200 ]'
    check "required: a certificate from another CA is refused" \
        '[ "$(status --cert stranger/http.crt --key stranger/http.key -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 000 ]'
    check "a client certificate does not replace the password" \
        '[ "$(status --cert client/http.crt --key client/http.key --cacert ca.pem https://127.0.0.1:$port/)" = 401 ]'
    stop
else
    fail "node starts with client_authentication: required" "$(tail -5 "err$log.log")"
fi
cp es.yml.orig conf/elasticsearch.yml
printf 'xpack.security.http.ssl.client_authentication: optional\nxpack.security.http.ssl.certificate_authorities: [ clientca/ca.crt ]\n' >> conf/elasticsearch.yml
if start; then
    check "optional: no client certificate is fine" '[ "$(status -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 200 ]'
    check "optional: a good client certificate is fine" \
        '[ "$(status --cert client/http.crt --key client/http.key -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 200 ]'
    check "optional: an untrusted client certificate is refused" \
        '[ "$(status --cert stranger/http.crt --key stranger/http.key -u "elastic:$PASS" --cacert ca.pem https://127.0.0.1:$port/)" = 000 ]'
    stop
else
    fail "node starts with client_authentication: optional" "$(tail -5 "err$log.log")"
fi
cp es.yml.orig conf/elasticsearch.yml

# 7. Settings that stop start-up
FERRY_PATH_CONF=$conf timeout 20 "$FERRY" serve -E xpack.security.http.ssl.supported_protocols=TLSv1.1 >/dev/null 2>bad.err; rc=$?
check "supported_protocols TLSv1.1 refused at start" '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "TLSv1.1" bad.err' "rc=$rc $(head -2 bad.err)"
FERRY_PATH_CONF=$conf timeout 20 "$FERRY" serve -E xpack.security.http.ssl.client_authentication=required >/dev/null 2>bad2.err; rc=$?
check "client authentication without CAs refused at start" '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "certificate_authorities" bad2.err' "rc=$rc $(head -2 bad2.err)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
