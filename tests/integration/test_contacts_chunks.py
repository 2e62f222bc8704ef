"""Large contacts imports commit in chunks (lib/contacts_chunks.c, sql/174, issue #23): the test
stack commits every 2,500 rows (PREGON_IMPORT_CHUNK_ROWS, harness.py). The rows are staged a
chunk per transaction, then merged into contacts a chunk per transaction. The report and the
contacts are those of the same file in one transaction; a file that fails after chunks were
staged leaves contacts and tags as they were and staging empty; a merge whose process died is
finished by the next import; while an import is live another one is refused (import_running)."""

import json
import os
import re
import subprocess

from harness import check, eq
from test_import_stream import _fcgi_log

CHUNK = 2500
CSV = {"Content-Type": "text/csv"}


def _phone(base, i):
    return "+549381%07d" % (base + i)


def _file(base, n, tail=""):
    """n rows with tags, attributes, invalid numbers, duplicates and blank consents."""
    out = ["phone,name,consent,tags,ciudad,plan"]
    for i in range(n):
        phone = _phone(base, i)
        if i % 500 == 7:
            phone = "12"  # phone_too_short
        elif i % 700 == 9:
            phone = _phone(base, i - 1)  # duplicate
        consent = "" if i % 100 == 3 else "si"
        tags = "" if i % 10 == 4 else "t%d|comun" % (i % 5)
        out.append("%s,Persona %d,%s,%s,C%d,%s" % (phone, i, consent, tags, i % 13,
                                                   "anual" if i % 2 else ""))
    return ("\n".join(out) + "\n" + tail).encode()


def _existing(s, base, n):
    """Contacts there before the import: every 97th, with attributes and a tag; every other
    one of them without consent on record. Opt-outs: every 311th from 5."""
    for i in range(0, n, 97):
        s.query("INSERT INTO contacts (phone, name, attributes, consent_at, consent_source) "
                "VALUES (%s, %s, %s, IF(%s, NOW(3), NULL), IF(%s, 'antes', NULL))",
                (_phone(base, i), "Antes %d" % i, json.dumps({"previo": "si", "ciudad": "Vieja"}),
                 i % 2, i % 2))
        s.query("INSERT INTO contact_tags (contact_id, tag) SELECT id, 'viejo' FROM contacts "
                "WHERE phone = %s", (_phone(base, i),))
    for i in range(5, n, 311):
        eq(s.post("/api/opt-outs", {"phone": _phone(base, i)}).status, 201, "opt-out %d" % i)


def _contacts(s, base, n):
    """The contacts of the range, by offset: what the import decides (not ids or times)."""
    rows = s.query("SELECT c.phone, c.name, c.lead_id, c.attributes, c.consent_at IS NOT NULL AS "
                   "consent, c.consent_source, GROUP_CONCAT(t.tag ORDER BY t.tag) AS tags "
                   "FROM contacts c LEFT JOIN contact_tags t ON t.contact_id = c.id "
                   "WHERE c.phone BETWEEN %s AND %s GROUP BY c.id ORDER BY c.phone",
                   (_phone(base, 0), _phone(base, n - 1)))
    out = {}
    for r in rows:
        off = int(r.pop("phone")[-7:]) - base
        check(off not in out, "one contact per number")
        r["attributes"] = json.loads(r["attributes"])
        out[off] = r
    return out


def _staging(s):
    return tuple(s.query("SELECT COUNT(*) AS n FROM " + t)[0]["n"]
                 for t in ("contacts_imports", "contacts_import_rows", "contacts_import_tags"))


def _report(rep):
    rep = dict(rep)
    rep["rejected"] = [(x["line"], x["reason"]) for x in rep["rejected"]]
    return rep


def _ctl_import(s, data, *extra, chunk_rows="0"):
    path = os.path.join(s.var, "contacts-chunks.csv")
    with open(path, "wb") as f:
        f.write(data)
    return subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                           os.path.join(s.var, "pregon.conf"), "contacts-import", "--json",
                           path] + list(extra), capture_output=True, text=True,
                          env=dict(s.env, PREGON_LANG="en", PREGON_IMPORT_CHUNK_ROWS=chunk_rows))


def _chunked_contacts_import_matches_one_transaction(s):
    base, n = 4000000, 3 * CHUNK + 300
    data = _file(base, n)
    _existing(s, base, n)
    logged = _fcgi_log(s).count("contacts import ")
    r = s.post("/api/contacts/import?tags=lote&consent_source=planilla", data, headers=CSV)
    eq(r.status, 200, "chunked import: %r" % r)
    got = _report(r.json())
    log = _fcgi_log(s)
    m = re.findall(r"contacts import \d+: staged in (\d+) chunks of about 2500 rows, merged", log)
    check(len(m) >= 1 and int(m[-1]) >= 3, "committed in chunks: %r" % m)
    eq(log.count("contacts import ") - logged, 2, "staged, merged, staging deleted; no error")
    eq(_staging(s), (0, 0, 0), "staging emptied once merged")
    chunked = _contacts(s, base, n)
    # The counts hold together and name what the file holds.
    eq(got["rows"], n, "every data row counted")
    eq(got["stored"] + got["rejected_total"], n, "each row stored or rejected")
    by = got["rejected_by_reason"]
    eq(by["phone_too_short"], len(range(7, n, 500)), "invalid numbers")
    eq(by["duplicate"], len([i for i in range(9, n, 700) if i % 500 != 7 and
                             (i - 1) % 500 != 7]), "duplicates")
    check(by["opted_out"] > 20 and by["no_consent"] > 60, "opt-outs and no consent: %r" % by)
    pre = set(range(0, n, 97))
    stored_pre = [i for i in pre if chunked[i]["name"] != "Antes %d" % i]
    eq(got["added"], got["stored"] - len(stored_pre), "added: the stored that were not there")
    eq(len(chunked), len(pre) + got["added"], "every stored row is a contact")
    # An existing contact: attributes merged, tags added to its own, consent kept.
    c = chunked[97]
    eq((c["name"], c["attributes"], c["consent"], c["consent_source"], c["tags"]),
       ("Persona 97", {"previo": "si", "ciudad": "C6", "plan": "anual"}, 1, "antes",
        "comun,lote,t2,viejo"), "existing contact merged")
    eq(chunked[2 * CHUNK + 1]["tags"], "comun,lote,t1", "a late chunk's tags")
    eq(s.query("SELECT COUNT(*) AS n FROM contact_tags t JOIN contacts c ON c.id = t.contact_id "
               "WHERE t.tag = 'lote' AND c.phone BETWEEN %s AND %s",
               (_phone(base, 0), _phone(base, n - 1)))[0]["n"], got["stored"],
       "the import's tag on every stored row")
    # The same file, the same contacts before, in one transaction (pregonctl, chunks off).
    s.query("DELETE FROM contacts WHERE phone BETWEEN %s AND %s",
            (_phone(base, 0), _phone(base, n - 1)))
    for i in range(0, n, 97):
        s.query("INSERT INTO contacts (phone, name, attributes, consent_at, consent_source) "
                "VALUES (%s, %s, %s, IF(%s, NOW(3), NULL), IF(%s, 'antes', NULL))",
                (_phone(base, i), "Antes %d" % i, json.dumps({"previo": "si", "ciudad": "Vieja"}),
                 i % 2, i % 2))
        s.query("INSERT INTO contact_tags (contact_id, tag) SELECT id, 'viejo' FROM contacts "
                "WHERE phone = %s", (_phone(base, i),))
    p = _ctl_import(s, data, "--tags", "lote", "--consent-source", "planilla")
    eq(p.returncode, 3, "one transaction: rows rejected: %s" % p.stderr)
    want = _report(json.loads(p.stdout))
    eq(got, want, "the chunked report is the one-transaction report")
    eq(_contacts(s, base, n), chunked, "the same contacts, attributes and tags")


def _failed_chunked_contacts_import_changes_nothing(s):
    base, n = 4100000, 3 * CHUNK + 400
    _existing(s, base, n)
    before = _contacts(s, base, n)
    tags_before = s.query("SELECT COUNT(*) AS n FROM contact_tags")[0]["n"]
    contacts_before = s.query("SELECT COUNT(*) AS n FROM contacts")[0]["n"]
    # Valid rows for two chunks and more, then a quote that never closes: the file fails.
    bad = _file(base, n, tail='+5493814199999,"sin cerrar,si,,x,\n')
    r = s.post("/api/contacts/import?tags=fallido&consent_source=planilla", bad, headers=CSV)
    eq((r.status, r.error_code()), (400, "invalid_csv"), "refused: %r" % r)
    m = re.findall(r"contacts import \d+: deleted (\d+) staged row\(s\) \(the import failed\)",
                   _fcgi_log(s))
    check(len(m) == 1 and int(m[0]) >= 2 * CHUNK, "two chunks were staged, then discarded: %r" % m)
    eq(_staging(s), (0, 0, 0), "staging empty")
    eq(_contacts(s, base, n), before, "contacts as before")
    eq(s.query("SELECT COUNT(*) AS n FROM contacts")[0]["n"], contacts_before, "no contact added")
    eq(s.query("SELECT COUNT(*) AS n FROM contact_tags")[0]["n"], tags_before, "no tag added")
    eq(s.query("SELECT COUNT(*) AS n FROM contact_tags WHERE tag = 'fallido'")[0]["n"], 0,
       "not the import's tag")


def _stage(s, token, base, n, source):
    """Rows staged the way lib/contacts_chunks.c stages them."""
    for lo in range(0, n, 1000):
        rows, tags = [], []
        for i in range(lo, min(n, lo + 1000)):
            rows += [token, i + 1, _phone(base, i), "Persona %d" % i,
                     json.dumps({"ciudad": "C%d" % (i % 13)}), source]
            tags += [token, i + 1, "t%d" % (i % 5)]
        k = len(rows) // 6
        s.query("INSERT INTO contacts_import_rows (token, seq, phone, name, attributes, consent, "
                "consent_source) VALUES " + ",".join(["(%s, %s, %s, %s, %s, 1, %s)"] * k), rows)
        s.query("INSERT INTO contacts_import_tags (token, seq, tag) VALUES " +
                ",".join(["(%s, %s, %s)"] * k), tags)
    s.query("INSERT INTO contacts_import_tags (token, seq, tag) VALUES (%s, 0, 'lote')", (token,))


def _merge_sql(s, token, lo, hi):
    """A chunk merged as lib/contacts_chunks.c merges it (the dead process's first chunks)."""
    s.query("INSERT INTO contacts (phone, name, lead_id, attributes, consent_at, consent_source) "
            "SELECT s.phone, s.name, s.lead_id, s.attributes, IF(s.consent, NOW(3), NULL), "
            "s.consent_source FROM contacts_import_rows s WHERE s.token = %s AND s.seq > %s AND "
            "s.seq <= %s ORDER BY s.seq ON DUPLICATE KEY UPDATE contacts.name = IF(VALUES(name) <> '', "
            "VALUES(name), contacts.name), contacts.lead_id = COALESCE(VALUES(lead_id), "
            "contacts.lead_id), contacts.attributes = JSON_MERGE_PATCH(contacts.attributes, "
            "VALUES(attributes)), contacts.consent_at = COALESCE(contacts.consent_at, "
            "VALUES(consent_at)), contacts.consent_source = COALESCE(contacts.consent_source, "
            "VALUES(consent_source))", (token, lo, hi))
    for cond in ("t.seq = s.seq", "t.seq = 0"):
        s.query("INSERT IGNORE INTO contact_tags (contact_id, tag) SELECT c.id, t.tag FROM "
                "contacts_import_rows s JOIN contacts_import_tags t ON t.token = s.token AND " +
                cond + " JOIN contacts c ON c.phone = s.phone WHERE s.token = %s AND s.seq > %s "
                "AND s.seq <= %s", (token, lo, hi))


def _interrupted_merge_is_finished_by_the_next_import(s):
    n = CHUNK + 500
    # The uninterrupted import of the rows, for comparison (other numbers).
    ref_base, base = 4200000, 4300000
    for b in (ref_base, base):
        s.query("INSERT INTO contacts (phone, name, attributes) VALUES (%s, 'Antes', %s)",
                (_phone(b, 10), json.dumps({"previo": "si", "ciudad": "Vieja"})))
    csv = "phone,name,consent,tags,ciudad\n" + "".join(
        "%s,Persona %d,si,t%d,C%d\n" % (_phone(ref_base, i), i, i % 5, i % 13) for i in range(n))
    r = s.post("/api/contacts/import?tags=lote&consent_source=planilla", csv, headers=CSV)
    eq((r.status, r.json()["stored"], r.json()["added"]), (200, n, n - 1), "reference import")
    want = _contacts(s, ref_base, n)
    # A dead process's import: staged whole, 1,000 of 3,000 rows merged, lease run out.
    token = 5151
    _stage(s, token, base, n, "planilla")
    _merge_sql(s, token, 0, 1000)
    s.query("INSERT INTO contacts_imports (slot, token, owner, state, lease_until, chunk_rows, "
            "staged_rows, merged_seq, added) VALUES (1, %s, %s, 'merging', NOW(3) - INTERVAL 1 "
            "SECOND, 1000, %s, 1000, 999)", (token, token, n))
    merged = _contacts(s, base, n)
    eq(len(merged), 1000, "a third merged: the first chunk (with the contact from before)")
    r = s.post("/api/contacts/import", "phone,consent\n%s,si\n" % _phone(4390000, 0),
               headers=CSV)
    eq((r.status, r.json()["stored"]), (200, 1), "the next import: %r" % r)
    log = _fcgi_log(s)
    check("contacts import %d: it stopped midway (its lease ran out); finishing its merge"
          % token in log, "the merge taken over")
    check("contacts import %d: merge finished, %d contact(s) added" % (token, n - 1) in log,
          "added counted across the dead process's chunks and the rest")
    eq(_staging(s), (0, 0, 0), "staging emptied")
    eq(_contacts(s, base, n), want, "the same contacts as the uninterrupted import")


def _live_import_refuses_another_and_a_stale_staging_one_is_discarded(s):
    base = 4400000
    token = 6161
    _stage(s, token, base, 40, "planilla")
    s.query("INSERT INTO contacts_imports (slot, token, owner, state, lease_until, chunk_rows, "
            "staged_rows) VALUES (1, %s, %s, 'staging', NOW(3) + INTERVAL 60 SECOND, 2500, 40)",
            (token, token))
    staged = _staging(s)
    contacts = s.query("SELECT COUNT(*) AS n FROM contacts")[0]["n"]
    csv = "phone,consent\n%s,si\n%s,si\n" % (_phone(4490000, 0), _phone(4490000, 1))
    r = s.post("/api/contacts/import", csv, headers=CSV)
    eq((r.status, r.error_code()), (409, "import_running"), "a second import: %r" % r)
    r = s.post("/api/contacts/bulk", [{"phone": _phone(4490000, 2), "consent": "si"}])
    eq((r.status, r.error_code()), (409, "import_running"), "bulk too: %r" % r)
    p = _ctl_import(s, csv.encode(), chunk_rows="2500")
    check(p.returncode != 0 and "import_running" in p.stderr, "pregonctl too: %r" % p.stderr)
    eq(s.query("SELECT COUNT(*) AS n FROM contacts")[0]["n"], contacts, "no contact changed")
    eq(_staging(s), staged, "the live import's rows kept")
    eq(_contacts(s, base, 40), {}, "nothing of it merged")
    # Its process died while staging: the lease runs out; the next import discards it.
    s.query("UPDATE contacts_imports SET lease_until = NOW(3) - INTERVAL 1 SECOND")
    r = s.post("/api/contacts/import", csv, headers=CSV)
    eq((r.status, r.json()["stored"]), (200, 2), "then it goes: %r" % r)
    check("contacts import %d: it stopped midway (its lease ran out); discarding its staged "
          "rows" % token in _fcgi_log(s), "discarded")
    eq(_staging(s), (0, 0, 0), "staging emptied")
    eq(_contacts(s, base, 40), {}, "a discarded import stores nothing")


def _forget(s):
    """This module's contacts (every number here is +5493814...) go when a test ends: later
    modules decide by how many contacts there are (test_import_stream's insert or stream)."""
    s.query("DELETE t FROM contact_tags t JOIN contacts c ON c.id = t.contact_id "
            "WHERE c.phone LIKE '+5493814%%'", admin=True)
    s.query("DELETE FROM contacts WHERE phone LIKE '+5493814%%'", admin=True)


def test_chunked_contacts_import_matches_one_transaction(s):
    try:
        _chunked_contacts_import_matches_one_transaction(s)
    finally:
        _forget(s)


def test_failed_chunked_contacts_import_changes_nothing(s):
    try:
        _failed_chunked_contacts_import_changes_nothing(s)
    finally:
        _forget(s)


def test_interrupted_merge_is_finished_by_the_next_import(s):
    try:
        _interrupted_merge_is_finished_by_the_next_import(s)
    finally:
        _forget(s)


def test_live_import_refuses_another_and_a_stale_staging_one_is_discarded(s):
    try:
        _live_import_refuses_another_and_a_stale_staging_one_is_discarded(s)
    finally:
        _forget(s)
