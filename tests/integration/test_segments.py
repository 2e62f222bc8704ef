"""Saved segments (issue 21): the definition's rules counted live, saved and edited, and
added to a campaign like any import; the same definition in place through
/recipients/contacts. Every contact here carries a tag of this module (seg_*), so the
counts hold whatever else the suite stored."""

from harness import check, eq

START = {"acknowledge_risk": True}


def contact(s, phone, tags, attrs, consent=True):
    body = {"phone": phone, "name": "N" + phone[-3:], "tags": tags, "attributes": attrs}
    if consent:
        body["consent"] = {"source": "formulario"}
    r = s.post("/api/contacts", body)
    eq(r.status, 201, "contact %s: %r" % (phone, r))
    return r.json()["id"]


def count(s, definition):
    r = s.post("/api/segments/count", {"definition": definition})
    eq(r.status, 200, "count %r: %r" % (definition, r))
    g = r.json()
    return g["contacts"], g["with_consent"]


def err(r, status, code, field):
    eq(r.status, status, "status of %r" % r)
    e = r.json()["error"]
    eq((e["code"], e.get("field")), (code, field), "error of %r" % r)


def people(s):
    p = {k: "+54938766100%02d" % i for i, k in enumerate("ABCDEF", 1)}
    contact(s, p["A"], ["seg_robotica", "seg_salta"], {"curso": "Robótica I", "turno": "mañana"})
    contact(s, p["B"], ["seg_robotica"], {"curso": "Python", "turno": ""})
    contact(s, p["C"], ["seg_robotica", "seg_ex"], {"curso": "robótica avanzada"})
    contact(s, p["D"], ["seg_robotica"], {}, consent=False)
    contact(s, p["E"], ["seg_robotica"], {"turno": "tarde"})
    contact(s, p["F"], ["seg_python"], {"turno": "tarde"})
    # E gave consent long ago
    s.query("UPDATE contacts SET consent_at = '2025-01-01 00:00:00' WHERE phone = %s", (p["E"],),
            admin=True)
    return p


def test_definitions_count_what_they_say(s):
    people(s)
    R = ["seg_robotica"]
    eq(count(s, {"include_tags": R}), (5, 4), "any of one tag, D without consent")
    eq(count(s, {"include_tags": ["seg_robotica", "seg_python"]}), (6, 5), "any of two")
    eq(count(s, {"include_tags": ["seg_robotica", "seg_salta"], "match": "all"}), (1, 1), "all")
    eq(count(s, {"include_tags": R, "exclude_tags": ["seg_ex"]}), (4, 3), "excluded tag")
    eq(count(s, {"include_tags": R, "attributes": [
        {"key": "curso", "op": "contains", "value": "ROBÓTICA"}]}), (2, 2), "contains, any case")
    eq(count(s, {"include_tags": R, "attributes": [
        {"key": "curso", "op": "equals", "value": "Python"}]}), (1, 1), "equals")
    eq(count(s, {"include_tags": R, "attributes": [{"key": "turno", "op": "empty"}]}), (3, 2),
       "empty: blank (B) or missing (C, D)")
    eq(count(s, {"include_tags": R, "attributes": [
        {"key": "turno", "op": "equals", "value": "tarde"},
        {"key": "curso", "op": "empty"}]}), (1, 1), "two conditions: E")
    eq(count(s, {"include_tags": R, "consent_since": "2026-01-01T00:00:00-03:00"}), (3, 3),
       "consent since: A, B, C (not E's old one, not D's missing one)")


def test_saved_segment_added_to_a_campaign(s):
    p = {k: "+54938766100%02d" % i for i, k in enumerate("ABCDEF", 1)}
    if not s.query("SELECT 1 FROM contacts WHERE phone = %s", (p["A"],)):
        people(s)
    s.post("/api/templates/sync", {"account_id": 1})
    r = s.post("/api/campaigns", {"name": "Seg primera", "template_name": "recordatorio_clase",
                                  "template_language": "es_AR", "account_id": 1,
                                  "params": {"body": [{"column": "name"}, "Robótica", "lunes"]}})
    eq(r.status, 201, "campaign: %r" % r)
    first = r.json()["id"]
    eq(s.post("/api/campaigns/%d/recipients/list" % first, {"phones": [p["A"]]}).json()[
        "accepted"], 1, "A in the first campaign")
    definition = {"include_tags": ["seg_robotica"], "exclude_tags": ["seg_ex"],
                  "not_in_campaigns": [first]}
    r = s.post("/api/segments", {"name": "Robótica sin la primera", "definition": definition})
    eq(r.status, 201, "create: %r" % r)
    g = r.json()
    eq((g["name"], g["definition"], g["count"]),
       ("Robótica sin la primera", definition, {"contacts": 3, "with_consent": 2}),
       "saved with its live count (B, D, E)")
    sid = g["id"]
    check(any(x["id"] == sid for x in s.get("/api/segments").json()["segments"]), "listed")
    err(s.post("/api/segments", {"name": "Robótica sin la primera", "definition": {}}), 409,
        "duplicate", "name")
    r = s.post("/api/campaigns", {"name": "Seg segunda", "template_name": "recordatorio_clase",
                                  "template_language": "es_AR", "account_id": 1,
                                  "params": {"body": [{"column": "name"}, "Robótica", "lunes"]}})
    second = r.json()["id"]
    r = s.post("/api/campaigns/%d/recipients/segment" % second, {"segment_id": sid})
    eq(r.status, 200, "import: %r" % r)
    rep = r.json()
    eq((rep["accepted"], rep["rejected_by_reason"]), (2, {"no_consent": 1}), "B and E; D: %r" % rep)
    got = sorted(x["phone"] for x in s.query(
        "SELECT phone FROM recipients WHERE campaign_id = %s", (second,)))
    eq(got, [p["B"], p["E"]], "the segment's contacts with consent")
    imp = s.get("/api/campaigns/%d/imports" % second).json()["imports"][0]
    eq((imp["kind"], imp["definition"]["segment_id"], imp["definition"]["definition"]),
       ("segment", sid, definition), "recorded with the definition it used")
    # edited: the next import follows the new definition
    r = s.request("PATCH", "/api/segments/%d" % sid,
                  {"definition": {"include_tags": ["seg_python"]}})
    eq((r.status, r.json()["count"]), (200, {"contacts": 1, "with_consent": 1}), "edited")
    eq(s.post("/api/campaigns/%d/recipients/segment" % second, {"segment_id": sid}).json()[
        "accepted"], 1, "F added")
    # the same rules in place, without saving
    r = s.post("/api/campaigns/%d/recipients/contacts" % second, {
        "include_tags": ["seg_robotica"],
        "attributes": [{"key": "curso", "op": "contains", "value": "robótica"}]})
    eq((r.status, r.json()["rejected_by_reason"]), (200, {}), "A and C: %r" % r)
    eq(r.json()["accepted"], 2, "A and C")
    err(s.post("/api/campaigns/%d/recipients/segment" % second, {"segment_id": 999999}), 404,
        "not_found", "segment_id")
    err(s.post("/api/campaigns/%d/recipients/segment" % second, {"segment_id": "x"}), 400,
        "invalid_field", "segment_id")
    eq(s.request("DELETE", "/api/segments/%d" % sid).status, 204, "deleted")
    eq(s.get("/api/segments/%d" % sid).status, 404, "gone")
    actions = [x["action"] for x in s.query(
        "SELECT action FROM audit_log WHERE target_type = 'segment' AND target_id = %s "
        "ORDER BY id", (sid,))]
    eq(actions, ["segment.create", "segment.update", "segment.delete"], "audited")


def test_definitions_are_checked_field_by_field(s):
    for definition, field in (
            ({"include_tags": "x"}, "definition.include_tags"),
            ({"include_tags": [""]}, "definition.include_tags"),
            ({"match": "some"}, "definition.match"),
            ({"attributes": [{"key": "a\"b", "op": "equals", "value": "x"}]},
             "definition.attributes[0].key"),
            ({"attributes": [{"key": "curso", "op": "like", "value": "x"}]},
             "definition.attributes[0].op"),
            ({"attributes": [{"key": "curso", "op": "empty", "value": "x"}]},
             "definition.attributes[0].value"),
            ({"attributes": [{"key": "curso", "op": "contains", "value": ""}]},
             "definition.attributes[0].value"),
            ({"consent_since": "ayer"}, "definition.consent_since"),
            ({"not_in_campaigns": [0]}, "definition.not_in_campaigns[0]"),
            ({"opened": True}, "definition")):
        err(s.post("/api/segments/count", {"definition": definition}), 400, "invalid_field", field)
        err(s.post("/api/segments", {"name": "Mal", "definition": definition}), 400,
            "invalid_field", field)
    err(s.post("/api/segments", {"name": "", "definition": {}}), 400, "invalid_field", "name")
    err(s.post("/api/segments", {"name": "Sin definición"}), 400, "invalid_field", "definition")
    eq(s.query("SELECT COUNT(*) AS n FROM segments WHERE name IN ('Mal', '')")[0]["n"], 0,
       "nothing stored")
