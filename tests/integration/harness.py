"""An isolated Pregón stack for the integration tests, and helpers to talk to it.

Each run gets its own state directory, free ports and MariaDB datadir (never var/), started
with the same scripts/stack.sh as `make run`, and stopped at the end."""

import hashlib
import hmac
import json
import os
import pwd
import secrets as pysecrets
import shutil
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


# Letters and digits no two of which neighbour each other, even lowercased: cracklib (the
# password policy) refuses a password with more than a few neighbouring pairs such as "ab" or
# "98" as "too simplistic/systematic", which about 1 random string in 30 (hex) to 1,000
# (base64) has. A test's password is random and always accepted.
_PW_ALPHABET = "acegikmoqsuwyACEGIKMOQSUWY02468"


def strong_password(n=20):
    """A random password the policy always accepts (no neighbouring pairs, no word)."""
    return "Pw-" + "".join(pysecrets.choice(_PW_ALPHABET) for _ in range(n))


class Response:
    def __init__(self, status, headers, body, cookies=None):
        self.status = status
        self.headers = headers
        self.body = body
        self.cookies = cookies or []  # every Set-Cookie header value

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])

    def error_code(self):
        try:
            return self.json()["error"]["code"]
        except Exception:
            return None


class Session:
    """A signed-in user: the session cookie's token and the CSRF token."""

    def __init__(self, token, csrf, user, email=None, password=None):
        self.token = token
        self.csrf = csrf
        self.user = user
        self.email = email
        self.password = password

    @property
    def cookie(self):
        return "pregon_session=" + self.token

    def __repr__(self):
        return "<Session %s %s>" % (self.user.get("email"), self.user.get("role"))


# request(auth=...): the stack's superadmin session unless told otherwise.
DEFAULT = object()
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# The sanitizer build (make test-asan: build-asan/) runs the same tests 2-3 times slower; the
# few checks of timing at the edge of a limit allow for it, and say so where they do.
SANITIZED = os.path.basename(os.path.normpath(os.environ.get("PREGON_BUILD", ""))).endswith(
    "-asan")


def throttle_allowance(sends):
    """The 130429 answers a check at a number's rate limit allows, where the sandbox enforces
    the limit as Meta does (a sliding second, counted where the requests arrive): one per
    10,000 sends (none below that); in the sanitizer build one per 1,000 sends (at least one).
    The worker spaces its slots with a margin (lib/pace.h, 8 ms at 1,000/s); the stack's
    scheduling jitter on two cores outgrows it now and then, the sanitized stack's more often
    (a local CI run drew one in 10,000 at 1,000/s with two workers). The caller checks that
    those sends were retried."""
    return max(1, sends // 1000) if SANITIZED else sends // 10000


class Stack:
    def __init__(self, build, workers=1, extra_env=None):
        self.build = build
        self.var = tempfile.mkdtemp(prefix="pregon-test-")
        # Everything must be reachable by nginx workers (www-data) when we run as root.
        os.chmod(self.var, 0o755)
        self.webhook_sigs = []
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
            # Imports over this many rows commit in chunks (lib/recipients_chunks.c): the
            # suite's larger imports take that way (test_import_chunks).
            "PREGON_IMPORT_CHUNK_ROWS": "2500",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:log_path=" + self.var + "/log/asan",
            "UBSAN_OPTIONS": "print_stacktrace=1:log_path=" + self.var + "/log/ubsan",
            # make tsan: every data race is a report (and a failed run), not an exit code.
            "TSAN_OPTIONS": "second_deadlock_stack=1:log_path=" + self.var + "/log/tsan",
        })
        # The first superadmin (scripts/stack.sh -> pregonctl user-init); every request signs
        # in as it unless a test asks for another role or none (request(auth=...)).
        self.admin_email = "superadmin@pregon.test"
        self.admin_password = strong_password()
        self.env["PREGON_ADMIN_EMAIL"] = self.admin_email
        self.env["PREGON_ADMIN_PASSWORD"] = self.admin_password
        if extra_env:
            self.env.update(extra_env)
        self.session = None
        self.role_sessions = {}
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
        self.start_output = r.stdout
        if self.auth_mode() != "none":
            self.session = self.login(self.admin_email, self.admin_password)

    def auth_mode(self):
        return self.request("GET", "/api/health", auth=None).json().get("auth", "sessions")

    def stop(self):
        return self.stack("stop")

    def remove(self):
        """Deletes the state directory (its database alone can take hundreds of MB), unless
        PREGON_KEEP_STATE is set. Call after stop()."""
        if not os.environ.get("PREGON_KEEP_STATE"):
            shutil.rmtree(self.var, ignore_errors=True)

    def logs(self):
        out = []
        logdir = os.path.join(self.var, "log")
        if os.path.isdir(logdir):
            for name in sorted(os.listdir(logdir)):
                with open(os.path.join(logdir, name), errors="replace") as f:
                    tail = f.read()[-3000:]
                out.append("--- %s\n%s" % (name, tail))
        return "\n".join(out)

    def pool_pids(self, name="fcgi"):
        """A FastCGI pool's master pid (run/NAME.pid: fcgi is the API pool, webhook the
        webhook pool) and the set of its request processes."""
        with open(os.path.join(self.var, "run", name + ".pid")) as f:
            master = int(f.read().strip())
        kids = set()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after its ')'
            if int(st[st.rindex(")") + 2:].split()[1]) == master:
                kids.add(int(d))
        return master, frozenset(kids)

    def sanitizer_reports(self):
        found = []
        logdir = os.path.join(self.var, "log")
        for name in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, name), errors="replace") as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                           "WARNING: ThreadSanitizer"):
                if marker in text:
                    found.append(name)
                    break
        return found

    def restart_mariadb(self, down_s=0.0, sig=15):
        """Stops the stack's MariaDB (SIGTERM through its pid file, as stack.sh stop does, or
        sig: 9 for a crash), waits down_s seconds and starts it again with the command
        scripts/stack.sh uses."""
        run = os.path.join(self.var, "run")
        with open(os.path.join(run, "mariadb.pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, sig)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        time.sleep(down_s)
        log = open(os.path.join(self.var, "log", "mariadb.log"), "ab")
        me = pwd.getpwuid(os.getuid()).pw_name
        p = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + os.path.join(self.var, "db"),
             "--socket=" + os.path.join(run, "mysqld.sock"), "--port=%d" % self.db_port,
             "--bind-address=127.0.0.1", "--pid-file=" + os.path.join(run, "mysqld.pid"),
             "--log-error=" + os.path.join(self.var, "log", "mariadb.log"), "--user=" + me,
             "--skip-name-resolve", "--innodb-buffer-pool-size=512M",
             "--innodb-log-file-size=256M", "--max-connections=1000", "--max-allowed-packet=64M",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
             "--default-time-zone=+00:00"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        with open(os.path.join(run, "mariadb.pid"), "w") as f:
            f.write(str(p.pid))
        self.wait_for("MariaDB back", lambda: self._db_up(), timeout=60)

    def _db_up(self):
        try:
            self.query("SELECT 1")
            return True
        except Exception:
            return False

    # --- HTTP ---------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, base=None, auth=DEFAULT,
                csrf=True):
        """One HTTP request. To the stack (base None) it goes signed in: auth=DEFAULT is the
        stack's superadmin, a role name ("viewer", "admin", "superadmin") a user of that role,
        a Session that session, None no session. csrf=False leaves out X-CSRF-Token. A Cookie
        or X-CSRF-Token in headers wins."""
        sess = None
        if base is None:
            if auth is DEFAULT:
                sess = self.session
            elif isinstance(auth, str):
                sess = self.session_for(auth)
            elif isinstance(auth, Session):
                sess = auth
        hdrs = dict(headers or {})
        names = {k.lower() for k in hdrs}
        # The API answers in the language asked, Spanish by default (lib/msgcat); the tests'
        # assertions read its English, so they ask for it unless they say otherwise
        # (test_language checks both languages and the default).
        if "accept-language" not in names:
            hdrs["Accept-Language"] = "en"
        if sess is not None:
            if "cookie" not in names:
                hdrs["Cookie"] = sess.cookie
            if csrf and method.upper() in STATE_CHANGING and "x-csrf-token" not in names:
                hdrs["X-CSRF-Token"] = sess.csrf
        r = self._send(method, path, body, hdrs, base)
        # The default session ended (a test changed the superadmin): sign in again, once. An
        # "unauthenticated" answer comes from the access check, before any handler ran.
        if (auth is DEFAULT and sess is not None and r.status == 401 and
                r.error_code() == "unauthenticated" and "cookie" not in names):
            self.session = self.login(self.admin_email, self.admin_password)
            hdrs["Cookie"] = self.session.cookie
            if "X-CSRF-Token" in hdrs:
                hdrs["X-CSRF-Token"] = self.session.csrf
            r = self._send(method, path, body, hdrs, base)
        return r

    def _send(self, method, path, body, hdrs, base):
        url = (base or self.base) + path
        data = body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Response(r.status, dict(r.headers), r.read().decode("utf-8", "replace"),
                                r.headers.get_all("Set-Cookie"))
        except urllib.error.HTTPError as e:
            return Response(e.code, dict(e.headers), e.read().decode("utf-8", "replace"),
                            e.headers.get_all("Set-Cookie"))

    # --- accounts -------------------------------------------------------------------------

    def login_response(self, email, password, headers=None):
        return self.request("POST", "/api/session", {"email": email, "password": password},
                            headers=headers, auth=None)

    def login(self, email, password):
        """Signs in; returns a Session or raises AssertionError."""
        r = self.login_response(email, password)
        if r.status != 200:
            raise AssertionError("sign-in of %s failed: %r" % (email, r))
        token = None
        for c in r.cookies:
            first = c.split(";", 1)[0]
            name, _, value = first.partition("=")
            if name.strip() == "pregon_session":
                token = value.strip()
        if not token:
            raise AssertionError("no session cookie in %r" % (r.cookies,))
        body = r.json()
        return Session(token, body["csrf_token"], body["user"], email, password)

    def create_user(self, email, role, password=None, name=""):
        """Creates a user as the superadmin; returns (user, password)."""
        password = password or strong_password()
        r = self.request("POST", "/api/users", {"email": email, "role": role,
                                                "password": password, "name": name})
        if r.status != 201:
            raise AssertionError("creating %s failed: %r" % (email, r))
        return r.json(), password

    def session_for(self, role):
        """A signed-in user of that role, made on first use and kept (re-signed in when its
        session ended)."""
        sess = self.role_sessions.get(role)
        if sess is not None:
            if self.request("GET", "/api/me", auth=sess).status == 200:
                return sess
            sess = self.login(sess.email, sess.password)
        else:
            email = "%s-%s@pregon.test" % (role, pysecrets.token_hex(4))
            _, password = self.create_user(email, role)
            sess = self.login(email, password)
        self.role_sessions[role] = sess
        return sess

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

    def post_webhook(self, payload, signature=None, raw=None, wait=True):
        """POST /webhook; with wait, after a 200 also waits until the stored events are
        applied (the FastCGI processes apply them off the request path)."""
        raw = raw if raw is not None else json.dumps(payload).encode()
        hdrs = {"Content-Type": "application/json"}
        sig = self.sign(raw) if signature is None else signature
        if sig:
            hdrs["X-Hub-Signature-256"] = sig
        r = self.request("POST", "/webhook", raw, headers=hdrs)
        if sig:
            self.webhook_sigs.append(sig)  # webhook_events.signature: the tests' own events
        if wait and r.status == 200:
            self.wait_webhooks_applied()
        return r

    def wait_webhooks_applied(self, timeout=20):
        """Waits until no stored webhook event is left to apply (those that failed 5 times
        are left for pregonctl webhooks-apply --all). Returns whether that happened."""
        deadline = time.time() + timeout
        while True:
            n = self.query("SELECT COUNT(*) AS n FROM webhook_events "
                           "WHERE applied_at IS NULL AND apply_attempts < 5")[0]["n"]
            if n == 0:
                return True
            if time.time() > deadline:
                return False
            time.sleep(0.02)

    # --- database -----------------------------------------------------------------------

    def db(self, admin=False):
        if admin:
            return pymysql.connect(unix_socket=os.path.join(self.var, "run", "mysqld.sock"),
                                   user=pwd.getpwuid(os.getuid()).pw_name,
                                   database="pregon", autocommit=True)
        return pymysql.connect(host="127.0.0.1", port=self.db_port, user="pregon",
                               password=self.db_password, database="pregon", autocommit=True)

    def query(self, sql, args=None, admin=False):
        # 1047: a Galera node between views (test_galera kills a node); it is ready again in
        # seconds. A single server never answers it.
        for tries in range(60):
            conn = self.db(admin)
            try:
                with conn.cursor(pymysql.cursors.DictCursor) as c:
                    c.execute(sql, args)
                    return c.fetchall()
            except pymysql.err.OperationalError as e:
                if e.args[0] != 1047 or tries == 59:
                    raise
            finally:
                conn.close()
            time.sleep(0.5)

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
