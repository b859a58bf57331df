#!/usr/bin/env bash
# End-to-end: a real `ferry serve` process configured through elasticsearch.yml,
# -E overrides and ${ENV}; answered by curl; bad settings stop start-up with a
# message naming key, value and file; ids persist across restarts; SIGTERM stops it.
set -u
cd "$(dirname "$0")/../.."
FERRY=${FERRY_BIN:-build/ferry}
[ -x build/san/ferry ] && [ -z "${FERRY_BIN:-}" ] && FERRY=build/san/ferry

passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
check() { if eval "$2"; then ok "$1"; else fail "$1" "${3:-}"; fi; }

work=$(mktemp -d /tmp/ferry-e2e-XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start() { # start CONF_DIR [args...]; sets pid, waits until GET / answers
    local conf=$1; shift
    # Plain HTTP: this scenario is about settings and life cycle (security has its own scripts).
    FERRY_PATH_CONF=$conf "$FERRY" serve -E xpack.security.enabled=false "$@" >"$work/out.log" 2>"$work/err.log" &
    pid=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
stop() { kill -TERM "$pid" 2>/dev/null; wait "$pid"; local rc=$?; pid=""; return $rc; }

port=$(free_port)
mkdir -p "$work/conf"
cat > "$work/conf/elasticsearch.yml" <<YML
cluster:
  name: e2e-cluster
node.name: \${E2E_NODE_NAME}
http.port: $port
path:
  data: $work/data
YML

# 1. file + env substitution + -E override
export E2E_NODE_NAME=node-from-env
if start "$work/conf" -E ferry.reported_version=7.17.9; then
    body=$(curl -s "http://127.0.0.1:$port/?pretty=false")
    check "cluster.name from nested YAML" '[[ $body == *"\"cluster_name\":\"e2e-cluster\""* ]]' "$body"
    check "node.name from \${ENV}" '[[ $body == *"\"name\":\"node-from-env\""* ]]' "$body"
    check "-E overrides the version" '[[ $body == *"\"number\":\"7.17.9\""* ]]' "$body"
    check "tagline" '[[ $body == *"\"tagline\":\"You Know, for Search\""* ]]' "$body"
    uuid1=$(echo "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster_uuid"])')
    check "cluster_uuid is 22 chars" '[ ${#uuid1} = 22 ]' "$uuid1"
    hdrs=$(curl -s -D - -o /dev/null "http://127.0.0.1:$port/")
    check "X-Elastic-Product header" 'grep -qi "^x-elastic-product: Elasticsearch" <<<"$hdrs"' "$hdrs"
    check "JSON content type" 'grep -qi "^content-type: application/json; charset=UTF-8" <<<"$hdrs"' "$hdrs"
    # The default http.max_content_length is 100mb: a 101 MB body is refused with 413.
    code=$(head -c 105906176 /dev/zero | curl -s -o "$work/413.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H 'Expect:' -X POST --data-binary @- "http://127.0.0.1:$port/_bulk")
    check "a 101 MB body answers 413" '[ "$code" = 413 ]' "status $code"
    check "the 413 body is Elasticsearch's error shape" 'grep -q "\"status\":413" "$work/413.json"' "$(head -c 300 "$work/413.json")"
    check "the node answers after the 413" '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/")" = 200 ]'
    head=$(curl -s -I "http://127.0.0.1:$port/")
    check "HEAD / answers 200" 'grep -q "^HTTP/1.1 200" <<<"$head"' "$head"
    check "SIGTERM stops the node cleanly" 'stop'
else
    fail "node starts" "$(tail -5 "$work/err.log")"
fi

# 2. ids persist across a restart
if start "$work/conf"; then
    uuid2=$(curl -s "http://127.0.0.1:$port/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster_uuid"])')
    check "cluster_uuid persists across restarts" '[ "$uuid1" = "$uuid2" ]' "$uuid1 vs $uuid2"
    stop
else
    fail "node restarts" "$(tail -5 "$work/err.log")"
fi

# 3. bad settings stop start-up, naming key, value and file
expect_refusal() { # name, yml-or-empty, expected-substring, [args...]
    local name=$1 yml=$2 want=$3; shift 3
    mkdir -p "$work/bad"
    printf '%s\n' "$yml" > "$work/bad/elasticsearch.yml"
    FERRY_PATH_CONF=$work/bad timeout 10 "$FERRY" serve -E path.data="$work/data-bad" "$@" >/dev/null 2>"$work/bad.log"
    local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF -- "$want" "$work/bad.log"; then ok "$name"
    else fail "$name" "rc=$rc: $(head -3 "$work/bad.log")"; fi
}
expect_refusal "unknown setting refused" "foo.bar: 1" "unknown setting [foo.bar]"
expect_refusal "unknown setting names the file" "foo.bar: 1" "$work/bad/elasticsearch.yml"
expect_refusal "bad bool refused" "http.compression: yes" "[yes]"
expect_refusal "bad byte size refused" "http.max_content_length: lots" "[http.max_content_length]"
expect_refusal "bad port refused" "http.port: abc" "abc"
expect_refusal "bad YAML refused" "a: [unclosed" "elasticsearch.yml"
expect_refusal "unknown -E setting refused" "" "unknown setting [nope.nope]" -E nope.nope=1
expect_refusal "missing env var refused" 'node.name: ${FERRY_E2E_UNSET_VAR}' "FERRY_E2E_UNSET_VAR"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
