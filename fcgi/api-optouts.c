/* /api/opt-outs: the numbers that must never get a message, kept by number (they survive the
 * deletion of a contact) with every opt-out and lifting recorded in opt_out_events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "e164.h"
#include "log.h"
#include "person.h"

/* The country numbers without a country code are read in: the only account's, else AR. */
void app_default_country(struct db *db, char out[3])
{
    struct db_rows r;
    snprintf(out, 3, "AR");
    if (db_query(db, "SELECT default_country FROM wa_accounts ORDER BY is_sandbox, id LIMIT 1",
                 DB_NOARGS, &r) == DB_OK) {
        if (r.nrows && db_val(&r, 0, 0))
            snprintf(out, 3, "%s", db_val(&r, 0, 0));
        db_rows_free(&r);
    }
}

/* Normalizes a phone given by the API (field names it in the error). Returns 0 or answers. */
static int api_phone(struct request *req, const char *in, const char *field, char out[E164_MAX + 1])
{
    char cc[3];
    app_default_country(req->app->db, cc);
    int st = in ? e164_normalize(in, strlen(in), cc, out) : E164_EMPTY;
    if (st != E164_OK) {
        http_fail_phone(req, field, st, in);
        return -1;
    }
    return 0;
}

static json_object *optout_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "phone", json_str_or_null(db_val(r, i, 0)));
    json_object_object_add(o, "source", json_str_or_null(db_val(r, i, 1)));
    json_object_object_add(o, "detail", json_str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "campaign_id",
                           db_val(r, i, 3) ? json_object_new_int64(db_int(r, i, 3, 0)) : NULL);
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 4)));
    /* recorded or confirmed by an operator: only an operator lifts it */
    json_object_object_add(o, "operator_lock", json_object_new_boolean(db_int(r, i, 5, 0) != 0));
    return o;
}

void api_optouts_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *phone = http_query_param(req->query, "phone");
    char *after = http_query_param(req->query, "after");
    char *source = http_query_param(req->query, "source");
    long long limit;
    char e164[E164_MAX + 1] = "";
    if (http_query_ll(req, "limit", 100, 1, 1000, &limit) < 0)
        goto out;
    if (phone && api_phone(req, phone, "phone", e164) < 0)
        goto out;
    struct db_rows r;
    if (person_optouts_rows(req->app->db, phone ? e164 : NULL, after, source, limit, &r) != DB_OK) {
        http_db_error(req, "list the opt-outs");
        goto out;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(arr, optout_json(&r, i));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "opt_outs", arr);
    json_object_object_add(
        o, "next_after",
        r.nrows == (size_t)limit ? json_object_new_string(db_val(&r, r.nrows - 1, 0)) : NULL);
    db_rows_free(&r);
    http_json(req, 200, o);
out:
    free(phone);
    free(after);
    free(source);
}

/* {"phone": "...", "detail": "...", "source": "api"} */
void api_optouts_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 16 * 1024);
    if (!in)
        return;
    char e164[E164_MAX + 1];
    const char *detail = json_str(in, "detail"), *source = json_str(in, "source");
    struct db *db = req->app->db;
    if (api_phone(req, json_str(in, "phone"), "phone", e164) < 0)
        goto out;
    if (detail && strlen(detail) > 500) {
        http_fail_range(req, 400, "invalid_field", "detail", "optout.detail_length",
                        "detail has at most 500 characters", 0, 500);
        goto out;
    }
    if (!source)
        source = "api";
    if (strcmp(source, "api") && strcmp(source, "import") && strcmp(source, "keyword") &&
        strcmp(source, "button")) {
        http_fail(req, 400, "invalid_field", "source", "optout.source", NULL,
                  "source is api, import, keyword or button");
        goto out;
    }
    /* the block, its event and its audit row together (lib/person.h) */
    const struct person_actor who = {req->user, req->remote_addr, 1};
    int existed;
    enum person_change ch;
    if (db_begin(db) != DB_OK || person_is_blocked(db, e164, &existed) != DB_OK ||
        person_block(db, e164, source, detail, 0, &who, &ch) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the opt-out");
        goto out;
    }
    int created = !existed && ch == PERSON_CHANGED;
    if (db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the opt-out");
        goto out;
    }
    struct db_rows r;
    if (person_optouts_rows(db, e164, NULL, NULL, 1, &r) != DB_OK || r.nrows == 0) {
        http_db_error(req, "read the opt-out");
        goto out;
    }
    json_object *o = optout_json(&r, 0);
    db_rows_free(&r);
    json_object_object_add(o, "created", json_object_new_boolean(created));
    http_json(req, created ? 201 : 200, o);
out:
    json_object_put(in);
}

/* DELETE /api/opt-outs?phone=...&detail=...: the person asked to hear from us again. */
void api_optouts_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *phone = http_query_param(req->query, "phone");
    char *detail = http_query_param(req->query, "detail");
    char e164[E164_MAX + 1];
    struct db *db = req->app->db;
    if (!phone) {
        http_fail(req, 400, "invalid_parameter", "phone", "optout.phone_required", NULL,
                  "phone is required: ?phone=%2B549...");
        goto out;
    }
    if (api_phone(req, phone, "phone", e164) < 0)
        goto out;
    if (detail && strlen(detail) > 500) {
        http_fail_range(req, 400, "invalid_parameter", "detail", "optout.detail_length",
                        "detail has at most 500 characters", 0, 500);
        goto out;
    }
    /* an operator lifts any opt-out, also one WhatsApp recorded (lib/person.h) */
    const struct person_actor who = {req->user, req->remote_addr, 1};
    enum person_change ch;
    if (db_begin(db) != DB_OK || person_lift(db, e164, "api", detail, &who, &ch) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "lift the opt-out");
        goto out;
    }
    if (ch != PERSON_CHANGED) {
        db_rollback(db);
        http_fail(req, 404, "not_found", "phone", "optout.not_found", NULL,
                  "that number has not opted out");
        goto out;
    }
    if (db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "lift the opt-out");
        goto out;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
out:
    free(phone);
    free(detail);
}
