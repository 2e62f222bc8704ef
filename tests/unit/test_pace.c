/* The worker's pace arithmetic: slots, progressive start, breaker, send window, tier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pace.h"

static void interval_keeps_below_the_limit(void **state)
{
    (void)state;
    assert_int_equal(pace_interval_us(0), 0);
    /* 80/s paces at 79.0/s: 80 slots span a second plus one slot (12.5 ms), so the 81st
     * is never in the same second as the first even when it arrives that much early. */
    long long i80 = pace_interval_us(80);
    assert_int_equal(pace_margin_us(80), 12500);
    assert_int_equal(i80, 12657);
    assert_true(80 * i80 >= 1000000 + pace_margin_us(80));
    assert_true(1e6 / i80 >= 80 * 0.985); /* within 2% of the limit, with room for losses */
    /* 1000/s paces at 992/s: within 1% of the limit, never over it. */
    long long i1000 = pace_interval_us(1000);
    assert_int_equal(pace_margin_us(1000), PACE_MARGIN_US);
    assert_int_equal(i1000, 1008);
    assert_true(1000 * i1000 >= 1000000 + PACE_MARGIN_US);
    assert_true(1e6 / i1000 >= 990);
    /* The sender's own window is looser than the slots (on-time sends never trip it) and
     * tighter than a second plus the margin. */
    assert_true(pace_window_us(80) > 1000000 && pace_window_us(80) < 80 * i80);
    assert_true(pace_window_us(1000) > 1000000 && pace_window_us(1000) < 1000 * i1000);
    assert_true(pace_interval_us(1) > 1000000);
}

static void reserve_chunks_never_overlap(void **state)
{
    (void)state;
    long long next = 0, iv = pace_interval_us(80);
    int n = pace_chunk(iv, 250, 0);
    assert_int_equal(n, 19);
    long long a = pace_reserve(&next, 1000000, iv, n);
    assert_int_equal(a, 1000000);
    long long b = pace_reserve(&next, 1000000, iv, n); /* a second worker, same moment */
    assert_int_equal(b, a + n * iv);
    long long c = pace_reserve(&next, 99000000, iv, 1); /* idle timeline: starts now */
    assert_int_equal(c, 99000000);
    assert_int_equal(next, 99000000 + iv);
    assert_int_equal(pace_chunk(iv, 250, 5), 5);
    assert_int_equal(pace_chunk(0, 250, 300), 300);
    assert_int_equal(pace_chunk(2000000, 250, 0), 1);
    /* late by at most half the margin (80/s: half a slot), the rest left for the network */
    assert_int_equal(pace_tolerance_us(iv), iv / 2);
    assert_int_equal(pace_tolerance_us(1008), 3000);
    assert_int_equal(pace_tolerance_us(pace_interval_us(250)), PACE_MARGIN_US / 2);
}

static void ramp_steps(void **state)
{
    (void)state;
    int s[PACE_RAMP_MAX];
    assert_int_equal(pace_ramp_parse("10,20, 40", s, PACE_RAMP_MAX), 3);
    assert_int_equal(s[2], 40);
    assert_int_equal(pace_ramp_parse("", s, PACE_RAMP_MAX), 0);
    assert_int_equal(pace_ramp_parse("20,10", s, PACE_RAMP_MAX), -1);
    assert_int_equal(pace_ramp_parse("10,", s, PACE_RAMP_MAX), -1);
    assert_int_equal(pace_ramp_parse("x", s, PACE_RAMP_MAX), -1);
    assert_int_equal(pace_ramp_parse("0", s, PACE_RAMP_MAX), -1);
    pace_ramp_parse("10,20", s, PACE_RAMP_MAX);
    assert_int_equal(pace_ramp_cap(s, 2, 0), 10);
    assert_int_equal(pace_ramp_cap(s, 2, 1), 20);
    assert_int_equal(pace_ramp_cap(s, 2, 2), 0);
    assert_true(pace_ramp_should_raise(100, 5, 100, 5));
    assert_false(pace_ramp_should_raise(100, 6, 100, 5));
    assert_false(pace_ramp_should_raise(99, 0, 100, 5));
}

static void send_window(void **state)
{
    (void)state;
    assert_int_equal(pace_window_wait_min(-1, -1, 100), 0);
    assert_int_equal(pace_window_wait_min(9, 18, 9 * 60), 0);
    assert_int_equal(pace_window_wait_min(9, 18, 18 * 60), 15 * 60);
    assert_int_equal(pace_window_wait_min(9, 18, 8 * 60 + 30), 30);
    assert_int_equal(pace_window_wait_min(22, 6, 23 * 60), 0); /* wraps midnight */
    assert_int_equal(pace_window_wait_min(22, 6, 5 * 60), 0);
    assert_int_equal(pace_window_wait_min(22, 6, 6 * 60), 16 * 60);
    assert_int_equal(pace_window_wait_min(8, 8, 0), 0);
}

static void throttle_aimd(void **state)
{
    (void)state;
    /* 0.5 % random 130429s at 400/s: about 2 in a window of 400 answers, sporadic. */
    assert_int_equal(pace_throttle_judge(400, 0, 0), PACE_THR_CLEAN);
    assert_int_equal(pace_throttle_judge(400, 2, 0), PACE_THR_SPORADIC);
    assert_int_equal(pace_throttle_judge(400, 8, 0), PACE_THR_SPORADIC);
    assert_int_equal(pace_throttle_judge(3, 3, 0), PACE_THR_SPORADIC); /* too few to tell */
    /* A real limit refuses a share at once: 200 of 400 configured, 4 of the first 10 at
     * 20/s, 9 of the first 30 at 400/s (a window still open). */
    assert_int_equal(pace_throttle_judge(400, 200, 0), PACE_THR_LIMIT);
    assert_int_equal(pace_throttle_judge(10, 4, 20), PACE_THR_LIMIT);
    assert_int_equal(pace_throttle_judge(30, 9, 400), PACE_THR_LIMIT);
    assert_int_equal(pace_throttle_judge(400, 9, 0), PACE_THR_LIMIT);
    /* Six bunched at the start of a window at 1,000/s: sporadic until the window shows
     * more than 2 % of what it holds. */
    assert_int_equal(pace_throttle_judge(120, 6, 1000), PACE_THR_SPORADIC);
    assert_int_equal(pace_throttle_judge(120, 21, 1000), PACE_THR_LIMIT);
    assert_int_equal(pace_throttle_judge(1000, 6, 0), PACE_THR_SPORADIC);
    /* Cut by 20 %, floor 25 %; back to full speed in a few clean windows. */
    double f = 1.0;
    for (int i = 0; i < 20; i++)
        f = pace_throttle_next(f, PACE_THR_LIMIT);
    assert_true(f > 0.2499 && f < 0.2501);
    int windows = 0;
    while (f < 1.0) {
        f = pace_throttle_next(f, PACE_THR_CLEAN);
        windows++;
    }
    assert_int_equal(windows, 8);
    assert_true(pace_throttle_next(1.0, PACE_THR_SPORADIC) == 1.0);
    f = pace_throttle_next(1.0, PACE_THR_LIMIT);
    assert_true(f > 0.7999 && f < 0.8001);
    assert_true(pace_throttle_next(f, PACE_THR_SPORADIC) > 0.8999);
}

static void throttle_finds_the_limit(void **state)
{
    (void)state;
    /* 242/s on a 400/s number (0.61) against a limit of 200: about 42 of 242 refused. */
    double lim = pace_throttle_limit(0.61, 242, 42);
    assert_true(lim > 0.49 && lim < 0.51);
    assert_true(pace_throttle_limit(0.61, 10, 4) == 0); /* too few answers to tell */
    /* The cut goes just below it, not 20 % down; clean windows climb back to it and then
     * only probe. */
    double f = pace_throttle_adjust(0.61, PACE_THR_LIMIT, lim);
    assert_true(f > 0.97 * 0.49 && f < 0.97 * 0.51);
    double g = pace_throttle_adjust(0.3, PACE_THR_CLEAN, lim);
    assert_true(g > 0.3999 && g < 0.4001);
    g = pace_throttle_adjust(0.45, PACE_THR_CLEAN, lim);
    assert_true(g > 0.97 * 0.49 - 1e-9 && g < 0.97 * 0.51 + 1e-9);
    assert_true(pace_throttle_adjust(f, PACE_THR_CLEAN, lim) < f + PACE_THROTTLE_PROBE + 1e-9);
    assert_true(pace_throttle_adjust(f, PACE_THR_SPORADIC, lim) > f);
    /* A limit above the pace does not raise a cut; unknown: the plain cut and steps. */
    assert_true(pace_throttle_adjust(0.5, PACE_THR_LIMIT, 0.9) < 0.4001);
    assert_true(pace_throttle_adjust(1.0, PACE_THR_LIMIT, 0) > 0.7999);
    assert_true(pace_throttle_adjust(0.5, PACE_THR_CLEAN, 0) > 0.5999);
    assert_true(pace_throttle_adjust(0.995, PACE_THR_CLEAN, 0.2) <= 1.0);
}

static void inflight_sizing(void **state)
{
    (void)state;
    enum pace_inflight_cap why;
    int want;
    /* 1,000/s at 150 ms: 150 x 1.5 + 8; at 300 ms 458, within the shipped ceiling of 512. */
    assert_int_equal(pace_inflight_limit(512, 0, &why), 512);
    assert_int_equal(why, PACE_CAP_CEILING);
    assert_int_equal(pace_inflight_target(1000, 150000, 512, why, &want, &why), 233);
    assert_int_equal(why, PACE_CAP_NONE);
    assert_int_equal(pace_inflight_target(1000, 300000, 512, PACE_CAP_CEILING, &want, &why), 458);
    assert_int_equal(why, PACE_CAP_NONE);
    /* A small ceiling cuts it and says so; so does a small memory budget. */
    assert_int_equal(pace_inflight_target(1000, 300000, 64, PACE_CAP_CEILING, &want, &why), 64);
    assert_int_equal(want, 458);
    assert_int_equal(why, PACE_CAP_CEILING);
    int lim = pace_inflight_limit(512, 2, &why);
    assert_int_equal(lim, 2 * 1024 * 1024 / PACE_INFLIGHT_BYTES);
    assert_int_equal(why, PACE_CAP_MEMORY);
    assert_int_equal(pace_inflight_target(1000, 300000, lim, why, &want, &why), lim);
    assert_int_equal(why, PACE_CAP_MEMORY);
    /* No answer yet: a slow Meta is assumed. */
    assert_int_equal(pace_inflight_target(80, 0, 512, PACE_CAP_CEILING, &want, &why), 38);
    /* Latency: up fast, down slowly (in time, whatever the rate). */
    long long e = pace_latency_next(0, 150000, 0);
    assert_int_equal(e, 150000);
    for (int i = 0; i < 20; i++)
        e = pace_latency_next(e, 300000, 1000);
    assert_true(e > 290000);
    long long down = e;
    for (int i = 0; i < 1000; i++) /* one second of answers at 1,000/s */
        down = pace_latency_next(down, 150000, 1000);
    assert_true(down > 270000 && down < e);
    for (int i = 0; i < 30000; i++) /* thirty */
        down = pace_latency_next(down, 150000, 1000);
    assert_true(down < 160000);
    char why_text[256];
    pace_inflight_reason(why_text, sizeof why_text, 1000, 300000, 458, 64, PACE_CAP_CEILING);
    assert_non_null(strstr(why_text, "worker_inflight"));
    assert_non_null(strstr(why_text, "300 ms"));
}

static void arm_ahead_follows_the_slow_passes(void **state)
{
    (void)state;
    /* Fast passes: the configured horizon. */
    assert_int_equal(pace_arm_ahead_us(200000, 0), 200000);
    assert_int_equal(pace_arm_ahead_us(200000, 40000), 200000);
    assert_int_equal(pace_arm_ahead_us(200000, 133332), 200000);
    /* A pass of 280 ms (a commit that waited on the disk) arms 420 ms ahead. */
    assert_int_equal(pace_arm_ahead_us(200000, 280000), 420000);
    /* Never more than 600 ms (at 1,000/s, 600 in doubt if the worker dies), however slow;
     * never less than configured. */
    assert_int_equal(pace_arm_ahead_us(200000, 5000000), PACE_ARM_AHEAD_MAX_US);
    assert_int_equal(pace_arm_ahead_us(1500000, 5000000), 1500000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interval_keeps_below_the_limit),
        cmocka_unit_test(reserve_chunks_never_overlap),
        cmocka_unit_test(ramp_steps),
        cmocka_unit_test(send_window),
        cmocka_unit_test(throttle_aimd),
        cmocka_unit_test(inflight_sizing),
        cmocka_unit_test(throttle_finds_the_limit),
        cmocka_unit_test(arm_ahead_follows_the_slow_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
