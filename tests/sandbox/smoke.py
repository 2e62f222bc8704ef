#!/usr/bin/env python3
"""Behaviour of pregon-sandbox on its own, against its own receiver of signed webhooks:
python3 smoke.py BINARY [PORT]. Run by tests/integration/test_sandbox.py."""
import hashlib, hmac, http.client, json, os, signal, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

BIN = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 18190
RPORT = PORT + 1
TMP = tempfile.mkdtemp(prefix="pregon-sandbox-smoke-")
SECRET = "an app secret that is longer than sixty-four bytes, to exercise the HMAC key hashing path!!"
TOKEN = "TOK-smoke"
P1, P2 = "106540352242922", "106540352242923"
WABA = "102290129340398"
fails = []
received = []  # (sig_ok, body dict)
rlock = threading.Lock()


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        fails.append(what)


class Recv(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        sig = self.headers.get("X-Hub-Signature-256", "")
        ok = hmac.compare_digest(sig, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())
        try:
            d = json.loads(body)
        except Exception:
            d = {"raw": body.decode(errors="replace")}
        with rlock:
            received.append((ok, d, self.headers.get("Content-Type")))
        out = b'{"ok":true}' if ok else b'{"error":"bad signature"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


rsrv = ThreadingHTTPServer(("127.0.0.1", RPORT), Recv)
threading.Thread(target=rsrv.serve_forever, daemon=True).start()

env = dict(os.environ, PREGON_SANDBOX_APP_SECRET=SECRET, PREGON_SANDBOX_ACCESS_TOKEN=TOKEN,
           PREGON_SANDBOX_WEBHOOK_DELAY_MS="50")
proc = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{PORT}", "--webhook-url", f"http://127.0.0.1:{RPORT}/webhook",
                         "--phone-number-id", P1, "--phone-number-id", P2, "--display-phone", "15550001111",
                         "--threads", "2", "--pid-file", f"{TMP}/smoke{PORT}.pid"],
                        env=env, stderr=subprocess.PIPE, text=True)
err_lines = []
threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True).start()
conn = None


def req(method, path, body=None, token=TOKEN, headers=None, raw=None):
    global conn
    for attempt in range(50):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            h = {"Content-Type": "application/json"}
            if token:
                h["Authorization"] = "Bearer " + token
            h.update(headers or {})
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            conn.request(method, path, data, h)
            r = conn.getresponse()
            text = r.read().decode()
            if r.getheader("Connection", "").lower() == "close":
                conn.close(); conn = None
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text
        except (ConnectionError, http.client.HTTPException, OSError):
            conn = None
            time.sleep(0.1)
    raise RuntimeError("sandbox not reachable")


def send(msg, phone=P1, token=TOKEN):
    return req("POST", f"/v25.0/{phone}/messages", msg, token)


def tmsg(to, name, lang, comps=None, cb=None):
    m = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
         "template": {"name": name, "language": {"policy": "deterministic", "code": lang}}}
    if comps is not None:
        m["template"]["components"] = comps
    if cb is not None:
        m["biz_opaque_callback_data"] = cb
    return m


def body(*texts):
    return {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}


def ctl(method, path, b=None):
    return req(method, "/_sandbox/" + path, b, token=None)


def code_of(r):
    return r[1]["error"]["code"] if isinstance(r[1], dict) and "error" in r[1] else None


s, b = ctl("GET", "health")
check((s, b) == (200, {"ok": True}), "health")

# ---- valid sends
promo = tmsg("+5493875551234", "promo_marzo", "es_AR",
             [{"type": "header", "parameters": [{"type": "text", "text": "Ana"}]}, body("Ana", "Robótica"),
              {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "STOP"}]}],
             cb="campaign=7;recipient=99")
s, b = send(promo)
check(s == 200 and b["contacts"] == [{"input": "+5493875551234", "wa_id": "5493875551234"}]
      and b["messages"][0]["id"].startswith("wamid.") and b["messages"][0]["message_status"] == "accepted",
      "send promo_marzo accepted with Meta shape")
wamid1 = b["messages"][0]["id"]
ok_sends = [
    (tmsg("5493875551235", "hello_world", "en_US"), P2),
    (tmsg("+5493875551236", "bienvenida", "es", [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "course", "text": "Robótica"},
        {"type": "text", "parameter_name": "first_name", "text": "Ana"}]}]), P1),
    (tmsg("+5493875551237", "recordatorio_clase", "es_AR", [body("Ana", "Robótica", "lunes")]), P1),
    (tmsg("+5215512345678", "cupon_descuento", "es_MX", [body("MARZO20"), {"type": "button", "sub_type": "url", "index": 0,
                                                                             "parameters": [{"type": "text", "text": "MARZO20"}]}]), P1),
    (tmsg("+5493875551238", "promo_marzo", "es_AR", [body("Ana", "Robótica")]), P1),  # header optional unless strict
]
for m, ph in ok_sends:
    s, b = send(m, ph)
    check(s == 200, f"send {m['template']['name']} accepted ({s} {b if s != 200 else ''})")
wamids = set()
for i in range(20):
    s, b = send(tmsg("+54938755520%02d" % i, "hello_world", "en_US"))
    wamids.add(b["messages"][0]["id"])
check(len(wamids) == 20, "wamids unique")

# ---- validation errors
cases = [
    ("wrong token", lambda: send(promo, token="nope"), 401, 190),
    ("no token", lambda: send(promo, token=None), 401, 190),
    ("unknown phone id", lambda: send(promo, phone="123456"), 400, 100),
    ("broken JSON", lambda: req("POST", f"/v25.0/{P1}/messages", raw='{"a":'), 400, 100),
    ("array body", lambda: send([1]), 400, 100),
    ("no messaging_product", lambda: send({k: v for k, v in promo.items() if k != "messaging_product"}), 400, 100),
    ("bad messaging_product", lambda: send(dict(promo, messaging_product="sms")), 400, 100),
    ("no to", lambda: send({k: v for k, v in promo.items() if k != "to"}), 400, 100),
    ("short to", lambda: send(dict(promo, to="+1234567")), 400, 100),
    ("long to", lambda: send(dict(promo, to="+1234567890123456")), 400, 100),
    ("letters in to", lambda: send(dict(promo, to="+54938755512a4")), 400, 100),
    ("type text", lambda: send(dict(promo, type="text")), 400, 100),
    ("no template", lambda: send({k: v for k, v in promo.items() if k != "template"}), 400, 100),
    ("no language", lambda: send(dict(promo, template={"name": "hello_world"})), 400, 100),
    ("callback 513", lambda: send(dict(tmsg("+5493875551234", "hello_world", "en_US"), biz_opaque_callback_data="x" * 513)), 400, 100),
    ("unknown template", lambda: send(tmsg("+5493875551234", "nope", "es")), 400, 132001),
    ("wrong language", lambda: send(tmsg("+5493875551234", "hello_world", "es")), 400, 132001),
    ("rejected template", lambda: send(tmsg("+5493875551234", "rechazada", "es")), 400, 132001),
    ("paused template", lambda: send(tmsg("+5493875551234", "oferta_pausada", "es_AR", [body("x")])), 400, 132015),
    ("body count", lambda: send(tmsg("+5493875551234", "promo_marzo", "es_AR", [body("Ana")])), 400, 132000),
    ("body missing", lambda: send(tmsg("+5493875551234", "recordatorio_clase", "es_AR")), 400, 132000),
    ("params on no-param template", lambda: send(tmsg("+5493875551234", "hello_world", "en_US", [body("x")])), 400, 132000),
    ("named without names", lambda: send(tmsg("+5493875551234", "bienvenida", "es", [body("Ana", "R")])), 400, 100),
    ("named wrong name", lambda: send(tmsg("+5493875551234", "bienvenida", "es", [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "first_name", "text": "A"}, {"type": "text", "parameter_name": "curso", "text": "R"}]}])), 400, 132000),
    ("empty text", lambda: send(tmsg("+5493875551234", "aviso_pago", "es_AR", [{"type": "body", "parameters": [{"type": "text", "text": ""}]}])), 400, 100),
    ("bad param type", lambda: send(tmsg("+5493875551234", "aviso_pago", "es_AR", [{"type": "body", "parameters": [{"type": "wat"}]}])), 400, 100),
    ("bad component type", lambda: send(tmsg("+5493875551234", "aviso_pago", "es_AR", [{"type": "footer"}])), 400, 100),
    ("button without sub_type", lambda: send(tmsg("+5215512345678", "cupon_descuento", "es_MX", [body("X"), {"type": "button", "index": "0", "parameters": [{"type": "text", "text": "X"}]}])), 400, 100),
    ("button without index", lambda: send(tmsg("+5215512345678", "cupon_descuento", "es_MX", [body("X"), {"type": "button", "sub_type": "url", "parameters": [{"type": "text", "text": "X"}]}])), 400, 100),
    ("url button without param", lambda: send(tmsg("+5215512345678", "cupon_descuento", "es_MX", [body("X"), {"type": "button", "sub_type": "url", "index": "0"}])), 400, 132000),
    ("image in text header", lambda: send(tmsg("+5493875551234", "promo_marzo", "es_AR", [{"type": "header", "parameters": [{"type": "image", "image": {"link": "https://a/b.jpg"}}]}, body("A", "B")])), 400, 132012),
    ("body too long", lambda: send(tmsg("+5493875551234", "aviso_pago", "es_AR", [body("x" * 1100)])), 400, 132005),
]
for name, fn, want_status, want_code in cases:
    s, b = fn()
    good = s == want_status and code_of((s, b)) == want_code and b["error"]["type"] == "OAuthException" \
        and b["error"]["message"].startswith(f"(#{want_code})") and b["error"]["error_data"]["messaging_product"] == "whatsapp" \
        and "fbtrace_id" in b["error"]
    check(good, f"{name} -> {want_status}/{want_code} (got {s}/{code_of((s, b))})")
s, b = req("POST", f"/v25.0/{P1}/messages", raw=" " * (1 << 20 + 1))
check(s == 413, "1 MiB+ body refused with 413")

# strict components
ctl("POST", "config", {"strict_components": True})
s, b = send(tmsg("+5493875551299", "promo_marzo", "es_AR", [body("Ana", "Robótica")]))
check(code_of((s, b)) == 132000, "strict: missing header params -> 132000")
s, b = send(tmsg("+5215512345699", "cupon_descuento", "es_MX", [body("X")]))
check(code_of((s, b)) == 132000, "strict: missing url button param -> 132000")
ctl("POST", "config", {"strict_components": False})

# ---- templates, pagination
pages, names, nxt = 0, [], f"/v25.0/{WABA}/message_templates?limit=3&fields=name,language,status,category,components,parameter_format"
while nxt:
    s, b = req("GET", nxt)
    check(s == 200, f"templates page {pages + 1}")
    pages += 1
    names += [(t["name"], t["language"], t["status"]) for t in b["data"]]
    p = b.get("paging", {})
    check("cursors" in p and "before" in p["cursors"] and "after" in p["cursors"], f"page {pages} has cursors")
    nxt = p.get("next")
    if nxt:
        u = urlparse(nxt)
        check(u.netloc == f"127.0.0.1:{PORT}", "next uses the Host header")
        nxt = u.path + "?" + u.query
check(pages >= 4, f"limit=3 gives >= 4 pages ({pages})")
check(len(names) == len(set(names)), "no template twice across pages")
want = {("promo_marzo", "es_AR", "APPROVED"), ("hello_world", "en_US", "APPROVED"), ("bienvenida", "es", "APPROVED"),
        ("recordatorio_clase", "es_AR", "APPROVED"), ("cupon_descuento", "es_MX", "APPROVED"),
        ("oferta_pausada", "es_AR", "PAUSED"), ("rechazada", "es", "REJECTED")}
check(want <= set(names), "seeded templates present")
s, b = req("GET", f"/v25.0/{WABA}/message_templates?limit=100")
pm = [t for t in b["data"] if t["name"] == "promo_marzo" and t["language"] == "es_AR"][0]
types = [c["type"] for c in pm["components"]]
check(types == ["HEADER", "BODY", "FOOTER", "BUTTONS"] and pm["components"][1]["example"]["body_text"] == [["Ana", "Robótica"]]
      and pm["parameter_format"] == "POSITIONAL" and pm["category"] == "MARKETING", "promo_marzo shape")
bv = [t for t in b["data"] if t["name"] == "bienvenida"][0]
check(bv["parameter_format"] == "NAMED" and "body_text_named_params" in bv["components"][0]["example"], "bienvenida named")
check("paging" in b and "next" not in b["paging"], "no next on last page")
s, b = req("GET", f"/v25.0/{WABA}/message_templates", token=None)
check(s == 401 and code_of((s, b)) == 190, "templates need a token")

s, b = req("GET", f"/v25.0/{P1}")
check(s == 200 and b["display_phone_number"] == "15550001111" and b["quality_rating"] == "GREEN"
      and b["messaging_limit_tier"] == "TIER_250" and b["throughput"] == {"level": "STANDARD"} and b["id"] == P1
      and "verified_name" in b, "phone number info")
s, b = req("GET", f"/v25.0/{P2}")
check(s == 200 and b["display_phone_number"] == "15550001112", "second phone derived display number")

# ---- webhooks of the first sends
time.sleep(0.6)
with rlock:
    got = list(received)
check(all(ok for ok, _, _ in got) and got, f"all {len(got)} webhooks signed correctly")
check(all(ct == "application/json" for _, _, ct in got), "webhook content type")
sts = [(e["id"], c["value"]["metadata"]["phone_number_id"], st) for _, d, _ in got for e in d["entry"] for c in e["changes"]
       for st in c["value"]["statuses"]]
mine = [st for _, _, st in sts if st["id"] == wamid1]
check([st["status"] for st in mine] == ["sent", "delivered", "read"], "sent, delivered, read in order")
check(all(st["biz_opaque_callback_data"] == "campaign=7;recipient=99" and st["recipient_id"] == "5493875551234"
          and isinstance(st["timestamp"], str) and st["timestamp"].isdigit() for st in mine), "status fields")
check("pricing" in mine[0] and mine[0]["pricing"]["category"] == "marketing" and "pricing" not in mine[2], "pricing on sent only/delivered")
check(any(pid == P2 for _, pid, _ in sts), "statuses of the second number carry its metadata")
env0 = got[0][1]
check(env0["object"] == "whatsapp_business_account" and env0["entry"][0]["id"] == WABA
      and env0["entry"][0]["changes"][0]["field"] == "messages", "webhook envelope")

# ---- stats / messages
s, st = ctl("GET", "stats")
for k in ["accepted", "rejected", "rate_limited", "unique_recipients", "duplicates", "max_per_second", "webhooks_posted",
          "webhook_events", "webhooks_failed", "webhooks_pending"]:
    check(k in st, f"stats has {k}")
check(st["accepted"] == 26 and st["duplicates"] == 0, f"accepted 26, duplicates 0 ({st['accepted']}, {st['duplicates']})")
s, m = ctl("GET", "messages?limit=5")
check(s == 200 and len(m["messages"]) == 5 and m["messages"][0]["seq"] == 1 and m["messages"][0]["wamid"] == wamid1
      and m["messages"][0]["request"] == promo and m["messages"][0]["callback_data"] == "campaign=7;recipient=99"
      and m["next_after"] == 5, "messages page 1")
s, m2 = ctl("GET", f"messages?after={m['next_after']}&limit=1000")
check(len(m2["messages"]) == 21 and m2["messages"][0]["seq"] == 6, "messages page 2")
send(promo)
s, st = ctl("GET", "stats")
check(st["duplicates"] == 1, "same (phone, to, template, callback) counts as a duplicate")

# ---- error injection
ctl("POST", "reset")
received.clear()
s, c = ctl("POST", "config", {"errors": [{"to": "+5493875550001", "code": 131026, "mode": "sync", "times": 2},
                                         {"to": "5493875550002", "code": 131050, "mode": "async", "times": 1}],
                              "webhook_delay_ms": 30})
check(s == 200 and len(c["errors"]) == 2 and c["webhook_delay_ms"] == 30, "config answers effective config")
r = [send(tmsg("+5493875550001", "hello_world", "en_US"))[0] for _ in range(3)]
check(r == [400, 400, 200], f"sync rule fires twice ({r})")
s, b = send(tmsg("+5493875550002", "hello_world", "en_US", cb="async-cb"))
check(s == 200, "async rule accepts")
failed_id = b["messages"][0]["id"]
s, b = send(tmsg("+5493875550002", "hello_world", "en_US", cb="async-cb2"))
second_id = b["messages"][0]["id"]
for code, http_status in [(131000, 500), (131016, 503), (1, 500), (2, 503), (133004, 503), (130429, 429), (131056, 429),
                          (4, 429), (80007, 429), (131049, 400), (132015, 400)]:
    ctl("POST", "config", {"errors": [{"to": "*", "code": code, "times": 1}]})
    s, b = send(tmsg("+5493875550003", "hello_world", "en_US"))
    check(s == http_status and code_of((s, b)) == code and b["error"]["error_data"]["details"], f"injected {code} -> HTTP {http_status}")
ctl("POST", "config", {"errors": [], "error_rate": {"code": 131000, "percent": 50}})
res = [send(tmsg("+54938755504%02d" % i, "hello_world", "en_US"))[0] for i in range(100)]
check(15 < res.count(500) < 85, f"error_rate 50% ({res.count(500)} of 100)")
ctl("POST", "config", {"error_rate": None})
time.sleep(0.4)
with rlock:
    got = list(received)
sts = [st for _, d, _ in got for e in d["entry"] for c in e["changes"] for st in c["value"]["statuses"]]
f = [st for st in sts if st["id"] == failed_id]
check(len(f) == 1 and f[0]["status"] == "failed" and f[0]["errors"][0]["code"] == 131050 and f[0]["errors"][0]["title"]
      and f[0]["errors"][0]["error_data"]["details"] and f[0]["biz_opaque_callback_data"] == "async-cb", "async failed webhook")
check([st["status"] for st in sts if st["id"] == second_id] == ["sent", "delivered", "read"], "async rule fired once only")
for bad in [{"errors": [{"to": "x", "code": 1}]}, {"nope": 1}, {"latency_ms": -1}, {"statuses": ["sent", "bogus"]},
            {"error_rate": {"code": 1, "percent": 101}}, {"errors": [{"to": "*", "code": 1, "mode": "later"}]}]:
    s, b = ctl("POST", "config", bad)
    check(s == 400 and "error" in b, f"bad config refused: {json.dumps(bad)}")

# ---- statuses config, webhooks off
ctl("POST", "reset"); received.clear()
ctl("POST", "config", {"statuses": ["sent"], "webhook_delay_ms": 10})
send(tmsg("+5493875550009", "hello_world", "en_US"))
time.sleep(0.3)
with rlock:
    sts = [st["status"] for _, d, _ in received for e in d["entry"] for c in e["changes"] for st in c["value"]["statuses"]]
check(sts == ["sent"], f"statuses=[sent] ({sts})")
ctl("POST", "config", {"webhooks": False}); received.clear()
send(tmsg("+5493875550010", "hello_world", "en_US"))
time.sleep(0.2)
check(not received, "webhooks:false sends none")

# ---- rate limit
ctl("POST", "reset")
ctl("POST", "config", {"rate_limit": 80, "webhooks": False})
codes = {}
lk = threading.Lock()


def burst(k):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    t0 = time.time()
    for i in range(k, 300, 6):
        d = t0 + i / 300 - time.time()
        if d > 0:
            time.sleep(d)
        c.request("POST", f"/v25.0/{P1}/messages", json.dumps(tmsg("+5493875%06d" % i, "hello_world", "en_US")),
                  {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        r = c.getresponse(); data = json.loads(r.read())
        key = r.status if r.status == 200 else data["error"]["code"]
        with lk:
            codes[key] = codes.get(key, 0) + 1


ts = [threading.Thread(target=burst, args=(k,)) for k in range(6)]
[t.start() for t in ts]; [t.join() for t in ts]
s, st = ctl("GET", "stats")
check(codes.get(130429, 0) > 150 and st["max_per_second"][P1] <= 80 and st["rate_limited"] == codes.get(130429, 0),
      f"rate limit 80/s: {codes}, max_per_second {st['max_per_second']}")

# ---- latency
ctl("POST", "reset")
ctl("POST", "config", {"latency_ms": 300, "webhooks": False})
t0 = time.time(); s, _ = send(tmsg("+5493875550011", "hello_world", "en_US")); dt = time.time() - t0
check(s == 200 and 0.28 < dt < 1.0, f"latency 300 ms ({dt:.3f}s)")
s, _ = send(tmsg("+5493875550011", "nope", "en_US")); dt2 = time.time() - t0 - dt
check(dt2 > 0.28, "latency applies to errors too")
ctl("POST", "config", {"latency_ms": 0})

# ---- /_sandbox/webhook
ctl("POST", "reset"); received.clear()
s, b = ctl("POST", "webhook", {"payload": {"object": "whatsapp_business_account", "entry": []}})
check(s == 200 and b["status"] == 200 and received[-1][0], "manual webhook signed")
s, b = ctl("POST", "webhook", {"raw": '{"object":"forged"}', "signature": "sha256=00"})
check(s == 200 and b["status"] == 401 and received[-1][1] == {"object": "forged"}, "manual webhook with forged signature")
s, b = ctl("POST", "webhook", {"raw": "not json at all"})
check(b["status"] == 200 and received[-1][1]["raw"] == "not json at all", "manual raw bytes")
s, b = ctl("POST", "webhook", {"nothing": 1})
check(s == 400, "manual webhook needs payload or raw")
s, b = ctl("GET", "nope")
check(s == 404, "unknown control path 404")

# ---- reset
ctl("POST", "config", {"latency_ms": 5, "errors": [{"to": "*", "code": 1}]})
ctl("POST", "reset")
s, c = ctl("GET", "config")
s2, st = ctl("GET", "stats")
s3, m = ctl("GET", "messages")
check(c["latency_ms"] == 0 and c["errors"] == [] and c["webhook_delay_ms"] == 50 and st["accepted"] == 0
      and m["messages"] == [], "reset restores start-up options and forgets everything")

# ---- keep-alive under concurrency, then SIGTERM with webhooks pending
ctl("POST", "config", {"webhook_delay_ms": 2000})
received.clear()


def many(k):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    for i in range(200):
        c.request("POST", f"/v25.0/{P1 if i % 2 else P2}/messages",
                  json.dumps(tmsg("+549%02d%08d" % (k, i), "recordatorio_clase", "es_AR", [body("A", "B", "C")], cb=f"{k}-{i}")),
                  {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        assert r.status == 200, r.status


ts = [threading.Thread(target=many, args=(k,)) for k in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
s, st = ctl("GET", "stats")
check(st["accepted"] == 1600 and st["duplicates"] == 0 and st["unique_recipients"] == 1600, "1600 concurrent sends")
check(st["webhooks_pending"] == 4800, f"4800 statuses pending ({st['webhooks_pending']})")
proc.send_signal(signal.SIGTERM)
rc = proc.wait(timeout=15)
check(rc == 0, f"SIGTERM exit code 0 ({rc})")
time.sleep(0.3)
with rlock:
    n = sum(len(c["value"]["statuses"]) for _, d, _ in received for e in d["entry"] for c in e["changes"])
check(n == 4800, f"pending webhooks flushed on stop ({n})")
check(not os.path.exists(f"{TMP}/smoke{PORT}.pid"), "pid file removed")
bad = [l for l in err_lines if "Sanitizer" in l or "runtime error" in l or "leak" in l.lower()]
check(not bad, "no sanitizer reports" + ("".join(bad[:20]) and ":\n" + "".join(err_lines[-60:])))
print("\n%d failures" % len(fails))
sys.exit(1 if fails else 0)
