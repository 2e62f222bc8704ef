"""The admin panel end to end in a real browser: Debian's headless Chromium driven by
playwright-core (tests/e2e/), against this suite's isolated stack. The browser scenario is
tests/e2e/*.test.mjs (panel.test.mjs is the operator's whole scenario; other files add
scenarios of their own); screenshots of every screen go to tests/out/screenshots/."""

import os
import shutil
import subprocess

from harness import ROOT

E2E = os.path.join(ROOT, "tests", "e2e")
CHROMIUM = os.environ.get("PREGON_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.path.join(ROOT, "tests", "out", "screenshots")


def _tools():
    node = shutil.which("node")
    npm = shutil.which("npm")
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append("%s (apt-get install chromium)" % CHROMIUM)
    if not node:
        missing.append("node (apt-get install nodejs npm)")
    return node, npm, missing


def _install(npm):
    """npm ci when node_modules is missing or older than the lock file."""
    mod = os.path.join(E2E, "node_modules", "playwright-core", "package.json")
    lock = os.path.join(E2E, "package-lock.json")
    if os.path.exists(mod) and os.path.getmtime(mod) >= os.path.getmtime(lock):
        return
    if not npm:
        raise AssertionError("tests/e2e/node_modules is missing and npm is not installed: "
                             "run npm ci --prefix tests/e2e")
    r = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", E2E],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise AssertionError("npm ci --prefix tests/e2e failed:\n" + r.stdout + r.stderr)


def test_admin_panel_in_chromium(s):
    node, npm, missing = _tools()
    # A missing tool fails the test: it must never pass without running (make deps installs
    # them: scripts/deps.sh).
    if missing:
        raise AssertionError("not installed: %s (make deps)" % ", ".join(missing))
    _install(npm)
    env = dict(os.environ)
    env.update({
        "PREGON_BASE": s.base,
        "PREGON_ADMIN_EMAIL": s.admin_email,
        "PREGON_ADMIN_PASSWORD": s.admin_password,
        "PREGON_SANDBOX": s.sandbox,
        "PREGON_CHROMIUM": CHROMIUM,
        "PREGON_SCREENSHOTS": SHOTS,
    })
    log = os.path.join(ROOT, "tests", "out", "e2e.log")
    os.makedirs(os.path.dirname(log), exist_ok=True)
    files = sorted(os.path.join(E2E, f) for f in os.listdir(E2E) if f.endswith(".test.mjs"))
    r = subprocess.run([node, "--test", "--test-reporter=spec", "--test-concurrency=1"] + files,
                       cwd=E2E, env=env, capture_output=True, text=True, timeout=1200)
    out = r.stdout + r.stderr
    with open(log, "w") as f:
        f.write(out)
    # One line per browser step in the suite's output.
    for line in out.splitlines():
        st = line.strip()
        if st.startswith(("✔", "✖")) and "admin panel" not in st:
            print("      " + st)
    if r.returncode != 0:
        raise AssertionError("the browser tests failed (full log in tests/out/e2e.log):\n" +
                             out[-6000:])
