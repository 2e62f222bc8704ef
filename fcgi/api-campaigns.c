/* /api/campaigns: create, list, show and start campaigns. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "log.h"

#define JSON_LIMIT (256 * 1024)

#define TS(col) "DATE_FORMAT(c." col ", '%Y-%m-%dT%H:%i:%s.%fZ')"
/* Column order is what campaign_json reads. */
#define CAMPAIGN_COLUMNS                                                                        \
    "c.id, c.account_id, a.phone_number_id, c.name, c.template_name, c.template_language, "  \
    "c.body_params, c.status, c.pause_reason, c.batch_size, c.created_by, " TS("created_at")  \
    ", " TS("started_at") ", " TS("completed_at") ", c.total_count, c.pending_count, "          \
    "c.sending_count, c.sent_count, c.delivered_count, c.read_count, c.failed_count, "         \
    "c.blocked_count, c.cancelled_count, c.unknown_count, a.is_sandbox"

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *campaign_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "account_id", json_object_new_int64(db_int(r, i, 1, 0)));
    json_object_object_add(o, "phone_number_id", str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "name", str_or_null(db_val(r, i, 3)));
    json_object *t = json_object_new_object();
    json_object_object_add(t, "name", str_or_null(db_val(r, i, 4)));
    json_object_object_add(t, "language", str_or_null(db_val(r, i, 5)));
    json_object_object_add(o, "template", t);
    json_object *params = json_tokener_parse(db_val(r, i, 6) ? db_val(r, i, 6) : "[]");
    json_object_object_add(o, "body_params", params ? params : json_object_new_array());
    json_object_object_add(o, "status", str_or_null(db_val(r, i, 7)));
    json_object_object_add(o, "pause_reason", str_or_null(db_val(r, i, 8)));
    json_object_object_add(o, "batch_size", json_object_new_int64(db_int(r, i, 9, 0)));
    json_object_object_add(o, "created_by", str_or_null(db_val(r, i, 10)));
    json_object_object_add(o, "created_at", str_or_null(db_val(r, i, 11)));
    json_object_object_add(o, "started_at", str_or_null(db_val(r, i, 12)));
    json_object_object_add(o, "completed_at", str_or_null(db_val(r, i, 13)));
    static const char *names[] = {"total",  "pending", "sending", "sent",    "delivered",
                                  "read",   "failed",  "blocked", "cancelled", "unknown"};
    json_object *c = json_object_new_object();
    long long pending = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        long long v = db_int(r, i, 14 + k, 0);
        /* "pending" is everything not yet answered by Meta, claimed or not. */
        if (k == 1 || k == 2)
            pending += v;
        json_object_object_add(c, names[k], json_object_new_int64(k == 1 ? 0 : v));
    }
    json_object_object_add(c, "pending", json_object_new_int64(pending));
    json_object_object_add(o, "counters", c);
    json_object_object_add(o, "sandbox", json_object_new_boolean(db_int(r, i, 24, 0) != 0));
    return o;
}

/* Validates and normalises body_params: each item is a fixed string, {"value": "..."} or
 * {"column": "name", "fallback": "..."}. Returns a new array or NULL (answered). */
static json_object *parse_body_params(struct request *req, json_object *in)
{
    json_object *out = json_object_new_array();
    if (!in)
        return out;
    if (!json_object_is_type(in, json_type_array) || json_object_array_length(in) > 30) {
        json_object_put(out);
        http_error(req, 400, "invalid_field", "body_params must be an array of at most 30 items",
                   "body_params");
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(in); i++) {
        json_object *it = json_object_array_get_idx(in, i), *p = json_object_new_object();
        const char *value = NULL, *column = NULL, *fallback = NULL;
        if (json_object_is_type(it, json_type_string)) {
            value = json_object_get_string(it);
        } else if (json_object_is_type(it, json_type_object)) {
            value = json_str(it, "value");
            column = json_str(it, "column");
            fallback = json_str(it, "fallback");
        }
        int ok = (value && !column) || (column && !value && *column);
        if (ok && value && strlen(value) > 1024)
            ok = 0;
        if (ok && column && strlen(column) > 64)
            ok = 0;
        if (!ok) {
            json_object_put(p);
            json_object_put(out);
            http_errorf(req, 400, "invalid_field", "body_params",
                        "body_params[%zu] must be a string, {\"value\": ...} or "
                        "{\"column\": ..., \"fallback\": ...}",
                        i);
            return NULL;
        }
        if (value)
            json_object_object_add(p, "value", json_object_new_string(value));
        if (column)
            json_object_object_add(p, "column", json_object_new_string(column));
        if (fallback)
            json_object_object_add(p, "fallback", json_object_new_string(fallback));
        json_object_array_add(out, p);
    }
    return out;
}

static int valid_chars(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              (*s >= 'A' && *s <= 'Z') || strchr(extra, *s)))
            return 0;
    return 1;
}

static void answer_campaign(struct request *req, long long id, int status)
{
    struct db_rows rows;
    if (db_query(req->app->db,
                 "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c JOIN wa_accounts a "
                 "ON a.id = c.account_id WHERE c.id = ?",
                 DB_ARGS(DB_INT(id)), &rows) != DB_OK) {
        log_error("campaign %lld: %s", id, db_error(req->app->db));
        http_error(req, 500, "database_error", "could not read the campaign", NULL);
        return;
    }
    if (rows.nrows == 0)
        http_error(req, 404, "not_found", "no such campaign", NULL);
    else
        http_json(req, status, campaign_json(&rows, 0));
    db_rows_free(&rows);
}

void api_campaigns_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    json_object *params = NULL, *v = NULL;
    const char *name = json_str(in, "name");
    const char *tname = json_str(in, "template_name");
    const char *tlang = json_str(in, "template_language");
    const char *phone_id = json_str(in, "phone_number_id");
    long long batch = 200;

    if (!name || !*name || strlen(name) > 200) {
        http_error(req, 400, "invalid_field", "name is required (1 to 200 characters)", "name");
        goto out;
    }
    if (!tname || !*tname || strlen(tname) > 512 || !valid_chars(tname, "_")) {
        http_error(req, 400, "invalid_field",
                   "template_name is required: letters, digits and underscores",
                   "template_name");
        goto out;
    }
    if (!tlang || strlen(tlang) < 2 || strlen(tlang) > 16 || !valid_chars(tlang, "_")) {
        http_error(req, 400, "invalid_field",
                   "template_language is required, e.g. es_AR", "template_language");
        goto out;
    }
    if (json_object_object_get_ex(in, "batch_size", &v)) {
        batch = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
        if (batch < 1 || batch > 1000) {
            http_error(req, 400, "invalid_field", "batch_size must be between 1 and 1000",
                       "batch_size");
            goto out;
        }
    }
    json_object_object_get_ex(in, "body_params", &v);
    params = parse_body_params(req, v);
    if (!params)
        goto out;

    struct db_rows acc;
    int rc;
    if (phone_id)
        rc = db_query(req->app->db, "SELECT id FROM wa_accounts WHERE phone_number_id = ?",
                      DB_ARGS(DB_STR(phone_id)), &acc);
    else
        rc = db_query(req->app->db, "SELECT id FROM wa_accounts ORDER BY id LIMIT 2", DB_NOARGS,
                      &acc);
    if (rc != DB_OK) {
        http_error(req, 500, "database_error", "could not read the accounts", NULL);
        goto out;
    }
    if (acc.nrows != 1) {
        if (phone_id)
            http_error(req, 422, "unknown_account",
                       "no WhatsApp account has that phone_number_id", "phone_number_id");
        else
            http_error(req, 422, "account_required",
                       acc.nrows ? "several accounts exist: give phone_number_id"
                                 : "no WhatsApp account is configured",
                       "phone_number_id");
        db_rows_free(&acc);
        goto out;
    }
    long long account_id = db_int(&acc, 0, 0, 0);
    db_rows_free(&acc);

    struct db_res res;
    if (db_exec(req->app->db,
                "INSERT INTO campaigns (account_id, name, template_name, template_language, "
                "body_params, batch_size, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                DB_ARGS(DB_INT(account_id), DB_STR(name), DB_STR(tname), DB_STR(tlang),
                        DB_STR(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN)),
                        DB_INT(batch), DB_STR(req->user)),
                &res) != DB_OK) {
        log_error("create campaign: %s", db_error(req->app->db));
        http_error(req, 500, "database_error", "could not store the campaign", NULL);
        goto out;
    }
    log_info("campaign %llu created by %s", res.insert_id, req->user);
    answer_campaign(req, (long long)res.insert_id, 201);
out:
    json_object_put(params);
    json_object_put(in);
}

void api_campaigns_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    answer_campaign(req, req->ids[0], 200);
}

void api_campaigns_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *status = http_query_param(req->query, "status");
    char *before = http_query_param(req->query, "before");
    char *limit_s = http_query_param(req->query, "limit");
    long long limit = limit_s ? atoll(limit_s) : 50, before_id = before ? atoll(before) : 0;
    if (limit < 1 || limit > 200)
        limit = 50;
    if (before_id <= 0)
        before_id = (long long)1 << 62;
    struct db_rows rows;
    int rc = db_query(req->app->db,
                      "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c JOIN wa_accounts a "
                      "ON a.id = c.account_id WHERE c.id < ? AND (? IS NULL OR c.status = ?) "
                      "ORDER BY c.id DESC LIMIT ?",
                      DB_ARGS(DB_INT(before_id), DB_STR(status), DB_STR(status), DB_INT(limit)),
                      &rows);
    free(status);
    free(before);
    free(limit_s);
    if (rc != DB_OK) {
        http_error(req, 500, "database_error", "could not list campaigns", NULL);
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(arr, campaign_json(&rows, i));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "campaigns", arr);
    if (rows.nrows == (size_t)limit)
        json_object_object_add(o, "next_before",
                               json_object_new_int64(db_int(&rows, rows.nrows - 1, 0, 0)));
    db_rows_free(&rows);
    http_json(req, 200, o);
}

void api_campaigns_start(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    long long id = req->ids[0];
    struct db_rows rows;
    if (db_begin(db) != DB_OK) {
        http_error(req, 503, "database_unavailable", "the database is not reachable", NULL);
        return;
    }
    if (db_query(db,
                 "SELECT c.status, c.total_count, a.campaigns_enabled FROM campaigns c "
                 "JOIN wa_accounts a ON a.id = c.account_id WHERE c.id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(id)), &rows) != DB_OK) {
        db_rollback(db);
        http_error(req, 500, "database_error", "could not read the campaign", NULL);
        return;
    }
    const char *err_code = NULL, *err_msg = NULL;
    int err_status = 409;
    if (rows.nrows == 0) {
        err_status = 404;
        err_code = "not_found";
        err_msg = "no such campaign";
    } else if (strcmp(db_val(&rows, 0, 0), "draft") != 0) {
        err_code = "invalid_state";
        err_msg = "only a draft campaign can be started";
    } else if (db_int(&rows, 0, 1, 0) == 0) {
        err_code = "no_recipients";
        err_msg = "the campaign has no recipients";
    } else if (db_int(&rows, 0, 2, 0) == 0) {
        err_code = "campaigns_disabled";
        err_msg = "campaigns are disabled for this WhatsApp account";
    }
    db_rows_free(&rows);
    if (err_code) {
        db_rollback(db);
        http_error(req, err_status, err_code, err_msg, NULL);
        return;
    }
    if (db_exec(db,
                "UPDATE campaigns SET status = 'running', started_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_INT(id)), NULL) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_error(req, 500, "database_error", "could not start the campaign", NULL);
        return;
    }
    log_info("campaign %lld started by %s", id, req->user);
    answer_campaign(req, id, 200);
}
