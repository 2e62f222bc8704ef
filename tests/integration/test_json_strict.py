"""Strict JSON bodies through nginx (issue #17), from tests/data/json-strict/cases.txt: invalid
UTF-8 (overlongs, surrogates, above U+10FFFF), U+0000 and duplicate keys are refused with 400
invalid_json naming the member, by every JSON endpoint, and nothing is stored."""

import os
import re

from harness import ROOT, check, eq

ENDPOINTS = [("POST", "/api/contacts"), ("POST", "/api/campaigns"), ("POST", "/api/users"),
             ("POST", "/api/opt-outs"), ("POST", "/api/session"), ("POST", "/api/accounts")]
TABLES = ("contacts", "campaigns", "users", "opt_outs", "wa_accounts")


def cases():
    path = os.path.join(ROOT, "tests", "data", "json-strict", "cases.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            expect, member, raw = line.split("\t", 2)
            body = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                          raw.encode("utf-8"))
            yield expect, (None if member == "-" else member), raw, body


def counts(s):
    return [s.query("SELECT COUNT(*) AS n FROM %s" % t)[0]["n"] for t in TABLES]


def test_every_json_endpoint_refuses_what_is_not_strict_json(s):
    before = counts(s)
    n = 0
    for expect, member, raw, body in cases():
        for method, path in ENDPOINTS:
            r = s.request(method, path, body, headers={"Content-Type": "application/json"})
            what = "%s %s %s: %r" % (method, path, raw, r)
            if expect == "ok":
                check(r.status < 500 and r.error_code() != "invalid_json", what)
                continue
            eq(r.status, 400, what)
            eq(r.error_code(), "invalid_json", what)
            if member is not None:
                eq(r.json()["error"].get("field"), member, what)
            n += 1
    check(n > 50, "cases ran")
    # the "ok" cases may have created a contact or campaign; nothing else is stored
    after = counts(s)
    eq([after[2], after[3], after[4]], [before[2], before[3], before[4]], "nothing stored")
