"""Contacts upserts for CRMs (issue 20): PUT /api/contacts/by-lead/{lead_id} and POST
/api/contacts/bulk follow the CSV import's rule (lib/contacts_import): the same report, the
same rejections, consent kept, names only replaced when given; an API key can call them."""

from harness import check, eq


def test_by_lead_creates_then_updates(s):
    r = s.request("PUT", "/api/contacts/by-lead/L-1001",
                  {"phone": "+5493875550101", "name": "Ana", "consent": True,
                   "tags": ["crm", "robotica"], "attributes": {"curso": "Robótica"}})
    eq(r.status, 201, "created: %r" % r)
    c = r.json()
    eq((c["lead_id"], c["phone"], c["name"]), ("L-1001", "+5493875550101", "Ana"), "fields")
    check(c["consent"] and c["consent"]["at"], "consent recorded")
    # again, new number, no name: the same contact, its number moved, name kept
    r = s.request("PUT", "/api/contacts/by-lead/L-1001",
                  {"phone": "3875550102", "attributes": {"sede": "Salta"}})
    eq(r.status, 200, "updated: %r" % r)
    u = r.json()
    eq((u["id"], u["phone"], u["name"]), (c["id"], "+5493875550102", "Ana"), "same contact")
    eq(u["attributes"], {"curso": "Robótica", "sede": "Salta"}, "attributes merged")
    check(u["consent"] and u["consent"]["at"], "consent on record kept")
    audit = s.get("/api/audit?action=contact.upsert").json()["entries"]
    eq(len([e for e in audit if e["target_id"] == c["id"]]), 2, "both audited")


def test_by_lead_refusals(s):
    r = s.request("PUT", "/api/contacts/by-lead/L-2002", {"phone": "+5493875550201"})
    eq(r.status, 422, "no consent: %r" % r)
    eq(r.error_code(), "no_consent", "the import's reason")
    s.post("/api/opt-outs", {"phone": "+5493875550202"})
    r = s.request("PUT", "/api/contacts/by-lead/L-2003",
                  {"phone": "+5493875550202", "consent": True})
    eq(r.error_code(), "opted_out", "opted out: %r" % r)
    r = s.request("PUT", "/api/contacts/by-lead/L-2004", {"phone": "12", "consent": True})
    eq(r.status, 422, "bad number: %r" % r)
    eq(s.request("PUT", "/api/contacts/by-lead/L-2005", {"consent": True}).status, 400, "phone")
    eq(s.request("PUT", "/api/contacts/by-lead/L-2005",
                 {"phone": "+5493875550203", "colour": 1}).status, 400, "unknown member")
    eq(s.request("PUT", "/api/contacts/by-lead/a%20b", {"phone": "+5493875550203"}).status, 404,
       "a lead id of unreserved characters only")
    # a number that is another contact's
    s.request("PUT", "/api/contacts/by-lead/L-2006", {"phone": "+5493875550206", "consent": "sí"})
    s.request("PUT", "/api/contacts/by-lead/L-2007", {"phone": "+5493875550207", "consent": "sí"})
    r = s.request("PUT", "/api/contacts/by-lead/L-2007", {"phone": "+5493875550206"})
    eq(r.status, 409, "phone taken: %r" % r)
    eq(s.query("SELECT COUNT(*) AS n FROM contacts WHERE lead_id = 'L-2002'")[0]["n"], 0,
       "nothing stored on refusal")


def test_bulk_same_report_as_csv(s):
    items = [
        {"phone": "+5493875550301", "name": "Uno", "lead_id": "B-1", "consent": "yes"},
        {"phone": "+5493875550301", "consent": "yes"},
        {"phone": "abc", "consent": "yes"},
        {"phone": "+5493875550302"},
        {"phone": "+5493875550303", "consent": "no acepta"},
        "not an object",
        {"phone": "+5493875550304", "consent": True, "tags": "a|b", "attributes": {"x": "1"}},
    ]
    r = s.post("/api/contacts/bulk", items)
    eq(r.status, 200, "bulk: %r" % r)
    rep = r.json()
    eq((rep["rows"], rep["stored"], rep["added"], rep["rejected_total"]), (7, 2, 2, 5), "counts")
    reasons = {x["line"]: x["reason"] for x in rep["rejected"]}
    eq(reasons[2], "duplicate", "line 2")
    eq(reasons[4], "no_consent", "line 4")
    eq(reasons[5], "no_consent", "line 5: a written refusal (any other text is a consent record)")
    eq(reasons[6], "invalid_item", "line 6")
    # the CSV import of the same rows answers with the same shape and reasons
    csv = ("phone,name,lead_id,consent\n+5493875550311,Uno,B-11,yes\n+5493875550311,,,yes\n"
           "+5493875550312,,,\n")
    c = s.post("/api/contacts/import", csv, headers={"Content-Type": "text/csv"}).json()
    eq(sorted(c.keys()), sorted(rep.keys()), "same report shape")
    eq([x["reason"] for x in c["rejected"]], ["duplicate", "no_consent"], "same reasons")
    # again: nothing new
    again = s.post("/api/contacts/bulk", items).json()
    eq(again["added"], 0, "idempotent")
    eq(s.post("/api/contacts/bulk", {"phone": "x"}).status, 400, "an array is required")


def test_api_key_upserts(s):
    k = s.post("/api/keys", {"name": "CRM", "role": "admin"}).json()["key"]
    r = s.request("PUT", "/api/contacts/by-lead/K-1", {"phone": "+5493875550401", "consent": 1},
                  headers={"Authorization": "Bearer " + k}, auth=None)
    eq(r.status, 400, "consent is true/false or text: %r" % r)
    r = s.request("PUT", "/api/contacts/by-lead/K-1", {"phone": "+5493875550401", "consent": "1"},
                  headers={"Authorization": "Bearer " + k}, auth=None)
    eq(r.status, 201, "a key upserts without CSRF: %r" % r)
    v = s.post("/api/keys", {"name": "CRM ro", "role": "viewer"}).json()["key"]
    r = s.request("POST", "/api/contacts/bulk", [], headers={"Authorization": "Bearer " + v},
                  auth=None)
    eq(r.status, 403, "a viewer key may not")
