"""Replies (issue 20): inbound messages injected as signed webhooks after a real campaign sent
by the worker through the sandbox; listed newest first and by campaign, polled with after=,
exported as replies.csv, marked handled, answered with a free-form text while the 24-hour
window is open (sent through the sandbox, recorded in reply_answers and the audit log) and
refused once it closed; button replies counted per button in the campaign stats."""

import time

from harness import check, eq
from test_campaign_api import START, campaign, synced, upload, wait_status

N = [0]


def _uniq():
    N[0] += 1
    return "%d%d" % (int(time.time() * 1000), N[0])


def _inbound(s, acct, phone, kind, context=None, ts=None, **body):
    wa = phone.lstrip("+")
    m = {"from": wa, "id": "wamid.RPL" + _uniq(), "timestamp": str(ts or int(time.time())),
         "type": kind}
    m.update(body)
    if context:
        m["context"] = {"from": acct["display_phone"], "id": context}
    payload = {"object": "whatsapp_business_account", "entry": [{"id": acct["waba_id"], "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": acct["display_phone"],
                         "phone_number_id": acct["phone_number_id"]},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa}],
            "messages": [m]}}]}]}
    eq(s.post_webhook(payload).status, 200, "webhook")
    return m["id"]


def _setup(s):
    if getattr(s, "_replies", None):
        return s._replies
    synced(s)
    acct = s.get("/api/accounts/1").json()
    c = campaign(s, "Respuestas")
    upload(s, c["id"], "phone,name,consent\n+5493875581001,Ana,si\n+5493875581002,Beto,si\n"
                       "+5493875581003,Caro,si\n")
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    wait_status(s, c["id"], "completed")
    wamids = {r["phone"]: r["wamid"] for r in s.query(
        "SELECT phone, wamid FROM recipients WHERE campaign_id = %s", (c["id"],))}
    ids = {}
    ids["text"] = _inbound(s, acct, "+5493875581001", "text", wamids["+5493875581001"],
                           text={"body": "¿A qué hora es?"})
    ids["button"] = _inbound(s, acct, "+5493875581002", "button", wamids["+5493875581002"],
                             button={"payload": "CONFIRMO", "text": "Confirmo"})
    ids["button2"] = _inbound(s, acct, "+5493875581003", "button", wamids["+5493875581003"],
                              button={"payload": "CONFIRMO", "text": "Confirmo"})
    ids["image"] = _inbound(s, acct, "+5493875581003", "image",
                            image={"id": "MEDIA123", "mime_type": "image/jpeg", "caption": "foto"})
    # a person whose last message is 25 hours old: the window closed
    ids["old"] = _inbound(s, acct, "+5493875581009", "text", ts=int(time.time()) - 25 * 3600,
                          text={"body": "hola de ayer"})
    s._replies = (c, acct, wamids, ids)
    return s._replies


def _by_wamid(replies):
    return {r["wamid"]: r for r in replies}


def test_list_newest_first_with_context_and_window(s):
    c, acct, wamids, ids = _setup(s)
    r = s.get("/api/replies?limit=50")
    eq(r.status, 200, "list: %r" % r)
    reps = r.json()["replies"]
    got = [x["id"] for x in reps]
    eq(got, sorted(got, reverse=True), "newest first")
    by = _by_wamid(reps)
    t = by[ids["text"]]
    eq((t["type"], t["text"], t["campaign_id"]), ("text", "¿A qué hora es?", c["id"]), "text")
    eq(t["contact"]["phone"], "+5493875581001", "contact")
    eq(t["in_reply_to"]["wamid"], wamids["+5493875581001"], "the message it answers")
    check(t["in_reply_to"]["send_log_id"], "its send_log row: %r" % t["in_reply_to"])
    row = s.query("SELECT wamid, outcome FROM send_log WHERE id = %s",
                  (t["in_reply_to"]["send_log_id"],))[0]
    eq((row["wamid"], row["outcome"]), (wamids["+5493875581001"], "sent"), "send_log row")
    eq(t["window_open"], True, "window open")
    b = by[ids["button"]]
    eq(b["button"], {"payload": "CONFIRMO", "text": "Confirmo"}, "button")
    m = by[ids["image"]]
    eq((m["type"], m["media"]), ("image", {"id": "MEDIA123", "caption": "foto"}), "media ref")
    eq(by[ids["old"]]["window_open"], False, "closed after 24 h")
    # per campaign, and filters
    camp = s.get("/api/replies?campaign_id=%d" % c["id"]).json()["replies"]
    eq(sorted(x["wamid"] for x in camp), sorted([ids["text"], ids["button"], ids["button2"]]),
       "per campaign")
    closed = s.get("/api/replies?window=0&limit=500").json()["replies"]
    mine = set(ids.values())  # other tests' old replies share the stack
    eq([x["wamid"] for x in closed if x["wamid"] in mine], [ids["old"]], "window filter")
    check(all(not x["window_open"] for x in closed), "only closed windows: %r" % closed)
    # paging and polling
    p1 = s.get("/api/replies?limit=2").json()
    p2 = s.get("/api/replies?limit=2&before=%d" % p1["next_before"]).json()
    eq([x["id"] for x in p1["replies"] + p2["replies"]], got[:4], "pages")
    first = min(got)
    newer = s.get("/api/replies?after=%d" % first).json()["replies"]
    eq([x["id"] for x in newer], sorted(got)[1:], "after=: newer ones, oldest first")
    eq(s.get("/api/replies?limit=0").status, 400, "bad limit")


def test_csv_export(s):
    c, acct, wamids, ids = _setup(s)
    r = s.get("/api/replies.csv?campaign_id=%d" % c["id"])
    eq(r.status, 200, "csv: %r" % r)
    check(r.headers["Content-Type"].startswith("text/csv"), "csv type")
    lines = r.body.lstrip("\ufeff").strip().split("\r\n")
    check(lines[0].replace("\"", "").startswith("id,sent_at,received_at,phone"),
          "header %r" % lines[0])
    eq(len(lines), 4, "three replies of the campaign")
    check(any("CONFIRMO" in x for x in lines), "button payload in the file")


def test_mark_handled(s):
    c, acct, wamids, ids = _setup(s)
    rid = _by_wamid(s.get("/api/replies").json()["replies"])[ids["button"]]["id"]
    r = s.request("PATCH", "/api/replies/%d" % rid, {"handled": True})
    eq(r.status, 200, "handled: %r" % r)
    eq((r.json()["handled"], r.json()["handled_by"]), (True, s.admin_email), "by whom")
    pending = [x["id"] for x in s.get("/api/replies?handled=0").json()["replies"]]
    check(rid not in pending, "left out of the unhandled")
    eq(s.request("PATCH", "/api/replies/%d" % rid, {"handled": False}).json()["handled"], False,
       "unmarked")
    eq(s.request("PATCH", "/api/replies/999999", {"handled": True}).status, 404, "no such reply")
    eq(s.request("PATCH", "/api/replies/%d" % rid, {"handled": True}, auth="viewer").status, 403,
       "viewers only read")


def test_answer_in_window_and_refused_after(s):
    c, acct, wamids, ids = _setup(s)
    by = _by_wamid(s.get("/api/replies").json()["replies"])
    rid = by[ids["text"]]["id"]
    r = s.post("/api/replies/%d/answer" % rid, {"text": "A las 18 h. ¡Te esperamos!"})
    eq(r.status, 200, "answer: %r" % r)
    a = r.json()
    check(a["accepted"] and a["wamid"], "accepted by the sandbox: %r" % a)
    sent = s.sandbox_get("/_sandbox/messages?to=5493875581001").json()["messages"]
    texts = [m for m in sent if m.get("type") == "text"]
    eq(len(texts), 1, "one text message reached the sandbox")
    eq(texts[0]["request"]["text"]["body"], "A las 18 h. ¡Te esperamos!", "its text")
    eq(texts[0]["request"]["context"]["message_id"], ids["text"], "quoting the reply")
    row = s.query("SELECT * FROM reply_answers WHERE inbound_id = %s", (rid,))
    eq([(x["outcome"], x["wamid"]) for x in row], [("sent", a["wamid"])], "recorded")
    audit = s.get("/api/audit?action=reply.answer").json()["entries"]
    check(any(e["target_id"] == rid and e["detail"]["wamid"] == a["wamid"] for e in audit),
          "audited")
    after = _by_wamid(s.get("/api/replies").json()["replies"])[ids["text"]]
    eq((after["handled"], after["answers"]), (True, 1), "answered: handled")
    one = s.get("/api/replies/%d" % rid, auth="viewer").json()
    eq([(x["text"], x["outcome"], x["wamid"], x["created_by"]) for x in one["answer_log"]],
       [("A las 18 h. ¡Te esperamos!", "sent", a["wamid"], s.admin_email)], "answer log")
    eq(s.get("/api/replies/999999").status, 404, "no such reply")
    # the window closed: refused clearly, nothing sent
    old = by[ids["old"]]["id"]
    r = s.post("/api/replies/%d/answer" % old, {"text": "hola"})
    eq(r.status, 409, "closed window: %r" % r)
    eq(r.error_code(), "window_closed", "code")
    eq(s.query("SELECT COUNT(*) AS n FROM reply_answers WHERE inbound_id = %s", (old,))[0]["n"],
       0, "nothing recorded")
    eq(s.post("/api/replies/%d/answer" % rid, {"text": ""}).status, 400, "empty text")
    eq(s.post("/api/replies/%d/answer" % rid, {"text": "x" * 4097}).status, 400, "too long")


def test_button_counts_in_stats(s):
    c, acct, wamids, ids = _setup(s)
    st = s.get("/api/campaigns/%d/stats" % c["id"]).json()
    eq(st["buttons"], [{"payload": "CONFIRMO", "text": "Confirmo", "count": 2}], "per button")


def test_api_key_reads_replies(s):
    _setup(s)
    k = s.post("/api/keys", {"name": "CRM replies", "role": "viewer"}).json()["key"]
    r = s.request("GET", "/api/replies?limit=1", headers={"Authorization": "Bearer " + k},
                  auth=None)
    eq(r.status, 200, "a key polls replies: %r" % r)
    eq(len(r.json()["replies"]), 1, "one")
