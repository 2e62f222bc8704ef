"""Cost (issue 21): the rate card API (superadmins change it, admins read it, a validation
error names its field), a campaign sent by the real worker to the sandbox, whose status
webhooks carry Meta's pricing, then the per-campaign cost report and its CSV against sums
computed here (a rate change on an effective date priced only for the later messages), and
the preflight's estimate (recipients by country x today's rate)."""

import csv
import io
import json
import os
import time
from decimal import Decimal

from harness import ROOT, check, eq
import workerkit

GOOD = {"country": "AR", "category": "marketing", "currency": "USD", "price": "0.0618",
        "effective_from": "2026-01-01"}


def _country(phone):
    return {"+54": "AR", "+52": "MX"}.get(phone[:3], "ZZ")


def _add_rate(s, **kw):
    body = dict(GOOD)
    body.update(kw)
    r = s.post("/api/rate-card", body)
    eq(r.status, 201, "rate %r: %r" % (body, r))
    return r.json()


def _audit(s, action, rid):
    return s.query("SELECT actor FROM audit_log WHERE action = %s AND target_type = 'rate_card' "
                   "AND target_id = %s", (action, rid))


def test_rate_card_api(s):
    s.query("DELETE FROM rate_card", admin=True)
    # an admin reads the card but may not change it; a viewer may not even read it
    eq(s.request("POST", "/api/rate-card", GOOD, auth="admin").status, 403, "admin adds")
    eq(s.get("/api/rate-card", auth="viewer").status, 403, "viewer reads")
    eq(s.query("SELECT COUNT(*) AS n FROM rate_card")[0]["n"], 0, "nothing stored by admin")
    row = _add_rate(s)
    eq((row["country"], row["category"], row["currency"], row["price"], row["effective_from"],
        row["effective_to"]), ("AR", "marketing", "USD", "0.061800", "2026-01-01", None),
       "stored as given (DECIMAL text)")
    check(_audit(s, "rate_card.create", row["id"]), "creation audited")
    r = s.get("/api/rate-card", auth="admin")
    eq(r.status, 200, "admin reads")
    eq([x["id"] for x in r.json()["rates"]], [row["id"]], "listed")
    # an integer price and a closed period
    row2 = _add_rate(s, price=2, effective_from="2025-01-01", effective_to="2025-12-31",
                     country="ZZ", category="service")
    eq((row2["price"], row2["effective_to"]), ("2.000000", "2025-12-31"), "integer price, end")
    # every invalid field is named
    bad = [("country", "Argentina"), ("country", "ar"), ("country", "QQ"), ("country", None),
           ("category", "MARKETING"), ("category", "referral_conversion"),
           ("currency", "usd"), ("currency", "US"), ("price", "-1"), ("price", "1.1234567"),
           ("price", "abc"), ("price", "123456789"), ("price", None), ("price", True),
           ("effective_from", "2026-02-30"), ("effective_from", "01/01/2026"),
           ("effective_to", "2025-12-31"), ("effective_to", "2026-13-01")]
    for field, value in bad:
        body = dict(GOOD)
        body[field] = value
        r = s.post("/api/rate-card", body)
        eq(r.status, 400, "%s=%r: %r" % (field, value, r))
        e = r.json()["error"]
        eq((e["code"], e["field"]), ("invalid_field", field), "%s=%r names it" % (field, value))
    body = dict(GOOD)
    del body["currency"]
    eq(s.post("/api/rate-card", body).json()["error"]["field"], "currency", "missing field")
    body = dict(GOOD, cost="1")
    eq(s.post("/api/rate-card", body).status, 400, "unknown member refused")
    # the operator's words come from the catalogue, Spanish first
    r = s.post("/api/rate-card", dict(GOOD, currency="pesos"), headers={"Accept-Language": "es"})
    check("moneda" in r.json()["error"]["message"], "Spanish message: %r" % r)
    eq(s.query("SELECT COUNT(*) AS n FROM rate_card")[0]["n"], 2, "no invalid rate stored")
    # deleting: superadmin only, audited, 404 once gone
    eq(s.request("DELETE", "/api/rate-card/%d" % row2["id"], auth="admin").status, 403,
       "admin deletes")
    eq(s.request("DELETE", "/api/rate-card/%d" % row2["id"]).status, 204, "deleted")
    check(_audit(s, "rate_card.delete", row2["id"]), "deletion audited")
    eq(s.request("DELETE", "/api/rate-card/%d" % row2["id"]).status, 404, "gone")
    eq([x["id"] for x in s.get("/api/rate-card").json()["rates"]], [row["id"]], "listed after")
    s.query("DELETE FROM rate_card", admin=True)
    # the example card loads as docs/api.md says (one POST per rate)
    with open(os.path.join(ROOT, "docs", "examples", "rate-card.example.json")) as f:
        example = json.load(f)
    check("EXAMPLE" in example["_comment"], "marked as example values")
    for rate in example["rates"]:
        eq(s.post("/api/rate-card", rate).status, 201, "example rate %r" % rate)
    eq(len(s.get("/api/rate-card").json()["rates"]), len(example["rates"]), "example loaded")
    s.query("DELETE FROM rate_card", admin=True)


def _status(wamid, wa_id, status, ts, billable):
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111",
                         "phone_number_id": "106540352242922"},
            "statuses": [{"id": wamid, "status": status, "timestamp": str(ts),
                          "recipient_id": wa_id,
                          "pricing": {"billable": billable, "pricing_model": "PMP",
                                      "category": "utility", "type": "regular"}}]}}]}]}


# (country, category) -> [(effective_from, effective_to, price)]: the rates the report must use
RATES = [("AR", "utility", "2025-01-01", None, "0.0100"),
         ("AR", "utility", "2026-01-01", None, "0.0125"),   # the rate change
         ("AR", "marketing", "2020-01-01", None, "0.5000"),  # another category: never used
         ("MX", "utility", "2025-01-01", "2025-12-31", "0.0200"),  # none for MX after 2025
         ("ZZ", "utility", "2024-01-01", None, "0.0300")]


def _rate_at(country, category, day):
    """The rate in force on day (YYYY-MM-DD): the latest effective_from not after it."""
    best = None
    for c, cat, f, t, p in RATES:
        if c == country and cat == category and f <= day and (t is None or day <= t):
            if best is None or f >= best[0]:
                best = (f, p)
    return best


def test_campaign_cost_report_and_estimate(s):
    s.query("DELETE FROM rate_card", admin=True)
    s.sandbox_post("/_sandbox/reset", {})
    eq(s.sandbox_post("/_sandbox/config", {"statuses": ["sent", "delivered"]}).status, 200,
       "sandbox config")
    numbers = (["+54938771%05d" % i for i in range(6)] + ["+5255123400%02d" % i for i in range(4)]
               + ["+4477009001%02d" % i for i in range(2)])
    try:
        with workerkit.Workers(s) as w:
            w.start()
            cid = workerkit.make_campaign(s, "Costos", numbers)
            workerkit.wait_status(s, cid, ("completed",), timeout=120)
            n = len(numbers)
            s.wait_for("the sandbox's delivered statuses applied, every message priced",
                       lambda: s.query("SELECT COUNT(*) AS n FROM recipients r JOIN "
                                       "message_pricing mp ON mp.recipient_id = r.id WHERE "
                                       "r.campaign_id = %s AND r.status = 'delivered'",
                                       (cid,))[0]["n"] == n, timeout=90)
        # delivered repeated sent's pricing: the row was written once, by sent
        eq(s.query("SELECT status, COUNT(*) AS n FROM message_pricing WHERE campaign_id = %s "
                   "GROUP BY status", (cid,)), [{"status": "sent", "n": n}],
           "a status repeating the stored pricing writes nothing")
        recs = s.query("SELECT id, phone, wamid FROM recipients WHERE campaign_id = %s "
                       "ORDER BY id", (cid,))
        eq(sorted(_country(r["phone"]) for r in recs), ["AR"] * 6 + ["MX"] * 4 + ["ZZ"] * 2,
           "the numbers' countries")
        mp = s.query("SELECT pricing_model, category, billable, pricing_type, country FROM "
                     "message_pricing WHERE campaign_id = %s ORDER BY recipient_id", (cid,))
        eq([tuple(x.values()) for x in mp],
           [("PMP", "utility", 1, "regular", _country(r["phone"])) for r in recs],
           "the sandbox's pricing stored per message")
        # Half the messages were sent last year (before the AR change, inside MX's period).
        old = {r["id"] for i, r in enumerate(recs) if i % 2 == 0}
        s.query("UPDATE recipients SET sent_at = '2025-03-10 12:00:00' WHERE id IN (%s)" %
                ",".join(str(i) for i in old), admin=True)
        # One AR message becomes free: a later status says billable false.
        flip = recs[1]
        r = s.post_webhook(_status(flip["wamid"], flip["phone"][1:], "read",
                                   int(time.time()) + 60, False))
        eq(r.status, 200, "status accepted")
        eq(s.query("SELECT billable FROM message_pricing WHERE recipient_id = %s",
                   (flip["id"],))[0]["billable"], 0, "billable flipped by the latest status")
        for c, cat, f, t, p in RATES:
            _add_rate(s, country=c, category=cat, effective_from=f, effective_to=t, price=p)
        _check_report(s, cid, recs, old, flip["id"])
        _check_estimate(s)
    finally:
        s.sandbox_post("/_sandbox/reset", {})
        s.query("DELETE FROM rate_card", admin=True)


def _check_report(s, cid, recs, old, free_id):
    sent = {r["id"]: r["sent_at"].strftime("%Y-%m-%d") for r in s.query(
        "SELECT id, sent_at FROM recipients WHERE campaign_id = %s", (cid,))}
    want, totals = {}, {"messages": 0, "billable": 0, "unrated": 0, "cost": Decimal(0)}
    for r in recs:
        country, billable = _country(r["phone"]), r["id"] != free_id
        rate = _rate_at(country, "utility", sent[r["id"]])
        key = ("utility", country, rate[0] if rate else None)
        g = want.setdefault(key, {"messages": 0, "billable": 0, "unrated": 0,
                                  "cost": Decimal(0), "price": rate and Decimal(rate[1])})
        g["messages"] += 1
        totals["messages"] += 1
        if billable:
            g["billable"] += 1
            totals["billable"] += 1
            if rate:
                g["cost"] += Decimal(rate[1])
                totals["cost"] += Decimal(rate[1])
            else:
                g["unrated"] += 1
                totals["unrated"] += 1
    check(("utility", "AR", "2025-01-01") in want and ("utility", "AR", "2026-01-01") in want,
          "the fixture spans the AR rate change")
    check(totals["unrated"] == 2, "the 2 MX sent this year have no rate: %r" % totals)
    r = s.get("/api/campaigns/%d/costs" % cid, auth="viewer")
    eq(r.status, 200, "costs: %r" % r)
    rep = r.json()
    got = {}
    for row in rep["rows"]:
        key = (row["category"], row["country"], row["rate_effective_from"])
        got[key] = {"messages": row["messages"], "billable": row["billable"],
                    "unrated": row["billable_without_rate"],
                    "cost": Decimal(row["cost"]) if row["cost"] is not None else Decimal(0),
                    "price": row["unit_price"] and Decimal(row["unit_price"])}
        eq(row["currency"], "USD" if row["unit_price"] else None, "currency of %r" % (key,))
    eq(got, want, "report rows by category, country and rate")
    t = rep["totals"]
    eq((t["messages"], t["billable"], t["billable_without_rate"], t["sent_without_pricing"]),
       (totals["messages"], totals["billable"], totals["unrated"], 0), "totals")
    eq([(x["currency"], Decimal(x["cost"])) for x in t["by_currency"]],
       [("USD", totals["cost"])], "total cost")
    # the CSV: the same rows, the same text
    r = s.get("/api/campaigns/%d/costs.csv" % cid)
    eq(r.status, 200, "costs.csv")
    check(r.headers.get("Content-Type", "").startswith("text/csv"), "CSV type")
    lines = list(csv.reader(io.StringIO(r.body.lstrip("\ufeff"))))
    eq(lines[0], ["category", "country", "currency", "unit_price", "rate_effective_from",
                  "messages", "billable", "billable_without_rate", "cost"], "CSV header")
    as_text = lambda v: "" if v is None else str(v)  # noqa: E731
    eq(lines[1:], [[as_text(x[k]) for k in ("category", "country", "currency", "unit_price",
                                            "rate_effective_from", "messages", "billable",
                                            "billable_without_rate", "cost")]
                   for x in rep["rows"]], "CSV rows = report rows")
    eq(s.get("/api/campaigns/999999999/costs").status, 404, "no such campaign")


def _check_estimate(s):
    numbers = (["+54938772%05d" % i for i in range(3)] + ["+5255123500%02d" % i for i in range(2)]
               + ["+447700900200"])
    cid = workerkit.make_campaign(s, "Costos estimados", numbers, start=False)
    r = s.post("/api/campaigns/%d/preflight" % cid, {})
    eq(r.status, 200, "preflight: %r" % r)
    est = r.json()["cost_estimate"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    by = {x["country"]: x for x in est["by_country"]}
    eq(sorted(by), ["AR", "MX", "ZZ"], "countries")
    want_total, unrated = Decimal(0), 0
    for country, n in (("AR", 3), ("MX", 2), ("ZZ", 1)):
        rate = _rate_at(country, "utility", today)
        eq(by[country]["recipients"], n, country + " recipients")
        if rate:
            eq(Decimal(by[country]["unit_price"]), Decimal(rate[1]), country + " unit price")
            eq(Decimal(by[country]["cost"]), n * Decimal(rate[1]), country + " cost")
            want_total += n * Decimal(rate[1])
        else:
            eq((by[country]["unit_price"], by[country]["cost"]), (None, None), country + " no rate")
            unrated += n
    eq((est["category"], est["recipients"], est["recipients_without_rate"]),
       ("utility", 6, unrated), "estimate counts")
    eq([(x["currency"], x["recipients"], Decimal(x["cost"])) for x in est["totals"]],
       [("USD", 6 - unrated, want_total)], "estimate total = recipients x rate")
    print(json.dumps(est))
