"""Deployment pieces: `make install`, the production nginx site and the systemd units."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import urllib.request

from harness import ROOT, check, eq, free_port


def test_make_install_lays_out_everything(s):
    dest = tempfile.mkdtemp(prefix="pregon-install-")
    try:
        r = subprocess.run(["make", "-s", "install-files", "DESTDIR=" + dest, "PREFIX=/usr",
                            "BUILD=" + s.build], cwd=ROOT, capture_output=True, text=True)
        eq(r.returncode, 0, "make install: " + r.stderr[-2000:])
        for path in ("usr/bin/pregon-fcgi", "usr/bin/pregon-worker", "usr/bin/pregonctl",
                     "usr/share/pregon/www/index.html", "usr/share/pregon/www/js/errcodes.js",
                     "usr/share/pregon/sql/001_core.sql",
                     "usr/share/pregon/scripts/migrate.sh", "usr/share/pregon/nginx/pregon.conf",
                     "usr/share/pregon/deploy/systemd/pregon-fcgi.service",
                     "usr/share/pregon/deploy/logrotate/pregon",
                     "usr/share/pregon/deploy/apache/htaccess",
                     "etc/pregon/pregon.conf.example", "usr/share/doc/pregon/README.md"):
            check(os.path.exists(os.path.join(dest, path)), "installed: " + path)
        check(os.access(os.path.join(dest, "usr/bin/pregon-worker"), os.X_OK), "executable")
        with open(os.path.join(dest, "usr/share/pregon/deploy/systemd/pregon-worker.service")) as f:
            unit = f.read()
        check("ExecStart=/usr/bin/pregon-worker -c /etc/pregon/pregon.conf" in unit,
              "unit follows PREFIX: " + unit)
        with open(os.path.join(dest, "usr/share/pregon/nginx/pregon.conf")) as f:
            site = f.read()
        check("/usr/local" not in site and "root /usr/share/pregon/www;" in site,
              "site follows PREFIX")
        with open(os.path.join(dest, "usr/share/pregon/www/index.html")) as f:
            index = f.read()
        check("?v=dev" not in index, "asset links carry the version")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_systemd_units_verify(s):
    if not shutil.which("systemd-analyze"):
        return  # not a systemd machine: nothing to verify against
    tmp = tempfile.mkdtemp(prefix="pregon-units-")
    try:
        names = []
        for name in ("pregon-fcgi.service", "pregon-webhook.service", "pregon-worker.service"):
            with open(os.path.join(ROOT, "deploy", "systemd", name)) as f:
                unit = f.read()
            # verify checks that ExecStart exists: point it at the binaries just built.
            unit = unit.replace("/usr/local/bin", os.path.join(s.build, "bin"))
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(unit)
            names.append(path)
        r = subprocess.run(["systemd-analyze", "verify"] + names, capture_output=True, text=True)
        out = r.stdout + r.stderr
        eq(r.returncode, 0, "systemd-analyze verify: " + out)
        check("Unknown" not in out and "Invalid" not in out, "no unknown or invalid keys: " + out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_production_nginx_site_serves_the_app(s):
    tmp = tempfile.mkdtemp(prefix="pregon-prod-nginx-")
    os.chmod(tmp, 0o755)
    pid = None
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                           capture_output=True, text=True)
        eq(r.returncode, 0, "throwaway certificate: " + r.stderr)
        os.chmod(key, 0o644)
        http_port, https_port = free_port(), free_port()
        with open(os.path.join(ROOT, "nginx", "pregon.conf")) as f:
            site = f.read()
        site = (site.replace("listen 80;", "listen 127.0.0.1:%d;" % http_port)
                .replace("listen [::]:80;", "")
                .replace("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % https_port)
                .replace("listen [::]:443 ssl http2;", "")
                .replace("/etc/ssl/pregon/fullchain.pem", cert)
                .replace("/etc/ssl/pregon/privkey.pem", key)
                .replace("/var/log/nginx/pregon-access.log", os.path.join(tmp, "access.log"))
                .replace("/usr/local/share/pregon/www", os.path.join(tmp, "www"))
                .replace("/usr/local/share/pregon/nginx", os.path.join(ROOT, "nginx"))
                .replace("/run/pregon/fcgi.sock", os.path.join(s.var, "run", "pregon-fcgi.sock"))
                .replace("/run/pregon/webhook.sock",
                         os.path.join(s.var, "run", "pregon-webhook.sock")))
        with open(os.path.join(tmp, "site.conf"), "w") as f:
            f.write(site)
        # A copy of www/ with private files landed in it by mistake.
        shutil.copytree(os.path.join(ROOT, "www"), os.path.join(tmp, "www"))
        private = ("pregon.conf", "db.cnf", "db-password", "pregon.log", "index.html.bak",
                   "index.html~", "var/secret.key", ".env")
        for name in private:
            path = os.path.join(tmp, "www", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write("secret\n")
        user = "user www-data www-data;" if os.getuid() == 0 else ""
        main = """%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path %s/body; fastcgi_temp_path %s/fcgi; proxy_temp_path %s/proxy;
    uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;
    include %s/site.conf;
}
""" % ((user,) + (tmp,) * 8)
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(main)
        r = subprocess.run(["nginx", "-t", "-p", tmp, "-c", conf], capture_output=True, text=True)
        eq(r.returncode, 0, "nginx -t: " + r.stderr)
        pid = subprocess.Popen(["nginx", "-p", tmp, "-c", conf], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        def health():
            try:
                with urllib.request.urlopen("https://127.0.0.1:%d/api/health" % https_port,
                                            context=ctx, timeout=5) as resp:
                    return resp.status, dict(resp.headers), resp.read().decode()
            except OSError:
                return None

        status, headers, body = s.wait_for("the production site", health, timeout=20)
        eq(status, 200, "health over HTTPS")
        check('"database":"ok"' in body, "the app answers through the production site")
        check("max-age=" in headers.get("Strict-Transport-Security", ""), "HSTS")
        check("default-src 'self'" in headers.get("Content-Security-Policy", ""), "CSP")
        eq(headers.get("X-Frame-Options"), "DENY", "frame options")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **kw):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open("http://127.0.0.1:%d/api/health" % http_port, timeout=5)
            raise AssertionError("plain HTTP was served")
        except urllib.error.HTTPError as e:
            eq(e.code, 301, "HTTP redirects to HTTPS")
            check(e.headers["Location"].startswith("https://"), "to https")
        with urllib.request.urlopen("https://127.0.0.1:%d/favicon.svg" % https_port, context=ctx,
                                    timeout=5) as resp:
            check("max-age=2592000" in resp.headers.get("Cache-Control", ""), "images cached")
        with urllib.request.urlopen("https://127.0.0.1:%d/app.js" % https_port, context=ctx,
                                    timeout=5) as resp:
            eq(resp.headers.get("Cache-Control"), "no-cache", "modules revalidated")
            check("default-src" in resp.headers.get("Content-Security-Policy", ""),
                  "security headers on assets too")
        for name in private:
            try:
                urllib.request.urlopen("https://127.0.0.1:%d/%s" % (https_port, name),
                                       context=ctx, timeout=5)
                raise AssertionError("/%s was served" % name)
            except urllib.error.HTTPError as e:
                eq(e.code, 403, "/%s refused" % name)
        # Over client_max_body_size: nginx answers from the headers, in the API's JSON shape.
        conn = http.client.HTTPSConnection("127.0.0.1", https_port, context=ctx, timeout=5)
        conn.putrequest("POST", "/webhook")
        conn.putheader("Content-Length", str(5 * 1024 * 1024))
        conn.endheaders()
        resp = conn.getresponse()
        eq(resp.status, 413, "over the webhook's limit")
        eq(json.loads(resp.read())["error"]["code"], "body_too_large", "413 as JSON")
        conn.close()
    finally:
        if pid:
            pid.terminate()
            pid.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def test_pregonctl_operator_commands(s):
    ctl = os.path.join(s.build, "bin", "pregonctl")
    conf = os.path.join(s.var, "pregon.conf")
    r = subprocess.run([ctl, "-c", conf, "check", "--graph"], capture_output=True, text=True, env=s.env)
    eq(r.returncode, 0, "check: " + r.stdout + r.stderr)
    check("database: ok" in r.stdout, "database checked")
    check("graph api, account" in r.stdout and "sandbox): ok" in r.stdout,
          "the sandbox answers the account's token: " + r.stdout)
    token = s.secrets["SANDBOX_TOKEN"]
    check(token not in r.stdout + r.stderr, "the token never printed")
    # Migrations again: nothing to apply, grants re-asserted, exit 0.
    r = subprocess.run([ctl, "-c", conf, "migrate", "--admin-defaults",
                        os.path.join(s.var, "admin.cnf")], capture_output=True, text=True,
                       env=dict(s.env, PREGON_DATADIR=ROOT))
    eq(r.returncode, 0, "migrate: " + r.stdout + r.stderr)
    check("applying" not in r.stdout, "nothing left to apply")
    c = s.create_campaign(name="Estado CLI")
    r = subprocess.run([ctl, "-c", conf, "campaign-status", str(c["id"])], capture_output=True,
                       text=True, env=s.env)
    eq(r.returncode, 0, "campaign-status: " + r.stderr)
    check("Estado CLI" in r.stdout and "draft" in r.stdout, r.stdout)
    r = subprocess.run([ctl, "-c", conf, "campaign-status", "999999999"], capture_output=True,
                       text=True, env=s.env)
    eq(r.returncode, 1, "unknown campaign")


def test_pregonctl_contacts_import(s):
    """The CLI runs the API's import: same rules, same report, exit 3 when rows are rejected."""
    ctl = os.path.join(s.build, "bin", "pregonctl")
    conf = os.path.join(s.var, "pregon.conf")
    s.post("/api/opt-outs", {"phone": "+5493875558803"})
    tmp = tempfile.mkdtemp(prefix="pregon-ctl-import-")
    try:
        path = os.path.join(tmp, "contactos.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("\ufefftelefono;nombre;consent;tags;ciudad\r\n"
                    "+5493875558801;Ana CLI;si;cli_a;Salta\r\n"
                    "0387 15 555-8802;Beto CLI;sí;;Jujuy\r\n"
                    "+5493875558803;Opt Out;si;;Salta\r\n"
                    "12;Corto;si;;Salta\r\n"
                    "+5493875558801;Ana otra vez;si;;Salta\r\n"
                    "+5493875558804;Sin consentimiento;;;Salta\r\n")

        def run(*extra):
            # in English, as the harness asks the API (the report is compared below)
            return subprocess.run([ctl, "-c", conf, "contacts-import", path] + list(extra),
                                  capture_output=True, text=True,
                                  env=dict(s.env, PREGON_LANG="en"))

        def count():
            return s.query("SELECT COUNT(*) AS n FROM contacts WHERE phone LIKE '+549387555880%%'"
                           )[0]["n"]

        r = run("--tags", "cli_import,lote1", "--consent-source", "feria 2026", "--dry-run")
        eq(r.returncode, 3, "dry run, rows rejected: " + r.stdout + r.stderr)
        check("dry run" in r.stdout, r.stdout)
        eq(count(), 0, "dry run stores nothing")
        r = run("--tags", "cli_import,lote1", "--consent-source", "feria 2026")
        eq(r.returncode, 3, "some rows rejected -> exit 3: " + r.stdout + r.stderr)
        check("6 rows: 2 stored (2 new contacts), 4 rejected" in r.stdout, r.stdout)
        for line, reason in ((4, "opted_out"), (5, "invalid_number"), (6, "duplicate"),
                             (7, "no_consent")):
            check(("line %d: %s" % (line, reason)) in r.stdout or
                  (line == 5 and "line 5: " in r.stdout), "line %d reported: %s" % (line, r.stdout))
        eq(count(), 2, "valid rows imported")
        ana = s.get("/api/contacts?q=%2B5493875558801").json()["contacts"][0]
        eq(sorted(ana["tags"]), ["cli_a", "cli_import", "lote1"], "row and option tags")
        eq(ana["consent"]["source"], "feria 2026", "consent source from the option")
        eq(ana["attributes"], {"ciudad": "Salta"}, "other columns are attributes")
        check(s.query("SELECT 1 FROM audit_log WHERE action = 'contacts.import' AND actor LIKE "
                      "'pregonctl:%%'"), "audited as pregonctl")
        # The JSON report is the API's, and a second run adds nothing.
        r = run("--json", "--tags", "cli_import")
        eq(r.returncode, 3, r.stderr)
        rep = json.loads(r.stdout)
        eq((rep["rows"], rep["stored"], rep["added"], rep["rejected_total"]), (6, 2, 0, 4),
           "second run: %r" % rep)
        eq(count(), 2, "second run adds nothing")
        with open(path, "rb") as f:
            api = s.post("/api/contacts/import?tags=cli_import", f.read(),
                         headers={"Content-Type": "text/csv"}).json()
        eq(api, rep, "the API answers the same report")
        r = s.post("/api/contacts/import?consent_source=", "phone,consent\n+5493875558806,si\n",
                   headers={"Content-Type": "text/csv"})
        eq((r.status, r.json()["error"]["field"]), (400, "consent_source"), "empty source")
        r = s.post("/api/contacts/import?consent_source=formulario%20web",
                   "phone,consent\n+5493875558806,si\n", headers={"Content-Type": "text/csv"})
        eq((r.status, r.json()["added"]), (200, 1), "API import: %r" % r)
        k = s.get("/api/contacts?q=%2B5493875558806").json()["contacts"][0]
        eq(k["consent"]["source"], "formulario web", "the API's consent_source")
        # every row good -> 0; a file without a phone column -> 1 and nothing stored
        with open(path, "w") as f:
            f.write("phone,consent\n+5493875558805,yes\n")
        r = run()
        eq(r.returncode, 0, "all rows stored: " + r.stdout + r.stderr)
        eq(count(), 4, "stored")
        with open(path, "w") as f:
            f.write("nombre,consent\nAna,yes\n")
        r = run()
        eq(r.returncode, 1, "no phone column: " + r.stdout + r.stderr)
        check("phone column" in r.stderr and "nothing imported" in r.stderr, r.stderr)
        r = subprocess.run([ctl, "-c", conf, "contacts-import"], capture_output=True, text=True,
                           env=s.env)
        eq(r.returncode, 2, "usage")
        r = run("--country", "ZZ")
        eq(r.returncode, 2, "unknown country")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
