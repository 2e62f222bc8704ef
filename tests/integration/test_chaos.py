"""Issue 15's chaos run at 3,000 recipients (bench/chaos runs it at 30,000): every network
fault of the issue, two workers each SIGKILLed twice, MariaDB SIGKILLed and restarted once.
Nothing is accepted twice (the sandbox's own record), nothing is lost, and what the
sandbox accepted while we were in doubt is settled by its webhooks."""

from chaoskit import run
from harness import check, eq


def test_chaos_3000_nothing_twice_nothing_lost(s):
    try:
        f = dict(run(s, 3000, tag="6", timeout=240))
        print("      " + ", ".join("%s=%s" % (k[6:], v) for k, v in f.items()))
        eq(f["chaos_duplicates"], 0, "recipients the sandbox accepted more than once")
        eq(f["chaos_sandbox_duplicates"], 0, "the sandbox's duplicate count")
        eq(f["chaos_lost"], 0, "lost recipients")
        eq(f["chaos_unknown_left_accepted"], 0, "accepted but still unknown (webhooks settle)")
        eq((f["chaos_worker_kills"], f["chaos_mariadb_kills"]), (4, 1), "the kills happened")
        check(f["chaos_fault_accept_reset"] + f["chaos_fault_accept_502"] > 0,
              "faults after acceptance fired")
        check(f["chaos_in_doubt"] > 0, "in-doubt sends happened and were recorded")
        # Deadlock retries are a counter in /metrics, there even at 0.
        body = s.get("/metrics").body
        check("pregon_deadlock_retries_total" in (body.decode() if isinstance(body, bytes)
                                                   else body),
              "/metrics shows pregon_deadlock_retries_total")
        # Issue 15's target is under 1 deadlock per 10,000 messages (bench/chaos measures it
        # at 30,000). At that rate a 3,000-message run sees 0.3 on average, so one in four
        # runs of a system that meets it would see one: this run allows one, and two or more
        # (4 % by chance at the target rate) fail it.
        check(f["chaos_deadlock_retries"] <= 1,
              "at most 1 deadlock in 3,000 messages: %d" % f["chaos_deadlock_retries"])
    finally:
        s.sandbox_post("/_sandbox/reset", {})
