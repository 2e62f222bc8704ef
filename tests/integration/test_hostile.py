"""Hostile input: SQL and HTML kept verbatim and harmless, oversized and broken bodies, path
and cookie tricks: a clear 4xx and nothing stored, never a 5xx."""

import json
import secrets

from harness import check, eq

NASTY = [
    "'; DROP TABLE users; --",
    "\" OR \"1\"=\"1",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "Robert'); DELETE FROM campaigns WHERE ('1'='1",
    "\\\\x00 \\u0000 %00 %s %n ${jndi:ldap://x}",
    "ñandú \u202e gnp.exe \U0001F600",
]


def count(s, table):
    return s.query("SELECT COUNT(*) AS n FROM %s" % table)[0]["n"]


def test_sql_and_html_in_text_are_stored_verbatim(s):
    for i, text in enumerate(NASTY):
        email = "nasty%d-%s@pregon.test" % (i, secrets.token_hex(3))
        u, _ = s.create_user(email, "viewer", name=text)
        eq(u["name"], text, "returned verbatim")
        r = s.get("/api/users/%d" % u["id"])
        check(r.headers["Content-Type"].startswith("application/json"), "JSON, never HTML")
        eq(r.headers.get("X-Content-Type-Options"), "nosniff", "no sniffing")
        eq(r.json()["name"], text, "read back verbatim")
        eq(s.query("SELECT name FROM users WHERE id = %s", (u["id"],))[0]["name"], text,
           "stored verbatim")
        c = s.create_campaign(name=text)
        eq(s.get("/api/campaigns/%d" % c["id"]).json()["name"], text, "campaign name verbatim")
    check(count(s, "users") > 0 and count(s, "campaigns") > 0, "the tables are still there")
    # in CSV fields too
    c = s.create_campaign(name="CSV hostil")
    csv = "phone,name,consent\n+5493875557001,\"%s\",si\n" % NASTY[0].replace('"', '""')
    eq(s.upload(c["id"], csv).status, 200, "upload")
    v = s.query("SELECT vars FROM recipients WHERE campaign_id = %s", (c["id"],))[0]["vars"]
    eq(json.loads(v)["name"], NASTY[0], "CSV field verbatim")
    # and where they are only looked up
    r = s.login_response("' OR '1'='1'@x.y", "' OR '1'='1' --")
    eq(r.status, 401, "SQL in the sign-in")
    r = s.get("/api/audit?actor=%27%20OR%201%3D1%20--")
    eq((r.status, r.json()["entries"]), (200, []), "SQL in a filter matches nothing")
    s.query("DELETE FROM login_failures", admin=True)


def test_oversized_and_broken_bodies_store_nothing(s):
    users = count(s, "users")
    big = {"email": "big@pregon.test", "role": "admin", "password": "x" * 12,
           "name": "a" * 40000}
    for path in ("/api/session", "/api/users", "/api/me/password"):
        r = s.post(path, big)
        eq(r.status, 413, "oversized body to %s" % path)
        eq(r.error_code(), "body_too_large", "code")
    broken = ['{"email": "a@b.c", "role": "admin"', "[]", "null", "",
              '{"email": "a@b.c"} trailing', '{"name": "\xff"}'.encode("latin-1"),
              "{" * 5000 + "}" * 5000]
    for path in ("/api/session", "/api/users", "/api/users/1", "/api/me/password",
                 "/api/users/1/password"):
        method = "PATCH" if path == "/api/users/1" else "POST"
        for b in broken:
            r = s.request(method, path, b, headers={"Content-Type": "application/json"})
            check(400 <= r.status < 500, "%s %s with %r: %r" % (method, path, b[:20], r))
            if path != "/api/session" or b not in ("", "[]"):
                eq(r.error_code(), "invalid_json", "%s %r" % (path, b[:20]))
    r = s.post("/api/users", {"email": "c@d.e", "role": "admin", "password": "x" * 12,
                              "name": "con\u0000nul"})
    eq((r.status, r.error_code(), r.json()["error"].get("field")), (400, "invalid_json", "name"),
       "U+0000 in a name (issue #17)")
    r = s.post("/api/users", {"email": "c@d.e", "role": ["admin"], "password": 123456789012})
    check(400 <= r.status < 500, "wrong types: %r" % r)
    eq(count(s, "users"), users, "nothing stored")
    s.query("DELETE FROM login_failures", admin=True)


def test_broken_csv_stores_nothing_and_says_why(s):
    c = s.create_campaign(name="CSV roto 2")
    bad = {
        "UTF-16": "phone,name\n+5493875558001,Ana\n".encode("utf-16"),
        "NUL bytes": b"phone,name\n+5493875558002,A\x00na\n\"+5493875558003,Beto\n",
        "stray quote": b'phone,name\n+5493875558004,An"a\n',
        "unterminated": b'phone,name\n"+5493875558005,Ana\n',
        "too many fields": b"phone" + b",x" * 400 + b"\n",
    }
    for what, body in bad.items():
        r = s.upload(c["id"], body)
        check(400 <= r.status < 500, "%s: %r" % (what, r))
        check(r.json().get("error", {}).get("message"), "%s: a reason" % what)
        eq(count_recipients(s, c["id"]), 0, "%s: nothing stored" % what)
    # A field over 64 KiB in a row drops that row only, with its line and reason.
    r = s.upload(c["id"], b"phone,name\n+5493875558006," + b"x" * 70000 + b"\n")
    eq(r.status, 200, "field too long: %r" % r)
    eq([(x["line"], x["reason"]) for x in r.json()["rejected"]], [(2, "field_too_long")],
       "field too long: the row's line")
    eq(count_recipients(s, c["id"]), 0, "field too long: nothing stored")


def count_recipients(s, cid):
    return s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s", (cid,))[0]["n"]


def test_path_tricks(s):
    # (nginx resolves "1%2F..%2F2" to /api/users/2 before we see it: the same resource.)
    for path in ("/api/users/%2e%2e", "/api/users/1%2F..%2F..%2F..%2Fetc", "/api/users/01",
                 "/api/users/-1", "/api/users/1.0", "/api/users/1;2", "/api/users/1%00",
                 "/api/users/0x1", "/API/users", "/api/users/",
                 "/api/users/99999999999999999999", "/api/%75sers/1x", "/api/users/%0a1"):
        r = s.get(path)
        check(r.status in (400, 404), "%s: %r" % (path, r))
        check("password" not in r.body, path)
    for path in ("/../var/secret.key", "/%2e%2e/%2e%2e/etc/passwd", "/www/../../var/pregon.conf",
                 "/.git/config", "/var/secret.key"):
        r = s.get(path, auth=None)
        check(r.status in (400, 403, 404), "%s: %r" % (path, r))
        check("db_password" not in r.body and "root:" not in r.body, path)


def test_hostile_cookies_and_parameters(s):
    for cookie in ("pregon_session=" + "A" * 4000, "pregon_session=", "pregon_session",
                   "pregon_session=%s" % ("A" * 42 + "="), "pregon_session=" + "+" * 43,
                   "pregon_session=\"" + "A" * 43, ";" * 500, "a=" + "b;" * 1000,
                   "pregon_session=%s; pregon_session=%s" % ("A" * 43, s.session.token)):
        r = s.get("/api/me", headers={"Cookie": cookie})
        eq(r.status, 401, "cookie %r" % cookie[:40])
    # the first cookie of a name counts (the browser sends the most specific first)
    r = s.get("/api/me", headers={"Cookie": "pregon_session=%s; pregon_session=%s"
                                            % (s.session.token, "A" * 43)})
    eq(r.status, 200, "first cookie")
    for q in ("limit=1e3", "limit=9999999999999999999999", "limit=%2B5", "before=0x10",
              "actor=%00", "action=%ff%fe", "limit=%205", "limit="):
        eq(s.get("/api/audit?" + q).status, 400, q)
    eq(s.get("/api/audit?limit=1&limit=x").status, 200, "the first of a name counts")
