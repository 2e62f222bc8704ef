/* Cost (lib/costs.h): country prefixes, the rate card, the campaign report and the estimate. */
#include "costs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e164.h"
#include "log.h"

/* Calling-code prefixes of the countries priced by name; longest match wins (1809 before 1). */
static const struct {
    const char *prefix, *iso;
} prefixes[] = {
    {"1787", "PR"}, {"1939", "PR"}, {"1809", "DO"}, {"1829", "DO"}, {"1849", "DO"}, {"1", "US"},
    {"34", "ES"},   {"51", "PE"},   {"52", "MX"},   {"53", "CU"},   {"54", "AR"},   {"55", "BR"},
    {"56", "CL"},   {"57", "CO"},   {"58", "VE"},   {"501", "BZ"},  {"502", "GT"},  {"503", "SV"},
    {"504", "HN"},  {"505", "NI"},  {"506", "CR"},  {"507", "PA"},  {"509", "HT"},  {"591", "BO"},
    {"592", "GY"},  {"593", "EC"},  {"595", "PY"},  {"597", "SR"},  {"598", "UY"},
};
#define NPREFIXES (sizeof prefixes / sizeof prefixes[0])

const char *costs_country(const char *phone)
{
    const char *best = "ZZ";
    size_t best_len = 0;
    if (!phone || phone[0] != '+')
        return best;
    const char *d = phone + 1;
    for (size_t i = 0; i < NPREFIXES; i++) {
        size_t l = strlen(prefixes[i].prefix);
        if (l > best_len && strncmp(d, prefixes[i].prefix, l) == 0) {
            best = prefixes[i].iso;
            best_len = l;
        }
    }
    return best;
}

int costs_country_valid(const char *s)
{
    if (!s || strlen(s) != 2 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]))
        return 0;
    return strcmp(s, "ZZ") == 0 || e164_country_calling_code(s) != 0;
}

int costs_category_valid(const char *s)
{
    static const char *const cats[] = {"marketing", "utility", "authentication", "service"};
    for (size_t i = 0; s && i < sizeof cats / sizeof cats[0]; i++)
        if (strcmp(s, cats[i]) == 0)
            return 1;
    return 0;
}

/* ---- the rate card -------------------------------------------------------------------------- */

#define RATE_COLS                                                                                  \
    "id, country, category, currency, price, effective_from, effective_to, created_by, "           \
    "created_at"

int costs_rates_list(struct db *db, struct db_rows *out)
{
    return db_query(db,
                    "SELECT " RATE_COLS " FROM rate_card "
                    "ORDER BY country, category, effective_from, id",
                    NULL, 0, out);
}

int costs_rate_get(struct db *db, long long id, struct db_rows *out)
{
    return db_query(db, "SELECT " RATE_COLS " FROM rate_card WHERE id = ?", DB_ARGS(DB_INT(id)),
                    out);
}

int costs_rate_add(struct db *db, const char *country, const char *category, const char *currency,
                   const char *price, const char *from, const char *to, const char *by,
                   long long *id)
{
    struct db_res res;
    int rc = db_exec(db,
                     "INSERT INTO rate_card (country, category, currency, price, effective_from, "
                     "effective_to, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(country), DB_STR(category), DB_STR(currency), DB_STR(price),
                             DB_STR(from), to ? DB_STR(to) : DB_NULL, by ? DB_STR(by) : DB_NULL),
                     &res);
    if (rc == DB_OK)
        *id = (long long)res.insert_id;
    return rc;
}

int costs_rate_delete(struct db *db, long long id, int *removed)
{
    struct db_res res;
    int rc = db_exec(db, "DELETE FROM rate_card WHERE id = ?", DB_ARGS(DB_INT(id)), &res);
    *removed = rc == DB_OK && res.affected > 0;
    return rc;
}

/* The id of the rate in force for country and category at a time (SQL expressions): the
 * latest effective_from not after it, unless its effective_to (a day included) is past. */
#define RATE_AT(cty, cat, at)                                                                      \
    "(SELECT x.id FROM rate_card x WHERE x.country = " cty " AND x.category = " cat                \
    " AND x.effective_from <= " at " AND (x.effective_to IS NULL OR " at                           \
    " < x.effective_to + INTERVAL 1 DAY) ORDER BY x.effective_from DESC, x.id DESC LIMIT 1)"

/* Each priced message of the campaign with its rate at its sent time (else the time of the
 * status that brought the pricing). */
#define PRICED                                                                                     \
    "WITH m AS (SELECT mp.category, mp.country, mp.billable, " RATE_AT(                            \
        "mp.country", "mp.category",                                                               \
        "COALESCE(r.sent_at, mp.status_at)") " AS rate_id FROM message_pricing mp "                \
                                             "JOIN recipients r ON r.id = mp.recipient_id "        \
                                             "WHERE mp.campaign_id = ?) "

int costs_report_rows(struct db *db, long long campaign_id, struct db_rows *out)
{
    return db_query(db,
                    PRICED
                    "SELECT m.category, m.country, rc.currency, rc.price, rc.effective_from, "
                    "COUNT(*), COALESCE(SUM(m.billable = 1), 0), "
                    "COALESCE(SUM(m.billable = 1 AND rc.id IS NULL), 0), "
                    "IF(rc.id IS NULL, NULL, SUM(IF(m.billable = 1, rc.price, 0))) "
                    "FROM m LEFT JOIN rate_card rc ON rc.id = m.rate_id "
                    "GROUP BY m.category, m.country, m.rate_id, rc.id, rc.currency, rc.price, "
                    "rc.effective_from "
                    "ORDER BY m.category, m.country, rc.effective_from",
                    DB_ARGS(DB_INT(campaign_id)), out);
}

int costs_report_totals(struct db *db, long long campaign_id, struct db_rows *out)
{
    return db_query(db,
                    PRICED "SELECT rc.currency, COUNT(*), COALESCE(SUM(m.billable = 1), 0), "
                           "COALESCE(SUM(m.billable = 1 AND rc.id IS NULL), 0), "
                           "IF(rc.currency IS NULL, NULL, SUM(IF(m.billable = 1, rc.price, 0))) "
                           "FROM m LEFT JOIN rate_card rc ON rc.id = m.rate_id "
                           "GROUP BY rc.currency ORDER BY rc.currency",
                    DB_ARGS(DB_INT(campaign_id)), out);
}

int costs_unpriced(struct db *db, long long campaign_id, long long *n)
{
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT COUNT(*) FROM recipients r WHERE r.campaign_id = ? AND "
                      "r.sent_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM message_pricing mp "
                      "WHERE mp.recipient_id = r.id)",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    *n = r.nrows ? db_int(&r, 0, 0, 0) : 0;
    db_rows_free(&r);
    return DB_OK;
}

/* ---- the estimate --------------------------------------------------------------------------- */

struct by_country {
    const char *iso;
    long long n;
};

/* Pending recipients by country: grouped by the first 4 digits in SQL (the longest prefix
 * of the table), mapped here; at most one entry per country of the table plus ZZ. */
static int pending_by_country(struct db *db, long long campaign_id, struct by_country *v,
                              size_t max, size_t *nv)
{
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT CONCAT('+', SUBSTRING(phone, 2, 4)), COUNT(*) FROM recipients "
                      "WHERE campaign_id = ? AND status = 'pending' GROUP BY 1",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    *nv = 0;
    for (size_t i = 0; i < r.nrows; i++) {
        const char *iso = costs_country(db_val(&r, i, 0));
        size_t k = 0;
        while (k < *nv && strcmp(v[k].iso, iso) != 0)
            k++;
        if (k == *nv && *nv < max)
            v[(*nv)++] = (struct by_country){iso, 0};
        if (k < *nv)
            v[k].n += db_int(&r, i, 1, 0);
    }
    db_rows_free(&r);
    return DB_OK;
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* Per country (the derived table c of the counts) and in total per currency, priced in SQL. */
static int estimate_query(struct db *db, const struct by_country *v, size_t nv, const char *cat,
                          int totals, struct db_rows *out)
{
    db_arg args[2 * (NPREFIXES + 1) + 1];
    char rows[(NPREFIXES + 1) * 40], sql[(NPREFIXES + 1) * 40 + 1024];
    size_t a = 0, o = 0;
    for (size_t i = 0; i < nv; i++) {
        o += (size_t)snprintf(rows + o, sizeof rows - o, "%s",
                              i ? " UNION ALL SELECT ?, ?" : "SELECT ? AS country, ? AS n");
        args[a++] = DB_STR(v[i].iso);
        args[a++] = DB_INT(v[i].n);
    }
    args[a++] = DB_STR(cat);
    snprintf(sql, sizeof sql,
             "SELECT %s FROM (%s) c LEFT JOIN rate_card rc ON rc.id = " RATE_AT("c.country", "?",
                                                                                "NOW()") " %s",
             totals ? "rc.currency, SUM(c.n), SUM(rc.price * c.n)"
                    : "c.country, c.n, rc.currency, rc.price, rc.price * c.n, rc.effective_from",
             rows, totals ? "GROUP BY rc.currency ORDER BY rc.currency" : "ORDER BY c.country");
    return db_query(db, sql, args, a, out);
}

int costs_estimate(struct db *db, long long campaign_id, const char *category, json_object **out)
{
    char cat[32];
    size_t l = 0;
    for (; category && category[l] && l + 1 < sizeof cat; l++)
        cat[l] = (char)tolower((unsigned char)category[l]);
    cat[l] = '\0';
    struct by_country v[NPREFIXES + 1];
    size_t nv = 0;
    int rc = pending_by_country(db, campaign_id, v, NPREFIXES + 1, &nv);
    if (rc != DB_OK)
        return rc;
    json_object *o = json_object_new_object(), *by = json_object_new_array(),
                *tot = json_object_new_array();
    long long all = 0, unrated = 0;
    struct db_rows r;
    if (nv > 0 && (rc = estimate_query(db, v, nv, cat, 0, &r)) == DB_OK) {
        for (size_t i = 0; i < r.nrows; i++) {
            json_object *x = json_object_new_object();
            json_object_object_add(x, "country", str_or_null(db_val(&r, i, 0)));
            json_object_object_add(x, "recipients", json_object_new_int64(db_int(&r, i, 1, 0)));
            json_object_object_add(x, "currency", str_or_null(db_val(&r, i, 2)));
            json_object_object_add(x, "unit_price", str_or_null(db_val(&r, i, 3)));
            json_object_object_add(x, "cost", str_or_null(db_val(&r, i, 4)));
            json_object_object_add(x, "rate_effective_from", str_or_null(db_val(&r, i, 5)));
            json_object_array_add(by, x);
            all += db_int(&r, i, 1, 0);
            if (!db_val(&r, i, 2))
                unrated += db_int(&r, i, 1, 0);
        }
        db_rows_free(&r);
        rc = estimate_query(db, v, nv, cat, 1, &r);
        for (size_t i = 0; rc == DB_OK && i < r.nrows; i++) {
            if (!db_val(&r, i, 0))
                continue; /* no rate: counted in recipients_without_rate */
            json_object *x = json_object_new_object();
            json_object_object_add(x, "currency", str_or_null(db_val(&r, i, 0)));
            json_object_object_add(x, "recipients", json_object_new_int64(db_int(&r, i, 1, 0)));
            json_object_object_add(x, "cost", str_or_null(db_val(&r, i, 2)));
            json_object_array_add(tot, x);
        }
        if (rc == DB_OK)
            db_rows_free(&r);
    }
    json_object_object_add(o, "category", json_object_new_string(cat));
    json_object_object_add(o, "recipients", json_object_new_int64(all));
    json_object_object_add(o, "recipients_without_rate", json_object_new_int64(unrated));
    json_object_object_add(o, "by_country", by);
    json_object_object_add(o, "totals", tot);
    if (rc != DB_OK) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return DB_OK;
}

void costs_preflight_add(struct db *db, long long campaign_id, json_object *o)
{
    json_object *tp = NULL, *cat = NULL, *est = NULL;
    if (json_object_object_get_ex(o, "template", &tp) &&
        json_object_object_get_ex(tp, "category", &cat) && cat &&
        json_object_is_type(cat, json_type_string) &&
        costs_estimate(db, campaign_id, json_object_get_string(cat), &est) != DB_OK) {
        log_warn("preflight of campaign %lld: no cost estimate: %s", campaign_id, db_error(db));
        est = NULL;
    }
    json_object_object_add(o, "cost_estimate", est);
}
