#!/usr/bin/env python3
"""ferry REST test runner: Elasticsearch's YAML REST-test format against real ferry nodes.

    run.py [--binary PATH] [--suite ours|upstream|all] [--all-upstream] [-j N] [-v]
           [--filter SUBSTR] [--list-passing] [--strict-warnings] [--keep] [paths...]

Every test (each document other than setup/teardown) gets a fresh node: the ferry binary is
started on a free loopback port with fresh temporary data and config folders, the file's
setup, the test and the teardown run against it, then the node is stopped (SIGTERM, then
SIGKILL after a timeout) and its folders are removed. A node that dies, does not stop, or
leaves a sanitizer report in its log fails the test.

Suites: `ours` = tests/rest/**/*.yml; `upstream` = the tests named in
tests/rest/upstream-allowlist.txt, read from the es-rest-spec folder (env FERRY_REST_SPEC,
default <repo>/../shared/es-rest-spec); `--all-upstream` runs every upstream test and only
reports. Explicit paths run just those files. See tests/rest/README.md for the format, the
ferry extensions and the allowlist rule.

Output: one line per test, `ok|FAIL|skip  file :: test (reason)`, failure details indented
below, and the final line `N passed, N failed, N skipped`. Exit status 1 if any test failed.

Python 3 standard library + python3-yaml only.
"""

import argparse
import atexit
import base64
import concurrent.futures
import datetime
import decimal
import glob
import gzip
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

try:
    import yaml
except ImportError:  # pragma: no cover
    # The interpreter first on PATH may lack PyYAML; Debian's has it with python3-yaml.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and not os.environ.get("FERRY_REST_REEXEC"):
        os.environ["FERRY_REST_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.stderr.write("run.py: needs PyYAML (Debian package python3-yaml)\n")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_VERSION = "8.17.0"
ALLOWLIST = os.path.join(HERE, "upstream-allowlist.txt")

START_TIMEOUT = float(os.environ.get("FERRY_REST_START_TIMEOUT", "10"))
STOP_TIMEOUT = float(os.environ.get("FERRY_REST_STOP_TIMEOUT", "10"))
REQUEST_TIMEOUT = float(os.environ.get("FERRY_REST_REQUEST_TIMEOUT", "60"))
TEST_TIMEOUT = float(os.environ.get("FERRY_REST_TEST_TIMEOUT", "180"))
LOG_TAIL_LINES = 25

# Runner features (the `features` / `test_runner_features` of skip and requires sections).
SUPPORTED_FEATURES = frozenset([
    "allowed_warnings",
    "allowed_warnings_regex",
    "arbitrary_key",
    "capabilities",
    "catch_unauthorized",
    "close_to",
    "contains",
    "default_shards",
    "embedded_stash_key",
    "headers",
    "is_after",
    "node_selector",
    "stash_in_key",
    "stash_in_path",
    "stash_path_replace",
    "transform_and_set",
    "warnings",
    "warnings_regex",
    "yaml",
])


def spec_root():
    return os.environ.get("FERRY_REST_SPEC") or os.path.normpath(
        os.path.join(REPO, "..", "shared", "es-rest-spec"))


# --------------------------------------------------------------------------------------
# YAML: scalars resolved the way Elasticsearch's (Jackson) YAML parser does - only
# true/false are booleans, no dates, no sexagesimal or octal numbers, no yes/no/on/off.

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TestLoader(_BaseLoader):
    pass


TestLoader.yaml_implicit_resolvers = {}


def _add_resolver(tag, regexp, first):
    TestLoader.add_implicit_resolver(tag, re.compile(regexp), list(first))


_add_resolver("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF")
_add_resolver("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789")
_add_resolver("tag:yaml.org,2002:float",
              r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?[0-9]+[eE][-+]?[0-9]+"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789.")
TestLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                                 ["~", "n", "N", ""])
_add_resolver("tag:yaml.org,2002:merge", r"^<<$", "<")
TestLoader.add_constructor("tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node)))


def load_yaml_docs(text):
    return list(yaml.load_all(text, Loader=TestLoader))


# --------------------------------------------------------------------------------------
# Java-flavoured rendering (regexes and stash substitutions see values as Java prints them).

def java_double(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        r = repr(x)
        return r if ("." in r or "e" in r) else r + ".0"
    sign, digits, exp = decimal.Decimal(repr(x)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    e = exp + len(digits) - 1
    return "%s%s.%sE%d" % ("-" if sign else "", ds[0], ds[1:] or "0", e)


def jstr(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return java_double(v)
    if isinstance(v, dict):
        return "{" + ", ".join("%s=%s" % (k, jstr(x)) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(jstr(x) for x in v) + "]"
    return str(v)


def brief(v, limit=300):
    try:
        s = json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def java_regex(pattern):
    """The few Java regex spellings Python's re lacks."""
    pattern = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), pattern, flags=re.S)
    pattern = re.sub(r"\(\?<([A-Za-z][A-Za-z0-9]*)>", r"(?P<\1>", pattern)
    pattern = re.sub(r"(?<!\\)((?:\\\\)*)\\z", r"\1\\Z", pattern)
    return pattern


def is_regex_literal(v):
    if not isinstance(v, str):
        return False
    s = v.strip()
    return len(s) > 1 and s.startswith("/") and s.endswith("/")


# --------------------------------------------------------------------------------------
# Errors

class StepError(Exception):
    """A failed step: message plus detail lines."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = list(details or [])


class ParamError(Exception):
    """Client-side validation error (what `catch: param` expects)."""


class NodeError(Exception):
    def __init__(self, message, log_tail=""):
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail


# --------------------------------------------------------------------------------------
# Paths into responses and the stash

def split_path(path):
    """`a.b\\.c.0` -> ['a', 'b.c', '0']."""
    parts, cur, i = [], [], 0
    while i < len(path):
        c = path[i]
        if c == "\\" and i + 1 < len(path) and path[i + 1] == ".":
            cur.append(".")
            i += 2
            continue
        if c == ".":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def walk(obj, parts):
    for part in parts:
        if obj is None:
            return None
        if isinstance(obj, dict):
            if part == "_arbitrary_key_":
                return next(iter(obj)) if obj else None
            obj = obj.get(part)
        elif isinstance(obj, list):
            try:
                idx = int(part)
            except ValueError:
                return None
            obj = obj[idx] if 0 <= idx < len(obj) else None
        else:
            return None
    return obj


EMBEDDED_STASH = re.compile(r"\$\{([^}]+)\}")


class Stash:
    def __init__(self):
        self.values = {}

    def lookup(self, key):
        if key in self.values:
            return self.values[key]
        parts = split_path(key)
        if parts[0] not in self.values:
            raise StepError("stash does not contain key [%s]" % key)
        return walk(self.values[parts[0]], parts[1:])

    def is_ref(self, s):
        return isinstance(s, str) and ((len(s) > 1 and s.startswith("$") and not s.startswith("${"))
                                       or "${" in s)

    def replace(self, value):
        if isinstance(value, str):
            if len(value) > 1 and value.startswith("$") and not value.startswith("${"):
                return self.lookup(value[1:])
            if "${" in value:
                return EMBEDDED_STASH.sub(lambda m: jstr(self.lookup(m.group(1))), value)
            return value
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if self.is_ref(k):
                    k = jstr(self.replace(k))
                out[k] = self.replace(v)
            return out
        if isinstance(value, list):
            return [self.replace(v) for v in value]
        return value


# --------------------------------------------------------------------------------------
# API specs (both the current format and the pre-7.4 one)

class ApiPath:
    def __init__(self, template, methods, parts):
        self.template = template
        self.methods = list(methods)
        self.parts = frozenset(parts) | frozenset(re.findall(r"\{(\w+)\}", template))


class Api:
    def __init__(self, name, spec):
        self.name = name
        url = spec.get("url") or {}
        self.paths = []
        raw_paths = url.get("paths") or ([url["path"]] if url.get("path") else [])
        for p in raw_paths:
            if isinstance(p, dict):
                self.paths.append(ApiPath(p["path"], p.get("methods") or [], (p.get("parts") or {}).keys()))
            else:
                self.paths.append(ApiPath(p, spec.get("methods") or [], ()))
        self.all_parts = set()
        for p in self.paths:
            self.all_parts |= p.parts
        self.all_parts |= set((url.get("parts") or {}).keys())
        self.params = set((spec.get("params") or {}).keys()) | set((url.get("params") or {}).keys())
        body = spec.get("body")
        self.body_supported = body is not None
        self.body_required = bool(isinstance(body, dict) and body.get("required"))
        ctypes = (spec.get("headers") or {}).get("content_type") or []
        self.ndjson = any("ndjson" in c for c in ctypes) or (
            isinstance(body, dict) and body.get("serialize") == "bulk")


# Used only when the es-rest-spec folder lacks them, so our own tests run without it.
BUILTIN_APIS = {
    "info": {"url": {"paths": [{"path": "/", "methods": ["GET"]}]}},
    "ping": {"url": {"paths": [{"path": "/", "methods": ["HEAD"]}]}},
    "cluster.health": {"url": {"paths": [
        {"path": "/_cluster/health", "methods": ["GET"]},
        {"path": "/_cluster/health/{index}", "methods": ["GET"], "parts": {"index": {}}}]}},
    "nodes.info": {"url": {"paths": [
        {"path": "/_nodes", "methods": ["GET"]},
        {"path": "/_nodes/{node_id}", "methods": ["GET"], "parts": {"node_id": {}}},
        {"path": "/_nodes/{metric}", "methods": ["GET"], "parts": {"metric": {}}},
        {"path": "/_nodes/{node_id}/{metric}", "methods": ["GET"],
         "parts": {"node_id": {}, "metric": {}}}]}},
}


class Specs:
    def __init__(self, root):
        self.root = root
        self.apis = {}
        self.loaded = False
        self.lock = threading.Lock()

    def _load(self):
        api_dir = os.path.join(self.root, "api")
        for f in sorted(glob.glob(os.path.join(api_dir, "*.json"))):
            if os.path.basename(f) == "_common.json":
                continue
            try:
                with open(f, encoding="utf-8") as fh:
                    data = json.load(fh)
            except (OSError, ValueError) as e:
                sys.stderr.write("run.py: cannot read spec %s: %s\n" % (f, e))
                continue
            for name, spec in data.items():
                self.apis[name] = Api(name, spec)
        for name, spec in BUILTIN_APIS.items():
            if name not in self.apis:
                self.apis[name] = Api(name, spec)
        self.loaded = True

    def get(self, name):
        with self.lock:
            if not self.loaded:
                self._load()
        api = self.apis.get(name)
        if api is None:
            raise StepError("no API spec for [%s] (looked in %s/api)" % (name, self.root))
        return api


def fmt_param(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, list):
        return ",".join(fmt_param(x) for x in v)
    if isinstance(v, float):
        r = repr(v)
        return r
    if isinstance(v, dict):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def encode_path_part(v):
    return urllib.parse.quote(fmt_param(v), safe="!$&'()*+,;=:@~-._")


def encode_query(params):
    return "&".join("%s=%s" % (urllib.parse.quote(str(k), safe=",*:"),
                               urllib.parse.quote(fmt_param(v), safe=",*:"))
                    for k, v in params.items())


def parse_json_sequence(text):
    """A string body holding JSON objects one after another -> list, or None if it isn't."""
    dec = json.JSONDecoder()
    docs, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return docs
        try:
            doc, i = dec.raw_decode(text, i)
        except ValueError:
            return None
        if not isinstance(doc, (dict, list)):
            return None
        docs.append(doc)


def dumps(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def encode_body(body, ndjson):
    """-> (bytes, content type)"""
    if isinstance(body, str):
        docs = parse_json_sequence(body)
        if docs is None:
            return body.encode("utf-8"), ("application/x-ndjson" if ndjson else "application/json")
        body = docs if (ndjson or len(docs) != 1) else docs[0]
    if isinstance(body, list):
        # As Elasticsearch's runner: string items are already JSON lines and go out as they are.
        return "".join((d if isinstance(d, str) else dumps(d)) + "\n" for d in body).encode("utf-8"), \
            "application/x-ndjson"
    if ndjson:
        return (dumps(body) + "\n").encode("utf-8"), "application/x-ndjson"
    return dumps(body).encode("utf-8"), "application/json"


class Request:
    def __init__(self, method, url, body=None, headers=None, ignore=(), label=""):
        self.method = method
        self.url = url
        self.body = body  # bytes or None
        self.headers = dict(headers or {})
        self.ignore = set(ignore)
        self.label = label

    def set_header(self, name, value, override=True):
        for k in list(self.headers):
            if k.lower() == name.lower():
                if not override:
                    return
                del self.headers[k]
        self.headers[name] = value


def parse_ignore(v):
    if v is None:
        return ()
    if not isinstance(v, list):
        v = [v]
    return tuple(int(x) for x in v)


def build_api_request(specs, api_name, args):
    api = specs.get(api_name)
    args = dict(args or {})
    body = args.pop("body", None)
    ignore = parse_ignore(args.pop("ignore", None))
    path_params = {k: v for k, v in args.items() if k in api.all_parts}
    query = {k: v for k, v in args.items() if k not in api.all_parts}
    candidates = [p for p in api.paths if p.parts <= set(path_params)]
    if not candidates:
        raise ParamError("no path of api [%s] can be built from the parts %s"
                         % (api_name, sorted(path_params)))
    most = max(len(p.parts) for p in candidates)
    best = [p for p in candidates if len(p.parts) == most]
    methods = []
    for p in best:
        for m in p.methods:
            if m not in methods:
                methods.append(m)
    if not methods:
        raise ParamError("api [%s] lists no methods" % api_name)
    if body is not None:
        if not api.body_supported:
            raise ParamError("body is not supported by [%s] api" % api_name)
        method = next((m for m in methods if m in ("POST", "PUT")), methods[0])
    else:
        if api.body_required:
            raise ParamError("body is required by [%s] api" % api_name)
        method = methods[0]
    chosen = next(p for p in best if method in p.methods)
    path = re.sub(r"\{(\w+)\}", lambda m: encode_path_part(path_params[m.group(1)]), chosen.template)
    url = path + ("?" + encode_query(query) if query else "")
    data = ctype = None
    if body is not None:
        data, ctype = encode_body(body, api.ndjson)
    req = Request(method, url, data, ignore=ignore, label=api_name)
    if ctype:
        req.set_header("Content-Type", ctype)
    return req


def build_raw_request(args):
    if not isinstance(args, dict) or "path" not in args:
        raise StepError("raw request needs at least {method, path}")
    method = str(args.get("method", "GET")).upper()
    path = str(args["path"])
    if not path.startswith("/"):
        path = "/" + path
    if args.get("params"):
        path += ("&" if "?" in path else "?") + encode_query(args["params"])
    body = args.get("body")
    data = None
    if "body_repeat" in args:
        rep = args["body_repeat"] or {}
        data = (str(rep.get("prefix", "")) + str(rep.get("chunk", "x")) * int(rep.get("times", 1))
                + str(rep.get("suffix", ""))).encode("utf-8")
    elif body is not None:
        if isinstance(body, (dict, list)):
            data = dumps(body).encode("utf-8")
        else:
            data = str(body).encode("utf-8")
    given = args.get("headers") or {}
    req = Request(method, path, data, headers={str(k): fmt_param(v) for k, v in given.items() if v is not None},
                  ignore=parse_ignore(args.get("ignore")), label="raw")
    suppressed = {str(k).lower() for k, v in given.items() if v is None}  # `Name: null` = not sent
    if data is not None and "content-type" not in suppressed:
        req.set_header("Content-Type", "application/json", override=False)
        enc = args.get("content_encoding")
        if enc:
            if enc != "gzip":
                raise StepError("raw: content_encoding must be gzip")
            req.body = gzip.compress(data)
            req.set_header("Content-Encoding", "gzip")
    return req


# --------------------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, req, status, reason, headers, raw):
        self.req = req
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.raw = raw
        self.decode_error = None
        data = raw
        if (self.header("Content-Encoding") or "").lower() == "gzip" and raw:
            try:
                data = gzip.decompress(raw)
            except (OSError, EOFError) as e:
                self.decode_error = "gzip response body does not decompress: %s" % e
        self.text = data.decode("utf-8", "replace")
        ctype = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        self.body = self.text
        if req.method == "HEAD":
            self.body = status == 200
        elif self.text and (ctype.endswith("json") or ctype.endswith("+json")):
            try:
                self.body = json.loads(self.text)
            except ValueError:
                pass
        elif self.text and "yaml" in ctype:
            try:
                self.body = yaml.safe_load(self.text)
            except yaml.YAMLError:
                pass

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def warning_messages(self):
        out = []
        for k, v in self.headers:
            if k.lower() != "warning":
                continue
            found = re.findall(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"', v)
            if not found:
                out.append(("unparsable", v))
            for m in found:
                out.append(("ok", re.sub(r"\\(.)", r"\1", m)))
        return out

    def summary(self, limit=600):
        req = self.req
        lines = ["request:  %s %s%s" % (req.method, req.url,
                                        "" if req.body is None else "  body(%d bytes): %s" % (
                                            len(req.body), _preview(req.body, 200)))]
        hdrs = ", ".join("%s: %s" % (k, v) for k, v in self.headers)
        lines.append("response: %d %s  [%s]" % (self.status, self.reason, hdrs[:300]))
        if self.text:
            t = self.text if len(self.text) <= limit else self.text[:limit] + "...(%d chars)" % len(self.text)
            lines.append("body:     " + t.replace("\n", "\n          "))
        return lines


def _preview(data, limit):
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError:
        return "<%d binary bytes>" % len(data)
    s = s if len(s) <= limit else s[:limit] + "..."
    return s.replace("\n", "\\n")


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None

    def send(self, req, timeout=REQUEST_TIMEOUT):
        last_err = None
        for attempt in range(2):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            else:
                self.conn.timeout = timeout
                if self.conn.sock is not None:
                    self.conn.sock.settimeout(timeout)
            send_err = None
            try:
                self.conn.request(req.method, req.url, body=req.body, headers=req.headers)
            except (BrokenPipeError, ConnectionResetError) as e:
                send_err = e  # the server may have answered early (e.g. 413) and closed
            except OSError as e:
                self.close()
                last_err = e
                if fresh:
                    break
                continue
            try:
                r = self.conn.getresponse()
                raw = r.read()
                resp = Response(req, r.status, r.reason, r.getheaders(), raw)
                if r.will_close:
                    self.close()
                return resp
            except (http.client.HTTPException, OSError) as e:
                self.close()
                last_err = send_err or e
                if fresh:
                    break
        raise StepError("request failed: %s %s: %s: %s" % (req.method, req.url,
                                                           type(last_err).__name__, last_err))


# --------------------------------------------------------------------------------------
# Nodes

LIVE_NODES = set()
LIVE_LOCK = threading.Lock()
PORT_LOCK = threading.Lock()
RECENT_PORTS = []
SANITIZER_RE = re.compile(r"(==\d+==ERROR: \w+Sanitizer|^SUMMARY: \w+Sanitizer|runtime error: "
                          r"|WARNING: ThreadSanitizer|==\d+==WARNING: \w+Sanitizer)", re.M)
_node_counter = [0]


def free_port():
    with PORT_LOCK:
        for _ in range(50):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            finally:
                s.close()
            if port not in RECENT_PORTS:
                RECENT_PORTS.append(port)
                del RECENT_PORTS[:-64]
                return port
        return port


def next_node_name():
    with LIVE_LOCK:
        _node_counter[0] += 1
        return "ferry-rest-%d-%d" % (os.getpid(), _node_counter[0])


def fmt_setting(v):
    return fmt_param(v)


class Node:
    def __init__(self, binary, settings=None, env=None, keep=False):
        self.binary = binary
        self.settings = dict(settings or {})
        self.env = {str(k): fmt_setting(v) for k, v in (env or {}).items()}
        self.keep = keep
        self.name = next_node_name()
        self.proc = None
        self.port = None
        self.tmp = None
        self.log_path = None
        self.info = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="ferry-rest-")
        conf = os.path.join(self.tmp, "config")
        data = os.path.join(self.tmp, "data")
        os.makedirs(conf)
        os.makedirs(data)
        open(os.path.join(conf, "elasticsearch.yml"), "w").close()
        self.log_path = os.path.join(self.tmp, "node.log")
        for attempt in range(3):
            port = free_port()
            cmd = [self.binary, "serve", "-E", "http.port=%d" % port, "-E", "path.data=%s" % data,
                   "-E", "xpack.security.enabled=false", "-E", "node.name=%s" % self.name]
            for k, v in self.settings.items():
                cmd += ["-E", "%s=%s" % (k, fmt_setting(v))]
            env = dict(os.environ)
            env.update(self.env)
            env["FERRY_PATH_CONF"] = conf
            with open(self.log_path, "ab") as logf:
                logf.write(("$ %s\n" % " ".join(cmd)).encode())
                logf.flush()
                try:
                    self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                                 env=env, cwd=self.tmp, start_new_session=True)
                except OSError as e:
                    raise NodeError("cannot start %s: %s" % (self.binary, e))
            with LIVE_LOCK:
                LIVE_NODES.add(self)
            self.port = port
            state = self._wait_ready()
            if state == "ready":
                return self
            if state == "died" and attempt < 2 and re.search(r"in use", self.log_tail(), re.I):
                self._reap()
                continue
            tail = self.log_tail()
            if state == "died":
                msg = "node exited during start-up (%s)" % describe_exit(self.proc.returncode)
            else:
                msg = "node did not answer GET / within %gs" % START_TIMEOUT
            self.kill()
            raise NodeError(msg, tail)
        raise NodeError("node could not start", self.log_tail())

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        answered = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "died"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/")
                r = conn.getresponse()
                data = r.read()
                conn.close()
                answered = True
                if r.status == 200:
                    try:
                        self.info = json.loads(gzip.decompress(data) if r.getheader("Content-Encoding") == "gzip"
                                               else data)
                    except (ValueError, OSError):
                        self.info = None
                    return "ready"
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        return "ready" if answered else "timeout"

    def version(self):
        try:
            return self.info["version"]["number"]
        except (TypeError, KeyError):
            return None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def log_tail(self, n=LOG_TAIL_LINES):
        lines = self.log_text().splitlines()
        return "\n".join(lines[-n:])

    def sanitizer_report(self, n=40):
        """The first lines of a sanitizer report in the log (shadow-byte dumps left out)."""
        lines = self.log_text().splitlines()
        for i, l in enumerate(lines):
            if SANITIZER_RE.search(l):
                out = [x for x in lines[i:] if not re.match(r"\s*(0x[0-9a-f]+:|=>0x)", x)]
                return out[:n]
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _reap(self):
        with LIVE_LOCK:
            LIVE_NODES.discard(self)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                try:
                    self.proc.kill()
                except OSError:
                    pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._reap()

    def stop(self):
        """Stops the node; returns a list of problems (empty when all went well)."""
        problems = []
        if self.proc is not None:
            rc = self.proc.poll()
            if rc is not None:
                problems.append("node exited during the test (%s)" % describe_exit(rc))
            else:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(STOP_TIMEOUT)
                    if rc not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
                        problems.append("node exited with %s after SIGTERM" % describe_exit(rc))
                except subprocess.TimeoutExpired:
                    self.kill()
                    problems.append("node did not stop within %gs of SIGTERM (killed)" % STOP_TIMEOUT)
            # children of the node, if any
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        self._reap()
        m = SANITIZER_RE.search(self.log_text())
        if m:
            problems.append("sanitizer report in the node's log: %s" % m.group(0).strip())
        return problems

    def cleanup(self):
        if self.tmp and not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def describe_exit(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit code %d" % rc


def kill_all_nodes():
    with LIVE_LOCK:
        nodes = list(LIVE_NODES)
    for n in nodes:
        n.kill()
        n.cleanup()


atexit.register(kill_all_nodes)


# --------------------------------------------------------------------------------------
# Prerequisites: skip / requires

def parse_version(s):
    m = re.match(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(s))
    if not m:
        return None
    return tuple(int(x or 0) for x in m.groups())


def version_in_ranges(spec, version):
    spec = str(spec).strip()
    if spec.lower() == "all":
        return True
    for r in spec.split(","):
        r = r.strip()
        if not r:
            continue
        if "-" not in r:
            v = parse_version(r)
            if v == version:
                return True
            continue
        lo_s, hi_s = r.split("-", 1)
        lo = parse_version(lo_s) if lo_s.strip() else (0, 0, 0)
        hi = parse_version(hi_s) if hi_s.strip() else (999999, 999999, 999999)
        if lo is None or hi is None:
            raise StepError("bad version range [%s]" % spec)
        if lo <= version <= hi:
            return True
    return False


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


# Elasticsearch's "historical" cluster features: a node of at least that version has them.
# Only those named by upstream tests; every other named feature counts as absent.
HISTORICAL_FEATURES = {
    "bulk_auto_id": "7.5.0",
    "bulk_pipeline_validate": "7.9.1",
    "bulk_require_alias": "7.10.0",
}


def has_cluster_feature(name, version):
    m = re.match(r"^gte_v(\d+\.\d+\.\d+)$", str(name))
    if m:
        return version >= parse_version(m.group(1))
    if name in HISTORICAL_FEATURES:
        return version >= parse_version(HISTORICAL_FEATURES[name])
    return False  # other named cluster features: ferry declares none


class Prereqs:
    """Everything the skip/requires sections of a test (and its file's setup) say."""

    def __init__(self):
        self.skip_reason = None
        self.requires_caps = []  # lists of capability checks that must be supported
        self.skip_caps = []  # ... that must not be supported

    def add(self, kind, section, version):
        if not isinstance(section, dict):
            raise StepError("%s section must be an object" % kind)
        reason = section.get("reason")
        why = (lambda what: "%s%s" % (what, " - %s" % reason if reason else ""))
        if self.skip_reason:
            return
        features = as_list(section.get("features")) + as_list(section.get("test_runner_features"))
        missing = [f for f in features if f not in SUPPORTED_FEATURES]
        if missing:
            self.skip_reason = "runner lacks feature %s" % ",".join(missing)
            return
        if kind == "skip":
            if "awaits_fix" in section:
                self.skip_reason = why("awaits fix: %s" % section.get("awaits_fix"))
                return
            if "version" in section and version_in_ranges(section["version"], version):
                self.skip_reason = why("version %s in [%s]" % (".".join(map(str, version)),
                                                               str(section["version"]).strip()))
                return
            present = [f for f in as_list(section.get("cluster_features")) if has_cluster_feature(f, version)]
            if present:
                self.skip_reason = why("cluster has %s" % ",".join(present))
                return
            for issue in as_list(section.get("known_issues")):
                if isinstance(issue, dict) and has_cluster_feature(issue.get("cluster_feature"), version) \
                        and not has_cluster_feature(issue.get("fixed_by"), version):
                    self.skip_reason = why("known issue %s" % issue.get("cluster_feature"))
                    return
            if section.get("capabilities"):
                self.skip_caps.append(as_list(section["capabilities"]))
        elif kind == "requires":
            absent = [f for f in as_list(section.get("cluster_features")) if not has_cluster_feature(f, version)]
            if absent:
                self.skip_reason = why("needs cluster feature %s" % ",".join(map(str, absent)))
                return
            if section.get("capabilities"):
                self.requires_caps.append(as_list(section["capabilities"]))


def collect_prereqs(sections, version):
    pre = Prereqs()
    for steps in sections:
        for step in steps or []:
            if isinstance(step, dict):
                for kind in ("skip", "requires"):
                    if kind in step:
                        pre.add(kind, step[kind], version)
    return pre


def capabilities_supported(client, checks):
    for c in checks:
        if not isinstance(c, dict):
            return False
        q = {"method": c.get("method", "GET"), "path": c.get("path", "/")}
        if c.get("parameters"):
            q["parameters"] = ",".join(map(str, as_list(c["parameters"])))
        if c.get("capabilities"):
            q["capabilities"] = ",".join(map(str, as_list(c["capabilities"])))
        resp = client.send(Request("GET", "/_capabilities?" + encode_query(q)))
        if resp.status != 200 or not isinstance(resp.body, dict) or resp.body.get("supported") is not True:
            return False
    return True


# --------------------------------------------------------------------------------------
# Assertions

def scalar_equal(a, e):
    if isinstance(a, bool) or isinstance(e, bool):
        return isinstance(a, bool) and isinstance(e, bool) and a == e
    if isinstance(a, (int, float)) and isinstance(e, (int, float)):
        return a == e
    return type(a) is type(e) and a == e


def deep_diff(actual, expected, path, out):
    here = path or "$"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append("%s: expected an object but was %s" % (here, brief(actual, 120)))
            return
        for k, v in expected.items():
            p = "%s.%s" % (path, k) if path else str(k)
            if k not in actual:
                out.append("%s: missing (expected %s)" % (p, brief(v, 120)))
            else:
                deep_diff(actual[k], v, p, out)
        for k in actual:
            if k not in expected:
                p = "%s.%s" % (path, k) if path else str(k)
                out.append("%s: unexpected %s" % (p, brief(actual[k], 120)))
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            out.append("%s: expected a list but was %s" % (here, brief(actual, 120)))
            return
        if len(actual) != len(expected):
            out.append("%s: expected %d elements but got %d" % (here, len(expected), len(actual)))
        for i, (a, e) in enumerate(zip(actual, expected)):
            deep_diff(a, e, "%s.%d" % (path, i) if path else str(i), out)
    else:
        if not scalar_equal(actual, expected):
            out.append("%s: expected %s but was %s" % (here, brief(expected, 120), brief(actual, 120)))


def is_true_es(v):
    if v is None:
        return False
    s = jstr(v)
    return s != "" and s != "0" and s.lower() != "false"


def is_false_es(v):
    if v is None:
        return True
    s = jstr(v)
    return s == "" or s == "0" or s.lower() == "false"


def parse_instant(v):
    s = str(v).strip().replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(s)


# --------------------------------------------------------------------------------------
# Running one test

CATCHES = {
    "bad_request": ("400", lambda s: s == 400),
    "unauthorized": ("401", lambda s: s == 401),
    "forbidden": ("403", lambda s: s == 403),
    "missing": ("404", lambda s: s == 404),
    "request_timeout": ("408", lambda s: s == 408),
    "conflict": ("409", lambda s: s == 409),
    "unavailable": ("503", lambda s: s == 503),
    "request": ("4xx|5xx except 400,401,403,404,408,409",
                lambda s: s >= 400 and s not in (400, 401, 403, 404, 408, 409)),
}


class TestRun:
    def __init__(self, runner, node, log):
        self.runner = runner
        self.node = node
        self.client = Client(node.port)
        self.stash = Stash()
        self.stash.values["ferry_node_name"] = node.name
        self.stash.values["ferry_port"] = node.port
        self.last = None
        self.log = log  # list of strings (verbose trace)
        self.notes = []
        self.deadline = time.monotonic() + TEST_TIMEOUT

    def trace(self, s):
        if self.runner.verbose:
            self.log.append(s)

    # --- evaluation --------------------------------------------------------------
    def evaluate(self, path):
        path = "" if path is None else str(path)
        if path.startswith("$headers."):
            self.need_response(path)
            return self.last.header(path[len("$headers."):])
        if path == "$status":
            self.need_response(path)
            return self.last.status
        if path == "$text":
            self.need_response(path)
            return self.last.text
        self.need_response(path)
        parts = split_path(path)
        if parts == [""]:
            return self.last.body
        if parts[0] == "$body":
            parts = parts[1:]
        resolved = []
        for part in parts:
            if self.stash.is_ref(part):
                part = jstr(self.stash.replace(part))
            resolved.append(part)
        return walk(self.last.body, resolved)

    def need_response(self, path):
        if self.last is None:
            raise StepError("[%s]: no response yet to evaluate" % path)

    def fail(self, message, details=None):
        d = list(details or [])
        if self.last is not None:
            d += self.last.summary()
        raise StepError(message, d)

    # --- steps -------------------------------------------------------------------
    def run_steps(self, steps, section):
        for i, step in enumerate(steps or []):
            if not isinstance(step, dict) or not step:
                raise StepError("%s step %d: malformed step %s" % (section, i + 1, brief(step)))
            for kind, arg in step.items():
                if kind in ("skip", "requires"):
                    continue
                fn = getattr(self, "step_" + kind, None)
                if fn is None:
                    raise StepError("%s step %d: unsupported step [%s]" % (section, i + 1, kind))
                try:
                    fn(arg)
                except StepError as e:
                    e.message = "%s step %d (%s): %s" % (section, i + 1, kind, e.message)
                    raise

    def step_do(self, arg):
        if not isinstance(arg, dict):
            raise StepError("do needs an object")
        arg = dict(arg)
        catch = arg.pop("catch", None)
        headers = self.stash.replace(arg.pop("headers", None) or {})
        expected_warnings = list(as_list(arg.pop("warnings", None)))
        allowed_warnings = list(as_list(arg.pop("allowed_warnings", None)))
        warnings_regex = [re.compile(java_regex(str(p))) for p in as_list(arg.pop("warnings_regex", None))]
        allowed_regex = [re.compile(java_regex(str(p))) for p in as_list(arg.pop("allowed_warnings_regex", None))]
        arg.pop("node_selector", None)
        if len(arg) != 1:
            raise StepError("do needs exactly one API call, got %s" % sorted(arg))
        (api_name, params), = arg.items()
        params = self.stash.replace(params or {})
        try:
            if api_name == "raw":
                req = build_raw_request(params)
            else:
                req = build_api_request(self.runner.specs, api_name, params)
        except ParamError as e:
            if catch == "param":
                self.trace("   %s: client-side error as expected: %s" % (api_name, e))
                return
            raise StepError("client-side error: %s" % e)
        if catch == "param":
            # Elasticsearch's runner sends nothing for catch: param; neither do we.
            self.trace("   %s: catch: param - request not sent" % api_name)
            return
        for k, v in headers.items():
            req.set_header(str(k), fmt_param(v))
        t0 = time.monotonic()
        left = self.deadline - t0
        if left <= 0:
            raise StepError("test took longer than %gs (FERRY_REST_TEST_TIMEOUT)" % TEST_TIMEOUT)
        resp = self.client.send(req, timeout=max(1.0, min(REQUEST_TIMEOUT, left)))
        self.trace("   %s %s -> %d (%.0f ms)" % (req.method, req.url, resp.status,
                                                (time.monotonic() - t0) * 1000))
        self.last = resp
        self.stash.values["body"] = resp.body
        if resp.decode_error:
            self.fail(resp.decode_error)
        ignored = resp.status in req.ignore or (req.method == "HEAD" and resp.status == 404)
        is_error = resp.status >= 400 and not ignored
        if catch is not None:
            catch = str(catch)
            if catch in CATCHES:
                desc, ok = CATCHES[catch]
                if not ok(resp.status):
                    self.fail("expected status [%s] (catch: %s) but got [%d]" % (desc, catch, resp.status))
            elif is_regex_literal(catch):
                pattern = catch.strip()[1:-1]
                if resp.status < 400:
                    self.fail("expected an error matching %s but got [%d]" % (catch, resp.status))
                try:
                    rx = re.compile(java_regex(pattern))
                except re.error as e:
                    raise StepError("bad catch regex %s: %s" % (catch, e))
                texts = [resp.text]
                if isinstance(resp.body, dict):
                    texts.append(jstr(resp.body.get("error", resp.body)))
                if not any(rx.search(t) for t in texts):
                    self.fail("error response does not match %s" % catch)
            else:
                raise StepError("unsupported catch [%s]" % catch)
            return
        if is_error:
            self.fail("expected a 2xx answer but got [%d %s]" % (resp.status, resp.reason))
        self.check_warnings(resp, expected_warnings, allowed_warnings, warnings_regex, allowed_regex)

    def check_warnings(self, resp, expected, allowed, expected_re, allowed_re):
        expected = [str(x) for x in expected]
        allowed = set(str(x) for x in allowed)
        unexpected = []
        for state, msg in resp.warning_messages():
            if state != "ok":
                unexpected.append("unparsable Warning header: %s" % msg)
                continue
            if msg in allowed:
                continue
            if msg in expected:
                expected.remove(msg)
                continue
            hit = next((p for p in expected_re if p.fullmatch(msg)), None)
            if hit is not None:
                expected_re.remove(hit)
                continue
            if any(p.fullmatch(msg) for p in allowed_re):
                continue
            unexpected.append(msg)
        if unexpected:
            self.fail("unexpected warning header(s): %s" % brief(unexpected))
        missing = expected + [p.pattern for p in expected_re]
        if missing:
            if self.runner.strict_warnings:
                self.fail("expected warning header(s) not sent: %s" % brief(missing))
            self.notes.append("expected warning not sent: %s" % brief(missing, 160))

    def _pairs(self, arg, kind):
        if not isinstance(arg, dict):
            raise StepError("%s needs an object {path: value}" % kind)
        return arg.items()

    def step_match(self, arg):
        for path, expected in self._pairs(arg, "match"):
            actual = self.evaluate(path)
            expected = self.stash.replace(expected)
            if is_regex_literal(expected):
                pattern = expected.strip()[1:-1]
                try:
                    rx = re.compile(java_regex(pattern), re.VERBOSE)
                except re.error as e:
                    raise StepError("bad regex for [%s]: %s" % (path, e))
                if actual is None:
                    self.fail("[%s] is missing; expected to match %s" % (path, brief(expected, 200)))
                if not rx.search(jstr(actual)):
                    self.fail("[%s] does not match the regex" % path,
                              ["expected: %s" % brief(expected, 400), "actual:   %s" % brief(actual, 400)])
                continue
            diffs = []
            deep_diff(actual, expected, "", diffs)
            if diffs:
                self.fail("[%s] does not match" % path,
                          ["expected: %s" % brief(expected, 400), "actual:   %s" % brief(actual, 400)]
                          + ["  " + d for d in diffs[:10]])

    def step_is_true(self, arg):
        for path in (arg.keys() if isinstance(arg, dict) else [arg]):
            v = self.evaluate(path)
            if not is_true_es(v):
                self.fail("[%s] is not true: %s" % (path, brief(v, 200)))

    def step_is_false(self, arg):
        for path in (arg.keys() if isinstance(arg, dict) else [arg]):
            v = self.evaluate(path)
            if not is_false_es(v):
                self.fail("[%s] is not false: %s" % (path, brief(v, 200)))

    def step_exists(self, arg):
        for path in (arg.keys() if isinstance(arg, dict) else [arg]):
            if self.evaluate(path) is None:
                self.fail("[%s] does not exist" % path)

    def step_not_exists(self, arg):
        for path in (arg.keys() if isinstance(arg, dict) else [arg]):
            v = self.evaluate(path)
            if v is not None:
                self.fail("[%s] exists: %s" % (path, brief(v, 200)))

    def step_length(self, arg):
        for path, expected in self._pairs(arg, "length"):
            expected = self.stash.replace(expected)
            try:
                expected = int(expected)
            except (TypeError, ValueError):
                raise StepError("length of [%s]: expected a number, got %s" % (path, brief(expected)))
            v = self.evaluate(path)
            if not isinstance(v, (str, list, dict)):
                self.fail("[%s] has no length: %s" % (path, brief(v, 200)))
            if len(v) != expected:
                self.fail("[%s] has length %d, expected %d" % (path, len(v), expected),
                          ["actual:   %s" % brief(v, 400)])

    def _compare(self, arg, kind, op):
        for path, expected in self._pairs(arg, kind):
            expected = self.stash.replace(expected)
            actual = self.evaluate(path)
            num = (int, float)
            if isinstance(actual, num) and not isinstance(actual, bool) \
                    and isinstance(expected, num) and not isinstance(expected, bool):
                ok = op(actual, expected)
            elif isinstance(actual, str) and isinstance(expected, str):
                ok = op(actual, expected)
            else:
                self.fail("[%s] %s: cannot compare %s with %s" % (path, kind, brief(actual, 100),
                                                                  brief(expected, 100)))
            if not ok:
                self.fail("[%s] is %s, expected %s %s" % (path, brief(actual, 100), kind, brief(expected, 100)))

    def step_gt(self, arg):
        self._compare(arg, "gt", lambda a, e: a > e)

    def step_gte(self, arg):
        self._compare(arg, "gte", lambda a, e: a >= e)

    def step_lt(self, arg):
        self._compare(arg, "lt", lambda a, e: a < e)

    def step_lte(self, arg):
        self._compare(arg, "lte", lambda a, e: a <= e)

    def step_set(self, arg):
        for path, key in self._pairs(arg, "set"):
            self.stash.values[str(key)] = self.evaluate(path)

    def step_transform_and_set(self, arg):
        for key, expr in self._pairs(arg, "transform_and_set"):
            m = re.match(r"^#(\w+)\((.*)\)$", str(expr).strip())
            if not m:
                raise StepError("transform_and_set: cannot parse [%s]" % expr)
            fn, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
            if fn == "base64EncodeCredentials":
                if len(args) != 2:
                    raise StepError("base64EncodeCredentials takes two paths")
                vals = [self.evaluate(a) for a in args]
                self.stash.values[str(key)] = base64.b64encode(
                    ("%s:%s" % (jstr(vals[0]), jstr(vals[1]))).encode()).decode()
            else:
                raise StepError("transform_and_set: unsupported function [%s]" % fn)

    def step_contains(self, arg):
        for path, expected in self._pairs(arg, "contains"):
            expected = self.stash.replace(expected)
            actual = self.evaluate(path)
            if not isinstance(actual, list):
                self.fail("[%s] is not a list: %s" % (path, brief(actual, 200)))

            def hit(item):
                if isinstance(expected, dict):
                    if not isinstance(item, dict):
                        return False
                    for k, v in expected.items():
                        d = []
                        if k not in item:
                            return False
                        deep_diff(item[k], v, "", d)
                        if d:
                            return False
                    return True
                d = []
                deep_diff(item, expected, "", d)
                return not d

            if not any(hit(x) for x in actual):
                self.fail("[%s] does not contain %s" % (path, brief(expected, 200)),
                          ["actual:   %s" % brief(actual, 400)])

    def step_close_to(self, arg):
        for path, spec in self._pairs(arg, "close_to"):
            spec = self.stash.replace(spec)
            if not isinstance(spec, dict) or "value" not in spec or "error" not in spec:
                raise StepError("close_to needs {value, error}")
            actual = self.evaluate(path)
            if not isinstance(actual, (int, float)) or isinstance(actual, bool):
                self.fail("[%s] is not a number: %s" % (path, brief(actual, 100)))
            if abs(actual - float(spec["value"])) > float(spec["error"]):
                self.fail("[%s] is %s, expected %s +/- %s" % (path, actual, spec["value"], spec["error"]))

    def step_is_after(self, arg):
        for path, expected in self._pairs(arg, "is_after"):
            expected = self.stash.replace(expected)
            actual = self.evaluate(path)
            try:
                ok = parse_instant(actual) > parse_instant(expected)
            except (ValueError, TypeError):
                self.fail("[%s]: cannot compare instants %s and %s" % (path, brief(actual), brief(expected)))
            if not ok:
                self.fail("[%s] is %s, not after %s" % (path, actual, expected))


# --------------------------------------------------------------------------------------
# Files and results

class Result:
    def __init__(self, display, name, status, reason="", details=None):
        self.display = display
        self.name = name
        self.status = status  # ok | FAIL | skip
        self.reason = reason
        self.details = list(details or [])

    def line(self):
        s = "%-4s  %s :: %s" % (self.status, self.display, self.name)
        if self.reason:
            s += " (%s)" % self.reason
        return s


class TestFile:
    def __init__(self, path, display, only=None):
        self.path = path
        self.display = display
        self.only = only  # None = every test; else a set of test names
        self.setup = None
        self.teardown = None
        self.tests = []  # (name, steps)
        self.node_settings = {}
        self.node_env = {}

    def parse(self):
        with open(self.path, encoding="utf-8") as f:
            docs = load_yaml_docs(f.read())
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise StepError("a document is not an object")
            for key, value in doc.items():
                if key == "setup":
                    self.setup = value or []
                elif key == "teardown":
                    self.teardown = value or []
                elif key == "ferry_node":
                    value = value or {}
                    self.node_settings.update(value.get("settings") or {})
                    self.node_env.update(value.get("env") or {})
                else:
                    if not isinstance(value, list) and value is not None:
                        raise StepError("test [%s] is not a list of steps" % key)
                    self.tests.append((str(key), value or []))


class Runner:
    def __init__(self, args):
        self.binary = args.binary
        self.verbose = args.verbose
        self.strict_warnings = args.strict_warnings
        self.keep = args.keep
        self.filter = args.filter
        self.specs = Specs(spec_root())
        self.version = parse_version(DEFAULT_VERSION)
        self.print_lock = threading.Lock()
        self.results = []
        self.notes = 0

    def probe_version(self):
        node = Node(self.binary, keep=False)
        try:
            node.start()
            v = node.version()
            if v and parse_version(v):
                self.version = parse_version(v)
                return v, None
            return None, "GET / gave no version.number"
        except NodeError as e:
            return None, e.message + ("\n" + e.log_tail if e.log_tail else "")
        finally:
            node.stop()
            node.cleanup()

    def run_file(self, tf):
        out = []
        try:
            tf.parse()
        except (OSError, yaml.YAMLError, StepError) as e:
            out.append(Result(tf.display, "(file)", "FAIL", "cannot load: %s" % str(e).splitlines()[0],
                              str(e).splitlines()[1:]))
            return out
        names = [n for n, _ in tf.tests]
        if tf.only is not None:
            for n in sorted(tf.only - set(names)):
                out.append(Result(tf.display, n, "FAIL", "allowlisted test not found in the file"))
        for name, steps in tf.tests:
            if tf.only is not None and name not in tf.only:
                continue
            if self.filter and self.filter not in "%s :: %s" % (tf.display, name):
                continue
            out.append(self.run_test(tf, name, steps))
        return out

    def run_test(self, tf, name, steps):
        log = []
        try:
            pre = collect_prereqs([tf.setup, steps], self.version)
        except StepError as e:
            return Result(tf.display, name, "FAIL", e.message)
        if pre.skip_reason:
            return Result(tf.display, name, "skip", pre.skip_reason)
        node = Node(self.binary, tf.node_settings, tf.node_env, keep=self.keep)
        try:
            node.start()
        except NodeError as e:
            node.cleanup()
            return Result(tf.display, name, "FAIL", e.message,
                          ["node log (last lines):"] + ["  " + l for l in e.log_tail.splitlines()])
        run = TestRun(self, node, log)
        failure = None
        skipped = None
        try:
            for checks in pre.requires_caps:
                if not capabilities_supported(run.client, checks):
                    skipped = "node lacks capability %s" % brief(checks, 120)
                    break
            if not skipped:
                for checks in pre.skip_caps:
                    if capabilities_supported(run.client, checks):
                        skipped = "node has capability %s" % brief(checks, 120)
                        break
            if not skipped:
                try:
                    run.run_steps(tf.setup, "setup")
                    run.run_steps(steps, "test")
                except StepError as e:
                    failure = e
                try:
                    run.run_steps(tf.teardown, "teardown")
                except StepError as e:
                    failure = failure or e
        except StepError as e:
            failure = e
        except Exception as e:  # a runner bug must not take the whole run down
            failure = StepError("runner error: %s: %s" % (type(e).__name__, e))
        finally:
            run.client.close()
            problems = node.stop()
        details = []
        if failure:
            reason = failure.message
            details = failure.details
        elif problems:
            reason = "; ".join(problems)
        else:
            reason = None
        if failure and problems:
            details = details + ["node: " + p for p in problems]
        if reason:
            details = reason.splitlines()[1:] + details + log
            report = node.sanitizer_report()
            if report:
                details += ["sanitizer report (%s):" % node.log_path] + ["  " + l for l in report]
            else:
                details += ["node log (last lines, %s):" % node.log_path] + \
                           ["  " + l for l in node.log_tail().splitlines()]
            if self.keep:
                details.append("kept: %s" % node.tmp)
            else:
                node.cleanup()
            return Result(tf.display, name, "FAIL", reason.splitlines()[0], details)
        node.cleanup()
        if skipped:
            return Result(tf.display, name, "skip", skipped)
        res = Result(tf.display, name, "ok", "; ".join(run.notes) if run.notes else "", log)
        if run.notes:
            with self.print_lock:
                self.notes += 1
        return res

    def report(self, results):
        with self.print_lock:
            for r in results:
                print(r.line())
                for d in r.details:
                    print("      " + d)
            sys.stdout.flush()
            self.results.extend(results)

    def run(self, files, jobs):
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
            futures = [ex.submit(self.run_file, tf) for tf in files]
            for fut in concurrent.futures.as_completed(futures):
                self.report(fut.result())


# --------------------------------------------------------------------------------------
# Selecting files

def rel_display(path):
    ap = os.path.abspath(path)
    test_dir = os.path.join(spec_root(), "test")
    for base in (HERE, test_dir):
        if ap.startswith(base + os.sep):
            return os.path.relpath(ap, base)
    return os.path.relpath(ap, os.getcwd())


def our_files():
    files = sorted(glob.glob(os.path.join(HERE, "**", "*.yml"), recursive=True))
    return [TestFile(f, os.path.relpath(f, HERE)) for f in files]


def read_allowlist():
    entries = {}
    if not os.path.exists(ALLOWLIST):
        return entries
    with open(ALLOWLIST, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "::" in line:
                fname, test = line.split("::", 1)
                fname, test = fname.strip(), test.strip()
                if entries.get(fname, set()) is not None:
                    entries.setdefault(fname, set()).add(test)
            else:
                entries[line] = None
    return entries


# Elasticsearch's own YAML test clusters run with these settings (its test framework sets
# them on every node), so the upstream files expect them.
UPSTREAM_NODE_SETTINGS = {"action.destructive_requires_name": "false",
                          # as the reindex module's test cluster: remote reindex to the node itself
                          "reindex.remote.whitelist": "127.0.0.1:*"}


def upstream_files(all_upstream):
    test_dir = os.path.join(spec_root(), "test")
    if not os.path.isdir(test_dir):
        return None, test_dir
    if all_upstream:
        files = sorted(glob.glob(os.path.join(test_dir, "*", "*.yml")))
        out = [TestFile(f, os.path.relpath(f, test_dir)) for f in files]
    else:
        out = [TestFile(os.path.join(test_dir, fname), fname, only)
               for fname, only in sorted(read_allowlist().items())]
    for tf in out:
        tf.node_settings.update(UPSTREAM_NODE_SETTINGS)
    return out, test_dir


def files_from_paths(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for f in sorted(glob.glob(os.path.join(p, "**", "*.yml"), recursive=True)):
                out.append(TestFile(f, rel_display(f)))
        else:
            if "::" in p:
                p, test = p.split("::", 1)
                out.append(TestFile(p, rel_display(p), {test.strip()}))
            else:
                out.append(TestFile(p, rel_display(p)))
    # Upstream files named by path run with the upstream test-cluster settings too.
    upstream_dir = os.path.realpath(os.path.join(spec_root(), "test"))
    for tf in out:
        if os.path.realpath(tf.path).startswith(upstream_dir + os.sep):
            tf.node_settings.update(UPSTREAM_NODE_SETTINGS)
    return out


def default_binary():
    for cand in ("build/san/ferry", "build/ferry"):
        p = os.path.join(REPO, cand)
        if os.path.exists(p):
            return p
    return os.path.join(REPO, "build", "ferry")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run Elasticsearch-format YAML REST tests against ferry nodes.")
    ap.add_argument("--binary", help="ferry binary (default build/san/ferry if present, else build/ferry)")
    ap.add_argument("--suite", choices=["ours", "upstream", "all"], default="ours")
    ap.add_argument("--all-upstream", action="store_true",
                    help="with --suite upstream: run every upstream test and only report (failures do not fail)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="files run in parallel (default 2)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show every request of every test")
    ap.add_argument("--filter", help="only tests whose 'file :: name' contains this")
    ap.add_argument("--list-passing", action="store_true",
                    help="print allowlist lines for the upstream tests that passed")
    ap.add_argument("--strict-warnings", action="store_true",
                    help="fail when an expected Warning header is not sent (default: note it)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folders of failed tests")
    ap.add_argument("paths", nargs="*", help="YAML files or folders (file.yml::Test name for one test)")
    args = ap.parse_args(argv)
    args.binary = os.path.abspath(args.binary) if args.binary else default_binary()

    def _term(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, _term)

    skipped_suites = []
    if args.paths:
        files = files_from_paths(args.paths)
    else:
        files = []
        if args.suite in ("ours", "all"):
            files += our_files()
        if args.suite in ("upstream", "all"):
            up, where = upstream_files(args.all_upstream)
            if up is None:
                skipped_suites.append("skip  upstream suite (no es-rest-spec tests at %s)" % where)
            else:
                files += up

    runner = Runner(args)
    if not os.access(args.binary, os.X_OK):
        print("FAIL  %s (ferry binary not found or not executable; build it with make)" % args.binary)
        print("0 passed, 1 failed, 0 skipped")
        return 1

    t0 = time.monotonic()
    ver, err = runner.probe_version() if files else (DEFAULT_VERSION, None)
    if ver is None:
        print("note: could not read the node's version (%s); assuming %s"
              % ((err or "").splitlines()[0] if err else "?", DEFAULT_VERSION))
    try:
        runner.run(files, args.jobs)
    except KeyboardInterrupt:
        kill_all_nodes()
        print("interrupted")
        return 130

    for line in skipped_suites:
        print(line)
    results = runner.results
    passed = sum(1 for r in results if r.status == "ok")
    failed = sum(1 for r in results if r.status == "FAIL")
    skipped = sum(1 for r in results if r.status == "skip") + len(skipped_suites)

    if args.all_upstream or args.list_passing:
        per = {}
        for r in results:
            folder = r.display.split("/")[0] if "/" in r.display else "."
            c = per.setdefault(folder, [0, 0, 0])
            c[{"ok": 0, "FAIL": 1, "skip": 2}[r.status]] += 1
        if args.all_upstream:
            print("per folder (passed / failed / skipped):")
            for folder in sorted(per):
                print("  %-24s %4d %4d %4d" % (folder, *per[folder]))
    if args.list_passing:
        by_file = {}
        for r in results:
            by_file.setdefault(r.display, []).append(r)
        print("# passing tests, as allowlist lines:")
        for display in sorted(by_file):
            rs = by_file[display]
            if all(r.status == "ok" for r in rs) and rs[0].name != "(file)":
                print(display)
            else:
                for r in rs:
                    if r.status == "ok":
                        print("%s::%s" % (display, r.name))
    if runner.notes:
        print("notes: %d passing test(s) had expected Warning headers that were not sent "
              "(use --strict-warnings to fail them)" % runner.notes)
    print("time: %.1fs, node version %s" % (time.monotonic() - t0, ".".join(map(str, runner.version))))
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if args.all_upstream:
        return 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
