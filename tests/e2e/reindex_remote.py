#!/usr/bin/env python3
"""End-to-end: reindex from a remote cluster over HTTPS, as Elastic's "reindex from remote"
guide describes it, on loopback.

A secure Source ferry (HTTPS auto-configured with a self-signed CA, the elastic password from
ELASTIC_PASSWORD, a reindex user added with `ferry users useradd`) holds an index of 10,000
documents. The operator fetches the CA with `openssl s_client -showcerts`, checks it with
`curl --cacert`, bundles it (`ferry bundle create` → my_source_ca.zip holding
my_source_ca/cacert.pem), installs the bundle on the Destination (`ferry bundle install`),
writes exactly reindex.remote.whitelist, reindex.ssl.certificate_authorities and
reindex.ssl.verification_mode into the Destination's elasticsearch.yml, restarts it, and runs
the guide's POST _reindex: 10,000 documents created, identical ids, sources and routings on
both sides. Then three indices are reindexed as parallel tasks polled to completion.

The negative matrix: a host not whitelisted, an empty whitelist, wildcard and IPv6 whitelist
entries, no CA configured (untrusted), verification_mode full with a certificate lacking the
host's IP (fails), certificate (passes), none with an unknown CA (passes), a wrong password
(the Source's 401 passed through as status_exception), the Source killed mid-run (the task ends
with an error and its counters match what was written), and the Source answering 429 a few
times through tests/support/fault_proxy.py (success, retries.search > 0, scroll cleared).

Prints one line per check and ends with "N passed, N failed".
"""

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.environ.get("FERRY_BIN") or (
    os.path.join(REPO, "build/san/ferry") if os.path.exists(os.path.join(REPO, "build/san/ferry"))
    else os.path.join(REPO, "build/ferry"))
FERRY = os.path.abspath(FERRY)
PROXY = os.path.join(REPO, "tests", "support", "fault_proxy.py")
DEADLINE = time.monotonic() + 225

PASSWORD = "Src-Elastic:pa55"
RX_USER, RX_PASS = "reindexer", "rx-Pass:w0rd@1"
DST_PASSWORD = "Dst-Elastic:pa55"

passed = 0
failed = 0


def ok(name):
    global passed
    passed += 1
    print("ok   " + name, flush=True)


def fail(name, detail=""):
    global failed
    failed += 1
    print("FAIL " + name, flush=True)
    if detail:
        for line in str(detail).splitlines()[:12]:
            print("     " + line)


def check(name, cond, detail=""):
    (ok if cond else lambda n: fail(n, detail))(name)
    return cond


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family)
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def call(method, url, body=None, auth=None, ca=None, timeout=60, headers=None, check_hostname=True):
    """-> (status, parsed JSON or text)."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        else:
            data = body.encode() if isinstance(body, str) else body
            hdrs.setdefault("Content-Type", "application/x-ndjson")
    if auth:
        hdrs["Authorization"] = basic(*auth)
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    ctx = None
    if url.startswith("https"):
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = check_hostname
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read()
        status = e.code
    try:
        return status, json.loads(raw.decode() or "null")
    except ValueError:
        return status, raw.decode(errors="replace")


class Node:
    """One ferry process with its own config and data folders."""

    def __init__(self, work, name, scheme="http", host="127.0.0.1", password=None):
        self.name = name
        self.conf = os.path.join(work, name, "config")
        self.data = os.path.join(work, name, "data")
        os.makedirs(self.conf, exist_ok=True)
        self.work = work
        self.scheme = scheme
        self.host = host
        self.port = free_port(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        self.password = password
        self.proc = None
        self.runs = 0
        self.ca = None
        self.check_hostname = True
        self.errs = []

    @property
    def url(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, h, self.port)

    def write_yml(self, text):
        with open(os.path.join(self.conf, "elasticsearch.yml"), "w") as f:
            f.write("http.port: %d\npath.data: %s\n" % (self.port, self.data))
            if self.host != "127.0.0.1":
                f.write("network.host: \"%s\"\n" % self.host)
            f.write(text)

    def start(self, args=()):
        self.runs += 1
        env = dict(os.environ, FERRY_PATH_CONF=self.conf)
        if self.password:
            env["ELASTIC_PASSWORD"] = self.password
        self.err = os.path.join(self.work, "%s.%d.err" % (self.name, self.runs))
        self.out = os.path.join(self.work, "%s.%d.out" % (self.name, self.runs))
        self.errs.append(self.err)
        self.proc = subprocess.Popen([FERRY, "serve"] + list(args), env=env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.out, "w"), stderr=open(self.err, "w"))
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        for _ in range(300):
            if self.proc.poll() is not None:
                return False
            s = socket.socket(fam)
            s.settimeout(0.2)
            try:
                s.connect((self.host, self.port))
                s.close()
                return True
            except OSError:
                s.close()
                time.sleep(0.05)
        return False

    def stop(self):
        if not self.proc:
            return True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = -9
        self.proc = None
        return rc == 0

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def auth(self):
        return ("elastic", self.password) if self.password else None

    def req(self, method, path, body=None, auth="default", timeout=90):
        if auth == "default":
            auth = self.auth()
        return call(method, self.url + path, body, auth=auth, ca=self.ca, timeout=timeout,
                    check_hostname=self.check_hostname)

    def sanitizer_clean(self):
        for e in self.errs:
            if os.path.exists(e):
                t = open(e, errors="replace").read()
                if "ERROR: AddressSanitizer" in t or "ERROR: LeakSanitizer" in t or "runtime error:" in t:
                    return e
        return None


def docs_ndjson(index, n, start=0, routed_every=0):
    lines = []
    for i in range(start, start + n):
        meta = {"_index": index, "_id": "d%05d" % i}
        if routed_every and i % routed_every == 0:
            meta["routing"] = "r%d" % (i % 7)
        doc = {"n": i, "title": "document number %d" % i, "tags": ["t%d" % (i % 5), "all"],
               "price": i * 0.25, "when": "2026-11-%02dT10:00:00Z" % (1 + i % 28),
               "nested": {"a": i % 3, "b": [1, 2, i], "c": {"d": "é ü ñ %d" % i}}, "flag": i % 2 == 0,
               "text": ("lorem ipsum dolor sit amet " * (1 + i % 4)).strip()}
        lines.append(json.dumps({"index": meta}))
        lines.append(json.dumps(doc, ensure_ascii=(i % 2 == 0)))
    return "\n".join(lines) + "\n"


def load(node, index, n, start=0, routed_every=0):
    for off in range(0, n, 5000):
        k = min(5000, n - off)
        st, b = node.req("POST", "/_bulk?refresh=true", docs_ndjson(index, k, start + off, routed_every))
        if st != 200 or b.get("errors"):
            return False
    return True


def all_docs(node, index):
    """{_id: (_source, _routing)} through scroll."""
    out = {}
    st, b = node.req("POST", "/%s/_search?scroll=1m&size=2000" % index, {"sort": ["_doc"]})
    if st != 200:
        return None
    sid = b.get("_scroll_id")
    while True:
        hits = b["hits"]["hits"]
        if not hits:
            break
        for h in hits:
            out[h["_id"]] = (h["_source"], h.get("_routing"))
        st, b = node.req("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": sid})
        if st != 200:
            return None
        sid = b.get("_scroll_id", sid)
    node.req("DELETE", "/_search/scroll", {"scroll_id": [sid]})
    return out


def count(node, index):
    st, b = node.req("GET", "/%s/_count" % index)
    return b.get("count") if st == 200 and isinstance(b, dict) else None


def err_text(b):
    return json.dumps(b) if not isinstance(b, str) else b


def reindex_body(src, index, dest, user=RX_USER, pw=RX_PASS, **extra):
    body = {"source": {"remote": {"host": src.url, "username": user, "password": pw},
                       "index": index, "query": {"match_all": {}}},
            "dest": {"index": dest}}
    body["source"].update(extra)
    return body


def wait_task(node, task, limit=90):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        st, b = node.req("GET", "/_tasks/" + task)
        if st == 200 and b.get("completed"):
            return b
        time.sleep(0.2)
    return None


def run(work):
    os.chdir(work)
    # ------------------------------------------------------------------ the Source
    src = Node(work, "source", "https", password=PASSWORD)
    src.write_yml("")
    r = subprocess.run([FERRY, "users", "useradd", RX_USER, "-p", RX_PASS, "-r", "ferry_reindex"],
                       env=dict(os.environ, FERRY_PATH_CONF=src.conf), capture_output=True, text=True)
    check("ferry users useradd reindexer -r ferry_reindex", r.returncode == 0, r.stderr)
    if not check("secure Source starts (HTTPS auto-configured)", src.start(), open(src.err).read()[-2000:]):
        return
    src.ca = os.path.join(src.conf, "certs", "http_ca.crt")
    if not check("Source holds 10,000 documents", load(src, "logs", 10000, routed_every=50) and
                 count(src, "logs") == 10000):
        return

    # The guide, verbatim: the CA from openssl s_client -showcerts, checked with curl.
    out = subprocess.run("echo quit | openssl s_client -showcerts -connect 127.0.0.1:%d" % src.port, shell=True,
                         capture_output=True, text=True).stdout
    pems, cur = [], None
    for line in out.splitlines():
        if "BEGIN CERTIFICATE" in line:
            cur = [line]
        elif cur is not None:
            cur.append(line)
            if "END CERTIFICATE" in line:
                pems.append("\n".join(cur) + "\n")
                cur = None
    with open("cacert.pem", "w") as f:
        f.write(pems[-1] if pems else "")
    check("openssl s_client -showcerts shows the chain (leaf and CA)", len(pems) == 2, out[-500:])
    c = subprocess.run(["curl", "-s", "--cacert", "cacert.pem", "-u", "elastic:" + PASSWORD, src.url],
                       capture_output=True, text=True)
    check("curl --cacert cacert.pem -u elastic:… https://source", "You Know, for Search" in c.stdout, c.stdout + c.stderr)

    os.makedirs("my_source_ca", exist_ok=True)
    shutil.copy("cacert.pem", "my_source_ca/cacert.pem")
    r = subprocess.run([FERRY, "bundle", "create", "my_source_ca", "-o", "my_source_ca.zip"], capture_output=True, text=True)
    check("ferry bundle create my_source_ca → my_source_ca.zip", r.returncode == 0 and os.path.exists("my_source_ca.zip"),
          r.stderr)
    z = subprocess.run(["unzip", "-l", "my_source_ca.zip"], capture_output=True, text=True).stdout
    check("the bundle holds my_source_ca/cacert.pem", "my_source_ca/cacert.pem" in z, z)

    # ------------------------------------------------------------------ the Destination
    dst = Node(work, "dest", "https", password=DST_PASSWORD)
    dst.write_yml("")
    if not check("secure Destination starts", dst.start(), open(dst.err).read()[-2000:]):
        return
    dst.ca = os.path.join(dst.conf, "certs", "http_ca.crt")
    r = subprocess.run([FERRY, "bundle", "install", "my_source_ca.zip", "--config", dst.conf], capture_output=True,
                       text=True)
    check("ferry bundle install my_source_ca.zip on the Destination",
          r.returncode == 0 and open(os.path.join(dst.conf, "my_source_ca", "cacert.pem")).read() == pems[-1], r.stderr)
    st, b = dst.req("POST", "/_reindex", reindex_body(src, "logs", "logs"))
    check("before the settings: the Source is not whitelisted",
          st == 400 and "[127.0.0.1:%d] not whitelisted in reindex.remote.whitelist" % src.port in err_text(b), err_text(b))
    check("Destination stops", dst.stop())
    with open(os.path.join(dst.conf, "elasticsearch.yml"), "a") as f:
        f.write('reindex.remote.whitelist: [ "127.0.0.1:%d" ]\n' % src.port)
        f.write('reindex.ssl.certificate_authorities: [ "my_source_ca/cacert.pem" ]\n')
        f.write('reindex.ssl.verification_mode: full\n')
    if not check("Destination restarts with the three reindex settings", dst.start(), open(dst.err).read()[-2000:]):
        return

    t0 = time.monotonic()
    st, b = dst.req("POST", "/_reindex", reindex_body(src, "logs", "logs"), timeout=180)
    took = time.monotonic() - t0
    check("POST _reindex (the guide's body): 200, created 10000, no failures",
          st == 200 and b.get("created") == 10000 and b.get("failures") == [] and b.get("total") == 10000,
          err_text(b)[:1500])
    check("batches 10, updated 0, retries 0", st == 200 and b.get("batches") == 10 and b.get("updated") == 0 and
          b.get("retries") == {"bulk": 0, "search": 0}, err_text(b)[:500])
    print("     (10,000 documents in %.1fs)" % took)
    a, d = all_docs(src, "logs"), all_docs(dst, "logs")
    check("identical documents on both sides (ids, sources, routings)", a is not None and a == d,
          "source %s docs, dest %s docs" % (len(a or {}), len(d or {})))
    routed = sum(1 for v in (d or {}).values() if v[1])
    check("routing kept from the hits (200 routed documents)", routed == 200, "routed: %d" % routed)
    st, b = src.req("GET", "/_nodes/stats/indices/search")
    log_out = open(dst.err).read() + open(dst.out).read()
    check("the password never appears in the Destination's log", RX_PASS not in log_out)

    # ------------------------------------------------------------------ parallel tasks
    ok_load = all(load(src, "idx%d" % k, 1500, start=k * 100000) for k in (1, 2, 3))
    check("three more Source indices", ok_load)
    tasks = {}
    for k in (1, 2, 3):
        st, b = dst.req("POST", "/_reindex?wait_for_completion=false", reindex_body(src, "idx%d" % k, "idx%d" % k, size=300))
        if st == 200 and "task" in b:
            tasks[k] = b["task"]
    check("three reindex tasks started (wait_for_completion=false)", len(tasks) == 3, tasks)
    st, b = dst.req("GET", "/_tasks?actions=*reindex&detailed")
    listed = json.dumps(b)
    check("GET _tasks?actions=*reindex&detailed shows them with the password masked",
          st == 200 and RX_PASS not in listed and ("password=<<>>" in listed or all(
              dst.req("GET", "/_tasks/" + t)[1].get("completed") for t in tasks.values())), listed[:800])
    results = {k: wait_task(dst, t) for k, t in tasks.items()}
    check("the three tasks complete, each created 1500",
          all(r and r.get("response", {}).get("created") == 1500 for r in results.values()),
          json.dumps(results)[:1500])
    check("stored task descriptions mask the password",
          all(r and "password=<<>>" in r["task"]["description"] and RX_PASS not in json.dumps(r) for r in results.values()))
    check("their copies are identical",
          all(all_docs(src, "idx%d" % k) == all_docs(dst, "idx%d" % k) for k in (1, 2, 3)))

    # ------------------------------------------------------------------ authorization
    with open(os.path.join(dst.conf, "roles.yml"), "a") as f:
        f.write("limited:\n  cluster: [ monitor ]\n  indices:\n    - names: [ \"logs*\" ]\n      privileges: [ read ]\n"
                "    - names: [ \"copy*\" ]\n      privileges: [ write, create_index ]\n")
    r = subprocess.run([FERRY, "users", "useradd", "limited", "-p", "limited-pw", "-r", "limited"],
                       env=dict(os.environ, FERRY_PATH_CONF=dst.conf), capture_output=True, text=True)
    dst.req("PUT", "/secret/_doc/1?refresh=true", {"s": 1})
    lim = ("limited", "limited-pw")
    ok_auth = False
    for _ in range(60):  # the realm files are re-read in the background
        st, b = dst.req("POST", "/_reindex", {"source": {"index": "logs"}, "dest": {"index": "copy1"}}, auth=lim)
        if st != 401:
            ok_auth = True
            break
        time.sleep(0.2)
    check("a user allowed to read logs* and write copy*: local reindex logs → copy1",
          ok_auth and st == 200 and b.get("created") == 10000, err_text(b)[:400])
    st, b = dst.req("POST", "/_reindex", {"source": {"index": "logs"}, "dest": {"index": "other"}}, auth=lim)
    check("…writing where it may not: 403 before anything is copied",
          st == 403 and b["error"]["type"] == "security_exception" and count(dst, "other") is None, err_text(b)[:400])
    st, b = dst.req("POST", "/_reindex", {"source": {"index": "secret"}, "dest": {"index": "copy2"}}, auth=lim)
    check("…reading what it may not: 403", st == 403 and b["error"]["type"] == "security_exception", err_text(b)[:400])
    st, b = dst.req("POST", "/secret/_delete_by_query", {"query": {"match_all": {}}}, auth=lim)
    check("…delete by query where it may not delete: 403", st == 403 and count(dst, "secret") == 1, err_text(b)[:400])

    # ------------------------------------------------------------------ negative matrix
    other = free_port()
    body = reindex_body(src, "logs", "x")
    body["source"]["remote"]["host"] = "https://127.0.0.1:%d" % other
    st, b = dst.req("POST", "/_reindex", body)
    check("host not whitelisted: 400 [127.0.0.1:%d] not whitelisted in reindex.remote.whitelist" % other,
          st == 400 and b["error"]["type"] == "illegal_argument_exception" and
          b["error"]["reason"] == "[127.0.0.1:%d] not whitelisted in reindex.remote.whitelist" % other, err_text(b))
    st, b = dst.req("POST", "/_reindex", reindex_body(src, "logs", "x", pw="wrong-password"))
    check("wrong password: the Source's 401 passed through (status_exception)",
          st == 401 and b["error"]["type"] == "status_exception" and "security_exception" in b["error"]["reason"] and
          "wrong-password" not in err_text(b), err_text(b)[:600])
    st, b = dst.req("POST", "/_reindex", reindex_body(src, "no-such-index", "x"))
    check("a missing remote index: the Source's 404 passed through",
          st == 404 and b["error"]["type"] == "status_exception" and "index_not_found_exception" in b["error"]["reason"],
          err_text(b)[:600])
    check("Destination stops cleanly", dst.stop())

    # A matrix Destination, restarted per configuration (plain HTTP towards the test).
    mx = Node(work, "matrix")
    # a Source whose certificate names only foo.invalid (no IP): verification_mode matters
    nosan = Node(work, "nosan", "https", password=PASSWORD)
    subprocess.run([FERRY, "cert", "ca", "--out", os.path.join(nosan.conf, "ca")], capture_output=True)
    subprocess.run([FERRY, "cert", "http", "--ca", os.path.join(nosan.conf, "ca", "ca.crt"), "--ca-key",
                    os.path.join(nosan.conf, "ca", "ca.key"), "--dns", "foo.invalid", "--out",
                    os.path.join(nosan.conf, "http")], capture_output=True)
    nosan.write_yml("xpack.security.enabled: true\nxpack.security.http.ssl.enabled: true\n"
                    "xpack.security.http.ssl.certificate: http/http.crt\nxpack.security.http.ssl.key: http/http.key\n")
    subprocess.run([FERRY, "users", "useradd", RX_USER, "-p", RX_PASS, "-r", "ferry_reindex"],
                   env=dict(os.environ, FERRY_PATH_CONF=nosan.conf), capture_output=True)
    if not check("a Source with a certificate lacking 127.0.0.1 starts", nosan.start(), open(nosan.err).read()[-1500:]):
        return
    nosan.ca = os.path.join(nosan.conf, "ca", "ca.crt")
    nosan.check_hostname = False  # this script's own client; the point is what the Destination does
    load(nosan, "small", 50)
    os.makedirs(os.path.join(mx.conf, "nosan_ca"), exist_ok=True)
    shutil.copy(nosan.ca, os.path.join(mx.conf, "nosan_ca", "ca.crt"))
    # an IPv6 plain-HTTP Source
    six = Node(work, "six", "http", host="::1")
    six.write_yml("xpack.security.enabled: false\n")
    six_ok = six.start()
    check("an IPv6 Source on [::1] starts", six_ok, open(six.err).read()[-800:])
    if six_ok:
        load(six, "v6", 30)

    def matrix(yml, args=()):
        mx.stop()
        mx.write_yml("xpack.security.enabled: false\n" + yml)
        return mx.start(args)

    # empty whitelist
    if check("matrix node: no whitelist", matrix("")):
        st, b = mx.req("POST", "/_reindex", reindex_body(src, "logs", "x"))
        check("empty whitelist: every remote denied",
              st == 400 and "not whitelisted in reindex.remote.whitelist" in b["error"]["reason"], err_text(b))
    # wildcards, IPv6, and the untrusted CA (no certificate_authorities: the system store)
    if check("matrix node: whitelist [\"127.0.0.*:*\", \"[::1]:*\"], no CA", matrix(
            'reindex.remote.whitelist: [ "127.0.0.*:*", "[::1]:*" ]\n')):
        st, b = mx.req("POST", "/_reindex", reindex_body(src, "logs", "x"))
        check("CA missing: untrusted (s_s_l_handshake_exception, says which trust was used)",
              st == 500 and b["error"]["type"] == "s_s_l_handshake_exception" and
              "not signed by a trusted CA" in b["error"]["reason"] and "system trust store" in b["error"]["reason"],
              err_text(b)[:600])
        if six_ok:
            body = {"source": {"remote": {"host": six.url}, "index": "v6"}, "dest": {"index": "v6"}}
            st, b = mx.req("POST", "/_reindex", body)
            check("IPv6 Source through the [::1]:* entry: created 30", st == 200 and b.get("created") == 30, err_text(b))
        body = {"source": {"remote": {"host": "http://localhost:%d" % src.port}, "index": "logs"}, "dest": {"index": "x"}}
        st, b = mx.req("POST", "/_reindex", body)
        check("localhost:%d does not match 127.0.0.*:* (host names are not resolved)" % src.port,
              st == 400 and "[localhost:%d] not whitelisted" % src.port in b["error"]["reason"], err_text(b))
    # verification_mode full with the nosan Source's CA: hostname mismatch
    tls_yml = 'reindex.remote.whitelist: [ "127.0.0.1:*" ]\nreindex.ssl.certificate_authorities: [ nosan_ca/ca.crt ]\n'
    if check("matrix node: full verification with the right CA", matrix(tls_yml + "reindex.ssl.verification_mode: full\n")):
        st, b = mx.req("POST", "/_reindex", reindex_body(nosan, "small", "small"))
        check("full: a certificate without the host's IP fails and names the certificate's names",
              st == 500 and b["error"]["type"] == "s_s_l_peer_unverified_exception" and
              "foo.invalid" in b["error"]["reason"] and "<127.0.0.1>" in b["error"]["reason"], err_text(b)[:600])
    # certificate verification; the CA file starts wrong and is replaced on disk (no restart)
    shutil.copy(src.ca, os.path.join(mx.conf, "nosan_ca", "ca.crt"))
    if check("matrix node: certificate verification", matrix(tls_yml + "reindex.ssl.verification_mode: certificate\n")):
        st, b = mx.req("POST", "/_reindex", reindex_body(nosan, "small", "small"))
        check("certificate: a CA that did not sign the chain fails", st == 500 and "not signed by a trusted CA" in err_text(b),
              err_text(b)[:400])
        time.sleep(0.01)
        shutil.copy(nosan.ca, os.path.join(mx.conf, "nosan_ca", "ca.crt"))
        st, b = mx.req("POST", "/_reindex", reindex_body(nosan, "small", "small"))
        check("the CA file replaced on disk is re-read: chain checked, hostname not: created 50",
              st == 200 and b.get("created") == 50, err_text(b)[:600])
        st, b = mx.req("POST", "/_reindex", reindex_body(src, "logs", "x"))
        check("certificate: an unknown CA still fails", st == 500 and "not signed by a trusted CA" in err_text(b),
              err_text(b)[:400])
    if check("matrix node: verification none, no CA", matrix(
            'reindex.remote.whitelist: [ "127.0.0.1:*" ]\nreindex.ssl.verification_mode: none\n')):
        st, b = mx.req("POST", "/_reindex", reindex_body(nosan, "small", "small2"))
        check("none: an unknown CA passes: created 50", st == 200 and b.get("created") == 50, err_text(b)[:600])

    # client certificates: a Source that requires one (mTLS); the key encrypted with a passphrase
    mtls = Node(work, "mtls", "https", password=PASSWORD)
    cadir, cldir = os.path.join(mtls.conf, "ca"), os.path.join(work, "clientca")
    subprocess.run([FERRY, "cert", "ca", "--out", cadir], capture_output=True)
    subprocess.run([FERRY, "cert", "http", "--ca", cadir + "/ca.crt", "--ca-key", cadir + "/ca.key", "--ip", "127.0.0.1",
                    "--out", os.path.join(mtls.conf, "http")], capture_output=True)
    subprocess.run([FERRY, "cert", "ca", "--out", cldir], capture_output=True)
    os.makedirs(os.path.join(mtls.conf, "clientca"), exist_ok=True)
    shutil.copy(cldir + "/ca.crt", os.path.join(mtls.conf, "clientca", "ca.crt"))
    with open(os.path.join(work, "pass.txt"), "w") as f:
        f.write("client-key-pass\n")
    subprocess.run([FERRY, "cert", "http", "--ca", cldir + "/ca.crt", "--ca-key", cldir + "/ca.key", "--dns", "reindexer",
                    "--pass-file", os.path.join(work, "pass.txt"), "--out", os.path.join(mx.conf, "client")],
                   capture_output=True)
    shutil.copy(cadir + "/ca.crt", os.path.join(mx.conf, "mtls_ca.crt"))
    mtls.write_yml("xpack.security.enabled: true\nxpack.security.http.ssl.enabled: true\n"
                   "xpack.security.http.ssl.certificate: http/http.crt\nxpack.security.http.ssl.key: http/http.key\n"
                   "xpack.security.http.ssl.client_authentication: required\n"
                   "xpack.security.http.ssl.certificate_authorities: [ clientca/ca.crt ]\n")
    subprocess.run([FERRY, "users", "useradd", RX_USER, "-p", RX_PASS, "-r", "ferry_reindex"],
                   env=dict(os.environ, FERRY_PATH_CONF=mtls.conf), capture_output=True)
    if check("a Source requiring client certificates starts", mtls.start(), open(mtls.err).read()[-1500:]):
        mtls_yml = ('reindex.remote.whitelist: [ "127.0.0.1:*" ]\nreindex.ssl.certificate_authorities: [ mtls_ca.crt ]\n')
        if check("matrix node: the Source's CA, no client certificate", matrix(mtls_yml)):
            st, b = mx.req("POST", "/_reindex", reindex_body(mtls, "nothing", "m0"))
            check("without a client certificate the handshake is refused, and the error says so",
                  st == 500 and b["error"]["type"] == "s_s_l_handshake_exception" and
                  "reindex.ssl.certificate" in b["error"]["reason"], err_text(b)[:500])
        if check("matrix node: reindex.ssl.certificate, .key, .key_passphrase", matrix(
                mtls_yml + "reindex.ssl.certificate: client/http.crt\nreindex.ssl.key: client/http.key\n"
                "reindex.ssl.key_passphrase: client-key-pass\n")):
            st, b = mx.req("POST", "/_reindex", reindex_body(mtls, "nothing", "m1"))
            check("with the client certificate: the Source answers (its 404 for a missing index)",
                  st == 404 and b["error"]["type"] == "status_exception", err_text(b)[:500])
        mtls.stop()

    # 429s through the fault proxy, then the Source killed mid-run
    plain = Node(work, "plain")
    plain.write_yml("xpack.security.enabled: false\n")
    if not check("a plain-HTTP Source starts", plain.start()):
        return
    load(plain, "big", 20000)
    plog = os.path.join(work, "proxy.log")
    proxy = subprocess.Popen([sys.executable, PROXY, "--upstream", plain.url, "--log", plog,
                              "--rule", "429:2:/_search/scroll", "--rule", "429:1:GET /"],
                             stdout=subprocess.PIPE, text=True)
    pport = int(proxy.stdout.readline().split()[1])
    try:
        if check("matrix node: fast retries (initial_backoff 50ms, max_count 3)", matrix(
                'reindex.remote.whitelist: [ "127.0.0.1:*" ]\n',
                ["-E", "reindex.remote.retry.initial_backoff=50ms", "-E", "reindex.remote.retry.max_count=3"])):
            body = {"source": {"remote": {"host": "http://127.0.0.1:%d" % pport}, "index": "big", "size": 5000},
                    "dest": {"index": "big429"}}
            st, b = mx.req("POST", "/_reindex", body)
            check("Source answering 429 three times: success with retries.search 3",
                  st == 200 and b.get("created") == 20000 and b.get("retries", {}).get("search") == 3, err_text(b)[:600])
            lines = open(plog).read().splitlines()
            check("the 429s were answered, the scroll cleared at the end",
                  sum(1 for l in lines if l.split()[2] == "429") == 3 and
                  any(l.startswith("DELETE /_search/scroll") for l in lines), "\n".join(lines[-6:]))
            check("no Authorization header sent without credentials", all(l.endswith("auth=no") for l in lines))

            # killed mid-run: throttled so that it is still running when the Source dies
            body = {"source": {"remote": {"host": plain.url}, "index": "big", "size": 200},
                    "dest": {"index": "killed"}}
            st, b = mx.req("POST", "/_reindex?wait_for_completion=false&requests_per_second=2000", body)
            task = b.get("task") if st == 200 else None
            time.sleep(1.5)
            plain.kill()
            res = wait_task(mx, task, 60) if task else None
            created = (res or {}).get("task", {}).get("status", {}).get("created")
            n = count(mx, "killed")
            check("Source killed mid-run: the task ends with an error (connection refused)",
                  res is not None and "error" in res and res["error"]["type"] in ("connect_exception",
                                                                                  "connection_closed_exception"),
                  json.dumps(res)[:800])
            check("…and reports only what happened: status.created %s == documents in the index %s < 20000" % (created, n),
                  created is not None and created == n and 0 < n < 20000 and res["task"]["status"]["retries"]["search"] == 3)
    finally:
        proxy.terminate()
        proxy.wait()

    for node in (mx, nosan, six, src):
        if node.proc:
            check("%s stops cleanly (SIGTERM)" % node.name, node.stop())
    for node in (src, dst, mx, nosan, six, plain, mtls):
        bad = node.sanitizer_clean()
        check("%s: no sanitizer report" % node.name, bad is None, bad and open(bad).read()[-1500:])


def main():
    work = tempfile.mkdtemp(prefix="ferry-e2e-reindex-")
    nodes_before = set()
    try:
        run(work)
    except Exception as e:  # a crash of the script is a failure, with its trace
        import traceback
        fail("script error: %s" % e, traceback.format_exc())
    finally:
        # every process this script started is a child: stop stragglers by pid
        for p in subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass
        if os.environ.get("FERRY_E2E_KEEP"):
            print("     (kept %s)" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
