"""An isolated Pregón stack for the integration tests, and helpers to talk to it.

Each run gets its own state directory, free ports and MariaDB datadir (never var/), started
with the same scripts/stack.sh as `make run`, and stopped at the end."""

import hashlib
import hmac
import json
import os
import pwd
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pymysql

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Stack:
    def __init__(self, build, workers=1, extra_env=None):
        self.build = build
        self.var = tempfile.mkdtemp(prefix="pregon-test-")
        # Everything must be reachable by nginx workers (www-data) when we run as root.
        os.chmod(self.var, 0o755)
        self.http_port = free_port()
        self.db_port = free_port()
        self.sandbox_port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "PREGON_VAR": self.var,
            "PREGON_BUILD": build,
            "PREGON_HTTP_PORT": str(self.http_port),
            "PREGON_DB_PORT": str(self.db_port),
            "PREGON_SANDBOX_PORT": str(self.sandbox_port),
            "PREGON_FCGI_PROCS": "3",
            "PREGON_WORKERS": str(workers),
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:log_path=" + self.var + "/log/asan",
            "UBSAN_OPTIONS": "print_stacktrace=1:log_path=" + self.var + "/log/ubsan",
        })
        if extra_env:
            self.env.update(extra_env)
        self.base = "http://127.0.0.1:%d" % self.http_port
        self.sandbox = "http://127.0.0.1:%d" % self.sandbox_port

    def stack(self, cmd):
        return subprocess.run([os.path.join(ROOT, "scripts", "stack.sh"), cmd], env=self.env,
                              capture_output=True, text=True)

    def start(self):
        r = self.stack("start")
        if r.returncode != 0:
            raise RuntimeError("stack did not start:\n" + r.stdout + r.stderr + self.logs())
        self.secrets = {}
        with open(os.path.join(self.var, "sandbox.env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                self.secrets[k] = v
        with open(os.path.join(self.var, "db-password")) as f:
            self.db_password = f.read().strip()

    def stop(self):
        return self.stack("stop")

    def logs(self):
        out = []
        logdir = os.path.join(self.var, "log")
        if os.path.isdir(logdir):
            for name in sorted(os.listdir(logdir)):
                with open(os.path.join(logdir, name), errors="replace") as f:
                    tail = f.read()[-3000:]
                out.append("--- %s\n%s" % (name, tail))
        return "\n".join(out)

    def sanitizer_reports(self):
        found = []
        logdir = os.path.join(self.var, "log")
        for name in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, name), errors="replace") as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    found.append(name)
                    break
        return found

    # --- HTTP ---------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, base=None):
        url = (base or self.base) + path
        data = body
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Response(r.status, dict(r.headers), r.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read().decode("utf-8", "replace"))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def sandbox_get(self, path):
        return self.request("GET", path, base=self.sandbox)

    def sandbox_post(self, path, body):
        return self.request("POST", path, body, base=self.sandbox)

    def sign(self, raw):
        key = self.secrets["SANDBOX_APP_SECRET"].encode()
        return "sha256=" + hmac.new(key, raw, hashlib.sha256).hexdigest()

    def post_webhook(self, payload, signature=None, raw=None):
        raw = raw if raw is not None else json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json"}
        sig = self.sign(raw) if signature is None else signature
        if sig:
            hdrs["X-Hub-Signature-256"] = sig
        return self.request("POST", "/webhook", raw, headers=hdrs)

    # --- database -----------------------------------------------------------------------

    def db(self, admin=False):
        if admin:
            return pymysql.connect(unix_socket=os.path.join(self.var, "run", "mysqld.sock"),
                                   user=pwd.getpwuid(os.getuid()).pw_name,
                                   database="pregon", autocommit=True)
        return pymysql.connect(host="127.0.0.1", port=self.db_port, user="pregon",
                               password=self.db_password, database="pregon", autocommit=True)

    def query(self, sql, args=None, admin=False):
        conn = self.db(admin)
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as c:
                c.execute(sql, args)
                return c.fetchall()
        finally:
            conn.close()

    # --- helpers --------------------------------------------------------------------------

    def wait_for(self, what, fn, timeout=60, interval=0.2):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))

    def create_campaign(self, name="Prueba", template="recordatorio_clase", language="es_AR",
                        params=None, **extra):
        body = {"name": name, "template_name": template, "template_language": language,
                "body_params": params if params is not None else
                [{"column": "name"}, "Robótica", {"column": "day", "fallback": "lunes"}]}
        body.update(extra)
        r = self.post("/api/campaigns", body)
        assert r.status == 201, r
        return r.json()

    def upload(self, campaign_id, csv_text):
        return self.post("/api/campaigns/%d/recipients" % campaign_id, csv_text,
                         headers={"Content-Type": "text/csv"})


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, msg=""):
    if a != b:
        raise AssertionError("%s: %r != %r" % (msg or "values differ", a, b))
