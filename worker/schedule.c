/* The campaigns as the claimer follows them: scheduled ones start, running ones are read
 * with their pace (interval, progressive start, window, daily cap, tier, template pacing)
 * and why they wait, if they do; a finished one completes. */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account_health.h"
#include "campaign_state.h"
#include "campaign_store.h"
#include "counters.h"
#include "claimer.h"
#include "db.h"
#include "log.h"
#include "pace.h"

/* ---- campaigns ------------------------------------------------------------------------ */

struct camp *camp_find(struct worker *w, long long id)
{
    for (struct camp *c = w->camps; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static int col_int(const struct db_rows *r, size_t i, const char *name, int dflt)
{
    int c = db_col(r, name);
    return c < 0 ? dflt : (int)db_int(r, i, (size_t)c, dflt);
}

static const char *col_str(const struct db_rows *r, size_t i, const char *name)
{
    int c = db_col(r, name);
    return c < 0 ? NULL : db_val(r, i, (size_t)c);
}

static void set_wait(struct db *db, struct camp *c, const char *reason, const char *in_db)
{
    if (!strcmp(reason, in_db ? in_db : ""))
        return;
    if (campaign_store_set_wait_reason(db, c->id, reason) == DB_OK) {
        snprintf(c->wait, sizeof c->wait, "%s", reason);
        if (*reason)
            log_info("campaign %lld waits: %s", c->id, reason);
    }
}

/* Loads a template's slots for a parameter mapping (sql/003): *map and *slots set and 1 in
 * *have when the template is in the cache and can be sent. */
static void camp_load_slots(struct db *db, long long id, long long account_id, const char *tname,
                            const char *lang, const char *param_map, json_object **map,
                            struct cloudapi_slots *slots, int *have)
{
    json_object *pm = param_map ? json_tokener_parse(param_map) : NULL;
    if (!pm || !json_object_is_type(pm, json_type_object) || json_object_object_length(pm) == 0) {
        json_object_put(pm);
        return;
    }
    struct db_rows r;
    if (db_query(db,
                 "SELECT components FROM templates WHERE account_id = ? AND name = ? AND "
                 "language = ?",
                 DB_ARGS(DB_INT(account_id), DB_STR(tname), DB_STR(lang)), &r) != DB_OK) {
        json_object_put(pm);
        return;
    }
    char err[256];
    if (r.nrows == 1 && cloudapi_template_slots(db_val(&r, 0, 0), slots, err, sizeof err) == 0) {
        *map = pm;
        *have = 1;
    } else {
        if (r.nrows == 1)
            log_warn("campaign %lld: template %s/%s: %s", id, tname, lang, err);
        json_object_put(pm);
    }
    db_rows_free(&r);
}

static void camp_load_template(struct db *db, struct camp *c, const char *param_map)
{
    camp_load_slots(db, c->id, c->account_id, c->template_name, c->language, param_map,
                    &c->param_map, &c->slots, &c->have_slots);
}

/* The A/B variants (lib/abvariant.h), each with its template's slots. A variant whose template
 * cannot be loaded keeps have_slots 0: its requests fail and say so, never another template. */
static void camp_load_variants(struct db *db, struct camp *c)
{
    if (abvar_load(db, c->id, &c->ab) != DB_OK) {
        log_warn("campaign %lld: its A/B variants could not be read", c->id);
        return;
    }
    for (size_t i = 0; i < c->ab.n; i++) {
        struct camp_variant *v = &c->var[i];
        v->variant = c->ab.v[i].variant;
        snprintf(v->template_name, sizeof v->template_name, "%s", c->ab.v[i].template_name);
        snprintf(v->language, sizeof v->language, "%s", c->ab.v[i].template_language);
        camp_load_slots(db, c->id, c->account_id, v->template_name, v->language,
                        c->ab.v[i].param_map, &v->param_map, &v->slots, &v->have_slots);
    }
    if (c->ab.n)
        log_info("campaign %lld: %zu A/B variants, holdout %d %%", c->id, c->ab.n, c->ab.holdout);
}

void camp_free(struct camp *c)
{
    json_object_put(c->body_params);
    json_object_put(c->param_map);
    if (c->have_slots)
        cloudapi_slots_free(&c->slots);
    cloudapi_prepared_free(&c->prep);
    for (size_t i = 0; i < c->ab.n; i++) {
        json_object_put(c->var[i].param_map);
        if (c->var[i].have_slots)
            cloudapi_slots_free(&c->var[i].slots);
        cloudapi_prepared_free(&c->var[i].prep);
    }
    abvar_set_free(&c->ab);
    free(c);
}

static void schedule_campaigns(struct worker *w, struct db *db)
{
    unsigned long long n;
    char why[200];
    /* A schedule missed by more than the margin (the system was down) waits for a person. */
    snprintf(why, sizeof why, "the schedule was missed by more than %d s; start it again to send",
             w->cfg.worker_schedule_margin_s);
    struct campaign_scope overdue = {.kind = CSCOPE_OVERDUE,
                                     .margin_s = w->cfg.worker_schedule_margin_s};
    struct campaign_change ch = {.reason = why};
    if (campaign_state_apply(db, &overdue, CEV_SCHEDULE_MISSED, CACT_SCHEDULER, &ch, &n) == DB_OK &&
        n)
        log_warn("%llu overdue scheduled campaign(s) wait for an operator", n);
    /* Due ones start, unless their account's campaigns_enabled is off (CSCOPE_DUE). */
    struct campaign_scope due = {.kind = CSCOPE_DUE, .margin_s = w->cfg.worker_schedule_margin_s};
    if (campaign_state_apply(db, &due, CEV_SCHEDULE_DUE, CACT_SCHEDULER, NULL, &n) == DB_OK && n)
        log_info("%llu scheduled campaign(s) started", n);
}

/* A campaign met for the first time: its template, parameters and mapping. NULL when out of
 * memory. */
static struct camp *camp_new(struct worker *w, struct db *db, const struct db_rows *r, size_t i,
                             long long id)
{
    struct camp *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->id = id;
    c->account_id = col_int(r, i, "account_id", 0);
    snprintf(c->template_name, sizeof c->template_name, "%s",
             col_str(r, i, "template_name") ? col_str(r, i, "template_name") : "");
    snprintf(c->language, sizeof c->language, "%s",
             col_str(r, i, "template_language") ? col_str(r, i, "template_language") : "");
    const char *bp = col_str(r, i, "body_params");
    c->body_params = bp ? json_tokener_parse(bp) : NULL;
    if (c->body_params && !json_object_is_type(c->body_params, json_type_array)) {
        json_object_put(c->body_params);
        c->body_params = NULL;
    }
    camp_load_template(db, c, col_str(r, i, "param_map"));
    camp_load_variants(db, c);
    c->ramp_seen_step = -1;
    pthread_mutex_lock(&w->mu);
    c->next = w->camps;
    w->camps = c;
    pthread_mutex_unlock(&w->mu);
    return c;
}

/* The campaign's settings and its own pace: its interval and its progressive-start step. */
static void camp_read_pace(struct worker *w, struct camp *c, const struct db_rows *r, size_t i)
{
    c->batch_size = col_int(r, i, "batch_size", 200);
    c->interval_ms = col_int(r, i, "interval_ms", 0);
    c->daily_cap = col_int(r, i, "daily_cap", 0);
    const char *fa = col_str(r, i, "freq_cap_action");
    c->freq_skip = fa && strcmp(fa, "skip") == 0;
    c->win_start = col_str(r, i, "send_window_start") ? col_int(r, i, "send_window_start", -1) : -1;
    c->win_end = col_str(r, i, "send_window_end") ? col_int(r, i, "send_window_end", -1) : -1;
    c->ramp_step = col_int(r, i, "ramp_step", 0);
    long long civ = (long long)c->interval_ms * 1000;
    int cap = pace_ramp_cap(w->ramp_steps, w->nramp, c->ramp_step);
    if (cap > 0 && 1000000LL / cap > civ)
        civ = 1000000LL / cap;
    if (civ != c->cap_interval_us)
        c->cslot_left = 0;
    c->cap_interval_us = civ;
}

/* Template pacing: 1 when the campaign waits for the template's hold (reason says so); a
 * hold that is over is lifted for every campaign of the template. */
static int camp_paced(struct db *db, struct camp *c, const struct db_rows *r, size_t i,
                      char *reason, size_t rlen)
{
    const char *held = col_str(r, i, "pacing_wamid");
    /* the held template: the campaign's own or one of its A/B variants' */
    const char *tname = col_str(r, i, "pacing_template"), *tlang = col_str(r, i, "pacing_language");
    if (!held || !tname || !tlang)
        return 0;
    if (col_int(r, i, "pacing_over", 0)) {
        /* The first statuses came (or the window passed): the hold is over for all. */
        db_exec(db,
                "UPDATE templates SET pacing_wamid = NULL, pacing_until = NULL "
                "WHERE account_id = ? AND name = ? AND language = ? AND pacing_wamid = ?",
                DB_ARGS(DB_INT(c->account_id), DB_STR(tname), DB_STR(tlang), DB_STR(held)), NULL);
        return 0;
    }
    snprintf(reason, rlen,
             "template pacing: Meta holds %.60s (%s) for a quality assessment; the rest "
             "of its audience waits for the first statuses (at most until %s)",
             tname, tlang,
             col_str(r, i, "pacing_until_text") ? col_str(r, i, "pacing_until_text") : "?");
    return 1;
}

#define CAMP_TIER_SPENT 2

/* Why a campaign that is not paced waits, if it does: its account, the send window, the
 * daily cap, the messaging tier ("" when it may send). *budget: 1 the day's cap is spent,
 * CAMP_TIER_SPENT the messaging tier. */
static void camp_wait_reason(struct db *db, const struct camp *c, const struct acct *a, time_t now,
                             char *reason, size_t rlen, int *budget)
{
    if (!a || !a->ep) {
        snprintf(reason, rlen, "its WhatsApp account is not available");
        return;
    }
    int minute;
    char date[16];
    pace_tz_local(a->timezone, now, &minute, date, sizeof date);
    int wait_min = pace_window_wait_min(c->win_start, c->win_end, minute);
    if (wait_min > 0) {
        snprintf(reason, rlen, "outside the send window (%02d:00-%02d:00 %s); opens in %d min",
                 c->win_start, c->win_end, a->timezone, wait_min);
    } else if (c->daily_cap > 0) {
        struct db_rows d;
        if (db_query(db, "SELECT used FROM campaign_days WHERE campaign_id = ? AND day = ?",
                     DB_ARGS(DB_INT(c->id), DB_STR(date)), &d) == DB_OK) {
            if (d.nrows && db_int(&d, 0, 0, 0) >= c->daily_cap) {
                *budget = 1;
                snprintf(reason, rlen,
                         "daily cap of %d messages reached for %s (%s); resumes tomorrow",
                         c->daily_cap, date, a->timezone);
            }
            db_rows_free(&d);
        }
    }
    long lim = account_tier_limit(a->tier);
    if (!reason[0] && lim >= 0 && a->tier_used >= lim) {
        *budget = CAMP_TIER_SPENT;
        snprintf(reason, rlen,
                 "messaging tier %s used up: %lld unique users in the last 24 h; "
                 "resumes as the window frees",
                 a->tier, a->tier_used);
    }
}

/* A campaign that may send but whose number lost slots to the worker's own bound in the last
 * CAPPED_RECENT_US (the in-flight ceiling or the memory budget, not Meta): the wait reason
 * says so and which setting to raise (lib/pace.h). It still sends. */
#define CAPPED_RECENT_US 2000000
static void camp_capped_reason(struct worker *w, struct camp *c, const struct acct *a, char *reason,
                               size_t rlen)
{
    if (!a)
        return;
    pthread_mutex_lock(&w->mu);
    int capped = a->capped_us && now_us() - a->capped_us < CAPPED_RECENT_US;
    enum pace_inflight_cap why = a->capped_why;
    int want = a->inflight_want, mps = a->mps;
    int got = why == a->bound ? a->inflight_target : w->inflight_limit;
    long long lat = a->latency_us > 0 ? a->latency_us : PACE_LATENCY_START_US;
    pthread_mutex_unlock(&w->mu);
    if (!capped || why == PACE_CAP_NONE)
        return;
    /* The figures as first written, unless what it needs moved by a quarter: the latency
     * changes a little with every answer, the reason (a write) should not. */
    if (c->wait_want && !strncmp(c->wait, "sending below", 13) && want * 4 < c->wait_want * 5 &&
        want * 5 > c->wait_want * 4) {
        snprintf(reason, rlen, "%s", c->wait);
        return;
    }
    pace_inflight_reason(reason, rlen, mps, lat, want, got, why);
    c->wait_want = want;
}

/* The campaigns not seen in this pass stop running; those unreferenced are freed. */
static void camps_sweep(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    struct camp **pp = &w->camps;
    while (*pp) {
        struct camp *c = *pp;
        if (!c->seen) {
            c->running = 0;
            c->sendable = c->claimable = c->retries_claimable = 0;
        }
        if (!c->running && c->refs == 0) {
            *pp = c->next;
            camp_free(c);
            continue;
        }
        pp = &c->next;
    }
    pthread_mutex_unlock(&w->mu);
}

/* A span of seconds for a wait reason: "40 s", "5 min", "24 h" (rounded up). */
static void span_text(long long s, char *out, size_t len)
{
    if (s < 120)
        snprintf(out, len, "%lld s", s);
    else if (s < 2 * 3600)
        snprintf(out, len, "%lld min", (s + 59) / 60);
    else
        snprintf(out, len, "%lld h", (s + 3599) / 3600);
}

/* One running campaign of the list: followed, its pace and wait reason up to date. */
static void camp_refresh_one(struct worker *w, struct db *db, const struct db_rows *r, size_t i,
                             time_t now)
{
    long long id = col_int(r, i, "id", 0);
    if (!col_int(r, i, "account_enabled", 1)) {
        unsigned long long n = 0;
        if (campaign_state_apply_one(db, id, CEV_ACCOUNT_DISABLED, CACT_WORKER,
                                     "campaigns are disabled for this WhatsApp account "
                                     "(campaigns_enabled is off); resume the campaign once they "
                                     "are enabled again",
                                     &n) == DB_OK &&
            n)
            log_warn("campaign %lld paused: campaigns_enabled is off for its account", id);
        return; /* not seen: stops running here, its jobs are released */
    }
    pthread_mutex_lock(&w->mu);
    struct camp *c = camp_find(w, id);
    pthread_mutex_unlock(&w->mu);
    if (!c && !(c = camp_new(w, db, r, i, id)))
        return;
    camp_read_pace(w, c, r, i);
    /* Why it waits, if it does. */
    char reason[256] = "";
    pthread_mutex_lock(&w->mu);
    struct acct *a = acct_find(w, c->account_id);
    pthread_mutex_unlock(&w->mu);
    int paced = camp_paced(db, c, r, i, reason, sizeof reason);
    int budget = 0; /* the tier or the day's cap is spent: by claims, which are within it */
    if (!paced)
        camp_wait_reason(db, c, a, now, reason, sizeof reason, &budget);
    int claimable = reason[0] == '\0';
    if (claimable && c->freq_idle && c->freq_wait_until > (long long)now) {
        /* still claimable: the rows become due by themselves when they fit */
        char win[32], first[32];
        span_text(c->freq_win_s, win, sizeof win);
        span_text(c->freq_wait_until - (long long)now, first, sizeof first);
        snprintf(reason, sizeof reason,
                 "frequency cap: recipients who already had %lld message(s) from the account "
                 "within %s wait until they fit under it (the first in %s)",
                 c->freq_cap, win, first);
    } else if (claimable)
        camp_capped_reason(w, c, a, reason, sizeof reason); /* still sends: says why slower */
    set_wait(db, c, reason, col_str(r, i, "wait_reason"));
    pthread_mutex_lock(&w->mu);
    c->seen = 1;
    c->running = 1;
    /* A spent budget stops claiming; what was claimed within it still goes. */
    c->claimable = claimable;
    /* A retry goes to a user the tier counted at its first claim (contact_pace): the spent
     * tier does not hold it back (claim_read takes only those; claim_pace_check still
     * defers a user who left the 24 h window). */
    c->retries_claimable = budget == CAMP_TIER_SPENT;
    c->sendable = claimable || budget;
    c->paced = paced;
    pthread_mutex_unlock(&w->mu);
    if (col_int(r, i, "left_pending", 1) == 0 && col_int(r, i, "left_sending", 1) == 0) {
        int done = 0;
        if (counters_complete_if_done(db, c->id, &done) == DB_OK && done)
            log_info("campaign %lld completed", c->id);
    }
}

/* Reads the running campaigns; marks the rest not running (their queued jobs get released).
 * The account's switch is read at every pass (every claim cycle): a running campaign of an
 * account whose campaigns_enabled is off pauses here, and its queued jobs are released with
 * those of every campaign that stopped running. */
void campaigns_refresh(struct worker *w, struct db *db)
{
    schedule_campaigns(w, db);
    struct db_rows r;
    /* With the template pacing hold of each (record.c; lib/campaign_store.h). */
    if (campaign_store_running(db, &r) != DB_OK) {
        log_warn("listing campaigns: %s", db_error(db));
        return;
    }
    pthread_mutex_lock(&w->mu);
    for (struct camp *c = w->camps; c; c = c->next)
        c->seen = 0;
    pthread_mutex_unlock(&w->mu);
    time_t now = time(NULL);
    for (size_t i = 0; i < r.nrows; i++)
        camp_refresh_one(w, db, &r, i, now);
    db_rows_free(&r);
    camps_sweep(w);
}
