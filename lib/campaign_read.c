/* Reads of campaigns for operator views: see campaign_read.h. */
#include "campaign_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_view.h"
#include "db.h"

int campaign_read_queue_depths(struct db *db, struct campaign_queue_depth **out, size_t *n)
{
    struct db_rows r;
    *out = NULL;
    *n = 0;
    int rc = db_query(db,
                      "SELECT c.id, c.status, t.pending_count + t.sending_count, t.sent_count, "
                      "t.failed_count FROM campaigns c JOIN campaign_totals t ON t.id = c.id "
                      "WHERE c.status IN ('running', 'paused', 'scheduled')",
                      DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    if (r.nrows) {
        *out = calloc(r.nrows, sizeof **out);
        if (!*out) {
            db_rows_free(&r);
            return DB_ERR;
        }
    }
    for (size_t i = 0; i < r.nrows; i++) {
        (*out)[i].campaign_id = db_int(&r, i, 0, 0);
        snprintf((*out)[i].status, sizeof(*out)[i].status, "%s",
                 db_val(&r, i, 1) ? db_val(&r, i, 1) : "");
        (*out)[i].queued = db_int(&r, i, 2, 0);
    }
    *n = r.nrows;
    db_rows_free(&r);
    return DB_OK;
}

int campaign_read_oldest_pending_age(struct db *db, double *age_s, int *known)
{
    struct db_rows r;
    *known = 0;
    *age_s = 0;
    int rc = db_query(db,
                      "SELECT MAX(TIMESTAMPDIFF(MICROSECOND, GREATEST(c.started_at, "
                      "(SELECT MIN(x.next_attempt_at) FROM recipients x WHERE x.campaign_id = "
                      "c.id AND x.status = 'pending')), NOW(3))) / 1e6 FROM campaigns c "
                      "JOIN campaign_totals t ON t.id = c.id "
                      "WHERE c.status = 'running' AND t.pending_count > 0",
                      DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    const char *v = r.nrows ? db_val(&r, 0, 0) : NULL;
    if (v) {
        *known = 1;
        *age_s = atof(v) > 0 ? atof(v) : 0;
    }
    db_rows_free(&r);
    return DB_OK;
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

int campaign_read_paused_by_meta(struct db *db, long long account_id, const char *lang,
                                 json_object **out)
{
    struct db_rows c;
    int rc = db_query(db,
                      "SELECT id, name, pause_kind, pause_reason, resumable FROM campaigns WHERE "
                      "account_id = ? AND status = 'paused' AND pause_kind IN ('template', "
                      "'account', 'error') ORDER BY updated_at DESC LIMIT 20",
                      DB_ARGS(DB_INT(account_id)), &c);
    if (rc != DB_OK)
        return rc;
    json_object *arr = json_object_new_array();
    for (size_t k = 0; k < c.nrows; k++) {
        json_object *x = json_object_new_object();
        json_object_object_add(x, "campaign_id", json_object_new_int64(db_int(&c, k, 0, 0)));
        json_object_object_add(x, "name", str_or_null(db_val(&c, k, 1)));
        json_object_object_add(x, "pause_kind", str_or_null(db_val(&c, k, 2)));
        json_object_object_add(x, "pause_reason", str_or_null(db_val(&c, k, 3)));
        json_object_object_add(x, "pause",
                               campaign_view_pause(db_val(&c, k, 2), db_val(&c, k, 3), lang));
        json_object_object_add(x, "resumable", json_object_new_boolean(db_int(&c, k, 4, 1) != 0));
        json_object_array_add(arr, x);
    }
    db_rows_free(&c);
    *out = arr;
    return DB_OK;
}

int campaign_read_count_for_account(struct db *db, long long account_id, long long *n)
{
    struct db_rows r;
    int rc = db_query(db, "SELECT COUNT(*) FROM campaigns WHERE account_id = ?",
                      DB_ARGS(DB_INT(account_id)), &r);
    if (rc != DB_OK)
        return rc;
    *n = r.nrows ? db_int(&r, 0, 0, 0) : 0;
    db_rows_free(&r);
    return DB_OK;
}

int campaign_read_status(struct db *db, long long id, struct campaign_status_row *out, int *found)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT c.id, c.name, c.status, COALESCE(c.pause_reason, ''), c.total_count, "
                      "t.pending_count + t.sending_count, t.sent_count, t.delivered_count, "
                      "t.read_count, t.failed_count, t.blocked_count, t.cancelled_count, "
                      "t.unknown_count, t.holdout_count, "
                      "COALESCE(DATE_FORMAT(c.started_at, '%Y-%m-%d %H:%i:%s UTC'), '-'), "
                      "COALESCE(DATE_FORMAT(c.completed_at, '%Y-%m-%d %H:%i:%s UTC'), '-') "
                      "FROM campaigns c JOIN campaign_totals t ON t.id = c.id WHERE c.id = ?",
                      DB_ARGS(DB_INT(id)), &r);
    if (rc != DB_OK)
        return rc;
    if (r.nrows == 0) {
        db_rows_free(&r);
        return DB_OK;
    }
    long long *counts[] = {&out->total,   &out->pending, &out->sent,    &out->delivered,
                           &out->read,    &out->failed,  &out->blocked, &out->cancelled,
                           &out->unknown, &out->holdout};
    out->id = db_int(&r, 0, 0, 0);
    out->name = strdup(db_val(&r, 0, 1) ? db_val(&r, 0, 1) : "");
    out->status = strdup(db_val(&r, 0, 2) ? db_val(&r, 0, 2) : "");
    out->pause_reason = strdup(db_val(&r, 0, 3) ? db_val(&r, 0, 3) : "");
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
        *counts[k] = db_int(&r, 0, 4 + k, 0);
    snprintf(out->started, sizeof out->started, "%s", db_val(&r, 0, 14) ? db_val(&r, 0, 14) : "");
    snprintf(out->completed, sizeof out->completed, "%s",
             db_val(&r, 0, 15) ? db_val(&r, 0, 15) : "");
    db_rows_free(&r);
    if (!out->name || !out->status || !out->pause_reason) {
        campaign_status_row_free(out);
        return DB_ERR;
    }
    *found = 1;
    return DB_OK;
}

void campaign_status_row_free(struct campaign_status_row *r)
{
    free(r->name);
    free(r->status);
    free(r->pause_reason);
    r->name = r->status = r->pause_reason = NULL;
}
