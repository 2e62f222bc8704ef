"""Helpers for the worker tests: run our own pregon-worker processes (short heartbeats and
leases, no progressive start unless asked) instead of the stack's, campaigns in bulk, and the
checks every worker test ends with."""

import os
import signal
import subprocess
import time

from harness import check, eq

FAST = {
    "PREGON_WORKER_HEARTBEAT_S": "1",
    "PREGON_WORKER_DEAD_S": "3",
    "PREGON_WORKER_LEASE_S": "20",
    "PREGON_WORKER_RAMP_STEPS": "",
    "PREGON_WORKER_POLL_MS": "50",
}


class Workers:
    """Our worker processes for one test; the stack's own workers are stopped meanwhile and
    started again by close()."""

    def __init__(self, s, **env):
        self.s = s
        self.procs = {}
        self.n = 0
        self.env = dict(s.env)
        self.env.update(FAST)
        self.env["PREGON_WORKER_LOCK_FILE"] = os.path.join(s.var, "run", "drain.lock")
        self.env.update({k: str(v) for k, v in env.items()})
        self.stopped = self._stop_stack_workers()

    def _run(self):
        return os.path.join(self.s.var, "run")

    def _stop_stack_workers(self):
        names = []
        for f in sorted(os.listdir(self._run())):
            if not (f.startswith("worker") and f.endswith(".pid")):
                continue
            path = os.path.join(self._run(), f)
            with open(path) as fh:
                pid = int(fh.read().strip())
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            wait_gone(pid, 30)
            os.unlink(path)
            names.append(f[:-4])
        return names

    def start(self, *args, **env):
        self.n += 1
        name = "wtest%d" % self.n
        e = dict(self.env)
        e.update({k: str(v) for k, v in env.items()})
        log = open(os.path.join(self.s.var, "log", name + ".log"), "ab")
        p = subprocess.Popen([os.path.join(self.s.build, "bin", "pregon-worker"), "-c",
                              os.path.join(self.s.var, "pregon.conf")] + list(args),
                             env=e, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        # So that stack.sh stop ends it too if the test dies.
        with open(os.path.join(self._run(), name + ".pid"), "w") as f:
            f.write(str(p.pid))
        self.procs[name] = p
        return p

    def kill(self, p, sig=signal.SIGKILL):
        p.send_signal(sig)
        return p.wait(timeout=60)

    def close(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            try:
                os.unlink(os.path.join(self._run(), name + ".pid"))
            except FileNotFoundError:
                pass
        for name in self.stopped:
            log = open(os.path.join(self.s.var, "log", name + ".log"), "ab")
            p = subprocess.Popen([os.path.join(self.s.build, "bin", "pregon-worker"), "-c",
                                  os.path.join(self.s.var, "pregon.conf")], env=self.s.env,
                                 stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
            log.close()
            with open(os.path.join(self._run(), name + ".pid"), "w") as f:
                f.write(str(p.pid))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wait_gone(pid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def sandbox_account(s):
    return s.query("SELECT id, throughput_mps, messaging_tier FROM wa_accounts "
                   "WHERE is_sandbox = 1 ORDER BY id LIMIT 1", admin=True)[0]


class AccountSettings:
    """Changes the sandbox account for one test and puts it back."""

    def __init__(self, s, **cols):
        self.s = s
        self.acc = sandbox_account(s)
        self.cols = cols

    def __enter__(self):
        row = self.s.query("SELECT * FROM wa_accounts WHERE id = %s", (self.acc["id"],),
                           admin=True)[0]
        self.before = {k: row[k] for k in self.cols}
        for k, v in self.cols.items():
            self.s.query("UPDATE wa_accounts SET %s = %%s WHERE id = %%s" % k,
                         (v, self.acc["id"]), admin=True)
        return self.acc

    def __exit__(self, *exc):
        self.s.query("UPDATE wa_accounts SET throughput_mps = %s, messaging_tier = %s "
                     "WHERE id = %s", (self.acc["throughput_mps"], self.acc["messaging_tier"],
                                       self.acc["id"]), admin=True)
        for k, v in self.before.items():
            self.s.query("UPDATE wa_accounts SET %s = %%s WHERE id = %%s" % k,
                         (v, self.acc["id"]), admin=True)


def phones(prefix, n):
    """n distinct Argentine mobile numbers starting with +54938755 + prefix."""
    return ["+549387%s%05d" % (prefix, i) for i in range(n)]


def make_campaign(s, name, numbers, start=True, params=None, **extra):
    c = s.create_campaign(name=name, params=params if params is not None else [{"column": "name"},
                          "Robótica", {"column": "day", "fallback": "lunes"}], **extra)
    # issue 3: consent is mandatory, start needs acknowledge_risk and a synced APPROVED template
    csv = "phone,name,consent\n" + "".join("%s,N%d,si\n" % (p, i) for i, p in enumerate(numbers))
    r = s.upload(c["id"], csv)
    eq(r.status, 200, "upload: %r" % r)
    eq(r.json()["accepted"], len(numbers),
       "accepted (rejected: %r)" % (r.json().get("rejected_by_reason"),))
    if not getattr(s, "templates_synced", False):
        eq(s.post("/api/templates/sync", {}).status, 200, "template sync")
        s.templates_synced = True
    if start:
        r = s.post("/api/campaigns/%d/start" % c["id"], {"acknowledge_risk": True})
        eq(r.status, 200, "start: %r" % r)
    return c["id"]


def campaign(s, cid):
    """The campaign's row, its counters as the application reads them (campaign_totals: the
    row's base plus every writer's slot)."""
    c = s.query("SELECT * FROM campaigns WHERE id = %s", (cid,))[0]
    c.update(s.query("SELECT * FROM campaign_totals WHERE id = %s", (cid,))[0])
    return c


def wait_status(s, cid, statuses, timeout=120):
    return s.wait_for("campaign %d %s" % (cid, statuses), lambda: (
        lambda c: c if c["status"] in statuses else None)(campaign(s, cid)), timeout=timeout)


def received(s, cid):
    """What the sandbox accepted for the campaign: {recipient_id: count}."""
    out = {}
    after = 0
    prefix = "pregon:%d:" % cid
    while True:
        r = s.sandbox_get("/_sandbox/messages?limit=10000&after=%d" % after).json()
        for m in r["messages"]:
            cb = m.get("callback_data") or ""
            if cb.startswith(prefix):
                rid = int(cb[len(prefix):])
                out[rid] = out.get(rid, 0) + 1
        if not r["messages"] or not r.get("next_after"):
            break
        after = r["next_after"]
    return out


def settle_unknowns(s, cid, got):
    """In-doubt recipients: those the sandbox received are settled by its webhooks; the rest
    never left, and an operator retries them."""
    def settled():
        rows = s.query("SELECT id, status FROM recipients WHERE campaign_id = %s AND "
                       "status = 'unknown'", (cid,))
        return [r for r in rows if r["id"] in got] == []
    s.wait_for("webhooks settle the unknowns the sandbox received", settled, timeout=60)
    left = s.query("SELECT id FROM recipients WHERE campaign_id = %s AND status = 'unknown'",
                   (cid,))
    return [r["id"] for r in left]


def check_counters(s, cid):
    """The campaign's counters equal what its recipient rows say."""
    # Status webhooks may still be applied meanwhile (each commit moves rows and counters
    # together): compare rows read between two identical readings of the counters.
    for _ in range(50):
        c = campaign(s, cid)
        rows = {r["status"]: r["n"] for r in s.query(
            "SELECT status, COUNT(*) AS n FROM recipients WHERE campaign_id = %s GROUP BY status",
            (cid,))}
        again = campaign(s, cid)
        if all(again.get(k) == v for k, v in c.items() if k.endswith("_count")):
            break
        time.sleep(0.1)
    g = lambda *k: sum(rows.get(x, 0) for x in k)  # noqa: E731
    want = {"pending": g("pending"), "sending": g("sending"), "unknown": g("unknown"),
            "blocked": g("blocked"), "cancelled": g("cancelled"), "holdout": g("holdout"),
            "read": g("read"), "delivered": g("delivered", "read")}
    for k, v in want.items():
        eq(c[k + "_count"], v, "campaign %d %s_count vs rows %r" % (cid, k, rows))
    check(c["sent_count"] >= g("sent", "delivered", "read"), "sent_count %d < rows %r" % (
        c["sent_count"], rows))
    eq(c["total_count"], sum(rows.values()), "total_count")
    # The per-minute figures (send_minutes, kept by every writer of send_log in its own
    # transaction) add up to the log, outcome by outcome: one statement, one snapshot.
    m = s.query(
        "SELECT (SELECT COUNT(*) FROM send_log WHERE campaign_id = %s AND outcome = 'sent') AS ls, "
        "(SELECT COUNT(*) FROM send_log WHERE campaign_id = %s AND outcome = 'failed') AS lf, "
        "(SELECT COUNT(*) FROM send_log WHERE campaign_id = %s AND outcome = 'blocked') AS lb, "
        "(SELECT COUNT(*) FROM send_log WHERE campaign_id = %s AND outcome = 'retry') AS lr, "
        "(SELECT COUNT(*) FROM send_log WHERE campaign_id = %s AND outcome = 'unknown') AS lu, "
        "(SELECT COALESCE(SUM(sent), 0) FROM send_minutes WHERE campaign_id = %s) AS ms, "
        "(SELECT COALESCE(SUM(failed), 0) FROM send_minutes WHERE campaign_id = %s) AS mf, "
        "(SELECT COALESCE(SUM(blocked), 0) FROM send_minutes WHERE campaign_id = %s) AS mb, "
        "(SELECT COALESCE(SUM(retried), 0) FROM send_minutes WHERE campaign_id = %s) AS mr, "
        "(SELECT COALESCE(SUM(unknown), 0) FROM send_minutes WHERE campaign_id = %s) AS mu",
        (cid,) * 10)[0]
    for log_k, min_k in (("ls", "ms"), ("lf", "mf"), ("lb", "mb"), ("lr", "mr"), ("lu", "mu")):
        eq(int(m[min_k]), int(m[log_k]), "campaign %d send_minutes %s vs send_log %r" % (
            cid, min_k, m))
    # Only a pending recipient (or a failed one that may be retried only later, 131049) keeps
    # a next attempt time: the lists by status page through ix_recipients_queue in phone
    # order (sql/091).
    stray = s.query("SELECT status, next_attempt_at FROM recipients WHERE campaign_id = %s AND "
                    "status NOT IN ('pending', 'failed') AND next_attempt_at <> '2000-01-01' "
                    "LIMIT 5", (cid,))
    eq(list(stray), [], "campaign %d: non-pending rows with a next attempt time" % cid)
    return rows


def full_speed_start(times, probe=100, least_per_s=100):
    """The index of the first acceptance from which each of the next `probe` follows the one
    before within 1/least_per_s s: the worker past its progressive start (10, 20, 40 msg/s,
    50 messages each by default, gaps of 25 ms and more), at the number's rate. A window
    test (the next `probe` within so long) would start inside the last step's tail."""
    gap = 1000.0 / least_per_s
    run = 0
    for i in range(1, len(times)):
        run = run + 1 if times[i] - times[i - 1] < gap else 0
        if run >= probe:
            return i - probe
    return 0
