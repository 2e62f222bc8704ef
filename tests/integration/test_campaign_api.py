"""Issue 3: the complete campaign API through nginx (accounts, templates, audiences, the
campaign lifecycle, progress, reports, audit), with the rows it leaves in MariaDB."""

import datetime
import json
import os
import urllib.parse

import pymysql

from harness import ROOT, check, eq

START = {"acknowledge_risk": True}
SANDBOX_PHONE_ID = "106540352242922"


def synced(s):
    r = s.post("/api/templates/sync", {"account_id": 1})
    eq(r.status, 200, "template sync: %r" % r)
    return r.json()


def campaign(s, name, template="recordatorio_clase", language="es_AR", params=None, **extra):
    body = {"name": name, "template_name": template, "template_language": language,
            "account_id": 1}
    if params is None:
        params = {"body": [{"column": "name"}, "Robótica", {"column": "day", "fallback": "lunes"}]}
    body["params"] = params
    body.update(extra)
    r = s.post("/api/campaigns", body)
    eq(r.status, 201, "create campaign: %r" % r)
    return r.json()


def upload(s, cid, text):
    return s.post("/api/campaigns/%d/recipients" % cid, text,
                  headers={"Content-Type": "text/csv"})


def err(r, status, code, field=None):
    eq(r.status, status, "status of %r" % r)
    e = r.json()["error"]
    eq(e["code"], code, "error code of %r" % r)
    if field is not None:
        eq(e.get("field"), field, "error field of %r" % r)
    return e


def audit_rows(s, action, campaign_id=None):
    if campaign_id is None:
        return s.query("SELECT * FROM audit_log WHERE action = %s ORDER BY id", (action,))
    return s.query("SELECT * FROM audit_log WHERE action = %s AND campaign_id = %s ORDER BY id",
                   (action, campaign_id))


def tmpl_id(s, name, language):
    r = s.get("/api/templates?name=%s&language=%s" % (name, language))
    eq(r.status, 200, "templates")
    t = r.json()["templates"]
    check(t, "template %s/%s in the cache" % (name, language))
    return t[0]["id"]


def wait_status(s, cid, status, timeout=60):
    return s.wait_for("campaign %d %s" % (cid, status),
                      lambda: (lambda g: g if g["status"] == status else None)(
                          s.get("/api/campaigns/%d" % cid).json()), timeout=timeout)


# --- accounts -------------------------------------------------------------------------------

def test_accounts_crud_with_write_only_secrets(s):
    token = "EAAGsecret-token-value-1234WXYZ"
    body = {"name": "Escuela Norte", "waba_id": "555000111", "phone_number_id": "777000111",
            "display_phone": "+54 9 387 555 0000", "access_token": token,
            "app_secret": "app-secret-abcdefgh9876", "verify_token": "verify-me-123456",
            "sandbox": True, "default_country": "mx", "timezone": "America/Mexico_City",
            "throughput_mps": 40, "messaging_tier": "TIER_2K", "quality_rating": "GREEN",
            "campaigns_enabled": False}
    r = s.post("/api/accounts", body)
    eq(r.status, 201, "create: %r" % r)
    a = r.json()
    check(token not in r.body and "app-secret-abcdefgh9876" not in r.body, "secrets not echoed")
    eq(a["credentials"]["access_token"]["set"], True, "token set")
    eq(a["credentials"]["access_token"]["masked"], "••••WXYZ", "token masked")
    eq(a["credentials"]["app_secret"]["masked"], "••••9876", "secret masked")
    eq(a["default_country"], "MX", "country upper-cased")
    # the sandbox stands for a verified business (sql/020): unlimited until a tier is set
    eq((a["messaging_tier"], a["daily_unique_users_limit"]), ("TIER_UNLIMITED", None), "tier")
    eq(a["campaigns_enabled"], False, "flag")
    row = s.query("SELECT access_token_enc FROM wa_accounts WHERE id = %s", (a["id"],))[0]
    check(token.encode() not in row["access_token_enc"], "token encrypted at rest")
    # list, show, edit
    ids = [x["id"] for x in s.get("/api/accounts").json()["accounts"]]
    check(a["id"] in ids and 1 in ids, "listed")
    r = s.request("PATCH", "/api/accounts/%d" % a["id"],
                  {"campaigns_enabled": True, "messaging_tier": "TIER_10K", "access_token": None})
    eq(r.status, 200, "patch: %r" % r)
    eq(r.json()["campaigns_enabled"], True, "flag on")
    eq(r.json()["credentials"]["access_token"]["set"], False, "token removed")
    g = s.get("/api/accounts/%d" % a["id"]).json()
    eq((g["messaging_tier"], g["daily_unique_users_limit"]), ("TIER_10K", 10000), "tier")
    # rejections, each naming its field
    for bad, field in (({"waba_id": "12ab"}, "waba_id"), ({"timezone": "Mars/Base"}, "timezone"),
                       ({"default_country": "ZZ"}, "default_country"),
                       ({"messaging_tier": "TIER_9"}, "messaging_tier"),
                       ({"throughput_mps": 0}, "throughput_mps"),
                       ({"graph_base_url": "ftp://x"}, "graph_base_url"),
                       ({"quality_rating": "PURPLE"}, "quality_rating"),
                       ({"colour": "red"}, "colour"), ({"sandbox": False}, "sandbox")):
        err(s.request("PATCH", "/api/accounts/%d" % a["id"], bad), 400,
            "unknown_field" if field == "colour" else "invalid_field", field)
    err(s.post("/api/accounts", {"name": "x", "waba_id": "1"}), 400, "missing_field",
        "phone_number_id")
    dup = dict(body, name="Otra")
    err(s.post("/api/accounts", dup), 409, "duplicate", "phone_number_id")
    err(s.get("/api/accounts/999999"), 404, "not_found")
    # roles: viewers read, only superadmins write
    eq(s.get("/api/accounts", auth="viewer").status, 200, "viewer reads")
    eq(s.post("/api/accounts", dict(body, phone_number_id="1"), auth="admin").status, 403,
       "admins do not manage accounts")
    # audit, without secrets
    rows = audit_rows(s, "account.create")
    check(rows and rows[-1]["target_id"] == a["id"], "audit row")
    check(rows[-1]["actor"] and rows[-1]["address"], "actor and address: %r" % rows[-1])
    check(token not in (rows[-1]["detail"] or ""), "no secret in the audit log")
    check(all(token not in open(os.path.join(s.var, "log", f), errors="replace").read()
              for f in os.listdir(os.path.join(s.var, "log"))), "no secret in the logs")
    # delete: refused while campaigns use it
    c = campaign(s, "Cuenta en uso", account_id=a["id"])
    err(s.request("DELETE", "/api/accounts/%d" % a["id"]), 409, "account_in_use")
    eq(s.request("DELETE", "/api/campaigns/%d" % c["id"]).status, 204, "delete draft")
    eq(s.request("DELETE", "/api/accounts/%d" % a["id"]).status, 204, "delete account")
    eq(s.get("/api/accounts/%d" % a["id"]).status, 404, "gone")


# --- templates ----------------------------------------------------------------------------

def test_template_sync_follows_paging_and_marks_missing(s):
    s.query("INSERT INTO templates (account_id, meta_id, name, language, status) VALUES "
            "(1, '99', 'plantilla_borrada', 'es_AR', 'APPROVED') ON DUPLICATE KEY UPDATE "
            "missing_since = NULL, synced_at = '2001-01-01'")
    r = s.post("/api/templates/sync", {"account_id": 1, "page_size": 4})
    eq(r.status, 200, "sync: %r" % r)
    res = r.json()["accounts"][0]
    check(res["ok"] and res["pages"] >= 4, "several pages followed: %r" % res)
    check(res["fetched"] >= 16, "every template fetched: %r" % res)
    eq(res["newly_missing"], 1, "the vanished template is marked")
    rows = s.query("SELECT missing_since FROM templates WHERE name = 'plantilla_borrada'")
    check(rows[0]["missing_since"] is not None, "missing_since set")
    all_t = s.get("/api/templates").json()["templates"]
    check("plantilla_borrada" not in [t["name"] for t in all_t], "missing ones hidden")
    inc = s.get("/api/templates?include_missing=1").json()["templates"]
    gone = [t for t in inc if t["name"] == "plantilla_borrada"][0]
    eq(gone["usable"], False, "missing is not usable")
    appr = s.get("/api/templates?status=APPROVED").json()["templates"]
    check(appr and all(t["status"] == "APPROVED" for t in appr), "status filter")
    mk = s.get("/api/templates?category=MARKETING&language=es_MX").json()["templates"]
    eq([t["name"] for t in mk], ["cupon_descuento"], "category + language filter")
    usable = s.get("/api/templates?usable=1").json()["templates"]
    check("oferta_pausada" not in [t["name"] for t in usable], "paused is not usable")
    promo = [t for t in all_t if t["name"] == "promo_marzo" and t["language"] == "es_AR"][0]
    eq([p["label"] for p in promo["params"]], ["header {{1}}", "body {{1}}", "body {{2}}"],
       "slots stored")
    eq(s.get("/api/templates/%d" % promo["id"]).json()["name"], "promo_marzo", "show")
    # again: nothing new goes missing, the count is stable
    res2 = s.post("/api/templates/sync", {"account_id": 1, "page_size": 100}).json()["accounts"][0]
    eq((res2["fetched"], res2["newly_missing"], res2["pages"]), (res["fetched"], 0, 1), "resync")
    check(audit_rows(s, "templates.sync"), "sync audited")
    # an account without credentials cannot sync
    a = s.post("/api/accounts", {"name": "Sin token", "waba_id": "42", "phone_number_id": "4242",
                                 "sandbox": True}).json()
    err(s.post("/api/templates/sync", {"account_id": a["id"]}), 409, "no_credentials")
    err(s.post("/api/templates/sync", {"account_id": 987654}), 404, "not_found", "account_id")
    err(s.post("/api/templates/sync", {"page_size": 0}), 400, "invalid_field", "page_size")
    s.request("DELETE", "/api/accounts/%d" % a["id"])


def test_template_preview_renders_what_the_recipient_reads(s):
    synced(s)
    tid = tmpl_id(s, "promo_marzo", "es_AR")
    r = s.post("/api/templates/%d/preview" % tid, {"values": ["Ana", "Ana", "Robótica"]})
    eq(r.status, 200, "preview: %r" % r)
    p = r.json()["preview"]
    eq(p["header"], "Hola Ana", "header")
    eq(p["body"], "Hola Ana, el curso de Robótica empieza el lunes.", "body")
    eq(p["footer"], "Respondé STOP para no recibir más", "footer")
    eq([b["text"] for b in p["buttons"]], ["No gracias"], "buttons")
    check(p["text"].startswith("Hola Ana\n\nHola Ana, el curso"), "whole text: %r" % p["text"])
    err(s.post("/api/templates/%d/preview" % tid, {"values": ["Ana"]}), 422, "missing_value")
    cup = tmpl_id(s, "cupon_descuento", "es_MX")
    r = s.post("/api/templates/%d/preview" % cup,
               {"params": {"body": [{"column": "code"}], "buttons": {"0": {"column": "code"}}},
                "vars": {"code": "MARZO20"}})
    eq(r.status, 200, "url button: %r" % r)
    eq(r.json()["preview"]["buttons"][0]["url"], "https://cursos.example.com/cupon/MARZO20", "url")
    named = tmpl_id(s, "bienvenida", "es")
    r = s.post("/api/templates/%d/preview" % named,
               {"params": {"body": {"first_name": {"column": "name", "fallback": "amigo"},
                                    "course": "Robótica"}}, "vars": {}})
    eq(r.json()["preview"]["body"], "Hola amigo, tu inscripción a Robótica está confirmada.",
       "named with fallback")
    err(s.post("/api/templates/%d/preview" % named, {"params": {"body": 5}}), 400,
        "invalid_field", "params.body")
    eq(s.post("/api/templates/999999/preview", {"values": []}).status, 404, "missing template")


# --- campaigns: create, mapping, edit --------------------------------------------------------

def test_campaign_mapping_is_checked_against_the_template(s):
    synced(s)
    c = campaign(s, "Promo", template="promo_marzo",
                 params={"header": [{"column": "name"}], "body": [{"column": "name"}, "Robótica"]})
    eq(c["params"]["header"], [{"column": "name"}], "mapping kept")
    eq(c["body_params"], [{"column": "name"}, {"value": "Robótica"}], "body part for senders")
    eq(c["template"]["status"], "APPROVED", "template status shown")
    r = s.post("/api/campaigns", {"name": "x", "template_name": "promo_marzo",
                                  "template_language": "es_AR", "account_id": 1,
                                  "params": {"body": ["a", "b", "c"]}})
    err(r, 422, "params_mismatch", "params")
    r = s.post("/api/campaigns", {"name": "x", "template_name": "promo_marzo",
                                  "template_language": "es_AR", "params": {"body": [{"col": 1}]}})
    err(r, 400, "invalid_field", "params.body[0]")
    r = s.post("/api/campaigns", {"name": "x", "template_name": "promo_marzo",
                                  "template_language": "es_AR", "interval_ms": -1})
    err(r, 400, "invalid_field", "interval_ms")
    r = s.post("/api/campaigns", {"name": "x", "template_name": "promo_marzo",
                                  "template_language": "es_AR", "send_window": {"start": 9}})
    err(r, 400, "invalid_field", "send_window")
    # edit a draft: settings and mapping
    r = s.request("PATCH", "/api/campaigns/%d" % c["id"],
                  {"name": "Promo marzo", "interval_ms": 250, "daily_cap": 1000,
                   "send_window": {"start": 9, "end": 20}})
    eq(r.status, 200, "edit: %r" % r)
    g = r.json()
    eq((g["name"], g["interval_ms"], g["daily_cap"], g["send_window"]["start"],
        g["send_window"]["end"]), ("Promo marzo", 250, 1000, 9, 20), "edited")
    err(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"params": {"body": ["solo uno"]}}),
        422, "params_mismatch")
    err(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"status": "running"}), 400,
        "unknown_field", "status")
    check(audit_rows(s, "campaign.update", c["id"]), "edit audited")
    # preview of the campaign for given values and for a recipient
    r = s.post("/api/campaigns/%d/preview" % c["id"], {"vars": {"name": "Beto"}})
    eq(r.json()["preview"]["body"], "Hola Beto, el curso de Robótica empieza el lunes.", "preview")
    eq(upload(s, c["id"], "phone,name,consent\n+5493875560001,Caro,si\n").status, 200, "upload")
    r = s.post("/api/campaigns/%d/preview" % c["id"], {"phone": "+5493875560001"})
    eq(r.json()["preview"]["header"], "Hola Caro", "preview of a recipient")
    err(s.post("/api/campaigns/%d/preview" % c["id"], {"phone": "+5493875560999"}), 404,
        "not_found", "phone")


# --- audiences -------------------------------------------------------------------------------

def test_csv_upload_applies_every_rule(s):
    s.post("/api/opt-outs", {"phone": "+5493875561005", "detail": "pidió la baja"})
    r = s.post("/api/contacts", {"phone": "+5493875561006", "name": "Contacto",
                                 "consent": {"source": "formulario web"}})
    eq(r.status, 201, "contact with consent: %r" % r)
    contact_id = r.json()["id"]
    c = campaign(s, "Reglas")
    csv = ("phone,name,lead_id,consent,curso\n"
           "+5493875561001,Ana,L-1,si,Robótica\n"      # 2 ok
           "+5493875561002,Beto,,,Python\n"             # 3 no consent anywhere
           "+5493875561003,Caro,,no,Python\n"           # 4 consent says no
           "+5493875561004,Dani,,no acepta,Python\n"    # 5 a written refusal
           "+5493875561005,Eli,,si,Python\n"            # 6 opted out
           "+5493875561006,Fede,,,Python\n"             # 7 consent from the contact
           "+5493875561007,,,si,Python\n"               # 8 no name, no fallback
           "+5493875561001,Ana,,si,Robótica\n"          # 9 duplicate
           "+99 123,Gabi,,si,x\n")                       # 10 invalid number
    r = upload(s, c["id"], csv)
    eq(r.status, 200, "upload: %r" % r)
    rep = r.json()
    eq(rep["accepted"], 2, "accepted: %r" % rep)
    got = {x["line"]: x["reason"] for x in rep["rejected"]}
    eq(got, {3: "no_consent", 4: "no_consent", 5: "no_consent", 6: "opted_out",
             8: "missing_param", 9: "duplicate", 10: got.get(10)}, "reasons by line")
    check(got[10].startswith("phone_"), "invalid number reason")
    eq(rep["rejected_by_reason"]["no_consent"], 3, "counted by reason")
    rows = s.query("SELECT phone, contact_id, vars FROM recipients WHERE campaign_id = %s "
                   "ORDER BY phone", (c["id"],))
    eq([x["phone"] for x in rows], ["+5493875561001", "+5493875561006"], "stored")
    v = json.loads(rows[0]["vars"])
    eq((v["name"], v["lead_id"], v["curso"]), ("Ana", "L-1", "Robótica"), "columns kept")
    check("consent" not in v and "phone" not in v, "phone and consent are not variables")
    eq(rows[1]["contact_id"], contact_id, "linked to the contact")
    imp = s.get("/api/campaigns/%d/imports" % c["id"]).json()["imports"]
    eq((imp[0]["kind"], imp[0]["accepted"], imp[0]["rejected"]), ("csv", 2, 7), "import kept")
    eq(imp[0]["definition"]["columns"], ["phone", "name", "lead_id", "consent", "curso"],
       "definition")
    check(audit_rows(s, "campaign.recipients.csv", c["id"]), "audited")
    # the same file again adds nothing
    eq(upload(s, c["id"], csv).json()["accepted"], 0, "idempotent")
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["counters"]["total"], 2, "total")
    # clear a draft's audience
    eq(s.request("DELETE", "/api/campaigns/%d/recipients" % c["id"]).json()["removed"], 2, "clear")
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["counters"]["total"], 0, "cleared")
    eq(s.get("/api/campaigns/%d/recipients" % 987654).status, 404, "unknown campaign")


def test_recipients_from_contacts_by_tags_and_pasted_list(s):
    made = []
    for phone, name, tags, consent in (("+5493875562001", "Ana", ["robotica", "salta"], True),
                                       ("+5493875562002", "Beto", ["robotica"], True),
                                       ("+5493875562003", "Caro", ["robotica", "ex_alumno"], True),
                                       ("+5493875562004", "Dani", ["robotica"], False),
                                       ("+5493875562005", "Eli", ["python"], True)):
        body = {"phone": phone, "name": name, "tags": tags, "attributes": {"day": "martes"}}
        if consent:
            body["consent"] = {"source": "inscripción"}
        r = s.post("/api/contacts", body)
        eq(r.status, 201, "contact: %r" % r)
        made.append(r.json()["id"])
    c = campaign(s, "Por etiquetas")
    r = s.post("/api/campaigns/%d/recipients/contacts" % c["id"],
               {"include_tags": ["robotica"], "exclude_tags": ["ex_alumno"]})
    eq(r.status, 200, "from contacts: %r" % r)
    rep = r.json()
    eq(rep["accepted"], 2, "Ana and Beto: %r" % rep)
    eq(rep["rejected_by_reason"], {"no_consent": 1}, "Dani has no consent")
    rows = s.query("SELECT phone, contact_id, vars FROM recipients WHERE campaign_id = %s ORDER "
                   "BY phone", (c["id"],))
    eq([x["phone"] for x in rows], ["+5493875562001", "+5493875562002"], "chosen by tags")
    eq(json.loads(rows[0]["vars"]), {"day": "martes", "name": "Ana"}, "values from the contact")
    r = s.post("/api/campaigns/%d/recipients/contacts" % c["id"],
               {"include_tags": ["robotica", "salta"], "match": "all"})
    eq(r.json()["rejected_by_reason"], {"duplicate": 1}, "already there")
    err(s.post("/api/campaigns/%d/recipients/contacts" % c["id"], {"include_tags": "robotica"}),
        400, "invalid_field", "include_tags")
    # a pasted list: consent comes from the contacts
    r = s.post("/api/campaigns/%d/recipients/list" % c["id"],
               {"text": "+54 9 387 556-2005\n+5493875562004\n\n+5493875569999, 12\n"})
    eq(r.status, 200, "list: %r" % r)
    rep = r.json()
    eq(rep["accepted"], 1, "Eli: %r" % rep)
    got = {(x["line"], x["reason"]) for x in rep["rejected"]}
    check((2, "no_consent") in got and (4, "no_consent") in got, "no consent: %r" % got)
    check(any(l == 4 and why.startswith("phone_") for l, why in got), "bad number: %r" % got)
    r = s.post("/api/campaigns/%d/recipients/list" % c["id"], {"phones": ["+5493875562005"]})
    eq(r.json()["rejected_by_reason"], {"duplicate": 1}, "phones array")
    err(s.post("/api/campaigns/%d/recipients/list" % c["id"], {}), 400, "invalid_field")
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["counters"]["total"], 3, "total")
    kinds = [i["kind"] for i in s.get("/api/campaigns/%d/imports" % c["id"]).json()["imports"]]
    eq(kinds, ["contacts", "contacts", "list", "list"], "every import on record")


def test_csv_import_cases(s):
    """Data-driven: tests/data/csv-import/<case>.csv with <case>.expect.json."""
    d = os.path.join(ROOT, "tests", "data", "csv-import")
    cases = sorted(f[:-4] for f in os.listdir(d) if f.endswith(".csv"))
    check(len(cases) >= 8, "cases found: %r" % cases)
    for case in cases:
        with open(os.path.join(d, case + ".csv"), "rb") as f:
            raw = f.read()
        with open(os.path.join(d, case + ".expect.json")) as f:
            exp = json.load(f)
        c = campaign(s, "csv " + case, template=exp.get("template", "recordatorio_clase"),
                     language=exp.get("language", "es_AR"), params=exp.get("params"))
        r = s.post("/api/campaigns/%d/recipients" % c["id"], raw,
                   headers={"Content-Type": "text/csv"})
        eq(r.status, exp["status"], "%s: status %r" % (case, r))
        body = r.json()
        if r.status != 200:
            eq(body["error"]["code"], exp["error"], "%s: error" % case)
            eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s",
                       (c["id"],))[0]["n"], 0, "%s: nothing half-written" % case)
            continue
        eq(body["accepted"], exp["accepted"], "%s: accepted %r" % (case, body))
        eq(body["rejected_by_reason"], exp.get("rejected_by_reason", {}), "%s: reasons" % case)
        if "lines" in exp:
            got = {str(x["line"]): x["reason"] for x in body["rejected"]}
            eq(got, exp["lines"], "%s: lines" % case)
        if "phones" in exp:
            rows = s.query("SELECT phone FROM recipients WHERE campaign_id = %s ORDER BY phone",
                           (c["id"],))
            eq([x["phone"] for x in rows], exp["phones"], "%s: phones" % case)
        if "vars" in exp:
            rows = s.query("SELECT vars FROM recipients WHERE campaign_id = %s ORDER BY phone",
                           (c["id"],))
            eq([json.loads(x["vars"]) for x in rows], exp["vars"], "%s: vars" % case)


# --- lifecycle ------------------------------------------------------------------------------

def test_start_is_refused_clearly(s):
    synced(s)
    c = campaign(s, "Rechazos")
    eq(upload(s, c["id"], "phone,name,consent\n+5493875563001,Ana,si\n").status, 200, "upload")
    err(s.post("/api/campaigns/%d/start" % c["id"], {}), 400, "risk_not_acknowledged",
        "acknowledge_risk")
    err(s.post("/api/campaigns/%d/start" % c["id"], {"acknowledge_risk": "yes"}), 400,
        "risk_not_acknowledged")
    err(s.post("/api/campaigns/%d/start" % c["id"], dict(START, at="mañana")), 400,
        "invalid_field", "at")
    err(s.post("/api/campaigns/%d/start" % c["id"], dict(START, at="2020-01-01T10:00:00Z")),
        400, "invalid_field", "at")
    # the account's feature flag
    eq(s.request("PATCH", "/api/accounts/1", {"campaigns_enabled": False}).status, 200, "flag off")
    try:
        err(s.post("/api/campaigns/%d/start" % c["id"], START), 409, "campaigns_disabled")
    finally:
        s.request("PATCH", "/api/accounts/1", {"campaigns_enabled": True})
    # templates that are not APPROVED, unknown, or disabled
    for tname, lang, code in (("oferta_pausada", "es_AR", "template_not_approved"),
                              ("campania_vieja", "es_AR", "template_not_approved"),
                              ("no_existe", "es_AR", "template_unknown")):
        c2 = campaign(s, "T " + tname, template=tname, language=lang, params={"body": ["x"]}
                      if tname != "no_existe" else {})
        upload(s, c2["id"], "phone,consent\n+5493875563002,si\n")
        err(s.post("/api/campaigns/%d/start" % c2["id"], START), 409, code)
    # an account without credentials
    a = s.post("/api/accounts", {"name": "Sin credenciales", "waba_id": "102290129340398",
                                 "phone_number_id": "9990001", "sandbox": True}).json()
    s.query("INSERT INTO templates (account_id, meta_id, name, language, status, components, "
            "params) SELECT %s, meta_id, name, language, status, components, params FROM "
            "templates WHERE account_id = 1 AND name = 'recordatorio_clase'", (a["id"],))
    c3 = campaign(s, "Sin token", account_id=a["id"])
    upload(s, c3["id"], "phone,name,consent\n+5493875563003,Ana,si\n")
    err(s.post("/api/campaigns/%d/start" % c3["id"], START), 409, "no_credentials")
    s.request("DELETE", "/api/campaigns/%d" % c3["id"])
    s.query("DELETE FROM templates WHERE account_id = %s", (a["id"],))
    s.request("DELETE", "/api/accounts/%d" % a["id"])
    # no recipients
    c4 = campaign(s, "Vacía")
    err(s.post("/api/campaigns/%d/start" % c4["id"], START), 409, "no_recipients")
    eq(s.post("/api/campaigns/%d/start" % c["id"], START, auth="viewer").status, 403, "viewer")


def test_scheduled_campaign_transitions(s):
    synced(s)
    c = campaign(s, "Programada")
    upload(s, c["id"], "phone,name,consent\n+5493875564001,Ana,si\n")
    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).replace(
        microsecond=0)
    local = at.astimezone(datetime.timezone(datetime.timedelta(hours=-3))).isoformat()
    r = s.post("/api/campaigns/%d/start" % c["id"], dict(START, at=local))
    eq(r.status, 200, "schedule: %r" % r)
    g = r.json()
    eq(g["status"], "scheduled", "scheduled")
    eq(g["scheduled_at"], at.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), "stored in UTC")
    check(audit_rows(s, "campaign.schedule", c["id"]), "audited")
    err(s.request("PATCH", "/api/campaigns/%d" % c["id"], {"name": "x"}), 409, "invalid_state")
    err(s.request("DELETE", "/api/campaigns/%d" % c["id"]), 409, "invalid_state")
    err(upload(s, c["id"], "phone,consent\n+5493875564002,si\n"), 409, "invalid_state")
    eq(s.post("/api/campaigns/%d/pause" % c["id"], {"reason": "revisar texto"}).json()["status"],
       "paused", "pause a scheduled one")
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    check("revisar texto" in g["pause_reason"], "reason kept: %r" % g["pause_reason"])
    eq(s.post("/api/campaigns/%d/resume" % c["id"]).json()["status"], "scheduled",
       "resumes waiting for its time")
    r = s.post("/api/campaigns/%d/cancel" % c["id"])
    eq(r.json()["status"], "cancelled", "cancel")
    eq(r.json()["cancelled_recipients"], 1, "pending recipients cancelled")
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq((g["counters"]["pending"], g["counters"]["cancelled"]), (0, 1), "counters follow")
    for action, body in (("resume", None), ("pause", None), ("cancel", None), ("start", START),
                         ("retry", START)):
        err(s.post("/api/campaigns/%d/%s" % (c["id"], action), body), 409, "invalid_state")
    err(s.post("/api/campaigns/999999/pause"), 404, "not_found")


def test_running_campaign_pause_resume_cancel_and_finished_ones(s):
    synced(s)
    s.sandbox_post("/_sandbox/config", {"latency_ms": 400})
    try:
        c = campaign(s, "En marcha", batch_size=5)
        csv = "phone,name,consent\n" + "".join("+5493875565%03d,N%d,si\n" % (i, i)
                                               for i in range(200))
        eq(upload(s, c["id"], csv).json()["accepted"], 200, "upload")
        eq(s.post("/api/campaigns/%d/start" % c["id"], START).json()["status"], "running", "start")
        err(s.post("/api/campaigns/%d/resume" % c["id"]), 409, "invalid_state")
        g = s.post("/api/campaigns/%d/pause" % c["id"]).json()
        eq(g["status"], "paused", "paused")
        check(g["progress"]["eta_seconds"] is None, "no ETA while paused")
        g = s.post("/api/campaigns/%d/resume" % c["id"]).json()
        eq(g["status"], "running", "resumed")
        check(g["progress"]["eta_seconds"] is not None, "ETA while running: %r" % g["progress"])
        r = s.post("/api/campaigns/%d/cancel" % c["id"])
        eq(r.json()["status"], "cancelled", "cancelled")
        g = s.wait_for("no message in flight", lambda: (lambda g: g if g["counters"]["sending"]
                                                        == 0 else None)(
            s.get("/api/campaigns/%d" % c["id"]).json()))
        cnt = g["counters"]
        eq(cnt["total"], cnt["pending"] + cnt["sent"] + cnt["failed"] + cnt["blocked"] +
           cnt["cancelled"] + cnt["unknown"], "counters add up: %r" % cnt)
        check(cnt["cancelled"] > 0, "some were cancelled")
        for a in ("campaign.start", "campaign.pause", "campaign.resume", "campaign.cancel"):
            check(audit_rows(s, a, c["id"]), "%s audited" % a)
    finally:
        s.sandbox_post("/_sandbox/reset", {})
    # a completed campaign cannot be resumed, paused, started or cancelled
    c = campaign(s, "Terminada")
    upload(s, c["id"], "phone,name,consent\n+5493875566001,Ana,si\n")
    s.post("/api/campaigns/%d/start" % c["id"], START)
    wait_status(s, c["id"], "completed")
    for action, body in (("resume", None), ("pause", None), ("cancel", None), ("start", START)):
        err(s.post("/api/campaigns/%d/%s" % (c["id"], action), body), 409, "invalid_state")
    err(s.post("/api/campaigns/%d/retry" % c["id"], START), 409, "nothing_to_retry")


def test_retry_failed_and_unknown_recipients(s):
    synced(s)
    c = campaign(s, "Reintentos")
    upload(s, c["id"], "phone,name,consent\n+5493875567001,Ana,si\n+5493875567002,Beto,si\n"
                       "+5493875567003,Caro,si\n+5493875567004,Dani,si\n")
    s.post("/api/campaigns/%d/start" % c["id"], START)
    wait_status(s, c["id"], "completed")
    s.wait_for("read", lambda: s.get("/api/campaigns/%d" % c["id"]).json()["counters"]["read"]
               == 4)
    # Make three of them failed (a transient and a permanent code) and one unknown.
    s.query("UPDATE recipients SET status = 'failed', last_error_code = 131000 WHERE "
            "campaign_id = %s AND phone = '+5493875567001'", (c["id"],))
    s.query("UPDATE recipients SET status = 'failed', last_error_code = 131026 WHERE "
            "campaign_id = %s AND phone = '+5493875567002'", (c["id"],))
    s.query("UPDATE recipients SET status = 'unknown' WHERE campaign_id = %s AND phone = "
            "'+5493875567003'", (c["id"],))
    s.query("UPDATE campaigns SET failed_count = 2, unknown_count = 1 WHERE id = %s", (c["id"],))
    err(s.post("/api/campaigns/%d/retry" % c["id"], {}), 400, "risk_not_acknowledged")
    r = s.post("/api/campaigns/%d/retry" % c["id"], dict(START, include_unknown=True))
    eq(r.status, 200, "retry: %r" % r)
    g = r.json()
    eq(g["retried"]["failed"], 1, "only the transient failure")
    eq(g["retried"]["unknown"], 1, "unknown on request")
    eq(g["retried"]["not_retryable_by_code"], {"131026": 1}, "the permanent one stays")
    eq(g["status"], "running", "running again")
    g = wait_status(s, c["id"], "completed")
    eq(g["counters"]["failed"], 1, "the permanent failure remains")
    row = s.query("SELECT status FROM recipients WHERE campaign_id = %s AND phone = %s",
                  (c["id"], "+5493875567001"))[0]
    check(row["status"] in ("sent", "delivered", "read"), "resent: %r" % row)
    check(audit_rows(s, "campaign.retry", c["id"]), "audited")
    s.sandbox_post("/_sandbox/reset", {})  # the resends count as duplicates there


def _reply_payload(s, acct, wamid, phone):
    wa = phone.lstrip("+")
    return {"object": "whatsapp_business_account", "entry": [{"id": acct["waba_id"], "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": acct["display_phone"],
                         "phone_number_id": acct["phone_number_id"]},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa}],
            "messages": [{"from": wa, "id": "wamid.REPLY" + wa, "timestamp": "1750030020",
                          "type": "text", "text": {"body": "gracias!"},
                          "context": {"from": acct["display_phone"], "id": wamid}}]}}]}]}


def test_detail_fields_wait_pause_kind_resumable_replies(s):
    """What the detail screen shows: wait_reason, the last pause's kind, whether a resume is
    accepted now (and why not), replies, and the send log newest first."""
    synced(s)
    acct = s.get("/api/accounts/1").json()
    c = campaign(s, "Detalle panel")
    upload(s, c["id"], "phone,name,consent\n+5493875571001,Ana,si\n+5493875571002,Beto,si\n")
    s.post("/api/campaigns/%d/start" % c["id"], START)
    g = wait_status(s, c["id"], "completed")
    eq((g["wait_reason"], g["pause_kind"], g["resumable"], g["resume_blocked"],
        g["replies_count"]), (None, None, False, None, 0), "a finished campaign: %r" % g)
    # a reply to one of its messages (Meta's context.id) is counted
    wamid = s.wait_for("wamid", lambda: s.query(
        "SELECT wamid FROM recipients WHERE campaign_id = %s AND phone = %s",
        (c["id"], "+5493875571001"))[0]["wamid"])
    eq(s.post_webhook(_reply_payload(s, acct, wamid, "+5493875571001")).status, 200, "webhook")
    s.wait_for("reply counted", lambda: s.get("/api/campaigns/%d" % c["id"]).json()[
        "replies_count"] == 1)
    # the worker's wait reason is shown as it is
    s.query("UPDATE campaigns SET wait_reason = 'outside the send window (9-20 h)' WHERE id = %s",
            (c["id"],))
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["wait_reason"],
       "outside the send window (9-20 h)", "wait_reason")
    s.query("UPDATE campaigns SET wait_reason = NULL WHERE id = %s", (c["id"],))
    # Meta paused its template: not resumable until Meta lifts it (what webhook_apply stores)
    s.query("UPDATE campaigns SET status = 'paused', pause_kind = 'template', resumable = 0, "
            "pause_reason = 'Meta paused the template recordatorio_clase (es_AR)' WHERE id = %s",
            (c["id"],))
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq((g["pause_kind"], g["resumable"], g["resume_blocked"]["code"]),
       ("template", False, "meta_must_lift"), "blocked: %r" % g)
    err(s.post("/api/campaigns/%d/resume" % c["id"]), 409, "not_resumable")
    paused = s.get("/api/accounts/1").json()["paused_by_meta"]
    check(any(p["campaign_id"] == c["id"] and p["pause_kind"] == "template" and
              p["resumable"] is False for p in paused), "on the dashboard: %r" % paused)
    s.query("UPDATE campaigns SET resumable = 1 WHERE id = %s", (c["id"],))
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq((g["resumable"], g["resume_blocked"]), (True, None), "reinstated: resumable")
    # Meta restricts the account: a restriction that has not expired blocks the resume
    future = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) + 86400
    try:
        s.query("UPDATE wa_accounts SET account_event = 'ACCOUNT_RESTRICTION', restriction = %s "
                "WHERE id = 1", (json.dumps({"restriction_info": [{
                    "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
                    "expiration": future}]}),))
        a = s.get("/api/accounts/1").json()
        eq((a["health"]["account_event"], a["health"]["restricted"]),
           ("ACCOUNT_RESTRICTION", True), "restricted: %r" % a["health"])
        check(a["health"]["restriction_until"].endswith("Z"), "until: %r" % a["health"])
        eq(a["health"]["restriction"]["restriction_info"][0]["restriction_type"],
           "RESTRICTED_BIZ_INITIATED_MESSAGING", "Meta's details")
        g = s.get("/api/campaigns/%d" % c["id"]).json()
        eq((g["resumable"], g["resume_blocked"]["code"]), (False, "account_restricted"), "blocked")
        err(s.post("/api/campaigns/%d/resume" % c["id"]), 409, "account_restricted")
        # an expired restriction no longer counts
        s.query("UPDATE wa_accounts SET restriction = %s WHERE id = 1", (json.dumps(
            {"restriction_info": [{"restriction_type": "X", "expiration": future - 2 * 86400}]}),))
        eq(s.get("/api/accounts/1").json()["health"]["restricted"], False, "expired")
        # reinstated after DISABLED_UPDATE
        s.query("UPDATE wa_accounts SET account_event = 'DISABLED_UPDATE', restriction = %s "
                "WHERE id = 1", (json.dumps({"ban_info": {"waba_ban_state": "REINSTATE"}}),))
        eq(s.get("/api/accounts/1").json()["health"]["restricted"], False, "reinstated")
    finally:
        s.query("UPDATE wa_accounts SET account_event = NULL, restriction = NULL WHERE id = 1")
    g = s.post("/api/campaigns/%d/resume" % c["id"]).json()
    eq((g["status"], g["pause_kind"], g["pause_reason"]), ("running", None, None), "resumed")
    wait_status(s, c["id"], "completed")
    # an operator's pause
    k = campaign(s, "Pausa operador")
    upload(s, k["id"], "phone,name,consent\n+5493875571101,Ana,si\n")
    at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=5))
    eq(s.post("/api/campaigns/%d/start" % k["id"], dict(START, at=at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"))).json()["status"], "scheduled", "scheduled")
    g = s.post("/api/campaigns/%d/pause" % k["id"], {"reason": "revisar"}).json()
    eq((g["status"], g["pause_kind"], g["resumable"], g["resume_blocked"]),
       ("paused", "operator", True, None), "operator pause: %r" % g)
    g = s.post("/api/campaigns/%d/resume" % k["id"]).json()
    eq((g["status"], g["pause_kind"]), ("scheduled", None), "back to its schedule")
    s.post("/api/campaigns/%d/cancel" % k["id"])
    # the send log newest first, with its own cursor
    asc = [e["id"] for e in s.get("/api/campaigns/%d/log" % c["id"]).json()["entries"]]
    check(len(asc) >= 2, "attempts logged: %r" % asc)
    d = s.get("/api/campaigns/%d/log?order=desc" % c["id"]).json()
    eq([e["id"] for e in d["entries"]], sorted(asc, reverse=True), "newest first")
    eq(d["next_before"], None, "one page")
    p1 = s.get("/api/campaigns/%d/log?order=desc&limit=1" % c["id"]).json()
    p2 = s.get("/api/campaigns/%d/log?order=desc&limit=1&before=%d" % (
        c["id"], p1["next_before"])).json()
    eq([p1["entries"][0]["id"], p2["entries"][0]["id"]], sorted(asc, reverse=True)[:2], "pages")
    err(s.get("/api/campaigns/%d/log?order=sideways" % c["id"]), 400, "invalid_parameter",
        "order")


def test_account_budget_and_preflight_read_the_workers_tier_count(s):
    """Unique users in the moving 24 h come from contact_pace (the worker's tier check), not
    from the send log."""
    r = s.post("/api/accounts", {"name": "Panel tier", "waba_id": "990000000000001",
                                 "phone_number_id": "990000000000011", "sandbox": True,
                                 "quality_rating": "YELLOW"})
    eq(r.status, 201, "account: %r" % r)
    aid = r.json()["id"]
    cid = None
    try:
        eq(s.request("PATCH", "/api/accounts/%d" % aid, {"messaging_tier": "TIER_250",
                                                         "throughput_mps": 20}).status, 200,
           "tier 250")
        for i, age in enumerate(("1 HOUR", "2 HOUR", "23 HOUR", "25 HOUR", "3 DAY")):
            s.query("INSERT INTO contact_pace (waba_id, phone, last_send_at) VALUES "
                    "('990000000000001', %s, NOW(3) - INTERVAL " + age + ")",
                    ("+549387557200%d" % i,))
        a = s.get("/api/accounts/%d" % aid).json()
        eq(a["tier_usage"], {"used_last_24h": 3, "used_at_least": False, "limit": 250,
                             "remaining": 247, "percent": 1.2},
           "tier usage: %r" % a["tier_usage"])
        eq((a["quality_rating"], a["throughput_mps"], a["health"]["restricted"],
            a["paused_by_meta"]), ("YELLOW", 20, False, []), "health")
        listed = [x for x in s.get("/api/accounts").json()["accounts"] if x["id"] == aid][0]
        eq(listed["tier_usage"]["used_last_24h"], 3, "in the list too")
        r = s.post("/api/campaigns", {"name": "Presupuesto", "account_id": aid,
                                      "template_name": "recordatorio_clase",
                                      "template_language": "es_AR", "params": {"body": ["a"]}})
        eq(r.status, 201, "campaign: %r" % r)
        cid = r.json()["id"]
        p = s.post("/api/campaigns/%d/preflight" % cid).json()
        eq((p["daily_budget"]["limit"], p["daily_budget"]["used_last_24h"],
            p["daily_budget"]["remaining"]), (250, 3, 247), "preflight: %r" % p["daily_budget"])
        eq(s.query("SELECT COUNT(*) AS n FROM send_log s JOIN campaigns c ON c.id = "
                   "s.campaign_id WHERE c.account_id = %s", (aid,))[0]["n"], 0,
           "nothing in the send log: the count is contact_pace's")
        # Past the limit the count stops there: the budget is used up either way.
        rows = ", ".join("('990000000000001', '+5493875580%03d', NOW(3) - INTERVAL 2 HOUR)" % i
                         for i in range(300))
        s.query("INSERT INTO contact_pace (waba_id, phone, last_send_at) VALUES " + rows)
        tu = s.get("/api/accounts/%d" % aid).json()["tier_usage"]
        eq((tu["used_last_24h"], tu["used_at_least"], tu["remaining"], tu["percent"]),
           (250, True, 0, 100.0), "counted up to the limit: %r" % tu)
    finally:
        if cid:
            s.request("DELETE", "/api/campaigns/%d" % cid)
        s.request("DELETE", "/api/accounts/%d" % aid)


def test_test_send_to_one_number(s):
    synced(s)
    c = campaign(s, "Prueba de envío")
    r = s.post("/api/campaigns/%d/test" % c["id"], {"phone": "0387 15 555-8001",
                                                    "vars": {"name": "Ana", "day": "jueves"}})
    eq(r.status, 200, "test send: %r" % r)
    t = r.json()
    eq(t["to"], "+5493875558001", "normalized with the account's country")
    check(t["accepted"] and t["wamid"].startswith("wamid."), "accepted: %r" % t)
    msgs = s.sandbox_get("/_sandbox/messages?limit=1000").json()["messages"]
    mine = [m for m in msgs if m["to"] == "+5493875558001"]
    eq(len(mine), 1, "one message reached the sandbox")
    eq([p["text"] for p in mine[0]["request"]["template"]["components"][0]["parameters"]],
       ["Ana", "Robótica", "jueves"], "values")
    rows = audit_rows(s, "campaign.test", c["id"])
    check(rows and t["wamid"] in rows[-1]["detail"], "audited with the wamid")
    eq(s.query("SELECT COUNT(*) AS n FROM send_log WHERE campaign_id = %s", (c["id"],))[0]["n"],
       0, "test sends are not campaign sends")
    err(s.post("/api/campaigns/%d/test" % c["id"], {"phone": "12"}), 400, "invalid_field",
        "phone")
    err(s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875558002", "vars": {}}), 422,
        "missing_value")
    s.post("/api/opt-outs", {"phone": "+5493875558003"})
    err(s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875558003",
                                                    "vars": {"name": "x"}}), 409, "opted_out")
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": "+5493875558004", "code": 131026,
                                                    "mode": "sync", "times": -1}]})
    try:
        r = s.post("/api/campaigns/%d/test" % c["id"], {"phone": "+5493875558004",
                                                        "vars": {"name": "x"}})
        eq(r.status, 502, "Meta refused: %r" % r)
        e = r.json()["error"]
        eq(e["code"], 131026, "Meta's code")
        check(e["explanation"], "explained")
    finally:
        s.sandbox_post("/_sandbox/reset", {})
    c2 = campaign(s, "Pausada", template="oferta_pausada", params={"body": ["x"]})
    err(s.post("/api/campaigns/%d/test" % c2["id"], {"phone": "+5493875558005"}), 409,
        "template_not_approved")


def test_preflight_reports_budget_duration_and_warnings(s):
    synced(s)
    c = campaign(s, "Preflight", template="promo_marzo", interval_ms=500,
                 params={"header": [{"column": "name"}], "body": [{"column": "name"}, "Robótica"]})
    csv = "phone,name,consent\n+5493875568001,Ana,si\n+5493875568002,Beto,si\n" \
          "+5493875568003,,si\n+5493875568004,Dani,no\n"
    upload(s, c["id"], csv)
    s.post("/api/opt-outs", {"phone": "+5493875568002"})  # after the upload
    r = s.post("/api/campaigns/%d/preflight" % c["id"])
    eq(r.status, 200, "preflight: %r" % r)
    p = r.json()
    eq(p["ok"], True, "can start: %r" % p["errors"])
    eq(p["recipients"]["total"], 2, "total")
    eq(p["recipients"]["opted_out_since_added"], 1, "opted out later")
    eq(p["recipients"]["will_send"], 1, "will send")
    eq(p["rejected_rows"]["by_reason"], {"missing_param": 1, "no_consent": 1}, "rejected")
    eq(p["template"]["params_ok"], True, "parameters check")
    eq([x["slot"] for x in p["template"]["slots"]], ["header {{1}}", "body {{1}}", "body {{2}}"],
       "slots")
    eq((p["daily_budget"]["limit"], p["daily_budget"]["remaining"]), (None, None),
       "the sandbox has no tier limit")
    eq(p["estimate"]["rate_per_second"], 2.0, "rate from the interval")
    codes = [w["code"] for w in p["warnings"]]
    for w in ("blocking_risk", "marketing_template", "sandbox", "opted_out"):
        check(w in codes, "warning %s in %r" % (w, codes))
    eq(s.get("/api/campaigns/%d" % c["id"]).json()["status"], "draft", "dry run")
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    c2 = campaign(s, "Preflight malo", template="oferta_pausada", params={"body": ["x"]})
    p = s.post("/api/campaigns/%d/preflight" % c2["id"]).json()
    eq(p["ok"], False, "cannot start")
    eq(sorted(e["code"] for e in p["errors"]), ["no_recipients", "template_not_approved"],
       "errors")


def test_clone_and_delete(s):
    c = campaign(s, "Original", interval_ms=100)
    upload(s, c["id"], "phone,name,consent\n+5493875569001,Ana,si\n+5493875569002,Beto,si\n")
    r = s.post("/api/campaigns/%d/clone" % c["id"], {"recipients": "all"})
    eq(r.status, 201, "clone: %r" % r)
    k = r.json()
    eq((k["name"], k["status"], k["cloned_from"], k["interval_ms"], k["counters"]["total"]),
       ("Original (copia)", "draft", c["id"], 100, 2), "copy")
    eq(s.post("/api/campaigns/%d/clone" % c["id"], {"name": "Vacía"}).json()["counters"]["total"],
       0, "without recipients")
    err(s.post("/api/campaigns/%d/clone" % c["id"], {"recipients": "some"}), 400,
        "invalid_field", "recipients")
    check(audit_rows(s, "campaign.clone", k["id"]), "audited")
    eq(s.request("DELETE", "/api/campaigns/%d" % k["id"]).status, 204, "delete draft")
    eq(s.get("/api/campaigns/%d" % k["id"]).status, 404, "deleted")
    eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s", (k["id"],))[0]["n"],
       0, "its recipients too")
    check(audit_rows(s, "campaign.delete", k["id"]), "the audit log outlives it")


def _inbound(acct, phone, wamid, kind):
    """An inbound message from phone answering our message wamid: a text, or a press of
    one of the template's quick-reply buttons."""
    wa = phone.lstrip("+")
    m = {"from": wa, "id": "wamid.IN%s%s" % (kind, wa), "timestamp": "1750030030",
         "context": {"from": acct["display_phone"], "id": wamid}}
    if kind == "button":
        m.update(type="button", button={"payload": "SI", "text": "Sí, voy"})
    else:
        m.update(type="text", text={"body": "gracias"})
    return {"object": "whatsapp_business_account", "entry": [{"id": acct["waba_id"], "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": acct["display_phone"],
                         "phone_number_id": acct["phone_number_id"]},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa}], "messages": [m]}}]}]}


def test_clone_retargets_by_what_each_message_did(s):
    """Copies that take the recipients by outcome (issue 21): sent through the worker, their
    statuses and answers through the signed webhook; an opted-out number never copied."""
    synced(s)
    acct = s.get("/api/accounts/1").json()
    p = ["+54938755720%02d" % i for i in range(1, 8)]
    s.sandbox_post("/_sandbox/config", {"webhooks": False, "errors": [
        {"to": p[1], "code": 131026, "mode": "sync", "times": -1}]})
    try:
        c = campaign(s, "Retargeting")
        upload(s, c["id"], "phone,name,consent\n" + "".join("%s,N%d,si\n" % (x, i)
                                                            for i, x in enumerate(p)))
        eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
        wait_status(s, c["id"], "completed")
    finally:
        s.sandbox_post("/_sandbox/reset", {})
    rows = {r["phone"]: r for r in s.query(
        "SELECT id, phone, status, wamid FROM recipients WHERE campaign_id = %s", (c["id"],))}
    eq(sorted((x, rows[x]["status"]) for x in p),
       sorted([(x, "failed" if x == p[1] else "sent") for x in p]), "sent but one")
    statuses = []
    for x, sts in ((p[2], ("delivered",)), (p[3], ("delivered", "read")),
                   (p[4], ("delivered", "read")), (p[5], ("read",)), (p[6], ("read",))):
        for k, st in enumerate(sts):
            statuses.append({"id": rows[x]["wamid"], "status": st,
                             "timestamp": str(1750030010 + k), "recipient_id": x[1:]})
    eq(s.post_webhook({"object": "whatsapp_business_account", "entry": [{
        "id": acct["waba_id"], "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {
                "display_phone_number": acct["display_phone"],
                "phone_number_id": acct["phone_number_id"]},
            "statuses": statuses}}]}]}).status, 200, "statuses")
    eq(s.post_webhook(_inbound(acct, p[4], rows[p[4]]["wamid"], "text")).status, 200, "reply")
    eq(s.post_webhook(_inbound(acct, p[5], rows[p[5]]["wamid"], "button")).status, 200, "button")
    eq(s.post("/api/opt-outs", {"phone": p[6], "detail": "pidió la baja"}).status, 201, "opt-out")
    want = {"all": p[:6], "failed": [p[1]], "not_delivered": p[:2], "not_read": [p[2]],
            "read_not_replied": [p[3]], "replied": [p[4], p[5]], "clicked_button": [p[5]]}
    for mode, phones in sorted(want.items()):
        r = s.post("/api/campaigns/%d/clone" % c["id"], {"recipients": mode})
        eq(r.status, 201, "clone %s: %r" % (mode, r))
        k = r.json()
        got = sorted(x["phone"] for x in s.query(
            "SELECT phone FROM recipients WHERE campaign_id = %s", (k["id"],)))
        eq((got, k["counters"]["total"]), (sorted(phones), len(phones)), mode)
        d = s.query("SELECT definition FROM audience_imports WHERE campaign_id = %s AND "
                    "kind = 'clone'", (k["id"],))
        eq(json.loads(d[0]["definition"])["recipients"], mode, "recorded as an import")
    e = err(s.post("/api/campaigns/%d/clone" % c["id"], {"recipients": "opened"}), 400,
            "invalid_field", "recipients")
    check("clicked_button" in e["message"], "the modes named: %r" % e)


# --- progress and reports -------------------------------------------------------------------

def test_progress_log_exports_and_stats(s):
    synced(s)
    s.sandbox_post("/_sandbox/config", {"errors": [{"to": "+5493875570003", "code": 131026,
                                                    "mode": "sync", "times": -1}]})
    try:
        c = campaign(s, "Informe final")
        csv = "phone,name,consent\n" + "".join("+54938755700%02d,N%d,si\n" % (i, i)
                                               for i in range(1, 13))
        upload(s, c["id"], csv)
        s.post("/api/campaigns/%d/start" % c["id"], START)
        wait_status(s, c["id"], "completed")
    finally:
        s.sandbox_post("/_sandbox/reset", {})
    g = s.get("/api/campaigns/%d" % c["id"]).json()
    eq((g["counters"]["total"], g["counters"]["failed"]), (12, 1), "counters")
    eq(g["progress"]["percent"], 100.0, "done")
    # list with filters and pagination
    r = s.get("/api/campaigns?status=completed&q=Informe&account_id=1")
    check(c["id"] in [x["id"] for x in r.json()["campaigns"]], "filters")
    err(s.get("/api/campaigns?status=nope"), 400, "invalid_parameter", "status")
    err(s.get("/api/campaigns?limit=0"), 400, "invalid_parameter", "limit")
    # recipients: status filter, phone search, cursor
    r = s.get("/api/campaigns/%d/recipients?status=failed" % c["id"]).json()
    eq([x["phone"] for x in r["recipients"]], ["+5493875570003"], "failed ones")
    eq(r["recipients"][0]["error"]["code"], 131026, "code")
    check(r["recipients"][0]["error"]["explanation"], "explanation")
    r = s.get("/api/campaigns/%d/recipients?phone=%s" % (c["id"], urllib.parse.quote("+549387557000")))
    eq(len(r.json()["recipients"]), 9, "prefix search")
    r = s.get("/api/campaigns/%d/recipients?phone=70011" % c["id"]).json()
    eq([x["phone"] for x in r["recipients"]], ["+5493875570011"], "search anywhere")
    page1 = s.get("/api/campaigns/%d/recipients?limit=5" % c["id"]).json()
    page2 = s.get("/api/campaigns/%d/recipients?limit=5&after=%s" % (
        c["id"], urllib.parse.quote(page1["next_after"]))).json()
    check(page1["recipients"][-1]["phone"] < page2["recipients"][0]["phone"], "cursor")
    err(s.get("/api/campaigns/%d/recipients?status=lost" % c["id"]), 400, "invalid_parameter")
    # log with cursor
    l1 = s.get("/api/campaigns/%d/log?limit=7" % c["id"]).json()
    l2 = s.get("/api/campaigns/%d/log?limit=7&after=%d" % (c["id"], l1["next_after"])).json()
    eq(len(l1["entries"]) + len(l2["entries"]), 12, "every attempt once")
    check(l2["next_after"] is None, "last page")
    failed = s.get("/api/campaigns/%d/log?outcome=failed" % c["id"]).json()["entries"]
    eq([(e["phone"], e["error"]["code"]) for e in failed], [("+5493875570003", 131026)], "filter")
    # CSV exports
    r = s.get("/api/campaigns/%d/log.csv" % c["id"])
    eq(r.status, 200, "log export")
    check(r.headers["Content-Type"].startswith("text/csv"), "csv")
    lines = r.body.lstrip("\ufeff").strip().split("\r\n")
    eq(len(lines), 13, "header + 12")
    check(lines[0].startswith('"id","at","phone"'), "header: %r" % lines[0])
    r = s.get("/api/campaigns/%d/failed.csv?lang=en" % c["id"])
    lines = r.body.lstrip("\ufeff").strip().split("\r\n")
    eq(len(lines), 2, "one failed")
    check('"\'+5493875570003"' in lines[1] and '"131026"' in lines[1] and '"no"' in lines[1],
          "row: %r" % lines[1])
    # stats
    st = s.get("/api/campaigns/%d/stats" % c["id"]).json()
    eq(st["funnel"]["failed"], 1, "funnel")
    eq(st["failures_by_code"][0]["code"], 131026, "by code")
    eq(st["failures_by_code"][0]["action"], "invalid_number", "action")
    eq(sum(m["sent"] + m["failed"] for m in st["per_minute"]), 12, "per minute: %r" %
       st["per_minute"])
    # the campaign's audit trail
    a = s.get("/api/campaigns/%d/audit" % c["id"]).json()["entries"]
    acts = [x["action"] for x in a]
    check("campaign.start" in acts and "campaign.create" in acts, "trail: %r" % acts)
    eq(s.get("/api/campaigns/%d/audit" % c["id"], auth="viewer").status, 403, "admins only")


def test_audit_log_and_send_log_are_append_only(s):
    check(s.query("SELECT id FROM audit_log LIMIT 1"), "there is an audit row")
    for table in ("audit_log", "send_log"):
        rid = s.query("SELECT id FROM %s LIMIT 1" % table)[0]["id"]
        for sql in ("UPDATE %s SET created_at = NOW() WHERE id = %%s" % table,
                    "DELETE FROM %s WHERE id = %%s" % table):
            for admin in (False, True):
                try:
                    s.query(sql, (rid,), admin=admin)
                    raise AssertionError("%s succeeded (admin=%s)" % (sql, admin))
                except pymysql.err.MySQLError as e:
                    check(e.args[0] in (1142, 1644), "refused: %r" % (e.args,))


# --- contacts and opt-outs ----------------------------------------------------------------

def test_contacts_crud_and_import(s):
    r = s.post("/api/contacts", {"phone": "387 15 555-9001", "name": "Lía", "lead_id": "CRM-9",
                                 "tags": ["robotica"], "attributes": {"curso": "Robótica"},
                                 "consent": {"source": "formulario", "at": "2025-02-01T10:00:00-03:00"}})
    eq(r.status, 201, "create: %r" % r)
    k = r.json()
    eq((k["phone"], k["tags"], k["consent"]["at"]), ("+5493875559001", ["robotica"],
                                                     "2025-02-01T13:00:00.000000Z"), "stored")
    err(s.post("/api/contacts", {"phone": "+5493875559001"}), 409, "duplicate", "phone")
    err(s.post("/api/contacts", {"phone": "abc"}), 400, "invalid_field", "phone")
    err(s.post("/api/contacts", {"name": "x"}), 400, "missing_field", "phone")
    err(s.post("/api/contacts", {"phone": "+5493875559002", "consent": {"at": "x"}}), 400,
        "invalid_field", "consent")
    r = s.request("PATCH", "/api/contacts/%d" % k["id"], {"tags": ["python", "salta_lia"],
                                                           "consent": None})
    eq((r.json()["tags"], r.json()["consent"]), (["python", "salta_lia"], None), "edited")
    eq([x["id"] for x in s.get("/api/contacts?tag=salta_lia").json()["contacts"]], [k["id"]], "by tag")
    eq([x["id"] for x in s.get("/api/contacts?q=L%C3%ADa").json()["contacts"]], [k["id"]],
       "search")
    tags = {t["tag"]: t["contacts"] for t in s.get("/api/tags").json()["tags"]}
    check(tags.get("salta_lia", 0) >= 1, "tags counted: %r" % tags)
    # newest first, whatever the book already holds: the one just added is on the first page
    r2 = s.post("/api/contacts", {"phone": "+5493875559003", "consent": {"source": "formulario"}})
    eq(r2.status, 201, "second contact: %r" % r2)
    page1 = s.get("/api/contacts?limit=1").json()
    eq([x["id"] for x in page1["contacts"]], [r2.json()["id"]], "the newest first")
    page2 = s.get("/api/contacts?limit=1&before=%d" % page1["next_before"]).json()
    check(page2["contacts"][0]["id"] < r2.json()["id"], "the next page is older: %r" % page2)
    eq(s.request("DELETE", "/api/contacts/%d" % r2.json()["id"]).status, 204, "second deleted")
    # opt-outs survive contact deletion
    s.post("/api/opt-outs", {"phone": "+5493875559001"})
    eq(s.get("/api/contacts/%d" % k["id"]).json()["opted_out"], True, "shown on the contact")
    eq(s.request("DELETE", "/api/contacts/%d" % k["id"]).status, 204, "delete")
    eq(s.get("/api/contacts/%d" % k["id"]).status, 404, "gone")
    eq(len(s.get("/api/opt-outs?phone=%2B5493875559001").json()["opt_outs"]), 1, "opt-out kept")
    # import with the same rules
    csv = ("\ufeffTelefono;Nombre;lead_id;consent;tags;ciudad\r\n"
           "+5493875559101;Ana;A1;si;robotica|salta;Salta\r\n"
           "+5493875559102;Beto;;no;;Jujuy\r\n"
           "+5493875559001;Lía;;si;;Salta\r\n"
           "12;Caro;;si;;Salta\r\n"
           "+5493875559101;Ana;;si;;Salta\r\n"
           "+5493875559103;Dani;;;;Salta\r\n")
    r = s.post("/api/contacts/import?tags=importados", csv, headers={"Content-Type": "text/csv"})
    eq(r.status, 200, "import: %r" % r)
    rep = r.json()
    eq(rep["stored"], 1, "stored: %r" % rep)
    eq({x["line"]: x["reason"] for x in rep["rejected"]},
       {3: "no_consent", 4: "opted_out", 5: rep["rejected"][2]["reason"], 6: "duplicate",
        7: "no_consent"}, "reasons")
    ana = s.get("/api/contacts?q=%2B5493875559101").json()["contacts"][0]
    eq(sorted(ana["tags"]), ["importados", "robotica", "salta"], "tags from the row and the query")
    eq(ana["attributes"], {"ciudad": "Salta"}, "other columns are attributes")
    eq(ana["lead_id"], "A1", "lead id")
    check(audit_rows(s, "contacts.import"), "audited")
    eq(s.post("/api/contacts", {"phone": "+5493875559200"}, auth="viewer").status, 403, "viewer")


def test_opt_out_endpoints(s):
    r = s.post("/api/opt-outs", {"phone": "0387 15 555-9501", "detail": "escribió BAJA"})
    eq(r.status, 201, "created: %r" % r)
    eq((r.json()["phone"], r.json()["source"]), ("+5493875559501", "api"), "stored")
    eq(s.post("/api/opt-outs", {"phone": "+5493875559501"}).status, 200, "idempotent")
    err(s.post("/api/opt-outs", {"phone": "nope"}), 400, "invalid_field", "phone")
    err(s.post("/api/opt-outs", {"phone": "+5493875559502", "source": "magic"}), 400,
        "invalid_field", "source")
    lst = s.get("/api/opt-outs?limit=1000").json()["opt_outs"]
    check("+5493875559501" in [o["phone"] for o in lst], "listed")
    eq(s.request("DELETE", "/api/opt-outs?phone=%2B5493875559501").status, 204, "lifted")
    err(s.request("DELETE", "/api/opt-outs?phone=%2B5493875559501"), 404, "not_found")
    err(s.request("DELETE", "/api/opt-outs"), 400, "invalid_parameter", "phone")
    ev = s.query("SELECT action, actor FROM opt_out_events WHERE phone = %s ORDER BY id",
                 ("+5493875559501",))
    eq([e["action"] for e in ev], ["opt_out", "lift"], "events kept")
    check(all(e["actor"] for e in ev), "who did it")
    check(audit_rows(s, "optout.lift"), "audited")
    eq(s.request("DELETE", "/api/opt-outs?phone=%2B5493875559501", auth="viewer").status, 403,
       "viewer")
