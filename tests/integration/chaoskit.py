"""The chaos run of issue 15, shared by bench/chaos (30,000 recipients) and
tests/integration/test_chaos.py (3,000): one campaign on the sandbox with every fault of the
issue (accept-then-reset, accept-then-gateway-502, accept-then-late-answer, sporadic 130429,
502 before acceptance, JSON 500 code 1/2, failed statuses later, duplicate and shuffled
webhooks retried on a long schedule), 2 workers at 400 msg/s configured, latency 80 +- 40 ms,
each worker SIGKILLed twice and MariaDB SIGKILLed and restarted once while it runs.
Duplicates are counted from the sandbox's record of what it accepted, not from ours."""

import re
import time

from workerkit import Workers, received

# Percent of sends (issue 15's figures).
FAULTS = {"accept_reset": 0.3, "accept_502": 0.3, "accept_late": 0.1, "late_ms": 40000,
          "throttle": 0.5, "pre_502": 0.5, "json_5xx": 0.5, "async_fail": 1.5,
          "webhook_duplicate": 5, "webhook_tries": 100000, "webhook_backoff_max_ms": 5000}
MPS = 400
METRIC = re.compile(r"^pregon_deadlock_retries_total(?:\{[^}]*\})? ([0-9.eE+-]+)$", re.M)


def deadlock_retries(s):
    r = s.get("/metrics")
    return sum(float(v) for v in METRIC.findall(r.body.decode() if isinstance(
        r.body, bytes) else r.body))


def create_campaign(s, n, account_id, tag):
    """A running campaign of n recipients, written straight into the database (as
    bench/worker does)."""
    conn = s.db(admin=True)
    try:
        with conn.cursor() as c:
            c.execute("INSERT INTO campaigns (account_id, name, template_name, template_language, "
                      "body_params, status, started_at, total_count, pending_count, batch_size) "
                      "VALUES (%s, %s, 'recordatorio_clase', 'es_AR', '[{\"column\": \"name\"}, "
                      "\"Robótica\", \"lunes\"]', 'running', NOW(3), %s, %s, 200)",
                      (account_id, "chaos %s" % tag, n, n))
            cid = c.lastrowid
            c.execute("INSERT INTO recipients (campaign_id, phone, vars) SELECT %s, "
                      "CONCAT('+54937%s', LPAD(seq, 7, '0')), CONCAT('{\"name\": \"N', seq, "
                      "'\"}') FROM seq_1_to_%d" % (cid, tag, n))
    finally:
        conn.close()
    return cid


def progress(s, cid):
    return s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND status NOT IN "
                   "('pending', 'sending')", (cid,))[0]["n"]


def outstanding(s, cid):
    """Recipients still to be sent now (pending due within the hour, or sending); those
    waiting 24 h for 131049 are not."""
    return s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND (status = "
                   "'sending' OR (status = 'pending' AND next_attempt_at < NOW() + INTERVAL 1 "
                   "HOUR))", (cid,))[0]["n"]


def run(s, n, tag="7", log=print, timeout=900):
    """Runs the chaos campaign on stack s (no worker of its own running) and returns the
    figures as an ordered list of (name, value)."""
    acc = s.query("SELECT id, throughput_mps, messaging_tier FROM wa_accounts WHERE "
                  "is_sandbox = 1 ORDER BY id LIMIT 1", admin=True)[0]
    s.query("UPDATE wa_accounts SET throughput_mps = %s, messaging_tier = 'TIER_UNLIMITED' "
            "WHERE id = %s", (MPS, acc["id"]), admin=True)
    try:
        return _run(s, n, tag, log, timeout, acc)
    finally:
        # The other tests of the suite expect the account as it was.
        s.query("UPDATE wa_accounts SET throughput_mps = %s, messaging_tier = %s WHERE id = %s",
                (acc["throughput_mps"], acc["messaging_tier"], acc["id"]), admin=True)


def _run(s, n, tag, log, timeout, acc):
    s.sandbox_post("/_sandbox/reset", {})
    r = s.sandbox_post("/_sandbox/config", {"latency_ms": 80, "latency_jitter_ms": 40,
                                            "rate_limit": 0, "record_requests": False,
                                            "webhook_delay_ms": 300, "faults": FAULTS})
    if r.status != 200:
        raise RuntimeError("sandbox config: %r" % r)
    dl0 = deadlock_retries(s)
    # A late answer (40 s) outlives the worker's timeout: in doubt after 10 s.
    w = Workers(s, PREGON_HTTP_TIMEOUT_MS=10000)
    try:
        cid = create_campaign(s, n, acc["id"], tag)
        a, b = w.start(), w.start()
        t0 = time.time()
        # Kills at these shares of the campaign done: A, B, MariaDB, A, B.
        plan = [(0.12, "a"), (0.25, "b"), (0.40, "db"), (0.55, "a"), (0.70, "b")]
        kills = {"a": 0, "b": 0, "db": 0}
        while plan:
            if time.time() - t0 > timeout:
                raise RuntimeError("chaos: the campaign did not get far enough in time")
            try:
                done = progress(s, cid) / float(n)
            except Exception:
                done = 0
            if done >= plan[0][0]:
                _, what = plan.pop(0)
                if what == "db":
                    log("   chaos: SIGKILL MariaDB at %.0f%%" % (done * 100))
                    s.restart_mariadb(down_s=1.0, sig=9)
                else:
                    p = a if what == "a" else b
                    log("   chaos: SIGKILL worker %s (pid %d) at %.0f%%" % (what, p.pid,
                                                                           done * 100))
                    w.kill(p)
                    np = w.start()
                    if what == "a":
                        a = np
                    else:
                        b = np
                kills[what] += 1
            time.sleep(0.2)
        while outstanding(s, cid):
            if time.time() - t0 > timeout:
                raise RuntimeError("chaos: recipients still outstanding after %ds" % timeout)
            time.sleep(0.5)
        took = time.time() - t0
        # Let the webhooks finish (the sandbox retries until our side takes them), then the
        # dead workers' claims are settled already (nothing is sending).
        deadline = time.time() + 120
        while time.time() < deadline:
            st = s.sandbox_get("/_sandbox/stats").json()
            if not st["webhooks_pending"] and not st["webhook_queue"]:
                break
            time.sleep(0.5)
        s.wait_webhooks_applied(timeout=60)
        time.sleep(1.0)
    finally:
        w.close()
    st = s.sandbox_get("/_sandbox/stats").json()
    got = received(s, cid)
    rows = s.query("SELECT id, status, sent_at IS NOT NULL AS was_sent FROM recipients WHERE "
                   "campaign_id = %s", (cid,))
    duplicates = sum(c - 1 for c in got.values() if c > 1)
    # Lost: we say it left but the sandbox never accepted it, or the sandbox accepted it and
    # we still say it never left (pending/failed before sending), or still outstanding.
    final_sent = ("sent", "delivered", "read")
    lost = 0
    for r in rows:
        acc_n = got.get(r["id"], 0)
        if r["status"] in final_sent and acc_n == 0:
            lost += 1
        elif r["status"] == "sending":
            lost += 1
    in_doubt = s.query("SELECT COUNT(DISTINCT recipient_id) AS n FROM send_log WHERE "
                       "campaign_id = %s AND outcome = 'unknown'", (cid,))[0]["n"]
    unknown_left = sum(1 for r in rows if r["status"] == "unknown")
    # Unknowns the sandbox did accept: webhooks should have settled them.
    unknown_accepted = sum(1 for r in rows if r["status"] == "unknown" and got.get(r["id"]))
    dl = deadlock_retries(s) - dl0
    sent = len(got)
    figures = [
        ("chaos_recipients", n),
        ("chaos_duplicates", duplicates),
        ("chaos_lost", lost),
        ("chaos_unknown_left", unknown_left),
        ("chaos_unknown_left_accepted", unknown_accepted),
        ("chaos_in_doubt", in_doubt),
        ("chaos_msgs_per_s", round(sent / took, 1)),
        ("chaos_deadlock_retries", int(dl)),
        ("chaos_deadlocks_per_10k", round(dl * 10000.0 / max(1, st["accepted"]), 2)),
        ("chaos_sandbox_accepted", st["accepted"]),
        ("chaos_sandbox_duplicates", st["duplicates"]),
        ("chaos_waiting_24h", sum(1 for r in rows if r["status"] == "pending")),
        ("chaos_failed", sum(1 for r in rows if r["status"] == "failed")),
        ("chaos_worker_kills", kills["a"] + kills["b"]),
        ("chaos_mariadb_kills", kills["db"]),
        ("chaos_seconds", round(took, 1)),
    ]
    for k, v in sorted(st.get("faults", {}).items()):
        figures.append(("chaos_fault_%s" % k, v))
    return figures
