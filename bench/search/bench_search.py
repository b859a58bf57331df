#!/usr/bin/env python3
"""
bench_search.py - ferry's search side, against plain scans of the same data.

  ingest   100 000 generated ~1 KB documents (two analysed text fields, a keyword, a long,
           a date) through POST /{index}/_bulk, 1000 per request, from as many keep-alive
           connections as the machine has cores. Reported: docs/s (wall clock) and docs/s
           per core, i.e. documents per CPU-second the node process used (utime + stime
           from /proc). Peer: the same sources written with the store's own writes and no
           analysis at all (bench_scan --write: one committed transaction per 1000).
  queries  on 1 000 000 generated documents (~300 bytes: a text title, a text body, a
           keyword tag, a long): a match query, a bool query (must + should + range
           filter) and a terms aggregation over every document. Each runs 200 times with
           varying words / ranges over one keep-alive connection; p50 and p99 of the
           round trip. Peer: the same three computed by brute force over the stored
           documents (bench_scan --scan: LMDB cursor over every document, JSON parsed,
           words compared) with the node stopped — what a search costs without the index.
           The brute-force counts also check ferry's totals.
  memory   the node's peak RSS (VmHWM) at the end.

usage: bench_search.py [--ferry BIN] [--scan BIN] [--docs-ingest N] [--docs-query N]
Python standard library only.
"""
import argparse
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# A vocabulary with a Zipf-like use: common words appear in many documents, rare ones in few.
RNG = random.Random(20261129)
SYL = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zu", "pe", "di", "ga", "ho", "ji", "bu", "fa"]
VOCAB = sorted({"".join(RNG.choice(SYL) for _ in range(RNG.randint(2, 4))) for _ in range(12000)})[:8000]
WEIGHTS = [1.0 / (i + 1) ** 0.9 for i in range(len(VOCAB))]
CUM = []
_acc = 0.0
for _w in WEIGHTS:
    _acc += _w
    CUM.append(_acc)
TAGS = ["tag%02d" % i for i in range(50)]
TAG_CUM = []
_acc = 0.0
for _i in range(len(TAGS)):
    _acc += 1.0 / (_i + 1)
    TAG_CUM.append(_acc)


def words(rng, n):
    import bisect
    top = CUM[-1]
    return [VOCAB[bisect.bisect_left(CUM, rng.random() * top)] for _ in range(n)]


def tag(rng):
    import bisect
    return TAGS[bisect.bisect_left(TAG_CUM, rng.random() * TAG_CUM[-1])]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def vmhwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class Conn:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def req(self, method, path, body=None, ndjson=False):
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/x-ndjson" if ndjson else "application/json"
        self.c.request(method, path, body=data, headers=headers)
        r = self.c.getresponse()
        raw = r.read()
        return r.status, raw


def bulk_bodies(index, docs, per):
    out = []
    for i in range(0, len(docs), per):
        lines = []
        for j, (did, src) in enumerate(docs[i:i + per]):
            lines.append(b'{"index":{"_id":"%s"}}' % did.encode())
            lines.append(src)
        out.append(b"\n".join(lines) + b"\n")
    return out


def send_bulks(port, index, bodies, conns):
    errors = []
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def worker():
        c = Conn(port)
        while True:
            with lock:
                if not queue:
                    return
                _, body = queue.pop()
            st, raw = c.req("POST", "/%s/_bulk" % index, body, ndjson=True)
            if st != 200 or b'"errors":true' in raw[:200]:
                errors.append(raw[:300])

    ts = [threading.Thread(target=worker) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ferry", default=os.environ.get("FERRY_BIN", os.path.join(ROOT, "build", "ferry")))
    ap.add_argument("--scan", default=os.path.join(ROOT, "bench", "build", "search", "bench_scan"))
    ap.add_argument("--docs-ingest", type=int, default=100000)
    ap.add_argument("--docs-query", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    cores = os.cpu_count() or 1

    tmp = tempfile.mkdtemp(prefix="ferry-bench-search-")
    conf = os.path.join(tmp, "config")
    os.makedirs(conf)
    open(os.path.join(conf, "elasticsearch.yml"), "w").close()
    data = os.path.join(tmp, "data")
    port = free_port()
    proc = subprocess.Popen([args.ferry, "serve", "-E", "http.port=%d" % port, "-E", "path.data=%s" % data,
                             "-E", "xpack.security.enabled=false", "-E", "node.name=bench-search"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "node.log"), "wb"),
                            env=dict(os.environ, FERRY_PATH_CONF=conf))
    results = {}
    try:
        for _ in range(200):
            try:
                if Conn(port).req("GET", "/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        c = Conn(port)

        # ---------------------------------------------------------------- ingest
        print("generating %d ~1 KB documents..." % args.docs_ingest, flush=True)
        rng = random.Random(1)
        docs = []
        for i in range(args.docs_ingest):
            src = {"title": " ".join(words(rng, 8)), "body": " ".join(words(rng, 140)), "tag": tag(rng),
                   "n": i, "ts": "2024-%02d-%02dT%02d:00:00Z" % (1 + i % 12, 1 + i % 28, i % 24)}
            docs.append((str(i), json.dumps(src, separators=(",", ":")).encode()))
        src_bytes = sum(len(s) for _, s in docs)
        mapping = {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                   "mappings": {"properties": {"title": {"type": "text"}, "body": {"type": "text"},
                                               "tag": {"type": "keyword"}, "n": {"type": "long"},
                                               "ts": {"type": "date"}}}}
        st, raw = c.req("PUT", "/ingest", mapping)
        assert st == 200, raw
        bodies = bulk_bodies("ingest", docs, 1000)
        with open(os.path.join(tmp, "ingest.ndjson"), "wb") as f:
            for _, s in docs:
                f.write(s + b"\n")
        del docs
        cpu0 = cpu_seconds(proc.pid)
        t0 = time.monotonic()
        errs = send_bulks(port, "ingest", bodies, cores)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        del bodies
        if errs:
            print("ingest errors: %s" % errs[:2])
        results["ingest"] = (args.docs_ingest / wall, args.docs_ingest / cpu if cpu else 0, wall, cpu,
                             src_bytes / args.docs_ingest)

        # ---------------------------------------------------------------- 1M documents
        print("generating and indexing %d documents for the queries..." % args.docs_query, flush=True)
        st, raw = c.req("PUT", "/q1m", {"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                                          "mappings": {"properties": {"title": {"type": "text"},
                                                                      "body": {"type": "text"},
                                                                      "tag": {"type": "keyword"},
                                                                      "n": {"type": "long"}}}})
        assert st == 200, raw
        rng = random.Random(2)
        chunk = 100000
        qcpu0 = cpu_seconds(proc.pid)
        qt0 = time.monotonic()
        for start in range(0, args.docs_query, chunk):
            part = []
            for i in range(start, min(args.docs_query, start + chunk)):
                src = {"title": " ".join(words(rng, 6)), "body": " ".join(words(rng, 30)), "tag": tag(rng), "n": i}
                part.append((str(i), json.dumps(src, separators=(",", ":")).encode()))
            errs = send_bulks(port, "q1m", bulk_bodies("q1m", part, 1000), cores)
            if errs:
                print("bulk errors: %s" % errs[:2])
        results["q_ingest"] = (args.docs_query / (time.monotonic() - qt0), cpu_seconds(proc.pid) - qcpu0)
        c.req("POST", "/q1m/_refresh")

        # ---------------------------------------------------------------- queries
        qrng = random.Random(3)
        common = VOCAB[:40]
        mid = VOCAB[200:400]

        def q_match(r):
            return {"query": {"match": {"title": r.choice(mid)}}}

        def q_bool(r):
            lo = r.randrange(0, args.docs_query - args.docs_query // 4)
            return {"query": {"bool": {"must": [{"match": {"body": r.choice(common)}}],
                                       "should": [{"match": {"title": r.choice(mid)}}],
                                       "filter": [{"range": {"n": {"gte": lo, "lt": lo + args.docs_query // 4}}}]}}}

        def q_terms(r):
            return {"size": 0, "aggs": {"tags": {"terms": {"field": "tag", "size": 10}}}}

        lat = {}
        for name, mk in (("match", q_match), ("bool", q_bool), ("terms agg", q_terms)):
            for _ in range(5):
                c.req("POST", "/q1m/_search", mk(qrng))
            xs = []
            for _ in range(args.runs):
                body = mk(qrng)
                t = time.perf_counter()
                st, raw = c.req("POST", "/q1m/_search", body)
                xs.append((time.perf_counter() - t) * 1000)
                assert st == 200, raw[:300]
            lat[name] = (pct(xs, 50), pct(xs, 99))
        # the fixed queries the scan recomputes, with exact totals, to check the numbers
        checks = {"match": {"query": {"match": {"title": mid[0]}}, "track_total_hits": True, "size": 0},
                  "bool": {"query": {"bool": {"must": [{"match": {"body": common[0]}}],
                                              "should": [{"match": {"title": mid[1]}}],
                                              "filter": [{"range": {"n": {"gte": 0, "lt": args.docs_query // 4}}}]}},
                           "track_total_hits": True, "size": 0},
                  "terms agg": {"size": 0, "aggs": {"tags": {"terms": {"field": "tag", "size": 3}}}}}
        answers = {}
        for name, body in checks.items():
            st, raw = c.req("POST", "/q1m/_search", body)
            answers[name] = json.loads(raw)
        results["lat"] = lat

        # reading everything: a scroll sorted on _doc and a PIT paged on _shard_doc, 1000 a page
        def drain_scroll():
            t = time.monotonic()
            st, raw = c.req("POST", "/q1m/_search?scroll=5m&size=1000&sort=_doc", {"query": {"match_all": {}}})
            body = json.loads(raw)
            sid, n = body["_scroll_id"], len(body["hits"]["hits"])
            while body["hits"]["hits"]:
                st, raw = c.req("POST", "/_search/scroll", {"scroll": "5m", "scroll_id": sid})
                body = json.loads(raw)
                n += len(body["hits"]["hits"])
            c.req("DELETE", "/_search/scroll", {"scroll_id": [sid]})
            return n, time.monotonic() - t

        def drain_pit():
            t = time.monotonic()
            st, raw = c.req("POST", "/q1m/_pit?keep_alive=5m")
            pit = json.loads(raw)["id"]
            n, after = 0, None
            while True:
                q = {"size": 1000, "pit": {"id": pit}, "sort": ["_shard_doc"], "track_total_hits": False}
                if after:
                    q["search_after"] = after
                st, raw = c.req("POST", "/_search", q)
                hits = json.loads(raw)["hits"]["hits"]
                if not hits:
                    break
                n += len(hits)
                after = hits[-1]["sort"]
            c.req("DELETE", "/_pit", {"id": pit})
            return n, time.monotonic() - t

        results["drain"] = {"scroll (_doc)": drain_scroll(), "PIT (_shard_doc)": drain_pit()}
        results["rss_mb"] = vmhwm_kb(proc.pid) / 1024.0
        store_mb = 0
        for dp, _, fns in os.walk(data):
            for fn in fns:
                store_mb += os.path.getsize(os.path.join(dp, fn)) / 1e6
        results["store_mb"] = store_mb
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)

    # ---------------------------------------------------------------- peers
    scan = {}
    if os.path.exists(args.scan):
        out = subprocess.run([args.scan, "--scan", data, "q1m", mid[0], common[0], mid[1], str(args.docs_query // 4)],
                             capture_output=True, text=True)
        for line in out.stdout.splitlines():
            k, _, v = line.partition("=")
            scan[k.strip()] = v.strip()
        if out.returncode:
            print(out.stderr)
        wdir = os.path.join(tmp, "raw")
        out = subprocess.run([args.scan, "--write", wdir, os.path.join(tmp, "ingest.ndjson"), "1000"],
                             capture_output=True, text=True)
        for line in out.stdout.splitlines():
            k, _, v = line.partition("=")
            scan[k.strip()] = v.strip()
        if out.returncode:
            print(out.stderr)
    else:
        print("(no %s: build it with make -C bench/search; peers skipped)" % args.scan)
    shutil.rmtree(tmp, ignore_errors=True)

    # ---------------------------------------------------------------- report
    ing = results["ingest"]
    print()
    print("search: ferry against plain scans of the same data (%d cores)" % cores)
    print()
    print("ingest, %d docs of ~%d bytes (text analysis), 1000 per _bulk, %d connections" %
          (args.docs_ingest, ing[4], cores))
    print("  %-40s %12s %16s" % ("", "docs/s", "docs/s per core"))
    print("  %-40s %12.0f %16.0f   (%.1f s wall, %.1f s node CPU)" % ("ferry _bulk", ing[0], ing[1], ing[2], ing[3]))
    if "write_docs_per_s" in scan:
        print("  %-40s %12.0f %16s   (store writes, no analysis, 1 thread)" %
              ("peer: raw store writes of the same bytes", float(scan["write_docs_per_s"]), scan["write_docs_per_s"].split(".")[0]))
    print("  the %d-document query set went in at %.0f docs/s (%.0f s node CPU)" % ((args.docs_query,) + results["q_ingest"]))
    print()
    print("queries on %d documents (2 shards; %d runs each, round trip over one keep-alive connection)" %
          (args.docs_query, args.runs))
    print("  %-12s %10s %10s    %-34s %s" % ("", "p50 ms", "p99 ms", "peer: brute-force scan ms", "totals ferry / scan"))
    keys = {"match": ("scan_match_ms", "match_total"), "bool": ("scan_bool_ms", "bool_total"),
            "terms agg": ("scan_terms_ms", "terms_top")}
    for name in ("match", "bool", "terms agg"):
        p50, p99 = results["lat"][name]
        a = answers[name]
        if name == "terms agg":
            mine = ",".join("%s:%d" % (b["key"], b["doc_count"]) for b in a["aggregations"]["tags"]["buckets"])
        else:
            mine = str(a["hits"]["total"]["value"])
        sk, tk = keys[name]
        print("  %-12s %10.2f %10.2f    %-34s %s / %s" % (name, p50, p99, scan.get(sk, "-"), mine, scan.get(tk, "-")))
    print()
    print("reading all %d documents, 1000 per page (the client parses every page)" % args.docs_query)
    for name, (n, secs) in results["drain"].items():
        print("  %-20s %10.0f docs/s   (%d documents in %.1f s)" % (name, n / secs, n, secs))
    if "scan_raw_ms" in scan:
        print("  %-20s %10.0f docs/s   (peer: the store's LMDB cursor over the same documents, no JSON)" %
              ("raw cursor", float(scan.get("scan_docs", 0)) / (float(scan["scan_raw_ms"]) / 1000.0)))
    print()
    print("node peak RSS (VmHWM): %.0f MB; data folder: %.0f MB" % (results["rss_mb"], results["store_mb"]))


if __name__ == "__main__":
    main()
