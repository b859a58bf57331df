#!/usr/bin/env python3
"""
scroll_consistency.py - scrolls, sliced scrolls and points in time see a snapshot.

A real node is started on a free loopback port with a temporary data folder, and 10 000
documents are indexed (ids 0..9999, spread over 3 shards). Then, while a writer thread keeps
changing the index - it adds new documents (ids n0, n1, ...), updates original documents
(same id, new source, which moves them to a new docnum) and deletes documents it created
after the readers started - the data is read three ways:

  1. one scroll, size 1000, sorted on _doc (Elasticsearch's reindex and Python's scan);
  2. four slices (one scroll each, size 1000, no sort: elasticdump's query), read one after
     the other;
  3. a point in time paged with search_after on _shard_doc (size 1000), as elasticdump's
     --searchAfter --pit and Elasticsearch's newest reindex do;
  4. the same point in time sorted on a field, with the implicit _shard_doc tiebreaker.

Each way must return every original id exactly once, with the source it had when the read
began (the version the snapshot holds), and report the exact total on every page. The
single scroll and the PIT must not return any document created after they opened. Slices
open one after the other (each is its own snapshot, as in Elasticsearch), so a document
created in between may appear in a later slice, but never twice. Open contexts are cleared
at the end; the node is stopped with SIGTERM and its stderr checked for sanitizer reports.

Binary: $FERRY_BIN, else build/san/ferry, else build/ferry. Python standard library only.
Prints "N passed, N failed" last; exits 1 on any failure.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

N = 10000
PAGE = 1000
INDEX = "snap"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

passed = 0
failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok    " + what, flush=True)
    else:
        failed += 1
        print("FAIL  " + what + (("\n      " + detail) if detail else ""), flush=True)


def binary():
    b = os.environ.get("FERRY_BIN")
    if b:
        return b
    for cand in ("build/san/ferry", "build/ferry"):
        p = os.path.join(ROOT, cand)
        if os.path.exists(p):
            return p
    sys.exit("scroll_consistency: no ferry binary (set FERRY_BIN or build first)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def req(self, method, path, body=None, ndjson=False):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                data = None
                headers = {}
                if body is not None:
                    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                    if isinstance(data, str):
                        data = data.encode()
                    headers["Content-Type"] = "application/x-ndjson" if ndjson else "application/json"
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def close(self):
        if self.conn:
            self.conn.close()


def source_of(i, gen):
    return {"n": i, "gen": gen, "pad": "x" * 40}


def main():
    tmp = tempfile.mkdtemp(prefix="ferry-scroll-")
    conf = os.path.join(tmp, "config")
    os.makedirs(conf)
    open(os.path.join(conf, "elasticsearch.yml"), "w").close()
    port = free_port()
    err_path = os.path.join(tmp, "stderr")
    errf = open(err_path, "wb")
    env = dict(os.environ, FERRY_PATH_CONF=conf)
    proc = subprocess.Popen([binary(), "serve", "-E", "http.port=%d" % port, "-E", "path.data=%s" % os.path.join(tmp, "data"),
                             "-E", "xpack.security.enabled=false", "-E", "node.name=scroll-e2e"],
                            stdout=subprocess.DEVNULL, stderr=errf, env=env)
    stop = threading.Event()
    writer = None
    try:
        c = Client(port)
        deadline = time.time() + 20
        while True:
            try:
                st, _ = c.req("GET", "/")
                if st == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                check(False, "node starts")
                return
            time.sleep(0.1)
        check(True, "node starts")

        st, body = c.req("PUT", "/" + INDEX, {"settings": {"number_of_shards": 3, "number_of_replicas": 0},
                                               "mappings": {"properties": {"n": {"type": "long"}, "gen": {"type": "long"}}}})
        check(st == 200, "index created", str(body))
        for start in range(0, N, 2000):
            lines = []
            for i in range(start, min(N, start + 2000)):
                lines.append(json.dumps({"index": {"_id": str(i)}}))
                lines.append(json.dumps(source_of(i, 0)))
            st, body = c.req("POST", "/%s/_bulk" % INDEX, "\n".join(lines) + "\n", ndjson=True)
            if st != 200 or body.get("errors"):
                check(False, "bulk load", str(body)[:500])
                return
        c.req("POST", "/%s/_refresh" % INDEX)
        st, body = c.req("GET", "/%s/_count" % INDEX)
        check(st == 200 and body["count"] == N, "10000 documents indexed", str(body))

        # the writer: new docs, updates of originals, deletes of its own new docs. It can be
        # paused (between two bulks) so that a snapshot is taken at a known state, and it
        # records what the node acknowledged: each id's last generation, the new ids alive.
        writes = {"new": 0, "updated": 0, "deleted": 0, "errors": 0}
        state = {"gen": {}, "alive_new": set()}
        running = threading.Event()
        idle = threading.Event()

        def write_loop():
            w = Client(port)
            k = 0
            gen = 1
            try:
                while not stop.is_set():
                    if not running.is_set():
                        idle.set()
                        running.wait(0.05)
                        continue
                    idle.clear()
                    lines, ops = [], []
                    for j in range(50):
                        lines.append(json.dumps({"index": {"_id": "n%d" % k}}))
                        lines.append(json.dumps({"n": -1, "gen": gen, "pad": "new"}))
                        ops.append(("n%d" % k, gen))
                        k += 1
                    for j in range(50):
                        i = (k * 37 + j * 101) % N
                        lines.append(json.dumps({"index": {"_id": str(i)}}))
                        lines.append(json.dumps(source_of(i, gen)))
                        ops.append((str(i), gen))
                    for j in range(20):
                        if k - 100 - j >= 0:
                            lines.append(json.dumps({"delete": {"_id": "n%d" % (k - 100 - j)}}))
                            ops.append(("n%d" % (k - 100 - j), None))
                    st, body = w.req("POST", "/%s/_bulk" % INDEX, "\n".join(lines) + "\n", ndjson=True)
                    if st != 200:
                        writes["errors"] += 1
                    else:
                        for (doc_id, g), it in zip(ops, body["items"]):
                            op, r = next(iter(it.items()))
                            if r.get("status", 500) >= 300 and not (op == "delete" and r.get("status") == 404):
                                writes["errors"] += 1
                            elif op == "delete":
                                if r.get("status") != 404:
                                    writes["deleted"] += 1
                                state["alive_new"].discard(doc_id)
                            else:
                                writes["new" if r.get("result") == "created" else "updated"] += 1
                                state["gen"][doc_id] = g
                                if not doc_id.isdigit():
                                    state["alive_new"].add(doc_id)
                    gen += 1
            finally:
                idle.set()
                w.close()

        def pause():
            running.clear()
            idle.wait(30)
            time.sleep(0.01)
            # what any snapshot taken now holds
            return set(str(i) for i in range(N)) | set(state["alive_new"]), dict(state["gen"])

        def resume():
            idle.clear()
            running.set()
            time.sleep(0.2)  # let some writes land before reading on

        def verify(name, seen_ids, gens, expected, expected_gen, totals):
            missing = [i for i in expected if seen_ids.get(i, 0) == 0]
            dup = [i for i, cnt in seen_ids.items() if cnt > 1]
            extra = [i for i in seen_ids if i not in expected]
            check(not missing, "%s: every id of the snapshot returned (%d)" % (name, len(expected)),
                  "missing %d, e.g. %s" % (len(missing), missing[:5]))
            check(not dup, "%s: no id returned twice" % name, "duplicates %d, e.g. %s" % (len(dup), dup[:5]))
            check(not extra, "%s: nothing written after the snapshot" % name, "%d, e.g. %s" % (len(extra), extra[:5]))
            if gens is not None:
                wrong = [i for i, g in gens.items() if g != expected_gen.get(i, 0)]
                check(not wrong, "%s: sources as of the snapshot" % name, "e.g. %s" % wrong[:5])
            if totals is not None:
                check(len(set(totals)) == 1 and totals[0] == len(expected),
                      "%s: the exact total of the snapshot on every page" % name, str(sorted(set(totals))[:5]))

        writer = threading.Thread(target=write_loop, daemon=True)
        writer.start()
        idle.wait(5)
        running.set()
        time.sleep(0.3)

        # 1. one scroll sorted on _doc
        seen, gens, totals = {}, {}, []
        expected, egen = pause()
        st, body = c.req("POST", "/%s/_search?scroll=2m&size=%d&sort=_doc:asc" % (INDEX, PAGE), {"query": {"match_all": {}}})
        resume()
        check(st == 200 and "_scroll_id" in body, "scroll opens", str(body)[:300])
        sid = body.get("_scroll_id")
        pages = 0
        while st == 200 and body["hits"]["hits"]:
            pages += 1
            totals.append(body["hits"]["total"]["value"])
            for h in body["hits"]["hits"]:
                seen[h["_id"]] = seen.get(h["_id"], 0) + 1
                gens[h["_id"]] = h["_source"]["gen"]
            st, body = c.req("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": sid})
            if st == 200 and body.get("_scroll_id") != sid:
                check(False, "scroll: the same id on every page")
        check(st == 200, "scroll: every page answers", str(body)[:300])
        check(pages == (len(expected) + PAGE - 1) // PAGE, "scroll: pages of %d" % PAGE, str(pages))
        verify("scroll", seen, gens, expected, egen, totals)
        st, body = c.req("DELETE", "/_search/scroll", {"scroll_id": [sid]})
        check(st == 200 and body == {"succeeded": True, "num_freed": 1}, "scroll: cleared", str(body))

        # 2. four slices: four scrolls, each its own snapshot (opened while writes pause, then
        #    read while they go on)
        seen, gens, totals_all, sids, firsts = {}, {}, [], [], []
        expected, egen = pause()
        for sl in range(4):
            st, body = c.req("POST", "/%s/_search?scroll=2m" % INDEX,
                             {"size": PAGE, "slice": {"id": sl, "max": 4}, "query": {"match_all": {}}})
            check(st == 200, "slice %d opens" % sl, str(body)[:300])
            sids.append(body.get("_scroll_id"))
            firsts.append(body)
        resume()
        for sl in range(4):
            totals = []
            st, body = 200, firsts[sl]
            while st == 200 and body["hits"]["hits"]:
                totals.append(body["hits"]["total"]["value"])
                for h in body["hits"]["hits"]:
                    seen[h["_id"]] = seen.get(h["_id"], 0) + 1
                    gens[h["_id"]] = h["_source"]["gen"]
                st, body = c.req("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": sids[sl]})
            check(st == 200 and len(set(totals)) == 1, "slice %d: every page answers with one total" % sl, str(set(totals)))
            totals_all.append(totals[0] if totals else 0)
        st, body = c.req("DELETE", "/_search/scroll", {"scroll_id": sids})
        check(st == 200 and body.get("num_freed") == 4, "slices: cleared together", str(body))
        verify("4 slices", seen, gens, expected, egen, None)
        check(sum(totals_all) == len(expected) and min(totals_all) > 0,
              "4 slices: the totals add up to the snapshot's", str(totals_all))

        # 3. point in time paged on _shard_doc
        expected, egen = pause()
        st, body = c.req("POST", "/%s/_pit?keep_alive=2m" % INDEX)
        resume()
        check(st == 200 and "id" in body, "PIT opens", str(body)[:300])
        pit = body["id"]
        seen, gens, totals = {}, {}, []
        after = None
        while True:
            q = {"size": PAGE, "pit": {"id": pit, "keep_alive": "2m"}, "sort": [{"_shard_doc": "asc"}],
                 "track_total_hits": True}
            if after is not None:
                q["search_after"] = after
            st, body = c.req("POST", "/_search", q)
            if st != 200:
                check(False, "PIT: every page answers", str(body)[:300])
                break
            pit = body.get("pit_id", pit)
            hits = body["hits"]["hits"]
            if not hits:
                break
            totals.append(body["hits"]["total"]["value"])
            for h in hits:
                seen[h["_id"]] = seen.get(h["_id"], 0) + 1
                gens[h["_id"]] = h["_source"]["gen"]
            after = hits[-1]["sort"]
        verify("PIT + search_after on _shard_doc", seen, gens, expected, egen, totals)

        # 4. the same PIT sorted on a field, paged with the implicit tiebreaker
        seen, after = {}, None
        while True:
            q = {"size": PAGE, "pit": {"id": pit}, "sort": [{"gen": "desc"}]}
            if after is not None:
                q["search_after"] = after
            st, body = c.req("POST", "/_search", q)
            if st != 200:
                check(False, "PIT field sort: every page answers", str(body)[:300])
                break
            hits = body["hits"]["hits"]
            if not hits:
                break
            for h in hits:
                seen[h["_id"]] = seen.get(h["_id"], 0) + 1
            after = hits[-1]["sort"]
            if len(after) != 2:
                check(False, "PIT field sort: sort values end with the tiebreaker", str(after))
                break
        verify("PIT + search_after on a field (ties broken by _shard_doc)", seen, None, expected, egen, None)
        st, body = c.req("DELETE", "/_pit", {"id": pit})
        check(st == 200 and body.get("num_freed") == 1, "PIT: closed", str(body))

        stop.set()
        writer.join(30)
        check(writes["errors"] == 0 and writes["new"] > 0 and writes["updated"] > 0,
              "writes went on while reading (new %d, updated %d, deleted %d)" % (writes["new"], writes["updated"], writes["deleted"]),
              str(writes))
        c.req("POST", "/%s/_refresh" % INDEX)
        st, body = c.req("GET", "/%s/_count" % INDEX)
        check(st == 200 and body["count"] == N + len(state["alive_new"]), "the writes are all there",
              "%s vs %d" % (body, N + len(state["alive_new"])))
        c.close()
    finally:
        stop.set()
        if writer:
            writer.join(30)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        errf.close()
        with open(err_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        bad = [m for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:") if m in text]
        check(not bad and proc.returncode == 0, "node stops cleanly, no sanitizer report",
              "exit %s; %s" % (proc.returncode, text[-2000:]))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash of the script is a failure, reported as one
        check(False, "scenario ran", repr(e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
