"""Audience imports through LOAD DATA LOCAL INFILE (issue 3, bench/import): a CSV upload into a
campaign streams its rows into the server. Fields that LOAD DATA would read
as syntax (tabs, newlines, backslashes, "\\N") come back byte for byte; the INSERT way, taken
when the server refuses LOCAL INFILE (or a table is too large to preload), gives the same
report and the same rows."""

import glob
import json
import os

from harness import ROOT, check, eq

PARAMS = {"body": [{"column": "name"}, "Robótica", {"column": "day", "fallback": "lunes"}]}

# Every value a naive LOAD DATA stream would break, in quoted fields; line numbers in comments.
TRICKY = (
    'phone,name,consent,note\r\n'
    '+5493875570001,"Ana\tTab",si,"C:\\temp\\new"\r\n'              # 2 tab, backslashes
    '+5493875570002,"Beto ""el"" Gómez",si,"\\N"\r\n'               # 3 quotes, a literal \N
    '+5493875570003,"línea\nnueva\r\notra",si,"x\\"\r\n'            # 4 (two lines) LF, CRLF, \ at end
    '+5493875570004,"Caro 🎉 ñandú",si,"{""a"": ""\\u00e9""}"\r\n'  # 7 emoji, JSON-looking text
    '+5493875570005,"Dani\x00Nul",si,x\r\n'                        # 8 NUL: rejected
    '+5493875570006,Eli,no,x\r\n'                                  # 9 consent says no
    '+5493875570001,Ana,si,x\r\n'                                  # 10 duplicate in the file
    '+5493875570007,"\\\\\\\\",si,"\t\n\\t\\n"\r\n'                 # 11 backslashes only; both kinds
    '+5493875570008,"tab at end\t",si,\r\n'                        # 13 empty note: not a variable
)

EXPECT_VARS = {
    "+5493875570001": {"name": "Ana\tTab", "note": "C:\\temp\\new"},
    "+5493875570002": {"name": "Beto \"el\" Gómez", "note": "\\N"},
    "+5493875570003": {"name": "línea\nnueva\r\notra", "note": "x\\"},
    "+5493875570004": {"name": "Caro 🎉 ñandú", "note": "{\"a\": \"\\u00e9\"}"},
    "+5493875570007": {"name": "\\\\\\\\", "note": "\t\n\\t\\n"},
    "+5493875570008": {"name": "tab at end\t"},
}
EXPECT_LINES = {8: "invalid_utf8", 9: "no_consent", 10: "duplicate"}


def _campaign(s, name):
    s.post("/api/templates/sync", {"account_id": 1})
    r = s.post("/api/campaigns", {"name": name, "template_name": "recordatorio_clase",
                                  "template_language": "es_AR", "account_id": 1,
                                  "params": PARAMS})
    eq(r.status, 201, "create campaign: %r" % r)
    return r.json()["id"]


def _upload(s, cid, body):
    return s.post("/api/campaigns/%d/recipients" % cid, body,
                  headers={"Content-Type": "text/csv"})


def _rows(s, cid):
    return s.query("SELECT phone, contact_id, vars, status FROM recipients WHERE campaign_id = %s "
                   "ORDER BY phone", (cid,))


def _fcgi_log(s):
    text = ""
    for name in glob.glob(os.path.join(s.var, "log", "*fcgi*")):
        with open(name, errors="replace") as f:
            text += f.read()
    return text


def _way(s, cid):
    """How the fcgi stored campaign cid's last upload: 'stream' or 'insert'."""
    mark = "campaign %d: " % cid
    lines = [l for l in _fcgi_log(s).splitlines() if mark in l and "recipients added" in l]
    check(lines, "the fcgi logged campaign %d's import" % cid)
    return "stream" if "LOAD DATA stream" in lines[-1] else "insert"


def _report(r):
    eq(r.status, 200, "upload: %r" % r)
    j = r.json()
    for k in ("campaign_id", "import_id"):
        j.pop(k)
    return j


class _LocalInfileOff:
    """SET GLOBAL local_infile = 0 for the block (new statements see it at once)."""

    def __init__(self, s):
        self.s = s

    def __enter__(self):
        self.s.query("SET GLOBAL local_infile = 0", admin=True)

    def __exit__(self, *exc):
        self.s.query("SET GLOBAL local_infile = 1", admin=True)


def test_stream_keeps_every_byte_and_matches_the_insert_way(s):
    body = TRICKY.encode()
    a = _campaign(s, "Stream")
    ra = _report(_upload(s, a, body))
    eq(_way(s, a), "stream", "a campaign without recipients is streamed")
    eq(ra["accepted"], 6, "accepted: %r" % ra)
    eq({x["line"]: x["reason"] for x in ra["rejected"]}, EXPECT_LINES, "lines")
    rows = _rows(s, a)
    eq({x["phone"]: json.loads(x["vars"]) for x in rows}, EXPECT_VARS, "vars byte for byte")
    check(all(x["status"] == "pending" and x["contact_id"] is None for x in rows), "defaults")
    # the text itself is what json-c writes for the object (column order, plain, no \/)
    eq([x["vars"] for x in rows],
       [json.dumps(EXPECT_VARS[x["phone"]], ensure_ascii=False, separators=(",", ":"))
        for x in rows], "vars text")
    eq(s.get("/api/campaigns/%d" % a).json()["counters"]["total"], 6, "counters")
    # The same file through the INSERT way: same report, same rows.
    b = _campaign(s, "Insert")
    with _LocalInfileOff(s):
        rb = _report(_upload(s, b, body))
    eq(_way(s, b), "insert", "local_infile off takes the INSERT way")
    eq(rb, ra, "same report both ways")
    eq([(x["phone"], x["vars"]) for x in _rows(s, b)], [(x["phone"], x["vars"]) for x in rows],
       "same rows both ways")
    # Into campaigns that have recipients (their numbers preloaded): duplicates against them,
    # a new number stored, the same report both ways.
    more = body + b'+5493875570009,Fede,si,x\r\n'
    r1 = _report(_upload(s, a, more))
    eq(_way(s, a), "stream", "a small campaign with recipients is streamed")
    eq((r1["accepted"], r1["rejected_by_reason"].get("duplicate")), (1, 7), "duplicates: %r" % r1)
    eq(sorted({x["line"] for x in r1["rejected"] if x["reason"] == "duplicate"}),
       [2, 3, 4, 7, 10, 11, 13], "duplicates by line")
    with _LocalInfileOff(s):
        r2 = _report(_upload(s, b, more))
    eq(_way(s, b), "insert", "local_infile off")
    eq(r2, r1, "same report both ways")
    eq([x["phone"] for x in _rows(s, a)], [x["phone"] for x in _rows(s, b)], "same rows")
    eq(s.get("/api/campaigns/%d" % a).json()["counters"]["total"], 7, "counters")


def test_stream_links_contacts_and_their_consent(s):
    r = s.post("/api/contacts", {"phone": "+5493875571002", "name": "Contacto",
                                 "consent": {"source": "formulario"}})
    eq(r.status, 201, "contact: %r" % r)
    with_consent = r.json()["id"]
    r = s.post("/api/contacts", {"phone": "+5493875571003", "name": "Sin consentimiento"})
    eq(r.status, 201, "contact: %r" % r)
    without = r.json()["id"]
    body = ("phone,name,consent\n"
            "+5493875571001,Ana,si\n"      # no contact
            "+5493875571002,Beto,\n"       # consent from the contact
            "+5493875571003,Caro,\n"       # the contact has no consent either
            "+5493875571004,Dani,\n"       # no consent anywhere
            "+5493875571003,Caro,si\n").encode()  # duplicate of line 4 (rejected after it)
    reports = []
    for way in ("stream", "insert"):
        cid = _campaign(s, "Contactos " + way)
        if way == "insert":
            with _LocalInfileOff(s):
                rep = _report(_upload(s, cid, body))
        else:
            rep = _report(_upload(s, cid, body))
        eq(_way(s, cid), way, "way")
        eq(rep["accepted"], 2, "%s: accepted %r" % (way, rep))
        eq({x["line"]: x["reason"] for x in rep["rejected"]},
           {4: "no_consent", 5: "no_consent", 6: "duplicate"}, "%s: lines" % way)
        eq([(x["phone"], x["contact_id"]) for x in _rows(s, cid)],
           [("+5493875571001", None), ("+5493875571002", with_consent)], "%s: linked" % way)
        reports.append(rep)
    eq(reports[0], reports[1], "same report both ways")
    check(without, "contact made")


def test_csv_import_cases_with_local_infile_off(s):
    """The data-driven CSV cases (test_campaign_api) again, through the INSERT way."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "campaign_api_cases", os.path.join(ROOT, "tests", "integration", "test_campaign_api.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    before = _fcgi_log(s).count("LOAD DATA stream")
    with _LocalInfileOff(s):
        mod.test_csv_import_cases(s)
    eq(_fcgi_log(s).count("LOAD DATA stream"), before, "nothing streamed with local_infile off")


def test_csv_import_cases_are_streamed(s):
    before = _fcgi_log(s).count("LOAD DATA stream")
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "campaign_api_cases2", os.path.join(ROOT, "tests", "integration", "test_campaign_api.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.test_csv_import_cases(s)
    check(_fcgi_log(s).count("LOAD DATA stream") > before + 5, "the 200 cases were streamed")


def test_db_stream_serves_only_its_stream(s):
    """tests/unit/test_db_stream.c against the stack's server: rows byte for byte, a file the
    server asks for is never read, a producer can abort."""
    import pwd
    import subprocess
    binary = os.path.join(s.build, "tests", "test_db_stream")
    check(os.path.exists(binary), "built: %s" % binary)
    env = dict(s.env)
    env["PREGON_TEST_DB_SOCKET"] = os.path.join(s.var, "run", "mysqld.sock")
    env["PREGON_TEST_DB_USER"] = pwd.getpwuid(os.getuid()).pw_name
    r = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=60)
    out = r.stdout + r.stderr
    eq(r.returncode, 0, "test_db_stream:\n" + out)
    check("[  PASSED  ] 4 test(s)." in out and "SKIPPED" not in out, "ran every test:\n" + out)


def test_too_many_contacts_for_a_small_file_take_the_insert_way(s):
    """More contacts than a small upload justifies preloading: INSERT with lookups per batch,
    and the contacts still give consent and their id."""
    s.query("INSERT INTO contacts (phone, name, consent_at) SELECT CONCAT('+54938755', "
            "80000 + seq), 'Masivo', IF(seq % 2, NOW(), NULL) FROM seq_1_to_1500", admin=True)
    try:
        body = ("phone,name,consent\n"
                "+5493875580001,Ana,\n"     # contact with consent
                "+5493875580002,Beto,\n"    # contact without consent
                "+5493875580003,Caro,si\n").encode()
        reports = []
        for way in ("insert", "stream"):
            cid = _campaign(s, "Muchos contactos " + way)
            rep = _report(_upload(s, cid, body if way == "insert" else body + b" " * 30000))
            eq(_way(s, cid), way, "way")
            eq({x["line"]: x["reason"] for x in rep["rejected"]}, {3: "no_consent"}, "lines")
            rows = _rows(s, cid)
            eq([x["phone"] for x in rows], ["+5493875580001", "+5493875580003"], "stored")
            check(all(x["contact_id"] for x in rows), "linked: %r" % rows)
            rep.pop("rows")
            reports.append(rep)
        eq(reports[0], reports[1], "same report")
    finally:
        s.query("DELETE FROM contacts WHERE name = 'Masivo' AND phone LIKE '+549387558%%'",
                admin=True)


def test_repeated_column_names_keep_json_c_semantics(s):
    """A key given twice: its first position, the last non-empty value (json-c's object)."""
    cid = _campaign(s, "Columnas repetidas")
    body = ("phone,name,consent,day,name\n"
            "+5493875572001,Ana,si,lunes,Ana Bis\n"
            "+5493875572002,Beto,si,martes,\n").encode()
    rep = _report(_upload(s, cid, body))
    eq(rep["accepted"], 2, "accepted: %r" % rep)
    eq([x["vars"] for x in _rows(s, cid)],
       ['{"name":"Ana Bis","day":"lunes"}', '{"name":"Beto","day":"martes"}'], "vars text")


def _contacts_csv(first, target):
    """A contacts CSV of about target bytes, phones from first on; every 50th row says no to
    consent and every 70th repeats the row before, so the report has rejections to compare."""
    rows, size, i = ["phone,name,consent,ciudad"], 0, 0
    while size < target:
        phone = "+549387%07d" % (first + i)
        if i % 70 == 69:
            line = rows[-1]
        else:
            line = "%s,Persona %d,%s,Salta" % (phone, i, "no" if i % 50 == 49 else "si")
        rows.append(line)
        size += len(line) + 1
        i += 1
    return ("\n".join(rows) + "\n").encode()


def _contacts_chunked(s, data, finish, piece=64 * 1024):
    r = s.post("/api/contacts/uploads", {})
    eq(r.status, 201, "contacts upload session: %r" % r)
    tok = r.json()["upload"]
    octets = {"Content-Type": "application/octet-stream"}
    for off in range(0, len(data), piece):
        r = s.post("/api/contacts/uploads/chunk?upload=%s&offset=%d" % (tok, off),
                   data[off:off + piece], headers=octets)
        eq((r.status, r.json()["received"]), (200, min(off + piece, len(data))), "piece %d" % off)
    return tok, s.post("/api/contacts/uploads/finish?upload=%s%s" % (tok, finish))


def test_contacts_import_in_chunks_matches_the_one_shot_import(s):
    # The same rows (other phones) one-shot and in pieces: the same report.
    one = _contacts_csv(1000000, 300 * 1024)
    chunked = _contacts_csv(3000000, 300 * 1024)
    eq(len(one), len(chunked), "the same file but for the phones")
    r = s.post("/api/contacts/import?tags=lote_a&consent_source=planilla", one,
               headers={"Content-Type": "text/csv"})
    eq(r.status, 200, "one-shot import: %r" % r)
    want = r.json()
    check(want["added"] > 3000 and want["rejected_total"] > 100, "a real report: %r"
          % {k: v for k, v in want.items() if k != "rejected"})
    tok, r = _contacts_chunked(s, chunked, "&tags=lote_b&consent_source=planilla")
    eq(r.status, 200, "chunked import: %r" % r)
    got = r.json()
    # The messages may name the phone, the one thing the two files do not share.
    lines = lambda rep: [(x["line"], x["reason"]) for x in rep.pop("rejected")]
    eq(lines(got), lines(want), "the same rejections")
    eq(got, want, "the chunked import's report is the one-shot's")
    # The finish's parameters were those of the import: tags and consent source.
    k = s.get("/api/contacts?q=%2B5493873000000").json()["contacts"][0]
    eq(k["tags"], ["lote_b"], "tags from the finish")
    n = s.query("SELECT COUNT(*) AS n FROM contacts WHERE phone LIKE %s "
                "AND consent_source = 'planilla'", ("+549387300%",))
    eq(n[0]["n"], want["stored"], "consent source from the finish")
    # A finished session is gone; its token is no campaign's either.
    eq(s.post("/api/contacts/uploads/finish?upload=%s" % tok).status, 404, "finished once")
    eq(s.post("/api/contacts/uploads/chunk?upload=%s&offset=0" % tok, b"x",
              headers={"Content-Type": "application/octet-stream"}).status, 404, "no more pieces")


def test_contacts_upload_session_gaps_repeats_and_roles(s):
    octets = {"Content-Type": "application/octet-stream"}
    eq(s.post("/api/contacts/uploads", {}, auth="viewer").status, 403, "a viewer may not import")
    tok = s.post("/api/contacts/uploads", {}).json()["upload"]
    url = "/api/contacts/uploads/chunk?upload=%s&offset=%%d" % tok
    piece = b"phone,consent\n+5493875571001,si\n"
    eq(s.post(url % 0, piece, headers=octets).json()["received"], len(piece), "one piece")
    eq(s.post(url % 0, piece, headers=octets).json()["received"], len(piece), "sent again")
    r = s.post(url % (len(piece) + 5), b"+5493875571002,si\n", headers=octets)
    eq((r.status, r.json()["error"]["code"]), (409, "offset_mismatch"), "a gap")
    r = s.post(url % 3, b"x", headers=octets)
    eq(r.status, 409, "an overlap that is not the last piece again")
    r = s.post("/api/contacts/uploads/chunk?upload=nope&offset=0", b"x", headers=octets)
    eq((r.status, r.json()["error"]["field"]), (400, "upload"), "not a token we issue")
    # A contacts session is not found under a campaign, nor a campaign's under the contacts.
    cid = _campaign(s, "Sesiones separadas")
    eq(s.post("/api/campaigns/%d/uploads/finish?upload=%s" % (cid, tok)).status, 404,
       "a contacts session is no campaign's")
    ctok = s.post("/api/campaigns/%d/uploads" % cid, {}).json()["upload"]
    eq(s.post("/api/contacts/uploads/finish?upload=%s" % ctok).status, 404,
       "a campaign's session is not the contacts'")
    r = s.post("/api/contacts/uploads/finish?upload=%s" % tok)
    eq((r.status, r.json()["stored"]), (200, 1), "the one row imported")
    eq(s.post("/api/contacts/uploads/finish?upload=%s" % tok).status, 404, "finished once")
    # The one-shot import's checks answer through the session too (any answer but a 5xx ends
    # the session, as for a campaign's).
    tok = s.post("/api/contacts/uploads", {}).json()["upload"]
    r = s.post("/api/contacts/uploads/finish?upload=%s&consent_source=%s" % (tok, "x" * 121))
    eq((r.status, r.json()["error"]["field"]), (400, "consent_source"), "the import's checks")
