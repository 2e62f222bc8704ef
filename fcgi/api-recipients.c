/* A campaign's audience over HTTP: CSV uploads, contacts chosen by tags, pasted lists, the
 * recipient list with status filter, phone search and cursor pagination, removing a draft's
 * recipients, and the record of imports. These handlers parse the request and answer; the
 * import pipeline is lib/recipients_import.h (checks, batch lookups, the LOAD DATA stream and
 * the INSERT path), the reads lib/recipients_read.h. An import runs in one transaction owned
 * here, or in chunks that a failure undoes (lib/recipients_chunks.c): the report is answered,
 * nothing is half-written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-campaign.h"
#include "app.h"
#include "msgcat.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "msgstatus.h"
#include "recipients_import.h"
#include "recipients_read.h"

#define JSON_LIMIT (8 * 1024 * 1024)

/* Stores the import's record and counters, writes the audit log, commits and answers the
 * report; or rolls back and answers the failure. definition is taken. */
static void finish(struct request *req, struct recipients_import *ri, const char *kind,
                   json_object *definition)
{
    struct db *db = req->app->db;
    long long import_id = 0;
    if (recipients_import_store(ri, kind, definition, req->user, &import_id) == 0) {
        long long rows, accepted, rejected;
        recipients_import_counts(ri, &rows, &accepted, &rejected);
        json_object *d = json_object_new_object();
        json_object_object_add(d, "kind", json_object_new_string(kind));
        json_object_object_add(d, "accepted", json_object_new_int64(accepted));
        json_object_object_add(d, "rejected", json_object_new_int64(rejected));
        json_object_object_add(d, "import_id", json_object_new_int64(import_id));
        char action[64];
        snprintf(action, sizeof action, "campaign.recipients.%s", kind);
        if (audit_write(req, action, "campaign", req->ids[0], req->ids[0], d) != DB_OK ||
            db_commit(db) != DB_OK)
            recipients_import_fail(ri, 500, "database_error", NULL,
                                   "could not store the recipients");
    }
    json_object_put(definition);
    recipients_import_close(ri);
    const char *code, *field, *msg;
    int status = recipients_import_failure(ri, &code, &field, &msg);
    if (status) {
        db_rollback(db);
        recipients_import_undo(ri); /* the chunks already committed, if any */
        if (strcmp(code, "import_running") == 0) {
            api_campaign_fail_import_running(req);
            return;
        }
        const char *state = recipients_import_failed_state(ri);
        json_object *p = state ? json_object_new_object() : NULL;
        if (p) {
            json_object_object_add(p, "status", json_object_new_string(state));
            json_object_object_add(p, "state", msgcat_ref("campaign.state.", state));
        }
        http_fail(req, status, code, field, state ? "campaign.refused.add_recipients" : NULL, p,
                  msg);
        return;
    }
    json_object *rep = recipients_import_report(ri, kind, import_id), *rows;
    /* the rows' details in the operator's language (lib/msgcat "import.<reason>") */
    if (rep && json_object_object_get_ex(rep, "rejected", &rows))
        http_localize_items(req, rows, "reason", "import.");
    http_json(req, 200, rep);
}

/* A new import of the request's campaign with its transaction begun and the campaign locked;
 * NULL (answered) when out of memory. A failure to begin or lock is kept on the import, which
 * finish() answers. */
static struct recipients_import *import_begin(struct request *req, enum recipients_source src)
{
    struct recipients_import *ri = recipients_import_new(req->app->db, req->ids[0], src);
    if (!ri) {
        http_error(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    recipients_import_set_chunk(ri, req->app->cfg.import_chunk_rows);
    recipients_import_begin(ri);
    return ri;
}

static int read_body(void *ctx, char *buf, size_t len)
{
    return http_read_chunk(ctx, buf, len);
}

/* POST /api/campaigns/{id}/recipients: the CSV body (also the last step of a chunked upload,
 * fcgi/api-imports.c). */
void api_recipients_upload(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (req->content_length > (long long)req->app->cfg.body_limit) {
        http_errorf(req, 413, "body_too_large", "body", "the upload is over %zu bytes",
                    req->app->cfg.body_limit);
        return;
    }
    struct recipients_import *ri = import_begin(req, RECIPIENTS_CSV);
    if (!ri)
        return;
    const char *code, *field, *msg;
    if (!recipients_import_failure(ri, &code, &field, &msg))
        recipients_import_csv(ri, read_body, req, req->content_length, req->app->cfg.body_limit);
    json_object *def = recipients_import_csv_definition(ri);
    char *fname = http_query_param(req->query, "filename");
    if (fname && strlen(fname) < 256)
        json_object_object_add(def, "filename", json_object_new_string(fname));
    free(fname);
    finish(req, ri, "csv", def);
    recipients_import_free(ri);
}

/* {"text": "one number per line, or separated by , ; or spaces"} or {"phones": ["..."]} */
void api_recipients_from_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT), *phones = NULL;
    if (!in)
        return;
    const char *text = json_str(in, "text");
    json_object_object_get_ex(in, "phones", &phones);
    if ((!text && !phones) || (text && phones) ||
        (phones && !json_object_is_type(phones, json_type_array))) {
        json_object_put(in);
        http_fail(req, 400, "invalid_field", "text", "recipients.list_shape", NULL,
                  "give text (numbers one per line) or phones (an array of numbers)");
        return;
    }
    struct recipients_import *ri = import_begin(req, RECIPIENTS_LIST);
    if (!ri) {
        json_object_put(in);
        return;
    }
    const char *code, *field, *msg;
    if (!recipients_import_failure(ri, &code, &field, &msg)) {
        if (text)
            recipients_import_list_text(ri, text);
        else
            recipients_import_list_array(ri, phones);
    }
    long long rows, accepted, rejected;
    recipients_import_counts(ri, &rows, &accepted, &rejected);
    json_object *def = json_object_new_object();
    json_object_object_add(def, "numbers", json_object_new_int64(rows));
    finish(req, ri, "list", def);
    recipients_import_free(ri);
    json_object_put(in);
}

static int tags_ok(struct request *req, json_object *arr, const char *field)
{
    if (!arr)
        return 0;
    if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > 50) {
        http_errorf(req, 400, "invalid_field", field, "%s is an array of at most 50 tags", field);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *t = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) == 0 ||
            json_object_get_string_len(t) > 64) {
            http_errorf(req, 400, "invalid_field", field, "%s[%zu] is a tag of 1 to 64 characters",
                        field, i);
            return -1;
        }
    }
    return 0;
}

/* {"include_tags": [...], "exclude_tags": [...], "match": "any"|"all"} */
void api_recipients_from_contacts(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 64 * 1024), *inc = NULL, *exc = NULL;
    if (!in)
        return;
    json_object_object_get_ex(in, "include_tags", &inc);
    json_object_object_get_ex(in, "exclude_tags", &exc);
    const char *match = json_str(in, "match");
    if (tags_ok(req, inc, "include_tags") < 0 || tags_ok(req, exc, "exclude_tags") < 0) {
        json_object_put(in);
        return;
    }
    if (match && strcmp(match, "any") && strcmp(match, "all")) {
        json_object_put(in);
        http_fail(req, 400, "invalid_field", "match", "recipients.match", NULL,
                  "match is any or all");
        return;
    }
    int all = match && strcmp(match, "all") == 0;
    struct recipients_import *ri = import_begin(req, RECIPIENTS_CONTACTS);
    if (!ri) {
        json_object_put(in);
        return;
    }
    const char *code, *field, *msg;
    if (!recipients_import_failure(ri, &code, &field, &msg))
        recipients_import_contacts(ri, inc, exc, all);
    json_object *def = json_object_new_object();
    json_object_object_add(def, "include_tags",
                           inc ? json_object_get(inc) : json_object_new_array());
    json_object_object_add(def, "exclude_tags",
                           exc ? json_object_get(exc) : json_object_new_array());
    json_object_object_add(def, "match", json_object_new_string(all ? "all" : "any"));
    finish(req, ri, "contacts", def);
    recipients_import_free(ri);
    json_object_put(in);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* ?status=failed&phone=+549387&after=<phone>&limit=100: recipients in phone order. */
void api_recipients_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *status = http_query_param(req->query, "status");
    char *phone = http_query_param(req->query, "phone");
    char *after = http_query_param(req->query, "after");
    long long limit;
    char prefix[40] = "", like[48] = "";
    if (http_query_ll(req, "limit", 100, 1, 1000, &limit) < 0)
        goto out;
    if (status && msg_status_parse(status) == MSG_INVALID) {
        http_fail(req, 400, "invalid_parameter", "status", "recipients.status", NULL,
                  "status is one of pending, sending, sent, delivered, read, failed, blocked, "
                  "cancelled, unknown");
        goto out;
    }
    if (phone) {
        /* Digits only; a leading + (or a full number) searches by prefix, else anywhere. */
        size_t n = 0;
        int plus = 0;
        for (const char *c = phone; *c; c++) {
            if (*c == '+' && n == 0)
                plus = 1;
            else if (*c >= '0' && *c <= '9' && n < 15)
                prefix[n++] = *c;
        }
        prefix[n] = 0;
        if (n == 0) {
            http_fail(req, 400, "invalid_parameter", "phone", "recipients.phone_digits", NULL,
                      "phone must contain digits");
            goto out;
        }
        snprintf(like, sizeof like, plus ? "+%s%%" : "%%%s%%", prefix);
    }
    /* With a status, pages follow ix_recipients_queue: (next_attempt_at, phone). Only a
     * pending recipient has a next attempt time (sql/091), so within any other status, and
     * for every fresh pending one, that is phone order and the cursor is the last phone;
     * a pending recipient waiting for a retry continues as "<next attempt>|<phone>". */
    char after_at[32] = "2000-01-01 00:00:00.000", after_phone[20] = "";
    if (after) {
        const char *bar = strchr(after, '|');
        size_t at_len = bar ? (size_t)(bar - after) : 0;
        const char *ph = bar ? bar + 1 : after;
        if (strlen(ph) > 16 || (bar && (!status || at_len < 10 || at_len >= sizeof after_at))) {
            http_error(req, 400, "invalid_parameter",
                       "after is the next_after of the previous page", "after");
            goto out;
        }
        if (bar)
            snprintf(after_at, sizeof after_at, "%.*s", (int)at_len, after);
        snprintf(after_phone, sizeof after_phone, "%s", ph);
    }
    if (!api_campaign_exists(req))
        goto out;
    struct recipients_page_query q = {
        .campaign_id = req->ids[0],
        .status = status,
        .like = phone ? like : NULL,
        .after_at = after_at,
        .after_phone = after_phone,
        .limit = limit,
        .lang = req->lang,
    };
    json_object *o;
    if (recipients_page_json(req->app->db, &q, &o) != DB_OK) {
        http_db_error(req, "list the recipients");
        goto out;
    }
    http_json(req, 200, o);
out:
    free(status);
    free(phone);
    free(after);
}

/* Removes every recipient of a draft (to upload a corrected list). */
void api_recipients_clear(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    long long n = 0;
    int settled = recipients_import_settle(db, req->ids[0]); /* one that stopped midway */
    enum recipients_clear_rc rc = settled == RECIPIENTS_IMPORTING ? RECIPIENTS_CLEAR_IMPORTING
                                  : settled < 0 || db_begin(db) != DB_OK
                                      ? RECIPIENTS_CLEAR_READ_ERROR
                                      : recipients_clear(db, req->ids[0], &n);
    if (rc != RECIPIENTS_CLEARED) {
        db_rollback(db);
        if (rc == RECIPIENTS_CLEAR_IMPORTING)
            api_campaign_fail_import_running(req);
        else if (rc == RECIPIENTS_CLEAR_NOT_FOUND)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else if (rc == RECIPIENTS_CLEAR_NOT_DRAFT)
            http_fail(req, 409, "invalid_state", NULL, "campaign.refused.clear_recipients", NULL,
                      "recipients can only be removed from a draft campaign");
        else
            http_db_error(req, rc == RECIPIENTS_CLEAR_READ_ERROR ? "read the campaign"
                                                                 : "remove the recipients");
        return;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "removed", json_object_new_int64(n));
    if (audit_write(req, "campaign.recipients.clear", "campaign", req->ids[0], req->ids[0], d) !=
            DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "remove the recipients");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "removed", json_object_new_int64(n));
    http_json(req, 200, o);
}

void api_recipients_imports(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (!api_campaign_exists(req))
        return;
    json_object *o;
    if (recipients_imports_json(req->app->db, req->ids[0], &o) != DB_OK) {
        http_db_error(req, "read the imports");
        return;
    }
    http_json(req, 200, o);
}
