/* Replies (lib/replies.h): what people sent back, and answers to them.
 *
 *   GET   /api/replies?campaign_id=&after=&before=&handled=&window=&limit=   newest first
 *         (after=ID: newer ones, oldest first, for polling); next_before / next_after
 *   GET   /api/replies.csv?campaign_id=&handled=&window=                      every match
 *   GET   /api/replies/{id}          one reply, with its "answer_log"
 *   PATCH /api/replies/{id}          {"handled": true|false}
 *   POST  /api/replies/{id}/answer   {"text"}: a free-form text, sent now through the Graph
 *         API (as the test send), only while the 24-hour window is open (409 window_closed);
 *         recorded in reply_answers and the audit log; the reply is then handled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "app.h"
#include "audit.h"
#include "cloudapi.h"
#include "csvout.h"
#include "db.h"
#include "graph.h"
#include "log.h"
#include "person.h"
#include "replies.h"
#include "sendverdict.h"

#define REPLIES_BODY_LIMIT (64 * 1024)
#define REPLIES_CSV_CHUNK  1000

/* The filters of the query string; answers 400 and returns -1 when one is bad. */
static int read_query(struct request *req, struct replies_query *q, long long dflt_limit)
{
    long long handled, window;
    if (http_query_ll(req, "campaign_id", 0, 0, (long long)1e18, &q->campaign_id) < 0 ||
        http_query_ll(req, "after", 0, 0, (long long)1e18, &q->after) < 0 ||
        http_query_ll(req, "before", 0, 0, (long long)1e18, &q->before) < 0 ||
        http_query_ll(req, "handled", -1, -1, 1, &handled) < 0 ||
        http_query_ll(req, "window", -1, -1, 1, &window) < 0 ||
        http_query_ll(req, "limit", dflt_limit, 1, 500, &q->limit) < 0)
        return -1;
    q->handled = (int)handled;
    q->window_open = (int)window;
    return 0;
}

void api_replies_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct replies_query q = {0};
    if (read_query(req, &q, 50) < 0)
        return;
    struct db_rows r;
    if (replies_page(req->app->db, &q, 0, &r) != DB_OK) {
        http_db_error(req, "read the replies");
        return;
    }
    json_object *o = json_object_new_object(), *a = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(a, replies_row_json(&r, i));
    json_object_object_add(o, "replies", a);
    int asc = q.after > 0;
    json_object_object_add(o, asc ? "next_after" : "next_before",
                           r.nrows == (size_t)q.limit
                               ? json_object_new_int64(db_int(&r, r.nrows - 1, RPL_ID, 0))
                               : NULL);
    db_rows_free(&r);
    http_json(req, 200, o);
}

void api_replies_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows r;
    json_object *answers = NULL;
    if (replies_page(req->app->db, NULL, req->ids[0], &r) != DB_OK) {
        http_db_error(req, "read the reply");
        return;
    }
    if (r.nrows != 1) {
        db_rows_free(&r);
        http_error(req, 404, "not_found", "no such reply", NULL);
        return;
    }
    if (replies_answers_json(req->app->db, req->ids[0], req->lang, &answers) != DB_OK) {
        db_rows_free(&r);
        http_db_error(req, "read the answers");
        return;
    }
    json_object *o = replies_row_json(&r, 0);
    json_object_object_add(o, "answer_log", answers);
    db_rows_free(&r);
    http_json(req, 200, o);
}

static void csv_line(struct request *req, struct csvout *l)
{
    if (!l->failed) {
        http_write(req, l->buf, l->len);
        http_write(req, "\r\n", 2);
    } else {
        log_error("replies.csv: a line left out, out of memory");
    }
    csvout_clear(l);
}

void api_replies_csv(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct replies_query q = {0};
    if (read_query(req, &q, REPLIES_CSV_CHUNK) < 0)
        return;
    q.limit = REPLIES_CSV_CHUNK;
    q.before = 0;
    static const char *const head[] = {"id",           "sent_at",     "received_at", "phone",
                                       "contact_name", "lead_id",     "campaign_id", "campaign",
                                       "type",         "text",        "payload",     "in_reply_to",
                                       "send_log_id",  "window_open", "handled_by",  "opt_out"};
    static const int cols[] = {
        RPL_ID,           RPL_SENT_AT,     RPL_RECEIVED_AT, RPL_PHONE,
        RPL_CONTACT_NAME, RPL_LEAD_ID,     RPL_CAMPAIGN_ID, RPL_CAMPAIGN_NAME,
        RPL_TYPE,         RPL_TEXT,        RPL_PAYLOAD,     RPL_CONTEXT_WAMID,
        RPL_SEND_LOG_ID,  RPL_WINDOW_OPEN, RPL_HANDLED_BY,  RPL_OPT_OUT};
    struct csvout l = {0};
    int begun = 0;
    /* Oldest first, a chunk at a time (the after cursor). */
    for (;;) {
        struct db_rows r;
        struct replies_query page = q;
        if (!page.after)
            page.after = -1; /* ascending from the start: replies_page sorts by after > 0 */
        if (replies_page(req->app->db, &page, 0, &r) != DB_OK) {
            if (!begun)
                http_db_error(req, "read the replies");
            else
                log_error("replies.csv cut short: %s", db_error(req->app->db));
            break;
        }
        if (!begun) {
            http_begin(req, 200, "text/csv; charset=utf-8",
                       "Content-Disposition: attachment; filename=\"replies.csv\"\r\n");
            http_write(req, "\xEF\xBB\xBF", 3);
            for (size_t k = 0; k < sizeof head / sizeof head[0]; k++)
                csvout_cell(&l, head[k]);
            csv_line(req, &l);
            begun = 1;
        }
        for (size_t i = 0; i < r.nrows; i++) {
            for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
                csvout_cell(&l, db_val(&r, i, (size_t)cols[k]));
            csv_line(req, &l);
        }
        size_t n = r.nrows;
        if (n)
            q.after = db_int(&r, n - 1, RPL_ID, 0);
        db_rows_free(&r);
        if (n < (size_t)q.limit)
            break;
    }
    csvout_free(&l);
}

void api_replies_update(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, REPLIES_BODY_LIMIT);
    if (!in)
        return;
    static const char *const known[] = {"handled", NULL};
    int handled = 0, present = 0, found = 0;
    struct db *db = req->app->db;
    if (http_json_only(req, in, known, "a member of a reply") < 0 ||
        json_bool_member(req, in, "handled", &handled, &present) < 0)
        goto out;
    if (!present) {
        http_fail(req, 400, "missing_field", "handled", "reply.handled_required", NULL,
                  "handled is required (true or false)");
        goto out;
    }
    if (db_begin(db) != DB_OK ||
        replies_set_handled(db, req->ids[0], handled, req->user ? req->user : "anonymous",
                            &found) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "mark the reply");
        goto out;
    }
    if (!found) {
        db_rollback(db);
        http_error(req, 404, "not_found", "no such reply", NULL);
        goto out;
    }
    if (audit_write(req, handled ? "reply.handled" : "reply.unhandled", "reply", req->ids[0], 0,
                    NULL) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "mark the reply");
        goto out;
    }
    struct db_rows r;
    if (replies_page(db, NULL, req->ids[0], &r) != DB_OK || r.nrows != 1) {
        http_db_error(req, "read the reply");
    } else {
        http_json(req, 200, replies_row_json(&r, 0));
    }
    db_rows_free(&r);
out:
    json_object_put(in);
}

/* Sends text to the reply's person through the Graph API; fills *res and returns the
 * verdict, or -1 with an answer given (no credentials, a bad text). */
static int answer_send(struct request *req, long long account_id, const char *to, const char *text,
                       const char *reply_to, struct cloudapi_result *res)
{
    char err[256];
    struct account_list accs = {0};
    char *body = cloudapi_text_json(to, text, reply_to, NULL, err, sizeof err);
    if (!body) {
        http_error(req, 400, "invalid_field", err, "text");
        return -1;
    }
    if (accounts_load(req->app->db, req->app->have_key ? &req->app->key : NULL, &accs) != DB_OK) {
        free(body);
        http_db_error(req, "read the account");
        return -1;
    }
    const struct account *acc = accounts_find(&accs, account_id);
    char *url =
        acc && acc->access_token ? accounts_messages_url(acc, req->app->cfg.graph_base_url) : NULL;
    if (!url) {
        accounts_free(&accs);
        free(body);
        http_error(req, 409, "no_credentials",
                   "the reply's account has no access token this server can use", NULL);
        return -1;
    }
    struct graph_answer a;
    graph_call(url, acc->access_token, body, 15000, &a);
    accounts_free(&accs);
    free(url);
    free(body);
    /* The worker's table (lib/sendverdict.h): without an answer, how far the request got. */
    enum sendverdict v =
        a.status ? sendverdict_decide(SENDVERDICT_ANSWERED, a.status, a.body, a.len, res)
                 : sendverdict_decide((enum sendverdict_transport)a.transport, 0, a.err,
                                      strlen(a.err), res);
    graph_answer_free(&a);
    return (int)v;
}

static int answer_record(struct request *req, const struct db_rows *r, const char *text,
                         const struct cloudapi_result *res, enum sendverdict v)
{
    struct db *db = req->app->db;
    long long id = db_int(r, 0, RPL_ID, 0), aid = 0;
    int found;
    const char *outcome = res->accepted ? "sent" : v == SENDVERDICT_IN_DOUBT ? "unknown" : "failed";
    struct replies_answer a = {
        .inbound_id = id,
        .account_id = db_int(r, 0, RPL_ACCOUNT_ID, 0),
        .phone = db_val(r, 0, RPL_PHONE),
        .body = text,
        .outcome = outcome,
        .wamid = res->accepted ? res->wamid : NULL,
        .error_text = res->accepted ? NULL : res->message,
        .created_by = req->user ? req->user : "anonymous",
        .http_status = res->http_status,
        .error_code = res->accepted ? 0 : res->code,
    };
    json_object *d = json_object_new_object();
    json_object_object_add(d, "to", json_object_new_string(a.phone));
    json_object_object_add(d, "outcome", json_object_new_string(outcome));
    if (res->accepted)
        json_object_object_add(d, "wamid", json_object_new_string(res->wamid));
    else
        json_object_object_add(d, "error_code", json_object_new_int(res->code));
    /* The text itself stays out of the audit log (it is in reply_answers). */
    if (db_begin(db) != DB_OK || replies_answer_record(db, &a, &aid) != DB_OK ||
        (res->accepted && replies_set_handled(db, id, 1, a.created_by, &found) != DB_OK)) {
        json_object_put(d);
        db_rollback(db);
        return -1;
    }
    json_object_object_add(d, "answer_id", json_object_new_int64(aid));
    if (audit_write(req, "reply.answer", "reply", id, db_int(r, 0, RPL_CAMPAIGN_ID, 0), d) !=
            DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

void api_replies_answer(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, REPLIES_BODY_LIMIT);
    if (!in)
        return;
    static const char *const known[] = {"text", NULL};
    struct db_rows r = {0};
    int opted = 0;
    if (http_json_only(req, in, known, "a member of an answer") < 0)
        goto out;
    const char *text = json_str(in, "text");
    if (!text || !*text) {
        http_fail(req, 400, "missing_field", "text", "reply.text_required", NULL,
                  "text is required");
        goto out;
    }
    if (replies_page(req->app->db, NULL, req->ids[0], &r) != DB_OK) {
        http_db_error(req, "read the reply");
        goto out;
    }
    if (r.nrows != 1) {
        http_error(req, 404, "not_found", "no such reply", NULL);
        goto out;
    }
    const char *phone = db_val(&r, 0, RPL_PHONE);
    if (!phone) {
        http_error(req, 409, "no_phone", "the person's number is not known yet", NULL);
        goto out;
    }
    if (!db_int(&r, 0, RPL_WINDOW_OPEN, 0)) {
        http_fail_str(
            req, 409, "window_closed", NULL, "reply.window_closed",
            "the 24-hour window closed: only a template message may be sent now", "closes_at",
            db_val(&r, 0, RPL_WINDOW_CLOSES_AT) ? db_val(&r, 0, RPL_WINDOW_CLOSES_AT) : "?");
        goto out;
    }
    if (person_is_blocked(req->app->db, phone, &opted) != DB_OK) {
        http_db_error(req, "read the opt-outs");
        goto out;
    }
    if (opted) {
        http_errorf(req, 409, "opted_out", NULL, "%s opted out: no message may be sent to it",
                    phone);
        goto out;
    }
    struct cloudapi_result res;
    int v = answer_send(req, db_int(&r, 0, RPL_ACCOUNT_ID, 0), phone, text,
                        db_val(&r, 0, RPL_WAMID), &res);
    if (v < 0)
        goto out;
    if (answer_record(req, &r, text, &res, (enum sendverdict)v) < 0) {
        /* It left already: the log keeps what the database could not. */
        log_error("answer to reply %lld (%s) not recorded: %s", req->ids[0],
                  res.accepted ? res.wamid : "not accepted", db_error(req->app->db));
        http_db_error(req, "record the answer");
        goto out;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "to", json_object_new_string(phone));
    json_object_object_add(o, "accepted", json_object_new_boolean(res.accepted));
    json_object_object_add(o, "verdict", json_object_new_string(sendverdict_name(v)));
    if (res.accepted) {
        json_object_object_add(o, "wamid", json_object_new_string(res.wamid));
    } else {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "http_status", json_object_new_int64(res.http_status));
        json_object_object_add(e, "code", json_object_new_int(res.code));
        json_object_object_add(e, "message", json_object_new_string(res.message));
        json_object_object_add(e, "explanation",
                               json_object_new_string(cloudapi_explain(res.code, "es")));
        json_object_object_add(o, "error", e);
    }
    http_json(req, res.accepted ? 200 : 502, o);
out:
    db_rows_free(&r);
    json_object_put(in);
}
