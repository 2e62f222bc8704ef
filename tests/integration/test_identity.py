"""Issue 16, the person side, through the real webhook path and the real worker: one canonical
identity for a person (WhatsApp's 521 + 10 digits is the import's +52 + 10 digits), opt-outs
that come with only a business-scoped user id, operator opt-outs a WhatsApp resume cannot lift,
keyword and phrase rules managed through the API, and migration 110 rewriting and merging what
was stored in the old forms (run again here: it must be safe to re-run)."""

import json
import os
import pwd
import subprocess
import time

from harness import ROOT, check, eq
from test_webhooks import SANDBOX, _uniq, make_campaign as db_campaign, _account_id
from workerkit import Workers, make_campaign, wait_status

MX_WA_ID = "5215512345678"
MX_TYPED = "+52 1 55 1234 5678"
MX_CANON = "+525512345678"


def _envelope(value):
    value = dict(value)
    value.setdefault("messaging_product", "whatsapp")
    value.setdefault("metadata", {"display_phone_number": SANDBOX["display"],
                                  "phone_number_id": SANDBOX["phone_id"]})
    return {"object": "whatsapp_business_account",
            "entry": [{"id": SANDBOX["waba"], "changes": [{"field": "messages", "value": value}]}]}


def _text(s, body, frm=None, user_id=None, context=None, ts=None):
    m = {"id": "wamid.IN" + _uniq(), "timestamp": str(ts or int(time.time())), "type": "text",
         "text": {"body": body}}
    if frm:
        m["from"] = frm
    if user_id:
        m["from_user_id"] = user_id
    if context:
        m["context"] = {"from": SANDBOX["display"], "id": context}
    r = s.post_webhook(_envelope({"messages": [m]}))
    eq(r.status, 200, "webhook: %r" % r)
    return m["id"]


def _preference(s, value, wa_id=None, user_id=None, ts=None):
    p = {"category": "marketing_messages", "value": value, "timestamp": ts or int(time.time()),
         "detail": "User requested to %s marketing messages" % value}
    if wa_id:
        p["wa_id"] = wa_id
    if user_id:
        p["user_id"] = user_id
    payload = {"object": "whatsapp_business_account", "entry": [{"id": SANDBOX["waba"], "changes": [
        {"field": "user_preferences", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": SANDBOX["display"],
                         "phone_number_id": SANDBOX["phone_id"]},
            "user_preferences": [p]}}]}]}
    r = s.post_webhook(payload)
    eq(r.status, 200, "webhook: %r" % r)


def _no_apply_errors(s, mark):
    """Every event the test posted (s.webhook_sigs from mark on) was applied at its first
    attempt. Only its own, by signature: the sandbox's late statuses for earlier tests'
    campaigns arrive meanwhile, and one stored a moment ago is not applied yet."""
    sigs = s.webhook_sigs[mark:]
    check(sigs, "the test posted events")
    rows = s.query("SELECT id, applied_at IS NOT NULL AND apply_attempts <= 1 AND "
                   "apply_error IS NULL AS ok, apply_error FROM webhook_events "
                   "WHERE signature IN (%s)" % ", ".join(["%s"] * len(sigs)), tuple(sigs))
    check(rows, "its events are stored")
    eq([r for r in rows if not r["ok"]], [], "every event applied at the first attempt")


def _optout(s, phone):
    rows = s.query("SELECT * FROM opt_outs WHERE phone = %s", (phone,))
    return rows[0] if rows else None


def _events(s, phone):
    return [r["action"] for r in s.query(
        "SELECT action FROM opt_out_events WHERE phone = %s ORDER BY id", (phone,))]


def _audits(s, action, phone):
    return s.query("SELECT * FROM audit_log WHERE action = %s AND "
                   "JSON_VALUE(detail, '$.phone') = %s", (action, phone))


def _sent_to(s, digits):
    msgs = s.sandbox_get("/_sandbox/messages?limit=10000").json()["messages"]
    return [m for m in msgs if (m.get("to") or "").lstrip("+") == digits]


def test_mexican_stop_blocks_the_next_campaign(s):
    """A STOP from 5215512345678 (WhatsApp's form) blocks the recipient "+52 1 55 1234 5678"
    of the next campaign: the worker sends nothing to that person, and a later upload refuses
    the number."""
    mark = len(s.webhook_sigs)
    s.sandbox_post("/_sandbox/reset", {})
    others = ["+5493875612001", "+5493875612002"]
    with Workers(s) as w:
        w.start()
        cid = make_campaign(s, "Mexico STOP", [MX_TYPED] + others, start=False)
        eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND phone = %s",
                   (cid, MX_CANON))[0]["n"], 1, "the import stores +52 + 10 digits")
        _text(s, "STOP", frm=MX_WA_ID)
        _no_apply_errors(s, mark)
        o = _optout(s, MX_CANON)
        check(o, "the STOP is stored for the canonical phone")
        eq(o["source"], "keyword", "source")
        eq(o["operator_lock"], 0, "a WhatsApp opt-out is not an operator's")
        eq(s.query("SELECT COUNT(*) AS n FROM opt_outs WHERE phone = '+5215512345678'")[0]["n"],
           0, "nothing under WhatsApp's form")
        eq(s.query("SELECT phone FROM inbound_messages WHERE phone LIKE '%%5512345678' "
                   "ORDER BY id DESC LIMIT 1")[0]["phone"], MX_CANON, "the reply too")
        check(_audits(s, "optout.create", MX_CANON), "the block is in the audit log")
        r = s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True})
        eq(r.status, 200, "start: %r" % r)
        wait_status(s, cid, ("completed",), timeout=90)
        rec = s.query("SELECT status FROM recipients WHERE campaign_id = %s AND phone = %s",
                      (cid, MX_CANON))[0]
        eq(rec["status"], "blocked", "the worker blocks the recipient")
        eq(_sent_to(s, MX_CANON[1:]) + _sent_to(s, MX_WA_ID), [], "no message to that person")
        eq(len([m for p in others for m in _sent_to(s, p[1:])]), 2, "the others got theirs")
        # the next campaign's upload refuses the number outright
        c2 = s.create_campaign(name="Mexico again")
        r = s.upload(c2["id"], "phone,name,consent\n%s,Ana,si\n%s,Bea,si\n"
                     % (MX_TYPED, "+5493875612003"))
        eq(r.status, 200, "upload: %r" % r)
        eq(r.json()["accepted"], 1, "only the other number: %r" % r.json())
        # replies and preferences land on the same person
        _preference(s, "stop", wa_id="5215512345679")
        eq(s.query("SELECT phone FROM user_preferences WHERE phone LIKE '%%5512345679'")[0]
           ["phone"], "+525512345679", "user_preferences canonical")
        check(_optout(s, "+525512345679"), "the preference's opt-out too")
        # an operator lifts a WhatsApp opt-out (and later tests use this number again)
        for p in (MX_CANON, "+525512345679"):
            eq(s.request("DELETE", "/api/opt-outs?phone=" + p.replace("+", "%2B")).status, 204,
               "lift " + p)


def test_user_id_only_payloads_block_the_person(s):
    """Statuses with only recipient_user_id and inbound messages with only from_user_id are
    applied without errors; an opt-out that names only a user id blocks the person it belongs
    to: by the answered message's recipient, by an earlier status, or as soon as the user id
    is linked."""
    mark = len(s.webhook_sigs)
    acc = _account_id(s, SANDBOX["phone_id"])
    camp = db_campaign(s, acc, [{"status": "delivered"}, {"status": "sent"},
                                {"status": "delivered"}])
    r0, r1, r2 = camp["recipients"]
    u = _uniq()
    # 1. only from_user_id, answering our message: the recipient of that wamid
    _text(s, "Baja", user_id="AR.u0" + u, context=r0["wamid"])
    check(_optout(s, r0["phone"]), "blocked by the answered message's recipient")
    eq(s.query("SELECT phone FROM person_user_ids WHERE user_id = %s", ("AR.u0" + u,))[0]["phone"],
       r0["phone"], "the user id is remembered")
    inb = s.query("SELECT phone, user_id, recipient_id FROM inbound_messages "
                  "WHERE user_id = %s", ("AR.u0" + u,))[0]
    eq((inb["phone"], inb["recipient_id"]), (r0["phone"], r0["id"]), "reply kept with its person")
    # 2. a status with only recipient_user_id teaches the user id; a later STOP without
    #    context blocks
    st = {"id": r1["wamid"], "status": "delivered", "timestamp": str(int(time.time())),
          "recipient_user_id": "AR.u1" + u}
    eq(s.post_webhook(_envelope({"statuses": [st]})).status, 200, "status")
    eq(s.query("SELECT status FROM recipients WHERE id = %s", (r1["id"],))[0]["status"],
       "delivered", "the status applied by wamid")
    _text(s, "no quiero recibir más", user_id="AR.u1" + u)
    check(_optout(s, r1["phone"]), "blocked through the status's user id")
    # 3. a user id nobody knows: the opt-out waits, then blocks once contacts[] links it
    _text(s, "STOP", user_id="AR.u2" + u)
    check(s.query("SELECT * FROM opt_outs_by_user_id WHERE user_id = %s", ("AR.u2" + u,)),
          "kept by user id")
    check(not _optout(s, r2["phone"]), "not yet")
    hello = {"from": r2["phone"][1:], "from_user_id": "AR.u2" + u, "id": "wamid.IN" + _uniq(),
             "timestamp": str(int(time.time())), "type": "text", "text": {"body": "hola"}}
    eq(s.post_webhook(_envelope({"contacts": [{"wa_id": r2["phone"][1:], "user_id": "AR.u2" + u,
                                               "profile": {"name": "Ana"}}],
                                 "messages": [hello]})).status, 200, "hello")
    check(_optout(s, r2["phone"]), "blocked once the user id is linked")
    eq(s.query("SELECT * FROM opt_outs_by_user_id WHERE user_id = %s", ("AR.u2" + u,)), (),
       "no longer waiting")
    # 4. a preference with only a user id, and shapes with nothing usable, are no errors
    _preference(s, "stop", user_id="AR.u3" + u)
    eq(s.post_webhook(_envelope({"messages": [{"id": "wamid.IN" + _uniq(), "type": "text",
                                               "timestamp": "1", "text": {"body": "STOP"},
                                               "from_user_id": "bad id \"x\""}],
                                 "statuses": [{"id": "wamid.nope" + u, "status": "read",
                                               "timestamp": "1",
                                               "recipient_user_id": "AR.u4" + u}]})).status,
       200, "odd shapes")
    _no_apply_errors(s, mark)


def test_changed_number_keeps_the_optout(s):
    """A user_changed_number system message: the opt-out follows the person to the new number
    (WhatsApp's form of it, canonical), and their user id moves with them."""
    mark = len(s.webhook_sigs)
    old, new, u = "5215512347001", "5215512347002", _uniq()
    _text(s, "BAJA", frm=old)
    check(_optout(s, "+525512347001"), "old number blocked")
    m = {"from": old, "from_user_id": "MX.c" + u, "id": "wamid.IN" + _uniq(),
         "timestamp": str(int(time.time())), "type": "system",
         "system": {"body": "User changed from %s to %s" % (old, new), "wa_id": new,
                    "type": "user_changed_number"}}
    eq(s.post_webhook(_envelope({"messages": [m]})).status, 200, "system message")
    o = _optout(s, "+525512347002")
    check(o, "the new number is blocked too")
    eq(o["source"], "number_change", "source")
    eq(s.query("SELECT phone FROM person_user_ids WHERE user_id = %s", ("MX.c" + u,))[0]["phone"],
       "+525512347002", "the user id follows")
    # a campaign to the new number: the upload refuses it, the other number goes in
    c2 = s.create_campaign(name="New number " + u)
    r = s.upload(c2["id"], "phone,name,consent\n+525512347002,Ana,si\n+5493875612009,Bea,si\n")
    eq(r.status, 200, "upload: %r" % r)
    eq(r.json()["accepted"], 1, "the new number is refused as opted out: %r" % r.json())
    eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND phone = %s",
               (c2["id"], "+525512347002"))[0]["n"], 0, "not among the recipients")
    _no_apply_errors(s, mark)


def test_resume_does_not_lift_an_operator_optout(s):
    """An operator's opt-out is lifted only by an operator; WhatsApp's resume (a preference or
    a resume keyword) lifts only opt-outs that came from WhatsApp. Every block, lift and refused
    lift is in opt_out_events and the audit log."""
    mark = len(s.webhook_sigs)
    base = int(time.time())
    op, wa, kw, locked = ("5493875613%03d" % i for i in range(1, 5))
    eq(s.post("/api/opt-outs", {"phone": "+" + op, "detail": "asked by phone"}).status, 201, "op")
    _preference(s, "resume", wa_id=op, ts=base)
    check(_optout(s, "+" + op), "a WhatsApp resume does not lift an operator's opt-out")
    eq(_events(s, "+" + op), ["opt_out", "lift_refused"], "the refusal is recorded")
    check(_audits(s, "optout.lift_refused", "+" + op), "and audited")
    _text(s, "START", frm=op)
    check(_optout(s, "+" + op), "nor does a resume keyword")

    _preference(s, "stop", wa_id=wa, ts=base)
    _preference(s, "resume", wa_id=wa, ts=base + 1)
    check(not _optout(s, "+" + wa), "WhatsApp lifts its own opt-out")
    eq(_events(s, "+" + wa), ["opt_out", "lift"], "events")
    check(_audits(s, "optout.lift", "+" + wa), "the lift is audited")

    _text(s, "STOP", frm=kw)
    check(_optout(s, "+" + kw), "keyword stop")
    _text(s, "¡Alta!", frm=kw)
    check(not _optout(s, "+" + kw), "the person's START lifts a keyword opt-out")

    _text(s, "baja", frm=locked)
    r = s.post("/api/opt-outs", {"phone": "+" + locked})
    eq(r.status, 200, "already there: %r" % r)
    eq(r.json()["operator_lock"], True, "the operator's word now holds it")
    _preference(s, "resume", wa_id=locked, ts=base + 2)
    check(_optout(s, "+" + locked), "resume after an operator confirmed it: kept")
    eq(_events(s, "+" + locked), ["opt_out", "lock", "lift_refused"], "events")

    r = s.request("DELETE", "/api/opt-outs?phone=%2B" + op, auth="admin")
    eq(r.status, 204, "an operator lifts it: %r" % r)
    check(not _optout(s, "+" + op), "lifted")
    check(_audits(s, "optout.lift", "+" + op), "audited")
    _no_apply_errors(s, mark)


def test_keyword_and_phrase_rules(s):
    """Keywords (whole message) and phrases (inside it), folded for case, accents and
    punctuation; managed through the API and applied by the webhook at once."""
    mark = len(s.webhook_sigs)
    p = ["5493875614%03d" % i for i in range(1, 8)]
    _text(s, "No quiero recibir más, gracias!", frm=p[0])
    check(_optout(s, "+" + p[0]), "seeded phrase inside a longer message")
    _text(s, "quiero recibir más info", frm=p[1])
    check(not _optout(s, "+" + p[1]), "no phrase: no opt-out")
    _text(s, "dejen de molestar", frm=p[2])
    check(not _optout(s, "+" + p[2]), "not a rule yet")
    r = s.post("/api/optout-keywords", {"keyword": "Déjen de MOLESTAR", "kind": "phrase"})
    eq(r.status, 201, "create: %r" % r)
    _text(s, "Por favor... ¡DEJEN de molestar!!!", frm=p[3])
    check(_optout(s, "+" + p[3]), "the new phrase, folded, inside the message")
    r = s.post("/api/optout-keywords", {"keyword": "chau", "kind": "keyword"})
    eq(r.status, 201, "keyword: %r" % r)
    _text(s, "Chau.", frm=p[4])
    check(_optout(s, "+" + p[4]), "the new whole-message keyword")
    _text(s, "chau, nos vemos", frm=p[5])
    check(not _optout(s, "+" + p[5]), "a keyword is the whole message only")
    kws = s.get("/api/optout-keywords").json()["keywords"]
    mine = [k for k in kws if k["keyword"] == "Déjen de MOLESTAR"]
    eq(len(mine), 1, "listed")
    eq((mine[0]["kind"], mine[0]["action"]), ("phrase", "stop"), "kind and action")
    check(any(k["keyword"] == "START" and k["action"] == "resume" for k in kws), "seeds listed")
    r = s.request("DELETE", "/api/optout-keywords?keyword=dejen%20de%20molestar")
    eq(r.status, 204, "delete by its folded form: %r" % r)
    _text(s, "dejen de molestar", frm=p[6])
    check(not _optout(s, "+" + p[6]), "removed rules no longer match")
    check(s.query("SELECT * FROM audit_log WHERE action = 'optout_keyword.create' AND "
                  "JSON_VALUE(detail, '$.keyword') = 'chau'"), "create audited")
    check(s.query("SELECT * FROM audit_log WHERE action = 'optout_keyword.delete'"),
          "delete audited")
    eq(s.request("DELETE", "/api/optout-keywords?keyword=chau").status, 204, "cleanup")
    _no_apply_errors(s, mark)


def test_keyword_api_refuses_bad_input(s):
    before = s.query("SELECT COUNT(*) AS n FROM opt_out_keywords")[0]["n"]
    bad = [({}, 400, "keyword"), ({"keyword": 5}, 400, "keyword"),
           ({"keyword": ""}, 400, "keyword"), ({"keyword": "¡¿...?!"}, 400, "keyword"),
           ({"keyword": "x" * 65}, 400, "keyword"),
           ({"keyword": "ok", "kind": "regex"}, 400, "kind"),
           ({"keyword": "ok", "kind": None}, 400, "kind"),
           ({"keyword": "ok", "action": 1}, 400, "action"),
           ({"keyword": "ok", "action": "pause"}, 400, "action"),
           ({"keyword": "ok", "extra": 1}, 400, "extra"),
           ({"keyword": "stop!"}, 409, "keyword"), ({"keyword": "Cancelár"}, 409, "keyword")]
    for body, status, field in bad:
        r = s.post("/api/optout-keywords", body)
        eq(r.status, status, "%r: %r" % (body, r))
        eq(r.json()["error"]["field"], field, "%r names the field" % body)
    r = s.request("POST", "/api/optout-keywords", b"{not json",
                  headers={"Content-Type": "application/json"})
    eq(r.status, 400, "not JSON: %r" % r)
    eq(s.request("POST", "/api/optout-keywords", {"keyword": "nuevo"}, auth="viewer").status, 403,
       "a viewer may not add")
    eq(s.request("GET", "/api/optout-keywords", auth="viewer").status, 200, "but may read")
    eq(s.request("DELETE", "/api/optout-keywords?keyword=STOP", auth="viewer").status, 403,
       "nor remove")
    eq(s.request("GET", "/api/optout-keywords", auth=None).status, 401, "anonymous")
    eq(s.request("DELETE", "/api/optout-keywords").status, 400, "keyword required")
    eq(s.request("DELETE", "/api/optout-keywords?keyword=nunca%20visto").status, 404, "unknown")
    eq(s.query("SELECT COUNT(*) AS n FROM opt_out_keywords")[0]["n"], before, "nothing stored")


def _migrate_again(s):
    """Runs sql/110 as the schema owner, as scripts/migrate.sh does."""
    with open(os.path.join(ROOT, "sql", "110_person_identity.sql"), "rb") as f:
        r = subprocess.run(["mariadb", "--socket=" + os.path.join(s.var, "run", "mysqld.sock"),
                            "-u", pwd.getpwuid(os.getuid()).pw_name, "pregon"],
                           stdin=f, capture_output=True, timeout=120)
    eq(r.returncode, 0, "migration: %s" % r.stderr.decode(errors="replace"))


def _wa_id_cases():
    out = []
    with open(os.path.join(ROOT, "tests", "data", "identity", "wa_ids.tsv"),
              encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            wa, want = line.split("\t")
            if want != "-":
                out.append(("+" + wa.lstrip("+"), want))
    return out


def test_migration_rewrites_and_merges_old_forms(s):
    """Rows stored in WhatsApp's forms by the old webhook are rewritten to the canonical form
    and duplicates merged: the earliest opt-out (locked when any was an operator's), one
    contact with the other's tags, name and attributes, the latest preference, the latest pace.
    The same answers as lib/identity for every case of tests/data/identity/wa_ids.tsv. Run
    twice: the second run changes nothing."""
    q = lambda sql, args=None: s.query(sql, args, admin=True)  # noqa: E731
    # every data case as an opt-out in its old form (the C rule and the SQL must agree)
    cases = _wa_id_cases()
    olds = sorted({old for old, _ in cases})
    wants = sorted({want for _, want in cases})
    inlist = "(%s)" % ",".join(["%s"] * len(olds + wants))
    saved = q("SELECT * FROM opt_outs WHERE phone IN " + inlist, olds + wants)
    q("DELETE FROM opt_outs WHERE phone IN " + inlist, olds + wants)
    for i, old in enumerate(olds):
        q("INSERT INTO opt_outs (phone, source, created_at) VALUES (%s, 'keyword', "
          "NOW(3) - INTERVAL %s SECOND)", (old, 100 - i))
    # a person twice: the old keyword opt-out is earlier, the operator's is canonical
    q("INSERT INTO opt_outs (phone, source, operator_lock, created_at) VALUES "
      "('+5215512340001', 'keyword', 0, '2024-01-01'), ('+525512340001', 'api', 1, '2025-01-01')")
    # the old API let an operator record source 'keyword': its event names the user
    q("INSERT INTO opt_outs (phone, source) VALUES ('+5493875619001', 'keyword'), "
      "('+5493875619002', 'keyword')")
    q("INSERT INTO opt_out_events (phone, action, source, actor) VALUES "
      "('+5493875619001', 'opt_out', 'keyword', 'ana@example.test'), "
      "('+5493875619002', 'opt_out', 'keyword', 'ana@example.test'), "
      "('+5493875619002', 'lift', 'api', 'ana@example.test'), "
      "('+5493875619002', 'opt_out', 'keyword', 'webhook')")
    # contacts: the old form came first (lower id)
    q("INSERT INTO contacts (phone, name, attributes, consent_at, consent_source) VALUES "
      "('+5215512340002', 'Ana', '{\"curso\": \"Robótica\", \"nivel\": 1}', '2025-02-01', "
      "'form'), ('+525512340002', '', '{\"nivel\": 2, \"sede\": \"Salta\"}', '2025-01-01', "
      "'import')")
    old_id = q("SELECT id FROM contacts WHERE phone = '+5215512340002'")[0]["id"]
    new_id = q("SELECT id FROM contacts WHERE phone = '+525512340002'")[0]["id"]
    q("INSERT INTO contact_tags (contact_id, tag) VALUES (%s, 'a'), (%s, 'b'), (%s, 'a')",
      (old_id, new_id, new_id))
    q("INSERT INTO user_preferences (phone, category, value, event_at) VALUES "
      "('+5215512340003', 'marketing_messages', 'stop', '2025-03-01'), "
      "('+525512340003', 'marketing_messages', 'resume', '2025-02-01')")
    q("INSERT INTO contact_pace (waba_id, phone, last_send_at) VALUES "
      "('w110', '+5215512340004', '2025-03-01'), ('w110', '+525512340004', '2025-01-01')")
    q("INSERT INTO inbound_messages (wamid, phone, type, body, sent_at) VALUES "
      "(%s, '+5215512340005', 'text', 'hola', NOW())", ("wamid.m110" + _uniq(),))

    _migrate_again(s)

    for old, want in cases:
        check(q("SELECT 1 FROM opt_outs WHERE phone = %s", (want,)), "%s -> %s" % (old, want))
        if old != want:
            eq(q("SELECT 1 FROM opt_outs WHERE phone = %s", (old,)), (), "%s rewritten" % old)
    o = q("SELECT * FROM opt_outs WHERE phone LIKE '%%5512340001'")
    eq(len(o), 1, "one opt-out per person")
    eq((o[0]["phone"], o[0]["source"], o[0]["operator_lock"], str(o[0]["created_at"])[:10]),
       ("+525512340001", "keyword", 1, "2024-01-01"), "the earliest, locked")
    eq([(r["phone"], r["operator_lock"]) for r in q(
        "SELECT phone, operator_lock FROM opt_outs WHERE phone LIKE '+54938756190%%' "
        "ORDER BY phone")], [("+5493875619001", 1), ("+5493875619002", 0)],
       "locked when the latest opt-out was an operator's")
    c = q("SELECT * FROM contacts WHERE phone LIKE '%%5512340002'")
    eq(len(c), 1, "one contact per person")
    eq((c[0]["id"], c[0]["phone"], c[0]["name"]), (old_id, "+525512340002", "Ana"), "merged")
    eq(json.loads(c[0]["attributes"]), {"curso": "Robótica", "nivel": 1, "sede": "Salta"},
       "attributes: its own first, then what it lacked")
    eq((str(c[0]["consent_at"])[:10], c[0]["consent_source"]), ("2025-01-01", "import"),
       "the earlier consent")
    eq(sorted(r["tag"] for r in q("SELECT tag FROM contact_tags WHERE contact_id = %s",
                                  (old_id,))), ["a", "b"], "tags moved")
    p = q("SELECT * FROM user_preferences WHERE phone LIKE '%%5512340003'")
    eq([(r["phone"], r["value"]) for r in p], [("+525512340003", "stop")], "the latest")
    cp = q("SELECT * FROM contact_pace WHERE waba_id = 'w110'")
    eq([(r["phone"], str(r["last_send_at"])[:10]) for r in cp], [("+525512340004", "2025-03-01")],
       "the latest send")
    eq(q("SELECT COUNT(*) AS n FROM inbound_messages WHERE phone = '+525512340005'")[0]["n"], 1,
       "the reply's phone")
    # the append-only guard is back
    try:
        q("UPDATE inbound_messages SET body = 'x' WHERE phone = '+525512340005'")
        check(False, "inbound_messages is append-only again")
    except Exception as e:  # noqa: BLE001 - the trigger's SIGNAL
        check("append-only" in str(e), "trigger: %s" % e)
    check(not q("SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'pregon' "
                "AND ROUTINE_NAME = 'm110_canon'"), "the migration's helper is gone")

    snap = lambda: [q("SELECT phone, source, operator_lock FROM opt_outs ORDER BY phone"),  # noqa
                    q("SELECT id, phone, name, attributes FROM contacts ORDER BY id"),
                    q("SELECT * FROM user_preferences ORDER BY phone, category"),
                    q("SELECT * FROM contact_pace ORDER BY waba_id, phone")]
    before = snap()
    _migrate_again(s)
    eq(snap(), before, "a second run changes nothing")
    # leave no trace for later tests (+5493875551234 and friends are everyday test numbers)
    q("DELETE FROM opt_outs WHERE phone IN " + inlist, olds + wants)
    q("DELETE FROM opt_outs WHERE phone LIKE '+52551234000%%'")
    for r in saved:
        q("INSERT INTO opt_outs (phone, source, detail, campaign_id, operator_lock, created_at) "
          "VALUES (%s, %s, %s, %s, %s, %s)", (r["phone"], r["source"], r["detail"],
                                              r["campaign_id"], r["operator_lock"],
                                              r["created_at"]))
    q("DELETE FROM opt_outs WHERE phone LIKE '+54938756190%%'")
    q("DELETE FROM contacts WHERE id = %s", (old_id,))
    q("DELETE FROM user_preferences WHERE phone LIKE '+52551234000%%'")
    q("DELETE FROM contact_pace WHERE waba_id = 'w110'")
