"""Passwords checked against known, common and easily guessed ones (issue #17, ASVS 2.1.7):
cracklib's dictionary as Debian ships it (cracklib-runtime), through the one policy
(userauth_password_check), on every path that sets a password: the API's user creation, a
superadmin's reset, one's own change, and pregonctl's user-create and user-reset-password."""

import os
import secrets
import subprocess

from harness import check, eq

COMMON = ["Password123", "qwertyuiop", "iloveyou99", "1234567890"]


def ctl(s, *args, password):
    env = dict(s.env, PREGON_PASSWORD=password)
    return subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                           os.path.join(s.var, "pregon.conf")] + list(args),
                          capture_output=True, text=True, env=env)


def test_common_passwords_are_refused_everywhere(s):
    users = s.query("SELECT COUNT(*) AS n FROM users")[0]["n"]
    email = "pw-%s@pregon.test" % secrets.token_hex(4)
    for pw in COMMON:
        r = s.post("/api/users", {"email": email, "role": "viewer", "password": pw})
        eq((r.status, r.error_code(), r.json()["error"]["field"]),
           (422, "breached_password", "password"), "create with %s" % pw)
        check("common" in r.json()["error"]["message"], r.json()["error"]["message"])
    eq(s.query("SELECT COUNT(*) AS n FROM users")[0]["n"], users, "nobody created")
    u, pw = s.create_user(email, "viewer")
    r = s.post("/api/users/%d/password" % u["id"], {"password": "Password123"})
    eq((r.status, r.error_code()), (422, "breached_password"), "superadmin's reset")
    sess = s.login(email, pw)
    r = s.request("POST", "/api/me/password", {"current_password": pw,
                                                "new_password": "Password123"}, auth=sess)
    eq((r.status, r.error_code(), r.json()["error"]["field"]),
       (422, "breached_password", "new_password"), "own change")
    eq(s.request("GET", "/api/me", auth=sess).status, 200, "the session lives on")
    r = ctl(s, "user-create", "--email", "ctl-" + email, "--role", "viewer",
            password="Password123")
    check(r.returncode != 0 and "common" in r.stderr, "pregonctl user-create: %r" % r.stderr)
    r = ctl(s, "user-reset-password", "--email", email, password="Password123")
    check(r.returncode != 0 and "common" in r.stderr, "pregonctl reset: %r" % r.stderr)
    # a long phrase of one's own is fine
    r = ctl(s, "user-reset-password", "--email", email,
            password="la ñandú azul cruza el río %s" % secrets.token_hex(2))
    eq(r.returncode, 0, "pregonctl reset with a phrase: %s" % r.stderr)
    s.query("DELETE FROM login_failures", admin=True)
