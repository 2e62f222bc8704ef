"""The operator's first hour (issue #19, "Flow"), server side: test sends to a number outside
the audience, editing a paused campaign, the default pace an account suggests, consent as
free text, copies' names, the exports' lead_id and name, "retry failed" only when something
can be retried, header-only and binary CSV files."""

import csv
import datetime
import io
import json

from harness import check, eq
from test_campaign_api import START, audit_rows, campaign, err, synced, upload


def _rows(body):
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"), newline="")))


def test_test_send_outside_the_audience_uses_the_first_recipients_values(s):
    synced(s)
    c = campaign(s, "Prueba fuera de la lista")
    # no recipient yet: nothing to take values from
    err(s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875581900"}), 422,
        "missing_value")
    eq(upload(s, c["id"], "phone,name,day,consent\n+5493875581001,Ana,martes,formulario web\n"
              "+5493875581002,Beto,jueves,si\n").json()["accepted"], 2, "upload")
    r = s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875581900"})
    eq(r.status, 200, "test send to one's own number: %r" % r)
    t = r.json()
    eq(t["values_from"], {"source": "first_recipient", "phone": "+5493875581001"},
       "the answer says whose values")
    msgs = s.sandbox_get("/_sandbox/messages?limit=1000").json()["messages"]
    mine = [m for m in msgs if m["to"] == "+5493875581900"]
    eq([p["text"] for p in mine[-1]["request"]["template"]["components"][0]["parameters"]],
       ["Ana", "Robótica", "martes"], "the first row's values")
    check("values_from" in audit_rows(s, "campaign.test", c["id"])[-1]["detail"], "audited")
    # values given win, and a recipient's own number uses its own
    r = s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875581900",
                                                    "vars": {"name": "Zoe"}})
    eq((r.status, "values_from" in r.json()), (200, False), "typed values: %r" % r)
    r = s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875581002"})
    eq((r.status, "values_from" in r.json()), (200, False), "a recipient's own: %r" % r)


def test_paused_campaign_changes_pace_and_window(s):
    synced(s)
    c = campaign(s, "Pausada editable", batch_size=200)
    upload(s, c["id"], "phone,name,consent\n+5493875582001,Ana,si\n")
    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=3)).replace(
        microsecond=0).isoformat()
    eq(s.post("/api/campaigns/%d/start" % c["id"], dict(START, at=at)).json()["status"],
       "scheduled", "scheduled")
    eq(s.post("/api/campaigns/%d/pause" % c["id"]).json()["status"], "paused", "paused")
    r = s.request("PATCH", "/api/campaigns/%d" % c["id"],
                  {"batch_size": 20, "interval_ms": 30000, "daily_cap": 500,
                   "send_window": {"start": 9, "end": 18}})
    eq(r.status, 200, "pace edited while paused: %r" % r)
    row = s.query("SELECT status, batch_size, interval_ms, daily_cap, send_window_start, "
                  "send_window_end FROM campaigns WHERE id = %s", (c["id"],))[0]
    eq((row["status"], row["batch_size"], row["interval_ms"], row["daily_cap"],
        row["send_window_start"], row["send_window_end"]), ("paused", 20, 30000, 500, 9, 18),
       "stored, still paused")
    a = audit_rows(s, "campaign.update", c["id"])
    check(a, "audited")
    d = json.loads(a[-1]["detail"])
    eq((d["status"], d["values"]["batch_size"]), ("paused", 20), "the audit row says what")
    # only the pace and the window: not the template, the mapping or the name
    err(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"name": "otro"}), 409,
        "invalid_state", "name")
    err(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"batch_size": 0}), 400,
        "invalid_field")
    eq(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"interval_ms": 1},
                 auth="viewer").status, 403, "viewer")
    s.post("/api/campaigns/%d/cancel" % c["id"])
    err(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"batch_size": 5}), 409,
        "invalid_state")


def test_default_pace_follows_tier_and_quality(s):
    r = s.get("/api/accounts/1")
    eq(r.status, 200, "account: %r" % r)
    a = r.json()
    check(a["default_pace"]["batch_size"] >= 1, "offered: %r" % a["default_pace"])
    s.query("UPDATE wa_accounts SET is_sandbox = 0, messaging_tier = 'TIER_250', "
            "quality_rating = 'YELLOW' WHERE id = 1", admin=True)
    try:
        p = s.get("/api/accounts/1").json()["default_pace"]
        eq(p, {"batch_size": 10, "interval_ms": 20000, "daily_cap": 250, "quality": "medium"},
           "a small tier at medium quality goes slowly")
        s.query("UPDATE wa_accounts SET quality_rating = 'GREEN' WHERE id = 1", admin=True)
        p = s.get("/api/accounts/1").json()["default_pace"]
        eq((p["batch_size"], p["interval_ms"], p["quality"]), (20, 10000, "high"), "green")
    finally:
        s.query("UPDATE wa_accounts SET is_sandbox = 1, messaging_tier = 'TIER_UNLIMITED', "
                "quality_rating = %s WHERE id = 1", (a["quality_rating"] or "UNKNOWN",),
                admin=True)


def test_consent_in_free_text(s):
    synced(s)
    c = campaign(s, "Consentimiento libre")
    rep = upload(s, c["id"], "phone,name,consent\n+5493875583001,Ana,formulario web\n"
                 "+5493875583002,Beto,inscripción presencial\n+5493875583003,Caro,no acepta\n"
                 "+5493875583004,Dani,\n").json()
    eq(rep["accepted"], 2, "free text is a consent record: %r" % rep)
    eq({x["line"]: x["reason"] for x in rep["rejected"]}, {4: "no_consent", 5: "no_consent"},
       "only the negative and the blank refused")
    rep = s.post("/api/contacts/import", "phone,name,consent\n+5493875583101,Eva,formulario web\n"
                 "+5493875583102,Fede,nunca\n", headers={"Content-Type": "text/csv"}).json()
    eq((rep["stored"], [x["reason"] for x in rep["rejected"]]), (1, ["no_consent"]), "contacts")
    k = s.get("/api/contacts?q=%2B5493875583101").json()["contacts"][0]
    check(k["consent"]["source"].startswith("formulario web (import "),
          "what and which import kept: %r" % k["consent"])
    check(k["consent"]["at"], "when")
    r = s.post("/api/contacts", {"phone": "+5493875583201", "consent": {"source": "no quiere"}})
    err(r, 422, "consent_refused", "consent")
    r = s.post("/api/contacts", {"phone": "+5493875583202",
                                 "consent": {"source": "inscripción presencial"}})
    eq(r.status, 201, "free text from the form: %r" % r)


def test_copies_are_numbered(s):
    c = campaign(s, "Numerada")
    k1 = s.post("/api/campaigns/%d/clone" % c["id"]).json()
    eq(k1["name"], "Numerada (copia)", "first copy")
    k2 = s.post("/api/campaigns/%d/clone" % k1["id"]).json()
    eq(k2["name"], "Numerada (copia 2)", "a copy of the copy")
    k3 = s.post("/api/campaigns/%d/clone" % c["id"]).json()
    eq(k3["name"], "Numerada (copia 3)", "another copy of the original")


def test_exports_give_the_crm_lead_id_and_name(s):
    synced(s)
    s.post("/api/contacts", {"phone": "+5493875584002", "name": "Contacto Beto",
                             "lead_id": "CRM-B", "consent": {"source": "formulario web"}})
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": "+5493875584001", "code": 131026,
                                                    "mode": "sync", "times": -1},
                                                   {"to": "+5493875584002", "code": 131026,
                                                    "mode": "sync", "times": -1}]})
    try:
        c = campaign(s, "Exporta CRM")
        upload(s, c["id"], "phone,name,lead_id,consent\n+5493875584001,Ana,CRM-A,si\n"
               "+5493875584002,Beto,,\n")
        s.post("/api/campaigns/%d/start" % c["id"], START)
        s.wait_for("completed", lambda: s.get("/api/campaigns/%d" % c["id"]).json()["status"]
                   in ("completed", "failed") or None)
    finally:
        s.sandbox_post("/_sandbox/reset", {})
    log = _rows(s.get("/api/campaigns/%d/log.csv" % c["id"]).body)
    eq(sorted({(x["phone"].lstrip("'"), x["lead_id"]) for x in log}),
       [("+5493875584001", "CRM-A"), ("+5493875584002", "CRM-B")], "the CRM's lead id")
    failed = _rows(s.get("/api/campaigns/%d/failed.csv" % c["id"]).body)
    eq(sorted((x["phone"].lstrip("'"), x["name"], x["lead_id"]) for x in failed),
       [("+5493875584001", "Ana", "CRM-A"), ("+5493875584002", "Beto", "CRM-B")],
       "name and lead id in failed.csv")
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq(g["retryable"], {"failed": 0, "not_retryable": 2},
       "131026 is not retried, and the campaign says so")
    err(s.post("/api/campaigns/%d/retry" % c["id"], START), 409, "nothing_to_retry")


def test_header_only_and_binary_files(s):
    synced(s)
    c = campaign(s, "Archivos raros")
    err(upload(s, c["id"], "phone,name,consent\n"), 422, "no_rows", "body")
    junk = "PK\x03\x04\x14\x00\x06\x00phone\x01\x02,x\n1,2\n"
    r = upload(s, c["id"], junk)
    err(r, 400, "invalid_csv", "body")
    check("not a CSV text file" in r.json()["error"]["message"], "says what: %r" % r)
    r = s.post("/api/contacts/import", "phone,name,consent\n", headers={"Content-Type": "text/csv"})
    err(r, 422, "no_rows", "body")
    r = s.post("/api/contacts/import", junk, headers={"Content-Type": "text/csv"})
    err(r, 400, "invalid_csv", "body")
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["counters"]["total"], 0, "nothing stored")
