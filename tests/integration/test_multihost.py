"""More than one machine: three workers and two FastCGI pools (separate processes on separate
addresses, as separate hosts would be) behind one nginx upstream, sharing only MariaDB, run
one campaign to completion: every recipient sent once, the number's rate respected."""

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import workerkit
from harness import ROOT, check, eq, free_port, throttle_allowance


def test_three_workers_two_fastcgi_pools_one_campaign(s):
    tmp = tempfile.mkdtemp(prefix="pregon-multihost-")
    os.chmod(tmp, 0o755)
    pool2 = nginx = None
    port2, http_port = free_port(), free_port()
    try:
        # The second "host": its own FastCGI pool listening on TCP.
        log = open(os.path.join(s.var, "log", "fcgi-pool2.log"), "ab")
        pool2 = subprocess.Popen([os.path.join(s.build, "bin", "pregon-fcgi"), "-c",
                                  os.path.join(s.var, "pregon.conf")],
                                 env=dict(s.env, PREGON_FCGI_SOCKET="127.0.0.1:%d" % port2,
                                          PREGON_FCGI_PROCS="3"),
                                 stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        # A front nginx whose upstream has both pools.
        conf = os.path.join(tmp, "nginx.conf")
        user = "user www-data www-data;" if os.getuid() == 0 else ""
        with open(conf, "w") as f:
            f.write("""%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 512; }
http {
    log_format up '$upstream_addr $status $request_uri';
    access_log %s/access.log up;
    client_body_temp_path %s/body; fastcgi_temp_path %s/fcgi; proxy_temp_path %s/proxy;
    uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;
    upstream pools {
        server unix:%s/run/pregon-fcgi.sock;
        server 127.0.0.1:%d;
    }
    server {
        listen 127.0.0.1:%d;
        client_max_body_size 100m;
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_NAME "";
            fastcgi_param PATH_INFO $uri;
            fastcgi_pass pools;
        }
    }
}
""" % ((user,) + (tmp,) * 8 + (s.var, port2, http_port)))
        nginx = subprocess.Popen(["nginx", "-p", tmp, "-c", conf], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        front = "http://127.0.0.1:%d" % http_port

        def up():
            try:
                with urllib.request.urlopen(front + "/api/health", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        s.wait_for("the front nginx", up, timeout=20)
        # Meta's webhooks reach the front too, so both pools apply statuses.
        eq(s.sandbox_post("/_sandbox/config", {"webhook_url": front + "/webhook",
                                                "rate_limit": 80}).status, 200, "sandbox")
        with workerkit.Workers(s) as w, workerkit.AccountSettings(s, throughput_mps=80):
            for _ in range(3):
                w.start()

            def all_started():
                # Each worker says so once registered and its threads run (a sanitizer build
                # starts slowly: the first one up would otherwise take the whole campaign).
                for name in w.procs:
                    with open(os.path.join(s.var, "log", name + ".log"), errors="replace") as f:
                        if "started" not in f.read():
                            return False
                return True

            s.wait_for("the three workers started", all_started, timeout=60)
            numbers = workerkit.phones("91", 400)
            base, s.base = s.base, front  # the operator talks to the front as well
            try:
                cid = workerkit.make_campaign(s, "Varios hosts", numbers)
            finally:
                s.base = base
            workerkit.wait_status(s, cid, ("completed",), timeout=120)
            got = workerkit.received(s, cid)
            eq(len(got), 400, "every recipient reached the sandbox")
            eq(max(got.values()), 1, "nobody received two messages")
            stats = s.sandbox_get("/_sandbox/stats").json()
            check(stats["rate_limited"] <= throttle_allowance(400),
                  "no 130429 from the sandbox: %r" % stats)
            rate = max(stats["max_per_second"].values())
            check(rate <= 80, "the number's rate across three workers: %d/s" % rate)
            workers = {r["worker_id"] for r in s.query(
                "SELECT DISTINCT worker_id FROM send_log WHERE campaign_id = %s", (cid,))}
            check(len(workers) >= 2, "the workers shared the campaign: %r" % workers)
            # Both pools answered: each process counts its requests by route.
            time.sleep(2)
            served = s.query("SELECT COUNT(*) AS n FROM webhook_events WHERE received_at > "
                             "NOW(3) - INTERVAL 5 MINUTE")[0]["n"]
            check(served > 0, "webhooks went through the front")
            s.wait_for("statuses applied", lambda: workerkit.campaign(s, cid)["read_count"] ==
                       400, timeout=60)
            workerkit.check_counters(s, cid)
        with open(os.path.join(tmp, "access.log")) as f:
            used = {line.split(" ", 1)[0] for line in f}
        check("127.0.0.1:%d" % port2 in used and any(u.startswith("unix:") for u in used),
              "both pools answered: %r" % used)
    finally:
        s.sandbox_post("/_sandbox/config", {"webhook_url": s.base + "/webhook", "rate_limit": 0})
        for p in (nginx, pool2):
            if p:
                p.terminate()
                p.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
