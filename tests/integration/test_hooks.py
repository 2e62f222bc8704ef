"""Outbound events (issue #20, docs/api.md Hooks): the hooks API and its permissions, the SSRF
rule (when stored and at delivery), signatures, order per campaign, batching of
recipient.status, retries with backoff, disabling after failures, and no loss across a worker
SIGKILL. A small HTTP receiver in this process checks every signature."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import workerkit as wk
from harness import check, eq

SECRET = "hook-secret-0123456789abcdef"
ALL = ["campaign.started", "campaign.paused", "campaign.resumed", "campaign.completed",
       "campaign.cancelled", "recipient.status", "optout.created", "optout.lifted",
       "reply.received"]


class Receiver:
    """An HTTP receiver on 127.0.0.1: answers each POST with the next of answers (then 200),
    after delay seconds; records (time, body, status answered, signature ok)."""

    def __init__(self, secret=SECRET, answers=None, delay=0.0):
        self.secret = secret.encode()
        self.answers = list(answers or [])
        self.always = None
        self.delay = delay
        self.posts = []
        self.inflight = 0
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                want = "sha256=" + hmac.new(rec.secret, raw, hashlib.sha256).hexdigest()
                ok = hmac.compare_digest(self.headers.get("X-Pregon-Signature", ""), want)
                with rec.lock:
                    rec.inflight += 1
                if rec.delay:
                    time.sleep(rec.delay)
                with rec.lock:
                    rec.inflight -= 1
                    code = rec.answers.pop(0) if rec.answers else (rec.always or 200)
                    rec.posts.append((time.time(), json.loads(raw), code, ok))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return "http://127.0.0.1:%d/pregon-events" % self.srv.server_address[1]

    def accepted(self):
        """Events of the POSTs answered 2xx, in arrival order (duplicates included)."""
        with self.lock:
            return [e for _, b, code, _ in self.posts if 200 <= code < 300 for e in b["events"]]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Hook:
    def __init__(self, s, url, events=None, secret=SECRET):
        self.s = s
        r = s.post("/api/hooks", {"url": url, "events": events or ALL, "secret": secret})
        eq(r.status, 201, "hook create: %r" % r)
        self.id = r.json()["id"]

    def get(self):
        return self.s.get("/api/hooks/%d" % self.id).json()

    def pending(self):
        return self.s.query("SELECT COUNT(*) AS n FROM hook_outbox WHERE hook_id = %s AND "
                            "delivered_at IS NULL", (self.id,))[0]["n"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.s.request("DELETE", "/api/hooks/%d" % self.id)


def check_signed(rec):
    with rec.lock:
        posts = list(rec.posts)
    check(posts, "the receiver got nothing")
    for t, body, _, ok in posts:
        check(ok, "bad signature on %r" % body)
        check(abs(body["timestamp"] - t) < 120, "timestamp %r far from %r" % (body["timestamp"], t))


def test_hooks_permissions(s):
    for role in ("viewer", "admin"):
        eq(s.post("/api/hooks", {"url": "http://127.0.0.1:9/", "events": ["optout.created"]},
                  auth=role).status, 403, role + " creates")
        eq(s.get("/api/hooks", auth=role).status, 403, role + " lists")
        eq(s.get("/api/hooks/1/deliveries", auth=role).status, 403, role + " reads deliveries")
        eq(s.request("DELETE", "/api/hooks/1", auth=role).status, 403, role + " deletes")
    eq(s.get("/api/hooks", auth=None).status, 401, "anonymous")
    with Hook(s, "http://127.0.0.1:9/x", ["optout.created"]) as h:
        eq(s.get("/api/hooks/%d" % h.id).status, 200, "superadmin reads")
        eq(s.request("PATCH", "/api/hooks/%d" % h.id, {"enabled": False}, auth="admin").status,
           403, "admin changes")


def test_hooks_validation_ssrf_and_secret(s):
    bad = [({"url": "http://127.0.0.1:9/"}, 400, "events"),
           ({"url": "http://127.0.0.1:9/", "events": []}, 400, "events"),
           ({"url": "http://127.0.0.1:9/", "events": ["campaign.exploded"]}, 400, "events"),
           ({"url": "http://127.0.0.1:9/", "events": ["optout.created", "optout.created"]}, 400,
            "events"),
           ({"url": "ftp://127.0.0.1/", "events": ["optout.created"]}, 400, "url"),
           ({"url": "http://u:p@127.0.0.1:9/", "events": ["optout.created"]}, 400, "url"),
           ({"url": "http://127.0.0.1:9/", "events": ["optout.created"], "secret": "short"}, 400,
            "secret")]
    for url in ("http://10.1.2.3/h", "http://192.168.0.10/h", "http://169.254.169.254/latest",
                "http://172.16.0.1/", "http://100.64.0.1/", "http://0.0.0.0:8080/",
                "http://[fd00::1]/", "http://[fe80::1]/", "http://[::ffff:10.0.0.1]/",
                "https://[::ffff:169.254.169.254]/"):
        bad.append(({"url": url, "events": ["optout.created"]}, 422, "url"))
    for body, status, field in bad:
        r = s.post("/api/hooks", body)
        eq(r.status, status, "%r: %r" % (body, r))
        eq(r.json()["error"]["field"], field, "field of %r" % body)
    eq(s.query("SELECT COUNT(*) AS n FROM hooks")[0]["n"], 0, "nothing stored")
    # No secret given: one is made and shown once; never again, nor stored in clear.
    r = s.post("/api/hooks", {"url": "http://localhost:9/h", "events": ["optout.created"]})
    eq(r.status, 201, "loopback allowed on the test stack: %r" % r)
    made = r.json()["secret"]
    eq(len(made), 64, "made secret")
    hid = r.json()["id"]
    try:
        for path in ("/api/hooks/%d" % hid, "/api/hooks"):
            text = s.get(path).body
            check(made not in text and '"secret"' not in text, "secret shown by " + path)
        r = s.request("PATCH", "/api/hooks/%d" % hid, {"secret": SECRET, "events": ALL})
        eq(r.status, 200, "patch: %r" % r)
        check(SECRET not in r.body and "secret" not in r.json(), "patched secret shown")
        eq(r.json()["events"], ALL, "events")
        blob = s.query("SELECT secret_enc FROM hooks WHERE id = %s", (hid,))[0]["secret_enc"]
        check(SECRET.encode() not in blob, "secret stored in clear")
        eq(s.request("PATCH", "/api/hooks/%d" % hid, {"url": "http://10.0.0.1/"}).status, 422,
           "patch to a private address")
        audit = s.query("SELECT action, detail FROM audit_log WHERE target_type = 'hook' AND "
                        "target_id = %s ORDER BY id", (hid,))
        eq([a["action"] for a in audit], ["hook.create", "hook.update"], "audited")
        check(all(SECRET not in (a["detail"] or "") for a in audit), "secret in the audit log")
    finally:
        eq(s.request("DELETE", "/api/hooks/%d" % hid).status, 204, "delete")
    eq(s.get("/api/hooks/%d" % hid).status, 404, "deleted")


def test_hooks_refused_at_delivery(s):
    """A worker whose operator allows only public targets refuses the stored loopback hook
    when it delivers (the address is checked again then), says why, sends nothing."""
    rec = Receiver()
    try:
        with Hook(s, rec.url(), ["optout.created"]) as h, \
                wk.Workers(s, PREGON_HOOKS_ALLOW_TARGETS="public") as w:
            w.start()
            s.post("/api/opt-outs", {"phone": "+5493875570001"})
            d = s.wait_for("a refused delivery", lambda: s.get(
                "/api/hooks/%d/deliveries" % h.id).json()["deliveries"], timeout=30)
            check(not d[0]["ok"] and "loopback" in d[0]["error"], "refusal: %r" % d[0])
            eq(d[0]["http_status"], None, "no request made")
            check("loopback" in h.get()["last_error"], "reason shown on the hook")
            time.sleep(1)
            eq(len(rec.posts), 0, "nothing reached the receiver")
        s.request("DELETE", "/api/opt-outs?phone=%2B5493875570001")
    finally:
        rec.close()


def _statuses_by_recipient(events):
    out = {}
    for e in events:
        if e["type"] == "recipient.status":
            out.setdefault(e["data"]["recipient_id"], []).append(e["data"]["status"])
    return out


def test_hooks_campaign_events_signed_in_order(s):
    rec = Receiver()
    try:
        with Hook(s, rec.url()) as h:
            cid = wk.make_campaign(s, "hooks order", wk.phones("71", 120))
            time.sleep(1.0)
            eq(s.post("/api/campaigns/%d/pause" % cid, {}).status, 200, "pause")
            time.sleep(0.5)
            eq(s.post("/api/campaigns/%d/resume" % cid, {}).status, 200, "resume")
            wk.wait_status(s, cid, ("completed",), timeout=120)
            s.wait_for("statuses applied and delivered", lambda: h.pending() == 0 and len(
                [e for e in rec.accepted() if e["type"] == "recipient.status"]) >= 360,
                timeout=90)
            check_signed(rec)
            events = [e for e in rec.accepted() if e["campaign_id"] == cid]
            ids = [e["id"] for e in events]
            eq(ids, sorted(set(ids)), "one campaign's events in order, once each")
            camp = [e["type"] for e in events if e["type"].startswith("campaign.")]
            eq(camp, ["campaign.started", "campaign.paused", "campaign.resumed",
                      "campaign.completed"], "campaign events")
            by = _statuses_by_recipient(events)
            eq(len(by), 120, "every recipient's statuses")
            for rid, sts in by.items():
                eq(sts, ["sent", "delivered", "read"], "statuses of %d" % rid)
            # Meta's pricing rides along where the status had one (the sandbox: sent and
            # delivered, PMP, the template's category)
            priced = {e["data"]["status"]: e["data"].get("pricing") for e in events
                      if e["type"] == "recipient.status"}
            eq(priced["read"], None, "read carries no pricing")
            for st in ("sent", "delivered"):
                p = priced[st]
                check(p and p["pricing_model"] == "PMP" and p["billable"] is True and
                      p["type"] == "regular" and p["category"], "%s pricing: %r" % (st, p))
            # recipient.status: batched, at most one POST a second per hook
            times = [t for t, b, _, _ in rec.posts
                     if any(e["type"] == "recipient.status" for e in b["events"])]
            gaps = [b - a for a, b in zip(times, times[1:])]
            check(gaps and min(gaps) >= 0.9, "status POSTs closer than 1 s: %r" % gaps)
            check(len(times) < 360 / 2, "statuses batched: %d POSTs" % len(times))
            d = s.get("/api/hooks/%d/deliveries?limit=500" % h.id).json()["deliveries"]
            check(d and all(x["ok"] for x in d), "delivery log")
            eq(sum(x["events"] for x in d), len(rec.accepted()), "log counts every event")
    finally:
        rec.close()


def test_hooks_optout_and_reply_events(s):
    rec = Receiver()
    try:
        with Hook(s, rec.url(), ["optout.created", "optout.lifted", "reply.received"]) as h:
            cid = wk.make_campaign(s, "hooks reply", wk.phones("72", 1))
            wk.wait_status(s, cid, ("completed",), timeout=60)
            r = s.query("SELECT id, phone, wamid FROM recipients WHERE campaign_id = %s",
                        (cid,))[0]
            s.wait_for("wamid", lambda: s.query("SELECT wamid FROM recipients WHERE id = %s",
                                                (r["id"],))[0]["wamid"])
            wamid = s.query("SELECT wamid FROM recipients WHERE id = %s", (r["id"],))[0]["wamid"]
            acct = s.query("SELECT waba_id, phone_number_id, display_phone FROM wa_accounts "
                           "WHERE is_sandbox = 1 ORDER BY id LIMIT 1")[0]
            msg = {"from": r["phone"].lstrip("+"), "id": "wamid.hookreply%d" % cid,
                   "timestamp": str(int(time.time())), "type": "text",
                   "text": {"body": "¿A qué hora es?"}, "context": {"id": wamid}}
            payload = {"object": "whatsapp_business_account", "entry": [{
                "id": acct["waba_id"], "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp", "metadata": {
                        "display_phone_number": acct["display_phone"],
                        "phone_number_id": acct["phone_number_id"]},
                    "messages": [msg]}}]}]}
            eq(s.post_webhook(payload).status, 200, "inbound")
            eq(s.post_webhook(payload).status, 200, "the same inbound again")
            eq(s.post("/api/opt-outs", {"phone": "+5493875572999"}).status, 201, "opt-out")
            eq(s.request("DELETE", "/api/opt-outs?phone=%2B5493875572999").status, 204, "lift")
            s.wait_for("three events", lambda: h.pending() == 0 and len(rec.accepted()) >= 3,
                       timeout=30)
            check_signed(rec)
            ev = rec.accepted()
            eq([e["type"] for e in ev], ["reply.received", "optout.created", "optout.lifted"],
               "events (the repeated inbound message is no new event)")
            eq(ev[0]["campaign_id"], cid, "reply's campaign")
            eq(ev[0]["data"]["recipient_id"], r["id"], "reply's recipient")
            eq(ev[0]["data"]["text"], "¿A qué hora es?", "reply's text")
            eq(ev[1]["data"]["phone"], "+5493875572999", "opt-out's phone")
    finally:
        rec.close()


def test_hooks_retry_with_backoff(s):
    rec = Receiver(answers=[500, 500, 200])
    try:
        with Hook(s, rec.url(), ["optout.created"]) as h:
            eq(s.post("/api/opt-outs", {"phone": "+5493875573001"}).status, 201, "opt-out")
            s.wait_for("failing", lambda: h.get()["failures"] >= 1, timeout=20)
            g = h.get()
            eq(g["last_error"], "HTTP 500", "last error")
            check(g["failing_since"] and g["retry_at"], "failure state shown: %r" % g)
            s.wait_for("delivered", lambda: h.pending() == 0, timeout=30)
            times = [t for t, _, _, _ in rec.posts]
            eq([c for _, _, c, _ in rec.posts], [500, 500, 200], "answers")
            check(times[1] - times[0] >= 0.75, "first retry after ~1 s: %r" % times)
            check(times[2] - times[1] >= 1.5, "second retry after ~2 s: %r" % times)
            ids = {b["events"][0]["id"] for _, b, _, _ in rec.posts}
            eq(len(ids), 1, "the same event each time")
            eq([b["attempt"] for _, b, _, _ in rec.posts], [1, 2, 3], "attempt numbers")
            d = s.get("/api/hooks/%d/deliveries" % h.id).json()["deliveries"]
            eq([(x["ok"], x["http_status"]) for x in d], [(True, 200), (False, 500),
                                                          (False, 500)], "delivery log")
            g = h.get()
            check(g["failures"] == 0 and g["failing_since"] is None and g["last_ok_at"],
                  "failure state cleared: %r" % g)
        s.request("DELETE", "/api/opt-outs?phone=%2B5493875573001")
    finally:
        rec.close()


def test_hooks_disabled_after_failures(s):
    rec = Receiver()
    rec.always = 503
    try:
        with Hook(s, rec.url(), ["optout.created"]) as h, \
                wk.Workers(s, PREGON_HOOKS_RETRY_FOR_S=3, PREGON_HOOKS_BACKOFF_MAX_S=1) as w:
            w.start()
            s.post("/api/opt-outs", {"phone": "+5493875574001"})
            g = s.wait_for("disabled", lambda: (lambda x: x if not x["enabled"] else None)(
                h.get()), timeout=40)
            check("HTTP 503" in g["disabled_reason"] and "no successful delivery" in
                  g["disabled_reason"], "reason: %r" % g["disabled_reason"])
            n = len(rec.posts)
            time.sleep(2)
            eq(len(rec.posts), n, "no tries once disabled")
            rec.always = 200
            r = s.request("PATCH", "/api/hooks/%d" % h.id, {"enabled": True})
            eq(r.status, 200, "enable")
            check(r.json()["disabled_reason"] is None and r.json()["failures"] == 0, "cleared")
            s.wait_for("delivered once enabled", lambda: h.pending() == 0, timeout=20)
        s.request("DELETE", "/api/opt-outs?phone=%2B5493875574001")
    finally:
        rec.close()


def test_hooks_no_loss_across_worker_sigkill(s):
    """kill -9 the worker (and so its deliverer) mid-campaign while POSTs are in flight,
    start another: every event the outbox holds arrives at least once, nothing else arrives;
    prints sent / delivered / duplicates."""
    rec = Receiver(delay=0.4)
    n = 300
    try:
        with Hook(s, rec.url()) as h, wk.AccountSettings(s, throughput_mps=25), \
                wk.Workers(s) as w:
            p = w.start()
            cid = wk.make_campaign(s, "hooks kill", wk.phones("73", n))
            s.wait_for("events flowing", lambda: len(rec.accepted()) > 20, timeout=60)
            # the kill lands while a POST is in flight: its events go again
            s.wait_for("a POST in flight", lambda: rec.inflight > 0 and h.pending() > 0,
                       timeout=30, interval=0.01)
            w.kill(p)
            killed_at = len(rec.posts)
            w.start()
            wk.wait_status(s, cid, ("completed",), timeout=180)
            s.wait_for("all applied", s.wait_webhooks_applied, timeout=60)
            s.wait_for("every event delivered", lambda: h.pending() == 0 and s.query(
                "SELECT COUNT(*) AS n FROM webhook_events WHERE applied_at IS NULL")[0]["n"] == 0,
                timeout=120)
            time.sleep(1)
            check(h.pending() == 0, "nothing pending")
            check_signed(rec)
            outbox = {r["id"] for r in s.query("SELECT id FROM hook_outbox WHERE hook_id = %s",
                                               (h.id,))}
            got = [e["id"] for e in rec.accepted()]
            missing = outbox - set(got)
            invented = set(got) - outbox
            eq(missing, set(), "events lost")
            eq(invented, set(), "events invented")
            # Independently of the outbox: each recipient's statuses, and the campaign's.
            events = [e for e in rec.accepted() if e["campaign_id"] == cid]
            by = _statuses_by_recipient(events)
            final = {r["id"]: r["status"] for r in s.query(
                "SELECT id, status FROM recipients WHERE campaign_id = %s", (cid,))}
            # a message in flight at the kill is in doubt (unknown, docs/worker.md): its wamid
            # never recorded, Meta's statuses for it reach no recipient and make no event
            told = {rid: st for rid, st in final.items() if st != "unknown"}
            check(len(told) >= n - 20, "recipients with known statuses: %d" % len(told))
            eq(set(by), set(told), "recipients with status events")
            for rid, st in told.items():
                check(st in by[rid], "recipient %d %s not told: %r" % (rid, st, by[rid]))
            types = {e["type"] for e in events}
            check({"campaign.started", "campaign.completed"} <= types, "campaign events")
            # per campaign order holds across the kill too (duplicates aside)
            seen, order = set(), []
            for e in events:
                if e["id"] not in seen:
                    seen.add(e["id"])
                    order.append(e["id"])
            eq(order, sorted(order), "order across the kill")
            dup = len(got) - len(set(got))
            print("   hooks SIGKILL: sent %d, delivered %d (unique), duplicates %d; "
                  "POSTs %d (%d before the kill); %d recipients in doubt" % (
                      len(outbox), len(set(got)), dup, len(rec.posts), killed_at,
                      n - len(told)))
    finally:
        rec.close()
