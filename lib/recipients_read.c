/* Reading a campaign's audience for the API: see recipients_read.h. */
#include "recipients_read.h"

#include <stdio.h>
#include <string.h>

#include "campaign_store.h"
#include "cloudapi.h"
#include "db.h"
#include "send_explain.h"

#define ISO_TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

/* clang-format off */
#define PAGE_COLUMNS \
    "SELECT r.id, r.phone, r.contact_id, r.vars, r.status, r.attempts, r.wamid, " \
    "r.last_error_code, r.last_error_text, " ISO_TS("r.created_at") ", " ISO_TS("r.sent_at") ", " \
    ISO_TS("r.delivered_at") ", " ISO_TS("r.read_at") ", " ISO_TS("r.failed_at") ", " \
    ISO_TS("r.next_attempt_at") ", r.next_attempt_at, r.variant FROM recipients r "
/* clang-format on */
enum page_col {
    PC_ID,
    PC_PHONE,
    PC_CONTACT,
    PC_VARS,
    PC_STATUS,
    PC_ATTEMPTS,
    PC_WAMID,
    PC_ERR_CODE,
    PC_ERR_TEXT,
    PC_TIMES,
    PC_NEXT_AT_RAW = PC_TIMES + 6,
    PC_VARIANT
};

const char RECIPIENTS_PAGE_BY_STATUS_SQL[] =
    PAGE_COLUMNS "FORCE INDEX (ix_recipients_queue) WHERE r.campaign_id = ? AND "
                 "r.status = ? AND (? IS NULL OR r.phone LIKE ?) AND "
                 "(r.next_attempt_at > ? OR (r.next_attempt_at = ? AND "
                 "r.phone > ?)) ORDER BY r.next_attempt_at, r.phone LIMIT ?";
const char RECIPIENTS_PAGE_SQL[] =
    PAGE_COLUMNS "FORCE INDEX (uq_recipients_phone) WHERE r.campaign_id = ? AND "
                 "(? IS NULL OR r.phone LIKE ?) AND r.phone > ? "
                 "ORDER BY r.phone LIMIT ?";

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *page_row(const struct db_rows *rows, size_t i, const char *lang)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(rows, i, PC_ID, 0)));
    json_object_object_add(o, "phone", str_or_null(db_val(rows, i, PC_PHONE)));
    json_object_object_add(
        o, "contact_id",
        db_val(rows, i, PC_CONTACT) ? json_object_new_int64(db_int(rows, i, PC_CONTACT, 0)) : NULL);
    json_object *vars =
        db_val(rows, i, PC_VARS) ? json_tokener_parse(db_val(rows, i, PC_VARS)) : NULL;
    json_object_object_add(o, "vars", vars ? vars : json_object_new_object());
    json_object_object_add(o, "status", str_or_null(db_val(rows, i, PC_STATUS)));
    json_object_object_add(o, "attempts", json_object_new_int64(db_int(rows, i, PC_ATTEMPTS, 0)));
    json_object_object_add(o, "wamid", str_or_null(db_val(rows, i, PC_WAMID)));
    /* an A/B campaign's variant (1-4, 0 the holdout; lib/abvariant.h), null before its claim */
    json_object_object_add(o, "variant",
                           db_val(rows, i, PC_VARIANT)
                               ? json_object_new_int((int)db_int(rows, i, PC_VARIANT, 0))
                               : NULL);
    json_object_object_add(o, "error",
                           send_explain_json(db_val(rows, i, PC_ERR_CODE) != NULL,
                                             (int)db_int(rows, i, PC_ERR_CODE, 0),
                                             db_val(rows, i, PC_ERR_TEXT),
                                             db_val(rows, i, PC_STATUS), lang));
    static const char *tn[] = {"created_at", "sent_at",   "delivered_at",
                               "read_at",    "failed_at", "next_attempt_at"};
    for (size_t k = 0; k < 6; k++)
        json_object_object_add(o, tn[k], str_or_null(db_val(rows, i, PC_TIMES + k)));
    return o;
}

int recipients_page_json(struct db *db, const struct recipients_page_query *q, json_object **out)
{
    struct db_rows rows;
    int rc;
    if (q->status)
        rc = db_query(db, RECIPIENTS_PAGE_BY_STATUS_SQL,
                      DB_ARGS(DB_INT(q->campaign_id), DB_STR(q->status), DB_STR(q->like),
                              DB_STR(q->like), DB_STR(q->after_at), DB_STR(q->after_at),
                              DB_STR(q->after_phone), DB_INT(q->limit)),
                      &rows);
    else
        rc = db_query(db, RECIPIENTS_PAGE_SQL,
                      DB_ARGS(DB_INT(q->campaign_id), DB_STR(q->like), DB_STR(q->like),
                              DB_STR(q->after_phone), DB_INT(q->limit)),
                      &rows);
    if (rc != DB_OK)
        return rc;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(arr, page_row(&rows, i, q->lang));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "recipients", arr);
    json_object *next = NULL;
    if (rows.nrows == (size_t)q->limit) {
        const char *at = db_val(&rows, rows.nrows - 1, PC_NEXT_AT_RAW);
        const char *ph = db_val(&rows, rows.nrows - 1, PC_PHONE);
        char cur[64];
        if (q->status && at && strcmp(at, "2000-01-01 00:00:00.000") != 0)
            snprintf(cur, sizeof cur, "%s|%s", at, ph);
        else
            snprintf(cur, sizeof cur, "%s", ph);
        next = json_object_new_string(cur);
    }
    json_object_object_add(o, "next_after", next);
    db_rows_free(&rows);
    *out = o;
    return DB_OK;
}

int recipients_imports_json(struct db *db, long long campaign_id, json_object **out)
{
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT id, kind, definition, rows_read, accepted, rejected, "
                      "rejected_by_reason, actor, " ISO_TS("created_at") " FROM audience_imports "
                                                                         "WHERE campaign_id = ? "
                                                                         "ORDER BY id",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_int(&r, i, 0, 0)));
        json_object_object_add(o, "kind", str_or_null(db_val(&r, i, 1)));
        json_object *d = json_tokener_parse(db_val(&r, i, 2));
        json_object_object_add(o, "definition", d ? d : json_object_new_object());
        json_object_object_add(o, "rows", json_object_new_int64(db_int(&r, i, 3, 0)));
        json_object_object_add(o, "accepted", json_object_new_int64(db_int(&r, i, 4, 0)));
        json_object_object_add(o, "rejected", json_object_new_int64(db_int(&r, i, 5, 0)));
        json_object *b = json_tokener_parse(db_val(&r, i, 6));
        json_object_object_add(o, "rejected_by_reason", b ? b : json_object_new_object());
        json_object_object_add(o, "actor", str_or_null(db_val(&r, i, 7)));
        json_object_object_add(o, "created_at", str_or_null(db_val(&r, i, 8)));
        json_object_array_add(arr, o);
    }
    db_rows_free(&r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "imports", arr);
    *out = o;
    return DB_OK;
}

enum recipients_clear_rc recipients_clear(struct db *db, long long campaign_id, long long *removed)
{
    struct db_rows r;
    *removed = 0;
    if (db_query(db,
                 "SELECT status, total_count, import_token IS NOT NULL FROM campaigns WHERE id = "
                 "? FOR UPDATE",
                 DB_ARGS(DB_INT(campaign_id)), &r) != DB_OK)
        return RECIPIENTS_CLEAR_READ_ERROR;
    if (r.nrows == 1 && db_int(&r, 0, 2, 0)) {
        db_rows_free(&r);
        return RECIPIENTS_CLEAR_IMPORTING;
    }
    if (r.nrows == 0 || strcmp(db_val(&r, 0, 0), "draft") != 0) {
        int absent = r.nrows == 0;
        db_rows_free(&r);
        return absent ? RECIPIENTS_CLEAR_NOT_FOUND : RECIPIENTS_CLEAR_NOT_DRAFT;
    }
    *removed = db_int(&r, 0, 1, 0);
    db_rows_free(&r);
    return campaign_store_clear_recipients(db, campaign_id) == DB_OK ? RECIPIENTS_CLEARED
                                                                     : RECIPIENTS_CLEAR_WRITE_ERROR;
}
