/* Reports on one campaign: the send log (JSON with a cursor, and CSV), the failed recipients
 * as CSV with Meta's explanation, the statistics (funnel, failures by code, messages per
 * minute) and the campaign's audit trail. The reads are lib/campaign_stats.c's. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "campaign_stats.h"
#include "cloudapi.h"
#include "csvout.h"
#include "log.h"
#include "replies.h"
#include "send_explain.h"

#define CHUNK 5000

/* The request's language (fcgi/main.c: ?lang=, else Accept-Language; lib/msgcat). */
static const char *lang_of(struct request *req, char **owned)
{
    *owned = NULL;
    return req->lang ? req->lang : "es";
}

/* GET /api/campaigns/{id}/log?after=ID&limit=N&outcome=failed, or newest first:
 * ?order=desc&before=ID (the detail screen shows the latest attempts). */
void api_campaigns_log(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *outcome = http_query_param(req->query, "outcome"), *lang_s = NULL;
    const char *lang = lang_of(req, &lang_s);
    char *order = http_query_param(req->query, "order");
    long long after, before, limit;
    if (http_query_ll(req, "after", 0, 0, 1LL << 62, &after) < 0 ||
        http_query_ll(req, "before", 0, 0, 1LL << 62, &before) < 0 ||
        http_query_ll(req, "limit", 100, 1, 1000, &limit) < 0)
        goto out;
    if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
        http_fail(req, 400, "invalid_parameter", "order", "log.order", NULL,
                  "order is asc or desc");
        goto out;
    }
    int desc = order && !strcmp(order, "desc");
    if (outcome && strcmp(outcome, "sent") && strcmp(outcome, "failed") &&
        strcmp(outcome, "blocked") && strcmp(outcome, "retry") && strcmp(outcome, "unknown")) {
        http_fail(req, 400, "invalid_parameter", "outcome", "log.outcome", NULL,
                  "outcome is sent, failed, blocked, retry or unknown");
        goto out;
    }
    if (!api_campaign_exists(req))
        goto out;
    struct db_rows r;
    int rc =
        campaign_stats_log_page(req->app->db, req->ids[0], desc, after, before, outcome, limit, &r);
    if (rc != DB_OK) {
        http_db_error(req, "read the log");
        goto out;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_int(&r, i, CLOG_ID, 0)));
        json_object_object_add(o, "at", json_str_or_null(db_val(&r, i, CLOG_AT)));
        json_object_object_add(o, "phone", json_str_or_null(db_val(&r, i, CLOG_PHONE)));
        json_object_object_add(o, "lead_id", json_str_or_null(db_val(&r, i, CLOG_LEAD_ID)));
        json_object *t = json_object_new_object();
        json_object_object_add(t, "name", json_str_or_null(db_val(&r, i, CLOG_TEMPLATE)));
        json_object_object_add(t, "language", json_str_or_null(db_val(&r, i, CLOG_LANGUAGE)));
        json_object_object_add(o, "template", t);
        json_object_object_add(o, "attempt", json_object_new_int64(db_int(&r, i, CLOG_ATTEMPT, 0)));
        json_object_object_add(o, "outcome", json_str_or_null(db_val(&r, i, CLOG_OUTCOME)));
        json_object_object_add(o, "http_status",
                               db_val(&r, i, CLOG_HTTP_STATUS)
                                   ? json_object_new_int64(db_int(&r, i, CLOG_HTTP_STATUS, 0))
                                   : NULL);
        json_object_object_add(o, "error",
                               send_explain_json(db_val(&r, i, CLOG_ERROR_CODE) != NULL,
                                                 (int)db_int(&r, i, CLOG_ERROR_CODE, 0),
                                                 db_val(&r, i, CLOG_ERROR_TEXT),
                                                 db_val(&r, i, CLOG_OUTCOME), lang));
        json_object_object_add(o, "wamid", json_str_or_null(db_val(&r, i, CLOG_WAMID)));
        json_object_object_add(o, "recipient_id",
                               json_object_new_int64(db_int(&r, i, CLOG_RECIPIENT_ID, 0)));
        json_object_array_add(arr, o);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "entries", arr);
    json_object_object_add(
        o, desc ? "next_before" : "next_after",
        r.nrows == (size_t)limit ? json_object_new_int64(db_int(&r, r.nrows - 1, 0, 0)) : NULL);
    db_rows_free(&r);
    http_json(req, 200, o);
out:
    free(outcome);
    free(order);
    free(lang_s);
}

/* Every cell goes through csvout_cell (lib/csvout.c): libcsv's quoting and the one
 * neutralisation of formula-like cells. */
static void cell(struct csvout *l, const char *s)
{
    csvout_cell(l, s);
}

static void end_line(struct request *req, struct csvout *l)
{
    if (l->failed) {
        /* never a line with a cell missing: it is left out, and the log says so */
        log_error("CSV export: a line left out, out of memory");
        l->failed = 0;
    } else {
        http_write(req, l->buf, l->len);
        http_write(req, "\r\n", 2);
    }
    csvout_clear(l);
}

static void csv_begin(struct request *req, const char *name)
{
    char extra[256];
    snprintf(extra, sizeof extra, "Content-Disposition: attachment; filename=\"%s\"\r\n", name);
    http_begin(req, 200, "text/csv; charset=utf-8", extra);
    http_write(req, "\xEF\xBB\xBF", 3); /* BOM: Excel then reads UTF-8 */
}

void api_campaigns_log_csv(struct request *req)
{
    if (app_need_db(req) < 0 || !api_campaign_exists(req))
        return;
    char *lang_s = NULL;
    const char *lang = lang_of(req, &lang_s);
    char name[64];
    snprintf(name, sizeof name, "campaign-%lld-log.csv", req->ids[0]);
    struct csvout l = {0};
    long long after = 0;
    static const char *head[] = {
        "id",      "at",          "phone",      "lead_id",    "template",    "language", "attempt",
        "outcome", "http_status", "error_code", "error_text", "explanation", "wamid"};
    int begun = 0;
    for (;;) {
        struct db_rows r;
        if (campaign_stats_log_page(req->app->db, req->ids[0], 0, after, 0, NULL, CHUNK, &r) !=
            DB_OK) {
            if (!begun)
                http_db_error(req, "read the log");
            else
                log_error("log export of campaign %lld cut short: %s", req->ids[0],
                          db_error(req->app->db));
            break;
        }
        if (!begun) {
            csv_begin(req, name);
            for (size_t k = 0; k < sizeof head / sizeof head[0]; k++)
                cell(&l, head[k]);
            end_line(req, &l);
            begun = 1;
        }
        for (size_t i = 0; i < r.nrows; i++) {
            for (size_t k = CLOG_ID; k <= CLOG_ERROR_CODE; k++)
                cell(&l, db_val(&r, i, k));
            cell(&l, db_val(&r, i, CLOG_ERROR_TEXT));
            char why[1024] = "";
            if (db_val(&r, i, CLOG_ERROR_CODE) || db_val(&r, i, CLOG_ERROR_TEXT))
                send_explain(db_val(&r, i, CLOG_ERROR_CODE) != NULL,
                             (int)db_int(&r, i, CLOG_ERROR_CODE, 0), db_val(&r, i, CLOG_ERROR_TEXT),
                             db_val(&r, i, CLOG_OUTCOME), lang, why, sizeof why, NULL);
            cell(&l, why);
            cell(&l, db_val(&r, i, CLOG_WAMID));
            end_line(req, &l);
        }
        size_t n = r.nrows;
        if (n)
            after = db_int(&r, n - 1, CLOG_ID, 0);
        db_rows_free(&r);
        if (n < CHUNK)
            break;
    }
    csvout_free(&l);
    free(lang_s);
}

/* One row of a recipients CSV (state: the index of its status in the list read). */
typedef void (*status_row_fn)(struct csvout *l, const struct db_rows *r, size_t i, int state,
                              void *ctx);

/* Streams the campaign's recipients of each status in states, in ix_recipients_queue's order
 * ((next_attempt_at, phone): phone order within a status that is not pending), CHUNK rows a
 * statement: the header once, then row() for each. */
static void status_rows_csv(struct request *req, const char *name, const char *const *head,
                            size_t nhead, const char *const *states, int nstates, status_row_fn row,
                            void *ctx)
{
    struct csvout l = {0};
    int begun = 0;
    for (int s = 0; s < nstates; s++) {
        char after[20] = "", after_at[32] = "2000-01-01 00:00:00.000";
        for (;;) {
            struct db_rows r;
            if (campaign_stats_failed_chunk(req->app->db, req->ids[0], states[s], after_at, after,
                                            CHUNK, &r) != DB_OK) {
                if (!begun)
                    http_db_error(req, "read the recipients");
                s = nstates;
                break;
            }
            if (!begun) {
                csv_begin(req, name);
                for (size_t k = 0; k < nhead; k++)
                    cell(&l, head[k]);
                end_line(req, &l);
                begun = 1;
            }
            for (size_t i = 0; i < r.nrows; i++) {
                row(&l, &r, i, s, ctx);
                end_line(req, &l);
            }
            size_t n = r.nrows;
            if (n) {
                snprintf(after, sizeof after, "%s", db_val(&r, n - 1, CFAIL_PHONE));
                snprintf(after_at, sizeof after_at, "%s", db_val(&r, n - 1, CFAIL_NEXT_ATTEMPT_AT));
            }
            db_rows_free(&r);
            if (n < CHUNK)
                break;
        }
    }
    csvout_free(&l);
}

static const char *const failed_states[] = {"failed", "blocked"};

/* failed.csv's row: the recipient, its error explained in the request's language (ctx), and
 * whether a retry may send it. */
static void failed_row(struct csvout *l, const struct db_rows *r, size_t i, int state, void *ctx)
{
    const char *lang = ctx;
    for (size_t k = CFAIL_PHONE; k <= CFAIL_ERROR_TEXT; k++)
        cell(l, db_val(r, i, k));
    int has = db_val(r, i, CFAIL_ERROR_CODE) != NULL;
    int code = (int)db_int(r, i, CFAIL_ERROR_CODE, 0);
    char why[1024] = "";
    if (has || db_val(r, i, CFAIL_ERROR_TEXT))
        send_explain(has, code, db_val(r, i, CFAIL_ERROR_TEXT), failed_states[state], lang, why,
                     sizeof why, NULL);
    cell(l, why);
    int retry = state == 0 && cloudapi_retryable(code);
    cell(l, retry ? "yes" : "no");
    cell(l, db_val(r, i, CFAIL_FAILED_AT));
    cell(l, db_val(r, i, CFAIL_WAMID));
}

void api_campaigns_failed_csv(struct request *req)
{
    if (app_need_db(req) < 0 || !api_campaign_exists(req))
        return;
    char *lang_s = NULL;
    const char *lang = lang_of(req, &lang_s);
    char name[64];
    snprintf(name, sizeof name, "campaign-%lld-failed.csv", req->ids[0]);
    static const char *const head[] = {"phone",     "status",     "name",       "lead_id",
                                       "attempts",  "error_code", "error_text", "explanation",
                                       "can_retry", "failed_at",  "wamid"};
    status_rows_csv(req, name, head, sizeof head / sizeof head[0], failed_states, 2, failed_row,
                    (void *)lang);
    free(lang_s);
}

static void holdout_row(struct csvout *l, const struct db_rows *r, size_t i, int state, void *ctx)
{
    (void)state;
    (void)ctx;
    for (size_t k = CFAIL_PHONE; k <= CFAIL_LEAD_ID; k++)
        cell(l, db_val(r, i, k));
}

/* GET /api/campaigns/{id}/holdout.csv: an A/B campaign's holdout (lib/abvariant.h), the people
 * never sent anything, to compare with what the CRM knows of them. */
void api_campaigns_holdout_csv(struct request *req)
{
    if (app_need_db(req) < 0 || !api_campaign_exists(req))
        return;
    char name[64];
    snprintf(name, sizeof name, "campaign-%lld-holdout.csv", req->ids[0]);
    static const char *const head[] = {"phone", "status", "name", "lead_id"};
    static const char *const states[] = {"holdout"};
    status_rows_csv(req, name, head, sizeof head / sizeof head[0], states, 1, holdout_row, NULL);
}

/* GET /api/campaigns/{id}/stats?minutes=N */
void api_campaigns_stats(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *lang_s = NULL;
    const char *lang = lang_of(req, &lang_s);
    long long minutes;
    if (http_query_ll(req, "minutes", 1440, 1, 10080, &minutes) < 0)
        goto out;
    struct campaign_funnel cf;
    int found;
    if (campaign_stats_funnel(req->app->db, req->ids[0], &cf, &found) != DB_OK) {
        http_db_error(req, "read the campaign");
        goto out;
    }
    if (!found) {
        http_error(req, 404, "not_found", "no such campaign", NULL);
        goto out;
    }
    json_object *o = json_object_new_object(), *f = json_object_new_object();
    static const char *names[] = {"total",  "pending", "sent",      "delivered", "read",
                                  "failed", "blocked", "cancelled", "unknown",   "holdout"};
    long long v[10] = {cf.total,  cf.pending, cf.sent,      cf.delivered, cf.read,
                       cf.failed, cf.blocked, cf.cancelled, cf.unknown,   cf.holdout};
    for (size_t k = 0; k < 10; k++)
        json_object_object_add(f, names[k], json_object_new_int64(v[k]));
    json_object_object_add(o, "status", json_object_new_string(cf.status));
    struct db_rows r;
    json_object *rates = json_object_new_object();
    json_object_object_add(rates, "delivered_of_sent",
                           v[2] ? json_object_new_double((double)v[3] / (double)v[2]) : NULL);
    json_object_object_add(rates, "read_of_delivered",
                           v[3] ? json_object_new_double((double)v[4] / (double)v[3]) : NULL);
    long long attempted = v[2] + v[5] + v[6];
    json_object_object_add(
        rates, "failed_of_attempted",
        attempted ? json_object_new_double((double)(v[5] + v[6]) / (double)attempted) : NULL);
    json_object_object_add(f, "rates", rates);
    json_object_object_add(o, "campaign_id", json_object_new_int64(req->ids[0]));
    json_object_object_add(o, "funnel", f);
    /* Failures by Meta's code. */
    json_object *fc = json_object_new_array();
    if (campaign_stats_failures_by_code(req->app->db, req->ids[0], &r) == DB_OK) {
        for (size_t i = 0; i < r.nrows; i++) {
            json_object *x = json_object_new_object();
            int has = db_val(&r, i, CCODE_CODE) != NULL;
            int code = (int)db_int(&r, i, CCODE_CODE, 0);
            json_object_object_add(x, "code", has ? json_object_new_int(code) : NULL);
            json_object_object_add(x, "status", json_str_or_null(db_val(&r, i, CCODE_STATUS)));
            json_object_object_add(x, "count",
                                   json_object_new_int64(db_int(&r, i, CCODE_COUNT, 0)));
            json_object_object_add(x, "example", json_str_or_null(db_val(&r, i, CCODE_EXAMPLE)));
            json_object *why = send_explain_json(has, code, db_val(&r, i, CCODE_EXAMPLE),
                                                 db_val(&r, i, CCODE_STATUS), lang);
            json_object_object_add(
                x, "key", why ? json_object_get(json_object_object_get(why, "key")) : NULL);
            json_object_object_add(
                x, "params", why ? json_object_get(json_object_object_get(why, "params")) : NULL);
            json_object_object_add(
                x, "message", why ? json_object_get(json_object_object_get(why, "message")) : NULL);
            json_object_put(why);
            json_object_object_add(x, "explanation",
                                   has ? json_object_new_string(cloudapi_explain(code, lang))
                                       : NULL);
            json_object_object_add(x, "action",
                                   has ? json_object_new_string(cloudapi_action_name(
                                             cloudapi_classify(code, CLOUDAPI_HTTP_WEBHOOK)))
                                       : NULL);
            json_object_array_add(fc, x);
        }
        db_rows_free(&r);
    }
    json_object_object_add(o, "failures_by_code", fc);
    json_object *pm = json_object_new_array();
    if (campaign_stats_per_minute(req->app->db, req->ids[0], minutes, &r) == DB_OK) {
        for (size_t i = 0; i < r.nrows; i++) {
            json_object *x = json_object_new_object();
            json_object_object_add(x, "minute", json_str_or_null(db_val(&r, i, CMIN_MINUTE)));
            json_object_object_add(x, "sent", json_object_new_int64(db_int(&r, i, CMIN_SENT, 0)));
            json_object_object_add(x, "failed",
                                   json_object_new_int64(db_int(&r, i, CMIN_FAILED, 0)));
            json_object_object_add(x, "blocked",
                                   json_object_new_int64(db_int(&r, i, CMIN_BLOCKED, 0)));
            json_object_object_add(x, "retried",
                                   json_object_new_int64(db_int(&r, i, CMIN_RETRIED, 0)));
            json_object_object_add(x, "unknown",
                                   json_object_new_int64(db_int(&r, i, CMIN_UNKNOWN, 0)));
            json_object_array_add(pm, x);
        }
        db_rows_free(&r);
    }
    json_object_object_add(o, "per_minute", pm);
    /* Button replies counted per button (lib/replies.h). */
    json_object *buttons = NULL;
    if (replies_button_counts_json(req->app->db, req->ids[0], &buttons) != DB_OK)
        log_error("button counts of campaign %lld: %s", req->ids[0], db_error(req->app->db));
    json_object_object_add(o, "buttons", buttons);
    http_json(req, 200, o);
out:
    free(lang_s);
}

/* GET /api/campaigns/{id}/audit?before=ID&limit=N */
void api_campaigns_audit(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    long long before, limit;
    if (http_query_ll(req, "before", 0, 0, 1LL << 62, &before) < 0 ||
        http_query_ll(req, "limit", 100, 1, 500, &limit) < 0)
        return;
    if (before == 0)
        before = 1LL << 62;
    struct db_rows r;
    if (campaign_stats_audit_page(req->app->db, req->ids[0], before, limit, &r) != DB_OK) {
        http_db_error(req, "read the audit log");
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_int(&r, i, CAUD_ID, 0)));
        json_object_object_add(o, "at", json_str_or_null(db_val(&r, i, CAUD_AT)));
        json_object_object_add(o, "actor", json_str_or_null(db_val(&r, i, CAUD_ACTOR)));
        json_object_object_add(o, "address", json_str_or_null(db_val(&r, i, CAUD_ADDRESS)));
        json_object_object_add(o, "action", json_str_or_null(db_val(&r, i, CAUD_ACTION)));
        json_object_object_add(o, "target_type", json_str_or_null(db_val(&r, i, CAUD_TARGET_TYPE)));
        json_object_object_add(o, "target_id",
                               db_val(&r, i, CAUD_TARGET_ID)
                                   ? json_object_new_int64(db_int(&r, i, CAUD_TARGET_ID, 0))
                                   : NULL);
        const char *detail = db_val(&r, i, CAUD_DETAIL);
        json_object *d = detail ? json_tokener_parse(detail) : NULL;
        json_object_object_add(o, "detail", d);
        json_object_array_add(arr, o);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "entries", arr);
    json_object_object_add(
        o, "next_before",
        r.nrows == (size_t)limit ? json_object_new_int64(db_int(&r, r.nrows - 1, 0, 0)) : NULL);
    db_rows_free(&r);
    http_json(req, 200, o);
}
