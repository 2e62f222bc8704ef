/* The recorder thread: writes every outcome (recipient row only under its claim token, one
 * send_log row each, counters, opt-outs) in one transaction per group, retrying until the
 * database takes it; and acts on what the outcomes say: pauses (campaign, account), the
 * circuit breaker, 130429 slow-downs, progressive start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign_health.h"
#include "campaign_store.h"
#include "campaign_state.h"
#include "counters.h"
#include "db.h"
#include "log.h"
#include "metrics.h"
#include "person.h"
#include "queue.h"
#include "sendlog.h"
#include "webhook_apply.h"
#include "worker.h"

#define RECORD_MAX     1000
#define RECORD_FILL    500 /* results worth a transaction of their own */
#define RECORD_WAIT_MS 10  /* how long to wait for them at most */

struct camp_delta {
    struct camp *c;
    struct msg_delta d;
    int completed; /* this group's results completed the campaign */
};

/* A pause decided while recording, applied in the same transaction. */
struct pause {
    int account; /* 1: every campaign of the account */
    long long id;
    enum campaign_event ev; /* lib/campaign_state: CEV_PAUSE_ERROR or CEV_FAIL */
    char reason[1200];
};

/* An A/B campaign's funnel change per variant (lib/abvariant.h, sql/180). */
struct var_delta {
    struct camp *c;
    int variant;
    struct abvar_counts d;
};

/* j recorded as to: its variant's funnel moves as the campaign's does (msgstatus). */
static void var_delta_add(struct var_delta *v, size_t *n, const struct job *j, enum msg_status to)
{
    if (j->variant <= 0)
        return;
    struct msg_delta one = {0};
    msg_delta_move_counted(&one, MSG_SENDING, to, j->was_sent);
    size_t i = 0;
    while (i < *n && !(v[i].c == j->camp && v[i].variant == j->variant))
        i++;
    if (i == *n)
        v[(*n)++] = (struct var_delta){.c = j->camp, .variant = j->variant};
    abvar_counts_funnel(&v[i].d, &one);
}

static struct msg_delta *delta_for(struct camp_delta *v, size_t *n, struct camp *c)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i].c == c)
            return &v[i].d;
    v[*n].c = c;
    memset(&v[*n].d, 0, sizeof v[*n].d);
    return &v[(*n)++].d;
}

/* The sent outcomes of one claim token, in one statement: the ids and wamids travel as one
 * JSON array joined as a table, so the statement text never changes (prepared once) and
 * the server pairs each row with its wamid through the join, not by a search per row. */
static int record_sent_group(struct db *db, struct job **v, size_t n, unsigned long long token,
                             size_t *affected)
{
    json_object *pairs = json_object_new_array_ext((int)n);
    int rc = pairs ? DB_OK : DB_ERR;
    *affected = 0;
    for (size_t i = 0; i < n && rc == DB_OK; i++) {
        json_object *pair = json_object_new_array_ext(2);
        if (!pair || json_object_array_add(pairs, pair) != 0) {
            json_object_put(pair);
            rc = DB_ERR;
            break;
        }
        if (json_object_array_add(pair, json_object_new_int64(v[i]->id)) != 0 ||
            json_object_array_add(pair, json_object_new_string(v[i]->res.wamid)) != 0)
            rc = DB_ERR;
    }
    size_t jlen = 0;
    const char *js = rc == DB_OK
                         ? json_object_to_json_string_length(pairs, JSON_C_TO_STRING_PLAIN, &jlen)
                         : NULL;
    if (!js)
        rc = DB_ERR;
    if (rc == DB_OK) {
        unsigned long long got = 0;
        rc = queue_record_sent(db, js, jlen, token, &got);
        if (rc == DB_OK)
            *affected = (size_t)got;
    }
    json_object_put(pairs);
    return rc;
}

/* One outcome that is not a plain send, or a send whose group did not match as a whole. */
static int record_one(struct db *db, struct job *j, int *matched)
{
    const struct outcome *o = &j->out;
    const char *st = msg_status_name(o->status);
    unsigned long long affected = 0;
    int rc;
    if (o->release)
        rc = queue_record_release(db, j->id, j->token, &affected);
    else
        rc = queue_record_outcome(db, j->id, j->token, st, j->res.accepted ? j->res.wamid : NULL,
                                  o->code, o->text, o->retry_at_ms, &affected);
    if (rc != DB_OK)
        return rc;
    *matched = affected == 1;
    if (!*matched && !o->release && j->res.accepted)
        /* A status webhook (or the recovery of a worker thought dead) got there first and
         * counted it; keep the wamid so later statuses find it. */
        rc = queue_keep_wamid(db, j->id, j->res.wamid);
    return rc;
}

/* The send_log rows of v, one bulk statement per campaign and outcome (lib/sendlog.h: the
 * statement text never changes, and what each really inserted counts in its minute). */
static int insert_log(struct worker *w, struct db *db, struct job **v, size_t n)
{
    struct sendlog_row *rows = calloc(n + 1, sizeof *rows);
    unsigned char *done = calloc(n + 1, 1);
    int rc = rows && done ? DB_OK : DB_ERR;
    for (size_t first = 0; first < n && rc == DB_OK; first++) {
        if (done[first] || !v[first]->out.log_outcome)
            continue;
        struct camp *c = v[first]->camp;
        const char *outcome = v[first]->out.log_outcome;
        size_t k = 0;
        for (size_t i = first; i < n; i++) {
            struct job *j = v[i];
            if (done[i] || !j->out.log_outcome || j->camp != c ||
                strcmp(j->out.log_outcome, outcome) != 0)
                continue;
            done[i] = 1;
            const char *tname, *tlang;
            send_job_template(j->camp, j->variant, &tname, &tlang);
            rows[k++] = (struct sendlog_row){
                .campaign_id = c->id,
                .recipient_id = j->id,
                .lead_id = j->contact_id,
                .phone = j->phone,
                .template_name = tname,
                .template_language = tlang,
                .attempt = j->attempt,
                .outcome = outcome,
                .http_status = j->http_status,
                .error_code = j->out.code,
                .error_text = j->out.text,
                .wamid = j->res.accepted ? j->res.wamid : NULL,
                .worker_id = w->worker_id,
                .claim_token = j->token,
                .variant = j->variant,
            };
        }
        rc = sendlog_insert(db, rows, k, NULL);
    }
    free(rows);
    free(done);
    return rc;
}

/* 131050: the user stopped marketing messages from us; on the list (lib/person.h). */
static int record_optout(struct db *db, struct job *j)
{
    static const struct person_actor worker_actor = {"worker", NULL, 0};
    return person_block(db, j->phone, "error_131050", j->out.text, j->camp->id, &worker_actor,
                        NULL);
}

/* What the outcomes mean beyond each recipient: pauses, breaker, throttle, ramp. Runs on
 * the recorder's own state (ramp_*) before the transaction; pauses go into it. */
static size_t judge(struct worker *w, struct job **v, size_t n, struct pause *p, size_t maxp)
{
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        struct job *j = v[i];
        struct camp *c = j->camp;
        if (j->out.release)
            continue;
        enum cloudapi_action a = j->res.accepted ? CLOUDAPI_ACT_NONE : j->res.action;
        /* throughput and pair-rate limits slow us down, they are not the campaign's errors */
        enum campaign_health_kind k = campaign_health_send_kind(j->res.accepted, a, j->started);
        if (c->ramp_seen_step != c->ramp_step) {
            c->ramp_seen_step = c->ramp_step;
            c->ramp_attempts = c->ramp_errors = 0;
        }
        c->ramp_attempts++;
        if (k == HEALTH_FAILURE || k == HEALTH_PARAM)
            c->ramp_errors++;
        if (j->acct && j->started) {
            /* the claimer judges each window's share of 130429s (pace_throttle_judge) */
            pthread_mutex_lock(&w->mu);
            j->acct->thr_answers++;
            if (a == CLOUDAPI_ACT_RETRY_THROTTLE)
                j->acct->thr_hits++;
            pthread_mutex_unlock(&w->mu);
        }
        if (np >= maxp)
            continue;
        char why[1100] = "";
        const char *last = j->out.text;
        int account = 0;
        switch (a) {
        case CLOUDAPI_ACT_PAUSE_CAMPAIGN:
        case CLOUDAPI_ACT_STOP_CAMPAIGN:
            snprintf(why, sizeof why, "Meta error %d (%s): %.300s", j->res.code,
                     cloudapi_action_name(a), last);
            break;
        case CLOUDAPI_ACT_PAUSE_NUMBER:
        case CLOUDAPI_ACT_STOP_ACCOUNT:
        case CLOUDAPI_ACT_STOP_NUMBER:
            snprintf(why, sizeof why, "Meta error %d (%s) on the account: %.300s", j->res.code,
                     cloudapi_action_name(a), last);
            account = 1;
            break;
        default:
            break;
        }
        /* Repeated parameter errors and the auto-pause: record_health, in the database. */
        if (!why[0])
            continue;
        int dup = 0;
        for (size_t x = 0; x < np; x++)
            if (p[x].account == account && p[x].id == (account ? c->account_id : c->id))
                dup = 1;
        if (dup)
            continue;
        p[np].account = account;
        p[np].id = account ? c->account_id : c->id;
        p[np].ev = campaign_error_event(j->res.code, a);
        snprintf(p[np].reason, sizeof p[np].reason, "%s", why);
        np++;
    }
    return np;
}

static int apply_pauses(struct db *db, const struct pause *p, size_t np)
{
    for (size_t i = 0; i < np; i++) {
        struct campaign_scope sc = {.kind = p[i].account ? CSCOPE_ACCOUNT : CSCOPE_ONE,
                                    .id = p[i].id};
        struct campaign_change ch = {.reason = p[i].reason};
        unsigned long long n = 0;
        int rc = campaign_state_apply(db, &sc, p[i].ev, CACT_WORKER, &ch, &n);
        if (rc != DB_OK)
            return rc;
        if (n)
            log_warn("%s %lld %s: %s", p[i].account ? "account" : "campaign", p[i].id,
                     p[i].ev == CEV_FAIL ? "failed" : "paused", p[i].reason);
    }
    return DB_OK;
}

/* Template pacing: Meta answered held_for_quality_assessment. The template's rest waits
 * (the claimer's wait reason) until a status of the first held message arrives or
 * worker_pacing_hold_s passes; the first held wamid of a hold is the one waited for. */
static int record_pacing(struct worker *w, struct db *db, struct job **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct job *j = v[i];
        if (!j->res.accepted || !j->res.held || j->out.release == 1)
            continue;
        struct db_res res;
        const char *tname, *tlang;
        send_job_template(j->camp, j->variant, &tname, &tlang);
        int rc = db_exec(db,
                         "UPDATE templates SET pacing_wamid = COALESCE(pacing_wamid, ?), "
                         "pacing_until = COALESCE(pacing_until, NOW(3) + INTERVAL ? SECOND) "
                         "WHERE account_id = ? AND name = ? AND language = ?",
                         DB_ARGS(DB_STR(j->res.wamid), DB_INT(w->cfg.worker_pacing_hold_s),
                                 DB_INT(j->camp->account_id), DB_STR(tname), DB_STR(tlang)),
                         &res);
        if (rc != DB_OK)
            return rc;
        if (res.affected)
            log_warn("template %s (%s): Meta holds it for a quality assessment (template "
                     "pacing); its campaigns wait for the first statuses",
                     tname, tlang);
    }
    return DB_OK;
}

/* The auto-pause (lib/campaign_health): this group's attempts and failures per campaign go
 * to this connection's rows, and a campaign with failures in the group is judged on the
 * window every worker and the webhook applier fill. */
static int record_health(struct worker *w, struct db *db, struct job **v, size_t n)
{
    for (size_t first = 0; first < n; first++) {
        struct camp *c = v[first]->camp;
        int seen = 0;
        for (size_t x = 0; x < first && !seen; x++)
            seen = v[x]->camp == c;
        if (seen)
            continue;
        struct campaign_health_sum d = {0, 0, 0};
        int code = 0;
        const char *text = NULL;
        for (size_t i = first; i < n; i++) {
            struct job *j = v[i];
            if (j->camp != c || j->out.release == 1)
                continue;
            enum cloudapi_action a = j->res.accepted ? CLOUDAPI_ACT_NONE : j->res.action;
            enum campaign_health_kind k = campaign_health_send_kind(j->res.accepted, a, j->started);
            d.attempts++;
            if (k == HEALTH_FAILURE || k == HEALTH_PARAM) {
                d.failures++;
                code = j->out.code;
                text = j->out.text;
            }
            if (k == HEALTH_PARAM)
                d.param_failures++;
        }
        int rc = campaign_health_add(db, c->id, &d, code);
        if (rc == DB_OK && d.failures)
            rc = campaign_health_check(db, c->id, w->cfg.worker_param_pause, CACT_WORKER, text,
                                       NULL);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

static int cmp_id(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* The recipient rows of the group, locked first and by id ascending: the one lock order of
 * recipients (the webhook applier's lock_recipients_ordered, lib/webhook_apply.c), so the
 * recorder, the applier and the claimer never wait for each other in a circle. */
static int lock_group(struct db *db, struct job **v, size_t n)
{
    long long *ids = malloc((n + 1) * sizeof *ids);
    json_object *arr = ids ? json_object_new_array_ext((int)n) : NULL;
    int rc = arr ? DB_OK : DB_ERR;
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        ids[i] = v[i]->id;
    if (rc == DB_OK)
        qsort(ids, n, sizeof *ids, cmp_id);
    for (size_t i = 0; i < n && rc == DB_OK; i++)
        if (json_object_array_add(arr, json_object_new_int64(ids[i])) != 0)
            rc = DB_ERR;
    size_t jlen = 0;
    const char *js =
        rc == DB_OK ? json_object_to_json_string_length(arr, JSON_C_TO_STRING_PLAIN, &jlen) : NULL;
    if (rc == DB_OK && js) {
        rc = queue_lock(db, js, jlen);
    } else if (rc == DB_OK) {
        rc = DB_ERR;
    }
    json_object_put(arr);
    free(ids);
    return rc;
}

/* The pace notes of messages that certainly did not leave (never started, or refused with
 * 130429) taken back (lib/queue.h queue_pace_undo): their retry does not wait out a pair gap
 * for a message its person never got, and the tier does not count the person for it. */
static int record_pace_undo(struct db *db, struct job **v, size_t n)
{
    struct queue_pace_undo *u = calloc(n + 1, sizeof *u);
    if (!u)
        return DB_ERR;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct job *j = v[i];
        int unsent = j->out.release == 1 || (j->out.status == MSG_PENDING && !j->res.accepted &&
                                             j->res.action == CLOUDAPI_ACT_RETRY_THROTTLE);
        if (unsent && j->acct)
            u[m++] = (struct queue_pace_undo){j->acct->waba_id, j->phone, j->token};
    }
    int rc = queue_pace_undo(db, u, m);
    free(u);
    return rc;
}

static int cmp_delta(const void *a, const void *b)
{
    long long x = ((const struct camp_delta *)a)->c->id, y = ((const struct camp_delta *)b)->c->id;
    return x < y ? -1 : x > y;
}

/* Records a group of finished jobs in one transaction. */
static int record_once(struct worker *w, struct db *db, struct job **v, size_t n,
                       const struct pause *p, size_t np)
{
    struct camp_delta *deltas = calloc(n + 1, sizeof *deltas);
    struct var_delta *vd = calloc(n + 1, sizeof *vd);
    struct job **grp = calloc(n + 1, sizeof *grp);
    size_t nd = 0, nvd = 0;
    int rc = deltas && vd && grp ? db_begin(db) : DB_ERR;
    if (rc == DB_OK)
        rc = lock_group(db, v, n);
    /* Plain sends by claim token in one statement each; when a group does not match as a
     * whole (a webhook or a recovery got there first), row by row. */
    for (size_t i = 0; i < n && rc == DB_OK;) {
        size_t k = 0;
        unsigned long long tok = v[i]->token;
        size_t start = i;
        for (; i < n && v[i]->token == tok; i++)
            if (v[i]->out.status == MSG_SENT && !v[i]->out.release && !v[i]->solo)
                grp[k++] = v[i];
        if (k) {
            size_t affected;
            rc = record_sent_group(db, grp, k, tok, &affected);
            if (rc == DB_OK && affected == k) {
                struct msg_delta *d = delta_for(deltas, &nd, grp[0]->camp);
                for (size_t x = 0; x < k; x++) {
                    msg_delta_move_counted(d, MSG_SENDING, MSG_SENT, grp[x]->was_sent);
                    var_delta_add(vd, &nvd, grp[x], MSG_SENT);
                }
                for (size_t x = 0; x < k; x++)
                    grp[x]->out.release = 2; /* recorded */
            } else if (rc == DB_OK && affected != 0) {
                /* Partly applied: cannot tell which rows; redo the whole thing row by row. */
                rc = DB_ERR_RETRY;
                for (size_t x = 0; x < k; x++)
                    grp[x]->solo = 1;
            }
        }
        for (size_t x = start; x < i && rc == DB_OK; x++) {
            struct job *j = v[x];
            if (j->out.release == 2)
                continue;
            int matched = 0;
            rc = record_one(db, j, &matched);
            if (rc == DB_OK && matched) {
                msg_delta_move_counted(delta_for(deltas, &nd, j->camp), MSG_SENDING, j->out.status,
                                       j->was_sent);
                var_delta_add(vd, &nvd, j, j->out.status);
            }
            if (rc == DB_OK && matched && j->res.action == CLOUDAPI_ACT_OPTOUT && !j->res.accepted)
                rc = record_optout(db, j);
        }
    }
    if (rc == DB_OK)
        rc = record_pace_undo(db, v, n);
    if (rc == DB_OK)
        rc = insert_log(w, db, v, n);
    /* Statuses that arrived before these sends were recorded (lib/webhook_apply.h), in the
     * same transaction as the wamids they wait for; before the campaign rows (the lock
     * order: recipients, then campaigns by id). */
    if (nd > 1)
        qsort(deltas, nd, sizeof *deltas, cmp_delta);
    for (size_t i = 0; i < nd && rc == DB_OK; i++)
        rc = webhook_apply_pending(db, deltas[i].c->id);
    for (size_t i = 0; i < nd && rc == DB_OK; i++) {
        rc = counters_apply(db, deltas[i].c->id, &deltas[i].d);
        /* The results that empty the queue complete the campaign now, not at the claimer's
         * next look: completed_at is when the last result was recorded. */
        if (rc == DB_OK && deltas[i].d.sending < 0)
            rc = counters_complete_if_done(db, deltas[i].c->id, &deltas[i].completed);
    }
    /* after the campaign rows, like the webhook applier (lib/webhook_apply.c) */
    for (size_t i = 0; i < nvd && rc == DB_OK; i++)
        rc = abvar_counts_add(db, vd[i].c->id, vd[i].variant, &vd[i].d);
    if (rc == DB_OK)
        rc = apply_pauses(db, p, np);
    if (rc == DB_OK)
        rc = record_health(w, db, v, n);
    if (rc == DB_OK)
        rc = record_pacing(w, db, v, n);
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        for (size_t i = 0; i < n; i++)
            if (v[i]->out.release == 2)
                v[i]->out.release = 0;
    }
    for (size_t i = 0; i < nd && rc == DB_OK; i++)
        if (deltas[i].completed)
            log_info("campaign %lld completed", deltas[i].c->id);
    free(deltas);
    free(vd);
    free(grp);
    return rc;
}

/* A campaign whose step is done with few errors moves to the next (all workers see it). */
static void ramp_up(struct worker *w, struct db *db, struct job **v, size_t n)
{
    if (w->nramp == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct camp *c = v[i]->camp;
        if (c->ramp_seen_step != c->ramp_step || c->ramp_step >= w->nramp)
            continue;
        if (!pace_ramp_should_raise(c->ramp_attempts, c->ramp_errors, w->cfg.worker_ramp_every,
                                    w->cfg.worker_ramp_max_error_pct)) {
            if (c->ramp_attempts >= w->cfg.worker_ramp_every)
                c->ramp_attempts = c->ramp_errors = 0; /* too many errors: stay, look again */
            continue;
        }
        int raised = 0;
        if (campaign_store_raise_ramp(db, c->id, c->ramp_step, &raised) == DB_OK && raised)
            log_info("campaign %lld: progressive start, step %d -> %d", c->id, c->ramp_step,
                     c->ramp_step + 1);
        c->ramp_attempts = c->ramp_errors = 0;
        c->ramp_seen_step = c->ramp_step + 1; /* until the claimer reads it back */
    }
}

static int by_token(const void *a, const void *b)
{
    const struct job *x = *(struct job *const *)a, *y = *(struct job *const *)b;
    if (x->token != y->token)
        return x->token < y->token ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* What /metrics reports about sending: outcomes by Meta's code and request latency, added to
 * the shared counters by the heartbeat thread every 2 s (and at exit). */
static void count_outcomes(struct job **v, size_t n)
{
    char labels[96];
    for (size_t i = 0; i < n; i++) {
        const struct job *j = v[i];
        if (!j->out.log_outcome)
            continue;
        snprintf(labels, sizeof labels, "outcome=\"%s\",code=\"%d\"", j->out.log_outcome,
                 j->out.code);
        metrics_add("pregon_messages_total", labels, 1);
        if (j->started)
            metrics_observe("pregon_send_latency_seconds", j->latency_s);
    }
}

void *recorder_main(void *arg)
{
    struct worker *w = arg;
    struct db *db = db_open(&w->cfg);
    struct job **v = calloc(RECORD_MAX, sizeof *v);
    struct pause *pauses = calloc(16, sizeof *pauses);
    if (!db || !v || !pauses) {
        log_error("out of memory");
        exit(1);
    }
    for (;;) {
        size_t n = 0;
        pthread_mutex_lock(&w->mu);
        while (w->done.n == 0 && !w->sender_done)
            pthread_cond_wait(&w->cond, &w->mu);
        /* A few milliseconds more while results keep coming: fewer, fuller transactions (a
         * statement and a commit cost about as much as a few dozen rows). */
        if (w->done.n < RECORD_FILL && w->inflight > 0 && !w->sender_done) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += RECORD_WAIT_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (w->done.n < RECORD_FILL && w->inflight > 0 && !w->sender_done &&
                   pthread_cond_timedwait(&w->cond, &w->mu, &until) == 0)
                ;
        }
        if (w->done.n == 0 && w->sender_done) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        struct job *j;
        while (n < RECORD_MAX && (j = jobq_pop(&w->done)))
            v[n++] = j;
        pthread_mutex_unlock(&w->mu);
        qsort(v, n, sizeof *v, by_token);
        size_t np = judge(w, v, n, pauses, 16);
        /* The results are only in memory: keep trying until the database takes them, whatever
         * happens to it in between (restart, network). */
        int delay_ms = 50;
        for (;;) {
            int rc = record_once(w, db, v, n, pauses, np);
            if (rc == DB_OK)
                break;
            log_warn("recording %zu results failed (%s); retrying", n, db_error(db));
            usleep((useconds_t)delay_ms * 1000);
            if (delay_ms < 2000)
                delay_ms *= 2;
        }
        count_outcomes(v, n);
        ramp_up(w, db, v, n);
        pthread_mutex_lock(&w->mu);
        for (size_t i = 0; i < n; i++)
            job_free(v[i]);
        pthread_mutex_unlock(&w->mu);
    }
    free(v);
    free(pauses);
    db_close(db);
    pthread_mutex_lock(&w->mu);
    w->recorder_done = 1;
    pthread_mutex_unlock(&w->mu);
    return NULL;
}
