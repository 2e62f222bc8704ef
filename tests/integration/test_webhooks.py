"""Meta's webhooks through nginx and the FastCGI app: the payload files under
tests/data/webhooks/ (each with the state it must produce), a shuffled and duplicated replay
of 10,000 statuses, requests that must be refused, and events stored but not applied."""

import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import threading
import time

from harness import ROOT, check, eq
import workerkit

DATA = os.path.join(ROOT, "tests", "data", "webhooks")
SANDBOX = {"waba": "102290129340398", "phone_id": "106540352242922", "display": "15550001111"}
SECOND = {"waba": "222000111222333", "phone_id": "222000111222444", "display": "15550002222"}


def _uniq():
    return "%x%04x" % (int(time.time() * 1000) % 0xffffffff, random.randrange(0x10000))


def _sign(secret, raw):
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def _ctl(s, *args, env=None):
    e = dict(s.env)
    e.update(env or {})
    return subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                           os.path.join(s.var, "pregon.conf")] + list(args),
                          env=e, capture_output=True, text=True, timeout=120)


class SecondAccount:
    """Another WhatsApp account (own WABA, number and App Secret) on the same endpoint,
    removed again at the end so later tests see one account."""

    def __init__(self, s):
        self.s = s
        self.secret = "%032x" % random.getrandbits(128)
        r = _ctl(s, "account-add", "--sandbox", "--name", "Segunda", "--waba-id", SECOND["waba"],
                 "--phone-number-id", SECOND["phone_id"], "--display-phone",
                 "+" + SECOND["display"], "--verify-token", "v" + _uniq(),
                 env={"PREGON_ACCESS_TOKEN": "t" + _uniq(), "PREGON_APP_SECRET": self.secret})
        eq(r.returncode, 0, "account-add: %s %s" % (r.stdout, r.stderr))
        self.id = s.query("SELECT id FROM wa_accounts WHERE phone_number_id = %s",
                          (SECOND["phone_id"],))[0]["id"]

    def remove(self):
        q = self.s.query
        camps = [r["id"] for r in q("SELECT id FROM campaigns WHERE account_id = %s", (self.id,))]
        for cid in camps:
            q("DELETE FROM recipients WHERE campaign_id = %s", (cid,), admin=True)
            q("DELETE FROM campaign_counts WHERE campaign_id = %s", (cid,), admin=True)
        q("DELETE FROM campaigns WHERE account_id = %s", (self.id,), admin=True)
        q("DELETE FROM templates WHERE account_id = %s", (self.id,), admin=True)
        q("DELETE FROM wa_accounts WHERE id = %s", (self.id,), admin=True)


def _account_id(s, phone_id):
    return s.query("SELECT id FROM wa_accounts WHERE phone_number_id = %s", (phone_id,))[0]["id"]


def make_campaign(s, account_id, states, template=None, status="running"):
    """A campaign with one recipient per state, made directly in the database (as if the
    worker had sent them): recipients that had a message get wamid.<uniq>_<i>."""
    u = _uniq()
    template = template or "tpl_" + u
    counts = {}
    for st in states:
        counts[st["status"]] = counts.get(st["status"], 0) + 1
    funnel = {"sent": 0, "delivered": 0, "read": 0}
    for st in states:
        stage = {"sent": 1, "delivered": 2, "read": 3, "failed": 1}.get(st["status"], 0)
        for i, name in enumerate(("sent", "delivered", "read")):
            if stage > i:
                funnel[name] += 1
    conn = s.db(admin=True)
    try:
        with conn.cursor() as c:
            c.execute("INSERT INTO campaigns (account_id, name, template_name, template_language, "
                      "status, total_count, pending_count, sending_count, sent_count, "
                      "delivered_count, read_count, failed_count, unknown_count, started_at) "
                      "VALUES (%s, %s, %s, 'es_AR', %s, %s, %s, %s, %s, %s, %s, %s, %s, NOW(3))",
                      (account_id, "Webhooks " + u, template, status, len(states),
                       counts.get("pending", 0), counts.get("sending", 0), funnel["sent"],
                       funnel["delivered"], funnel["read"], counts.get("failed", 0),
                       counts.get("unknown", 0)))
            cid = c.lastrowid
            # 'sending' rows are claimed by a live worker of their own with a lease, as a
            # worker's claim is: the stack's worker must not recover them mid-test.
            c.execute("INSERT INTO workers (host, pid) VALUES ('payload-fixture', 0)")
            wid = c.lastrowid
            rows = []
            # Its own area code (388): other tests' fixed ranges under 387 (the 10,000 of
            # test_worker among them) must never meet a random opt-out of these fixtures.
            base = random.randrange(10**6, 10**7)
            for i, st in enumerate(states):
                phone = "+549388%07d" % ((base + i) % 10**7)
                has = st.get("wamid", st["status"] not in ("pending",))
                wamid = "wamid.%s_%d" % (u, i)
                claimed = st["status"] == "sending"
                rows.append((cid, phone, st["status"], wamid if has else None,
                             "2100-01-01" if st["status"] == "pending" else "2000-01-01",
                             st.get("claim_token"), wid if claimed else None,
                             "2100-01-01" if claimed else None))
            c.executemany("INSERT INTO recipients (campaign_id, phone, status, wamid, "
                          "next_attempt_at, claim_token, claimed_by, lease_until) "
                          "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
            c.execute("SELECT id, phone FROM recipients WHERE campaign_id = %s ORDER BY id",
                      (cid,))
            recs = c.fetchall()
    finally:
        conn.close()
    return {"id": cid, "template": template, "uniq": u,
            "recipients": [{"id": r[0], "phone": r[1], "wamid": "wamid.%s_%d" % (u, i)}
                           for i, r in enumerate(recs)]}


def _subst(text, ctx):
    for k in sorted(ctx, key=len, reverse=True):
        text = text.replace(k, str(ctx[k]))
    return text


def _fmt(v):
    if v is None:
        return None
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return v


def _match(what, got, want):
    for k, w in want.items():
        if k.endswith("~"):
            g = got.get(k[:-1])
            check(g is not None and w in str(g), "%s: %s = %r should contain %r" %
                  (what, k[:-1], g, w))
            continue
        g = _fmt(got.get(k))
        if w == "set":
            check(g is not None, "%s: %s should be set" % (what, k))
        else:
            eq(g, w, "%s: %s" % (what, k))


def check_state(s, camp, acct_id, ctx, expect, where):
    if "recipients" in expect:
        rows = s.query("SELECT * FROM recipients WHERE campaign_id = %s ORDER BY id",
                       (camp["id"],))
        eq(len(rows), len(expect["recipients"]), where + ": recipients")
        for i, (row, want) in enumerate(zip(rows, expect["recipients"])):
            _match("%s recipient %d" % (where, i), row, want)
    if "counters" in expect or "campaign" in expect:
        row = workerkit.campaign(s, camp["id"])  # the counters as campaign_totals adds them
        _match(where + " counters", row,
               {k + "_count": v for k, v in expect.get("counters", {}).items()})
        _match(where + " campaign", row, expect.get("campaign", {}))
    for phone, source in expect.get("opt_outs", {}).items():
        rows = s.query("SELECT source FROM opt_outs WHERE phone = %s", ("+" + phone,))
        eq(rows[0]["source"] if rows else None, source, where + ": opt-out of " + phone)
    for phone, actions in expect.get("opt_out_events", {}).items():
        rows = s.query("SELECT action FROM opt_out_events WHERE phone = %s ORDER BY id",
                       ("+" + phone,))
        eq([r["action"] for r in rows], actions, where + ": opt-out events of " + phone)
    for phone, n in expect.get("inbound", {}).items():
        eq(s.query("SELECT COUNT(*) AS n FROM inbound_messages WHERE phone = %s",
                   ("+" + phone,))[0]["n"], n, where + ": inbound messages of " + phone)
    if "template" in expect:
        rows = s.query("SELECT * FROM templates WHERE account_id = %s AND name = %s AND "
                       "language = 'es_AR'", (acct_id, camp["template"]))
        check(rows, where + ": template cached")
        _match(where + " template", rows[0], expect["template"])
    if "account" in expect:
        _match(where + " account", s.query("SELECT * FROM wa_accounts WHERE id = %s",
                                           (acct_id,))[0], expect["account"])
    for q in expect.get("queries", []):
        rows = s.query(q["sql"], admin=True)
        got = [[_fmt(v) for v in row.values()] for row in rows]
        eq(got, q["rows"], where + ": " + q["sql"])
    if "waiting" in expect:
        wamids = [r["wamid"] for r in camp["recipients"]]
        n = s.query("SELECT COUNT(*) AS n FROM message_statuses WHERE applied_at IS NULL AND "
                    "wamid IN (%s)" % ",".join(["%s"] * len(wamids)), wamids)[0]["n"]
        eq(n, expect["waiting"], where + ": statuses waiting for their wamid")


def run_case(s, name, second):
    with open(os.path.join(DATA, name)) as f:
        case = json.load(f)
    acct = SECOND if case.get("account") == "second" else SANDBOX
    acct_id = second.id if acct is SECOND else _account_id(s, SANDBOX["phone_id"])
    secrets = {"sandbox": s.secrets["SANDBOX_APP_SECRET"], "second": second.secret}
    camp = make_campaign(s, acct_id, case["campaign"]["recipients"],
                         status=case["campaign"].get("status", "running"))
    ctx = {"$WABA": acct["waba"], "$PHONE_ID": acct["phone_id"], "$DISPLAY": acct["display"],
           "$TEMPLATE": camp["template"], "$U": camp["uniq"], "$CAMPAIGN": camp["id"]}
    for i, r in enumerate(camp["recipients"]):
        ctx["$W%d" % i] = r["wamid"]
        ctx["$CB%d" % i] = "pregon:%d:%d" % (camp["id"], r["id"])
        ctx["$P%d" % i] = r["phone"][1:]
        ctx["$R%d" % i] = r["id"]
    for n, step in enumerate(case["steps"]):
        where = "%s step %d" % (name, n + 1)
        before = s.query("SELECT COUNT(*) AS n FROM webhook_events")[0]["n"]
        last_id = s.query("SELECT COALESCE(MAX(id), 0) AS n FROM webhook_events")[0]["n"]
        if "payload" in step:
            raw = _subst(json.dumps(step["payload"]), ctx).encode()
            secret = secrets[step.get("sign_with", case.get("account", "sandbox"))]
            sig = _sign(secret, raw)
            r = s.post_webhook(None, raw=raw, signature=sig)
            eq(r.status, step.get("expect", {}).get("http", 200), where + ": %r" % r)
            # every shape is applied or deliberately ignored: never an apply error (this
            # body's event only: the sandbox's late statuses for other tests arrive meanwhile)
            bad = s.query("SELECT id, apply_error FROM webhook_events WHERE id > %s AND "
                          "signature = %s AND (applied_at IS NULL OR apply_error IS NOT NULL)",
                          (last_id, sig))
            eq(list(bad), [], where + ": events not applied")
        if "sql" in step:
            for stmt in _subst(step["sql"], ctx).split(";"):
                if stmt.strip():
                    s.query(stmt, admin=True)
        if step.get("sweep"):
            r = _ctl(s, "webhooks-apply")
            eq(r.returncode, 0, where + ": webhooks-apply %s %s" % (r.stdout, r.stderr))
        expect = json.loads(_subst(json.dumps(step.get("expect", {})), ctx))
        if "priority" in expect:  # the applier's order, set when stored (every event)
            got = [r["priority"] for r in s.query(
                "SELECT priority FROM webhook_events WHERE id > %s AND body = %s ORDER BY id",
                (last_id, raw))]
            check(got, where + ": an event stored")
            eq(got, [expect["priority"]] * len(got), where + ": priority")
        if "stored" in expect:
            if "payload" in step:
                # this step's own body only: the sandbox's late statuses for earlier tests'
                # messages may be stored at the same time
                got = s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND "
                              "body = %s", (last_id, raw))[0]["n"]
            else:
                got = s.query("SELECT COUNT(*) AS n FROM webhook_events")[0]["n"] - before
            eq(got, expect["stored"], where + ": events stored")
        check_state(s, camp, acct_id, ctx, expect, where)


def test_payload_files(s):
    names = sorted(n for n in os.listdir(DATA) if n.endswith(".json"))
    check(len(names) >= 20, "payload files found")
    second = SecondAccount(s)
    failures = []
    try:
        for name in names:
            try:
                run_case(s, name, second)
            except AssertionError as e:
                failures.append("%s: %s" % (name, e))
    finally:
        second.remove()
    check(not failures, "%d of %d payload files failed:\n  %s" %
          (len(failures), len(names), "\n  ".join(failures)))


def _status_payload(statuses):
    return {"object": "whatsapp_business_account", "entry": [{"id": SANDBOX["waba"], "changes": [
        {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {
            "display_phone_number": SANDBOX["display"], "phone_number_id": SANDBOX["phone_id"]},
            "statuses": statuses}}]}]}


def test_rejected_requests_change_nothing(s):
    acct = _account_id(s, SANDBOX["phone_id"])
    camp = make_campaign(s, acct, [{"status": "sent"}])
    wamid = camp["recipients"][0]["wamid"]
    payload = _status_payload([{"id": wamid, "status": "read", "timestamp": "1750030000",
                                "recipient_id": camp["recipients"][0]["phone"][1:]}])
    raw = json.dumps(payload).encode()
    good = s.sign(raw)
    last = s.query("SELECT COALESCE(MAX(id), 0) AS m FROM webhook_events")[0]["m"]
    # forged, missing, malformed, signed by the wrong secret
    for sig in ("sha256=" + "0" * 64, "", "sha256=zz", "sha1=" + "0" * 40, good.upper(),
                _sign("not-the-secret", raw)):
        eq(s.post_webhook(None, raw=raw, signature=sig).status, 401, "signature %r" % sig)
    # truncated body with the signature of the whole one; replayed signature, changed body
    eq(s.post_webhook(None, raw=raw[:-10], signature=good).status, 401, "truncated")
    changed = raw.replace(b'"read"', b'"sent"')
    eq(s.post_webhook(None, raw=changed, signature=good).status, 401, "replayed, changed")
    # a truncated body signed as it is: verified but not JSON
    cut = raw[:-10]
    r = s.post_webhook(None, raw=cut, signature=s.sign(cut))
    eq(r.status, 400, "truncated JSON")
    eq(r.json()["error"]["code"], "invalid_json", "code")
    # oversized: above the limit (4 MiB, nginx and the app) by a little and by a lot
    for size in (4 * 1024 * 1024 + 100, 6 * 1024 * 1024):
        big = json.dumps({"object": "whatsapp_business_account", "pad": "x" * size}).encode()
        try:
            status = s.post_webhook(None, raw=big, signature=s.sign(big)).status
        except OSError:  # nginx may close the connection while the body is still coming
            status = 413
        eq(status, 413, "oversized %d" % size)
    # None of these bodies (the sandbox's late statuses for earlier tests may be stored
    # meanwhile: they are not counted).
    eq(s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND body IN "
               "(%s, %s, %s, %s)", (last, raw, raw[:-10], changed, cut))[0]["n"], 0,
       "nothing stored")
    eq(s.query("SELECT status FROM recipients WHERE id = %s",
               (camp["recipients"][0]["id"],))[0]["status"], "sent", "nothing applied")
    # Meta's largest bodies (3 MB) are taken.
    statuses = [{"id": "wamid.BIG%07d" % i, "status": "delivered", "timestamp": "1750030000",
                 "recipient_id": "5493875550000"} for i in range(27000)]
    statuses.insert(0, {"id": wamid, "status": "read", "timestamp": "1750030001",
                        "recipient_id": camp["recipients"][0]["phone"][1:]})
    big = json.dumps(_status_payload(statuses)).encode()
    check(2.8e6 < len(big) < 3.2e6, "a 3 MB body (%d)" % len(big))
    eq(s.post_webhook(None, raw=big).status, 200, "3 MB body")
    eq(s.query("SELECT status FROM recipients WHERE id = %s",
               (camp["recipients"][0]["id"],))[0]["status"], "read", "applied")
    s.query("DELETE FROM message_statuses WHERE wamid LIKE 'wamid.BIG%%'")


def _final_state(s, cid):
    rows = s.query("SELECT status, sent_at, delivered_at, read_at, failed_at, last_error_code "
                   "FROM recipients WHERE campaign_id = %s ORDER BY id", (cid,))
    c = s.query("SELECT pending_count, sending_count, sent_count, delivered_count, read_count, "
                "failed_count, blocked_count, unknown_count FROM campaign_totals WHERE id = %s",
                (cid,))[0]
    return [tuple(_fmt(v) for v in r.values()) for r in rows], c


def _post_all(s, payloads, threads):
    errors = []

    def run(part):
        for p in part:
            r = s.post_webhook(p)
            if r.status != 200:
                errors.append(r)

    ts = [threading.Thread(target=run, args=(payloads[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(errors, [], "every request answered 200")


def test_replay_shuffled_with_duplicates(s):
    """10,000 status events for a campaign, 30 % duplicated and shuffled, end exactly where
    the same events in order end: recipient states, times and counters."""
    n = 4000
    acct = _account_id(s, SANDBOX["phone_id"])
    a = make_campaign(s, acct, [{"status": "sent"}] * n)
    b = make_campaign(s, acct, [{"status": "sent"}] * n)
    rnd = random.Random(20250615)
    plans = []
    for i in range(n):
        t = 1750030000 + i
        k = rnd.random()
        if k < 0.1:
            plans.append([("sent", t), ("failed", t + 30)])
        elif k < 0.4:
            plans.append([("sent", t), ("delivered", t + 5)])
        else:
            plans.append([("sent", t), ("delivered", t + 5), ("read", t + 60 + i % 7)])
    events = [(i, st, t) for i, p in enumerate(plans) for st, t in p]
    events = events[:10000]
    eq(len(events), 10000, "10,000 events")

    def item(camp, ev):
        i, st, t = ev
        d = {"id": camp["recipients"][i]["wamid"], "status": st, "timestamp": str(t),
             "recipient_id": camp["recipients"][i]["phone"][1:]}
        if st == "failed":
            d["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
        return d

    def payloads(camp, evs, per):
        return [_status_payload([item(camp, e) for e in evs[k:k + per]])
                for k in range(0, len(evs), per)]

    _post_all(s, payloads(a, events, 50), 1)
    mixed = events + rnd.sample(events, 3000)
    rnd.shuffle(mixed)
    eq(len(mixed), 13000, "30 % duplicated")
    # several connections at once, bodies of varied sizes, as Meta sends them
    parts, k = [], 0
    while k < len(mixed):
        m = rnd.choice((1, 5, 20, 80))
        parts.append(mixed[k:k + m])
        k += m
    _post_all(s, [_status_payload([item(b, e) for e in p]) for p in parts], 4)
    rows_a, cnt_a = _final_state(s, a["id"])
    rows_b, cnt_b = _final_state(s, b["id"])
    eq(rows_b, rows_a, "recipient states, times and codes")
    eq(cnt_b, cnt_a, "counters")
    check(cnt_a["read_count"] > 0 and cnt_a["failed_count"] > 0, "a mix of outcomes: %r" % cnt_a)
    eq(cnt_a["sent_count"], n, "every recipient counted sent once")
    real = {}
    for i, st, t in events:
        real.setdefault(i, set()).add(st)
    eq(cnt_a["read_count"], sum(1 for v in real.values() if "read" in v), "read count")
    eq(cnt_a["failed_count"], sum(1 for v in real.values() if v == {"sent", "failed"}),
       "failed count")


def test_stop_applied_ahead_of_a_status_backlog(s):
    """A STOP that arrives behind 10,000 queued status events (one per request, signed,
    through nginx, while the applier is held back) is applied with the applier's next batch:
    the opt-out is in place before the statuses are drained, none of them was applied before
    it, and then every status is applied."""
    n = 10000
    acct = _account_id(s, SANDBOX["phone_id"])
    camp = make_campaign(s, acct, [{"status": "sent"}] * n)
    recs = camp["recipients"]
    # The appliers' lease (a written row): nobody applies while this test holds it. A drain
    # running when it is taken ends at its empty queue within the second waited.
    s.query("INSERT INTO leases (name, holder, expires_at) VALUES ('webhook_apply', "
            "'test:stop', NOW(3) + INTERVAL 120 SECOND) ON DUPLICATE KEY UPDATE "
            "holder = VALUES(holder), expires_at = VALUES(expires_at)")
    time.sleep(1)
    try:
        first = s.query("SELECT COALESCE(MAX(id), 0) AS m FROM webhook_events")[0]["m"]
        bodies = [_status_payload([{"id": r["wamid"], "status": "delivered",
                                    "timestamp": str(1750030000 + i),
                                    "recipient_id": r["phone"][1:]}])
                  for i, r in enumerate(recs)]
        errors = []

        def run(part):
            for p in part:
                raw = json.dumps(p).encode()
                r = s.post_webhook(None, raw=raw, wait=False)
                if r.status != 200:
                    errors.append(r)

        ts = [threading.Thread(target=run, args=(bodies[i::4],)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        eq(errors, [], "every status request answered 200")
        stop = {"from": recs[n - 1]["phone"][1:], "id": "wamid.IN" + camp["uniq"] + "stop",
                "timestamp": str(int(time.time())), "type": "text", "text": {"body": "STOP"}}
        payload = _status_payload([])
        payload["entry"][0]["changes"][0]["value"] = {
            "messaging_product": "whatsapp", "metadata": payload["entry"][0]["changes"][0]
            ["value"]["metadata"], "contacts": [{"wa_id": stop["from"]}], "messages": [stop]}
        eq(s.post_webhook(payload, wait=False).status, 200, "STOP answered")
        ev = s.query("SELECT id, priority FROM webhook_events WHERE id > %s AND priority = 1",
                     (first,))
        eq(len(ev), 1, "the STOP is stored ahead of the statuses")
        stop_id = ev[0]["id"]
        eq(s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND id < %s AND "
                   "applied_at IS NULL", (first, stop_id))[0]["n"], n, "10,000 statuses queued")
    finally:
        s.query("UPDATE leases SET expires_at = NOW(3) - INTERVAL 1 SECOND "
                "WHERE name = 'webhook_apply' AND holder = 'test:stop'")
    phone = recs[n - 1]["phone"]
    seen = {}

    def opted_out():
        rows = s.query("SELECT COUNT(*) AS n FROM opt_outs WHERE phone = %s", (phone,))
        if rows[0]["n"]:
            seen["left"] = s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND "
                                   "id < %s AND applied_at IS NULL", (first, stop_id))[0]["n"]
        return rows[0]["n"]

    s.wait_for("the opt-out", opted_out, timeout=30, interval=0.05)
    check(seen["left"] >= n - 2 * 2048, "opt-out in place with %d of %d statuses still queued"
          % (seen["left"], n))
    check(s.wait_webhooks_applied(timeout=120), "every status applied")
    at = s.query("SELECT applied_at FROM webhook_events WHERE id = %s", (stop_id,))[0]["applied_at"]
    eq(s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND id < %s AND "
               "applied_at < %s", (first, stop_id, at))[0]["n"], 0,
       "no status applied before the STOP")
    same = s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND id < %s AND "
                   "applied_at = %s", (first, stop_id, at))[0]["n"]
    check(same < 2048, "the STOP went with the first batch (%d statuses beside it)" % same)
    c = s.query("SELECT delivered_count FROM campaign_totals WHERE id = %s", (camp["id"],))[0]
    eq(c["delivered_count"], n, "every status applied")


def _event_body(s, wamid, status, ts):
    return json.dumps(_status_payload([{"id": wamid, "status": status, "timestamp": str(ts),
                                        "recipient_id": "5493875550000"}])).encode()


def test_stored_but_not_applied_is_applied_later(s):
    """A body stored but never applied (the process died, the database failed) is applied by
    `pregonctl webhooks-apply`, and by the FastCGI processes themselves after a restart."""
    acct = _account_id(s, SANDBOX["phone_id"])
    camp = make_campaign(s, acct, [{"status": "sent"}, {"status": "sent"}])
    w0, w1 = camp["recipients"][0]["wamid"], camp["recipients"][1]["wamid"]
    for w in (w0, w1):
        body = _event_body(s, w, "delivered", 1750030100)
        s.query("INSERT INTO webhook_events (signature, body, received_at) VALUES "
                "(%s, %s, NOW(3) - INTERVAL 1 MINUTE)", (s.sign(body), body))
    r = _ctl(s, "webhooks-apply")
    eq(r.returncode, 0, "webhooks-apply: %s" % r.stderr)
    check("applied" in r.stdout, r.stdout)
    rows = s.query("SELECT status FROM recipients WHERE campaign_id = %s ORDER BY id",
                   (camp["id"],))
    eq([x["status"] for x in rows], ["delivered", "delivered"], "applied by the sweep")
    mine = [_event_body(s, w, "delivered", 1750030100) for w in (w0, w1)]
    eq(s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE applied_at IS NULL AND "
               "body IN (%s, %s)", tuple(mine))[0]["n"], 0, "nothing left unapplied")
    eq(s.query("SELECT delivered_count FROM campaign_totals WHERE id = %s", (camp["id"],))[0]
       ["delivered_count"], 2, "counted")

    # Kill every process of the webhook pool (as a crash would) between storing and applying:
    # with the applier's lease held by someone else, the requests are stored and answered but
    # nobody applies them. The processes started in their place apply them by themselves, with
    # no new request, once that holder's lease has expired.
    s.query("INSERT INTO leases (name, holder, expires_at) VALUES ('webhook_apply', "
            "'test:holder', NOW(3) + INTERVAL 60 SECOND) ON DUPLICATE KEY UPDATE "
            "holder = VALUES(holder), expires_at = VALUES(expires_at)")
    try:
        mine = [_event_body(s, w, st, ts) for w, st, ts in ((w0, "read", 1750030200),
                                                           (w1, "read", 1750030300))]
        for raw in mine:
            r = s.post_webhook(None, raw=raw, wait=False)
            eq(r.status, 200, "stored and answered while nobody may apply")
        time.sleep(0.5)
        rows = s.query("SELECT status FROM recipients WHERE campaign_id = %s ORDER BY id",
                       (camp["id"],))
        eq([x["status"] for x in rows], ["delivered", "delivered"], "stored, not applied yet")
        # (its own: the sandbox's late statuses for earlier tests wait as well meanwhile)
        eq(s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE applied_at IS NULL AND "
                   "body IN (%s, %s)", tuple(mine))[0]["n"], 2, "two events waiting")
        master = int(open(os.path.join(s.var, "run", "webhook.pid")).read())
        kids = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                              text=True).stdout.split()
        check(kids, "FastCGI processes found")
        for pid in kids:
            os.kill(int(pid), signal.SIGKILL)
    finally:
        # The holder is gone: its lease runs out.
        s.query("UPDATE leases SET expires_at = NOW(3) - INTERVAL 1 SECOND "
                "WHERE name = 'webhook_apply' AND holder = 'test:holder'")
    s.wait_for("the restarted processes apply what was stored", lambda: [
        x["status"] for x in s.query("SELECT status FROM recipients WHERE campaign_id = %s "
                                     "ORDER BY id", (camp["id"],))] == ["read", "read"],
               timeout=20)
    after = subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                           text=True).stdout.split()
    check(after and not set(after) & set(kids), "new processes: %r -> %r" % (kids, after))
    eq(s.query("SELECT read_count FROM campaign_totals WHERE id = %s", (camp["id"],))[0]
       ["read_count"], 2, "counted once")
    # And a body that cannot be applied is kept, marked, and never blocks the others.
    s.query("INSERT INTO webhook_events (signature, body, received_at) VALUES "
            "('sha256=x', 'not json', NOW(3) - INTERVAL 1 MINUTE)")
    eq(_ctl(s, "webhooks-apply").returncode, 0, "sweep with a bad row")
    row = s.query("SELECT applied_at, apply_error FROM webhook_events WHERE body = 'not json'")[0]
    check(row["applied_at"] is None and row["apply_error"], "bad row marked: %r" % row)
    s.query("DELETE FROM webhook_events WHERE body = 'not json'", admin=True)


def test_sandbox_statuses_before_send_recorded(s):
    """A real campaign through the sandbox with its webhooks off; the statuses then arrive
    (twice, shuffled) and settle every recipient exactly once."""
    eq(s.sandbox_post("/_sandbox/config", {"webhooks": False}).status, 200, "webhooks off")
    try:
        c = s.create_campaign(name="Webhooks diferidos")
        # issue 3: consent is mandatory; start needs acknowledge_risk and a synced template
        csv = "phone,name,consent\n" + "".join("+54938755%05d,N%d,si\n" % (70000 + i, i)
                                                for i in range(40))
        eq(s.upload(c["id"], csv).status, 200, "upload")
        s.post("/api/templates/sync", {})
        eq(s.post("/api/campaigns/%d/start" % c["id"], {"acknowledge_risk": True}).status, 200,
           "start")
        s.wait_for("sent", lambda: s.query(
            "SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND status = 'sent'",
            (c["id"],))[0]["n"] == 40, timeout=60)
        recs = s.query("SELECT id, wamid, phone FROM recipients WHERE campaign_id = %s",
                       (c["id"],))
        items = []
        for r in recs:
            for st, dt in (("sent", 0), ("delivered", 2), ("read", 4)):
                items.append({"id": r["wamid"], "status": st, "timestamp": str(1750030000 + dt),
                              "recipient_id": r["phone"][1:],
                              "biz_opaque_callback_data": "pregon:%d:%d" % (c["id"], r["id"])})
        items = items + items
        random.shuffle(items)
        for k in range(0, len(items), 30):
            eq(s.post_webhook(_status_payload(items[k:k + 30])).status, 200, "posted")
        g = s.get("/api/campaigns/%d" % c["id"]).json()["counters"]
        eq((g["sent"], g["delivered"], g["read"], g["failed"]), (40, 40, 40, 0), "counters")
    finally:
        s.sandbox_post("/_sandbox/reset", {})


def _sandbox_message(s, cid, timeout=30):
    """The message the sandbox accepted for campaign cid (it knows the wamid before it
    answers the worker)."""
    prefix = "pregon:%d:" % cid

    def find():
        r = s.sandbox_get("/_sandbox/messages?limit=10000").json()
        ms = [m for m in r["messages"] if (m.get("callback_data") or "").startswith(prefix)]
        return ms[0] if ms else None
    return s.wait_for("the sandbox accepts campaign %d's message" % cid, find, timeout=timeout)


def test_real_worker_status_before_send_recorded(s):
    """With the real worker: a status whose wamid the worker has not recorded yet (the
    sandbox holds its answer) is parked and applied when the send is recorded; a status
    matched only by our callback data settles a recipient whose send ended `unknown`."""
    from workerkit import Workers, make_campaign as worker_campaign, phones
    s.sandbox_post("/_sandbox/reset", {})
    # Our own signed statuses only; every send answered 3 s after it was accepted.
    eq(s.sandbox_post("/_sandbox/config", {"webhooks": False, "latency_ms": 3000}).status, 200,
       "sandbox config")
    try:
        with Workers(s, PREGON_HTTP_TIMEOUT_MS=20000) as w:
            w.start()
            cid = worker_campaign(s, "Estado antes del envío", phones("61", 1))
            m = _sandbox_message(s, cid)
            rid = int(m["callback_data"].split(":")[2])
            rec = s.query("SELECT status, wamid FROM recipients WHERE id = %s", (rid,))[0]
            eq((rec["status"], rec["wamid"]), ("sending", None), "the worker waits for the answer")
            # No callback data: only the wamid, which nobody has recorded yet.
            r = s.post_webhook(_status_payload([{"id": m["wamid"], "status": "delivered",
                                                 "timestamp": "1750030005",
                                                 "recipient_id": m["wa_id"]}]))
            eq(r.status, 200, "status accepted")
            parked = s.query("SELECT applied_at FROM message_statuses WHERE wamid = %s",
                             (m["wamid"],))
            check(len(parked) == 1 and parked[0]["applied_at"] is None,
                  "parked until the send is recorded: %r" % parked)
            eq(s.query("SELECT status FROM recipients WHERE id = %s", (rid,))[0]["status"],
               "sending", "nothing applied yet")
            s.wait_for("the worker records the send and applies the parked status", lambda: s.query(
                "SELECT status FROM recipients WHERE id = %s", (rid,))[0]["status"] == "delivered",
                timeout=30)
            row = s.query("SELECT wamid, delivered_at FROM recipients WHERE id = %s", (rid,))[0]
            eq(row["wamid"], m["wamid"], "wamid recorded")
            eq(_fmt(row["delivered_at"]), "2025-06-15 23:26:45", "the status's own time")
            c = s.query("SELECT sending_count, sent_count, delivered_count, unknown_count "
                        "FROM campaign_totals WHERE id = %s", (cid,))[0]
            eq((c["sending_count"], c["sent_count"], c["delivered_count"], c["unknown_count"]),
               (0, 1, 1, 0), "counted once")
            check(s.query("SELECT applied_at FROM message_statuses WHERE wamid = %s",
                          (m["wamid"],))[0]["applied_at"] is not None, "no longer parked")

        # A worker that gives up before the answer: the outcome is `unknown`, no wamid.
        with Workers(s, PREGON_HTTP_TIMEOUT_MS=1000) as w:
            w.start()
            cid = worker_campaign(s, "Envío en duda", phones("62", 1))
            m = _sandbox_message(s, cid)
            rid = int(m["callback_data"].split(":")[2])
            s.wait_for("the send ends unknown", lambda: s.query(
                "SELECT status FROM recipients WHERE id = %s", (rid,))[0]["status"] == "unknown",
                timeout=30)
            eq(s.query("SELECT wamid FROM recipients WHERE id = %s", (rid,))[0]["wamid"], None,
               "no wamid known")
            items = [{"id": m["wamid"], "status": st, "timestamp": str(1750030010 + k),
                      "recipient_id": m["wa_id"], "biz_opaque_callback_data": m["callback_data"]}
                     for k, st in enumerate(("sent", "delivered"))]
            eq(s.post_webhook(_status_payload(items)).status, 200, "statuses accepted")
            row = s.query("SELECT status, wamid FROM recipients WHERE id = %s", (rid,))[0]
            eq((row["status"], row["wamid"]), ("delivered", m["wamid"]),
               "settled by the callback data")
            c = s.query("SELECT unknown_count, sent_count, delivered_count FROM "
                        "campaign_totals WHERE id = %s", (cid,))[0]
            eq((c["unknown_count"], c["sent_count"], c["delivered_count"]), (0, 1, 1),
               "unknown settled, counted once")
    finally:
        s.sandbox_post("/_sandbox/reset", {})
