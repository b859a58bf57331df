#!/usr/bin/env python3
"""End-to-end: reindex tasks across a node's life. A throttled reindex started with
wait_for_completion=false and another that a client waits for are running when the node gets
SIGTERM: the node cancels them ("node is shutting down"), the waiting client gets its answer,
the stored result survives the restart (GET _tasks/<id> and GET _reindex/<id>), task numbers
continue after the stored ones, and the node exits cleanly (no sanitizer report).
Prints one line per check and ends with "N passed, N failed".
"""

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
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.environ.get("FERRY_BIN") or (
    os.path.join(REPO, "build/san/ferry") if os.path.exists(os.path.join(REPO, "build/san/ferry"))
    else os.path.join(REPO, "build/ferry"))

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name, flush=True)
    else:
        failed += 1
        print("FAIL " + name, flush=True)
        for line in str(detail).splitlines()[:10]:
            print("     " + line)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def call(port, method, path, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def main():
    work = tempfile.mkdtemp(prefix="ferry-e2e-rxtasks-")
    conf = os.path.join(work, "config")
    os.makedirs(conf)
    port = free_port()
    with open(os.path.join(conf, "elasticsearch.yml"), "w") as f:
        f.write("http.port: %d\npath.data: %s\nxpack.security.enabled: false\n" % (port, os.path.join(work, "data")))
    errs = []
    proc = None

    def start():
        nonlocal proc
        err = os.path.join(work, "err%d.log" % len(errs))
        errs.append(err)
        proc = subprocess.Popen([FERRY, "serve"], env=dict(os.environ, FERRY_PATH_CONF=conf), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=open(err, "w"))
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return True
            except OSError:
                if proc.poll() is not None:
                    return False
                time.sleep(0.05)
        return False

    try:
        if not check("node starts", start()):
            return
        for i in range(5):
            call(port, "PUT", "/src/_doc/%d?refresh=true" % i, {"n": i})
        st, b = call(port, "POST", "/_reindex?wait_for_completion=false&requests_per_second=0.00000001",
                     {"source": {"index": "src", "size": 1}, "dest": {"index": "async"}})
        task = b.get("task") if st == 200 else None
        check("a throttled reindex runs as a task", task is not None, b)
        answer = {}

        def waiting_client():
            answer["r"] = call(port, "POST", "/_reindex?requests_per_second=0.00000001",
                               {"source": {"index": "src", "size": 1}, "dest": {"index": "sync"}}, timeout=60)

        th = threading.Thread(target=waiting_client)
        th.start()
        time.sleep(0.7)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
        th.join(60)
        check("SIGTERM: the node stops cleanly with tasks running", rc == 0, "exit %s" % rc)
        st, b = answer.get("r", (0, None))
        check("the waiting client gets its answer: canceled, what was done",
              st == 200 and b.get("canceled") == "node is shutting down" and b.get("created") == 1 and
              b.get("batches") == 1, answer)

        if not check("node restarts", start()):
            return
        st, b = call(port, "GET", "/_tasks/" + task)
        check("the stored result survives the restart", st == 200 and b.get("completed") is True and
              b["response"]["canceled"] == "node is shutting down" and b["task"]["cancelled"] is True and
              b["task"]["status"]["created"] == 1, b)
        st, b = call(port, "GET", "/_reindex/" + task)
        check("GET _reindex/<id> reads it too", st == 200 and b.get("completed") and b.get("cancelled") is True, b)
        st, b = call(port, "POST", "/_reindex?wait_for_completion=false", {"source": {"index": "src"},
                                                                          "dest": {"index": "after"}})
        stored_n = int(task.split(":")[1])
        new_n = int(b.get("task", "x:0").split(":")[1])
        check("task numbers continue after the stored ones (%d > %d)" % (new_n, stored_n), new_n > stored_n, b)
        st, b = call(port, "GET", "/_tasks/%s?wait_for_completion=true" % b.get("task"))
        check("it completes: created 5", st == 200 and b.get("response", {}).get("created") == 5, b)
        proc.send_signal(signal.SIGTERM)
        check("the node stops cleanly again", proc.wait(60) == 0)
        proc = None
        bad = [e for e in errs if any(m in open(e, errors="replace").read() for m in
                                      ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"))]
        check("no sanitizer report", not bad, bad and open(bad[0]).read()[-1500:])
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        import traceback
        check("script error: %s" % e, False, traceback.format_exc())
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
