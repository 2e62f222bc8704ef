/* The webhook_events table: verified bodies stored (one INSERT, or one per group commit),
 * claimed for applying and marked applied or failed. */
#include "webhook_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jsonparse.h"
#include "log.h"

#define MAX_ATTEMPTS 5 /* failed applies before only an explicit sweep retries */

static void verified_csv(const struct webhook_src *src, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < src->nverified && o + 24 < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%lld", i ? "," : "", src->verified[i]);
}

static size_t parse_csv(const char *s, long long *out, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s)
            break;
        if (v > 0)
            out[n++] = v;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return n;
}

int webhook_store_many(struct db *db, const struct webhook_stored *v, size_t n)
{
    static const char one[] = ",(?,?,?,?)";
    if (n == 0 || n > WEBHOOK_STORE_MAX)
        return DB_ERR;
    char sql[128 + WEBHOOK_STORE_MAX * sizeof one];
    char(*csv)[256] = malloc(n * sizeof *csv);
    db_arg *args = malloc(n * 4 * sizeof *args);
    int rc = DB_ERR;
    if (csv && args) {
        size_t o = (size_t)snprintf(sql, sizeof sql,
                                    "INSERT INTO webhook_events (signature, "
                                    "verified_accounts, priority, body) VALUES (?,?,?,?)");
        for (size_t i = 0; i < n; i++) {
            if (i) {
                memcpy(sql + o, one, sizeof one);
                o += sizeof one - 1;
            }
            verified_csv(v[i].src, csv[i], sizeof csv[i]);
            args[4 * i] = DB_STR(v[i].signature);
            args[4 * i + 1] = DB_STR(csv[i][0] ? csv[i] : NULL);
            args[4 * i + 2] = DB_INT(v[i].priority);
            args[4 * i + 3] = DB_STRN(v[i].body, v[i].len);
        }
        /* One statement, one commit; RETURNING gives the ids in the rows' order. */
        snprintf(sql + o, sizeof sql - o, " RETURNING id");
        struct db_rows r;
        rc = db_query(db, sql, args, 4 * n, &r);
        for (size_t i = 0; i < n; i++)
            *v[i].event_id = rc == DB_OK && i < r.nrows ? db_int(&r, i, 0, 0) : 0;
        if (rc == DB_OK)
            db_rows_free(&r);
    }
    free(csv);
    free(args);
    return rc;
}

int wh_mark_failed(struct db *db, long long id, const char *msg, int give_up)
{
    char m[1024];
    return db_exec(db,
                   "UPDATE webhook_events SET apply_error = ?, "
                   "apply_attempts = IF(?, 999, apply_attempts + 1) WHERE id = ?",
                   DB_ARGS(DB_STR(utf8_cut(msg, m, sizeof m)), DB_INT(give_up), DB_INT(id)), NULL);
}

void wh_stored_free(struct stored *s)
{
    for (size_t i = 0; i < s->n; i++)
        json_object_put(s->evs[i].payload);
    free(s->evs);
    free(s->verified);
    s->evs = NULL;
    s->verified = NULL;
    s->n = 0;
}

/* Locks and parses up to max unapplied events (one id when only > 0). Bodies that are not
 * JSON are marked and left out. */
int wh_claim_events(struct db *db, const struct account_list *accounts, int older_than_s,
                    int include_failed, long long only, size_t max, struct stored *s)
{
    struct db_rows r;
    int rc;
    if (only)
        rc = db_query(db,
                      "SELECT id, body, verified_accounts, "
                      "TIMESTAMPDIFF(MICROSECOND, received_at, NOW(3)) FROM webhook_events "
                      "WHERE id = ? AND applied_at IS NULL FOR UPDATE SKIP LOCKED",
                      DB_ARGS(DB_INT(only)), &r);
    else
        rc = db_query(db,
                      "SELECT id, body, verified_accounts, "
                      "TIMESTAMPDIFF(MICROSECOND, received_at, NOW(3)) FROM webhook_events "
                      "WHERE applied_at IS NULL AND apply_attempts < ? "
                      "AND received_at <= NOW(3) - INTERVAL ? SECOND "
                      "ORDER BY priority DESC, id LIMIT ? FOR UPDATE SKIP LOCKED",
                      DB_ARGS(DB_INT(include_failed ? 1000000 : MAX_ATTEMPTS), DB_INT(older_than_s),
                              DB_INT((long long)max)),
                      &r);
    if (rc != DB_OK)
        return rc;
    s->evs = calloc(r.nrows + 1, sizeof *s->evs);
    s->verified = calloc(r.nrows + 1, sizeof *s->verified);
    if (!s->evs || !s->verified) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < r.nrows && rc == DB_OK; i++) {
        long long id = db_int(&r, i, 0, 0);
        const char *body = db_val(&r, i, 1);
        size_t len = r.len[i * r.ncols + 1];
        json_object *o = body ? jsonparse_whole(body, len, 0, NULL, NULL) : NULL;
        int ok = o && json_object_is_type(o, json_type_object);
        if (!ok) {
            json_object_put(o);
            log_error("webhook event %lld is not a JSON object; left unapplied", id);
            rc = wh_mark_failed(db, id, "the stored body is not a JSON object", 1);
            continue;
        }
        struct ev *e = &s->evs[s->n];
        e->payload = o;
        e->id = id;
        e->src.accounts = accounts;
        e->src.verified = s->verified[s->n];
        e->src.nverified = parse_csv(db_val(&r, i, 2), s->verified[s->n], 16);
        double age = (double)db_int(&r, i, 3, 0) / 1e6;
        if (age > s->oldest_s)
            s->oldest_s = age;
        s->n++;
    }
    db_rows_free(&r);
    return rc;
}

int wh_mark_applied(struct db *db, const struct stored *s)
{
    if (s->n == 0)
        return DB_OK;
    size_t kb = wh_bucket(s->n);
    char *ph = malloc(kb * 2 + 8), *sql = malloc(kb * 2 + 128);
    db_arg *args = malloc(kb * sizeof *args);
    int rc = DB_ERR;
    if (ph && sql && args) {
        for (size_t i = 0; i < kb; i++)
            args[i] = DB_INT(s->evs[i < s->n ? i : s->n - 1].id);
        wh_repeat_sql(ph, kb * 2 + 8, "?", kb);
        snprintf(sql, kb * 2 + 128,
                 "UPDATE webhook_events SET applied_at = NOW(3), apply_error = NULL "
                 "WHERE id IN (%s)",
                 ph);
        rc = db_exec(db, sql, args, kb, NULL);
    }
    free(ph);
    free(sql);
    free(args);
    return rc;
}
