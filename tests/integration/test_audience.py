"""Audience imports (issue 3): rows the CSV reader must drop (a field over 64 KiB, too many
columns) are rejected with their line while the rest is imported; an import is one
transaction; the same file twice adds nothing; and the recipients' indexes (sql/050) still give
every reader of recipients an index, never a scan."""

import json
import os
import subprocess
import urllib.parse

from harness import check, eq

PARAMS = {"body": [{"column": "name"}, "Robótica", {"column": "day", "fallback": "lunes"}]}


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


def _stored(s, cid):
    return [r["phone"] for r in s.query(
        "SELECT phone FROM recipients WHERE campaign_id = %s ORDER BY phone", (cid,))]


def test_field_over_64k_rejects_its_row_only(s):
    cid = _campaign(s, "Campo enorme")
    big = "x" * 70000
    body = ("phone,name,consent\r\n"
            "+5493875590001,Ana,si\r\n"
            "+5493875590002,%s,si\r\n"            # line 3: unquoted, one line
            "+5493875590003,\"%s\n%s\",si\r\n"    # line 4: quoted, spans two lines
            "+5493875590004,Eva,si\r\n" % (big, big, big))
    r = _upload(s, cid, body.encode())
    eq(r.status, 200, "upload: %r" % r)
    j = r.json()
    eq(j["accepted"], 2, "accepted: %r" % j)
    eq(j["rows"], 4, "rows read")
    eq(j["rejected_by_reason"], {"field_too_long": 2}, "reasons")
    eq({x["line"]: x["reason"] for x in j["rejected"]}, {3: "field_too_long", 4: "field_too_long"},
       "lines")
    check("65536" in j["rejected"][0]["detail"], "the detail names the limit: %r" % j)
    eq(j["rejected"][0]["message"], "A field of the row is too long and was dropped.",
       "the operator's words")
    eq(_stored(s, cid), ["+5493875590001", "+5493875590004"], "the good rows are stored")
    # Lines after the two-line row (4-5) are counted right: Eva is on 6, a bad row on 7.
    cid2 = _campaign(s, "Campo enorme 2")
    r = _upload(s, cid2, (body + "12,Leo,si\r\n").encode())
    eq(r.status, 200, "upload: %r" % r)
    lines = {x["line"]: x["reason"] for x in r.json()["rejected"]}
    eq(lines.get(7), "phone_too_short", "line numbers after a multi-line field: %r" % lines)


def test_unusable_header_or_endless_field_stops_with_the_line(s):
    cid = _campaign(s, "Cabecera enorme")
    r = _upload(s, cid, ("phone,\"%s\",consent\n+5493875590101,x,si\n" % ("h" * 70000)).encode())
    eq(r.status, 400, "header: %r" % r)
    e = r.json()["error"]
    eq(e["code"], "invalid_csv", "code")
    check(e["message"].startswith("line 1:"), "names the line: %r" % e)
    # A quote that never closes takes the rest of the file: nothing can be imported after it.
    r = _upload(s, cid, ("phone,name,consent\n+5493875590102,Ana,si\n+5493875590103,\"%s\n"
                         "+5493875590104,Eva,si\n" % ("y" * 80000)).encode())
    eq(r.status, 400, "unterminated: %r" % r)
    e = r.json()["error"]
    eq(e["code"], "invalid_csv", "code")
    check(e["message"].startswith("line 3:"), "names the line the field starts on: %r" % e)
    eq(_stored(s, cid), [], "nothing half-written")
    eq(s.get("/api/campaigns/%d" % cid).json()["counters"]["total"], 0, "counters untouched")


def test_same_file_twice_adds_nothing_and_a_failed_upload_leaves_nothing(s):
    cid = _campaign(s, "Dos veces")
    rows = "".join("+54938755%05d,N%d,si\n" % (91000 + i, i) for i in range(2500))
    body = ("phone,name,consent\n" + rows).encode()
    r = _upload(s, cid, body)
    eq(r.status, 200, "first: %r" % r)
    eq(r.json()["accepted"], 2500, "first accepted")
    r = _upload(s, cid, body)
    eq(r.status, 200, "second: %r" % r)
    j = r.json()
    eq(j["accepted"], 0, "second adds nothing")
    eq(j["rejected_by_reason"], {"duplicate": 2500}, "every row a duplicate")
    eq(s.get("/api/campaigns/%d" % cid).json()["counters"]["total"], 2500, "total")
    # An upload that fails after some batches were written (malformed quoting near the end)
    # leaves nothing behind: one transaction.
    cid2 = _campaign(s, "Falla al final")
    bad = ("phone,name,consent\n" + rows + "+5493875599999,a\"b,si\n").encode()
    r = _upload(s, cid2, bad)
    eq(r.status, 400, "malformed: %r" % r)
    eq(_stored(s, cid2), [], "nothing half-written")
    eq(s.get("/api/campaigns/%d" % cid2).json()["counters"]["total"], 0, "counters")


def plan_of(s, name, args):
    """The plan of a statement the code runs, by its name (pregonctl sql-explain, ctl/ctl-sqlexplain.c, lib/sqlstmt.c):
    the only row, as EXPLAIN gives it."""
    r = subprocess.run([os.path.join(s.build, "bin", "pregonctl"), "-c",
                        os.path.join(s.var, "pregon.conf"), "sql-explain", name, json.dumps(args)],
                       capture_output=True, text=True, env=s.env)
    eq(r.returncode, 0, "sql-explain %s: %s" % (name, r.stderr))
    rows = json.loads(r.stdout)
    eq(len(rows), 1, "one table: %r" % rows)
    return rows[0]


def test_recipient_readers_use_an_index(s):
    """Every query on recipients keeps an index after sql/050 and sql/091 merged five into one."""
    cid = _campaign(s, "Indices")
    rows = "".join("+54938755%05d,N%d,si\n" % (92000 + i, i) for i in range(300))
    eq(_upload(s, cid, ("phone,name,consent\n" + rows).encode()).status, 200, "upload")
    keys = {r["Key_name"] for r in s.query("SHOW INDEX FROM recipients", admin=True)}
    for gone in ("ix_recipients_lease", "ix_recipients_claimed", "ix_recipients_status_phone",
                 "ix_recipients_claim", "ix_recipients_status"):
        check(gone not in keys, "%s is merged into ix_recipients_queue" % gone)
    s.query("ANALYZE TABLE recipients", admin=True)

    def plan(sql, args=()):
        rows = s.query("EXPLAIN " + sql, args)
        eq(len(rows), 1, "one table: %r" % rows)
        return rows[0]

    # Orphan release: the 'sending' rows of one campaign (recovery and lease renewal: see
    # test_worker.test_claim_query_uses_the_index).
    r = plan("SELECT id FROM recipients WHERE campaign_id = %s AND status = 'sending' AND "
             "claimed_by = 1 AND claim_token = 2 AND armed_at IS NULL", (cid,))
    eq(r["key"], "ix_recipients_queue", "orphans: %r" % r)
    # The recipients list with a status filter, in (next_attempt_at, phone) order: phone order
    # within a status, since only pending rows keep a next attempt time. The statement the API
    # runs (lib/recipients_read.c), explained by pregonctl sql-explain.
    for st in ("failed", "pending"):
        for like in (None, "+549387%"):
            r = plan_of(s, "recipients_page_by_status",
                        [cid, st, like, like, "2000-01-01 00:00:00.000",
                         "2000-01-01 00:00:00.000", "", 100])
            check(r["key"] == "ix_recipients_queue" and "filesort" not in (r["Extra"] or ""),
                  "status list: %r" % r)
    r = plan("SELECT last_error_code, status, COUNT(*) FROM recipients WHERE campaign_id = %s "
             "AND status IN ('failed', 'blocked') GROUP BY last_error_code, status", (cid,))
    check(r["type"] in ("range", "ref") and r["key"], "failures by code: %r" % r)
    # The unfiltered list, duplicates and webhook lookups.
    r = plan_of(s, "recipients_page", [cid, None, None, "", 100])
    check(r["key"] in ("uq_recipients_phone", "ix_recipients_queue") and
          "filesort" not in (r["Extra"] or ""), "list: %r" % r)
    r = plan("SELECT id FROM recipients WHERE wamid = 'wamid.x'")
    check(r["type"] != "ALL", "wamid lookup: %r" % r)
    # The API answers the status-filtered list through it.
    j = s.get("/api/campaigns/%d/recipients?status=pending&limit=5" % cid).json()
    eq([x["phone"] for x in j["recipients"]],
       ["+54938755%05d" % (92000 + i) for i in range(5)], "status list in phone order")
    # Recipients waiting for a retry: after the fresh ones, by when they are due; paging with
    # next_after as given lists every pending recipient once, with or without a phone search.
    waiting = ["+54938755%05d" % (92000 + i) for i in (3, 7, 150)]
    for k, ph in enumerate(waiting):
        s.query("UPDATE recipients SET next_attempt_at = NOW(3) + INTERVAL %s MINUTE "
                "WHERE campaign_id = %s AND phone = %s", (10 - k, cid, ph), admin=True)
    for search in ("", "&phone=%2B54938755921"):
        seen, after = [], None
        for _ in range(100):
            url = "/api/campaigns/%d/recipients?status=pending&limit=7%s" % (cid, search)
            if after:
                url += "&after=" + urllib.parse.quote(after)
            r = s.get(url)
            eq(r.status, 200, "page %r" % r.body[:200])
            j = r.json()
            seen += [x["phone"] for x in j["recipients"]]
            after = j["next_after"]
            if not after:
                break
        want = [p for p in ("+54938755%05d" % (92000 + i) for i in range(300))
                if p.startswith("+54938755921" if search else "+") and p not in waiting]
        want += [p for p in reversed(waiting) if p.startswith("+54938755921" if search else "+")]
        eq(seen, want, "pending pages %r" % search)
    r = s.get("/api/campaigns/%d/recipients?after=%s" % (
        cid, urllib.parse.quote("2030-01-01 00:00:00.000|+549387")))
    eq(r.status, 400, "a retry cursor without a status")
