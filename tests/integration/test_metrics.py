"""What operators monitor: GET /metrics (Prometheus text) and the detailed GET /api/health."""

import re
import time

from harness import check, eq

# Label values may hold any character but an unescaped quote, so match quoted strings.
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                  r'(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? '
                  r'(-?[0-9.]+(?:e[+-]?[0-9]+)?|[+-]Inf|NaN)$')


def parse_metrics(text):
    series, types = {}, {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        check(m, "malformed metrics line: %r" % line)
        series[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return series, types


def test_health_is_detailed_for_monitoring(s):
    h = s.get("/api/health").json()
    eq(h["database"], "ok", "database")
    check(h["workers_alive"] >= 1, "the worker heartbeats: %r" % h)
    w = h["workers"][0]
    check(w["heartbeat_age_s"] < 30 and w["last_heartbeat"].endswith("Z"), "heartbeat: %r" % w)
    check(isinstance(h["webhook_backlog"], int), "webhook backlog")
    check("oldest_pending_age_s" in h, "oldest pending age present (null when nothing waits)")


def sent_metric(s):
    series, _ = parse_metrics(s.get("/metrics").body)
    return sum(v for (n, l), v in series.items()
               if n == "pregon_messages_total" and 'outcome="sent"' in l)


def test_metrics_are_prometheus_text(s):
    before = sent_metric(s)
    c = s.create_campaign(name="Métricas")
    # issue 3: consent is mandatory; start needs an APPROVED (synced) template and
    # acknowledge_risk.
    s.upload(c["id"], "phone,name,consent\n+5493875557001,Ana,si\n+5493875557002,Beto,si\n")
    s.post("/api/templates/sync", {})
    s.post("/api/campaigns/%d/start" % c["id"], {"acknowledge_risk": True})
    s.wait_for("completed", lambda: s.get("/api/campaigns/%d" % c["id"]).json()["status"]
               == "completed", timeout=60)
    time.sleep(2)  # an idle process flushes its counts after a second
    for _ in range(3):
        s.get("/api/health")
    r = s.get("/metrics")
    eq(r.status, 200, "metrics from 127.0.0.1")
    check(r.headers.get("Content-Type", "").startswith("text/plain"), "content type")
    series, types = parse_metrics(r.body)
    eq(series[("pregon_database_up", "")], 1.0, "database up")
    eq(types.get("pregon_http_requests_total"), "counter", "request counter typed")
    reqs = [v for (n, l), v in series.items() if n == "pregon_http_requests_total"
            and 'route="POST /api/campaigns/{id}/start"' in l and 'status="200"' in l]
    check(reqs and reqs[0] >= 1, "the start request was counted: %r" % [
        (l, v) for (n, l), v in series.items() if n == "pregon_http_requests_total"])
    check(any(n == "pregon_worker_heartbeat_age_seconds" for n, _ in series), "heartbeats")
    check(("pregon_webhook_backlog", "") in series, "webhook backlog gauge")
    eq(types.get("pregon_send_latency_seconds"), "histogram", "send latency histogram")
    eq(types.get("pregon_claim_batch_size"), "histogram", "claim batch sizes")
    lat = series[("pregon_send_latency_seconds_count", "")]
    inf = [v for (n, l), v in series.items()
           if n == "pregon_send_latency_seconds_bucket" and 'le="+Inf"' in l]
    check(not inf or inf[0] <= lat, "cumulative buckets end at the count")
    # The worker's counts follow its sends: this campaign's two are in them (the worker adds
    # its counts every 2 s).
    s.wait_for("the worker's counts", lambda: sent_metric(s) - before >= 2, timeout=20)
    ws = [v for (n, l), v in series.items() if n == "pregon_webhook_events_total"]
    check(sum(ws) > 0, "webhook events by type counted")


def webhook_events_metric(s, kind):
    series, _ = parse_metrics(s.get("/metrics").body)
    return sum(v for (n, l), v in series.items()
               if n == "pregon_webhook_events_total" and 'type="%s"' % kind in l)


def test_webhook_events_applied_off_the_request_are_counted(s):
    """Webhook events are applied by each FastCGI process's applier thread, not in the
    request: what it applies is in pregon_webhook_events_total by type."""
    acct = s.query("SELECT id FROM wa_accounts WHERE phone_number_id = '106540352242922'")[0]["id"]
    u = "%x" % int(time.time() * 1000)
    conn = s.db(admin=True)
    try:
        with conn.cursor() as c:
            c.execute("INSERT INTO campaigns (account_id, name, template_name, template_language, "
                      "status, total_count, sent_count) VALUES (%s, %s, 'tpl_metrics', 'es_AR', "
                      "'completed', 3, 3)", (acct, "Métricas webhooks " + u))
            cid = c.lastrowid
            c.executemany("INSERT INTO recipients (campaign_id, phone, status, wamid) VALUES "
                          "(%s, %s, 'sent', %s)",
                          [(cid, "+54938755580%02d" % i, "wamid.MET%s_%d" % (u, i))
                           for i in range(3)])
    finally:
        conn.close()
    before = {k: webhook_events_metric(s, k) for k in ("status", "status_duplicate")}
    payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
               "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111",
                             "phone_number_id": "106540352242922"},
                "statuses": [{"id": "wamid.MET%s_%d" % (u, i), "status": "delivered",
                              "timestamp": "1750030073", "recipient_id": "54938755580%02d" % i}
                             for i in range(3)]}}]}]}
    for _ in range(2):  # the second time: three duplicates
        eq(s.post_webhook(payload).status, 200, "webhook")
    eq(s.query("SELECT delivered_count FROM campaign_totals WHERE id = %s", (cid,))[0]
       ["delivered_count"], 3, "applied")
    # The applier adds its counts to the table within a couple of seconds.
    s.wait_for("the applier's counts in /metrics", lambda: (
        webhook_events_metric(s, "status") - before["status"] >= 3 and
        webhook_events_metric(s, "status_duplicate") - before["status_duplicate"] >= 3),
        timeout=20)
