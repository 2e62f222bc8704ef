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
#include "segment.h"

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

/* The import's answer to a definition that does not hold (its field named as given). */
static void fail_segment(struct request *req, const struct segment_error *e)
{
    http_errorf(req, 400, "invalid_field", e->field, "%s", e->detail);
}

/* Adds the contacts seg takes; def (taken) is recorded as the import's definition. */
static void import_segment(struct request *req, const struct segment *seg, const char *kind,
                           json_object *def)
{
    struct recipients_import *ri = import_begin(req, RECIPIENTS_CONTACTS);
    if (!ri) {
        json_object_put(def);
        return;
    }
    const char *code, *field, *msg;
    if (!recipients_import_failure(ri, &code, &field, &msg))
        recipients_import_contacts(ri, seg);
    finish(req, ri, kind, def);
    recipients_import_free(ri);
}

/* A segment's definition given in place (lib/segment.h): {"include_tags": [...],
 * "exclude_tags": [...], "match": "any"|"all", "attributes": [...], "consent_since": ...,
 * "not_in_campaigns": [...]}. */
void api_recipients_from_contacts(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 64 * 1024);
    if (!in)
        return;
    struct segment seg;
    struct segment_error e;
    if (segment_parse(in, &seg, &e) < 0) {
        fail_segment(req, &e);
        json_object_put(in);
        return;
    }
    json_object *def = json_object_new_object();
    json_object_object_foreach(in, k, v) json_object_object_add(def, k, json_object_get(v));
    if (!json_object_object_get_ex(def, "match", NULL))
        json_object_object_add(def, "match", json_object_new_string(seg.all ? "all" : "any"));
    import_segment(req, &seg, "contacts", def);
    segment_free(&seg);
    json_object_put(in);
}

/* {"segment_id": N}: the contacts a saved segment takes now. */
void api_recipients_from_segment(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 4 * 1024), *v;
    if (!in)
        return;
    static const char *const known[] = {"segment_id", NULL};
    struct db_rows r;
    int found = 0;
    long long sid =
        json_object_object_get_ex(in, "segment_id", &v) && json_object_is_type(v, json_type_int)
            ? json_object_get_int64(v)
            : 0;
    if (http_json_only(req, in, known, "a segment import field") < 0)
        goto out;
    if (sid <= 0) {
        http_fail(req, 400, "invalid_field", "segment_id", "recipients.segment_id", NULL,
                  "segment_id is the id of a saved segment");
        goto out;
    }
    if (segment_store_get(req->app->db, sid, &r, &found) != DB_OK) {
        http_db_error(req, "read the segment");
        goto out;
    }
    json_object *sdef = found ? json_tokener_parse(db_val(&r, 0, 2)) : NULL;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "segment_id", json_object_new_int64(sid));
    if (found)
        json_object_object_add(d, "name", json_str_or_null(db_val(&r, 0, 1)));
    db_rows_free(&r);
    struct segment seg;
    struct segment_error e;
    if (!found) {
        http_error(req, 404, "not_found", "no such segment", "segment_id");
    } else if (segment_parse(sdef, &seg, &e) < 0) {
        fail_segment(req, &e);
    } else {
        /* the definition as it was used: the segment may be edited later */
        json_object_object_add(d, "definition", json_object_get(sdef));
        import_segment(req, &seg, "segment", d);
        d = NULL;
        segment_free(&seg);
    }
    json_object_put(d);
    json_object_put(sdef);
out:
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
                  "cancelled, unknown, holdout");
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
