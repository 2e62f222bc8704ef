"""CSV exports against CSV injection (issue #17), from tests/data/csv-export/cells.txt: every
export endpoint (every GET route ending in .csv, from pregon-fcgi --routes) writes every
cell through the one escaping function; a cell starting with =, +, -, @, TAB or CR comes out
with a leading ', everything else verbatim."""

import csv
import io
import json
import os
import subprocess

from harness import ROOT, check, eq

RISKY = ("=", "+", "-", "@", "\t", "\r")


def cells():
    path = os.path.join(ROOT, "tests", "data", "csv-export", "cells.txt")
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            cell = line.split("\t", 1)[0]
            out.append(cell.replace("\\t", "\t").replace("\\r", "\r").replace("\\n", "\n")
                       .replace("\\\\", "\\"))
    return [c for c in out if c]


def export_routes(s):
    r = subprocess.run([os.path.join(s.build, "bin", "pregon-fcgi"), "--routes"],
                       capture_output=True, text=True, check=True)
    return sorted(x["pattern"] for x in json.loads(r.stdout)
                  if x["method"] == "GET" and x["pattern"].endswith(".csv"))


def parse(body):
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"), newline="")))


def test_every_export_neutralises_formula_cells(s):
    values = cells()
    check(any(v.startswith("-") for v in values), "a '-' case (issue #17)")
    c = s.create_campaign(name="Exportes hostiles")
    cid = c["id"]
    for i, v in enumerate(values):
        phone = "+54938755990%02d" % i
        s.query("INSERT INTO recipients (campaign_id, phone, vars, status, attempts, "
                "last_error_code, last_error_text, failed_at) VALUES (%s, %s, %s, 'failed', 1, "
                "131026, %s, NOW(3))",
                (cid, phone, json.dumps({"name": v, "lead_id": v}), v), admin=True)
        rid = s.query("SELECT id FROM recipients WHERE campaign_id = %s AND phone = %s",
                      (cid, phone))[0]["id"]
        s.query("INSERT INTO send_log (campaign_id, recipient_id, phone, template_name, "
                "template_language, attempt, outcome, http_status, error_code, error_text) "
                "VALUES (%s, %s, %s, %s, 'es_AR', 1, 'failed', 400, 131026, %s)",
                (cid, rid, phone, v, v), admin=True)
        # the value as the pricing category Meta sent for the message (costs.csv)
        s.query("INSERT INTO message_pricing (recipient_id, campaign_id, wamid, country, "
                "pricing_model, category, billable, status, status_at, status_rank) VALUES "
                "(%s, %s, %s, 'AR', 'PMP', %s, 1, 'delivered', NOW(3), 2)",
                (rid, cid, "wamid.EXPP%d-%d" % (cid, i), v), admin=True)
        # an A/B holdout recipient named by the value (holdout.csv)
        s.query("INSERT INTO recipients (campaign_id, phone, vars, status, variant) VALUES "
                "(%s, %s, %s, 'holdout', 0)",
                (cid, "+54938755991%02d" % i, json.dumps({"name": v, "lead_id": v})), admin=True)
        # a reply carrying the value as its text and button payload (replies.csv)
        s.query("INSERT INTO inbound_messages (wamid, phone, type, body, payload, campaign_id, "
                "sent_at) VALUES (%s, %s, 'button', %s, %s, %s, NOW(3))",
                ("wamid.EXP%d-%d" % (cid, i), phone, v, v, cid), admin=True)
    routes = export_routes(s)
    eq(routes, ["/api/campaigns/{id}/costs.csv", "/api/campaigns/{id}/failed.csv",
                "/api/campaigns/{id}/holdout.csv", "/api/campaigns/{id}/log.csv",
                "/api/replies.csv"],
       "the exports this test knows (add a new one here)")
    for route in routes:
        r = s.get(route.replace("{id}", str(cid)) + ("?campaign_id=%d" % cid
                                                      if "{id}" not in route else ""))
        eq(r.status, 200, route)
        rows = parse(r.body)
        eq(len(rows), 1 + len(values), "%s: header and one line per value" % route)
        seen = set()
        for row in rows[1:]:
            for cell in row:
                check(not cell.startswith(RISKY), "%s: cell %r would run" % (route, cell))
                if cell.startswith("'") and cell[1:] in values:
                    seen.add(cell[1:])
                elif cell in values:
                    check(not cell.startswith(RISKY), cell)
                    seen.add(cell)
        for v in values:
            check(v in seen, "%s: %r exported (as %r)" % (route, v, "'" + v if v.startswith(
                RISKY) else v))
            want = "'" + v if v.startswith(RISKY) else v
            check(any(want in row for row in rows[1:]), "%s: %r as %r" % (route, v, want))
