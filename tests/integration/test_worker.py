"""The sending worker (issue 4): claims on the index, exactly once across workers and crashes,
MariaDB restarts, the rate across workers, errors by class, shutdown, drain, schedules and the
pace rules (window, daily cap, tier, pair rate, progressive start, opt-outs)."""

import json
import os
import random
import signal
import subprocess
import time

from harness import check, eq, throttle_allowance
from workerkit import (AccountSettings, Workers, campaign, check_counters, make_campaign,
                       phones, received, settle_unknowns, wait_status)


def explain(s, name, args):
    """EXPLAIN of the named statement the programs run (lib/queue.c, lib/sendlog.c...,
    pregonctl sql-explain): the plan rows, as objects by column."""
    p = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                        os.path.join(s.var, "pregon.conf"), "sql-explain", name,
                        json.dumps(args)], env=s.env, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "sql-explain %s: %s" % (name, p.stderr))
    return json.loads(p.stdout)


def test_sql_explain_knows_the_worker_statements(s):
    p = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                        os.path.join(s.var, "pregon.conf"), "sql-explain"], env=s.env,
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "list: %s" % p.stderr)
    names = {line.split("\t")[0] for line in p.stdout.splitlines()}
    for n in ("queue.claim_first", "queue.claim_after", "queue.stale_claims",
              "queue.renew_lock", "queue.renew_leases", "queue.pair_pace", "queue.record_sent", "person.blocked",
              "sendlog.insert", "campaign_store.set_wait_reason"):
        check(n in names, "%s listed: %r" % (n, sorted(names)))
    # A wrong argument list is refused, not explained with whatever came.
    p = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                        os.path.join(s.var, "pregon.conf"), "sql-explain", "queue.claim_first",
                        "[1]"], env=s.env, capture_output=True, text=True, timeout=60)
    eq(p.returncode, 1, "bad arguments: %s" % p.stdout)


def test_claim_query_uses_the_index(s):
    cid = make_campaign(s, "EXPLAIN", phones("01", 3), start=False)
    # The worker's claim, the very statement it runs (lib/queue.c), first and after a full
    # claim.
    # The same within a worker's share of the queue (CRC32(phone) % live workers).
    for name, args in (("queue.claim_first", [cid, 200]),
                       ("queue.claim_after", [cid, "2000-01-01", "2000-01-01", "+5493870", 200]),
                       ("queue.claim_part_first", [cid, 2, 1, 200]),
                       ("queue.claim_part_after", [cid, 2, 1, "2000-01-01", "2000-01-01",
                                                   "+5493870", 200]),
                       # on a cluster: the share's plain read, then its rows locked by key
                       ("queue.peek_part_first", [cid, 2, 1, 200]),
                       ("queue.peek_part_after", [cid, 2, 1, "2000-01-01", "2000-01-01",
                                                  "+5493870", 200])):
        rows = explain(s, name, args)
        eq(len(rows), 1, "one table")
        r = rows[0]
        eq(r["key"], "ix_recipients_queue", "claim index: %r" % r)
        check(r["type"] in ("range", "ref"), "no full scan: %r" % r)
        check("filesort" not in (r["Extra"] or ""), "no filesort: %r" % r)
    # Recovery and lease renewal find the in-flight ('sending') rows campaign by campaign
    # (sql/091_recipients_queue_index.sql).
    r = explain(s, "queue.claim_ids", [[1, 2]])[0]
    check(r["key"] == "PRIMARY" and r["type"] == "range", "the share locked by key: %r" % r)
    for name in ("queue.stale_claims", "queue.stale_any"):
        plan = explain(s, name, [[cid, cid + 1], 1])
        r = [x for x in plan if x["table"] == "r"][0]
        eq(r["key"], "ix_recipients_queue", "recovery index (%s): %r" % (name, r))
        check(r["type"] in ("range", "ref"), "recovery: no full scan: %r" % r)
    # The owner's liveness (a subquery: looked up by key, or the live workers materialized
    # once from an index), never a scan of workers.
    r = [x for x in plan if x["table"] == "w"][0]
    check(r["key"] and r["type"] in ("eq_ref", "ref", "range"), "owner by index: %r" % r)
    # Lease renewal: this worker's in-flight rows locked without waiting, then updated by id.
    r = explain(s, "queue.renew_lock", [[cid, cid + 1], 1])[0]
    check(r["key"] in ("ix_recipients_queue", "uq_recipients_phone") and
          r["type"] in ("range", "ref"), "lease renewal lock: %r" % r)
    r = explain(s, "queue.renew_leases", [60, [1, 2]])[0]
    check(r["key"] == "PRIMARY" and r["type"] == "range", "lease renewal by id: %r" % r)
    # The claim's checks by number and the recording of sends: the numbers (ids) as a JSON
    # table first, then one lookup by key each, never a scan of opt_outs, contact_pace or
    # recipients, whatever the statistics say (STRAIGHT_JOIN, FORCE INDEX).
    nums = '["+5493870100000", "+5493870100001"]'
    for name, args, table, key in (
            ("person.blocked", [nums], "o", "PRIMARY"),
            ("queue.pair_pace", [5, nums, "1"], "c", "PRIMARY"),
            ("queue.record_sent", ['[[1, "wamid.x"]]', 1], "r", "PRIMARY")):
        rows = explain(s, name, args)
        eq(len(rows), 2, "two tables: %r" % rows)
        eq(rows[0]["Extra"].startswith("Table function: json_table"), True, "first: %r" % rows)
        eq((rows[1]["table"], rows[1]["key"], rows[1]["type"]), (table, key, "eq_ref"),
           "then by key: %r" % rows)


def test_two_workers_10000_recipients_each_once(s):
    s.sandbox_post("/_sandbox/reset", {})
    # The sandbox enforces the number's 1000/s as Meta does (a sliding second, counted where
    # the requests arrive), so an excess is a 130429 the workers must absorb.
    s.sandbox_post("/_sandbox/config", {"record_requests": False, "statuses": ["sent"],
                                        "rate_limit": 1000})
    try:
        with AccountSettings(s, throughput_mps=1000), Workers(s) as w:
            w.start()
            w.start()
            nums = phones("10", 10000)
            t0 = time.time()
            cid = make_campaign(s, "Diez mil", nums)
            wait_status(s, cid, ("completed",), timeout=120)
            took = time.time() - t0
            got = received(s, cid)
            eq(len(got), 10000, "every recipient reached the sandbox")
            eq(max(got.values()), 1, "none twice")
            st = s.sandbox_get("/_sandbox/stats").json()
            eq(st["duplicates"], 0, "sandbox duplicates")
            mps = max(st["max_per_second"].values())
            # The workers pace at 992/s; the arrival times add the stack's scheduling jitter
            # (harness.throttle_allowance). Any 130429 was retried: every recipient once, above.
            allowed = throttle_allowance(10000)
            check(st["rate_limited"] <= allowed, "130429 answers: %d (at most %d)" % (
                st["rate_limited"], allowed))
            rows = check_counters(s, cid)
            eq(rows.get("sent", 0) + rows.get("delivered", 0) + rows.get("read", 0), 10000, "sent")
            workers = s.query("SELECT DISTINCT worker_id FROM send_log WHERE campaign_id = %s",
                              (cid,))
            eq(len(workers), 2, "both workers sent")
            log = {r["outcome"]: r["n"] for r in s.query(
                "SELECT outcome, COUNT(*) AS n FROM send_log WHERE campaign_id = %s "
                "GROUP BY outcome", (cid,))}
            eq(log, {"sent": 10000, **({"retry": st["rate_limited"]} if st["rate_limited"] else {})},
               "one 'sent' log row each, one 'retry' row per 130429")
            print("      10000 recipients, 2 workers, 1000/s: %.1fs, max %d in a second, "
                  "%d answered 130429" % (took, mps, st["rate_limited"]))
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def quiet(s, cid, still_s=3):
    """Waits until nothing changes any more: sends, webhooks, recoveries."""
    def snap():
        st = s.sandbox_get("/_sandbox/stats").json()
        rows = s.query("SELECT status, COUNT(*) AS n FROM recipients WHERE campaign_id = %s "
                       "GROUP BY status", (cid,))
        return (st["accepted"], st.get("webhooks_pending", 0),
                tuple(sorted((r["status"], r["n"]) for r in rows)))
    last, since = snap(), time.time()
    deadline = time.time() + 90
    while time.time() < deadline:
        time.sleep(0.5)
        now = snap()
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= still_s and not now[1]:
            return
    raise AssertionError("campaign %d never settled: %r" % (cid, last))


def test_kill_9_at_random_moments_nothing_twice_nothing_lost(s):
    s.sandbox_post("/_sandbox/reset", {})
    # Answers after 150 ms, so kills catch requests in flight, and posts statuses 5 s later,
    # after the recovery made those unknown: the webhooks must settle them.
    s.sandbox_post("/_sandbox/config", {"record_requests": False, "latency_ms": 150,
                                        "webhook_delay_ms": 5000})
    rnd = random.Random(4)
    try:
        with AccountSettings(s, throughput_mps=400), Workers(s) as w:
            a, b = w.start(), w.start()
            nums = phones("20", 3000)
            cid = make_campaign(s, "kill -9", nums)
            live = [a, b]
            for i in range(5):
                time.sleep(rnd.uniform(0.4, 1.4))
                victim = live.pop(rnd.randrange(len(live)))
                w.kill(victim, signal.SIGKILL)
                live.append(w.start())
            wait_status(s, cid, ("completed",), timeout=120)
            quiet(s, cid)
            got = received(s, cid)
            check(max(got.values()) == 1, "nothing sent twice")
            eq(s.sandbox_get("/_sandbox/stats").json()["duplicates"], 0, "sandbox duplicates")
            unknown_total = s.query("SELECT COUNT(DISTINCT recipient_id) AS n FROM send_log "
                                    "WHERE campaign_id = %s AND outcome = 'unknown'",
                                    (cid,))[0]["n"]
            never_left = settle_unknowns(s, cid, got)
            # Statuses only move forward: the sandbox's read status ends every received one.
            rows = {r["status"]: r["n"] for r in s.query(
                "SELECT status, COUNT(*) AS n FROM recipients WHERE campaign_id = %s "
                "GROUP BY status", (cid,))}
            eq(rows.get("read", 0), len(got), "every received one read: %r" % rows)
            for rid in never_left:
                check(rid not in got, "an unknown recipient that was received: %d" % rid)
            eq(len(got) + len(never_left), 3000, "every recipient either received or in doubt")
            check_counters(s, cid)
            print("      %d in doubt after 5 kills: %d settled by webhooks, %d never left" % (
                unknown_total, unknown_total - len(never_left), len(never_left)))
            check(unknown_total > len(never_left), "some in-doubt sends were settled by webhooks")
            # The operator retries the unknowns that never left: each goes out once.
            if never_left:
                s.query("UPDATE recipients SET status = 'pending' WHERE id IN (%s)" % ",".join(
                    str(x) for x in never_left), admin=True)
                s.query("UPDATE campaigns SET status = 'running', unknown_count = unknown_count "
                        "- %s, pending_count = pending_count + %s WHERE id = %s",
                        (len(never_left), len(never_left), cid), admin=True)
                wait_status(s, cid, ("completed",), timeout=60)
                quiet(s, cid)
            got = received(s, cid)
            eq(len(got), 3000, "all received in the end")
            eq(max(got.values()), 1, "still none twice")
            check_counters(s, cid)
            eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND "
                       "status IN ('sending', 'pending')", (cid,))[0]["n"], 0, "nothing left")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_mariadb_restart_mid_campaign(s):
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"record_requests": False, "statuses": ["sent"]})
    try:
        with AccountSettings(s, throughput_mps=500), Workers(s, PREGON_WORKER_DEAD_S=30) as w:
            w.start()
            nums = phones("30", 3000)
            cid = make_campaign(s, "MariaDB restart", nums)
            s.wait_for("sending", lambda: campaign(s, cid)["sent_count"] > 300, timeout=30)
            s.restart_mariadb(down_s=2)
            wait_status(s, cid, ("completed",), timeout=120)
            got = received(s, cid)
            eq(len(got), 3000, "nothing lost")
            eq(max(got.values()), 1, "nothing twice")
            rows = check_counters(s, cid)
            eq(rows.get("unknown", 0), 0, "no unknowns: the worker kept its results")
            eq(s.query("SELECT COUNT(*) AS n FROM send_log WHERE campaign_id = %s AND "
                       "outcome = 'sent'", (cid,))[0]["n"], 3000, "every send logged once")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def log_rows(s, cid, phone):
    return [(r["outcome"], r["error_code"]) for r in s.query(
        "SELECT outcome, error_code FROM send_log WHERE campaign_id = %s AND phone = %s "
        "ORDER BY id", (cid, phone))]


def recipient(s, cid, phone):
    return s.query("SELECT * FROM recipients WHERE campaign_id = %s AND phone = %s",
                   (cid, phone))[0]


def test_errors_by_class(s, base=40, **env):
    s.sandbox_post("/_sandbox/reset", {})
    n = phones(str(base + 0), 7)
    retry, throttle, ecosystem, undeliverable, stopped, business_blocked, opted = n
    s.sandbox_post("/_sandbox/config", {"errors": [
        {"to": retry, "code": 131000, "times": 1},
        {"to": throttle, "code": 130429, "times": 1},
        {"to": ecosystem, "code": 131049, "times": -1},
        {"to": undeliverable, "code": 131026, "times": -1},
        {"to": stopped, "code": 131050, "times": -1},
        {"to": business_blocked, "code": 130403, "times": -1}]})
    try:
        with Workers(s, **env) as w:
            w.start()
            # issue 3: an upload refuses numbers already opted out, so the opt-out comes after
            # it, before the start.
            cid = make_campaign(s, "Errores", n, start=False)
            s.query("INSERT IGNORE INTO opt_outs (phone, source) VALUES (%s, 'api')", (opted,))
            eq(s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True}).status, 200,
               "start")
            s.wait_for("retries done", lambda: recipient(s, cid, retry)["status"] == "read" and
                       recipient(s, cid, throttle)["status"] in ("sent", "delivered", "read"),
                       timeout=90)
            eq(log_rows(s, cid, retry), [("retry", 131000), ("sent", None)], "retryable")
            eq(log_rows(s, cid, throttle), [("retry", 130429), ("sent", None)], "throughput")
            r = recipient(s, cid, ecosystem)
            eq(r["status"], "pending", "131049 waits")
            check(r["next_attempt_at"].timestamp() > time.time() + 23.9 * 3600,
                  "no sooner than 24 h: %s" % r["next_attempt_at"])
            eq(log_rows(s, cid, ecosystem), [("retry", 131049)], "131049 log")
            eq(recipient(s, cid, undeliverable)["status"], "failed", "131026 fails")
            eq(log_rows(s, cid, undeliverable), [("failed", 131026)], "131026 log")
            eq(recipient(s, cid, stopped)["status"], "blocked", "131050 blocks")
            eq(log_rows(s, cid, stopped), [("blocked", 131050)], "131050 log")
            check(s.query("SELECT * FROM opt_outs WHERE phone = %s AND source = 'error_131050'",
                          (stopped,)), "131050 adds to the opt-out list")
            check(s.query("SELECT * FROM opt_out_events WHERE phone = %s", (stopped,)),
                  "and an opt-out event")
            eq(recipient(s, cid, business_blocked)["status"], "blocked", "130403")
            eq(recipient(s, cid, opted)["status"], "blocked", "opted out before sending")
            eq(log_rows(s, cid, opted), [("blocked", None)], "opt-out log row")
            check(opted not in [m["to"] for m in s.sandbox_get(
                "/_sandbox/messages?limit=1000").json()["messages"]], "the opted-out never sent")
            check_counters(s, cid)

            # Campaign level: a template problem pauses this campaign, with the reason.
            s.sandbox_post("/_sandbox/config", {"errors": [{"to": "*", "code": 132001}]})
            c2 = make_campaign(s, "Plantilla", phones(str(base + 1), 3))
            c = wait_status(s, c2, ("paused",), timeout=30)
            check("132001" in c["pause_reason"], "reason names the code: %s" % c["pause_reason"])
            check(s.query("SELECT * FROM send_log WHERE campaign_id = %s AND error_code = 132001",
                          (c2,)), "logged")
            # Sends already in flight when the pause was recorded come back as they finish.
            s.wait_for("recipients wait, not failed", lambda: s.query(
                "SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND "
                "status = 'pending'", (c2,))[0]["n"] == 3, timeout=20)
            check_counters(s, c2)

            # Parameter errors that repeat pause the campaign.
            s.sandbox_post("/_sandbox/config", {"errors": [{"to": "*", "code": 132000}]})
            c3 = make_campaign(s, "Parametros", phones(str(base + 2), 8))
            c = wait_status(s, c3, ("paused",), timeout=30)
            check("parameter errors repeat" in c["pause_reason"], c["pause_reason"])

            # Account level: every campaign of the account pauses, nothing else is sent (368:
            # restricted for policy; 190, a revoked token, fails them: test_campaign_policy).
            s.sandbox_post("/_sandbox/config", {"errors": [{"to": "*", "code": 368}]})
            # The other campaign is scheduled before the first one can fail.
            c5 = make_campaign(s, "Cuenta B", phones(str(base + 4), 3), start=False)
            s.query("UPDATE campaigns SET status = 'scheduled', scheduled_at = NOW() + "
                    "INTERVAL 1 HOUR WHERE id = %s", (c5,))
            c4 = make_campaign(s, "Cuenta A", phones(str(base + 3), 3))
            c = wait_status(s, c4, ("paused",), timeout=30)
            check("368" in c["pause_reason"], c["pause_reason"])
            c = campaign(s, c5)
            eq(c["status"], "paused", "the account's other campaigns pause too")
            check("368" in c["pause_reason"], c["pause_reason"])

            # Circuit breaker over the last attempts: the figures are in the reason.
            s.sandbox_post("/_sandbox/config", {"errors": [], "error_rate": {
                "code": 131000, "percent": 100}})
        # (seed 003's rule with a lower count: more than 10 failures and more than 50 %)
        with AccountSettings(s, autopause_min_failures=10), \
                Workers(s, PREGON_WORKER_MAX_ATTEMPTS=9) as w:
            w.start()
            c6 = make_campaign(s, "Interruptor", phones(str(base + 5), 12))
            c = wait_status(s, c6, ("paused",), timeout=60)
            check(c["pause_reason"].startswith("circuit breaker: "), c["pause_reason"])
            check("errors in the last" in c["pause_reason"], c["pause_reason"])
            check_counters(s, c6)
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_errors_by_class_row_by_row(s):
    """The same with the worker's bulk statements executed row by row, as on a server without
    MariaDB's array binding (MySQL): lib/db.c db_exec_bulk's other path."""
    test_errors_by_class(s, base=80, PREGON_DB_NO_BULK=1)


def test_sandbox_at_80_per_second_gets_no_130429(s):
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"rate_limit": 80, "record_requests": False})
    try:
        acc = s.query("SELECT throughput_mps FROM wa_accounts WHERE is_sandbox = 1")[0]
        eq(acc["throughput_mps"], 80, "default pace")
        with Workers(s) as w:
            w.start()
            w.start()
            cid = make_campaign(s, "Ochenta", phones("50", 480))
            wait_status(s, cid, ("completed",), timeout=60)
            st = s.sandbox_get("/_sandbox/stats").json()
            check(st["rate_limited"] <= throttle_allowance(480), "no 130429: %d" %
                  st["rate_limited"])
            check(max(st["max_per_second"].values()) <= 80, st["max_per_second"])
            eq(s.query("SELECT COUNT(*) AS n FROM send_log WHERE campaign_id = %s AND "
                       "error_code = 130429", (cid,))[0]["n"], st["rate_limited"],
               "each one logged (and retried: the campaign completed)")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_a_heartbeat_in_progress_does_not_orphan_live_claims(s):
    """Another worker's recovery must not take the claims of a worker whose heartbeat is being
    written: its workers row is locked then. A stale-claim query that joined workers under
    SKIP LOCKED skipped that row and saw the live claims as ownerless (a cluster run: ~200
    'claim recovered by another worker' at a campaign's start, where the node's applier
    locks the row while it applies the heartbeat). The worker's very statement (pregonctl
    sql-explain lists its text) runs while the row is locked, as another worker's would."""
    p = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                        os.path.join(s.var, "pregon.conf"), "sql-explain"], env=s.env,
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "list: %s" % p.stderr)
    stale = [line.split("\t") for line in p.stdout.splitlines()
             if line.startswith("queue.stale_claims\t")][0]
    eq(stale[1], "Li", "its arguments: the campaigns, the asking worker")
    s.sandbox_post("/_sandbox/reset", {})
    # Answers take 3 s: the worker's claims stay in flight ('sending', armed).
    s.sandbox_post("/_sandbox/config", {"record_requests": False, "latency_ms": 3000})
    try:
        with AccountSettings(s, throughput_mps=20), Workers(s) as w:
            w.start()
            owner_log = os.path.join(s.var, "log", "wtest%d.log" % w.n)
            seen = os.path.getsize(owner_log)
            cid = make_campaign(s, "Latido", phones("74", 40))
            owner = s.wait_for("claims in flight", lambda: (lambda r: r[0]["w"] if r else None)(
                s.query("SELECT MIN(claimed_by) AS w FROM recipients WHERE campaign_id = %s AND "
                        "status = 'sending' AND armed_at IS NOT NULL HAVING w IS NOT NULL",
                        (cid,))), timeout=30)
            sql = (stale[2].replace("%s", "\0").replace("%", "%%").replace("?", "%s")
                   .replace("\0", "%s"))
            hb, other = s.db(), s.db()
            try:
                with hb.cursor() as h, other.cursor() as o:
                    h.execute("BEGIN")
                    h.execute("SELECT id FROM workers WHERE id = %s FOR UPDATE", (owner,))
                    o.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    o.execute("BEGIN")
                    o.execute(sql, (cid, owner + 1000))
                    taken = o.fetchall()
                    o.execute("ROLLBACK")
                    h.execute("ROLLBACK")
            finally:
                hb.close()
                other.close()
            eq(len(taken), 0, "live claims taken as a dead worker's: %r" % (taken[:5],))
            wait_status(s, cid, ("completed",), timeout=60)
            got = received(s, cid)
            eq(len(got), 40, "every recipient sent")
            eq(max(got.values()), 1, "nothing sent twice")
            eq(campaign(s, cid)["unknown_count"], 0, "nothing in doubt")
            check_counters(s, cid)
            with open(owner_log, "rb") as f:
                f.seek(seen)
                check(b"recovered by another worker" not in f.read(), "the owner lost no claim")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_sigterm_finishes_records_releases_exits_0(s):
    with AccountSettings(s, throughput_mps=20), Workers(s) as w:
        p = w.start()
        cid = make_campaign(s, "SIGTERM", phones("60", 200))
        s.wait_for("some sent", lambda: campaign(s, cid)["sent_count"] >= 10, timeout=30)
        eq(w.kill(p, signal.SIGTERM), 0, "exit status")
        c = campaign(s, cid)
        eq(c["sending_count"], 0, "nothing left claimed")
        eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND "
                   "(status = 'sending' OR armed_at IS NOT NULL)", (cid,))[0]["n"], 0, "rows")
        eq(c["unknown_count"], 0, "nothing in doubt after a clean stop")
        check(c["pending_count"] > 0, "the rest waits")
        check_counters(s, cid)
        eq(s.query("SELECT stopped_at IS NOT NULL AS s FROM workers ORDER BY id DESC LIMIT 1")[0]
           ["s"], 1, "unregistered")
        s.query("UPDATE campaigns SET status = 'paused' WHERE id = %s", (cid,))


def test_campaign_completes_with_its_last_result(s):
    # The recorder completes the campaign in the transaction that records the last results,
    # not at the claimer's next look at the campaigns (every 0.5 s): completed_at is when the
    # last outcome was logged. Five campaigns, so that the old way could not pass by chance.
    with Workers(s) as w:
        w.start()
        for k in range(5):
            cid = make_campaign(s, "Completa %d" % k, phones("71", 20)[k * 4:k * 4 + 4])
            wait_status(s, cid, ("completed",), timeout=30)
            gap = s.query("SELECT TIMESTAMPDIFF(MICROSECOND, (SELECT MAX(created_at) FROM "
                          "send_log WHERE campaign_id = %s), completed_at) / 1e6 AS g FROM "
                          "campaigns WHERE id = %s", (cid, cid))[0]["g"]
            check(0 <= gap < 0.1, "campaign %d completed %.3f s after its last result" %
                  (cid, gap))
            check_counters(s, cid)


def test_drain_mode_exits_and_never_overlaps(s):
    with Workers(s) as w:
        cid = make_campaign(s, "Drain", phones("61", 20))
        t0 = time.time()
        a = w.start("--drain", "20")
        time.sleep(0.5)
        b = w.start("--drain", "20")
        eq(b.wait(timeout=10), 0, "the second drain exits at once")
        check(time.time() - t0 < 5, "at once")
        wait_status(s, cid, ("completed",), timeout=30)
        eq(a.wait(timeout=30), 0, "the drain exits by itself when done")
        check(time.time() - t0 < 21, "within its time")
        with open(s.var + "/log/wtest2.log") as f:
            check("another draining worker" in f.read(), "says why")


def test_scheduled_campaigns(s):
    with Workers(s) as w:
        w.start()
        on_time = make_campaign(s, "Programada", phones("62", 3), start=False)
        s.query("UPDATE campaigns SET status = 'scheduled', scheduled_at = NOW(3) + INTERVAL 2 "
                "SECOND WHERE id = %s", (on_time,))
        late = make_campaign(s, "Atrasada", phones("63", 3), start=False)
        s.query("UPDATE campaigns SET status = 'scheduled', scheduled_at = NOW(3) - INTERVAL 1 "
                "HOUR WHERE id = %s", (late,))
        c = wait_status(s, late, ("paused",), timeout=10)
        check("missed" in c["pause_reason"], c["pause_reason"])
        eq(c["sent_count"], 0, "an overdue schedule does not fire")
        c = wait_status(s, on_time, ("running", "completed"), timeout=10)
        lag = (c["started_at"] - c["scheduled_at"]).total_seconds()
        check(0 <= lag < 2, "started on time (%.2fs late)" % lag)
        wait_status(s, on_time, ("completed",), timeout=30)


def test_send_window_and_daily_cap_wait(s):
    tz = s.query("SELECT timezone FROM wa_accounts WHERE is_sandbox = 1")[0]["timezone"]
    with Workers(s) as w:
        w.start()
        # A window that is closed now in the account's timezone (two hours from now).
        hour = int(subprocess.run(["date", "+%H"], env={"TZ": tz}, capture_output=True,
                                  text=True).stdout)
        start, end = (hour + 2) % 24, (hour + 3) % 24
        cid = make_campaign(s, "Ventana", phones("64", 3), start=False)
        s.query("UPDATE campaigns SET send_window_start = %s, send_window_end = %s WHERE id = %s",
                (start, end, cid))
        s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True})
        s.wait_for("wait reason", lambda: campaign(s, cid)["wait_reason"], timeout=10)
        c = campaign(s, cid)
        check("send window" in c["wait_reason"], c["wait_reason"])
        time.sleep(1)
        eq(campaign(s, cid)["sent_count"], 0, "nothing sent outside the window")
        eq(campaign(s, cid)["status"], "running", "it waits, it does not fail")
        s.query("UPDATE campaigns SET send_window_start = %s, send_window_end = %s WHERE id = %s",
                (hour, (hour + 1) % 24, cid))
        c = wait_status(s, cid, ("completed",), timeout=30)
        eq(c["wait_reason"], None, "no reason once it sends")

        cid = make_campaign(s, "Tope diario", phones("65", 8), start=False)
        s.query("UPDATE campaigns SET daily_cap = 5 WHERE id = %s", (cid,))
        s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True})
        s.wait_for("cap reached", lambda: "daily cap" in (campaign(s, cid)["wait_reason"] or ""),
                   timeout=30)
        time.sleep(1)
        c = campaign(s, cid)
        eq(c["sent_count"], 5, "five sent, the rest wait for tomorrow")
        eq(c["pending_count"], 3, "pending")
        s.query("UPDATE campaigns SET status = 'paused' WHERE id = %s", (cid,))


def test_messaging_tier_waits_and_resumes(s):
    # The tier counts the business's unique users of the last 24 h (contact_pace): this test
    # fills it itself with 250 numbers of a reserved country code (+999) that nothing sends to,
    # whatever ran before it, and takes them out again.
    waba = s.query("SELECT waba_id FROM wa_accounts WHERE is_sandbox = 1 ORDER BY id LIMIT 1",
                   admin=True)[0]["waba_id"]
    filler = ["+999%010d" % i for i in range(250)]
    conn = s.db(True)
    try:
        with conn.cursor() as c:
            c.executemany("INSERT INTO contact_pace (waba_id, phone, last_send_at) VALUES "
                          "(%s, %s, NOW(3)) ON DUPLICATE KEY UPDATE last_send_at = NOW(3)",
                          [(waba, p) for p in filler])
        conn.commit()
    finally:
        conn.close()
    try:
        with Workers(s) as w, AccountSettings(s, messaging_tier="TIER_250"):
            w.start()
            used = s.query("SELECT COUNT(*) AS n FROM contact_pace WHERE waba_id = %s AND "
                           "last_send_at > NOW(3) - INTERVAL 1 DAY", (waba,))[0]["n"]
            check(used >= 250, "the tier is used up (%d)" % used)
            # Three new users; a retry (a 130429 earlier, say) to a user the tier already
            # counted; and a claim of a worker that stopped before sending it (never armed), to
            # a user counted at that claim: the recovery gives it back, and it goes like the
            # retry (a claim given back kept the never-tried time and waited for the tier's
            # window, 24 h). The new users wait.
            nums = phones("66", 5)
            cid = make_campaign(s, "Tier", nums, start=False)
            for p in nums[3:]:
                s.query("INSERT INTO contact_pace (waba_id, phone, last_send_at) VALUES "
                        "(%s, %s, NOW(3)) ON DUPLICATE KEY UPDATE last_send_at = NOW(3)",
                        (waba, p), admin=True)
            s.query("UPDATE recipients SET attempts = 1, next_attempt_at = NOW(3) - INTERVAL 1 "
                    "SECOND WHERE campaign_id = %s AND phone = %s", (cid, nums[3]), admin=True)
            gone = s.query("INSERT INTO workers (host, pid, stopped_at) VALUES ('gone', 0, "
                           "NOW(3)) RETURNING id", admin=True)[0]["id"]
            s.query("UPDATE recipients SET status = 'sending', attempts = 1, claim_token = 77, "
                    "claimed_by = %s, lease_until = NOW(3) + INTERVAL 1 HOUR WHERE "
                    "campaign_id = %s AND phone = %s", (gone, cid, nums[4]), admin=True)
            s.query("UPDATE campaigns SET pending_count = pending_count - 1, sending_count = "
                    "sending_count + 1 WHERE id = %s", (cid,), admin=True)
            eq(s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True}).status, 200,
               "start")
            s.wait_for("tier reason", lambda: "messaging tier" in (
                campaign(s, cid)["wait_reason"] or ""), timeout=15)
            s.wait_for("the retry and the claim given back sent",
                       lambda: campaign(s, cid)["sent_count"] == 2, timeout=15)
            time.sleep(1)
            eq(campaign(s, cid)["sent_count"], 2, "nothing to a new user over the tier")
            eq(sorted(r["phone"] for r in s.query(
                "SELECT phone FROM recipients WHERE campaign_id = %s AND status <> 'pending'",
                (cid,))), nums[3:], "the retry and the claim given back are what went")
            s.query("UPDATE wa_accounts SET messaging_tier = 'TIER_UNLIMITED' WHERE "
                    "is_sandbox = 1", admin=True)
            wait_status(s, cid, ("completed",), timeout=40)
    finally:
        s.query("DELETE FROM contact_pace WHERE waba_id = %s AND phone LIKE '+999%%'", (waba,),
                admin=True)


def test_pair_rate_across_campaigns(s):
    num = phones("67", 1)
    with Workers(s) as w:
        w.start()
        a = make_campaign(s, "Par A", num)
        b = make_campaign(s, "Par B", num)
        wait_status(s, a, ("completed",), timeout=30)
        wait_status(s, b, ("completed",), timeout=30)
        msgs = [m for m in s.sandbox_get("/_sandbox/messages?limit=10000").json()["messages"]
                if m["to"] == num[0]]
        eq(len(msgs), 2, "both campaigns reached the number")
        gap = abs(msgs[1]["at_ms"] - msgs[0]["at_ms"]) / 1000.0
        check(gap >= 6, "never two messages to one number within 6 s: %.2fs" % gap)


def test_a_throttled_message_is_retried_without_a_pair_gap(s):
    """A message refused with 130429 never reached its person: its claim's pace note is taken
    back (sql/178), so the retry does not wait out the pair gap (6 s + 2) for it, and the
    tier does not count the person for the refused attempt."""
    s.sandbox_post("/_sandbox/reset", {})
    n = phones("68", 3)
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": n[1], "code": 130429, "times": 1}]})
    try:
        with Workers(s) as w:
            w.start()
            cid = make_campaign(s, "Throttle sin espera", n)
            wait_status(s, cid, ("completed",), timeout=30)
            eq(log_rows(s, cid, n[1]), [("retry", 130429), ("sent", None)], "refused, then sent")
            t = [r["created_at"] for r in s.query(
                "SELECT created_at FROM send_log WHERE campaign_id = %s AND phone = %s "
                "ORDER BY id", (cid, n[1]))]
            gap = (t[1] - t[0]).total_seconds()
            check(gap < 6, "retried %.2f s after the refusal, not after a pair gap" % gap)
            p = s.query("SELECT prev_send_at, pace_token FROM contact_pace WHERE phone = %s",
                        (n[1],))[0]
            eq(str(p["prev_send_at"]), "2000-01-01 00:00:00",
               "the retry's note follows the refused one taken back")
            check(p["pace_token"], "the retry's claim noted it")
            got = [m["to"] for m in s.sandbox_get("/_sandbox/messages?limit=1000").json()[
                "messages"]]
            eq(sorted(got), sorted(n), "each once")
            check_counters(s, cid)
    finally:
        s.sandbox_post("/_sandbox/config", {"errors": []})


def test_progressive_start_raises_step_by_step(s):
    with Workers(s, PREGON_WORKER_RAMP_STEPS="5,10", PREGON_WORKER_RAMP_EVERY=10) as w:
        w.start()
        t0 = time.time()
        cid = make_campaign(s, "Progresivo", phones("68", 40))
        wait_status(s, cid, ("completed",), timeout=60)
        took = time.time() - t0
        eq(campaign(s, cid)["ramp_step"], 2, "went through both steps")
        # 10 at 5/s, 10 at 10/s, then the number's own pace: about 3 s at least.
        check(took >= 2.8, "began slowly: %.1fs" % took)
        times = sorted(r["t"] for r in s.query(
            "SELECT UNIX_TIMESTAMP(created_at) AS t FROM send_log WHERE campaign_id = %s",
            (cid,)))
        first10 = float(times[9] - times[0])
        check(first10 >= 1.6, "the first ten at about 5/s: %.2fs" % first10)


def test_sighup_reloads(s):
    with Workers(s) as w:
        p = w.start()
        time.sleep(1)
        p.send_signal(signal.SIGHUP)
        time.sleep(1)
        check(p.poll() is None, "still running")
        with open(s.var + "/log/wtest%d.log" % w.n) as f:
            check("configuration reloaded" in f.read(), "reloaded")
    _ = json


def test_retry_of_an_accepted_recipient_counts_once_and_logs_every_round(s):
    """An accepted message fails later (a failed status webhook); the operator retries it and
    it is sent again. It is one recipient: sent_count counts it once, and the send log keeps
    both rounds' rows although the retry starts its attempts again from 1."""
    s.sandbox_post("/_sandbox/reset", {})
    num = phones("68", 2)
    s.sandbox_post("/_sandbox/config", {"statuses": ["sent"], "errors": [
        {"to": num[0], "code": 131000, "mode": "async", "times": 1}]})
    try:
        with Workers(s) as w:
            w.start()
            cid = make_campaign(s, "Reintento aceptado", num)
            s.wait_for("the failed status arrived", lambda: recipient(
                s, cid, num[0])["status"] == "failed", timeout=30)
            wait_status(s, cid, ("completed",), timeout=30)
            eq(campaign(s, cid)["sent_count"], 2, "both accepted once")
            r = s.post("/api/campaigns/%d/retry" % cid, {"acknowledge_risk": True})
            eq(r.status, 200, "retry: %r" % r)
            s.wait_for("sent again", lambda: recipient(s, cid, num[0])["status"] in (
                "sent", "delivered", "read"), timeout=30)
            wait_status(s, cid, ("completed",), timeout=30)
            quiet(s, cid)
            eq(received(s, cid).get(recipient(s, cid, num[0])["id"]), 2, "sent twice, on purpose")
            c = campaign(s, cid)
            eq(c["sent_count"], 2, "two recipients, each counted once as sent")
            check_counters(s, cid)
            eq([o for o, _ in log_rows(s, cid, num[0])], ["sent", "sent"],
               "both rounds logged, though both were attempt 1")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def test_send_log_keeps_rounds_apart_and_ignores_a_recorded_again_claim(s):
    """uq_send_log_attempt (sql/080): the same claim's outcome recorded twice (a retry after a
    lost commit answer) adds one row; the same attempt number and outcome of another claim
    (recovery gave the attempt back, or an operator's retry) is kept."""
    cid = make_campaign(s, "Log", phones("69", 1), start=False)
    rid = s.query("SELECT id FROM recipients WHERE campaign_id = %s", (cid,))[0]["id"]
    ins = ("INSERT IGNORE INTO send_log (campaign_id, recipient_id, phone, template_name, "
           "template_language, attempt, outcome, claim_token) VALUES (%s, %s, '+1', 't', 'es', "
           "1, %s, %s)")
    s.query(ins, (cid, rid, "retry", 11))
    s.query(ins, (cid, rid, "retry", 11))  # the same claim recorded again
    s.query(ins, (cid, rid, "unknown", 11))  # another outcome of the same attempt
    s.query(ins, (cid, rid, "retry", 12))  # attempt 1 again, another round
    rows = s.query("SELECT outcome, claim_token FROM send_log WHERE recipient_id = %s ORDER BY id",
                   (rid,))
    eq([(r["outcome"], r["claim_token"]) for r in rows],
       [("retry", 11), ("unknown", 11), ("retry", 12)], "send_log rows")


def test_pair_rate_holds_between_two_workers_claiming_at_once(s):
    """Two workers, two campaigns to the same numbers started in one statement: whoever
    claims a number first, the other sees it (the business's claim lock), so no number gets
    two messages within 6 s."""
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"record_requests": False, "statuses": ["sent"]})
    nums = phones("70", 60)
    try:
        with AccountSettings(s, throughput_mps=1000), Workers(s, PREGON_WORKER_POLL_MS=5) as w:
            a = make_campaign(s, "Carrera A", nums, start=False)
            b = make_campaign(s, "Carrera B", nums, start=False)
            # Both campaigns running and known to both workers before any recipient is
            # due; then all of them fall due at the same instant and both workers claim.
            s.query("UPDATE recipients SET next_attempt_at = NOW(3) + INTERVAL 4 SECOND "
                    "WHERE campaign_id IN (%s, %s)", (a, b), admin=True)
            s.query("UPDATE campaigns SET status = 'running', started_at = NOW(3) "
                    "WHERE id IN (%s, %s)", (a, b), admin=True)
            w.start()
            w.start()
            wait_status(s, a, ("completed",), timeout=60)
            wait_status(s, b, ("completed",), timeout=60)
            at = {}
            after = 0
            while True:
                r = s.sandbox_get("/_sandbox/messages?limit=10000&after=%d" % after).json()
                for m in r["messages"]:
                    at.setdefault(m["to"], []).append(m["at_ms"])
                if not r["messages"]:
                    break
                after = r["next_after"]
            eq(sorted(at), sorted(nums), "every number reached")
            gaps = [abs(v[1] - v[0]) / 1000.0 for v in at.values()]
            eq(sorted(len(v) for v in at.values()), [2] * len(nums), "twice each")
            check(min(gaps) >= 6, "never two messages to one number within 6 s: %.2fs" % min(gaps))
            check_counters(s, a)
            check_counters(s, b)
    finally:
        s.sandbox_post("/_sandbox/reset", {})
