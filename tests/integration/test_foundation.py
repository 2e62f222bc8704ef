"""The thin slice of the mission through the real stack:
nginx -> FastCGI -> MariaDB <- worker -> sandbox Graph API -> signed webhooks -> FastCGI."""

import json
import time

import pymysql

from harness import check, eq

CSV_OK = ("phone,name,day,consent\n+5493875551001,Ana,martes,si\n0387 15 555-1002,Beto,,si\n"
          "(0387) 155551003,Caro,jueves,si\n")

# Issue 3: consent is mandatory, start needs acknowledge_risk and an APPROVED template in the
# cache (synced from the sandbox).
START = {"acknowledge_risk": True}


def synced(s):
    r = s.post("/api/templates/sync", {})
    eq(r.status, 200, "template sync: %r" % r)


def test_health_reports_database_and_sandbox(s):
    r = s.get("/api/health")
    eq(r.status, 200, "health status")
    body = r.json()
    eq(body["database"], "ok", "database")
    eq(body["sandbox"], True, "sandbox flag while no real account exists")
    check("no-store" in r.headers.get("Cache-Control", ""), "API answers are not cached")
    check(r.headers.get("X-Content-Type-Options") == "nosniff", "security headers from nginx")


def test_static_ui_is_served(s):
    r = s.get("/")
    eq(r.status, 200, "index")
    check("Pregón" in r.body, "the admin page names the product")


def test_campaign_end_to_end(s):
    c = s.create_campaign(name="Inicio Robótica")
    eq(c["status"], "draft", "new campaign")
    eq(c["sandbox"], True, "sandbox flag on the campaign")
    r = s.upload(c["id"], CSV_OK)
    eq(r.status, 200, "upload")
    rep = r.json()
    eq(rep["accepted"], 3, "accepted rows: %s" % rep)
    eq(rep["rejected_total"], 0, "rejected rows")
    synced(s)
    r = s.post("/api/campaigns/%d/start" % c["id"], START)
    eq(r.status, 200, "start")
    eq(r.json()["status"], "running", "running after start")

    def done():
        g = s.get("/api/campaigns/%d" % c["id"]).json()
        cnt = g["counters"]
        return g if g["status"] == "completed" and cnt["read"] == 3 else None

    g = s.wait_for("completed with 3 read", done, timeout=60)
    cnt = g["counters"]
    eq(cnt["total"], 3, "total")
    eq(cnt["sent"], 3, "sent")
    eq(cnt["delivered"], 3, "delivered")
    eq(cnt["failed"], 0, "failed")
    eq(cnt["pending"], 0, "pending")
    check(g["completed_at"], "completed_at is set")

    rows = s.query("SELECT phone, status, wamid, vars, delivered_at, read_at FROM recipients "
                   "WHERE campaign_id = %s ORDER BY phone", (c["id"],))
    eq([r["phone"] for r in rows], ["+5493875551001", "+5493875551002", "+5493875551003"],
       "numbers normalized to E.164")
    for row in rows:
        eq(row["status"], "read", "recipient status")
        check(row["wamid"] and row["wamid"].startswith("wamid."), "wamid stored")
        check(row["read_at"] is not None and row["delivered_at"] is not None, "status times")
    log = s.query("SELECT outcome, wamid, template_name FROM send_log WHERE campaign_id = %s",
                  (c["id"],))
    eq(len(log), 3, "one send_log row per outcome")
    check(all(l["outcome"] == "sent" and l["wamid"] for l in log), "send_log rows: %r" % log)

    # What the sandbox received: each recipient exactly once, with the mapped parameters.
    msgs = s.sandbox_get("/_sandbox/messages?limit=1000").json()["messages"]
    mine = [m for m in msgs if (m["callback_data"] or "").startswith("pregon:%d:" % c["id"])]
    eq(len(mine), 3, "messages accepted by the sandbox")
    ana = [m for m in mine if m["to"] == "+5493875551001"][0]
    body = ana["request"]["template"]["components"][0]["parameters"]
    eq([p["text"] for p in body], ["Ana", "Robótica", "martes"], "body parameters")
    beto = [m for m in mine if m["to"] == "+5493875551002"][0]
    eq(beto["request"]["template"]["components"][0]["parameters"][2]["text"], "lunes",
       "fallback for an empty column")
    eq(s.sandbox_get("/_sandbox/stats").json()["duplicates"], 0, "no duplicate sends")


def test_forged_signature_changes_nothing(s):
    c = s.create_campaign(name="Firma")
    eq(s.upload(c["id"], "phone,name,consent\n+5493875552001,Ana,si\n").status, 200, "upload")
    rec = s.query("SELECT id, status FROM recipients WHERE campaign_id = %s", (c["id"],))[0]
    # Give the recipient a wamid as if it had been sent, then forge a "read" for it.
    s.query("UPDATE recipients SET status = 'sent', wamid = 'wamid.FORGED1' WHERE id = %s",
            (rec["id"],))
    last_event = s.query("SELECT COALESCE(MAX(id), 0) AS m FROM webhook_events")[0]["m"]
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
               "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111",
                             "phone_number_id": "106540352242922"},
                "statuses": [{"id": "wamid.FORGED1", "status": "read", "timestamp": "1750030073",
                              "recipient_id": "5493875552001"}]}}]}]}
    raw = json.dumps(payload).encode()
    wrong = "sha256=" + "0" * 64
    for sig, why in ((wrong, "wrong"), ("", "missing"), ("sha256=zz", "malformed"),
                     (s.sign(raw + b" "), "signature of another body")):
        r = s.post_webhook(payload, signature=sig, raw=raw)
        eq(r.status, 401, "forged webhook (%s)" % why)
        eq(r.json()["error"]["code"], "invalid_signature", "error code")
    eq(s.query("SELECT status FROM recipients WHERE id = %s", (rec["id"],))[0]["status"], "sent",
       "recipient unchanged")
    # this body only: the sandbox's late statuses for earlier tests may be stored meanwhile
    eq(s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE id > %s AND body = %s",
               (last_event, raw))[0]["n"], 0, "nothing stored")
    # The same body properly signed is applied.
    r = s.post_webhook(payload, raw=raw)
    eq(r.status, 200, "signed webhook")
    eq(s.query("SELECT status FROM recipients WHERE id = %s", (rec["id"],))[0]["status"], "read",
       "applied when signed")


def test_verification_handshake(s):
    token = s.secrets["SANDBOX_VERIFY_TOKEN"]
    r = s.get("/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + token)
    eq(r.status, 200, "right token")
    eq(r.body, "1158201444", "challenge echoed")
    r = s.get("/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=nope")
    eq(r.status, 403, "wrong token")
    check("1158201444" not in r.body, "challenge not echoed")
    r = s.get("/webhook?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=" + token)
    eq(r.status, 403, "wrong mode")


def test_csv_with_bad_rows_reports_lines(s):
    c = s.create_campaign(name="Filas malas")
    csv = ("\ufeffTelefono;Name;Day;Consent\r\n"
           "+5493875553001;Ana;lunes;si\r\n"      # line 2 ok
           "12;Beto;martes;si\r\n"                 # line 3 too short
           "+5493875553001;Ana bis;x;si\r\n"       # line 4 duplicate of line 2
           "\r\n"                                  # line 5 blank, skipped
           "0387 15 555-3004;;x;si\r\n"            # line 6 missing name (no fallback)
           "abc;Dora;x;si\r\n"                     # line 7 letters
           "\"+54 9 387 555-3007\";\"Eva; la \"\"jefa\"\"\";x;si\r\n")  # line 8 ok, quoted
    r = s.upload(c["id"], csv)
    eq(r.status, 200, "upload with bad rows is still accepted")
    rep = r.json()
    eq(rep["accepted"], 2, "accepted: %s" % rep)
    eq(rep["rejected_total"], 4, "rejected")
    by_line = {x["line"]: x["reason"] for x in rep["rejected"]}
    eq(sorted(by_line), [3, 4, 6, 7], "lines reported: %s" % rep["rejected"])
    eq(by_line[4], "duplicate", "duplicate reason")
    eq(by_line[6], "missing_param", "missing parameter reason")
    check(by_line[3].startswith("phone_"), "invalid phone reason: %s" % by_line[3])
    rows = s.query("SELECT phone, vars FROM recipients WHERE campaign_id = %s ORDER BY phone",
                   (c["id"],))
    eq([r["phone"] for r in rows], ["+5493875553001", "+5493875553007"], "stored rows")
    eq(json.loads(rows[1]["vars"])["Name"], 'Eva; la "jefa"', "quoted field kept verbatim")
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq(g["counters"]["total"], 2, "counter follows the upload")
    # The same file again adds nothing; every row is now a duplicate or still invalid.
    rep2 = s.upload(c["id"], csv).json()
    eq(rep2["accepted"], 0, "second upload adds nothing")
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["counters"]["total"], 2, "total unchanged")


def test_broken_csv_stores_nothing(s):
    c = s.create_campaign(name="CSV roto")
    r = s.upload(c["id"], 'phone,name\n+5493875554001,Ana\n"+5493875554002,Beto\n')
    eq(r.status, 400, "unterminated quote")
    eq(r.json()["error"]["code"], "invalid_csv", "error code")
    check("line" in r.json()["error"]["message"], "the error names the line")
    eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s", (c["id"],))[0]["n"],
       0, "nothing half-written")
    r = s.upload(c["id"], "name,day\nAna,lunes\n")
    eq(r.status, 422, "no phone column")
    eq(r.json()["error"]["field"], "phone", "field named")


def test_api_errors_are_clear(s):
    r = s.post("/api/campaigns", "{not json")
    eq(r.status, 400, "broken JSON")
    eq(r.json()["error"]["code"], "invalid_json", "code")
    r = s.post("/api/campaigns", {"template_name": "x", "template_language": "es"})
    eq(r.status, 400, "missing name")
    eq(r.json()["error"]["field"], "name", "field")
    r = s.post("/api/campaigns", {"name": "x", "template_name": "x", "template_language": "es",
                                  "phone_number_id": "999"})
    eq(r.status, 422, "unknown account")
    eq(r.json()["error"]["field"], "phone_number_id", "field")
    eq(s.get("/api/campaigns/999999").status, 404, "missing campaign")
    eq(s.get("/api/nothing-here").status, 404, "unknown endpoint")
    r = s.request("DELETE", "/api/health")
    eq(r.status, 405, "wrong method")
    check("GET" in r.headers.get("Allow", ""), "Allow header")
    eq(s.get("/api/campaigns/0").status, 404, "id 0 is no id")
    eq(s.get("/api/campaigns/1%2F..%2F..").status, 404, "path tricks")
    c = s.create_campaign(name="Sin destinatarios")
    r = s.post("/api/campaigns/%d/start" % c["id"], START)
    eq(r.status, 409, "start without recipients")
    eq(r.json()["error"]["code"], "no_recipients", "code")


def test_upload_only_to_drafts(s):
    c = s.create_campaign(name="Ya corriendo")
    eq(s.upload(c["id"], "phone,name,consent\n+5493875555001,Ana,si\n").status, 200, "upload")
    synced(s)
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    r = s.upload(c["id"], "phone,name,consent\n+5493875555002,Beto,si\n")
    eq(r.status, 409, "upload to a running campaign")
    r = s.post("/api/campaigns/%d/start" % c["id"], START)
    eq(r.status, 409, "start twice")


def test_campaign_list_newest_first(s):
    a = s.create_campaign(name="Lista A")
    b = s.create_campaign(name="Lista B")
    r = s.get("/api/campaigns?limit=2")
    eq(r.status, 200, "list")
    ids = [x["id"] for x in r.json()["campaigns"]]
    eq(ids, [b["id"], a["id"]], "newest first")
    r = s.get("/api/campaigns?limit=1&before=%d" % b["id"])
    eq([x["id"] for x in r.json()["campaigns"]], [a["id"]], "cursor")


def test_send_log_is_append_only(s):
    rows = s.query("SELECT id FROM send_log LIMIT 1")
    check(rows, "there is a send_log row to attack")
    rid = rows[0]["id"]
    for sql in ("UPDATE send_log SET outcome = 'failed' WHERE id = %s",
                "DELETE FROM send_log WHERE id = %s"):
        for admin in (False, True):
            try:
                s.query(sql, (rid,), admin=admin)
                raise AssertionError("%s succeeded (admin=%s)" % (sql, admin))
            except pymysql.err.MySQLError as e:
                code = e.args[0]
                check(code in (1142, 1644), "refused by grant or trigger, got %r" % (e.args,))
    eq(len(s.query("SELECT id FROM send_log WHERE id = %s", (rid,))), 1, "row still there")


def test_permanent_error_fails_recipient(s):
    r = s.sandbox_post("/_sandbox/config", {"errors": [
        {"to": "+5493875556002", "code": 131026, "mode": "sync", "times": -1}]})
    eq(r.status, 200, "inject error")
    c = s.create_campaign(name="Error permanente")
    s.upload(c["id"], "phone,name,consent\n+5493875556001,Ana,si\n+5493875556002,Beto,si\n")
    synced(s)
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    g = s.wait_for("completed", lambda: (lambda g: g if g["status"] == "completed" else None)(
        s.get("/api/campaigns/%d" % c["id"]).json()), timeout=60)
    eq(g["counters"]["failed"], 1, "one failed")
    eq(g["counters"]["sent"], 1, "one sent")
    row = s.query("SELECT status, last_error_code FROM recipients WHERE phone = %s AND "
                  "campaign_id = %s", ("+5493875556002", c["id"]))[0]
    eq(row["status"], "failed", "failed recipient")
    eq(row["last_error_code"], 131026, "Meta's code kept")
    log = s.query("SELECT outcome, error_code FROM send_log WHERE campaign_id = %s AND "
                  "phone = %s", (c["id"], "+5493875556002"))
    eq([(l["outcome"], l["error_code"]) for l in log], [("failed", 131026)], "log row")
    s.sandbox_post("/_sandbox/reset", {})
