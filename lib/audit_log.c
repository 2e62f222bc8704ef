#include "audit_log.h"

#include "db.h"

int audit_log_write(struct db *db, const char *actor, const char *address, const char *action,
                    const char *target_type, long long target_id, long long campaign_id,
                    json_object *detail)
{
    const char *d = detail ? json_object_to_json_string_ext(
                                 detail, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                           : NULL;
    int rc = db_exec(db,
                     "INSERT INTO audit_log (actor, address, action, target_type, target_id, "
                     "campaign_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(actor ? actor : "anonymous"), DB_STR(address), DB_STR(action),
                             DB_STR(target_type), target_id > 0 ? DB_INT(target_id) : DB_NULL,
                             campaign_id > 0 ? DB_INT(campaign_id) : DB_NULL, DB_STR(d)),
                     NULL);
    json_object_put(detail);
    return rc;
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

enum audit_col {
    AC_ID,
    AC_CREATED,
    AC_ACTOR,
    AC_ADDRESS,
    AC_ACTION,
    AC_TARGET_TYPE,
    AC_TARGET_ID,
    AC_CAMPAIGN,
    AC_DETAIL
};

static json_object *audit_entry(const struct db_rows *rows, size_t i)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_int64(db_int(rows, i, AC_ID, 0)));
    json_object_object_add(e, "created_at", str_or_null(db_val(rows, i, AC_CREATED)));
    json_object_object_add(e, "actor", str_or_null(db_val(rows, i, AC_ACTOR)));
    json_object_object_add(e, "address", str_or_null(db_val(rows, i, AC_ADDRESS)));
    json_object_object_add(e, "action", str_or_null(db_val(rows, i, AC_ACTION)));
    json_object_object_add(e, "target_type", str_or_null(db_val(rows, i, AC_TARGET_TYPE)));
    json_object_object_add(e, "target_id",
                           db_val(rows, i, AC_TARGET_ID)
                               ? json_object_new_int64(db_int(rows, i, AC_TARGET_ID, 0))
                               : NULL);
    json_object_object_add(e, "campaign_id",
                           db_val(rows, i, AC_CAMPAIGN)
                               ? json_object_new_int64(db_int(rows, i, AC_CAMPAIGN, 0))
                               : NULL);
    const char *d = db_val(rows, i, AC_DETAIL);
    json_object_object_add(e, "detail", d ? json_tokener_parse(d) : NULL);
    return e;
}

int audit_log_page_json(struct db *db, const struct audit_log_query *q, json_object **out)
{
    struct db_rows rows;
    int rc =
        db_query(db,
                 "SELECT id, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), actor, "
                 "address, action, target_type, target_id, campaign_id, detail FROM "
                 "audit_log WHERE (? = 0 OR id < ?) AND (? IS NULL OR action = ?) "
                 "AND (? IS NULL OR actor = ?) ORDER BY id DESC LIMIT ?",
                 DB_ARGS(DB_INT(q->before), DB_INT(q->before), DB_STR(q->action), DB_STR(q->action),
                         DB_STR(q->actor), DB_STR(q->actor), DB_INT(q->limit + 1)),
                 &rows);
    if (rc != DB_OK)
        return rc;
    json_object *arr = json_object_new_array();
    size_t n = rows.nrows > (size_t)q->limit ? (size_t)q->limit : rows.nrows;
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, audit_entry(&rows, i));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "entries", arr);
    json_object_object_add(o, "next_before",
                           rows.nrows > (size_t)q->limit && n > 0
                               ? json_object_new_int64(db_int(&rows, n - 1, AC_ID, 0))
                               : NULL);
    db_rows_free(&rows);
    *out = o;
    return DB_OK;
}
