"""Random and mutated CSV audiences through nginx (issue #17): binary noise, UTF-16, huge
fields, NUL bytes, unbalanced quotes, 10,000 columns. Every answer is a 4xx that names the
line, or (a file whose header is fine) a 200 report whose every rejected row has its line;
the FastCGI processes never restart (their pids are unchanged); nothing of a refused upload
is stored, and what a 200 report says was accepted is exactly what was stored."""

import os
import random
import re
import time

from harness import check, eq

SEED = int(os.environ.get("PREGON_FUZZ_SEED", "17"))
ROUNDS = int(os.environ.get("PREGON_UPLOAD_FUZZ", "300"))
GOOD = (b"phone,name,day,consent\n"
        b"+5493875550001,Ana,lunes,si\n"
        b"+5493875550002,\"Beto, el \"\"grande\"\"\",martes,yes\n"
        b"+5493875550003,Carla,,1\n")


def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        op = rng.randrange(6)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = bytes([rng.choice(b'"\x00\r\n,;\t\\\xc0\xff\xed')])
        elif op == 2 and b:
            del b[pos:pos + rng.randint(1, 8)]
        elif op == 3:
            b[pos:pos] = rng.choice([b'"', b'""', b'\x00' * 3, b'\xef\xbb\xbf', b'\xc0\xaf',
                                     b'\xed\xa0\x80', b'\xf4\x90\x80\x80', b",,,,", b"\r"])
        elif op == 4 and b:
            seg = b[pos:pos + rng.randint(1, 64)]
            b[pos:pos] = seg * rng.randint(1, 50)
        else:
            b[pos:pos] = os.urandom(rng.randint(1, 32))
    return bytes(b)


def cases(rng):
    """(kind, body) pairs: random bytes first (the crash of issue #17), then shaped ones."""
    out = []
    for _ in range(ROUNDS // 3):
        out.append(("random", rng.randbytes(rng.randint(512, 65536))))
    out.append(("utf-16", GOOD.decode().encode("utf-16")))
    out.append(("utf-16-be", GOOD.decode().encode("utf-16-be")))
    out.append(("utf-32", GOOD.decode().encode("utf-32")))
    out.append(("nul header", b"pho\x00ne,name\n+5493875550001,Ana\n"))
    out.append(("nul everywhere", b"\x00" * 4096))
    out.append(("huge header field", b"phone," + b"x" * 70000 + b"\n+5493875550001,a\n"))
    out.append(("huge quoted field", b'phone,name\n+5493875550001,"' + b"y" * 200000 + b'"\n'))
    out.append(("unbalanced quote", b'phone,name\n"+5493875550001,Ana\n+5493875550002,Bo\n'))
    out.append(("quote in field", b'phone,name\n+5493875550001,An"a\n'))
    out.append(("10000 columns", b",".join(b"c%d" % i for i in range(10000)) + b"\n"))
    out.append(("10000 columns in a row", b"phone,name\n+5493875550001" + b",x" * 10000 + b"\n"))
    out.append(("invalid utf-8 header", b"ph\xc0\xafone,name\n+5493875550001,Ana\n"))
    out.append(("surrogate header", b"phone,n\xed\xa0\x80\n+5493875550001,Ana\n"))
    out.append(("only a bom", b"\xef\xbb\xbf"))
    out.append(("only newlines", b"\r\n" * 3000))
    out.append(("no phone column", b"name,day\nAna,lunes\n"))
    while len(out) < ROUNDS:
        out.append(("mutated", mutate(rng, GOOD)))
    return out


LINE = re.compile(r"\bline \d+")


def test_random_and_mutated_uploads_never_crash(s):
    rng = random.Random(SEED)
    before = s.pool_pids("fcgi")
    check(before[1], "FastCGI request processes found")
    t0 = time.time()
    tried = refused = reported = 0
    c = s.create_campaign(name="Fuzz de audiencias")
    cid = c["id"]
    stored = 0
    for kind, body in cases(rng):
        tried += 1
        r = s.upload(cid, body)
        what = "%s upload #%d (%d bytes): %r" % (kind, tried, len(body), r)
        check(r.status != 502 and r.status < 500, what)
        n = s.query("SELECT COUNT(*) AS n FROM recipients WHERE campaign_id = %s", (cid,))[0]["n"]
        if r.status >= 400:
            refused += 1
            e = r.json().get("error", {})
            check(e.get("code") and e.get("message"), "%s: code and message" % what)
            check(LINE.search(e["message"]) or e["code"] == "body_too_large",
                  "%s: the message names the line" % what)
            eq(n, stored, "%s: nothing stored" % what)
        else:
            eq(r.status, 200, what)
            j = r.json()
            reported += 1
            for x in j["rejected"]:
                check(isinstance(x.get("line"), int) and x["line"] >= 2,
                      "%s: rejected row without its line: %r" % (what, x))
            eq(n, stored + j["accepted"], "%s: stored what was accepted" % what)
            stored = n
            if stored:  # start over: the next file's numbers are not duplicates
                eq(s.request("DELETE", "/api/campaigns/%d/recipients" % cid).status, 200,
                   "clear")
                stored = 0
    after = s.pool_pids("fcgi")
    eq(after, before, "the FastCGI processes never restarted")
    print("   %d uploads (%d refused with 4xx, %d reports), %.1fs, 0 crashes"
          % (tried, refused, reported, time.time() - t0))
