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

void abvar_counts_funnel(struct abvar_counts *c, const struct msg_delta *d)
{
    c->sent += d->sent;
    c->delivered += d->delivered;
    c->read += d->read;
}

#define SQL_ADD_VARIANT_COUNTS                                                                     \
    "INSERT INTO campaign_variant_counts (campaign_id, variant, slot, assigned_count, "            \
    "sent_count, delivered_count, read_count) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY "      \
    "UPDATE assigned_count = assigned_count + VALUES(assigned_count), "                            \
    "sent_count = sent_count + VALUES(sent_count), "                                               \
    "delivered_count = delivered_count + VALUES(delivered_count), "                                \
    "read_count = read_count + VALUES(read_count)"

int abvar_counts_add(struct db *db, long long campaign_id, int variant,
                     const struct abvar_counts *d)
{
    if (!d->assigned && !d->sent && !d->delivered && !d->read)
        return DB_OK;
    return db_exec(db, SQL_ADD_VARIANT_COUNTS,
                   DB_ARGS(DB_INT(campaign_id), DB_INT(variant), DB_INT(db_writer_slot(db)),
                           DB_INT(d->assigned), DB_INT(d->sent), DB_INT(d->delivered),
                           DB_INT(d->read)),
                   NULL);
}

static struct abvar_figures *figures_of(struct abvar_figures *all, int variant)
{
    return variant >= 0 && variant <= ABVAR_MAX ? &all[variant] : NULL;
}

/* Never a count of the campaign's recipient rows: the funnel from campaign_variant_counts
 * (the writers' slots), replies, buttons and opt-outs from the campaign's inbound messages
 * (ix_inbound_messages_campaign) joined to their recipient by key. Only the holdout's baseline
 * reads recipient rows, the holdout's alone (ix_recipients_queue: campaign, status 'holdout',
 * its numbers in the index), each looked up in the account's inbound messages by number. */
int abvar_figures(struct db *db, long long campaign_id, struct abvar_figures *out, size_t *n)
{
    struct abvar_figures all[ABVAR_MAX + 1];
    memset(all, 0, sizeof all);
    for (int v = 0; v <= ABVAR_MAX; v++)
        all[v].variant = v;
    *n = 0;
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT variant, SUM(assigned_count), SUM(sent_count), "
                      "SUM(delivered_count), SUM(read_count) FROM campaign_variant_counts "
                      "WHERE campaign_id = ? GROUP BY variant",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows; i++) {
        struct abvar_figures *f = figures_of(all, (int)db_int(&r, i, 0, -1));
        if (!f)
            continue;
        f->recipients = db_int(&r, i, 1, 0);
        f->sent = db_int(&r, i, 2, 0);
        f->delivered = db_int(&r, i, 3, 0);
        f->read = db_int(&r, i, 4, 0);
    }
    db_rows_free(&r);
    rc = db_query(db,
                  "SELECT r.variant, COUNT(DISTINCT i.recipient_id), COUNT(DISTINCT IF(i.type IN "
                  "('button', 'interactive'), i.recipient_id, NULL)), COUNT(DISTINCT "
                  "IF(i.opt_out = 1, i.recipient_id, NULL)) FROM inbound_messages i JOIN "
                  "recipients r ON r.id = i.recipient_id WHERE i.campaign_id = ? AND "
                  "i.recipient_id IS NOT NULL AND r.variant IS NOT NULL GROUP BY r.variant",
                  DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    for (size_t i = 0; i < r.nrows; i++) {
        struct abvar_figures *f = figures_of(all, (int)db_int(&r, i, 0, -1));
        if (!f)
            continue;
        f->replied = db_int(&r, i, 1, 0);
        f->clicked = db_int(&r, i, 2, 0);
        f->opted_out = db_int(&r, i, 3, 0);
    }
    db_rows_free(&r);
    rc = db_query(db,
                  "SELECT COUNT(*) FROM campaigns c JOIN recipients r FORCE INDEX "
                  "(ix_recipients_queue) ON r.campaign_id = c.id AND r.status = 'holdout' "
                  "WHERE c.id = ? AND c.started_at IS NOT NULL AND EXISTS (SELECT 1 FROM "
                  "inbound_messages i WHERE i.account_id = c.account_id AND i.phone = r.phone "
                  "AND i.sent_at >= c.started_at)",
                  DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    all[ABVAR_HOLDOUT].replied = r.nrows ? db_int(&r, 0, 0, 0) : 0;
    db_rows_free(&r);
    for (int v = 1; v <= ABVAR_MAX; v++)
        out[(*n)++] = all[v];
    out[(*n)++] = all[ABVAR_HOLDOUT]; /* the baseline, last */
    return DB_OK;
}
