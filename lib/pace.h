/* The sending worker's arithmetic, kept pure so it can be tested alone: the per-number rate
 * budget (slots on a shared timeline), progressive start and the send window (the
 * auto-pause is lib/campaign_health, the messaging tier lib/account_health). No I/O, no clocks:
 * callers pass the times. */
#ifndef PREGON_PACE_H
#define PREGON_PACE_H

#include <stddef.h>
#include <time.h>

/* ---- rate: slots on a timeline ------------------------------------------------------- */

/* The jitter a limit must survive, as time rather than as a fraction of the rate: the far
 * side counts a sliding one-second window on its own clock, and a request may reach it a
 * few ms later or earlier than it left (scheduling on either side). Slots are spaced so
 * that mps of them span one second plus this margin: PACE_MARGIN_US, or one slot's worth
 * when that is more (slow numbers can afford it: 80/s keeps 12.5 ms). */
#define PACE_MARGIN_US 8000

/* The margin for a limit of mps messages/s (above). */
long long pace_margin_us(int mps);

/* Microseconds between two slots for a limit of mps messages/s: (1 s + margin) / mps, so
 * 80/s paces at 79.0/s and 1000/s at 992/s, and any one-second window holds at most mps
 * sends even when they reach the far side up to the margin apart from when they were due.
 * mps <= 0: 0 (unlimited). */
long long pace_interval_us(int mps);

/* Slots to reserve at once: about chunk_ms worth at this interval, at least 1, at most
 * demand (what is waiting) when demand > 0. interval_us 0 (unlimited): demand or 1. */
int pace_chunk(long long interval_us, int chunk_ms, int demand);

/* How late a slot may still be used: one interval, at most half the margin the slots are
 * spaced with (the other half is for the network's jitter: a slot used a whole margin late
 * left none, and a loaded machine then drew a 130429 at 80/s), at least 3 ms (a loaded
 * machine wakes up that late routinely; dropping such slots wasted ~1% of the rate). A later
 * slot is dropped rather than used, so late sends never bunch up. */
long long pace_tolerance_us(long long interval_us);

/* The sender's own safety net: at most mps starts in any pace_window_us(mps), on its own
 * clock. A second plus half the margin: slots that are on time or late within their
 * tolerance never trip it, while a burst after a stall cannot exceed mps in the far side's
 * second. */
long long pace_window_us(int mps);

/* Reserves n consecutive slots on a timeline whose next free slot is *next_us, none before
 * earliest_us. Returns the first slot and advances *next_us past the last one. */
long long pace_reserve(long long *next_us, long long earliest_us, long long interval_us, int n);

/* ---- in flight: how many requests one number needs at once ------------------------------ */

/* A number sending at r messages/s whose answers take L seconds has about r x L requests in
 * flight; the worker keeps room for PACE_INFLIGHT_HEADROOM times that plus
 * PACE_INFLIGHT_EXTRA (jitter, a slow answer or two), within the ceiling (worker_inflight)
 * and the memory budget (worker_inflight_memory_mb over PACE_INFLIGHT_BYTES, what one request
 * in flight costs the worker: its curl handle and buffers, its connection, its job, measured
 * with bench/worker). Too few and slots are wasted (a request cannot start at its slot); the
 * bound keeps one number with slow answers from taking every handle. */
#define PACE_INFLIGHT_HEADROOM 1.5
#define PACE_INFLIGHT_EXTRA    8
#define PACE_INFLIGHT_BYTES    (24 * 1024)
#define PACE_LATENCY_START_US  250000   /* before the first answer: a slow Meta */
#define PACE_LATENCY_UP        0.2      /* share of a slower answer taken at once */
#define PACE_LATENCY_DOWN_US   10000000 /* faster answers are believed over about 10 s */

enum pace_inflight_cap {
    PACE_CAP_NONE,    /* the number gets what it needs */
    PACE_CAP_CEILING, /* worker_inflight is less than it needs */
    PACE_CAP_MEMORY   /* the memory budget is less than it needs */
};

/* How far ahead the worker arms jobs ("may have left", committed before the send): least_us
 * (worker_arm_ahead_ms), or one and a half times stall_us, the slowest recent pass of its
 * claimer, when that is longer, at most PACE_ARM_AHEAD_MAX_US. A pass stalled by the database
 * (a slow commit of the arming or of the shared pace) starves the sender once it outlasts the
 * horizon, and the slots meanwhile are lost; arming further ahead costs only more recipients
 * in doubt if the worker dies, so it is done only while needed. */
#define PACE_ARM_AHEAD_MAX_US 600000LL
long long pace_arm_ahead_us(long long least_us, long long stall_us);

/* The requests in flight the worker allows at most at once, from the ceiling
 * (worker_inflight) and the memory budget in MB (0 = none); *why says which one binds
 * (PACE_CAP_MEMORY only when it is below the ceiling). */
int pace_inflight_limit(int ceiling, int memory_mb, enum pace_inflight_cap *why);

/* The in-flight target of a number sending per_s messages/s (its current pace) whose answers
 * take latency_us: per_s x latency x headroom + extra, at least 1, at most limit. *want gets
 * the figure before the limit, *why (may be NULL) PACE_CAP_NONE when the limit did not cut
 * it, else limit_why. */
int pace_inflight_target(double per_s, long long latency_us, int limit,
                         enum pace_inflight_cap limit_why, int *want, enum pace_inflight_cap *why);

/* The latency estimate after one more answer that took sample_us, since_us after the
 * previous one: up fast (PACE_LATENCY_UP of the difference per answer, so a few slow answers
 * raise it), down slowly (over PACE_LATENCY_DOWN_US of time, whatever the rate): in flight
 * follows a rising latency at once and does not shrink on a lucky second. est_us 0: none yet,
 * the sample is taken as it is. */
long long pace_latency_next(long long est_us, long long sample_us, long long since_us);

/* The wait reason of a campaign whose number sends below its rate because of the worker's
 * own bound (why != PACE_CAP_NONE): its rate, latency, what it needs and what it got, and
 * which setting to raise. */
void pace_inflight_reason(char *buf, size_t len, int mps, long long latency_us, int want, int got,
                          enum pace_inflight_cap why);

/* ---- progressive start ----------------------------------------------------------------- */

#define PACE_RAMP_MAX 16

/* Parses "10,20,40" (messages/s per step, increasing, each 1..1000). Returns the number of
 * steps (0 for an empty string) or -1 when malformed. */
int pace_ramp_parse(const char *s, int *steps, int max);

/* The messages/s cap of a campaign at ramp step `step`: steps[step], or 0 (no cap: the
 * number's own rate) once past the last step. */
int pace_ramp_cap(const int *steps, int nsteps, int step);

/* Whether a campaign at a step may move to the next one: `every` attempts done at this step
 * with at most max_error_pct percent errors. */
int pace_ramp_should_raise(int attempts, int errors, int every, int max_error_pct);

/* ---- 130429 (throughput limit): back off, recover additively --------------------------- */

/* The claimer looks at a number's answers in windows of PACE_THROTTLE_WINDOW_US. A real
 * limit refuses everything above it (a large share at once); Meta also answers 130429 now
 * and then without one. Sporadic ones (fewer than PACE_THROTTLE_MIN_HITS, or at most
 * PACE_THROTTLE_SPORADIC_PCT % of the window's answers) are retried but slow nothing down. */
#define PACE_THROTTLE_WINDOW_US    1000000
#define PACE_THROTTLE_MIN_HITS     4
#define PACE_THROTTLE_SPORADIC_PCT 2
#define PACE_THROTTLE_CUT          0.8  /* multiplicative decrease at a real limit */
#define PACE_THROTTLE_FLOOR        0.25 /* never slower than this share of the rate */
#define PACE_THROTTLE_STEP         0.1  /* additive increase per clean window */

enum pace_throttle { PACE_THR_CLEAN, PACE_THR_SPORADIC, PACE_THR_LIMIT };

/* What `hits` 130429s among `answers` answers of one window mean. expected: the answers a
 * whole window holds at the current pace while the window is still open (0 once it closed):
 * an open window is judged against it, so a handful of 130429s at its start (sends that
 * reached the far side a few ms bunched, 6 at 1,000/s) is not taken for a limit that would
 * refuse its whole share (a hold and a cut cost 35 msg/s of a 40-second campaign). */
enum pace_throttle pace_throttle_judge(int answers, int hits, int expected);
/* The pace factor (share of the number's rate) after a window judged t: cut at a limit,
 * one step up otherwise, within [PACE_THROTTLE_FLOOR, 1]. */
double pace_throttle_next(double factor, enum pace_throttle t);

/* Where a real limit is, as a share of the number's rate. The far side accepts up to its
 * limit and refuses the rest, so sending at factor with hits of answers refused, the limit is
 * at about factor x (answers - hits) / answers (a share, not a count: silences such as the
 * hold do not bias it). Returns 0 with fewer than PACE_THROTTLE_MIN_ANSWERS answers. A blind
 * cut of 20 % and steps of 10 % back swung around a limit of 200/s on a 400/s number (164 to
 * 242/s, 11 % refused) and kept about 149/s of it. */
#define PACE_THROTTLE_MIN_ANSWERS 20
#define PACE_THROTTLE_AIM         0.97     /* go on at this share of a known limit */
#define PACE_THROTTLE_PROBE       0.01     /* above it, step up this little per clean window */
#define PACE_THROTTLE_FORGET_US   10000000 /* a limit not found again for this long is gone */
double pace_throttle_limit(double factor, int answers, int hits);

/* The factor after a window: judged PACE_THR_LIMIT, PACE_THROTTLE_AIM of the known limit
 * (limit from pace_throttle_limit; 0 = unknown: the plain cut); otherwise a step up
 * (pace_throttle_next), but up to PACE_THROTTLE_AIM of a known limit at most, and by
 * PACE_THROTTLE_PROBE only once there (the limit may have risen). */
double pace_throttle_adjust(double factor, enum pace_throttle t, double limit);

/* ---- send window ----------------------------------------------------------------------- */

/* Whether local minute-of-day m (0..1439) is inside [start_h, end_h) hours; start > end wraps
 * midnight; start == end or either < 0: always open. Returns the minutes until the window
 * opens (0 = open now). */
int pace_window_wait_min(int start_h, int end_h, int m);

/* Local time in zone (IANA name) at t: minute of the day and the date (UTC for an unknown
 * zone). The worker's window and daily cap, and the API's "waiting for the window". */
void pace_tz_local(const char *zone, time_t t, int *minute, char *date, size_t dlen);

#endif
