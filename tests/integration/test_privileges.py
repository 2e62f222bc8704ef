"""pregon-fcgi and pregon-worker never serve as root (issue #17), as OpenBSD's slowcgi: started
as root without run_as_user they refuse with a clear message; with it they become that user
after binding (every uid and gid, supplementary groups too). The tests run as root, so the
stack itself runs them as nobody (scripts/stack.sh)."""

import os
import pwd
import subprocess
import tempfile

from harness import check, eq


def proc_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                ids[k] = [int(x) for x in v.split()]
    return ids


def config_without_user(s, tmp, extra=""):
    with open(os.path.join(s.var, "pregon.conf")) as f:
        lines = [x for x in f if not x.strip().startswith(("run_as_user", "fcgi_socket "))]
    path = os.path.join(tmp, "pregon.conf")
    with open(path, "w") as f:
        f.writelines(lines)
        f.write("fcgi_socket = %s\n%s" % (os.path.join(tmp, "fcgi.sock"), extra))
    return path


def run(s, binary, conf):
    env = {k: v for k, v in s.env.items() if k != "PREGON_RUN_AS_USER"}
    return subprocess.run([os.path.join(s.build, "bin", binary), "-c", conf], env=env,
                          capture_output=True, text=True, timeout=30)


def test_root_without_run_as_user_is_refused(s):
    if os.geteuid() != 0:
        return  # the refusal is for root only; the tests run as root (make test)
    tmp = tempfile.mkdtemp(prefix="pregon-priv-")
    try:
        for extra, says in (("", "refusing to run as root"),
                            ("run_as_user = root\n", "is root"),
                            ("run_as_user = no-such-user-pregon\n", "no such user")):
            conf = config_without_user(s, tmp, extra)
            for binary in ("pregon-fcgi", "pregon-worker"):
                r = run(s, binary, conf)
                eq(r.returncode, 1, "%s %r: %s" % (binary, extra, r.stderr))
                check(says in r.stderr, "%s %r says why: %r" % (binary, extra, r.stderr))
            check(not os.path.exists(os.path.join(tmp, "fcgi.sock")), "no socket left behind")
    finally:
        subprocess.run(["rm", "-rf", tmp])


def test_the_stack_runs_as_run_as_user(s):
    if os.geteuid() != 0:
        return
    nobody = pwd.getpwnam("nobody")
    want = {"Uid": [nobody.pw_uid] * 4, "Gid": [nobody.pw_gid] * 4}
    pids = []
    for pool in ("fcgi", "webhook"):  # the API pool and the webhook pool
        master, kids = s.pool_pids(pool)
        check(kids, "%s: the master and its request processes" % pool)
        pids += [master] + sorted(kids)
    for name in os.listdir(os.path.join(s.var, "run")):
        if name.startswith("worker") and name.endswith(".pid"):
            with open(os.path.join(s.var, "run", name)) as f:
                pids.append(int(f.read()))
    for pid in pids:
        ids = proc_ids(pid)
        eq({"Uid": ids["Uid"], "Gid": ids["Gid"]}, want, "pid %d runs as nobody" % pid)
        check(0 not in ids["Groups"], "pid %d kept no root group: %r" % (pid, ids["Groups"]))
    eq(s.get("/api/health", auth=None).status, 200, "and serves")
