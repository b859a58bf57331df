#!/usr/bin/env bash
# End-to-end: authentication and authorization on a node with security enabled
# (plain HTTP here, TLS has security_tls.sh): Elasticsearch's 401 and 403 bodies
# and headers, the built-in roles and a roles.yml role on read, write, index
# administration and reindex routes, `ferry users` edits picked up while the node
# runs, and GET /_security/_authenticate.
set -u
cd "$(dirname "$0")/../.."
FERRY=${FERRY_BIN:-build/ferry}
[ -x build/san/ferry ] && [ -z "${FERRY_BIN:-}" ] && FERRY=build/san/ferry
FERRY=$(cd "$(dirname "$FERRY")" && pwd)/$(basename "$FERRY")

passed=0 failed=0 skipped=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
skip() { skipped=$((skipped + 1)); echo "skip $1 ($2)"; }
check() { if eval "$2"; then ok "$1"; else fail "$1" "${3:-}"; fi; }

work=$(mktemp -d /tmp/ferry-e2e-auth-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
base=http://127.0.0.1:$port
conf=$work/conf
mkdir -p "$conf"
export FERRY_PATH_CONF=$conf
export ELASTIC_PASSWORD=elastic-e2e-pw

# Users made before the start with `ferry users`; one role from roles.yml.
users() { "$FERRY" users "$@"; }
users useradd viewer1 -p viewer-pw -r viewer >/dev/null
users useradd editor1 -p editor-pw -r editor >/dev/null
users useradd super1 -p 'super:pw@x' -r superuser >/dev/null
users useradd reindexer -p reindex-pw -r ferry_reindex >/dev/null
users useradd noroles -p noroles-pw >/dev/null
users useradd logs1 -p logs1-pw -r logs_reader >/dev/null 2>&1
users useradd logsw -p logsw-pw -r logs_writer >/dev/null 2>&1
cat > "$conf/roles.yml" <<'YML'
logs_reader:
  cluster: [ monitor ]
  indices:
    - names: [ 'logs-*' ]
      privileges: [ read, view_index_metadata ]
logs_writer:
  cluster: [ monitor ]
  indices:
    - names: [ 'logs-*' ]
      privileges: [ read, write ]
YML

# Security on, HTTPS off (explicit settings: no auto-configuration), fast reloads.
"$FERRY" serve -E http.port=$port -E path.data=$work/data -E xpack.security.enabled=true \
    -E resource.reload.interval.high=200ms >"$work/out.log" 2>"$work/err.log" &
pid=$!
up=0
for _ in $(seq 1 100); do
    curl -s -o /dev/null "$base/" && { up=1; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ $up = 0 ]; then
    fail "node starts" "$(tail -5 "$work/err.log")"
    echo "$passed passed, $failed failed"; exit 1
fi
ok "node with security on plain HTTP starts"
check "no auto-configuration when security is set explicitly" '[ ! -d "$conf/certs" ] && [ ! -s "$work/out.log" ]'

# req METHOD PATH [curl args...] -> sets $code, $body, $hdrs
req() {
    local m=$1 p=$2; shift 2
    local how=(-X "$m"); [ "$m" = HEAD ] && how=(-I)   # -X HEAD would wait for a body
    body=$(curl -s --max-time 20 "${how[@]}" -D "$work/h" -o "$work/b" -w '%{http_code}' "$@" "$base$p"; echo)
    code=${body%$'\n'}; body=$(cat "$work/b"); hdrs=$(cat "$work/h")
}
as() { local u=$1 pw=$2 m=$3 p=$4; shift 4; req "$m" "$p" -u "$u:$pw" "$@"; }
json_eq() { # json_eq EXPECTED_JSON: the body equals it (parsed)
    python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$body"
}
reason() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["error"]["reason"])' "$body" 2>/dev/null; }
expect_403() { # expect_403 NAME USER PW METHOD PATH EXPECTED_REASON [curl args]
    local name=$1 u=$2 pw=$3 m=$4 p=$5 want=$6; shift 6
    as "$u" "$pw" "$m" "$p" "$@"
    local got; got=$(reason)
    check "$name" '[ "$code" = 403 ] && [ "$got" = "$want" ] && json_eq "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":$(python3 -c "import json,sys;print(json.dumps(sys.argv[1]))" "$want")}],\"type\":\"security_exception\",\"reason\":$(python3 -c "import json,sys;print(json.dumps(sys.argv[1]))" "$want")},\"status\":403}"' \
        "$code $body"
}
H='"header":{"WWW-Authenticate":["Basic realm=\"security\", charset=\"UTF-8\""]}'

# 1. Authentication failures: ES's 401 body and header
req GET /
check "no credentials: 401 with ES's body" '[ "$code" = 401 ] && json_eq "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"missing authentication credentials for REST request [/]\",$H}],\"type\":\"security_exception\",\"reason\":\"missing authentication credentials for REST request [/]\",$H},\"status\":401}"' "$code $body"
check "401 carries WWW-Authenticate" 'grep -qi "^WWW-Authenticate: Basic realm=\"security\", charset=\"UTF-8\"" <<<"$hdrs"' "$hdrs"
check "401 is compact JSON (not GET /'s pretty default)" '[[ $body == "{\"error\":{"* ]]' "$body"
check "401 keeps X-Elastic-Product" 'grep -qi "^X-elastic-product: Elasticsearch" <<<"$hdrs"'
req GET '/_cluster/health?pretty&nope=1'
check "the URI quoted is the raw one, before parameter checks" '[ "$code" = 401 ] && [ "$(reason)" = "missing authentication credentials for REST request [/_cluster/health?pretty&nope=1]" ]' "$code $body"
as viewer1 wrong-pw GET /
check "wrong password: 401" '[ "$code" = 401 ] && [ "$(reason)" = "unable to authenticate user [viewer1] for REST request [/]" ]' "$code $body"
as ghost whatever GET /_cluster/health
check "unknown user: 401" '[ "$code" = 401 ] && [ "$(reason)" = "unable to authenticate user [ghost] for REST request [/_cluster/health]" ]' "$code $body"
req GET / -H 'Authorization: Basic !!!'
check "bad base64: 401" '[ "$code" = 401 ] && [ "$(reason)" = "invalid basic authentication header encoding" ]' "$code $body"
req HEAD /
check "HEAD without credentials: 401" '[ "$code" = 401 ]'
check "failed logins are logged without the password" 'grep -q "authentication of user \[viewer1\] failed" "$work/err.log" && ! grep -q "wrong-pw" "$work/err.log"'

# 2. Who am I
as super1 'super:pw@x' GET /_security/_authenticate
check "password with ':' and '@' (split on the first ':')" '[ "$code" = 200 ]' "$code $body"
check "_authenticate for a file user" 'json_eq "{\"username\":\"super1\",\"roles\":[\"superuser\"],\"full_name\":null,\"email\":null,\"metadata\":{},\"enabled\":true,\"authentication_realm\":{\"name\":\"default_file\",\"type\":\"file\"},\"lookup_realm\":{\"name\":\"default_file\",\"type\":\"file\"},\"authentication_type\":\"realm\"}"' "$body"
as elastic "$ELASTIC_PASSWORD" GET /_security/_authenticate
check "_authenticate for elastic (reserved realm)" 'json_eq "{\"username\":\"elastic\",\"roles\":[\"superuser\"],\"full_name\":null,\"email\":null,\"metadata\":{\"_reserved\":true},\"enabled\":true,\"authentication_realm\":{\"name\":\"reserved\",\"type\":\"reserved\"},\"lookup_realm\":{\"name\":\"reserved\",\"type\":\"reserved\"},\"authentication_type\":\"realm\"}"' "$body"
as noroles noroles-pw GET /_security/_authenticate
check "_authenticate needs no privilege" '[ "$code" = 200 ]' "$code $body"

# 3. Read APIs
for u in "viewer1 viewer-pw" "editor1 editor-pw" "super1 super:pw@x" "reindexer reindex-pw" "logs1 logs1-pw" "elastic $ELASTIC_PASSWORD"; do
    set -- $u
    as "$1" "$2" GET /
    c1=$code
    as "$1" "$2" GET /_cluster/health
    check "$1: GET / and GET /_cluster/health are 200" '[ "$c1" = 200 ] && [ "$code" = 200 ]' "$c1 $code $body"
done
expect_403 "no roles: GET / is 403 (cluster:monitor/main)" noroles noroles-pw GET / \
    "action [cluster:monitor/main] is unauthorized for user [noroles] with effective roles [], this action is granted by the cluster privileges [monitor,manage,all]"
expect_403 "no roles: GET /_cluster/health is 403" noroles noroles-pw GET /_cluster/health \
    "action [cluster:monitor/health] is unauthorized for user [noroles] with effective roles [], this action is granted by the cluster privileges [monitor,manage,all]"
as viewer1 viewer-pw GET /_nodes
check "viewer: GET /_nodes is 200" '[ "$code" = 200 ]' "$code"

# 4. Index administration and documents (when those routes exist in this build)
as elastic "$ELASTIC_PASSWORD" PUT /probe-index
if [ "$code" = 200 ]; then
    expect_403 "viewer: PUT /i is 403" viewer1 viewer-pw PUT /i \
        "action [indices:admin/create] is unauthorized for user [viewer1] with effective roles [viewer] on indices [i], this action is granted by the index privileges [create_index,manage,all]"
    expect_403 "editor: PUT /i is 403" editor1 editor-pw PUT /i \
        "action [indices:admin/create] is unauthorized for user [editor1] with effective roles [editor] on indices [i], this action is granted by the index privileges [create_index,manage,all]"
    as reindexer reindex-pw PUT /i
    check "ferry_reindex: PUT /i is 200" '[ "$code" = 200 ]' "$code $body"
    as super1 'super:pw@x' PUT /logs-1
    check "superuser: PUT /logs-1 is 200" '[ "$code" = 200 ]' "$code $body"
    expect_403 "ferry_reindex: DELETE /i is 403" reindexer reindex-pw DELETE /i \
        "action [indices:admin/delete] is unauthorized for user [reindexer] with effective roles [ferry_reindex] on indices [i], this action is granted by the index privileges [delete_index,manage,all]"
    as viewer1 viewer-pw GET /i
    check "viewer: GET /i is 200" '[ "$code" = 200 ]' "$code $body"
    as logs1 logs1-pw GET /logs-1
    check "roles.yml role: GET /logs-1 is 200" '[ "$code" = 200 ]' "$code $body"
    expect_403 "roles.yml role: GET /i is 403" logs1 logs1-pw GET /i \
        "action [indices:admin/get] is unauthorized for user [logs1] with effective roles [logs_reader] on indices [i], this action is granted by the index privileges [view_index_metadata,manage,all]"
    expect_403 "roles.yml role: a list names the denied indices" logs1 logs1-pw GET /logs-1,i,b \
        "action [indices:admin/get] is unauthorized for user [logs1] with effective roles [logs_reader] on indices [b,i], this action is granted by the index privileges [view_index_metadata,manage,all]"
    as elastic "$ELASTIC_PASSWORD" DELETE /probe-index
else
    skip "index administration matrix" "PUT /{index} is not in this build yet: $code"
fi
as elastic "$ELASTIC_PASSWORD" PUT /i/_doc/1 -H 'Content-Type: application/json' -d '{"a":1}'
if [ "$code" = 200 ] || [ "$code" = 201 ]; then
    expect_403 "viewer: PUT /i/_doc/1 is 403" viewer1 viewer-pw PUT /i/_doc/1 \
        "action [indices:data/write/index] is unauthorized for user [viewer1] with effective roles [viewer] on indices [i], this action is granted by the index privileges [create_doc,create,index,write,all]" \
        -H 'Content-Type: application/json' -d '{"a":2}'
    as editor1 editor-pw PUT /i/_doc/1 -H 'Content-Type: application/json' -d '{"a":3}'
    check "editor: PUT /i/_doc/1 is 200" '[ "$code" = 200 ]' "$code $body"
    as viewer1 viewer-pw GET /i/_doc/1
    check "viewer: GET /i/_doc/1 is 200" '[ "$code" = 200 ]' "$code $body"
    expect_403 "viewer: DELETE /i/_doc/1 is 403" viewer1 viewer-pw DELETE /i/_doc/1 \
        "action [indices:data/write/delete] is unauthorized for user [viewer1] with effective roles [viewer] on indices [i], this action is granted by the index privileges [delete,write,all]"
    expect_403 "viewer: POST /_bulk is 403" viewer1 viewer-pw POST /_bulk \
        "action [indices:data/write/bulk] is unauthorized for user [viewer1] with effective roles [viewer], this action is granted by the index privileges [create_doc,create,delete,index,write,all]" \
        -H 'Content-Type: application/x-ndjson' --data-binary $'{"index":{"_index":"i","_id":"2"}}\n{"a":1}\n'
    # Bulk items and mget docs are authorized one by one: the permitted ones go through.
    as elastic "$ELASTIC_PASSWORD" PUT /logs-1/_doc/1 -H 'Content-Type: application/json' -d '{"a":1}'
    as logsw logsw-pw POST /_bulk -H 'Content-Type: application/x-ndjson' \
        --data-binary $'{"index":{"_index":"logs-1","_id":"2"}}\n{"a":1}\n{"index":{"_index":"i","_id":"9"}}\n{"a":1}\n'
    items=$(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); print(" ".join(str(i["index"]["status"]) for i in b["items"]))' "$body" 2>/dev/null)
    check "bulk: an item on a permitted index passes, one on another index is 403" '[ "$code" = 200 ] && [ "$items" = "201 403" ]' "$code $body"
    check "bulk: the denied item carries ES's 403 text" '[[ $body == *"action [indices:data/write/bulk[s]] is unauthorized for user [logsw]"* ]]' "$body"
    as logsw logsw-pw POST /_bulk -H 'Content-Type: application/x-ndjson' \
        --data-binary $'{"index":{"_index":"logs-new","_id":"1"}}\n{"a":1}\n'
    check "bulk: auto-creating an index needs create_index (write alone is not enough)" '[[ $body == *"indices:admin/auto_create"* ]] && [[ $body == *"\"status\":403"* ]]' "$body"
    as logs1 logs1-pw POST /_mget -H 'Content-Type: application/json' \
        -d '{"docs":[{"_index":"logs-1","_id":"1"},{"_index":"i","_id":"1"}]}'
    check "mget: a permitted doc is found, another index's doc is a 403 item" '[ "$code" = 200 ] && [[ $body == *"\"found\":true"* ]] && [[ $body == *"indices:data/read/mget[shard]"* ]]' "$body"
else
    skip "document write matrix" "PUT /{index}/_doc/{id} is not in this build yet: $code"
fi
# Reindex: the route arrives with its own issue; the role's reindex privilege is unit-tested.
skip "POST /_reindex matrix" "reindex is a later issue"

# 5. Users file reloaded while the node runs
users useradd late -p late-user-pw -r viewer >/dev/null
ok_late=0
for _ in $(seq 1 50); do
    as late late-user-pw GET /
    [ "$code" = 200 ] && { ok_late=1; break; }
    sleep 0.1
done
check "a user added with ferry users can log in without a restart" '[ $ok_late = 1 ]' "$code $body"
check "the reload is logged" 'grep -q "reloaded users" "$work/err.log"'
users roles late -a editor -r viewer >/dev/null
ok_roles=0
for _ in $(seq 1 50); do
    as late late-user-pw GET /_security/_authenticate
    [[ $body == *'"roles":["editor"]'* ]] && { ok_roles=1; break; }
    sleep 0.1
done
check "a role change applies without a restart" '[ $ok_roles = 1 ]' "$body"
users passwd late -p late-user-pw2 >/dev/null
ok_pw=0
for _ in $(seq 1 50); do
    as late late-user-pw GET /
    [ "$code" = 401 ] && { ok_pw=1; break; }
    sleep 0.1
done
check "the old password stops working after passwd (cache invalidated)" '[ $ok_pw = 1 ]' "$code"
as late late-user-pw2 GET /
check "the new password works" '[ "$code" = 200 ]' "$code"
users userdel late >/dev/null
ok_del=0
for _ in $(seq 1 50); do
    as late late-user-pw2 GET /
    [ "$code" = 401 ] && { ok_del=1; break; }
    sleep 0.1
done
check "a deleted user is refused" '[ $ok_del = 1 ]' "$code"
as elastic wrong GET /
check "elastic with a wrong password: 401" '[ "$code" = 401 ]'

# 6. Many authenticated requests stay cheap (the credential cache): 200 in well under bcrypt's cost
t0=$(date +%s%N)
for _ in $(seq 1 200); do curl -s -o /dev/null -u viewer1:viewer-pw "$base/_cluster/health"; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "200 authenticated requests take < 10 s (cached: $ms ms)" '[ $ms -lt 10000 ]'

kill -TERM "$pid"; wait "$pid"; rc=$?; pid=""
check "SIGTERM stops the node cleanly" '[ $rc = 0 ]' "rc=$rc"
check "no sanitizer report" '! grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$work/err.log"' "$(grep -m3 -E "Sanitizer|runtime error" "$work/err.log")"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
