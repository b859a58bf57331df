#!/usr/bin/env python3
"""
bench_reindex.py - reindex from remote, ferry to ferry over HTTPS, against the Destination's own
_bulk ingest of the same documents, measured side by side in the same run.

  Source       a ferry node serving HTTPS (security auto-configured: self-signed CA, Basic auth)
               holding N generated ~1 KB documents (default 100 000).
  Destination  a ferry node trusting the Source's CA through reindex.ssl.certificate_authorities
               and whitelisting it, security off towards this script.
  peer         POST /{index}/_bulk on the Destination with the same documents, 1000 per request:
               one keep-alive stream, and as many streams as the machine has cores.
  measured     POST _reindex from the Source, single stream (slices=1) and sliced (ferry
               extension: slices=2 and 4 read sliced scrolls), batch size 1000; each into a fresh
               index, each run R times (median reported), wall clock of the request.
  reported     docs/s, MB/s of source bytes, and the ratio to the one-stream _bulk ingest
               (target: >= 0.7 for the single stream).

usage: bench_reindex.py [--ferry BIN] [--docs N] [--runs R]
Python standard library only; processes on 127.0.0.1 only.
"""
import argparse
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PASSWORD = "bench-Pa55"

RNG = random.Random(20261129)
SYL = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zu", "pe", "di", "ga", "ho", "ji", "bu", "fa"]
VOCAB = sorted({"".join(RNG.choice(SYL) for _ in range(RNG.randint(2, 4))) for _ in range(6000)})[:4000]


def gen_docs(n):
    """n documents of about 1 KB, as NDJSON source lines (bytes), deterministic."""
    rng = random.Random(7)
    out = []
    for i in range(n):
        title = " ".join(rng.choice(VOCAB) for _ in range(8))
        body = " ".join(rng.choice(VOCAB) for _ in range(120))
        doc = {"title": title, "body": body, "tag": "tag%02d" % rng.randrange(50), "n": i,
               "price": round(rng.random() * 1000, 2), "when": "2026-%02d-%02dT%02d:00:00Z" % (
                   1 + i % 12, 1 + i % 28, i % 24), "flags": [rng.random() < 0.5, rng.random() < 0.2]}
        out.append(json.dumps(doc, separators=(",", ":")).encode())
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Node:
    def __init__(self, ferry, work, name, env=None, scheme="http"):
        self.ferry = ferry
        self.conf = os.path.join(work, name, "config")
        self.data = os.path.join(work, name, "data")
        os.makedirs(self.conf)
        self.port = free_port()
        self.env = env or {}
        self.scheme = scheme
        self.proc = None
        self.log = os.path.join(work, name + ".log")

    def yml(self, text):
        with open(os.path.join(self.conf, "elasticsearch.yml"), "w") as f:
            f.write("http.port: %d\npath.data: %s\n%s" % (self.port, self.data, text))

    def start(self):
        env = dict(os.environ, FERRY_PATH_CONF=self.conf, **self.env)
        self.proc = subprocess.Popen([self.ferry, "serve"], env=env, stdout=open(self.log, "a"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        for _ in range(400):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("node %s did not start: see %s" % (self.conf, self.log))
                time.sleep(0.05)
        sys.exit("node did not listen")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
            self.proc = None

    def conn(self, ca=None):
        if self.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca)
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=600)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)


def call(conn, method, path, body=None, ctype="application/json", auth=None):
    headers = {}
    if body is not None:
        headers["Content-Type"] = ctype
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else None)


def bulk_bodies(index, docs, per):
    bodies = []
    for off in range(0, len(docs), per):
        parts = []
        for i in range(off, min(off + per, len(docs))):
            parts.append(b'{"index":{"_index":"%s","_id":"%d"}}\n' % (index.encode(), i))
            parts.append(docs[i] + b"\n")
        bodies.append(b"".join(parts))
    return bodies


def bulk_ingest(node, index, bodies, streams, ca=None, auth=None):
    """Sends the bodies over `streams` keep-alive connections; returns seconds."""
    chunks = [bodies[i::streams] for i in range(streams)]
    errors = []

    def work(part):
        c = node.conn(ca)
        for b in part:
            st, r = call(c, "POST", "/_bulk", b, "application/x-ndjson", auth)
            if st != 200 or r.get("errors"):
                errors.append(st)
        c.close()

    t0 = time.monotonic()
    th = [threading.Thread(target=work, args=(p,)) for p in chunks]
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.monotonic() - t0
    if errors:
        sys.exit("bulk errors: %s" % errors[:5])
    return dt


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", default=os.environ.get("FERRY_BIN", os.path.join(ROOT, "build", "ferry")))
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    ferry = os.path.abspath(a.ferry)
    work = tempfile.mkdtemp(prefix="ferry-bench-reindex-")
    src = dst = None
    try:
        print("generating %d documents..." % a.docs, flush=True)
        docs = gen_docs(a.docs)
        total_bytes = sum(len(d) for d in docs)
        print("  %.1f MB of sources (%.0f bytes per document)" % (total_bytes / 1e6, total_bytes / len(docs)))

        src = Node(ferry, work, "source", {"ELASTIC_PASSWORD": PASSWORD}, scheme="https")
        src.yml("")
        src.start()
        ca = os.path.join(src.conf, "certs", "http_ca.crt")
        auth = "elastic:" + PASSWORD
        t = bulk_ingest(src, "docs", bulk_bodies("docs", docs, 1000), os.cpu_count() or 2, ca, auth)
        print("source loaded over HTTPS in %.1fs" % t, flush=True)

        dst = Node(ferry, work, "dest")
        os.makedirs(os.path.join(dst.conf, "source_ca"))
        shutil.copy(ca, os.path.join(dst.conf, "source_ca", "ca.crt"))
        dst.yml("xpack.security.enabled: false\nreindex.remote.whitelist: [ \"127.0.0.1:%d\" ]\n"
                "reindex.ssl.certificate_authorities: [ source_ca/ca.crt ]\nreindex.ssl.verification_mode: full\n"
                % src.port)
        dst.start()
        c = dst.conn()

        def fresh(name):
            call(c, "DELETE", "/" + name)
            st, _ = call(c, "PUT", "/" + name, json.dumps({"settings": {"number_of_shards": 1, "number_of_replicas": 0}}))
            if st != 200:
                sys.exit("cannot create %s" % name)

        results = {}
        cores = os.cpu_count() or 2
        for label, streams in (("_bulk, 1 stream", 1), ("_bulk, %d streams" % cores, cores)):
            times = []
            for r in range(a.runs):
                fresh("peer")
                times.append(bulk_ingest(dst, "peer", bulk_bodies("peer", docs, 1000), streams))
            results[label] = median(times)
            print("  %-30s %.2fs" % (label, results[label]), flush=True)
        for slices in (1, 2, 4):
            label = "reindex from remote, slices=%d" % slices
            times = []
            for r in range(a.runs):
                fresh("copy")
                body = json.dumps({"source": {"remote": {"host": "https://127.0.0.1:%d" % src.port, "username": "elastic",
                                                         "password": PASSWORD}, "index": "docs", "size": 1000},
                                   "dest": {"index": "copy"}})
                t0 = time.monotonic()
                st, resp = call(c, "POST", "/_reindex?slices=%d" % slices, body)
                dt = time.monotonic() - t0
                if st != 200 or resp.get("created") != a.docs:
                    sys.exit("reindex failed: %s %s" % (st, json.dumps(resp)[:500]))
                times.append(dt)
            results[label] = median(times)
            print("  %-30s %.2fs" % (label, results[label]), flush=True)

        base = results["_bulk, 1 stream"]
        print()
        print("%d documents, %.1f MB; median of %d runs; %d cores" % (a.docs, total_bytes / 1e6, a.runs, cores))
        print("%-32s %12s %10s %8s" % ("", "docs/s", "MB/s", "ratio"))
        for label, dt in results.items():
            print("%-32s %12.0f %10.1f %8.2f" % (label, a.docs / dt, total_bytes / 1e6 / dt, base / dt))
        print("(ratio: relative to the Destination's own one-stream _bulk ingest of the same documents)")
    finally:
        for n in (dst, src):
            if n:
                n.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
