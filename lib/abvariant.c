/* A/B variants with a holdout (lib/abvariant.h). */
#include "abvariant.h"

#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int abvar_bucket(unsigned long long key, const char *phone)
{
    unsigned char k[16] = {'p', 'r', 'e', 'g', 'o', 'n', 'a', 'b'}, out[8];
    for (int i = 0; i < 8; i++)
        k[8 + i] = (unsigned char)(key >> (8 * i));
    if (crypto_generichash(out, sizeof out, (const unsigned char *)phone, strlen(phone), k,
                           sizeof k) != 0)
        return 0; /* cannot happen with these sizes */
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = (h << 8) | out[i];
    return (int)(h % 100u);
}

int abvar_assign(const struct abvar_set *s, const char *phone)
{
    int b = abvar_bucket(s->key, phone), edge = 0;
    for (size_t i = 0; i < s->n; i++) {
        edge += s->v[i].share;
        if (b < edge)
            return s->v[i].variant;
    }
    return ABVAR_HOLDOUT;
}

int abvar_check_split(const int *shares, size_t n, int holdout, char *field, size_t fieldlen,
                      char *err, size_t errlen)
{
    if (n < ABVAR_MIN || n > ABVAR_MAX) {
        snprintf(field, fieldlen, "variants");
        snprintf(err, errlen, "a campaign has %d to %d variants (or none), not %zu", ABVAR_MIN,
                 ABVAR_MAX, n);
        return -1;
    }
    if (holdout < 0 || holdout > ABVAR_HOLDOUT_MAX) {
        snprintf(field, fieldlen, "holdout_pct");
        snprintf(err, errlen, "holdout_pct is 0 to %d", ABVAR_HOLDOUT_MAX);
        return -1;
    }
    int sum = holdout;
    for (size_t i = 0; i < n; i++) {
        if (shares[i] < 1 || shares[i] > 100) {
            snprintf(field, fieldlen, "variants[%zu].share", i);
            snprintf(err, errlen, "a variant's share is 1 to 100 (percent)");
            return -1;
        }
        sum += shares[i];
    }
    if (sum != 100) {
        snprintf(field, fieldlen, "variants[%zu].share", n - 1);
        snprintf(err, errlen, "the shares and holdout_pct add up to %d, not 100", sum);
        return -1;
    }
    return 0;
}

void abvar_expected(const struct abvar_set *s, long long n, long long *out, long long *holdout)
{
    long long left = n;
    for (size_t i = 0; i < s->n; i++) {
        out[i] = n * s->v[i].share / 100;
        left -= out[i];
    }
    *holdout = left;
}

void abvar_set_free(struct abvar_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].param_map);
    memset(s, 0, sizeof *s);
}

int abvar_load(struct db *db, long long campaign_id, struct abvar_set *s)
{
    memset(s, 0, sizeof *s);
    struct db_rows r;
    int rc = db_query(db, "SELECT holdout_pct, COALESCE(ab_key, id) FROM campaigns WHERE id = ?",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    s->holdout = r.nrows ? (int)db_int(&r, 0, 0, 0) : 0;
    s->key = r.nrows ? (unsigned long long)db_int(&r, 0, 1, 0) : 0;
    db_rows_free(&r);
    rc = db_query(db,
                  "SELECT variant, template_name, template_language, param_map, share FROM "
                  "campaign_variants WHERE campaign_id = ? ORDER BY variant LIMIT 4",
                  DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows && i < ABVAR_MAX; i++) {
        struct abvar *v = &s->v[i];
        v->variant = (int)db_int(&r, i, 0, 0);
        snprintf(v->template_name, sizeof v->template_name, "%s",
                 db_val(&r, i, 1) ? db_val(&r, i, 1) : "");
        snprintf(v->template_language, sizeof v->template_language, "%s",
                 db_val(&r, i, 2) ? db_val(&r, i, 2) : "");
        v->param_map = strdup(db_val(&r, i, 3) ? db_val(&r, i, 3) : "{}");
        v->share = (int)db_int(&r, i, 4, 0);
        s->n = i + 1;
        if (!v->param_map) {
            db_rows_free(&r);
            abvar_set_free(s);
            return DB_ERR;
        }
    }
    db_rows_free(&r);
    return DB_OK;
}

int abvar_store(struct db *db, long long campaign_id, const struct abvar_set *s)
{
    int rc = db_exec(db, "DELETE FROM campaign_variants WHERE campaign_id = ?",
                     DB_ARGS(DB_INT(campaign_id)), NULL);
    for (size_t i = 0; rc == DB_OK && i < s->n; i++) {
        const struct abvar *v = &s->v[i];
        rc = db_exec(db,
                     "INSERT INTO campaign_variants (campaign_id, variant, template_name, "
                     "template_language, param_map, share) VALUES (?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_INT(campaign_id), DB_INT(v->variant), DB_STR(v->template_name),
                             DB_STR(v->template_language), DB_STR(v->param_map), DB_INT(v->share)),
                     NULL);
    }
    return rc;
}

int abvar_copy(struct db *db, long long from, long long to)
{
    return db_exec(db,
                   "INSERT INTO campaign_variants (campaign_id, variant, template_name, "
                   "template_language, param_map, share) SELECT ?, variant, template_name, "
                   "template_language, param_map, share FROM campaign_variants WHERE "
                   "campaign_id = ?",
                   DB_ARGS(DB_INT(to), DB_INT(from)), NULL);
}

void abvar_json_add(const struct abvar_set *s, json_object *o)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < s->n; i++) {
        const struct abvar *v = &s->v[i];
        json_object *x = json_object_new_object();
        json_object_object_add(x, "variant", json_object_new_int(v->variant));
        json_object_object_add(x, "template_name", json_object_new_string(v->template_name));
        json_object_object_add(x, "template_language",
                               json_object_new_string(v->template_language));
        json_object *pm = json_tokener_parse(v->param_map ? v->param_map : "{}");
        json_object_object_add(x, "params", pm ? pm : json_object_new_object());
        json_object_object_add(x, "share", json_object_new_int(v->share));
        json_object_array_add(a, x);
    }
    json_object_object_add(o, "variants", a);
    json_object_object_add(o, "holdout_pct", json_object_new_int(s->n ? s->holdout : 0));
}

int abvar_wilson(long long k, long long n, double z, double *lo, double *hi)
{
    if (k < 0 || n < 0 || k > n)
        return -1;
    if (n == 0) {
        *lo = 0.0;
        *hi = 1.0;
        return 0;
    }
    double p = (double)k / (double)n, z2 = z * z, nn = (double)n;
    double denom = 1.0 + z2 / nn;
    double center = (p + z2 / (2.0 * nn)) / denom;
    double half = z / denom * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    *lo = center - half < 0.0 ? 0.0 : center - half;
    *hi = center + half > 1.0 ? 1.0 : center + half;
    return 0;
}

/* Counted from the campaign's own rows (its part of uq_recipients_phone), on request: the
 * campaign page reads it when opened and on refresh, never on the progress poll. Replies of
 * the holdout (who got nothing) are any message of theirs to the account since the start. */
int abvar_figures(struct db *db, long long campaign_id, struct abvar_figures *out, size_t *n)
{
    struct db_rows r;
    *n = 0;
    int rc = db_query(
        db,
        "SELECT r.variant, COUNT(*), "
        "SUM(r.sent_at IS NOT NULL OR r.status IN ('sent', 'delivered', 'read')), "
        "SUM(r.delivered_at IS NOT NULL OR r.status IN ('delivered', 'read')), "
        "SUM(r.read_at IS NOT NULL OR r.status = 'read'), "
        "SUM(r.replied_at IS NOT NULL OR (r.status = 'holdout' AND c.started_at IS NOT NULL AND "
        "EXISTS (SELECT 1 FROM inbound_messages i WHERE i.account_id = c.account_id AND "
        "i.phone = r.phone AND i.sent_at >= c.started_at))), "
        "SUM(EXISTS (SELECT 1 FROM inbound_messages i WHERE i.campaign_id = r.campaign_id AND "
        "i.recipient_id = r.id AND i.type IN ('button', 'interactive'))), "
        "SUM(EXISTS (SELECT 1 FROM opt_outs o WHERE o.phone = r.phone AND o.campaign_id = "
        "r.campaign_id)) "
        "FROM recipients r JOIN campaigns c ON c.id = r.campaign_id "
        "WHERE r.campaign_id = ? AND r.variant IS NOT NULL GROUP BY r.variant",
        DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    struct abvar_figures hold = {.variant = ABVAR_HOLDOUT};
    for (size_t i = 0; i < r.nrows; i++) {
        struct abvar_figures f = {
            .variant = (int)db_int(&r, i, 0, 0),
            .recipients = db_int(&r, i, 1, 0),
            .sent = db_int(&r, i, 2, 0),
            .delivered = db_int(&r, i, 3, 0),
            .read = db_int(&r, i, 4, 0),
            .replied = db_int(&r, i, 5, 0),
            .clicked = db_int(&r, i, 6, 0),
            .opted_out = db_int(&r, i, 7, 0),
        };
        if (f.variant == ABVAR_HOLDOUT)
            hold = f;
        else if (*n < ABVAR_MAX)
            out[(*n)++] = f;
    }
    db_rows_free(&r);
    out[(*n)++] = hold; /* always there: the baseline, zero before the first claim */
    return DB_OK;
}
