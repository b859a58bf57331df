#!/usr/bin/env python3
"""A small fault-injecting HTTP proxy for end-to-end tests (Python standard library only).

    fault_proxy.py --upstream http://127.0.0.1:9200 [--listen 127.0.0.1:0] [--log FILE]
                   [--rule STATUS:COUNT:SUBSTRING]... [--cut COUNT:SUBSTRING]...

It listens on loopback (the port is printed as "PORT <n>" on the first line of stdout) and
forwards every request to the upstream, except:

  --rule 429:3:/_search/scroll   the first 3 requests whose "METHOD path" contains the
                                  substring are answered with that status and an
                                  Elasticsearch-shaped error body (es_rejected_execution_exception
                                  for 429, a generic one otherwise), without reaching the upstream
  --cut 2:/_search/scroll         the first 2 matching requests are forwarded, then the
                                  connection is closed before any answer byte is sent
                                  (a reset after the request was sent: the cursor may have moved)

--log FILE appends one line per request: "<method> <path> <status> auth=<yes|no>" (the
Authorization header's presence only, never its value). SIGTERM stops it.
"""

import argparse
import http.client
import http.server
import json
import signal
import socketserver
import sys
import threading
import urllib.parse

REJECTED = {
    "error": {
        "root_cause": [{"type": "es_rejected_execution_exception",
                        "reason": "rejected execution of coordinating operation (injected by fault_proxy)"}],
        "type": "es_rejected_execution_exception",
        "reason": "rejected execution of coordinating operation (injected by fault_proxy)",
    },
    "status": 429,
}


class Rules:
    def __init__(self, fails, cuts):
        self.lock = threading.Lock()
        self.fails = [[int(s), int(n), sub] for s, n, sub in fails]
        self.cuts = [[int(n), sub] for n, sub in cuts]

    def decide(self, what):
        with self.lock:
            for r in self.fails:
                if r[1] > 0 and r[2] in what:
                    r[1] -= 1
                    return ("fail", r[0])
            for r in self.cuts:
                if r[0] > 0 and r[1] in what:
                    r[0] -= 1
                    return ("cut", None)
        return ("pass", None)


def make_handler(upstream, rules, log):
    up = urllib.parse.urlsplit(upstream)
    log_lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def note(self, status):
            if not log:
                return
            with log_lock:
                with open(log, "a") as f:
                    f.write("%s %s %s auth=%s\n" % (self.command, self.path, status,
                                                    "yes" if self.headers.get("Authorization") else "no"))

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            action, status = rules.decide("%s %s" % (self.command, self.path))
            if action == "fail":
                payload = REJECTED if status == 429 else {
                    "error": {"root_cause": [{"type": "exception", "reason": "injected failure"}],
                              "type": "exception", "reason": "injected failure"},
                    "status": status}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.note(status)
                return
            conn_cls = http.client.HTTPSConnection if up.scheme == "https" else http.client.HTTPConnection
            kw = {}
            if up.scheme == "https":
                import ssl
                kw["context"] = ssl._create_unverified_context()
            conn = conn_cls(up.hostname, up.port, timeout=60, **kw)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as e:
                self.send_response(502)
                msg = str(e).encode()
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)
                self.note(502)
                return
            finally:
                conn.close()
            if action == "cut":
                # the upstream handled it; the client never hears back
                self.note("cut")
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.note(resp.status)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--log")
    ap.add_argument("--rule", action="append", default=[], help="STATUS:COUNT:SUBSTRING")
    ap.add_argument("--cut", action="append", default=[], help="COUNT:SUBSTRING")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    host = host.strip("[]")
    if host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("fault_proxy listens on loopback only")
    fails = [r.split(":", 2) for r in a.rule]
    cuts = [c.split(":", 1) for c in a.cut]
    if ":" in host:
        Server.address_family = __import__("socket").AF_INET6
    srv = Server((host, int(port)), make_handler(a.upstream, Rules(fails, cuts), a.log))
    print("PORT %d" % srv.server_address[1], flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever()


if __name__ == "__main__":
    main()
