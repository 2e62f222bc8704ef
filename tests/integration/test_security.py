"""Accounts, roles, sessions, CSRF, throttling, the audit log and secrets (docs/security.md).

The permission matrix is generated from the route table (`pregon-fcgi --routes`), so a route
added by anyone is checked for every identity without touching this file."""

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import pymysql

from harness import ROOT, STATE_CHANGING, Session, check, eq

ID = "999999999"  # harmless: no such row, so handlers answer 404/400 and change nothing
DENIED = ("unauthenticated", "forbidden", "csrf_failed", "origin_mismatch")
ROLES = ("anonymous", "viewer", "admin", "superadmin")
# Anonymous routes are few and each one is a decision: a new one must be added here.
ANONYMOUS_OK = {("GET", "/api/health"), ("GET", "/metrics"), ("POST", "/api/session"),
                ("GET", "/webhook"), ("POST", "/webhook")}


def routes(s):
    """The route table of the binary under test, read once per stack."""
    if getattr(s, "_routes", None) is None:
        exe = os.path.join(s.build, "bin", "pregon-fcgi")
        for attempt in range(10):  # a rebuild may be replacing the file right now
            try:
                out = subprocess.run([exe, "--routes"], capture_output=True, text=True,
                                     check=True).stdout
                s._routes = json.loads(out)
                break
            except (OSError, subprocess.CalledProcessError, ValueError):
                if attempt == 9:
                    raise
                time.sleep(1)
    return s._routes


def fresh_session(s, role):
    """A new session of a new user of that role (never the harness's own)."""
    email = "%s-%s@pregon.test" % (role, secrets.token_hex(5))
    _, pw = s.create_user(email, role)
    return s.login(email, pw)


def alive(s, sess):
    return s.request("GET", "/api/me", auth=sess).status == 200


def denied(r):
    return r.status in (401, 403) and r.error_code() in DENIED


def token_hash(token):
    """What sessions.token_hash holds for a cookie token (lib/userauth.c: keyed BLAKE2b)."""
    raw = base64.urlsafe_b64decode(token + "=")
    return hashlib.blake2b(raw, digest_size=32, key=b"pregon session token hash v1").hexdigest()


def expired_session(s):
    sess = fresh_session(s, "superadmin")
    s.query("UPDATE sessions SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE token_hash = %s",
            (token_hash(sess.token),))
    return sess


def raw_http(s, data):
    """Sends raw bytes to nginx; returns (status, headers dict, body)."""
    with socket.create_connection(("127.0.0.1", s.http_port), timeout=30) as c:
        c.sendall(data)
        buf = b""
        # Read the headers and the Content-Length body; don't wait for nginx to close (after
        # a 413 it lingers, waiting for the body we never send).
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            buf += chunk
            head, sep, body = buf.partition(b"\r\n\r\n")
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if sep and m and len(body) >= int(m.group(1)):
                break
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip()] = v.strip()
    return int(lines[0].split()[1]), headers, body.decode("utf-8", "replace")


def test_route_table_policy(s):
    table = routes(s)
    check(len(table) >= 10, "the route table is listed")
    for r in table:
        key = (r["method"], r["pattern"])
        check(r["min_role"] in ROLES, "min_role of %s" % (key,))
        eq(r["csrf"], r["method"] in STATE_CHANGING and r["min_role"] != "anonymous",
           "CSRF needed by %s" % (key,))
        if r["min_role"] == "anonymous":
            check(key in ANONYMOUS_OK, "%s is open to anyone: add it to ANONYMOUS_OK if meant"
                  % (key,))
        p = r["pattern"]
        if p.startswith("/api/users") or p == "/api/audit":
            eq(r["min_role"], "superadmin", "%s is for superadmins" % (key,))
        if p.startswith("/api/accounts") and r["method"] in STATE_CHANGING:
            eq(r["min_role"], "superadmin", "credentials are for superadmins: %s" % (key,))
        if (p.startswith("/api/campaigns") and r["method"] in STATE_CHANGING and
                not p.endswith("/preview")):
            check(r["min_role"] in ("admin", "superadmin"),
                  "campaigns are only for admins and superadmins: %s" % (key,))


def test_permission_matrix(s):
    table = routes(s)
    idents = {role: fresh_session(s, role) for role in ROLES[1:]}
    other = fresh_session(s, "viewer")
    expired = expired_session(s)
    failures = []

    def send(r, auth, csrf=True, headers=None):
        path = re.sub(r"\{\*?\w+\}", ID, r["pattern"])
        body = {} if r["method"] in STATE_CHANGING else None
        if isinstance(auth, Session) and auth is not expired and not alive(s, auth):
            # The previous route ended it (DELETE /api/session): sign in again.
            fresh = s.login(auth.email, auth.password)
            auth.token, auth.csrf = fresh.token, fresh.csrf
        return s.request(r["method"], path, body, headers=headers, auth=auth, csrf=csrf)

    def expect(r, who, resp, should_pass, code=None):
        key = "%s %s as %s" % (r["method"], r["pattern"], who)
        if resp.status in (500, 502, 504):
            failures.append("%s: server error %r" % (key, resp))
        elif should_pass and denied(resp):
            failures.append("%s: denied %r" % (key, resp))
        elif not should_pass and not denied(resp):
            failures.append("%s: let through %r" % (key, resp))
        elif not should_pass and code and resp.error_code() != code:
            failures.append("%s: expected %s, got %r" % (key, code, resp))

    for r in table:
        need = ROLES.index(r["min_role"])
        needs_csrf = r["method"] in STATE_CHANGING and need > 0
        api = r["pattern"].startswith("/api/")
        # anonymous
        expect(r, "anonymous", send(r, None), need == 0, "unauthenticated")
        for role in ROLES[1:]:
            ok = ROLES.index(role) >= need
            expect(r, role, send(r, idents[role]), ok, "forbidden")
        sa = idents["superadmin"]
        expect(r, "superadmin without CSRF token", send(r, sa, csrf=False), not needs_csrf,
               "csrf_failed")
        expect(r, "superadmin with another session's CSRF token",
               send(r, sa, headers={"X-CSRF-Token": other.csrf}), not needs_csrf, "csrf_failed")
        expect(r, "expired session", send(r, expired), need == 0, "unauthenticated")
        foreign = api and r["method"] in STATE_CHANGING
        expect(r, "superadmin from a foreign Origin",
               send(r, sa, headers={"Origin": "http://evil.example"}), not foreign,
               "origin_mismatch")
    check(not failures, "permission matrix:\n  " + "\n  ".join(failures))


def test_login_cookie_and_me(s):
    email = "ana-%s@pregon.test" % secrets.token_hex(4)
    _, pw = s.create_user(email, "admin", name="Ana")
    r = s.login_response(email.upper(), pw)  # e-mail addresses are case-insensitive
    eq(r.status, 200, "sign-in")
    eq(len(r.cookies), 1, "one cookie")
    c = r.cookies[0]
    m = re.match(r"pregon_session=([A-Za-z0-9_-]{43});", c)
    check(m, "a 256-bit base64url token: %s" % c)
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="):
        check(attr in c, "cookie has %s: %s" % (attr, c))
    check("Secure" not in c, "no Secure over plain HTTP")
    body = r.json()
    eq(body["user"]["email"], email, "user")
    eq(body["user"]["role"], "admin", "role")
    check("password_hash" not in r.body and "$argon2" not in r.body, "no hash in the answer")
    csrf = body["csrf_token"]
    check(csrf and len(csrf) >= 43, "CSRF token")
    token = m.group(1)
    rows = s.query("SELECT token_hash FROM sessions ORDER BY id DESC LIMIT 1")
    check(rows[0]["token_hash"] != token and token not in json.dumps(
        s.query("SELECT * FROM sessions", admin=True), default=str), "token stored hashed only")
    sess = Session(token, csrf, body["user"], email, pw)
    me = s.request("GET", "/api/me", auth=sess)
    eq(me.status, 200, "me")
    eq(me.json()["csrf_token"], csrf, "the same CSRF token from /api/me")
    eq(me.json()["user"]["name"], "Ana", "name")
    # Secure only when nginx says HTTPS: a client's X-Forwarded-Proto counts for nothing
    r = s.login_response(email, pw, headers={"X-Forwarded-Proto": "https"})
    check("; Secure" not in r.cookies[0], "client X-Forwarded-Proto ignored: %s" % r.cookies[0])
    # logout ends the session and clears the cookie
    r = s.request("DELETE", "/api/session", auth=sess)
    eq(r.status, 200, "logout")
    check(r.cookies and "Max-Age=0" in r.cookies[0], "cookie cleared: %r" % r.cookies)
    eq(s.request("GET", "/api/me", auth=sess).status, 401, "the session is over")
    eq(s.get("/api/me", auth=None).status, 401, "anonymous")
    garbage = Session("x" * 43, "y", {})
    eq(s.request("GET", "/api/campaigns", auth=garbage).status, 401, "forged token")


def test_failed_sign_in_says_nothing_about_the_user(s):
    email = "beto-%s@pregon.test" % secrets.token_hex(4)
    _, pw = s.create_user(email, "viewer")
    off = "off-%s@pregon.test" % secrets.token_hex(4)
    u, offpw = s.create_user(off, "viewer")
    eq(s.request("PATCH", "/api/users/%d" % u["id"], {"disabled": True}).status, 200, "disable")
    answers = [
        s.login_response(email, pw + "x"),                              # wrong password
        s.login_response("nobody-%s@pregon.test" % secrets.token_hex(4), pw),  # no such user
        s.login_response(off, offpw),                                   # disabled, right password
    ]
    for r in answers:
        eq(r.status, 401, "failed sign-in")
        eq((r.body, r.cookies), (answers[0].body, answers[0].cookies), "identical answers")
    eq(answers[0].error_code(), "invalid_credentials", "code")
    s.query("DELETE FROM login_failures", admin=True)


def test_throttling_per_account_and_per_address(s):
    email = "caro-%s@pregon.test" % secrets.token_hex(4)
    _, pw = s.create_user(email, "viewer")
    ghost = "ghost-%s@pregon.test" % secrets.token_hex(4)
    try:
        bodies = set()
        for target in (email, ghost):  # the same for a user that does not exist
            for _ in range(5):
                eq(s.login_response(target, "wrong password!").status, 401, "wrong password")
            r = s.login_response(target, pw)
            eq(r.status, 429, "slowed down even with the right password")
            eq(r.error_code(), "too_many_attempts", "code")
            eq(r.headers.get("Retry-After"), "1", "1 s after the 5th failure")
            # taken within the throttled second: on a loaded machine a later request
            # may find the first user's second already over
            bodies.add(r.body)
        eq(len(bodies), 1, "throttled answers do not tell users apart")
        # growing delays: 1 s, then 2 s after the next failure
        time.sleep(1.1)
        eq(s.login_response(email, "wrong password!").status, 401, "tried again after 1 s")
        r = s.login_response(email, pw)
        eq((r.status, r.headers.get("Retry-After")), (429, "2"), "then 2 s")
        time.sleep(2.1)
        eq(s.login_response(email, pw).status, 200, "the owner signs in after the delay")
        # other accounts from this address still sign in...
        check(fresh_session(s, "viewer"), "another account signs in")
        # ...until the address itself has failed too often (30 by default): then it waits
        n = s.query("SELECT COUNT(*) AS n FROM login_failures WHERE address = '127.0.0.1'")[0]["n"]
        for i in range(30 - n):
            s.login_response("spray-%d-%s@pregon.test" % (i, secrets.token_hex(3)), "wrong pw 123")
        r = s.login_response(s.admin_email, s.admin_password)
        eq(r.status, 429, "the address is slowed down")
        acts = [a["action"] for a in s.query(
            "SELECT action FROM audit_log ORDER BY id DESC LIMIT 40")]
        check("session.login_throttled" in acts and "session.login_failed" in acts,
              "throttling is audited")
    finally:
        s.query("DELETE FROM login_failures", admin=True)


def test_throttling_is_no_lockout(s):
    """Guessing from elsewhere never locks the owner out (issue #17): failures of an account
    from other addresses slow those addresses down only. Only failures far above that, from
    many addresses together (login_lock_failures_account, 200), lock it for everyone, and
    pregonctl user-unlock lifts that from the machine."""
    try:
        # an attacker at 203.0.113.7 guessed the superadmin's password 50 times
        for _ in range(50):
            s.query("INSERT INTO login_failures (email, address) VALUES (%s, '203.0.113.7')",
                    (s.admin_email,), admin=True)
        eq(s.login_response(s.admin_email, s.admin_password).status, 200,
           "the superadmin still signs in from their own address")
        # a distributed attack: 200 failures from 40 addresses
        for i in range(200):
            s.query("INSERT INTO login_failures (email, address) VALUES (%s, %s)",
                    (s.admin_email, "198.51.100.%d" % (i % 40)), admin=True)
        r = s.login_response(s.admin_email, s.admin_password)
        eq((r.status, r.error_code()), (429, "too_many_attempts"), "locked for everyone")
        out = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                              os.path.join(s.var, "pregon.conf"), "user-unlock", "--email",
                              s.admin_email], capture_output=True, text=True, env=s.env)
        eq(out.returncode, 0, "pregonctl user-unlock: %s" % out.stderr)
        check("250 failed sign-ins forgotten" in out.stdout, out.stdout)
        eq(s.login_response(s.admin_email, s.admin_password).status, 200,
           "signs in again after pregonctl user-unlock")
        check(s.query("SELECT id FROM audit_log WHERE action = 'user.unlock' AND actor = "
                      "'pregonctl'"), "audited")
    finally:
        s.query("DELETE FROM login_failures", admin=True)


def test_session_expiry_idle_and_absolute(s):
    a = fresh_session(s, "viewer")
    b = fresh_session(s, "viewer")
    eq(s.request("GET", "/api/me", auth=a).status, 200, "fresh")
    check(s.query("SELECT id FROM sessions WHERE token_hash = %s", (token_hash(a.token),)),
          "the session is found by the hash of its token")
    s.query("UPDATE sessions SET last_seen_at = NOW(3) - INTERVAL 3601 SECOND WHERE "
            "token_hash = %s", (token_hash(a.token),))
    eq(s.request("GET", "/api/me", auth=a).status, 401, "idle too long (session_idle_timeout)")
    s.query("UPDATE sessions SET expires_at = NOW(3) - INTERVAL 1 SECOND WHERE "
            "token_hash = %s", (token_hash(b.token),))
    eq(s.request("GET", "/api/me", auth=b).status, 401, "past the absolute expiry")


def test_password_change_ends_every_session(s):
    email = "dora-%s@pregon.test" % secrets.token_hex(4)
    _, pw = s.create_user(email, "admin")
    one, two = s.login(email, pw), s.login(email, pw)
    r = s.request("POST", "/api/me/password", {"current_password": "nope nope nope",
                                               "new_password": "otra clave larga"}, auth=one)
    eq(r.status, 403, "wrong current password")
    r = s.request("POST", "/api/me/password", {"current_password": pw, "new_password": "short"},
                  auth=one)
    eq(r.status, 422, "weak password")
    eq(r.json()["error"]["field"], "new_password", "field")
    new = "una clave nueva y larga"
    r = s.request("POST", "/api/me/password", {"current_password": pw, "new_password": new},
                  auth=one)
    eq(r.status, 200, "changed")
    eq(s.request("GET", "/api/me", auth=one).status, 401, "old session one ended")
    eq(s.request("GET", "/api/me", auth=two).status, 401, "old session two ended")
    three = Session(re.match(r"pregon_session=([^;]+)", r.cookies[0]).group(1),
                    r.json()["csrf_token"], {})
    eq(s.request("GET", "/api/me", auth=three).status, 200, "this client got a new session")
    eq(s.login_response(email, pw).status, 401, "old password refused")
    check(s.login(email, new), "new password works")
    h = s.query("SELECT password_hash FROM users WHERE email = %s", (email,))[0]["password_hash"]
    check(h.startswith("$argon2id$"), "Argon2id hash: %s" % h[:20])


def test_user_management(s):
    email = "eva-%s@pregon.test" % secrets.token_hex(4)
    u, pw = s.create_user(email, "viewer", name="Eva")
    eq(u["role"], "viewer", "created")
    r = s.post("/api/users", {"email": email.upper(), "role": "admin", "password": pw + "1"})
    eq(r.status, 409, "e-mail taken, case-insensitively")
    for bad, field in (({"email": "no-at-sign", "role": "admin", "password": "x" * 12}, "email"),
                       ({"email": "x@y.z", "role": "god", "password": "abcdefghijkl"}, "role"),
                       ({"email": "x@y.z", "role": "admin", "password": "aaaaaaaaaaaa"},
                        "password"),
                       ({"email": "x@y.z", "role": "admin"}, "password")):
        r = s.post("/api/users", bad)
        check(r.status in (400, 422), "refused: %r" % r)
        eq(r.json()["error"].get("field"), field, "field named")
    r = s.post("/api/users", {"email": "x@y.z", "role": "admin", "password": "abcdefghijkl",
                              "is_root": True})
    eq(r.status, 400, "unknown members are refused")
    sess = s.login(email, pw)
    eq(s.request("POST", "/api/campaigns", {}, auth=sess).status, 403, "viewer cannot")
    r = s.request("PATCH", "/api/users/%d" % u["id"], {"role": "admin"})
    eq(r.status, 200, "role changed")
    check(s.request("POST", "/api/campaigns", {}, auth=sess).status != 403,
          "the new role applies at once")
    r = s.request("PATCH", "/api/users/%d" % u["id"], {"disabled": True})
    eq(r.status, 200, "disabled")
    eq(r.json()["disabled"], True, "shown disabled")
    eq(s.request("GET", "/api/me", auth=sess).status, 401, "sessions ended on disable")
    eq(s.login_response(email, pw).status, 401, "disabled users cannot sign in")
    eq(s.request("PATCH", "/api/users/%d" % u["id"], {"disabled": False}).status, 200, "enable")
    check(s.login(email, pw), "signs in again")
    eq(s.request("DELETE", "/api/users/%d" % u["id"]).status, 405, "users are never deleted")
    # a superadmin reset
    r = s.post("/api/users/%d/password" % u["id"], {"password": "reseteada por admin"})
    eq(r.status, 200, "reset")
    eq(s.login_response(email, pw).status, 401, "old password gone")
    # the last superadmin stays
    me = s.get("/api/me").json()["user"]
    r = s.request("PATCH", "/api/users/%d" % me["id"], {"disabled": True})
    eq(r.status, 409, "nobody disables themselves")
    others = s.query("SELECT id FROM users WHERE role = 'superadmin' AND disabled_at IS NULL "
                     "AND id <> %s", (me["id"],))
    for o in others:  # leave exactly one enabled superadmin, then put them back
        s.query("UPDATE users SET role = 'admin' WHERE id = %s", (o["id"],))
    try:
        r = s.request("PATCH", "/api/users/%d" % me["id"], {"role": "admin"})
        eq(r.status, 409, "the last superadmin cannot be demoted")
        eq(r.error_code(), "last_superadmin", "code")
    finally:
        for o in others:
            s.query("UPDATE users SET role = 'superadmin' WHERE id = %s", (o["id"],))
    lst = s.get("/api/users").json()["users"]
    check(any(x["email"] == email for x in lst), "listed")
    check("argon2" not in json.dumps(lst), "no hashes listed")


def raw_request(method, path, headers, port, body=None):
    """One request as sent (no redirect followed, Host as given): status, Location, body."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            c.putheader(k, v)
        c.putheader("Content-Length", str(len(body or b"")))
        c.endheaders(body)
        r = c.getresponse()
        return r.status, r.getheader("Location"), r.read()
    finally:
        c.close()


def test_csrf_and_origin(s):
    sess = fresh_session(s, "admin")
    r = s.request("POST", "/api/campaigns", {"name": "x"}, auth=sess, csrf=False)
    eq(r.status, 403, "no token")
    eq(r.error_code(), "csrf_failed", "code")
    r = s.request("POST", "/api/campaigns", {}, auth=sess, headers={"X-CSRF-Token": "A" * 43})
    eq(r.error_code(), "csrf_failed", "wrong token")
    eq(s.request("GET", "/api/campaigns", auth=sess, csrf=False).status, 200, "GET needs none")
    r = s.request("POST", "/api/campaigns", {}, auth=sess,
                  headers={"Origin": s.base, "X-CSRF-Token": sess.csrf})
    check(not denied(r), "same origin passes: %r" % r)
    for origin in ("http://evil.example", "null", s.base + ".evil.example",
                   "https://127.0.0.1:%d" % s.http_port, s.base + "/path"):
        r = s.request("POST", "/api/campaigns", {}, auth=sess, headers={"Origin": origin})
        eq(r.error_code(), "origin_mismatch", "Origin %s" % origin)
    r = s.request("POST", "/api/session", {"email": sess.email, "password": "x" * 12},
                  auth=None, headers={"Origin": "http://evil.example"})
    eq(r.error_code(), "origin_mismatch", "no cross-site sign-in")
    # One fixed origin (issue #17): neither the Host header nor a forwarded scheme makes
    # another origin acceptable; the development nginx answers one name only.
    for hdrs in ({"Host": "evil.example", "Origin": "http://evil.example"},
                 {"Host": "127.0.0.1:%d" % s.http_port, "X-Forwarded-Proto": "https",
                  "Origin": "https://127.0.0.1:%d" % s.http_port},
                 {"Host": "localhost:%d" % s.http_port,
                  "Origin": "http://localhost:%d" % s.http_port}):
        hdrs.update({"Cookie": sess.cookie, "X-CSRF-Token": sess.csrf,
                     "Content-Type": "application/json"})
        status, _, body = raw_request("POST", "/api/campaigns", hdrs, s.http_port, b"{}")
        check(status in (301, 421) or b"origin_mismatch" in body,
              "%r: %r %r" % (hdrs, status, body[:200]))
    status, _, _ = raw_request("GET", "/api/health", {"Host": "evil.example"}, s.http_port)
    eq(status, 421, "another Host")
    status, loc, _ = raw_request("GET", "/api/health", {"Host": "localhost:%d" % s.http_port},
                                 s.http_port)
    eq((status, loc), (301, s.base + "/api/health"), "localhost goes to the one origin")
    s.query("DELETE FROM login_failures", admin=True)


def test_audit_log(s):
    email = "fede-%s@pregon.test" % secrets.token_hex(4)
    u, pw = s.create_user(email, "viewer")
    sess = s.login(email, pw)
    s.login_response(email, "equivocada!!")
    s.request("POST", "/api/me/password", {"current_password": pw, "new_password": pw + "-2"},
              auth=sess)
    s.request("PATCH", "/api/users/%d" % u["id"], {"role": "admin"})
    sess = s.login(email, pw + "-2")
    s.request("DELETE", "/api/session", auth=sess)
    s.query("DELETE FROM login_failures", admin=True)
    r = s.get("/api/audit?limit=500")
    eq(r.status, 200, "audit")
    entries = r.json()["entries"]
    mine = [e for e in entries if e["target_id"] == u["id"] and e["target_type"] == "user"]
    acts = [e["action"] for e in reversed(mine)]
    eq(acts, ["user.create", "session.login", "session.login_failed", "user.password_change",
              "user.update", "session.login", "session.logout"], "actions in order")
    for e in mine:
        eq(e["address"], "127.0.0.1", "address")
        check(e["created_at"].endswith("Z"), "time")
    byact = {e["action"]: e for e in mine}
    eq(byact["user.create"]["actor"], s.admin_email, "actor of the creation")
    eq(byact["session.login_failed"]["actor"], "anonymous", "failed sign-ins are anonymous")
    eq(byact["session.login_failed"]["detail"]["email"], email, "attempted e-mail")
    eq(byact["user.update"]["detail"]["role"], "admin", "what changed")
    check(pw not in r.body, "no password in the audit log")
    # cursor pagination: pages of 2 cover the same entries, newest first, no repeats
    seen, before = [], None
    for _ in range(4):
        q = "/api/audit?limit=2" + ("&before=%d" % before if before else "")
        page = s.get(q).json()
        seen += [e["id"] for e in page["entries"]]
        before = page["next_before"]
        check(before, "a next page")
    eq(seen, [e["id"] for e in entries[:8]], "pages follow each other")
    eq(s.get("/api/audit?action=user.create&limit=1").json()["entries"][0]["action"],
       "user.create", "filter by action")
    for q in ("limit=0", "limit=501", "limit=abc", "before=-1", "before=1%00"):
        eq(s.get("/api/audit?" + q).status, 400, "bad parameter %s" % q)
    for role in ("viewer", "admin"):
        eq(s.get("/api/audit", auth=role).status, 403, "%s cannot read it" % role)
    # append-only for the application's database user too
    rid = entries[0]["id"]
    for sql in ("UPDATE audit_log SET action = 'x' WHERE id = %s",
                "DELETE FROM audit_log WHERE id = %s"):
        for admin in (False, True):
            try:
                s.query(sql, (rid,), admin=admin)
                raise AssertionError("%s worked (admin=%s)" % (sql, admin))
            except pymysql.err.MySQLError as e:
                check(e.args[0] in (1142, 1644), "refused: %r" % (e.args,))


def test_security_headers_on_every_answer(s):
    answers = {
        "static page": s.get("/", auth=None),
        "static asset": s.get("/app.js", auth=None),
        "static 404": s.get("/no-such-file.html", auth=None),
        "api": s.get("/api/health", auth=None),
        "api 401": s.get("/api/campaigns", auth=None),
        "api 404": s.get("/api/nothing", auth=None),
        "api 405": s.request("PUT", "/api/health", auth=None),
    }
    raw = {
        "nginx 413": raw_http(s, b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                                 b"5000000\r\nConnection: close\r\n\r\n"),
        "nginx 400": raw_http(s, b"GET /../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 b"Connection: close\r\n\r\n"),
    }
    eq(raw["nginx 413"][0], 413, "oversized webhook")
    check(raw["nginx 400"][0] in (400, 404), "path trick: %r" % (raw["nginx 400"],))
    check("root:" not in raw["nginx 400"][2], "no file outside www/")
    for what, (status, headers, body) in raw.items():
        answers[what] = type("R", (), {"headers": headers, "status": status, "body": body})
    for what, r in answers.items():
        h = r.headers
        check("default-src 'self'" in h.get("Content-Security-Policy", ""), "CSP on %s" % what)
        check("frame-ancestors 'none'" in h.get("Content-Security-Policy", ""), what)
        eq(h.get("X-Content-Type-Options"), "nosniff", "nosniff on %s" % what)
        eq(h.get("X-Frame-Options"), "DENY", "frame options on %s" % what)
        check(h.get("Referrer-Policy"), "Referrer-Policy on %s" % what)


def test_pregonctl_users(s):
    ctl = os.path.join(s.build, "bin", "pregonctl")
    conf = os.path.join(s.var, "pregon.conf")
    email = "gabi-%s@pregon.test" % secrets.token_hex(4)
    env = dict(s.env, PREGON_PASSWORD="desde la consola 1")
    r = subprocess.run([ctl, "-c", conf, "user-create", "--email", email, "--role", "admin"],
                       env=env, capture_output=True, text=True)
    eq(r.returncode, 0, r.stderr)
    check("desde la consola" not in r.stdout, "a given password is not printed")
    sess = s.login(email, "desde la consola 1")
    r = subprocess.run([ctl, "-c", conf, "user-reset-password", "--email", email],
                       env=dict(s.env), capture_output=True, text=True)
    eq(r.returncode, 0, r.stderr)
    m = re.search(r"^password: (\S+)$", r.stdout, re.M)
    check(m, "a generated password is printed once: %r" % r.stdout)
    eq(s.request("GET", "/api/me", auth=sess).status, 401, "sessions ended by the reset")
    check(s.login(email, m.group(1)), "the new password works")
    r = subprocess.run([ctl, "-c", conf, "user-init"], env=dict(s.env), capture_output=True,
                       text=True)
    eq((r.returncode, r.stdout), (0, ""), "user-init does nothing once users exist")
    check(s.admin_email in s.start_output, "make run names the first superadmin")
    actions = [a["action"] for a in s.query(
        "SELECT action FROM audit_log WHERE actor = 'pregonctl' ORDER BY id")]
    check("user.create" in actions and "user.password_reset" in actions, "pregonctl audited")
    # One creation path (lib/users.c): the same policy, reason and audit row as the API's.
    weak = "aaaaaaaaaaaa"
    api = s.request("POST", "/api/users", {"email": "w-" + email, "role": "viewer",
                                           "password": weak})
    eq(api.error_code(), "weak_password", "the API refuses a weak password")
    r = subprocess.run([ctl, "-c", conf, "user-create", "--email", "w-" + email, "--role",
                        "viewer"], env=dict(s.env, PREGON_PASSWORD=weak), capture_output=True,
                       text=True)
    eq(r.returncode, 1, "pregonctl refuses it too")
    eq(r.stderr.strip(), "pregonctl: " + api.json()["error"]["message"], "with the same reason")
    r = subprocess.run([ctl, "-c", conf, "user-reset-password", "--email", email],
                       env=dict(s.env, PREGON_PASSWORD=weak), capture_output=True, text=True)
    eq((r.returncode, r.stderr.strip()), (2, "pregonctl: " + api.json()["error"]["message"]),
       "and as a new password")
    rows = s.query("SELECT a.actor, a.detail, u.created_by FROM audit_log a JOIN users u ON "
                   "u.id = a.target_id WHERE a.action = 'user.create' AND u.email = %s",
                   (email,))
    eq(len(rows), 1, "one creation row")
    eq((rows[0]["actor"], rows[0]["created_by"]), ("pregonctl", "pregonctl"), "actor")
    eq(json.loads(rows[0]["detail"]), {"email": email, "role": "admin"}, "same detail as the API")


def test_no_secret_in_answers_or_logs(s):
    secrets_ = [s.secrets["SANDBOX_TOKEN"], s.secrets["SANDBOX_APP_SECRET"], s.admin_password,
                s.session.token, s.secrets["SANDBOX_VERIFY_TOKEN"]]
    # Meta's handshake carries the verify token in the query string: it must not be logged.
    r = s.get("/webhook?hub.mode=subscribe&hub.challenge=31337&hub.verify_token=" +
              s.secrets["SANDBOX_VERIFY_TOKEN"])
    eq(r.status, 200, "handshake")
    with open(os.path.join(s.var, "secret.key")) as f:
        secrets_.append(f.read().strip())
    bodies = []
    for r in routes(s):
        if r["method"] == "GET" and r["pattern"] != "/webhook":
            for id_ in ("1", "2", ID):
                bodies.append(s.get(re.sub(r"\{\*?\w+\}", id_, r["pattern"])).body)
    bodies.append(s.get("/api/me").body)
    for b in bodies:
        for sec in secrets_:
            check(sec not in b, "a secret in an API answer: %s" % b[:200])
    logdir = os.path.join(s.var, "log")
    for name in os.listdir(logdir):
        if name.startswith("sandbox"):
            continue  # the stand-in for Meta, which is given the token by design
        with open(os.path.join(logdir, name), errors="replace") as f:
            text = f.read()
        for sec in secrets_:
            check(sec not in text, "a secret in log %s" % name)


def _enc_columns():
    with open(os.path.join(ROOT, "ctl", "ctl-keys.c")) as f:
        return set(re.findall(r'\{"(\w+)", "(\w+_enc)"\}', f.read()))


def test_rotate_key(s):
    """Against a database of its own, so the stack's services keep their key."""
    found = {(r["TABLE_NAME"], r["COLUMN_NAME"]) for r in s.query(
        "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE "
        "TABLE_SCHEMA = 'pregon' AND COLUMN_NAME LIKE '%%\\_enc'", admin=True)}
    eq(found - _enc_columns(), set(), "every encrypted column is re-encrypted by rotate-key")
    db = "pregon_rot_%s" % secrets.token_hex(3)
    tmp = tempfile.mkdtemp(prefix="pregon-rot-")
    key = os.path.join(tmp, "secret.key")
    conf = os.path.join(tmp, "pregon.conf")
    with open(os.path.join(s.var, "pregon.conf")) as f:
        text = f.read()
    text = re.sub(r"(?m)^db_name = .*$", "db_name = " + db, text)
    text = re.sub(r"(?m)^secrets_key_file = .*$", "secrets_key_file = " + key, text)
    with open(conf, "w") as f:
        f.write(text)
    ctl = os.path.join(s.build, "bin", "pregonctl")
    env = {k: v for k, v in s.env.items() if k != "PREGON_SECRETS_KEY"}

    def run(*args, **extra):
        return subprocess.run([ctl, "-c", conf] + list(args), env=dict(env, **extra),
                              capture_output=True, text=True)

    def blobs():
        return s.query("SELECT id, access_token_enc, app_secret_enc FROM `%s`.wa_accounts "
                       "ORDER BY id" % db, admin=True)

    try:
        m = subprocess.run([os.path.join(ROOT, "scripts", "migrate.sh"),
                            os.path.join(s.var, "admin.cnf"), db, "pregon", "localhost",
                            "127.0.0.1"], capture_output=True, text=True)
        eq(m.returncode, 0, m.stderr)
        eq(run("key-create").returncode, 0, "key")
        for i in (1, 2):
            r = run("account-add", "--name", "A%d" % i, "--waba-id", "1%d" % i,
                    "--phone-number-id", "2%d" % i, PREGON_ACCESS_TOKEN="tok-%d-secret" % i,
                    PREGON_APP_SECRET="app-%d-secret" % i)
            eq(r.returncode, 0, r.stderr)
        eq(run("check").returncode, 0, "check before")
        with open(key) as f:
            old = f.read()
        before = blobs()
        r = run("rotate-key")
        eq(r.returncode, 0, r.stdout + r.stderr)
        check("re-encrypted 4 secrets" in r.stdout, r.stdout)
        with open(key) as f:
            new = f.read()
        check(new != old, "a new key")
        eq(stat.S_IMODE(os.stat(key).st_mode), 0o600, "key mode")
        with open(key + ".old") as f:
            eq(f.read(), old, "the old key is kept")
        eq(stat.S_IMODE(os.stat(key + ".old").st_mode), 0o600, "old key mode")
        check(not os.path.exists(key + ".new"), "no leftover")
        after = blobs()
        for a, b in zip(before, after):
            check(a["access_token_enc"] != b["access_token_enc"], "token re-encrypted")
            check(a["app_secret_enc"] != b["app_secret_enc"], "app secret re-encrypted")
        r = run("check")
        eq(r.returncode, 0, r.stdout)
        check("secrets: ok (4 decrypt)" in r.stdout, r.stdout)
        eq(s.query("SELECT COUNT(*) AS n FROM `%s`.audit_log WHERE action = "
                   "'secrets.rotate_key'" % db, admin=True)[0]["n"], 1, "audited")
        for out in (r.stdout, r.stderr):
            check("tok-1-secret" not in out and new.strip() not in out, "nothing printed")

        # A secret that does not decrypt: nothing changes at all.
        s.query("UPDATE `%s`.wa_accounts SET app_secret_enc = 'garbage-garbage-garbage-"
                "garbage-garbage-garbage' WHERE id = 2" % db, admin=True)
        before = blobs()
        r = run("rotate-key")
        check(r.returncode != 0, "refused")
        check("does not decrypt" in r.stderr, r.stderr)
        with open(key) as f:
            eq(f.read(), new, "key file unchanged")
        eq(blobs(), before, "database unchanged")
        check(not os.path.exists(key + ".new"), "no leftover new key")
        s.query("UPDATE `%s`.wa_accounts SET app_secret_enc = NULL WHERE id = 2" % db,
                admin=True)

        # Interrupted after COMMIT: the database uses KEY.new; the next run finishes.
        shutil.copy2(key, key + ".new")
        with open(key, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        r = run("rotate-key")
        eq(r.returncode, 0, r.stdout + r.stderr)
        check("finished an interrupted rotation" in r.stdout, r.stdout)
        with open(key) as f:
            eq(f.read(), new, "the key the database uses is in place")
        eq(run("check").returncode, 0, "check after resuming")

        r = run("rotate-key", PREGON_SECRETS_KEY=new.strip())
        eq(r.returncode, 2, "an environment key is not rotated by file")
    finally:
        s.query("DROP DATABASE IF EXISTS `%s`" % db, admin=True)
        shutil.rmtree(tmp, ignore_errors=True)
