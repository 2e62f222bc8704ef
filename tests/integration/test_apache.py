"""Shared hosting as docs/operations.md describes it, step by step: the bundle (make bundle)
unpacked by an unprivileged user, scripts/setup-shared.sh against a database whose one user
may not GRANT and whose server writes a binary log (so no triggers without SUPER), a private
Apache with mod_fcgid and a host-like configuration (AllowOverride limited, no
FcgidMaxRequestLen, SymLinksIfOwnerMatch only), the repository's .htaccess and wrapper, and the
worker run the way cron runs it. The stack's sandbox stands for Meta.

It drives a campaign end to end: a 1 MB CSV through the panel's chunked path, start, drain
runs (two at once: one must step aside), a signed webhook through Apache, the verification
handshake, 413 as JSON, private files refused; and prints the time from unpacking to the first
message sent."""

import http.client
import json
import os
import pwd
import re
import shutil
import subprocess
import tarfile
import tempfile
import time

from harness import ROOT, check, eq, free_port, strong_password

WABA, PHONE_ID, DISPLAY = "102290129340398", "106540352242922", "15550001111"
DB_NAME = DB_USER = "u1234_pregon"
MODULES = "/usr/lib/apache2/modules"



def _schema_triggers():
    """The triggers the migrations leave, read from sql/ in order (created, minus dropped)."""
    names = set()
    d = os.path.join(ROOT, "sql")
    for f in sorted(os.listdir(d)):
        if not f.endswith(".sql"):
            continue
        for m in re.finditer(r"\b(CREATE|DROP) TRIGGER IF (?:NOT )?EXISTS (\w+)",
                             open(os.path.join(d, f)).read()):
            (names.add if m.group(1) == "CREATE" else names.discard)(m.group(2))
    return names

def _hosting_user():
    """The account's own user: ourselves, or www-data when the tests run as root (Apache and
    the programs must not run as root, as on a host)."""
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid())
    return pwd.getpwnam("www-data")


def _as_user(user, argv, env, timeout=300, **kw):
    """Runs argv as the hosting user with exactly env (no LD_LIBRARY_PATH, no HOME)."""
    cmd = ["env", "-i"] + ["%s=%s" % kv for kv in env.items()] + argv
    if os.getuid() == 0:
        cmd = ["runuser", "-u", user.pw_name, "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def _start_mariadb(tmp):
    """The host's database server: binary logging on, one user with every right on its own
    database but GRANT OPTION and SUPER."""
    data, run = os.path.join(tmp, "db"), os.path.join(tmp, "dbrun")
    os.makedirs(run)
    me = pwd.getpwuid(os.getuid()).pw_name
    log = os.path.join(tmp, "mariadb.log")
    r = subprocess.run(["mariadb-install-db", "--no-defaults", "--datadir=" + data, "--user=" + me,
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       capture_output=True, text=True)
    check(r.returncode == 0, "mariadb-install-db: " + r.stdout + r.stderr)
    port = free_port()
    sock = os.path.join(run, "mysqld.sock")
    p = subprocess.Popen(
        ["mariadbd", "--no-defaults", "--datadir=" + data, "--socket=" + sock,
         "--port=%d" % port, "--bind-address=127.0.0.1", "--user=" + me, "--skip-name-resolve",
         "--log-error=" + log, "--log-bin=" + os.path.join(data, "binlog"), "--server-id=1",
         "--innodb-buffer-pool-size=128M", "--character-set-server=utf8mb4",
         "--collation-server=utf8mb4_unicode_ci"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    admin = ["mariadb", "--no-defaults", "--socket=" + sock, "-u", me, "--batch",
             "--skip-column-names"]
    deadline = time.time() + 60
    while subprocess.run(admin + ["-e", "SELECT 1"], capture_output=True).returncode != 0:
        check(time.time() < deadline and p.poll() is None, "MariaDB did not start")
        time.sleep(0.2)
    password = "Db-" + os.urandom(9).hex()
    sql = "CREATE DATABASE %s CHARACTER SET utf8mb4;" % DB_NAME
    for host in ("localhost", "127.0.0.1"):
        sql += ("CREATE USER '%s'@'%s' IDENTIFIED BY '%s';"
                "GRANT ALL PRIVILEGES ON %s.* TO '%s'@'%s';" % (DB_USER, host, password,
                                                                DB_NAME, DB_USER, host))
    r = subprocess.run(admin + ["-e", sql], capture_output=True, text=True)
    check(r.returncode == 0, "database user: " + r.stderr)
    binlog = subprocess.run(admin + ["-e", "SELECT @@log_bin"], capture_output=True,
                            text=True).stdout.strip()
    eq(binlog, "1", "binary logging is on")
    return p, port, password, admin


def _apache_conf(tmp, port, web, user):
    ar = os.path.join(tmp, "apache")
    for d in ("run", "fcgid"):
        os.makedirs(os.path.join(ar, d))
    if os.getuid() == 0:
        shutil.chown(os.path.join(ar, "fcgid"), user.pw_name, user.pw_name)
    mods = ["mpm_event", "authz_core", "authz_host", "dir", "mime", "rewrite", "headers", "fcgid"]
    lines = ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m) for m in mods]
    if os.getuid() == 0:
        lines += ["User %s" % user.pw_name, "Group %s" % user.pw_name]
    lines += [
        "ServerRoot %s" % ar, "ServerName 127.0.0.1", "Listen 127.0.0.1:%d" % port,
        "DefaultRuntimeDir %s/run" % ar, "PidFile %s/run/httpd.pid" % ar,
        "ErrorLog %s/error.log" % ar, "LogLevel warn",
        "TypesConfig /etc/mime.types",
        "FcgidIPCDir %s/fcgid" % ar, "FcgidProcessTableFile %s/fcgid/shm" % ar,
        # A shared host's vhost: .htaccess may set handlers, rewrites, access and a few
        # options; symbolic links only when owners match; mod_fcgid's default request limit.
        "DocumentRoot %s" % web,
        "<Directory />", "  AllowOverride None", "  Require all denied", "</Directory>",
        "<Directory %s>" % web,
        "  Options SymLinksIfOwnerMatch",
        "  AllowOverride AuthConfig FileInfo Indexes Limit "
        "Options=ExecCGI,Indexes,MultiViews,SymLinksIfOwnerMatch",
        "  Require all granted", "</Directory>",
    ]
    path = os.path.join(ar, "httpd.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Site:
    """The install through Apache, signed in as its first admin."""

    def __init__(self, s, base):
        self.s, self.base, self.cookie, self.csrf = s, base, None, None

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = "pregon_session=" + self.cookie
            h["X-CSRF-Token"] = self.csrf
        return self.s.request(method, path, body, headers=h, base=self.base)

    def login(self, email, password):
        r = self.req("POST", "/api/session", {"email": email, "password": password})
        eq(r.status, 200, "sign-in through Apache: %r" % r)
        for c in r.cookies:
            name, _, value = c.split(";", 1)[0].partition("=")
            if name.strip() == "pregon_session":
                self.cookie = value.strip()
        self.csrf = r.json()["csrf_token"]


def _csv(target, first=1000000):
    rows, i = ["phone,name,day,consent"], 0
    size = len(rows[0]) + 1
    while size < target:
        line = "+549387%07d,Persona %d,martes,si" % (first + i, i)
        rows.append(line)
        size += len(line) + 1
        i += 1
    return "\n".join(rows) + "\n", i


# The panel's own code (www/js/api.js uploadChunked) under node, its fetch pointed at Apache
# with the session's cookie: every request it makes and the largest body are counted.
PANEL_UPLOAD = """
import fs from 'node:fs';
const [api, base, cookie, csrf, path, finish, file] = process.argv.slice(1);
const { uploadChunked, setCsrf } = await import(api);
const real = globalThis.fetch;
let requests = 0, largest = 0;
globalThis.fetch = (p, opts) => {
  requests++;
  if (opts.body && opts.body.size) largest = Math.max(largest, opts.body.size);
  const { cache, credentials, ...rest } = opts;
  return real(base + p, { ...rest, headers: { ...opts.headers, Cookie: 'pregon_session=' + cookie } });
};
setCsrf(csrf);
const report = await uploadChunked(path, new Blob([fs.readFileSync(file)]), JSON.parse(finish));
console.log(JSON.stringify({ report, requests, largest }));
"""


def _panel_upload(site, upload_path, finish, path):
    """The panel's uploadChunked to the session under upload_path (finish: its parameters)."""
    api = "file://" + os.path.join(ROOT, "www", "js", "api.js")
    r = subprocess.run(["node", "--input-type=module", "-e", PANEL_UPLOAD, api, site.base,
                        site.cookie, site.csrf, upload_path, json.dumps(finish), path],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, "the panel's chunked upload: " + r.stdout + r.stderr)
    return json.loads(r.stdout)


def _pieces_again_and_gaps(site, cid):
    """A piece sent again (its answer lost) is stored once; a gap is refused."""
    r = site.req("POST", "/api/campaigns/%d/uploads" % cid, {})
    eq(r.status, 201, "upload session: %r" % r)
    tok = r.json()["upload"]
    url = "/api/campaigns/%d/uploads/chunk?upload=%s&offset=%%d" % (cid, tok)
    octets = {"Content-Type": "application/octet-stream"}
    piece = b"phone,name,day,consent\n"
    eq(site.req("POST", url % 0, piece, headers=octets).json()["received"], len(piece), "one")
    eq(site.req("POST", url % 0, piece, headers=octets).json()["received"], len(piece), "again")
    r = site.req("POST", url % (len(piece) + 10), b"x", headers=octets)
    eq((r.status, r.error_code()), (409, "offset_mismatch"), "a gap")
    r = site.req("POST", "/api/campaigns/%d/uploads/finish?upload=%s" % (cid, tok))
    eq((r.status, r.error_code()), (422, "no_rows"), "a header alone says so")
    r = site.req("POST", "/api/campaigns/%d/uploads/finish?upload=%s" % (cid, tok))
    eq(r.status, 404, "finished once")


def test_shared_hosting_apache_end_to_end(s):
    for need in ("/usr/sbin/apache2", MODULES + "/mod_fcgid.so", "/usr/bin/patchelf"):
        check(os.path.exists(need), "%s missing: run scripts/deps.sh" % need)
    user = _hosting_user()
    tmp = tempfile.mkdtemp(prefix="pregon-apache-")
    os.chmod(tmp, 0o755)
    db = apache = None
    ok = False
    try:
        db, db_port, db_password, admin = _start_mariadb(tmp)
        # The bundle as make bundle builds it, from the binaries under test.
        r = subprocess.run([os.path.join(ROOT, "scripts", "bundle.sh"), s.build,
                            os.path.join(tmp, "pregon")], capture_output=True, text=True)
        check(r.returncode == 0, "bundle: " + r.stdout + r.stderr)
        tarball = os.path.join(tmp, "pregon-bundle.tar.gz")
        with tarfile.open(tarball, "w:gz") as t:
            t.add(os.path.join(tmp, "pregon"), arcname="pregon")
        shutil.rmtree(os.path.join(tmp, "pregon"))

        acct_home = os.path.join(tmp, "home")  # the hosting account's home
        web = os.path.join(acct_home, "public_html")
        os.makedirs(web)
        http_port = free_port()
        conf = _apache_conf(tmp, http_port, web, user)

        # From here on, what the operator does.
        t0 = time.time()
        with tarfile.open(tarball) as t:
            t.extractall(acct_home)
        home = os.path.join(acct_home, "pregon")
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "%s:%s" % (user.pw_name, user.pw_name), acct_home],
                           check=True)
        env = {"PATH": "/usr/bin:/bin"}
        # The bundle's binaries load the bundle's libraries, not the system's.
        r = _as_user(user, ["ldd", home + "/bin/pregon-fcgi"], env)
        for lib in ("libfcgi", "libmariadb", "libjson-c", "libsodium", "libcsv", "libcurl"):
            line = [x for x in r.stdout.splitlines() if lib in x]
            check(line and home + "/bin/../lib/" in line[0], "%s from the bundle: %s" % (lib, line))
        admin_password = strong_password()
        setup_env = dict(env, PREGON_DB_PASSWORD=db_password,
                         PREGON_ADMIN_PASSWORD=admin_password,
                         PREGON_ACCESS_TOKEN=s.secrets["SANDBOX_TOKEN"],
                         PREGON_APP_SECRET=s.secrets["SANDBOX_APP_SECRET"])
        base = "http://127.0.0.1:%d" % http_port
        setup = [home + "/scripts/setup-shared.sh", "--web", web, "--public-url", base,
                 "--db-name", DB_NAME, "--db-user", DB_USER, "--db-port", str(db_port),
                 "--admin-email", "admin@pregon.test", "--sandbox", s.sandbox,
                 "--waba-id", WABA, "--phone-number-id", PHONE_ID, "--display-phone", DISPLAY,
                 "--verify-token", s.secrets["SANDBOX_VERIFY_TOKEN"]]
        r = _as_user(user, setup, setup_env)
        check(r.returncode == 0, "setup-shared.sh:\n" + r.stdout + r.stderr)
        t_setup = time.time() - t0
        check("cannot create triggers" in r.stderr, "triggers skipped, said so: " + r.stderr)
        check("no grants needed" in r.stdout, "no GRANT step: " + r.stdout)
        cron = [x for x in r.stdout.splitlines() if x.startswith("* * * * * ")]
        eq(len(cron), 1, "the cron line printed: " + r.stdout)
        # Re-runnable: a second setup (and migration) over the same install changes nothing.
        r = _as_user(user, setup, setup_env)
        check(r.returncode == 0, "setup-shared.sh again:\n" + r.stdout + r.stderr)

        # Every migration applies again over what it left (as after a failure half-way):
        # forget they ran, run them again, as the host's user (no triggers) ...
        migrate = home + "/scripts/migrate.sh"
        sql = admin + [DB_NAME, "-e"]
        subprocess.run(sql + ["DELETE FROM schema_migrations"], check=True)
        r = _as_user(user, [migrate, home + "/var/db.cnf", DB_NAME, DB_USER], env)
        check(r.returncode == 0, "migrations again, no triggers:\n" + r.stdout + r.stderr)
        # Naming another application user, which this account may not grant to: the schema
        # is done and the message says what to do; no failure.
        r = _as_user(user, [migrate, home + "/var/db.cnf", DB_NAME, "other_app"], env)
        check(r.returncode == 0 and "may not grant to other_app" in r.stderr,
              "grants out of reach: %r" % (r.stdout + r.stderr))
        # ... and as an account that may create triggers, twice over a fresh database.
        subprocess.run(admin + ["-e", "CREATE DATABASE full_schema"], check=True)
        root_cnf = os.path.join(tmp, "root.cnf")
        with open(root_cnf, "w") as f:
            f.write("[client]\nsocket=%s\nuser=%s\n" % (admin[2].split("=", 1)[1], admin[4]))
        for _ in range(2):
            r = subprocess.run([migrate, root_cnf, "full_schema", DB_USER], capture_output=True,
                               text=True)
            check(r.returncode == 0, "migrations with triggers:\n" + r.stdout + r.stderr)
            subprocess.run(admin + ["full_schema", "-e", "DELETE FROM schema_migrations"],
                           check=True)
        out = subprocess.run(admin + ["-e", "SELECT COUNT(*) FROM information_schema.TRIGGERS "
                                      "WHERE TRIGGER_SCHEMA = 'full_schema'; SELECT value FROM "
                                      "full_schema.schema_settings"],
                             capture_output=True, text=True).stdout.split()
        eq(out, [str(len(_schema_triggers())), "triggers"],
           "the triggers and what the health answer reads")
        out = subprocess.run(sql + ["SELECT COUNT(*) FROM information_schema.TRIGGERS "
                                    "WHERE TRIGGER_SCHEMA = DATABASE()"],
                             capture_output=True, text=True).stdout.split()
        eq(out, ["0"], "no trigger on the host's database")

        apache = subprocess.Popen(["/usr/sbin/apache2", "-f", conf, "-DFOREGROUND"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(tmp, "apache-stderr.log"), "w"),
                                  env={"PATH": "/usr/bin:/bin"}, start_new_session=True)
        site = Site(s, base)
        def up():
            check(apache.poll() is None, "Apache exited: see %s/apache" % tmp)
            try:
                return site.req("GET", "/api/health").status == 200
            except OSError:
                return False
        s.wait_for("Apache", up, timeout=30)
        health = site.req("GET", "/api/health").json()
        eq(health["database"], "ok", "health")
        eq(health["append_only"], "application", "health says who keeps the append-only rule")
        eq(site.req("GET", "/").status, 200, "the panel")

        # Private files, wherever they land in the web folder.
        for name in ("pregon.conf", "db.cnf", "db-password", "pregon.log", "index.html.bak",
                     "index.html~", "var/secret.key", "var/db-password", "config.conf"):
            path = os.path.join(web, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("secret\n")
            os.chmod(path, 0o644)
            r = site.req("GET", "/" + name)
            eq(r.status, 403, "/%s refused" % name)
            check("secret" not in r.body, "/%s not served" % name)
        eq(site.req("GET", "/.htaccess").status, 403, ".htaccess refused")
        r = site.req("GET", "/pregon.fcgi")
        check(r.status >= 400 and "PREGON_HOME" not in r.body, "the wrapper runs, never shown")

        # Meta's verification handshake and a too-large body, through Apache.
        r = site.req("GET", "/webhook?hub.mode=subscribe&hub.verify_token=%s&hub.challenge=4711"
                     % s.secrets["SANDBOX_VERIFY_TOKEN"])
        eq((r.status, r.body), (200, "4711"), "handshake")
        site.login("admin@pregon.test", admin_password)
        r = site.req("POST", "/api/campaigns/1/recipients", "x" * (200 * 1024),
                     headers={"Content-Type": "text/csv"})
        eq(r.status, 413, "over mod_fcgid's limit")
        eq(json.loads(r.body)["error"]["code"], "body_too_large", "413 in the JSON shape")

        eq(site.req("POST", "/api/templates/sync", {}).status, 200, "templates")
        r = site.req("POST", "/api/campaigns", {
            "name": "Hosting", "template_name": "recordatorio_clase",
            "template_language": "es_AR",
            "body_params": [{"column": "name"}, "Robótica", {"column": "day"}]})
        eq(r.status, 201, "campaign: %r" % r)
        cid = r.json()["id"]
        _pieces_again_and_gaps(site, cid)
        # PREGON_APACHE_CSV_MB: a larger audience for a one-off measurement (1 MB by default).
        data, rows = _csv(int(float(os.environ.get("PREGON_APACHE_CSV_MB", "1")) * 1024 * 1024))
        csv_path = os.path.join(tmp, "audiencia.csv")
        with open(csv_path, "w") as f:
            f.write(data)
        t_up = time.time()
        up = _panel_upload(site, "/api/campaigns/%d/uploads" % cid,
                           {"filename": "audiencia.csv"}, csv_path)
        t_up = time.time() - t_up
        eq(up["report"]["accepted"], rows, "every row of the 1 MB CSV imported: %r"
           % {k: v for k, v in up["report"].items() if k != "rejected"})
        check(0 < up["largest"] <= 64 * 1024, "pieces of 64 KiB at most: %d" % up["largest"])
        eq(up["requests"], 2 + (len(data) + 65535) // 65536, "one request per piece")
        eq(site.req("GET", "/api/campaigns/%d" % cid).json()["counters"]["total"], rows, "total")
        # The contacts book takes a CSV over mod_fcgid's limit the same way (the contacts view).
        kdata, krows = _csv(200 * 1024, first=5000000)
        check(len(kdata) > 128 * 1024, "over the limit: %d bytes" % len(kdata))
        with open(csv_path, "w") as f:
            f.write(kdata)
        kup = _panel_upload(site, "/api/contacts/uploads", {"tags": "hosting"}, csv_path)
        eq((kup["report"]["rows"], kup["report"]["stored"], kup["report"]["added"]),
           (krows, krows, krows), "every contact imported: %r"
           % {k: v for k, v in kup["report"].items() if k != "rejected"})
        check(0 < kup["largest"] <= 64 * 1024, "contact pieces of 64 KiB at most")
        eq(kup["requests"], 2 + (len(kdata) + 65535) // 65536, "one request per contact piece")
        r = site.req("GET", "/api/tags").json()["tags"]
        eq({t["tag"]: t["contacts"] for t in r}.get("hosting"), krows, "the finish's tags")
        r = site.req("POST", "/api/campaigns/%d/start" % cid, {"acknowledge_risk": True})
        eq(r.status, 200, "start: %r" % r)

        # cron: the line setup printed, twice at once (one steps aside), then once more.
        line = cron[0][len("* * * * * "):].replace("--drain 55", "--drain 6")
        run = ["sh", "-c", line]
        a = subprocess.Popen((["runuser", "-u", user.pw_name, "--"] if os.getuid() == 0 else [])
                             + ["env", "-i", "PATH=/usr/bin:/bin"] + run)
        time.sleep(0.5)
        eq(_as_user(user, run, env).returncode, 0, "the overlapping run exits at once")
        first = s.wait_for("the first message sent", lambda: int(subprocess.run(
            admin + [DB_NAME, "-e", "SELECT COUNT(*) FROM send_log WHERE outcome = 'sent'"],
            capture_output=True, text=True).stdout.strip() or 0) > 0, timeout=60, interval=0.05)
        t_first = time.time() - t0
        eq(a.wait(timeout=60), 0, "the drain run")
        eq(_as_user(user, run, env).returncode, 0, "the next drain run")
        with open(os.path.join(home, "var", "log", "pregon.log")) as f:
            check("another draining worker" in f.read(), "the overlapping run stepped aside")
        out = subprocess.run(admin + [DB_NAME, "-e",
                                      "SELECT COUNT(*), COUNT(DISTINCT recipient_id) FROM send_log "
                                      "WHERE outcome = 'sent'"],
                             capture_output=True, text=True).stdout.split()
        check(int(out[0]) > 0 and out[0] == out[1], "sent once each: %r" % out)
        camp = site.req("GET", "/api/campaigns/%d" % cid).json()
        check(camp["counters"]["sent"] >= int(out[0]), "counters: %r" % camp["counters"])

        # A signed status webhook through Apache, applied.
        wamid, phone = subprocess.run(
            admin + [DB_NAME, "-e", "SELECT wamid, phone FROM recipients WHERE campaign_id = %d "
                     "AND status = 'sent' ORDER BY id LIMIT 1" % cid],
            capture_output=True, text=True).stdout.split()
        payload = {"object": "whatsapp_business_account", "entry": [{"id": WABA, "changes": [
            {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {
                "display_phone_number": DISPLAY, "phone_number_id": PHONE_ID},
                "statuses": [{"id": wamid, "status": "delivered",
                              "timestamp": str(int(time.time())),
                              "recipient_id": phone[1:]}]}}]}]}
        raw = json.dumps(payload).encode()
        bad = site.req("POST", "/webhook", raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64})
        eq(bad.status, 401, "a forged signature")
        r = site.req("POST", "/webhook", raw, headers={"Content-Type": "application/json",
                                                       "X-Hub-Signature-256": s.sign(raw)})
        eq(r.status, 200, "signed webhook: %r" % r)
        s.wait_for("the status applied", lambda: subprocess.run(
            admin + [DB_NAME, "-e", "SELECT status FROM recipients WHERE wamid = '%s'" % wamid],
            capture_output=True, text=True).stdout.strip() == "delivered", timeout=30)
        print("   shared hosting: unpacking to the first message sent: %.1f s (unpack and "
              "setup-shared.sh %.1f s; %d recipients, %d bytes in %d pieces, %.1f s)"
              % (t_first, t_setup, rows, len(data), (len(data) + 65535) // 65536, t_up))
        # Under a sanitizer build, what the bundle's processes reported (mod_fcgid sends their
        # standard error to Apache's log, cron's to worker.log).
        apache.terminate()
        apache.wait(timeout=20)
        for log in (os.path.join(tmp, "apache", "error.log"),
                    os.path.join(home, "var", "log", "worker.log"),
                    os.path.join(home, "var", "log", "pregon.log")):
            with open(log, errors="replace") as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                check(marker not in text, "%s in %s" % (marker, log))
        ok = True
    finally:
        if apache is not None and apache.poll() is None:
            apache.terminate()
            try:
                apache.wait(timeout=20)
            except subprocess.TimeoutExpired:
                apache.kill()
        if db is not None:
            db.terminate()
            db.wait(timeout=60)
        if ok and not os.environ.get("PREGON_KEEP_STATE"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("   shared-hosting state kept in %s" % tmp)


def test_wrapper_finds_its_install_without_home(s):
    """deploy/apache/pregon.fcgi as shipped (no PREGON_HOME line): mod_fcgid starts it with no
    $HOME and no PATH; it finds the install above its own folder, or says what is missing."""
    tmp = tempfile.mkdtemp(prefix="pregon-wrapper-")
    try:
        inst = os.path.join(tmp, "inst")
        os.makedirs(os.path.join(inst, "bin"))
        os.makedirs(os.path.join(inst, "www", "app"))
        fake = os.path.join(inst, "bin", "pregon-fcgi")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\necho "$PREGON_HOME|$PREGON_CONFIG|$PREGON_FCGI_PROCS|$HOME"\n')
        os.chmod(fake, 0o755)
        wrapper = os.path.join(inst, "www", "app", "pregon.fcgi")
        shutil.copy(os.path.join(ROOT, "deploy", "apache", "pregon.fcgi"), wrapper)
        r = subprocess.run(["/usr/bin/env", "-i", "/bin/sh", wrapper], capture_output=True,
                           text=True)
        eq((r.returncode, r.stdout.strip()), (0, "%s|%s/pregon.conf|1|" % (inst, inst)),
           "found from www/app: " + r.stderr)
        lone = os.path.join(tmp, "elsewhere", "pregon.fcgi")
        os.makedirs(os.path.dirname(lone))
        shutil.copy(wrapper, lone)
        r = subprocess.run(["/usr/bin/env", "-i", "/bin/sh", lone], capture_output=True,
                           text=True)
        check(r.returncode == 1 and "set PREGON_HOME in this file" in r.stderr,
              "no install above: %r" % (r.stderr,))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_dev_site_refuses_private_paths_and_answers_413_as_json(s):
    """nginx/pregon-dev.conf.in (make run, these tests) has the same deny list and 413 shape."""
    for path in ("/var/secret.key", "/pregon.conf", "/db.cnf", "/x.log", "/index.html.bak",
                 "/index.html~", "/db-password", "/.env"):
        eq(s.request("GET", path, auth=None).status, 403, path)
    conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=5)
    conn.putrequest("POST", "/webhook")
    conn.putheader("Content-Length", str(5 * 1024 * 1024))
    conn.endheaders()
    resp = conn.getresponse()
    eq(resp.status, 413, "over the webhook's limit")
    eq(json.loads(resp.read())["error"]["code"], "body_too_large", "413 as JSON")
    conn.close()
