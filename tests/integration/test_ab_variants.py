"""A/B variants with a holdout (issue 21; lib/abvariant.h, sql/179_ab_variants.sql) through the
real worker and the sandbox: a campaign with two variants (each its own template and mapping)
and a 20 % holdout over 1,000 recipients. The sandbox's own record says every message used the
template of its recipient's variant and no holdout number was ever sent; the split is within
statistical bounds and equals the assignment recomputed here (BLAKE2b keyed with the campaign's
key); a clone keeps every person's variant; the per-variant stats after the sandbox's status
webhooks and signed replies match what was sent; invalid splits are refused naming the field."""

import csv
import hashlib
import io

from harness import check, eq
from test_campaign_api import START, err, synced, upload, wait_status
from test_replies import _inbound
from workerkit import AccountSettings, campaign, check_counters, phones

V1 = {"template_name": "recordatorio_clase", "template_language": "es_AR",
      "params": {"body": [{"column": "name"}, "Robótica", "lunes"]}, "share": 40}
V2 = {"template_name": "aviso_pago", "template_language": "es_AR",
      "params": {"body": [{"column": "monto", "fallback": "$ 1"}]}, "share": 40}
TEMPLATES = {1: "recordatorio_clase", 2: "aviso_pago"}


def bucket(key, phone):
    """The documented assignment (docs/api.md, A/B variants), computed independently."""
    h = hashlib.blake2b(phone.encode(), digest_size=8,
                        key=b"pregonab" + key.to_bytes(8, "little")).digest()
    return int.from_bytes(h, "little") % 100


def expected_variant(key, phone, shares, holdout):
    b, edge = bucket(key, phone), 0
    for i, sh in enumerate(shares):
        edge += sh
        if b < edge:
            return i + 1
    return 0


def create(s, name, **extra):
    body = {"name": name, "template_name": "recordatorio_clase", "template_language": "es_AR",
            "account_id": 1,
            "params": {"body": [{"column": "name"}, "Robótica", {"column": "day",
                                                                 "fallback": "lunes"}]}}
    body.update(extra)
    return s.post("/api/campaigns", body)


def sandbox_messages(s):
    out, after = [], 0
    while True:
        r = s.sandbox_get("/_sandbox/messages?limit=10000&after=%d" % after).json()
        out.extend(r["messages"])
        if not r["messages"] or not r.get("next_after"):
            return out
        after = r["next_after"]


def run_campaign(s, name, numbers, variants, holdout):
    r = create(s, name, variants=variants, holdout_pct=holdout)
    eq(r.status, 201, "create: %r" % r)
    c = r.json()
    eq([v["template_name"] for v in c["variants"]], [v["template_name"] for v in variants],
       "variants shown")
    eq(c["holdout_pct"], holdout, "holdout shown")
    csv = "phone,name,consent,monto\n" + "".join(
        "%s,N%d,si,$ %d\n" % (p, i, 100 + i) for i, p in enumerate(numbers))
    r = upload(s, c["id"], csv)
    eq(r.status, 200, "upload: %r" % r)
    eq(r.json()["accepted"], len(numbers), "accepted")
    pf = s.post("/api/campaigns/%d/preflight" % c["id"], {})
    eq(pf.status, 200, "preflight: %r" % pf)
    split = pf.json().get("ab_split")
    check(split and len(split["variants"]) == len(variants), "preflight split: %r" % split)
    eq(sum(v["expected"] for v in split["variants"]) + split["holdout"]["expected"],
       len(numbers), "the split adds up")
    eq(s.post("/api/campaigns/%d/start" % c["id"], START).status, 200, "start")
    wait_status(s, c["id"], "completed", timeout=240)
    return c["id"]


def test_validation_names_the_field(s):
    synced(s)
    v3 = dict(V1, share=10)
    cases = [
        ({"variants": [V1, dict(V2, share=30)], "holdout_pct": 20}, 400, "variants[1].share"),
        ({"variants": [dict(V1, share=20)] * 5, "holdout_pct": 0}, 400, "variants"),
        ({"variants": [V1]}, 400, "variants"),
        ({"variants": [V1, dict(V2, template_name="no_existe")], "holdout_pct": 20}, 422,
         "variants[1].template_name"),
        ({"variants": [V1, dict(V2, template_name="rechazada", template_language="es")],
          "holdout_pct": 20}, 422, "variants[1].template_name"),
        ({"variants": [dict(V1, share=20), dict(V2, share=20)], "holdout_pct": 60}, 400,
         "holdout_pct"),
        ({"variants": [V1, dict(V2, share="40")], "holdout_pct": 20}, 400, "variants[1].share"),
        ({"variants": [V1, dict(V2, params={"body": []})], "holdout_pct": 20}, 422,
         "variants[1].params"),
        ({"variants": [V1, V2, v3], "holdout_pct": 20}, 400, "variants[2].share"),
        ({"holdout_pct": 10}, 400, "holdout_pct"),
        ({"variants": [V1, dict(V2, colour="red")], "holdout_pct": 20}, 400, "variants[1].colour"),
    ]
    before = s.query("SELECT COUNT(*) AS n FROM campaigns")[0]["n"]
    for extra, status, field in cases:
        r = create(s, "AB inválida", **extra)
        eq(r.status, status, "status for %r: %r" % (extra, r))
        eq(r.json()["error"]["field"], field, "field for %r: %r" % (extra, r.json()))
        check(r.json()["error"]["message"], "a message for the operator")
    eq(s.query("SELECT COUNT(*) AS n FROM campaigns")[0]["n"], before, "nothing stored")
    # a draft's variants are replaced or removed by an edit; a paused one cannot change them
    r = create(s, "AB editable", variants=[V1, V2], holdout_pct=20)
    eq(r.status, 201, "created: %r" % r)
    cid = r.json()["id"]
    r = s.request("PATCH", "/api/campaigns/%d" % cid,
                  {"variants": [dict(V1, share=50), dict(V2, share=50)], "holdout_pct": 0})
    eq(r.status, 200, "edited: %r" % r)
    eq([v["share"] for v in r.json()["variants"]], [50, 50], "new shares")
    r = s.request("PATCH", "/api/campaigns/%d" % cid, {"variants": [dict(V1, share=70), V2]})
    err(r, 400, "invalid_field", "variants[1].share")
    r = s.request("PATCH", "/api/campaigns/%d" % cid, {"variants": None})
    eq(r.status, 200, "removed: %r" % r)
    eq((r.json()["variants"], r.json()["holdout_pct"]), ([], 0), "no variants")
    eq(s.request("DELETE", "/api/campaigns/%d" % cid).status, 204, "deleted")


def test_split_template_holdout_and_stats(s):
    synced(s)
    numbers = phones("47", 1000)
    s.sandbox_post("/_sandbox/reset", {})
    with AccountSettings(s, throughput_mps=400, messaging_tier="TIER_UNLIMITED"):
        cid = run_campaign(s, "AB 1000", numbers, [V1, V2], 20)
    rows = s.query("SELECT id, phone, status, variant, wamid FROM recipients "
                   "WHERE campaign_id = %s", (cid,))
    eq(len(rows), 1000, "rows")
    key = s.query("SELECT COALESCE(ab_key, id) AS k FROM campaigns WHERE id = %s",
                  (cid,))[0]["k"]
    eq(key, cid, "the key of a new campaign is its id")
    by_id = {r["id"]: r for r in rows}
    # assignment: stored = recomputed here; holdout final and never sent
    for r in rows:
        want = expected_variant(key, r["phone"], [40, 40], 20)
        eq(r["variant"], want, "variant of %s" % r["phone"])
        if want == 0:
            eq((r["status"], r["wamid"]), ("holdout", None), "holdout row %s" % r["phone"])
        else:
            check(r["status"] in ("sent", "delivered", "read"), "sent: %r" % r)
    n = {v: sum(1 for r in rows if r["variant"] == v) for v in (0, 1, 2)}
    # 1,000 draws: each count within 5 standard deviations of its share
    for v, p in ((1, 0.4), (2, 0.4), (0, 0.2)):
        sd = (1000 * p * (1 - p)) ** 0.5
        check(abs(n[v] - 1000 * p) <= 5 * sd, "variant %d: %d of 1000 (%r)" % (v, n[v], n))
    # the sandbox's own record: each message with its variant's template, no holdout number
    msgs = sandbox_messages(s)
    holdout_numbers = {r["phone"].lstrip("+") for r in rows if r["variant"] == 0}
    eq([m["wa_id"] for m in msgs if m["wa_id"] in holdout_numbers], [], "holdout never sent")
    mine = [m for m in msgs if (m.get("callback_data") or "").startswith("pregon:%d:" % cid)]
    eq(len(mine), n[1] + n[2], "one message per sent recipient")
    for m in mine:
        r = by_id[int(m["callback_data"].split(":")[2])]
        eq(m["template"], TEMPLATES[r["variant"]], "template of %s" % r["phone"])
        eq("+" + m["wa_id"], r["phone"], "to")
        comps = (m.get("request") or {}).get("template", {}).get("components", [])
        body = [p["text"] for c in comps if c.get("type") == "body" for p in c["parameters"]]
        if r["variant"] == 2:
            eq(len(body), 1, "aviso_pago's one parameter: %r" % comps)
            check(body[0].startswith("$ "), "the monto column: %r" % body)
        else:
            eq(body[1:], ["Robótica", "lunes"], "recordatorio_clase's mapping: %r" % body)
    # send_log says which variant went
    logged = {x["variant"]: x["n"] for x in s.query(
        "SELECT variant, COUNT(*) AS n FROM send_log WHERE campaign_id = %s AND "
        "outcome = 'sent' GROUP BY variant", (cid,))}
    eq(logged, {1: n[1], 2: n[2]}, "send_log per variant")
    eq(s.query("SELECT COUNT(*) AS n FROM send_log WHERE campaign_id = %s AND "
               "template_name = 'aviso_pago'", (cid,))[0]["n"], n[2], "send_log template")
    # counters: holdout counted and the campaign complete
    g = s.get("/api/campaigns/%d" % cid).json()
    eq(g["counters"]["holdout"], n[0], "holdout counter")
    eq(g["figures"]["holdout"]["count"], n[0], "holdout figure")
    eq(g["progress"]["percent"], 100.0, "progress counts the holdout as done")
    check_counters(s, cid)
    # statuses from the sandbox's webhooks, then replies, a button and a holdout's message
    s.wait_for("statuses applied", lambda: s.query(
        "SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s AND status = 'read'",
        (cid,))[0]["n"] == n[1] + n[2], timeout=120)
    acct = s.get("/api/accounts/1").json()
    v1 = [r for r in rows if r["variant"] == 1][:6]
    v2 = [r for r in rows if r["variant"] == 2][:3]
    wamid = {r["id"]: x["wamid"] for x in s.query(
        "SELECT id, wamid FROM recipients WHERE campaign_id = %s", (cid,)) for r in [x]}
    for r in v1 + v2:
        _inbound(s, acct, r["phone"], "text", wamid[r["id"]], text={"body": "gracias"})
    _inbound(s, acct, v1[0]["phone"], "button", wamid[v1[0]["id"]],
             button={"payload": "OK", "text": "OK"})
    stop = [r for r in rows if r["variant"] == 2][3]
    _inbound(s, acct, stop["phone"], "text", wamid[stop["id"]], text={"body": "STOP"})
    hold = [r for r in rows if r["variant"] == 0][:2]
    _inbound(s, acct, hold[0]["phone"], "text", text={"body": "¿y a mí?"})
    st = s.get("/api/campaigns/%d/variants" % cid)
    eq(st.status, 200, "variants stats: %r" % st)
    st = st.json()
    eq([v["variant"] for v in st["variants"]], [1, 2], "both variants")
    for v, replied, clicked, stopped in ((st["variants"][0], 6, 1, 0), (st["variants"][1], 4, 0, 1)):
        k = v["variant"]
        eq((v["template_name"], v["recipients"], v["sent"]), (TEMPLATES[k], n[k], n[k]),
           "variant %d" % k)
        eq((v["delivered"]["count"], v["read"]["count"]), (n[k], n[k]), "delivered, read")
        eq((v["replied"]["count"], v["clicked"]["count"], v["opted_out"]["count"]),
           (replied, clicked, stopped), "replies of variant %d" % k)
        check(v["replied"]["ci_low"] <= v["replied"]["rate"] <= v["replied"]["ci_high"],
              "rate within its interval: %r" % v["replied"])
        eq(v["delivered"]["rate"], 1.0, "rate")
    h = st["holdout"]
    eq((h["recipients"], h["sent"], h["replied"]["count"]), (n[0], 0, 1), "holdout baseline")
    check(abs(h["replied"]["rate"] - 1.0 / n[0]) < 1e-9, "baseline rate: %r" % h)
    # the holdout exported, to compare with the CRM
    r = s.get("/api/campaigns/%d/holdout.csv" % cid)
    eq(r.status, 200, "holdout.csv: %r" % r)
    lines = list(csv.reader(io.StringIO(r.body.lstrip("\ufeff"))))
    eq(lines[0], ["phone", "status", "name", "lead_id"], "header")
    # a cell starting with + comes out as '+... (lib/csvout.c: no formula runs)
    eq(sorted(x[0].lstrip("'") for x in lines[1:]),
       sorted(x["phone"] for x in rows if x["variant"] == 0), "every holdout number once")
    # the recipient list and its filter know the status
    r = s.get("/api/campaigns/%d/recipients?status=holdout&limit=500" % cid)
    eq(r.status, 200, "recipients by status: %r" % r)
    eq(len(r.json()["recipients"]), n[0], "listed")
    # the figures come from the variant counters (sql/180), which match the rows
    counted = {x["variant"]: x for x in s.query(
        "SELECT variant, SUM(assigned_count) AS a, SUM(sent_count) AS s, SUM(read_count) AS r "
        "FROM campaign_variant_counts WHERE campaign_id = %s GROUP BY variant", (cid,))}
    eq({v: (int(x["a"]), int(x["s"]), int(x["r"])) for v, x in counted.items()},
       {0: (n[0], 0, 0), 1: (n[1], n[1], n[1]), 2: (n[2], n[2], n[2])}, "variant counters")


def test_clone_keeps_assignment(s):
    synced(s)
    numbers = phones("48", 60)
    with AccountSettings(s, throughput_mps=400, messaging_tier="TIER_UNLIMITED"):
        cid = run_campaign(s, "AB clon", numbers, [dict(V1, share=50), dict(V2, share=30)], 20)
        first = {r["phone"]: r["variant"] for r in s.query(
            "SELECT phone, variant FROM recipients WHERE campaign_id = %s", (cid,))}
        r = s.post("/api/campaigns/%d/clone" % cid, {"recipients": "all"})
        eq(r.status, 201, "clone: %r" % r)
        clone = r.json()["id"]
        eq([v["share"] for v in s.get("/api/campaigns/%d" % clone).json()["variants"]],
           [50, 30], "variants copied")
        eq(s.post("/api/campaigns/%d/start" % clone, START).status, 200, "start the clone")
        wait_status(s, clone, "completed", timeout=120)
    again = {r["phone"]: r["variant"] for r in s.query(
        "SELECT phone, variant FROM recipients WHERE campaign_id = %s", (clone,))}
    eq(again, first, "every person keeps their variant")
    for p, v in first.items():
        eq(v, expected_variant(cid, p, [50, 30], 20), "recomputed for %s" % p)


def _template_event(s, acct, name, lang, event):
    payload = {"object": "whatsapp_business_account", "entry": [{"id": acct["waba_id"], "changes": [{
        "field": "message_template_status_update",
        "value": {"event": event, "message_template_id": 1122334455667706,
                  "message_template_name": name, "message_template_language": lang,
                  "reason": "NONE"}}]}]}
    eq(s.post_webhook(payload).status, 200, "template event")


def test_a_paused_variant_template_pauses_the_campaign(s):
    # Meta pausing the template of one variant pauses the campaign like its own template would
    # (lib/campaign_store.c, CSCOPE_TEMPLATE); resume waits until it is usable again.
    synced(s)
    acct = s.get("/api/accounts/1").json()
    with AccountSettings(s, throughput_mps=2, messaging_tier="TIER_UNLIMITED"):
        r = create(s, "AB pausa", variants=[V1, V2], holdout_pct=20)
        eq(r.status, 201, "create: %r" % r)
        cid = r.json()["id"]
        csv = "phone,name,consent,monto\n" + "".join(
            "%s,N%d,si,$ 1\n" % (p, i) for i, p in enumerate(phones("49", 200)))
        eq(upload(s, cid, csv).status, 200, "upload")
        eq(s.post("/api/campaigns/%d/start" % cid, START).status, 200, "start")
        try:
            _template_event(s, acct, "aviso_pago", "es_AR", "PAUSED")
            g = wait_status(s, cid, "paused")
            eq(g["pause_kind"], "template", "paused by the variant's template: %r" % g)
            eq(g["resumable"], False, "not resumable while Meta holds the template")
            err(s.post("/api/campaigns/%d/resume" % cid), 409, "not_resumable")
        finally:
            _template_event(s, acct, "aviso_pago", "es_AR", "REINSTATED")
        g = s.post("/api/campaigns/%d/resume" % cid)
        eq((g.status, g.json().get("status")), (200, "running"), "resumed: %r" % g)
        eq(s.post("/api/campaigns/%d/cancel" % cid).status, 200, "cancelled")


def test_a_held_variant_template_holds_the_campaign(s):
    # Meta holding a variant's template for its quality assessment (template pacing) holds the
    # campaign like its own template would (worker/schedule.c camp_paced): the wait reason
    # names the variant's template; once the held message's statuses come, it goes on.
    synced(s)
    s.sandbox_post("/_sandbox/reset", {})
    s.sandbox_post("/_sandbox/config", {"statuses": ["sent", "delivered"], "pacing": {
        "template": "aviso_pago", "hold_ms": 3000}})
    try:
        with AccountSettings(s, throughput_mps=20, messaging_tier="TIER_UNLIMITED"):
            r = create(s, "AB pacing", variants=[V1, V2], holdout_pct=20)
            eq(r.status, 201, "create: %r" % r)
            cid = r.json()["id"]
            nums = phones("48", 80)
            csv = "phone,name,consent,monto\n" + "".join(
                "%s,N%d,si,$ 1\n" % (p, i) for i, p in enumerate(nums))
            eq(upload(s, cid, csv).status, 200, "upload")
            eq(s.post("/api/campaigns/%d/start" % cid, START).status, 200, "start")
            g = s.wait_for("held", lambda: (lambda c: c if (c["wait_reason"] or "").startswith(
                "template pacing") else None)(campaign(s, cid)), timeout=20)
            check(g["wait_reason"].startswith("template pacing: Meta holds aviso_pago (es_AR)"),
                  "held by the variant's template: %r" % g["wait_reason"])
            s.sandbox_post("/_sandbox/config", {"pacing": None})
            wait_status(s, cid, "completed", timeout=60)
        mine = [m for m in sandbox_messages(s)
                if (m.get("callback_data") or "").startswith("pregon:%d:" % cid)]
        got = [m["wa_id"] for m in mine]
        eq(len(got), len(set(got)), "nobody sent twice")
        eq(len(got) + campaign(s, cid)["holdout_count"], len(nums),
           "every recipient sent once or held out")
        eq(s.query("SELECT pacing_wamid FROM templates WHERE name = 'aviso_pago' AND "
                   "language = 'es_AR'")[0]["pacing_wamid"], None, "the hold is over")
    finally:
        s.query("UPDATE templates SET pacing_wamid = NULL, pacing_until = NULL", admin=True)
        s.sandbox_post("/_sandbox/reset", {})
