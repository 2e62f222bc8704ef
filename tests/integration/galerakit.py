"""A three-node MariaDB Galera cluster of private mariadbd instances for the cluster tests and
bench/cluster: node 1 is a stack's own MariaDB (scripts/stack.sh, started with the wsrep
options of PREGON_MARIADB_OPTS, bootstrapping the cluster); nodes 2 and 3 join it by rsync
state transfer, each under the stack's state directory on free ports."""

import os
import pwd
import signal
import subprocess
import time

import pymysql

from harness import free_port

PROVIDER = "/usr/lib/galera/libgalera_smm.so"


class Node:
    def __init__(self, var, n, port=None):
        self.n = n
        self.var = var
        self.port = port or free_port()
        self.gport, self.ist, self.sst = free_port(), free_port(), free_port()
        self.dir = os.path.join(var, "galera%d" % n)
        self.proc = None

    def wsrep_opts(self, cluster):
        # Short failure detection: a node killed mid-campaign is evicted in a few seconds
        # (commits on the others wait for that).
        prov = ";".join([
            "gmcast.listen_addr=tcp://127.0.0.1:%d" % self.gport,
            "ist.recv_addr=127.0.0.1:%d" % self.ist,
            "gcache.size=256M",
            "evs.keepalive_period=PT0.5S", "evs.inactive_check_period=PT0.5S",
            "evs.suspect_timeout=PT2S", "evs.inactive_timeout=PT4S",
            "evs.install_timeout=PT4S", "pc.weight=1"]
            + (["cert.log_conflicts=YES"] if os.environ.get("PREGON_GALERA_LOG_CONFLICTS") else []))
        return ["--wsrep-on=ON", "--wsrep-provider=" + PROVIDER,
                "--wsrep-cluster-name=pregon-test", "--wsrep-cluster-address=" + cluster,
                "--wsrep-node-name=node%d" % self.n,
                "--wsrep-node-address=127.0.0.1:%d" % self.gport,
                "--wsrep-node-incoming-address=127.0.0.1:%d" % self.port,
                "--wsrep-provider-options=" + prov, "--wsrep-sst-method=rsync",
                "--wsrep-sst-receive-address=127.0.0.1:%d" % self.sst,
                "--wsrep-slave-threads=2", "--binlog-format=ROW",
                "--innodb-autoinc-lock-mode=2"] + \
            (["--wsrep-log-conflicts=ON"] if os.environ.get("PREGON_GALERA_LOG_CONFLICTS") else [])


class Cluster:
    """Three nodes; node 1 belongs to the stack (its options go in PREGON_MARIADB_OPTS)."""

    def __init__(self, var, node1_port):
        self.var = var
        self.nodes = [Node(var, 1, node1_port), Node(var, 2), Node(var, 3)]
        self.gcomm = "gcomm://" + ",".join("127.0.0.1:%d" % x.gport for x in self.nodes)

    def node1_opts(self):
        return " ".join(self.nodes[0].wsrep_opts("gcomm://"))

    def start_joiners(self, timeout=120):
        for node in self.nodes[1:]:
            self.start(node)
        for node in self.nodes[1:]:
            self.wait_synced(node, timeout)

    def start(self, node):
        """Starts (or restarts) a joining node; its data comes from the cluster."""
        me = pwd.getpwuid(os.getuid()).pw_name
        os.makedirs(node.dir, exist_ok=True)
        os.chmod(node.dir, 0o700)
        if os.getuid() == 0:
            # The rsync daemon of the state transfer drops root for "nobody": the data
            # directory must be that user's (mariadbd, as root, still reads it).
            nobody = pwd.getpwnam("nobody")
            os.chown(node.dir, nobody.pw_uid, nobody.pw_gid)
        run = os.path.join(self.var, "run")
        log = open(os.path.join(self.var, "log", "galera%d.log" % node.n), "ab")
        node.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + node.dir,
             "--socket=" + os.path.join(run, "galera%d.sock" % node.n),
             "--port=%d" % node.port, "--bind-address=127.0.0.1",
             "--pid-file=" + os.path.join(run, "galera%d-mysqld.pid" % node.n),
             "--log-error=" + os.path.join(self.var, "log", "galera%d.log" % node.n),
             "--user=" + me, "--skip-name-resolve", "--innodb-buffer-pool-size=256M",
             "--max-connections=500", "--max-allowed-packet=64M",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
             "--default-time-zone=+00:00"] + node.wsrep_opts(self.gcomm),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        # scripts/stack.sh stop ends it too if the test dies.
        with open(os.path.join(run, "galera%d.pid" % node.n), "w") as f:
            f.write(str(node.proc.pid))

    def status(self, node, password):
        try:
            c = pymysql.connect(host="127.0.0.1", port=node.port, user="pregon",
                                password=password, connect_timeout=2, autocommit=True)
        except pymysql.err.OperationalError:
            return {}
        try:
            with c.cursor() as cur:
                cur.execute("SHOW STATUS LIKE 'wsrep_%'")
                return {k: v for k, v in cur.fetchall()}
        finally:
            c.close()

    def wait_synced(self, node, timeout, password=None):
        password = password or open(os.path.join(self.var, "db-password")).read().strip()
        deadline = time.time() + timeout
        st = {}
        while time.time() < deadline:
            if node.proc and node.proc.poll() is not None:
                raise AssertionError("galera node %d exited (log/galera%d.log)" % (node.n,
                                                                                    node.n))
            st = self.status(node, password)
            if st.get("wsrep_local_state_comment") == "Synced" and st.get("wsrep_ready") == "ON":
                return st
            time.sleep(0.3)
        raise AssertionError("galera node %d not synced in %ds: %r" % (node.n, timeout, st))

    def kill(self, node, sig=signal.SIGKILL):
        node.proc.send_signal(sig)
        node.proc.wait(timeout=60)

    def stop(self):
        for node in self.nodes[1:]:
            if node.proc and node.proc.poll() is None:
                node.proc.terminate()
                try:
                    node.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()
            try:
                os.unlink(os.path.join(self.var, "run", "galera%d.pid" % node.n))
            except FileNotFoundError:
                pass

    def hosts(self, *order):
        """db_host for a process: the nodes in the order given (1-based), failover list."""
        return ",".join("127.0.0.1:%d" % self.nodes[i - 1].port for i in order)

    def connect(self, node, password=None):
        password = password or open(os.path.join(self.var, "db-password")).read().strip()
        return pymysql.connect(host="127.0.0.1", port=node.port, user="pregon", password=password,
                          database="pregon", autocommit=True)
