/* The worker's side of the database: registering, claiming batches with SKIP LOCKED under a
 * lease and a claim token, recording outcomes only under that token, completing campaigns
 * and settling the leases of workers that died. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counters.h"
#include "db.h"
#include "log.h"
#include "worker.h"

#define MAX_BATCH 1000

int claim_register(struct worker *w)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct db_res res;
    int rc = db_exec(w->db, "INSERT INTO workers (host, pid) VALUES (?, ?)",
                     DB_ARGS(DB_STR(host), DB_INT(getpid())), &res);
    if (rc != DB_OK)
        return rc;
    w->worker_id = (long long)res.insert_id;
    return DB_OK;
}

void claim_heartbeat(struct worker *w)
{
    if (db_exec(w->db, "UPDATE workers SET heartbeat_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_INT(w->worker_id)), NULL) != DB_OK)
        log_warn("heartbeat: %s", db_error(w->db));
}

void claim_unregister(struct worker *w)
{
    db_exec(w->db, "UPDATE workers SET stopped_at = NOW(3) WHERE id = ?",
            DB_ARGS(DB_INT(w->worker_id)), NULL);
}

void claim_campaigns_free(struct campaign *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_object_put(v[i].params);
    free(v);
}

int claim_running_campaigns(struct worker *w, struct campaign **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct db_rows r;
    int rc = db_query(w->db,
                      "SELECT id, account_id, template_name, template_language, body_params, "
                      "batch_size FROM campaigns WHERE status = 'running' ORDER BY id",
                      DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    struct campaign *v = calloc(r.nrows + 1, sizeof *v);
    if (!v) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        v[i].id = db_int(&r, i, 0, 0);
        v[i].account_id = db_int(&r, i, 1, 0);
        snprintf(v[i].template_name, sizeof v[i].template_name, "%s", db_val(&r, i, 2));
        snprintf(v[i].language, sizeof v[i].language, "%s", db_val(&r, i, 3));
        v[i].params = json_tokener_parse(db_val(&r, i, 4));
        if (v[i].params && !json_object_is_type(v[i].params, json_type_array)) {
            json_object_put(v[i].params);
            v[i].params = NULL;
        }
        v[i].batch_size = (int)db_int(&r, i, 5, 200);
    }
    *out = v;
    *n = r.nrows;
    db_rows_free(&r);
    return DB_OK;
}

void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->jobs[i].body);
        free(b->jobs[i].resp);
    }
    free(b->jobs);
    memset(b, 0, sizeof *b);
}

/* "?,?,...,?" for n placeholders into buf. */
static void placeholders(char *buf, size_t len, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < len; i++) {
        if (i)
            buf[o++] = ',';
        buf[o++] = '?';
    }
    buf[o] = '\0';
}

int claim_batch(struct worker *w, const struct campaign *c, int limit, struct batch *b)
{
    memset(b, 0, sizeof *b);
    if (limit > MAX_BATCH)
        limit = MAX_BATCH;
    unsigned long long token = ((unsigned long long)randombytes_random() << 31) ^
                               randombytes_random();
    token &= 0x7fffffffffffffffull;
    if (token == 0)
        token = 1;
    int rc = db_begin(w->db);
    if (rc != DB_OK)
        return rc;
    struct db_rows r;
    /* The index (campaign_id, status, next_attempt_at, id) gives these rows in order. */
    rc = db_query(w->db,
                  "SELECT id, phone, vars, attempts, contact_id FROM recipients "
                  "WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3) "
                  "ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED",
                  DB_ARGS(DB_INT(c->id), DB_INT(limit)), &r);
    if (rc != DB_OK) {
        db_rollback(w->db);
        return rc;
    }
    if (r.nrows == 0) {
        db_rows_free(&r);
        db_rollback(w->db);
        return DB_OK;
    }
    b->jobs = calloc(r.nrows, sizeof *b->jobs);
    char ph[MAX_BATCH * 2 + 2];
    char sql[MAX_BATCH * 2 + 256];
    db_arg *args = calloc(r.nrows + 4, sizeof *args);
    if (!b->jobs || !args) {
        free(args);
        db_rows_free(&r);
        db_rollback(w->db);
        batch_free(b);
        return DB_ERR;
    }
    args[0] = DB_INT((long long)token);
    args[1] = DB_INT(w->worker_id);
    args[2] = DB_INT(w->cfg.worker_lease_s);
    for (size_t i = 0; i < r.nrows; i++) {
        struct job *j = &b->jobs[i];
        j->id = db_int(&r, i, 0, 0);
        snprintf(j->phone, sizeof j->phone, "%s", db_val(&r, i, 1));
        /* The vars travel in resp until the request is built (send_build frees them). */
        j->resp = db_val(&r, i, 2) ? strdup(db_val(&r, i, 2)) : NULL;
        j->attempt = (int)db_int(&r, i, 3, 0) + 1;
        j->contact_id = db_int(&r, i, 4, 0);
        args[3 + i] = DB_INT(j->id);
    }
    b->n = r.nrows;
    db_rows_free(&r);
    placeholders(ph, sizeof ph, b->n);
    snprintf(sql, sizeof sql,
             "UPDATE recipients SET status = 'sending', claim_token = ?, claimed_by = ?, "
             "lease_until = NOW(3) + INTERVAL ? SECOND, attempts = attempts + 1 "
             "WHERE id IN (%s)",
             ph);
    struct msg_delta d = {0};
    d.pending = -(int)b->n;
    d.sending = (int)b->n;
    rc = db_exec(w->db, sql, args, 3 + b->n, NULL);
    free(args);
    if (rc == DB_OK)
        rc = counters_apply(w->db, c->id, &d);
    if (rc == DB_OK)
        rc = db_commit(w->db);
    if (rc != DB_OK) {
        db_rollback(w->db);
        batch_free(b);
        return rc;
    }
    b->camp = c;
    b->token = token;
    return DB_OK;
}

static int pause_for(struct worker *w, const struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct job *j = &b->jobs[i];
        enum cloudapi_action a = j->res.action;
        if (j->res.accepted || j->out.release)
            continue;
        char reason[1200];
        snprintf(reason, sizeof reason, "Meta error %d (%s): %s", j->res.code,
                 cloudapi_action_name(a), j->out.text);
        int rc = DB_OK;
        if (a == CLOUDAPI_ACT_PAUSE_CAMPAIGN || a == CLOUDAPI_ACT_STOP_CAMPAIGN)
            rc = db_exec(w->db,
                         "UPDATE campaigns SET status = 'paused', pause_reason = ? "
                         "WHERE id = ? AND status = 'running'",
                         DB_ARGS(DB_STR(reason), DB_INT(b->camp->id)), NULL);
        else if (a == CLOUDAPI_ACT_STOP_ACCOUNT || a == CLOUDAPI_ACT_PAUSE_NUMBER ||
                 a == CLOUDAPI_ACT_STOP_NUMBER)
            rc = db_exec(w->db,
                         "UPDATE campaigns SET status = 'paused', pause_reason = ? "
                         "WHERE account_id = ? AND status IN ('running', 'scheduled')",
                         DB_ARGS(DB_STR(reason), DB_INT(b->acc->id)), NULL);
        else
            continue;
        if (rc != DB_OK)
            return rc;
        log_warn("campaign %lld paused: %s", b->camp->id, reason);
        return DB_OK;
    }
    return DB_OK;
}

static int record_once(struct worker *w, struct batch *b)
{
    struct msg_delta d = {0};
    int rc = db_begin(w->db);
    if (rc != DB_OK)
        return rc;
    size_t nlog = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct job *j = &b->jobs[i];
        const struct outcome *o = &j->out;
        const char *st = msg_status_name(o->status);
        struct db_res res;
        if (o->release) {
            rc = db_exec(w->db,
                         "UPDATE recipients SET status = 'pending', attempts = attempts - 1, "
                         "claim_token = NULL, claimed_by = NULL, lease_until = NULL "
                         "WHERE id = ? AND claim_token = ? AND status = 'sending'",
                         DB_ARGS(DB_INT(j->id), DB_INT((long long)b->token)), &res);
        } else {
            rc = db_exec(
                w->db,
                "UPDATE recipients SET status = ?, wamid = COALESCE(?, wamid), "
                "last_error_code = ?, last_error_text = ?, "
                "next_attempt_at = IF(? > 0, FROM_UNIXTIME(? / 1000), next_attempt_at), "
                "sent_at = IF(? = 'sent', COALESCE(sent_at, NOW(3)), sent_at), "
                "failed_at = IF(? IN ('failed', 'blocked'), NOW(3), failed_at), "
                "claim_token = NULL, claimed_by = NULL, lease_until = NULL "
                "WHERE id = ? AND claim_token = ? AND status = 'sending'",
                DB_ARGS(DB_STR(st), j->res.accepted ? DB_STR(j->res.wamid) : DB_NULL,
                        o->code ? DB_INT(o->code) : DB_NULL, o->text[0] ? DB_STR(o->text) : DB_NULL,
                        DB_INT(o->retry_at_ms), DB_INT(o->retry_at_ms), DB_STR(st), DB_STR(st),
                        DB_INT(j->id), DB_INT((long long)b->token)),
                &res);
        }
        if (rc != DB_OK)
            break;
        if (res.affected == 1)
            msg_delta_move(&d, MSG_SENDING, o->status);
        else if (!o->release && j->res.accepted)
            /* A status webhook got there first (it counted the send); keep the wamid. */
            rc = db_exec(w->db, "UPDATE recipients SET wamid = COALESCE(wamid, ?) WHERE id = ?",
                         DB_ARGS(DB_STR(j->res.wamid), DB_INT(j->id)), NULL);
        if (rc != DB_OK)
            break;
        if (o->log_outcome)
            nlog++;
    }
    if (rc == DB_OK && nlog) {
        /* One multi-row insert for the whole batch's log. */
        size_t per = 12;
        db_arg *args = calloc(nlog * per, sizeof *args);
        char *sql = malloc(nlog * 64 + 512);
        if (!args || !sql) {
            free(args);
            free(sql);
            db_rollback(w->db);
            return DB_ERR;
        }
        size_t o = (size_t)sprintf(sql, "INSERT INTO send_log (campaign_id, recipient_id, phone, "
                                        "lead_id, template_name, template_language, attempt, "
                                        "outcome, http_status, error_code, error_text, wamid, "
                                        "worker_id) VALUES ");
        size_t a = 0, rows = 0;
        for (size_t i = 0; i < b->n; i++) {
            struct job *j = &b->jobs[i];
            if (!j->out.log_outcome)
                continue;
            o += (size_t)sprintf(sql + o, "%s(?,?,?,?,?,?,?,?,?,?,?,?,%lld)", rows++ ? "," : "",
                                 w->worker_id);
            args[a++] = DB_INT(b->camp->id);
            args[a++] = DB_INT(j->id);
            args[a++] = DB_STR(j->phone);
            args[a++] = j->contact_id ? DB_INT(j->contact_id) : DB_NULL;
            args[a++] = DB_STR(b->camp->template_name);
            args[a++] = DB_STR(b->camp->language);
            args[a++] = DB_INT(j->attempt);
            args[a++] = DB_STR(j->out.log_outcome);
            args[a++] = j->http_status ? DB_INT(j->http_status) : DB_NULL;
            args[a++] = j->out.code ? DB_INT(j->out.code) : DB_NULL;
            args[a++] = j->out.text[0] ? DB_STR(j->out.text) : DB_NULL;
            args[a++] = j->res.accepted ? DB_STR(j->res.wamid) : DB_NULL;
        }
        rc = db_exec(w->db, sql, args, a, NULL);
        free(args);
        free(sql);
    }
    if (rc == DB_OK)
        rc = counters_apply(w->db, b->camp->id, &d);
    if (rc == DB_OK)
        rc = pause_for(w, b);
    if (rc == DB_OK)
        rc = db_commit(w->db);
    if (rc != DB_OK)
        db_rollback(w->db);
    return rc;
}

void claim_record(struct worker *w, struct batch *b)
{
    /* The results are only in memory: keep trying until the database takes them, whatever
     * happens to it in between (restart, network). */
    int delay_ms = 100;
    for (;;) {
        int rc = record_once(w, b);
        if (rc == DB_OK)
            return;
        log_warn("recording %zu results failed (%s); retrying", b->n, db_error(w->db));
        usleep((useconds_t)delay_ms * 1000);
        if (delay_ms < 5000)
            delay_ms *= 2;
    }
}

void claim_complete_if_done(struct worker *w, long long campaign_id)
{
    struct db_res res;
    if (db_exec(w->db,
                "UPDATE campaigns SET status = 'completed', completed_at = NOW(3) "
                "WHERE id = ? AND status = 'running' AND pending_count = 0 AND sending_count = 0",
                DB_ARGS(DB_INT(campaign_id)), &res) != DB_OK) {
        log_warn("completing campaign %lld: %s", campaign_id, db_error(w->db));
        return;
    }
    if (res.affected)
        log_info("campaign %lld completed", campaign_id);
}

void claim_recover_leases(struct worker *w)
{
    /* Recipients whose worker stopped renewing: their request may have reached Meta, so they
     * become unknown, to be settled by a status webhook or an operator, never resent. */
    if (db_begin(w->db) != DB_OK)
        return;
    struct db_rows r;
    int rc = db_query(w->db,
                      "SELECT id, campaign_id, phone, attempts, contact_id FROM recipients "
                      "WHERE status = 'sending' AND lease_until < NOW(3) "
                      "LIMIT 500 FOR UPDATE SKIP LOCKED",
                      DB_NOARGS, &r);
    if (rc != DB_OK || r.nrows == 0) {
        if (rc == DB_OK)
            db_rows_free(&r);
        db_rollback(w->db);
        return;
    }
    for (size_t i = 0; i < r.nrows && rc == DB_OK; i++) {
        long long id = db_int(&r, i, 0, 0), cid = db_int(&r, i, 1, 0);
        rc = db_exec(w->db,
                     "UPDATE recipients SET status = 'unknown', claim_token = NULL, "
                     "claimed_by = NULL, lease_until = NULL, last_error_text = "
                     "'the worker sending it stopped; outcome unknown' WHERE id = ?",
                     DB_ARGS(DB_INT(id)), NULL);
        struct msg_delta d = {0};
        msg_delta_move(&d, MSG_SENDING, MSG_UNKNOWN);
        if (rc == DB_OK)
            rc = counters_apply(w->db, cid, &d);
        if (rc == DB_OK)
            rc = db_exec(w->db,
                         "INSERT INTO send_log (campaign_id, recipient_id, phone, lead_id, "
                         "template_name, template_language, attempt, outcome, error_text, "
                         "worker_id) SELECT ?, ?, ?, ?, template_name, template_language, ?, "
                         "'unknown', 'lease expired', ? FROM campaigns WHERE id = ?",
                         DB_ARGS(DB_INT(cid), DB_INT(id), DB_STR(db_val(&r, i, 2)),
                                 db_val(&r, i, 4) ? DB_INT(db_int(&r, i, 4, 0)) : DB_NULL,
                                 DB_INT(db_int(&r, i, 3, 0)), DB_INT(w->worker_id), DB_INT(cid)),
                         NULL);
    }
    size_t n = r.nrows;
    db_rows_free(&r);
    if (rc == DB_OK && db_commit(w->db) == DB_OK)
        log_warn("%zu recipients of a stopped worker are now unknown", n);
    else
        db_rollback(w->db);
}
