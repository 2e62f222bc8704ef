"""Webhooks have a FastCGI pool of their own (issue #17): own socket, own processes, own nginx
location. Stopping the whole API pool (as a hang would) or killing it (as a crash would)
changes nothing for Meta: every webhook is answered 200 at once and applied, and the webhook
pool's processes are the same before and after."""

import os
import signal
import subprocess
import time

from harness import check, eq
from test_webhooks import SANDBOX, _account_id, _event_body, make_campaign


def statuses(s, cid):
    return [x["status"] for x in s.query(
        "SELECT status FROM recipients WHERE campaign_id = %s ORDER BY id", (cid,))]


def post(s, wamid, status, ts):
    t = time.time()
    r = s.post_webhook(None, raw=_event_body(s, wamid, status, ts), wait=False)
    return r, time.time() - t


def test_the_api_pool_hung_or_dead_never_touches_webhooks(s):
    acct = _account_id(s, SANDBOX["phone_id"])
    camp = make_campaign(s, acct, [{"status": "sent"}] * 3)
    wamids = [r["wamid"] for r in camp["recipients"]]
    hooks_before = s.pool_pids("webhook")
    check(hooks_before[1], "webhook pool processes")
    api_master, api_kids = s.pool_pids("fcgi")
    check(not (api_kids & hooks_before[1]), "two pools, no process in common")

    # 1. The API pool hangs (every process stopped): webhooks are answered at once.
    for pid in [api_master] + sorted(api_kids):
        os.kill(pid, signal.SIGSTOP)
    try:
        r, took = post(s, wamids[0], "delivered", 1750040100)
        eq(r.status, 200, "answered while the API hangs")
        check(took < 2, "at once: %.2fs" % took)
        s.wait_for("applied while the API hangs",
                   lambda: statuses(s, camp["id"])[0] == "delivered", timeout=20)
    finally:
        for pid in [api_master] + sorted(api_kids):
            os.kill(pid, signal.SIGCONT)
    eq(s.get("/api/health", auth=None).status, 200, "the API is back")

    # 2. The API pool dies (every process killed, its master too): webhooks go on.
    for pid in [api_master] + sorted(api_kids):
        os.kill(pid, signal.SIGKILL)
    s.wait_for("the API pool is gone", lambda: not os.path.exists("/proc/%d" % api_master),
               timeout=10)
    eq(s.get("/api/health", auth=None).status, 502, "no API")
    for i, w in enumerate(wamids[1:]):
        r, took = post(s, w, "read", 1750040200 + i)
        eq(r.status, 200, "answered without an API pool")
        check(took < 2, "at once: %.2fs" % took)
    s.wait_for("applied without an API pool",
               lambda: statuses(s, camp["id"]) == ["delivered", "read", "read"], timeout=20)
    eq(s.pool_pids("webhook"), hooks_before, "the webhook pool never restarted")

    # The API pool comes back as stack.sh starts it.
    log = open(os.path.join(s.var, "log", "fcgi.log"), "ab")
    p = subprocess.Popen([os.path.join(s.build, "bin", "pregon-fcgi"), "-c",
                          os.path.join(s.var, "pregon.conf")], env=s.env, stdout=log,
                         stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    with open(os.path.join(s.var, "run", "fcgi.pid"), "w") as f:
        f.write(str(p.pid))
    s.wait_for("the API pool is back",
               lambda: s.get("/api/health", auth=None).status == 200, timeout=20)


def test_the_webhook_pool_serves_nothing_but_the_webhook(s):
    # nginx sends only /webhook there; asked directly for anything else, it says no
    sock = os.path.join(s.var, "run", "pregon-webhook.sock")
    check(os.path.exists(sock), "own socket")
    r = s.get("/webhook?hub.mode=subscribe&hub.verify_token=%s&hub.challenge=42"
              % s.secrets["SANDBOX_VERIFY_TOKEN"], auth=None)
    eq((r.status, r.body), (200, "42"), "the verification handshake goes to the webhook pool")
