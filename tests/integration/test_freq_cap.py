"""The frequency cap across campaigns (issue 21) through the real worker and the sandbox: an
account allows at most freq_cap_count messages per person per window over every campaign of
its business; a campaign's recipients over it are skipped (blocked, reason frequency cap) or
wait until they fit (freq_cap_action); the preflight counts them; two workers claiming two
campaigns over the same people at once never let one past the cap (worker/claim.c, under the
business's lock row; sql/175_freq_cap.sql)."""

import json
import os
import subprocess
import time

from harness import check, eq
from workerkit import (AccountSettings, Workers, campaign, check_counters, make_campaign,
                       phones, sandbox_account, wait_status)


def sandbox_to(s):
    """Every message the sandbox accepted since its reset: {"+digits": count}."""
    out, after = {}, 0
    while True:
        r = s.sandbox_get("/_sandbox/messages?limit=10000&after=%d" % after).json()
        for m in r["messages"]:
            to = "+" + m["wa_id"]
            out[to] = out.get(to, 0) + 1
        if not r["messages"] or not r.get("next_after"):
            return out
        after = r["next_after"]


def fresh(s):
    """No history from earlier tests: the cap counts only this test's sends."""
    s.sandbox_post("/_sandbox/reset", {})
    s.query("DELETE FROM contact_sends", admin=True)


def rows_by_phone(s, cid):
    return {r["phone"]: r for r in s.query(
        "SELECT phone, status, last_error_text, sent_at, next_attempt_at FROM recipients "
        "WHERE campaign_id = %s", (cid,))}


def preflight(s, cid):
    r = s.post("/api/campaigns/%d/preflight" % cid, {})
    eq(r.status, 200, "preflight: %r" % r)
    return r.json()


def explain(s, name, args):
    p = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                        os.path.join(s.var, "pregon.conf"), "sql-explain", name,
                        json.dumps(args)], env=s.env, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "sql-explain %s: %s" % (name, p.stderr))
    return json.loads(p.stdout)


def test_freq_count_reads_the_key(s):
    # The claim's count: the numbers as a JSON table, then contact_sends by its key (never a
    # scan, whatever the statistics say).
    rows = explain(s, "queue.freq_count",
                   [86400, '["+5493878100000", "+5493878100001"]', "1", 1, 86400])
    eq(len(rows), 2, "two tables: %r" % rows)
    check(rows[0]["Extra"].startswith("Table function: json_table"), "first: %r" % rows)
    eq((rows[1]["table"], rows[1]["key"]), ("s", "PRIMARY"), "then by key: %r" % rows)
    check(rows[1]["type"] in ("ref", "eq_ref", "range"), "no scan: %r" % rows)


def test_account_and_campaign_settings_are_validated(s):
    acc = sandbox_account(s)
    before = s.query("SELECT freq_cap_count, freq_cap_window_s FROM wa_accounts WHERE id = %s",
                     (acc["id"],), admin=True)[0]
    try:
        for body, field in (({"freq_cap_count": -1}, "freq_cap_count"),
                            ({"freq_cap_count": 1001}, "freq_cap_count"),
                            ({"freq_cap_count": "1"}, "freq_cap_count"),
                            ({"freq_cap_window_s": 0}, "freq_cap_window_s"),
                            ({"freq_cap_window_s": 90 * 86400 + 1}, "freq_cap_window_s"),
                            ({"freq_cap_window_s": 1.5}, "freq_cap_window_s")):
            r = s.request("PATCH", "/api/accounts/%d" % acc["id"], body)
            eq(r.status, 400, "refused %r: %r" % (body, r))
            eq(r.json()["error"]["code"], "invalid_field", "code for %r" % body)
            eq(r.json()["error"].get("field"), field, "field named for %r: %r" % (body, r))
        r = s.request("PATCH", "/api/accounts/%d" % acc["id"],
                      {"freq_cap_count": 3, "freq_cap_window_s": 604800})
        eq(r.status, 200, "accepted: %r" % r)
        eq((r.json()["freq_cap_count"], r.json()["freq_cap_window_s"]), (3, 604800), "answered")
        got = s.get("/api/accounts/%d" % acc["id"]).json()
        eq((got["freq_cap_count"], got["freq_cap_window_s"]), (3, 604800), "read back")
    finally:
        s.query("UPDATE wa_accounts SET freq_cap_count = %s, freq_cap_window_s = %s "
                "WHERE id = %s", (before["freq_cap_count"], before["freq_cap_window_s"],
                                  acc["id"]), admin=True)
    # The campaign's action: wait by default, skip when asked, nothing else.
    r = s.post("/api/campaigns", {"name": "FC mal", "template_name": "recordatorio_clase",
                                  "template_language": "es_AR", "freq_cap_action": "never"})
    eq(r.status, 400, "bad action: %r" % r)
    eq(r.json()["error"].get("field"), "freq_cap_action", "field named: %r" % r)
    c = s.create_campaign(name="FC por defecto")
    eq(c["freq_cap_action"], "wait", "default")
    c2 = s.create_campaign(name="FC salta", freq_cap_action="skip")
    eq(c2["freq_cap_action"], "skip", "skip on create")
    r = s.request("PATCH", "/api/campaigns/%d" % c2["id"], {"freq_cap_action": "wait"})
    eq(r.status, 200, "edit: %r" % r)
    eq(s.get("/api/campaigns/%d" % c2["id"]).json()["freq_cap_action"], "wait", "edited")
    r = s.request("PATCH", "/api/campaigns/%d" % c2["id"], {"freq_cap_action": 1})
    eq(r.status, 400, "bad edit: %r" % r)


def test_skip_over_the_cap_and_preflight_counts(s):
    fresh(s)
    a_nums = phones("81", 20)
    b_nums = a_nums[10:] + phones("82", 10)  # 10 already sent by A, 10 new
    with AccountSettings(s, freq_cap_count=1, freq_cap_window_s=86400), Workers(s) as w:
        w.start()
        a = make_campaign(s, "FC A", a_nums)
        wait_status(s, a, ("completed",), timeout=120)
        b = make_campaign(s, "FC B", b_nums, start=False, freq_cap_action="skip")
        # The preflight counts the overlap: over the cap now, skipped, not among will_send.
        p = preflight(s, b)
        eq(p["recipients"]["over_freq_cap"], 10, "over the cap: %r" % p["recipients"])
        eq(p["recipients"]["will_send"], 10, "will send the rest: %r" % p["recipients"])
        eq(p["freq_cap"], {"count": 1, "window_s": 86400, "action": "skip"}, "cap shown")
        check("frequency_cap" in [x["code"] for x in p["warnings"]], "warned: %r" % p["warnings"])
        eq(s.post("/api/campaigns/%d/start" % b, {"acknowledge_risk": True}).status, 200, "start")
        wait_status(s, b, ("completed",), timeout=120)
        rows = rows_by_phone(s, b)
        for ph in a_nums[10:]:
            eq((rows[ph]["status"], rows[ph]["last_error_text"]),
               ("blocked", "frequency cap: not sent"), "skipped: %s" % ph)
        for ph in b_nums[10:]:
            check(rows[ph]["status"] in ("sent", "delivered", "read"), "sent: %r" % rows[ph])
        c = check_counters(s, b)
        eq(campaign(s, b)["blocked_count"], 10, "blocked counted: %r" % c)
        # The reason as the recipient list and the send log show it.
        j = s.get("/api/campaigns/%d/recipients?status=blocked&limit=50" % b).json()
        eq(len(j["recipients"]), 10, "listed")
        eq({x["error"]["key"] for x in j["recipients"]}, {"send.frequency_cap"}, "explained")
        logged = s.query("SELECT COUNT(*) AS n FROM send_log WHERE campaign_id = %s AND "
                         "outcome = 'blocked' AND error_text = 'frequency cap: not sent'", (b,))
        eq(logged[0]["n"], 10, "send log")
        got = sandbox_to(s)
        for ph in a_nums + b_nums:
            eq(got.get(ph, 0), 1, "the sandbox got %s once" % ph)
        # Once the history is no longer within the window, nobody is over it.
        s.query("UPDATE contact_sends SET sent_at = sent_at - INTERVAL 2 DAY", admin=True)
        eq(preflight(s, b)["recipients"]["over_freq_cap"], 0, "outside the window")


def test_wait_until_the_window_lets_them_through(s):
    fresh(s)
    window = 20
    a_nums = phones("83", 10)
    b_nums = a_nums + phones("84", 5)
    with AccountSettings(s, freq_cap_count=1, freq_cap_window_s=window), Workers(s) as w:
        w.start()
        a = make_campaign(s, "FC espera A", a_nums)
        wait_status(s, a, ("completed",), timeout=60)
        b = make_campaign(s, "FC espera B", b_nums, start=False)  # wait: the default
        p = preflight(s, b)
        eq(p["recipients"]["over_freq_cap"], 10, "over the cap: %r" % p["recipients"])
        eq(p["recipients"]["will_send"], 15, "they wait, still to be sent")
        eq(s.post("/api/campaigns/%d/start" % b, {"acknowledge_risk": True}).status, 200, "start")
        s.wait_for("the new ones sent", lambda: all(
            rows_by_phone(s, b)[ph]["status"] in ("sent", "delivered", "read")
            for ph in b_nums[10:]), timeout=30)
        # The pair rate alone would defer them worker_pair_gap_s + 2 = 8 s: the cap holds
        # them until A's claims leave the window.
        rows, ra = rows_by_phone(s, b), rows_by_phone(s, a)
        for ph in a_nums:
            eq(rows[ph]["status"], "pending", "waiting within the window: %r" % rows[ph])
            due = (rows[ph]["next_attempt_at"] - ra[ph]["sent_at"]).total_seconds()
            check(due >= window - 2, "%s due %.1f s after A's send (window %d)" % (ph, due, window))
        eq(campaign(s, b)["status"], "running", "not done while they wait")
        # and it says why (the worker writes its wait reason at its next pass)
        wt = s.wait_for("the wait reason", lambda: s.get(
            "/api/campaigns/%d" % b).json().get("waiting"), timeout=10)
        eq(wt["code"], "freq_cap", "waiting for the cap: %r" % wt)
        check(wt["message"].startswith("Frequency cap") and "within 20 s" in wt["detail"],
              "reason: %r" % wt)
        got = sandbox_to(s)
        eq(max(got.get(ph, 0) for ph in a_nums), 1, "none sent twice within the window")
        wait_status(s, b, ("completed",), timeout=60)
        ra, rb = rows_by_phone(s, a), rows_by_phone(s, b)
        for ph in a_nums:
            check(rb[ph]["status"] in ("sent", "delivered", "read"), "sent later: %r" % rb[ph])
            gap = (rb[ph]["sent_at"] - ra[ph]["sent_at"]).total_seconds()
            check(gap >= window - 1, "%s: second message %.1f s after the first (window %d)" % (
                ph, gap, window))
        got = sandbox_to(s)
        for ph in a_nums:
            eq(got.get(ph, 0), 2, "%s twice, a window apart" % ph)
        eq(campaign(s, b)["blocked_count"], 0, "nobody skipped")
        check_counters(s, b)


def test_two_workers_two_campaigns_same_people_cap_holds(s):
    n = int(os.environ.get("PREGON_FREQ_CAP_N", "2000"))
    fresh(s)
    nums = phones("85", n)
    with AccountSettings(s, freq_cap_count=1, freq_cap_window_s=86400,
                         throughput_mps=500), Workers(s) as w:
        w.start()
        w.start()
        a = make_campaign(s, "FC dos A", nums, start=False, freq_cap_action="skip")
        b = make_campaign(s, "FC dos B", nums, start=False, freq_cap_action="skip")
        t0 = time.time()
        for cid in (a, b):
            eq(s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True}).status, 200,
               "start")
        wait_status(s, a, ("completed",), timeout=300)
        wait_status(s, b, ("completed",), timeout=300)
        took = time.time() - t0
        got = sandbox_to(s)
        mine = {ph: got.get(ph, 0) for ph in nums}
        over = sum(v - 1 for v in mine.values() if v > 1)
        eq(over, 0, "messages over the cap")
        eq(sum(mine.values()), n, "each person exactly once")
        ca, cb = campaign(s, a), campaign(s, b)
        eq(ca["blocked_count"] + cb["blocked_count"], n, "the other campaign skipped each")
        check_counters(s, a)
        check_counters(s, b)
        workers = s.query("SELECT DISTINCT worker_id FROM send_log WHERE campaign_id IN (%s, %s) "
                          "AND outcome = 'sent'", (a, b))
        eq(len(workers), 2, "both workers sent")
        print("    freq cap, %d people x 2 campaigns, 2 workers: %.1f s; sent A %d B %d, "
              "skipped A %d B %d, over the cap 0" % (
                  n, took, ca["sent_count"],
                  cb["sent_count"],
                  ca["blocked_count"], cb["blocked_count"]))
