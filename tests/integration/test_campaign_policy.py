"""Meta-policy safety, the campaign side (issue 16) through the real worker, the real webhook
path and the sandbox: the account switch stops a running campaign within one claim cycle, the
auto-pause is shared by every worker and counts failures Meta reports later, template pacing
holds a template's audience, and a campaign that cannot go on by itself becomes failed
(lib/campaign_state, lib/campaign_health)."""

import re
import time
from datetime import datetime, timedelta, timezone

from harness import check, eq
from workerkit import (AccountSettings, Workers, campaign, check_counters, make_campaign,
                       phones, received, sandbox_account, wait_status)


def sandbox_messages(s):
    out, after = [], 0
    while True:
        r = s.sandbox_get("/_sandbox/messages?limit=10000&after=%d" % after).json()
        out += r["messages"]
        if not r["messages"] or not r.get("next_after"):
            return out
        after = r["next_after"]


def of_campaign(msgs, cid):
    prefix = "pregon:%d:" % cid
    return [m for m in msgs if (m.get("callback_data") or "").startswith(prefix)]


def set_enabled(s, account_id, on):
    r = s.request("PATCH", "/api/accounts/%d" % account_id, {"campaigns_enabled": on})
    eq(r.status, 200, "PATCH campaigns_enabled: %r" % r)


def test_switch_off_stops_sending_within_a_claim_cycle(s):
    """campaigns_enabled off (through the API) while a campaign sends: paused with its own
    kind, nothing sent after one claim cycle, a scheduled campaign does not start; switched on
    again, the paused one waits for an operator and the scheduled one starts."""
    s.sandbox_post("/_sandbox/reset", {})
    # Latency: requests are in flight when the switch goes off.
    s.sandbox_post("/_sandbox/config", {"latency_ms": 150, "statuses": ["sent"]})
    acc = sandbox_account(s)
    try:
        with AccountSettings(s, throughput_mps=20, campaigns_enabled=1), Workers(s) as w:
            w.start()
            later = make_campaign(s, "Programada", phones("61", 4), start=False)
            at = datetime.now(timezone.utc) + timedelta(seconds=12)
            r = s.post("/api/campaigns/%d/start" % later, {
                "acknowledge_risk": True, "at": at.strftime("%Y-%m-%dT%H:%M:%S+00:00")})
            eq(r.status, 200, "scheduled: %r" % r)
            cid = make_campaign(s, "Interruptor", phones("60", 200))
            s.wait_for("sending", lambda: campaign(s, cid)["sent_count"] >= 20, timeout=30)
            t_off = time.time()
            set_enabled(s, acc["id"], False)
            c = wait_status(s, cid, ("paused",), timeout=5)
            took = time.time() - t_off
            check(took < 1.5, "paused within a claim cycle: %.2f s" % took)
            eq((c["pause_kind"], c["resumable"]), ("account_disabled", 1), "its own kind")
            check("campaigns_enabled" in c["pause_reason"], c["pause_reason"])
            # Past the scheduled time, with the switch still off.
            time.sleep(max(3.0, at.timestamp() - time.time() + 2.0))
            msgs = sandbox_messages(s)
            mine = of_campaign(msgs, cid)
            # One claim cycle (0.5 s) and the requests already in flight (150 ms).
            late = [m for m in mine if m["at_ms"] > (t_off + 1.0) * 1000]
            eq(late, [], "nothing sent after one claim cycle")
            check(20 <= len(mine) < 200, "part sent: %d" % len(mine))
            eq(campaign(s, later)["status"], "scheduled", "a scheduled campaign does not start")
            eq(of_campaign(msgs, later), [], "nothing of the scheduled campaign")
            # The operator cannot resume while the switch is off; the API says why.
            r = s.post("/api/campaigns/%d/resume" % cid, {})
            eq((r.status, r.error_code()), (409, "campaigns_disabled"), "resume refused")
            g = s.get("/api/campaigns/%d" % cid).json()
            eq((g["pause_kind"], g["resume_blocked"]["code"]),
               ("account_disabled", "campaigns_disabled"), "API detail")
            # On again: the paused campaign waits for an operator, the scheduled one starts.
            set_enabled(s, acc["id"], True)
            wait_status(s, later, ("running", "completed"), timeout=10)
            time.sleep(1.0)
            eq(campaign(s, cid)["status"], "paused", "does not resume by itself")
            eq(len(of_campaign(sandbox_messages(s), cid)), len(mine), "still nothing sent")
            r = s.post("/api/campaigns/%d/resume" % cid, {})
            eq(r.status, 200, "resumed by the operator: %r" % r)
            wait_status(s, cid, ("completed",), timeout=60)
            wait_status(s, later, ("completed",), timeout=30)
            got = received(s, cid)
            eq((len(got), max(got.values())), (200, 1), "every recipient once")
            check_counters(s, cid)
    finally:
        s.query("UPDATE wa_accounts SET campaigns_enabled = 1 WHERE id = %s", (acc["id"],),
                admin=True)
        s.sandbox_post("/_sandbox/reset", {})


def failed_by_worker(s, cid):
    return {r["worker_id"]: r["n"] for r in s.query(
        "SELECT worker_id, COUNT(*) AS n FROM send_log WHERE campaign_id = %s AND "
        "outcome = 'failed' GROUP BY worker_id", (cid,))}


def test_autopause_shared_by_two_workers(s):
    """Send-time failures (131026) of two workers count in one window kept in the database:
    the campaign pauses once more than 50 failures (and more than 50 %) are seen in all,
    long before either worker alone would have seen 51."""
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": "*", "code": 131026}]})
    try:
        with AccountSettings(s, throughput_mps=40), Workers(s) as w:
            p1, p2 = w.start(), w.start()
            s.wait_for("both workers up", lambda: s.query(
                "SELECT COUNT(*) AS n FROM workers WHERE stopped_at IS NULL AND pid IN (%s, %s)",
                (p1.pid, p2.pid))[0]["n"] == 2, timeout=30)
            # Small claims, so that both workers take turns from the start.
            cid = make_campaign(s, "Autopausa", phones("62", 400), batch_size=5)
            c = wait_status(s, cid, ("paused",), timeout=60)
            eq(c["pause_kind"], "circuit_breaker", "auto-pause")
            check(c["pause_reason"].startswith("circuit breaker: "), c["pause_reason"])
            n = int(re.match(r"circuit breaker: (\d+) errors", c["pause_reason"]).group(1))
            check(50 < n < 80, "paused once past the threshold: %s" % c["pause_reason"])
            s.wait_for("in-flight recorded", lambda: campaign(s, cid)["sending_count"] == 0,
                       timeout=20)
            per = failed_by_worker(s, cid)
            eq(len(per), 2, "both workers sent: %r" % per)
            check(min(per.values()) >= 5, "both failed: %r" % per)
            # A window per worker would have needed 51 from one of them (over 100 in all).
            check(sum(per.values()) < 100, "shared window: %r" % per)
            eq(s.query("SELECT COUNT(*) AS n FROM campaign_health WHERE campaign_id = %s",
                       (cid,))[0]["n"], 0, "the window starts afresh after the pause")
            check_counters(s, cid)
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_autopause_counts_webhook_failures(s):
    """Every send accepted, the failures (131026) reported only later by status webhooks:
    they count too, and the campaign pauses."""
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": "*", "code": 131026, "mode": "async"}],
                                        "webhook_delay_ms": 100})
    try:
        with AccountSettings(s, throughput_mps=40), Workers(s) as w:
            w.start()
            cid = make_campaign(s, "Autopausa webhook", phones("63", 400))
            c = wait_status(s, cid, ("paused",), timeout=60)
            eq(c["pause_kind"], "circuit_breaker", "auto-pause: %s" % c["pause_reason"])
            check("131026" in c["pause_reason"], c["pause_reason"])
            s.wait_for("in-flight recorded", lambda: campaign(s, cid)["sending_count"] == 0,
                       timeout=20)
            eq(failed_by_worker(s, cid), {}, "no send failed: Meta accepted every one")
            s.wait_webhooks_applied()
            check(campaign(s, cid)["failed_count"] > 50, "failed by webhook")
            check(len(received(s, cid)) < 400, "paused before the end")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_template_pacing_holds_until_first_statuses(s):
    """Meta answers held_for_quality_assessment: the template's audience waits (wait_reason)
    until the first statuses of the held messages arrive, then the campaign goes on."""
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"statuses": ["sent", "delivered"], "pacing": {
        "template": "recordatorio_clase", "hold_ms": 3000}})
    try:
        with AccountSettings(s, throughput_mps=20), Workers(s) as w:
            w.start()
            cid = make_campaign(s, "Pacing", phones("64", 60))
            c = s.wait_for("held", lambda: (lambda c: c if (c["wait_reason"] or "").startswith(
                "template pacing") else None)(campaign(s, cid)), timeout=20)
            g = s.get("/api/campaigns/%d" % cid).json()
            check(g["wait_reason"].startswith("template pacing: Meta holds recordatorio_clase"),
                  g["wait_reason"])
            t = s.query("SELECT pacing_wamid, pacing_until FROM templates WHERE "
                        "name = 'recordatorio_clase' AND language = 'es_AR'")[0]
            check(t["pacing_wamid"] and t["pacing_until"], "hold kept: %r" % t)
            first = of_campaign(sandbox_messages(s), cid)
            t0 = min(m["at_ms"] for m in first) / 1000.0
            time.sleep(1.5)
            held = of_campaign(sandbox_messages(s), cid)
            eq(len(held), len(first), "nothing more sent while held")
            check(len(held) < 60, "the rest waits: %d sent" % len(held))
            # Meta lets the template go: the first statuses arrive after the hold.
            s.sandbox_post("/_sandbox/config", {"pacing": None})
            s.wait_for("sending again",
                       lambda: len(of_campaign(sandbox_messages(s), cid)) > len(held), timeout=20)
            resumed = sorted(m["at_ms"] for m in of_campaign(sandbox_messages(s), cid))
            t1 = resumed[len(held)] / 1000.0
            check(t1 - t0 >= 2.5, "waited for the first statuses: %.2f s" % (t1 - t0))
            wait_status(s, cid, ("completed",), timeout=60)
            got = received(s, cid)
            eq((len(got), max(got.values())), (60, 1), "every recipient once")
            eq(s.query("SELECT pacing_wamid FROM templates WHERE name = 'recordatorio_clase' "
                       "AND language = 'es_AR'")[0]["pacing_wamid"], None, "hold over")
    finally:
        s.query("UPDATE templates SET pacing_wamid = NULL, pacing_until = NULL", admin=True)
        s.sandbox_post("/_sandbox/reset", {})


def test_template_pacing_window_passes(s):
    """No status ever comes (webhooks off): the hold ends when worker_pacing_hold_s passes."""
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"webhooks": False, "pacing": {
        "template": "recordatorio_clase", "hold_ms": 0}})
    try:
        with AccountSettings(s, throughput_mps=20), Workers(s, PREGON_WORKER_PACING_HOLD_S=2) as w:
            w.start()
            cid = make_campaign(s, "Pacing ventana", phones("66", 30))
            s.wait_for("held", lambda: (campaign(s, cid)["wait_reason"] or "").startswith(
                "template pacing"), timeout=20)
            s.sandbox_post("/_sandbox/config", {"pacing": None})
            wait_status(s, cid, ("completed",), timeout=30)
            eq(len(received(s, cid)), 30, "all sent once the window passed")
    finally:
        s.query("UPDATE templates SET pacing_wamid = NULL, pacing_until = NULL", admin=True)
        s.sandbox_post("/_sandbox/reset", {})


def test_token_revoked_fails(s):
    """190 (the token is revoked): the account's campaigns cannot go on by themselves and
    become failed, running and scheduled ones; resume is refused, a retry after a new token
    sends what is left."""
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": "*", "code": 190}]})
    try:
        with Workers(s) as w:
            w.start()
            later = make_campaign(s, "Token B", phones("65", 3), start=False)
            s.query("UPDATE campaigns SET status = 'scheduled', scheduled_at = NOW() + "
                    "INTERVAL 1 HOUR WHERE id = %s", (later,))
            cid = make_campaign(s, "Token A", phones("67", 3))
            c = wait_status(s, cid, ("failed",), timeout=30)
            check("190" in c["pause_reason"], c["pause_reason"])
            eq(c["resumable"], 0, "not resumable")
            c = campaign(s, later)
            eq(c["status"], "failed", "the account's scheduled campaign too")
            g = s.get("/api/campaigns/%d" % cid).json()
            eq(g["status"], "failed", "API")
            r = s.post("/api/campaigns/%d/resume" % cid, {})
            eq((r.status, r.error_code()), (409, "invalid_state"), "a failed one is not resumed")
            # The token is replaced: the operator retries, the rest is sent.
            s.sandbox_post("/_sandbox/config", {"errors": []})
            s.wait_for("in-flight recorded", lambda: campaign(s, cid)["sending_count"] == 0,
                       timeout=20)
            r = s.post("/api/campaigns/%d/retry" % cid, {"acknowledge_risk": True})
            eq(r.status, 200, "retry: %r" % r)
            wait_status(s, cid, ("completed",), timeout=30)
            eq(len(received(s, cid)), 3, "sent after the retry")
            check_counters(s, cid)
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_unknown_tier_counts_as_250_everywhere(s):
    """The messaging tier, one rule (account_tier_limit): a tier Pregón does not know (a new
    one of Meta's stored by a webhook) is 250 for the preflight and the account API, as for
    the worker; the preflight used to read it as no limit."""
    r = s.post("/api/accounts", {"name": "Tier raro", "waba_id": "990000000000002",
                                 "phone_number_id": "990000000000012", "sandbox": True})
    eq(r.status, 201, "account: %r" % r)
    aid = r.json()["id"]
    cid = None
    try:
        s.query("UPDATE wa_accounts SET messaging_tier = 'TIER_5M' WHERE id = %s", (aid,))
        a = s.get("/api/accounts/%d" % aid).json()
        eq((a["messaging_tier"], a["daily_unique_users_limit"]), ("TIER_5M", 250), "account")
        r = s.post("/api/campaigns", {"name": "Tier raro", "account_id": aid,
                                      "template_name": "recordatorio_clase",
                                      "template_language": "es_AR", "params": {"body": ["a"]}})
        eq(r.status, 201, "campaign: %r" % r)
        cid = r.json()["id"]
        p = s.post("/api/campaigns/%d/preflight" % cid).json()
        eq(p["daily_budget"]["limit"], 250, "preflight: %r" % p["daily_budget"])
        # The account API accepts only the tiers it knows.
        r = s.request("PATCH", "/api/accounts/%d" % aid, {"messaging_tier": "TIER_5M"})
        eq((r.status, r.error_code()), (400, "invalid_field"), "unknown tier refused")
        r = s.request("PATCH", "/api/accounts/%d" % aid, {"autopause_min_failures": 10,
                                                          "autopause_pct": 60,
                                                          "autopause_window": 200})
        eq(r.status, 200, "autopause settings: %r" % r)
        a = r.json()
        eq((a["autopause_min_failures"], a["autopause_pct"], a["autopause_window"]),
           (10, 60, 200), "autopause settings kept")
        r = s.request("PATCH", "/api/accounts/%d" % aid, {"autopause_pct": 101})
        eq((r.status, r.error_code()), (400, "invalid_field"), "pct over 100 refused")
    finally:
        if cid:
            s.request("DELETE", "/api/campaigns/%d" % cid)
        s.request("DELETE", "/api/accounts/%d" % aid)
