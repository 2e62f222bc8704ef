"""Large audience imports commit in chunks (lib/recipients_chunks.c, issue #23): the test stack
commits every 2,500 rows (PREGON_IMPORT_CHUNK_ROWS, harness.py). Each way (LOAD DATA stream,
INSERT) keeps every row of a chunked import; a failure after chunks were committed leaves
nothing behind; while an import holds a draft every other action on it is refused, and one
that stopped midway (its process died: the lease ran out) is undone by the next action."""

import json
import re

from harness import check, eq
from test_import_stream import _LocalInfileOff, _campaign, _fcgi_log, _upload, _way

CHUNK = 2500


def _csv(first, n, tail=""):
    return ("phone,name,consent\n" + "".join(
        "+549381%07d,Persona %d,si\n" % (first + i, i) for i in range(n)) + tail).encode()


def _state(s, cid):
    c = s.query("SELECT total_count, import_token, import_floor_id, import_lease_until "
                "FROM campaigns WHERE id = %s", (cid,))[0]
    c["rows"] = s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s",
                        (cid,))[0]["n"]
    c["imports"] = s.query("SELECT COUNT(*) AS n FROM audience_imports WHERE campaign_id = %s",
                           (cid,))[0]["n"]
    return c


def _unmarked(s, cid, what):
    c = _state(s, cid)
    eq((c["import_token"], c["import_floor_id"], c["import_lease_until"]), (None, None, None),
       "%s: the campaign is not marked" % what)
    return c


def test_chunked_import_keeps_every_row_both_ways(s):
    n = 3 * CHUNK + 17
    for way, off in (("stream", False), ("insert", True)):
        cid = _campaign(s, "Por partes " + way)
        # A number already there: the chunks check duplicates against it and each other.
        eq(_upload(s, cid, _csv(1000000, 1)).status, 200, "first row")
        commits = _fcgi_log(s).count("campaign %d: import chunk" % cid)
        if off:
            with _LocalInfileOff(s):
                r = _upload(s, cid, _csv(1000000, n))
        else:
            r = _upload(s, cid, _csv(1000000, n))
        eq(r.status, 200, "%s: %r" % (way, r))
        eq(_way(s, cid), way, "stored the %s way" % way)
        rep = r.json()
        eq((rep["rows"], rep["accepted"], rep["rejected_by_reason"]), (n, n - 1, {"duplicate": 1}),
           "%s: report" % way)
        c = _unmarked(s, cid, way)
        eq((c["rows"], c["total_count"], c["imports"]), (n, n, 2), "%s: every row once" % way)
        eq(len({x["phone"] for x in s.query(
            "SELECT phone FROM recipients WHERE campaign_id = %s", (cid,))}), n,
           "%s: no number twice" % way)
        eq(_fcgi_log(s).count("campaign %d: import chunk" % cid), commits,
           "%s: no chunk error logged" % way)
        m = re.findall(r"campaign %d: import committed in (\d+) chunks of about %d rows"
                       % (cid, CHUNK), _fcgi_log(s))
        check(len(m) == 1 and int(m[0]) >= 2, "%s: committed in chunks: %r" % (way, m))


def test_a_failed_chunked_import_leaves_nothing(s):
    # Valid rows for more than two chunks, then a quote that never closes: refused whole
    # after chunks were committed; the rows before it, and those stored before, stay as they
    # were.
    bad = _csv(2000000, 2 * CHUNK + 400, tail='+5493812999999,"sin cerrar,si\n')
    for way, off in (("stream", False), ("insert", True)):
        cid = _campaign(s, "Falla por partes " + way)
        eq(_upload(s, cid, _csv(2900000, 10)).status, 200, "ten before")
        before = s.query("SELECT id, phone FROM recipients WHERE campaign_id = %s ORDER BY id",
                         (cid,))
        undone = _fcgi_log(s).count("campaign %d: import undone" % cid)
        if off:
            with _LocalInfileOff(s):
                r = _upload(s, cid, bad)
        else:
            r = _upload(s, cid, bad)
        eq((r.status, r.error_code()), (400, "invalid_csv"), "%s: refused: %r" % (way, r))
        c = _unmarked(s, cid, way)
        eq((c["rows"], c["total_count"], c["imports"]), (10, 10, 1), "%s: nothing kept" % way)
        eq(s.query("SELECT id, phone FROM recipients WHERE campaign_id = %s ORDER BY id", (cid,)),
           before, "%s: the earlier rows untouched" % way)
        eq(_fcgi_log(s).count("campaign %d: import undone" % cid), undone + 1,
           "%s: the committed chunks were undone" % way)


def _mark(s, cid, lease_s, extra):
    """The marker of an import in progress (another process's), and rows it committed."""
    floor = s.query("SELECT COALESCE(MAX(id), 0) AS m FROM recipients WHERE campaign_id = %s",
                    (cid,))[0]["m"]
    s.query("INSERT INTO recipients (campaign_id, phone, vars) VALUES " +
            ",".join(["(%s, %s, '{}')"] * extra),
            sum([[cid, "+5493819%06d" % i] for i in range(extra)], []))
    s.query("UPDATE campaigns SET import_token = 4242, import_floor_id = %s, "
            "import_lease_until = NOW(3) + INTERVAL %s SECOND WHERE id = %s",
            (floor, lease_s, cid))


def test_an_import_in_progress_holds_the_draft_and_a_stopped_one_is_undone(s):
    cid = _campaign(s, "Importando")
    eq(_upload(s, cid, _csv(3000000, 20)).status, 200, "twenty")
    before = s.query("SELECT id FROM recipients WHERE campaign_id = %s ORDER BY id", (cid,))
    _mark(s, cid, 60, 7)
    actions = (
        ("start", lambda: s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True})),
        ("edit", lambda: s.request("PATCH", "/api/campaigns/%d" % cid, {"name": "Otro"})),
        ("delete", lambda: s.request("DELETE", "/api/campaigns/%d" % cid)),
        ("clear", lambda: s.request("DELETE", "/api/campaigns/%d/recipients" % cid)),
        ("upload", lambda: _upload(s, cid, _csv(3100000, 3))),
        ("list", lambda: s.post("/api/campaigns/%d/recipients/list" % cid,
                                {"phones": ["+5493813200000"]})),
    )
    for what, act in actions:
        r = act()
        eq((r.status, r.error_code()), (409, "import_running"), "%s refused: %r" % (what, r))
        check("error" in r.json() and r.json()["error"].get("message"), "%s: a message" % what)
    c = _state(s, cid)
    eq((c["rows"], c["total_count"], c["import_token"]), (27, 20, 4242), "nothing changed")
    # The panel shows it in Spanish.
    r = s.request("PATCH", "/api/campaigns/%d" % cid, {"name": "Otro"},
                  headers={"Accept-Language": "es"})
    check("importando" in json.dumps(r.json(), ensure_ascii=False), "Spanish: %r" % r.json())
    # The importer died: its lease runs out, and the next action undoes what it committed.
    s.query("UPDATE campaigns SET import_lease_until = NOW(3) - INTERVAL 1 SECOND WHERE id = %s",
            (cid,))
    r = s.request("PATCH", "/api/campaigns/%d" % cid, {"name": "Otro"})
    eq(r.status, 200, "edit after the undo: %r" % r)
    c = _unmarked(s, cid, "undone by an edit")
    eq((c["rows"], c["total_count"]), (20, 20), "the stopped import's rows removed")
    eq(s.query("SELECT id FROM recipients WHERE campaign_id = %s ORDER BY id", (cid,)), before,
       "the campaign's own rows kept")
    check("campaign %d: an import stopped midway" % cid in _fcgi_log(s), "logged")
    # Each other way in undoes it too: an upload, a clear, a delete; a start.
    for what, act, extra in (("upload", lambda: _upload(s, cid, _csv(3200000, 3)), 3),
                             ("clear", lambda: s.request(
                                 "DELETE", "/api/campaigns/%d/recipients" % cid), None)):
        rows = _state(s, cid)["rows"]
        _mark(s, cid, -1, 5)
        r = act()
        eq(r.status, 200, "%s after a stopped import: %r" % (what, r))
        c = _unmarked(s, cid, what)
        eq(c["rows"], 0 if extra is None else rows + extra, "%s: its rows removed" % what)
    _mark(s, cid, -1, 5)
    eq(s.request("DELETE", "/api/campaigns/%d" % cid).status, 204, "delete after a stopped one")
    eq(s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s", (cid,))[0]["n"], 0,
       "deleted whole")
    cid = _campaign(s, "Importando 2")
    eq(_upload(s, cid, _csv(3300000, 4)).status, 200, "four")
    _mark(s, cid, -1, 5)
    r = s.post("/api/campaigns/%d/start" % cid, {"acknowledge_risk": True})
    check(r.error_code() != "import_running", "start after a stopped import: %r" % r)
    eq(_unmarked(s, cid, "start")["rows"], 4, "start: its rows removed")
