#!/usr/bin/env python3
"""
crash_bulk.py - acknowledged writes survive SIGKILL.

A real node is started on a free loopback port with a temporary data folder. A client
thread bulk-loads documents in a loop (new ids and overwrites of earlier ones) and records,
for every item the node acknowledged, the id, its acknowledged _version and the exact
source bytes. At a random moment the node is killed with SIGKILL, restarted on the same
data folder, and every acknowledged document is checked: it must exist, with at least its
acknowledged version, and its source must be byte for byte the acknowledged one (or, when
the version moved on, one of the later writes of that id whose answer was lost with the
kill). Ten rounds; at the end the node is stopped with SIGTERM and its logs checked for
sanitizer reports.

Binary: $FERRY_BIN, else build/san/ferry, else build/ferry. Python standard library only.
Prints "N passed, N failed" last; exits 1 on any failure.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROUNDS = 10
BULK_DOCS = 250
MAX_IDS = 30000        # then only overwrites, so verification stays bounded
INDEX = "crash"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + what, flush=True)
    else:
        failed += 1
        print("FAIL  " + what, flush=True)


def binary():
    b = os.environ.get("FERRY_BIN")
    if b:
        return b
    for cand in ("build/san/ferry", "build/ferry"):
        p = os.path.join(ROOT, cand)
        if os.path.exists(p):
            return p
    sys.exit("crash_bulk: no ferry binary (set FERRY_BIN or build first)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    def __init__(self, tmp, data):
        self.tmp = tmp
        self.data = data
        self.conf = os.path.join(tmp, "config")
        os.makedirs(self.conf, exist_ok=True)
        open(os.path.join(self.conf, "elasticsearch.yml"), "w").close()
        self.proc = None
        self.port = None
        self.logs = []

    def start(self):
        self.port = free_port()
        log = os.path.join(self.tmp, "node-%d.log" % len(self.logs))
        self.logs.append(log)
        env = dict(os.environ, FERRY_PATH_CONF=self.conf)
        self.proc = subprocess.Popen(
            [binary(), "serve", "-E", "http.port=%d" % self.port, "-E", "path.data=" + self.data,
             "-E", "xpack.security.enabled=false", "-E", "node.name=crash-bulk"],
            env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/")
                ok = c.getresponse().status == 200
                c.close()
                if ok:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -1

    def sanitizer_reports(self):
        hits = []
        for log in self.logs:
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if "ERROR: AddressSanitizer" in text or "ERROR: LeakSanitizer" in text or "runtime error:" in text:
                hits.append(log)
        return hits


# ---- raw JSON scanning: the exact bytes of each _source in an _mget answer ----

def _skip_ws(s, i):
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _scan(s, i):
    """Parses the value at s[i:]; returns (value, end). Objects become dicts of
    key -> (value, start, end) so raw spans can be cut out."""
    i = _skip_ws(s, i)
    c = s[i]
    if c == "{":
        out = {}
        i = _skip_ws(s, i + 1)
        if s[i] == "}":
            return out, i + 1
        while True:
            key, i = _scan(s, i)
            i = _skip_ws(s, i)
            assert s[i] == ":"
            start = _skip_ws(s, i + 1)
            val, end = _scan(s, start)
            out[key] = (val, start, end)
            i = _skip_ws(s, end)
            if s[i] == ",":
                i += 1
                continue
            assert s[i] == "}"
            return out, i + 1
    if c == "[":
        out = []
        i = _skip_ws(s, i + 1)
        if s[i] == "]":
            return out, i + 1
        while True:
            val, i = _scan(s, i)
            out.append(val)
            i = _skip_ws(s, i)
            if s[i] == ",":
                i += 1
                continue
            assert s[i] == "]"
            return out, i + 1
    if c == '"':
        j = i + 1
        while s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        return json.loads(s[i:j + 1]), j + 1
    j = i
    while j < len(s) and s[j] not in ",]} \t\r\n":
        j += 1
    return json.loads(s[i:j]), j


# ---- the load ----

class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}      # id -> (version, source bytes, attempt index)
        self.attempts = {}   # id -> [source bytes, ...] in the order sent
        self.next_id = 0
        self.bulks_acked = 0


def make_source(doc_id, attempt, rnd):
    # Whitespace and number spellings vary, so a re-serialized source would show.
    pad = "x" * rnd.randint(20, 400)
    body = '{ "id" : "%s",  "attempt":%d, "n" : %s, "tags":["a", "b"] ,"pad":"%s"}' % (
        doc_id, attempt, rnd.choice(["1.50", "2", "-0.5e3", "7"]), pad)
    return body.encode("utf-8")


def loader(port, state, stop, rnd):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        lines = []
        batch = []
        with state.lock:
            known = list(state.acked.keys())
            for _ in range(BULK_DOCS):
                if known and (rnd.random() < 0.3 or state.next_id >= MAX_IDS):
                    doc_id = rnd.choice(known)
                else:
                    doc_id = "d%07d" % state.next_id
                    state.next_id += 1
                if any(b[0] == doc_id for b in batch):
                    continue
                attempt = len(state.attempts.get(doc_id, []))
                src = make_source(doc_id, attempt, rnd)
                state.attempts.setdefault(doc_id, []).append(src)
                batch.append((doc_id, src, attempt))
        for doc_id, src, _ in batch:
            lines.append(b'{"index":{"_index":"%s","_id":"%s"}}\n' % (INDEX.encode(), doc_id.encode()))
            lines.append(src + b"\n")
        body = b"".join(lines)
        try:
            conn.request("POST", "/_bulk", body=body, headers={"Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            return
        if resp.status != 200:
            return
        answer = json.loads(data)
        with state.lock:
            for (doc_id, src, attempt), item in zip(batch, answer["items"]):
                r = item["index"]
                if r.get("status") in (200, 201) and "error" not in r:
                    prev = state.acked.get(doc_id)
                    if prev is None or r["_version"] >= prev[0]:
                        state.acked[doc_id] = (r["_version"], src, attempt)
            state.bulks_acked += 1


def verify(port, state, rnd):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    with state.lock:
        acked = dict(state.acked)
        attempts = {k: list(v) for k, v in state.attempts.items()}
    ids = sorted(acked)
    bad = 0
    moved_on = 0
    for off in range(0, len(ids), 1000):
        chunk = ids[off:off + 1000]
        conn.request("POST", "/%s/_mget" % INDEX, body=json.dumps({"ids": chunk}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read().decode("utf-8")
        if resp.status != 200:
            print("      _mget answered %d: %s" % (resp.status, text[:300]))
            return False
        top, _ = _scan(text, 0)
        docs = top["docs"][0]
        for doc_id, d in zip(chunk, docs):
            version, src, attempt = acked[doc_id]
            found = d.get("found", (False,))[0]
            if not found:
                bad += 1
                if bad <= 5:
                    print("      %s: acknowledged (version %d) but missing" % (doc_id, version))
                continue
            got_version = d["_version"][0]
            _, s0, s1 = d["_source"]
            raw = text[s0:s1].encode("utf-8")
            if got_version < version:
                bad += 1
                if bad <= 5:
                    print("      %s: version %d < acknowledged %d" % (doc_id, got_version, version))
            elif got_version == version and raw != src:
                bad += 1
                if bad <= 5:
                    print("      %s: source differs at the acknowledged version:\n        %r\n        %r" % (doc_id, raw, src))
            elif got_version > version:
                moved_on += 1
            if got_version > version and raw not in attempts[doc_id][attempt + 1:]:
                bad += 1
                if bad <= 5:
                    print("      %s: version %d > %d but the source is no later write of the id" % (doc_id, got_version, version))
    # The _source endpoint hands back the stored bytes too: sample it.
    for doc_id in rnd.sample(ids, min(50, len(ids))):
        conn.request("GET", "/%s/_source/%s" % (INDEX, doc_id))
        resp = conn.getresponse()
        raw = resp.read()
        version, src, attempt = acked[doc_id]
        if resp.status != 200 or (raw != src and raw not in attempts[doc_id][attempt + 1:]):
            bad += 1
            if bad <= 5:
                print("      %s: GET _source answered %d %r" % (doc_id, resp.status, raw[:120]))
    conn.close()
    if moved_on:
        print("      %d documents moved past their acknowledged version (writes whose answer the kill lost)" % moved_on)
    if bad:
        print("      %d of %d acknowledged documents wrong" % (bad, len(ids)))
    return bad == 0


def main():
    seed = int(os.environ.get("CRASH_SEED", str(int(time.time()))))
    rnd = random.Random(seed)
    print("crash_bulk: binary %s, seed %d" % (binary(), seed), flush=True)
    tmp = tempfile.mkdtemp(prefix="ferry-crash-")
    data = os.path.join(tmp, "data")
    node = Node(tmp, data)
    state = State()
    started = time.time()
    try:
        if not node.start():
            check(False, "the node starts")
            return
        for rnd_no in range(1, ROUNDS + 1):
            stop = threading.Event()
            t = threading.Thread(target=loader, args=(node.port, state, stop, random.Random(rnd.random())))
            t.start()
            time.sleep(rnd.uniform(0.2, 1.2))
            node.kill()
            stop.set()
            t.join(30)
            check(not t.is_alive(), "round %d: the client notices the kill" % rnd_no)
            ok = node.start()
            check(ok, "round %d: the node restarts on the same data after SIGKILL" % rnd_no)
            if not ok:
                break
            ok = verify(node.port, state, rnd)
            check(ok, "round %d: all %d acknowledged documents intact (%d bulks acknowledged so far)"
                  % (rnd_no, len(state.acked), state.bulks_acked))
        check(len(state.acked) > 0, "some writes were acknowledged at all")
        code = node.stop()
        check(code == 0, "the node stops cleanly on SIGTERM (exit %s)" % code)
        hits = node.sanitizer_reports()
        check(not hits, "no sanitizer report in the node logs %s" % hits)
        if hits:
            with open(hits[0], "rb") as f:
                print(f.read().decode("utf-8", "replace")[-3000:])
    finally:
        if node.proc and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait()
        if failed and node.logs:
            with open(node.logs[-1], "rb") as f:
                print("      last node log:\n" + f.read().decode("utf-8", "replace")[-2000:])
        shutil.rmtree(tmp, ignore_errors=True)
        print("time: %.1fs" % (time.time() - started))
        print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
