"""The sandbox Graph API must speak Meta's shapes: its own behaviour suite, run against the
binary of this build on free ports."""

import os
import subprocess
import sys

from harness import ROOT, check, free_port


def test_sandbox_behaves_like_meta(s):
    port = free_port()
    while True:  # the suite uses port and port + 1
        try:
            import socket
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 1))
            break
        except OSError:
            port = free_port()
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "sandbox", "smoke.py"),
                        os.path.join(s.build, "bin", "pregon-sandbox"), str(port)],
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    check(r.returncode == 0 and not fails, "sandbox suite failed:\n" + "\n".join(fails or
                                                                                  [out[-3000:]]))
    check(out.count("\nok ") + out.startswith("ok ") >= 50, "the suite ran its checks")
