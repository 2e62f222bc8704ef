"""Issue 15: answers that may follow acceptance are in doubt, never resent; the HTTP client
never resends by itself; webhooks settle what is in doubt. Duplicates are counted from the
sandbox's record of what it accepted, not from ours."""

import time

from harness import check, eq
from workerkit import AccountSettings, Workers, make_campaign, phones, received, wait_status


def log_rows(s, cid, phone):
    return [(r["outcome"], r["error_code"]) for r in s.query(
        "SELECT outcome, error_code FROM send_log WHERE campaign_id = %s AND phone = %s "
        "ORDER BY id", (cid, phone))]


def recipient(s, cid, phone):
    return s.query("SELECT * FROM recipients WHERE campaign_id = %s AND phone = %s",
                   (cid, phone))[0]


def test_reset_after_acceptance_on_a_reused_connection_is_never_resent(s):
    s.sandbox_post("/_sandbox/reset", {})
    n = phones("71", 24)
    # A slow pace: one kept-alive connection carries the sends one after another, so each
    # fault hits a reused connection (where libcurl would retry on a fresh one by itself).
    reset1, reset2, gw502, late, pre502, prereset, json500 = (n[4], n[8], n[11], n[14], n[17],
                                                              n[20], n[22])
    r = s.sandbox_post("/_sandbox/config", {"faults": {"late_ms": 4000}, "errors": [
        {"to": reset1, "fault": "accept_reset", "times": 1},
        {"to": reset2, "fault": "accept_reset", "times": 1},
        {"to": gw502, "fault": "accept_502", "times": 1},
        {"to": late, "fault": "accept_late", "times": 1},
        {"to": pre502, "fault": "pre_502", "times": 1},
        {"to": prereset, "fault": "pre_reset", "times": 1},
        {"to": json500, "code": 1, "times": 1}]})
    eq(r.status, 200, "sandbox config: %r" % r)
    try:
        with AccountSettings(s, throughput_mps=10):
            with Workers(s, PREGON_HTTP_TIMEOUT_MS=1500, PREGON_WORKER_INFLIGHT=4) as w:
                w.start()
                cid = make_campaign(s, "En duda", n)
                wait_status(s, cid, ("completed",), timeout=90)
                got = received(s, cid)
                ids = {p: recipient(s, cid, p)["id"] for p in n}
                # The sandbox's own record: nothing accepted twice.
                dup = {p: got.get(ids[p], 0) for p in n if got.get(ids[p], 0) > 1}
                eq(dup, {}, "recipients the sandbox accepted more than once")
                eq(s.sandbox_get("/_sandbox/stats").json()["duplicates"], 0, "sandbox duplicates")
                st = s.sandbox_get("/_sandbox/stats").json()["faults"]
                eq((st["accept_reset"], st["accept_502"], st["accept_late"], st["pre_502"],
                    st["pre_reset"]), (2, 1, 1, 1, 1), "every fault fired once")
                # Accepted, then no usable answer: in doubt, never retried.
                for p in (reset1, reset2, gw502, late):
                    eq(got.get(ids[p], 0), 1, "%s accepted once" % p)
                    eq(log_rows(s, cid, p), [("unknown", None)], "%s in doubt, no retry" % p)
                check("in doubt" in (s.query(
                    "SELECT error_text FROM send_log WHERE campaign_id = %s AND phone = %s",
                    (cid, gw502))[0]["error_text"] or ""), "the log says in doubt")
                # Reset after the request was read, nothing accepted: still in doubt (we
                # cannot know), stays unknown.
                eq(got.get(ids[prereset], 0), 0, "pre_reset never accepted")
                eq(log_rows(s, cid, prereset), [("unknown", None)], "pre_reset in doubt")
                # A gateway's 502 page is in doubt too (it cannot prove non-acceptance).
                eq(got.get(ids[pre502], 0), 0, "pre_502 never accepted")
                eq(log_rows(s, cid, pre502), [("unknown", None)], "pre_502 in doubt")
                # A Graph error JSON proves non-acceptance: retried, then sent.
                eq(log_rows(s, cid, json500), [("retry", 1), ("sent", None)], "JSON 500 code 1")
                eq(got.get(ids[json500], 0), 1, "code 1 sent once after its retry")
                # The status webhooks settle the accepted ones that were in doubt.
                s.wait_for("webhooks settle the in-doubt sends the sandbox accepted", lambda: all(
                    recipient(s, cid, p)["status"] in ("sent", "delivered", "read")
                    for p in (reset1, reset2, gw502, late)), timeout=60)
                eq(recipient(s, cid, prereset)["status"], "unknown", "nothing settles pre_reset")
                eq(recipient(s, cid, pre502)["status"], "unknown", "nothing settles pre_502")
                for p in n:
                    if p not in (prereset, pre502):
                        eq(got.get(ids[p], 0), 1, "%s accepted exactly once" % p)
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_in_doubt_resent_once_after_the_account_window(s):
    s.sandbox_post("/_sandbox/reset", {})
    n = phones("72", 8)
    # never accepted, then the resend goes through; never accepted twice: stays unknown;
    # accepted then reset: the webhook settles it before the window, never resent.
    once, twice, settled = n[2], n[4], n[6]
    s.sandbox_post("/_sandbox/config", {"errors": [
        {"to": once, "fault": "pre_reset", "times": 1},
        {"to": twice, "fault": "pre_reset", "times": 2},
        {"to": settled, "fault": "accept_reset", "times": 1}]})
    acc = s.query("SELECT id, in_doubt_resend_after_s FROM wa_accounts WHERE is_sandbox = 1 "
                  "ORDER BY id LIMIT 1", admin=True)[0]
    r = s.request("PATCH", "/api/accounts/%d" % acc["id"], {"in_doubt_resend_after_s": 3})
    eq(r.status, 200, "account setting: %r" % r)
    eq(r.json()["in_doubt_resend_after_s"], 3, "shown by the API")
    try:
        with AccountSettings(s, throughput_mps=10):
            with Workers(s, PREGON_WORKER_INFLIGHT=4) as w:
                w.start()
                cid = make_campaign(s, "Reenvio", n)
                s.wait_for("the once-reset recipient resent and sent", lambda: recipient(
                    s, cid, once)["status"] in ("sent", "delivered", "read"), timeout=60)
                s.wait_for("the twice-reset recipient resent and in doubt again", lambda: len(
                    log_rows(s, cid, twice)) >= 3, timeout=60)
                wait_status(s, cid, ("completed",), timeout=60)
                got = received(s, cid)
                ids = {p: recipient(s, cid, p)["id"] for p in n}
                eq(log_rows(s, cid, once), [("unknown", None), ("retry", None), ("sent", None)],
                   "resent once after the window")
                check("resent once" in s.query(
                    "SELECT error_text FROM send_log WHERE campaign_id = %s AND phone = %s AND "
                    "outcome = 'retry'", (cid, once))[0]["error_text"], "the log says so")
                eq(got.get(ids[once], 0), 1, "accepted once, after the resend")
                c = s.get("/api/campaigns/%d" % cid).json()
                eq(c["in_doubt"]["policy"], "resend_once_after", "the API says what happens")
                eq(c["in_doubt"]["resend_after_s"], 3, "and when")
        # Nothing more happens to the one in doubt twice, nor to the settled one.
        time.sleep(4)
        eq(log_rows(s, cid, twice), [("unknown", None), ("retry", None), ("unknown", None)],
           "resent only once")
        eq(recipient(s, cid, twice)["status"], "unknown", "stays unknown")
        eq(got.get(ids[twice], 0), 0, "never accepted")
        eq(log_rows(s, cid, settled), [("unknown", None)], "settled by its webhook: no resend")
        eq(received(s, cid).get(ids[settled], 0), 1, "accepted once")
        check(recipient(s, cid, settled)["status"] in ("sent", "delivered", "read"), "settled")
        c = s.get("/api/campaigns/%d" % cid).json()
        eq(c["in_doubt"]["count"], 1, "one in doubt left")
    finally:
        s.query("UPDATE wa_accounts SET in_doubt_resend_after_s = %s WHERE id = %s",
                (acc["in_doubt_resend_after_s"], acc["id"]), admin=True)
        s.sandbox_post("/_sandbox/reset", {})
