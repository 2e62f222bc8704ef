/* Cost (issue 21, lib/costs.h): the rate card (admins read it, superadmins change it, every
 * change audited) and a campaign's cost report, as JSON and as CSV. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "costs.h"
#include "csvout.h"
#include "db.h"
#include "log.h"

static json_object *rate_json(const struct db_rows *r, size_t i)
{
    static const char *const names[] = {"id",           "country",    "category",
                                        "currency",     "price",      "effective_from",
                                        "effective_to", "created_by", "created_at"};
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, RATE_ID, 0)));
    for (size_t k = 1; k < sizeof names / sizeof names[0]; k++)
        json_object_object_add(o, names[k], json_str_or_null(db_val(r, i, k)));
    return o;
}

void api_rate_card_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows r;
    if (costs_rates_list(req->app->db, &r) != DB_OK) {
        http_db_error(req, "read the rate card");
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(arr, rate_json(&r, i));
    db_rows_free(&r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "rates", arr);
    http_json(req, 200, o);
}

/* "YYYY-MM-DD", a real day. */
static int date_ok(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 2000 || y > 2100 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    return !(m == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)));
}

/* A non-negative decimal that fits DECIMAL(14,6): up to 8 digits, up to 6 decimals. */
static int price_ok(const char *s)
{
    size_t i = 0, n = 0, f = 0;
    while (s && isdigit((unsigned char)s[i]))
        i++, n++;
    if (!s || n == 0 || n > 8)
        return 0;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i]))
            i++, f++;
        if (f == 0 || f > 6)
            return 0;
    }
    return s[i] == '\0';
}

static int currency_ok(const char *s)
{
    return s && strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
           isupper((unsigned char)s[2]);
}

/* The request's price as text: a string, or a JSON number as written. */
static const char *price_text(json_object *in)
{
    json_object *v;
    if (!json_object_object_get_ex(in, "price", &v) || !v)
        return NULL;
    if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int) ||
        json_object_is_type(v, json_type_double))
        return json_object_get_string(v);
    return NULL;
}

/* The first invalid field of a new rate (its msgcat key is "rate_card.<field>"), with the
 * developer's text in *detail; NULL when the rate is valid. */
static const char *rate_invalid(json_object *in, const char **detail)
{
    const char *from = json_str(in, "effective_from"), *to = json_str(in, "effective_to");
    json_object *v;
    if (!costs_country_valid(json_str(in, "country"))) {
        *detail = "country is an ISO 3166 alpha-2 code in capitals (AR, MX...) or ZZ (any other)";
        return "country";
    }
    if (!costs_category_valid(json_str(in, "category"))) {
        *detail = "category is marketing, utility, authentication or service";
        return "category";
    }
    if (!currency_ok(json_str(in, "currency"))) {
        *detail = "currency is an ISO 4217 code in capitals (USD, ARS...)";
        return "currency";
    }
    if (!price_ok(price_text(in))) {
        *detail = "price is a non-negative decimal (up to 8 digits and 6 decimals), as a string";
        return "price";
    }
    if (!date_ok(from)) {
        *detail = "effective_from is a date YYYY-MM-DD";
        return "effective_from";
    }
    if (json_object_object_get_ex(in, "effective_to", &v) && v &&
        (!date_ok(to) || strcmp(to, from) < 0)) {
        *detail = "effective_to is a date YYYY-MM-DD, not before effective_from (or null)";
        return "effective_to";
    }
    return NULL;
}

/* {"country": "AR", "category": "marketing", "currency": "USD", "price": "0.0618",
 *  "effective_from": "2026-01-01", "effective_to": null} */
void api_rate_card_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 4 * 1024);
    if (!in)
        return;
    static const char *const known[] = {"country",        "category",     "currency", "price",
                                        "effective_from", "effective_to", NULL};
    struct db *db = req->app->db;
    const char *detail;
    if (http_json_only(req, in, known, "a rate card field") < 0)
        goto out;
    const char *field = rate_invalid(in, &detail);
    if (field) {
        char key[48];
        snprintf(key, sizeof key, "rate_card.%s", field);
        http_fail(req, 400, "invalid_field", field, key, NULL, detail);
        goto out;
    }
    const char *country = json_str(in, "country"), *category = json_str(in, "category");
    const char *currency = json_str(in, "currency"), *price = price_text(in);
    const char *from = json_str(in, "effective_from"), *to = json_str(in, "effective_to");
    long long id = 0;
    struct db_rows r;
    if (db_begin(db) != DB_OK ||
        costs_rate_add(db, country, category, currency, price, from, to, req->user, &id) != DB_OK ||
        costs_rate_get(db, id, &r) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the rate");
        goto out;
    }
    json_object *row = r.nrows ? rate_json(&r, 0) : json_object_new_object();
    db_rows_free(&r);
    if (audit_write(req, "rate_card.create", "rate_card", id, 0, json_object_get(row)) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        json_object_put(row);
        http_db_error(req, "store the rate");
        goto out;
    }
    http_json(req, 201, row);
out:
    json_object_put(in);
}

void api_rate_card_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct db_rows r;
    int removed = 0;
    if (db_begin(db) != DB_OK || costs_rate_get(db, req->ids[0], &r) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "remove the rate");
        return;
    }
    json_object *row = r.nrows ? rate_json(&r, 0) : NULL;
    db_rows_free(&r);
    if (row && costs_rate_delete(db, req->ids[0], &removed) != DB_OK) {
        db_rollback(db);
        json_object_put(row);
        http_db_error(req, "remove the rate");
        return;
    }
    if (!removed) {
        db_rollback(db);
        json_object_put(row);
        http_fail(req, 404, "not_found", NULL, "rate_card.not_found", NULL, "no such rate");
        return;
    }
    if (audit_write(req, "rate_card.delete", "rate_card", req->ids[0], 0, row) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "remove the rate");
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}

/* ---- the campaign's cost report ------------------------------------------------------------- */

static json_object *cost_row_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "category", json_str_or_null(db_val(r, i, COST_CATEGORY)));
    json_object_object_add(o, "country", json_str_or_null(db_val(r, i, COST_COUNTRY)));
    json_object_object_add(o, "currency", json_str_or_null(db_val(r, i, COST_CURRENCY)));
    json_object_object_add(o, "unit_price", json_str_or_null(db_val(r, i, COST_PRICE)));
    json_object_object_add(o, "rate_effective_from",
                           json_str_or_null(db_val(r, i, COST_RATE_FROM)));
    json_object_object_add(o, "messages", json_object_new_int64(db_int(r, i, COST_MESSAGES, 0)));
    json_object_object_add(o, "billable", json_object_new_int64(db_int(r, i, COST_BILLABLE, 0)));
    json_object_object_add(o, "billable_without_rate",
                           json_object_new_int64(db_int(r, i, COST_UNRATED, 0)));
    json_object_object_add(o, "cost", json_str_or_null(db_val(r, i, COST_COST)));
    return o;
}

/* GET /api/campaigns/{id}/costs */
void api_campaigns_costs(struct request *req)
{
    if (app_need_db(req) < 0 || !api_campaign_exists(req))
        return;
    struct db *db = req->app->db;
    struct db_rows r, t;
    long long unpriced = 0;
    if (costs_unpriced(db, req->ids[0], &unpriced) != DB_OK ||
        costs_report_rows(db, req->ids[0], &r) != DB_OK) {
        http_db_error(req, "read the costs");
        return;
    }
    if (costs_report_totals(db, req->ids[0], &t) != DB_OK) {
        db_rows_free(&r);
        http_db_error(req, "read the costs");
        return;
    }
    json_object *o = json_object_new_object(), *rows = json_object_new_array(),
                *by_cur = json_object_new_array();
    long long messages = 0, billable = 0, unrated = 0;
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(rows, cost_row_json(&r, i));
    for (size_t i = 0; i < t.nrows; i++) {
        messages += db_int(&t, i, 1, 0);
        billable += db_int(&t, i, 2, 0);
        unrated += db_int(&t, i, 3, 0);
        if (!db_val(&t, i, 0))
            continue; /* the messages without a rate: only counted */
        json_object *x = json_object_new_object();
        json_object_object_add(x, "currency", json_str_or_null(db_val(&t, i, 0)));
        json_object_object_add(x, "messages", json_object_new_int64(db_int(&t, i, 1, 0)));
        json_object_object_add(x, "billable", json_object_new_int64(db_int(&t, i, 2, 0)));
        json_object_object_add(x, "cost", json_str_or_null(db_val(&t, i, 4)));
        json_object_array_add(by_cur, x);
    }
    db_rows_free(&r);
    db_rows_free(&t);
    json_object *tot = json_object_new_object();
    json_object_object_add(tot, "messages", json_object_new_int64(messages));
    json_object_object_add(tot, "billable", json_object_new_int64(billable));
    json_object_object_add(tot, "billable_without_rate", json_object_new_int64(unrated));
    json_object_object_add(tot, "sent_without_pricing", json_object_new_int64(unpriced));
    json_object_object_add(tot, "by_currency", by_cur);
    json_object_object_add(o, "campaign_id", json_object_new_int64(req->ids[0]));
    json_object_object_add(o, "rows", rows);
    json_object_object_add(o, "totals", tot);
    http_json(req, 200, o);
}

/* GET /api/campaigns/{id}/costs.csv: the report's rows, cells through lib/csvout.c as every
 * export. */
void api_campaigns_costs_csv(struct request *req)
{
    if (app_need_db(req) < 0 || !api_campaign_exists(req))
        return;
    struct db_rows r;
    if (costs_report_rows(req->app->db, req->ids[0], &r) != DB_OK) {
        http_db_error(req, "read the costs");
        return;
    }
    char name[64], extra[256];
    snprintf(name, sizeof name, "campaign-%lld-costs.csv", req->ids[0]);
    snprintf(extra, sizeof extra, "Content-Disposition: attachment; filename=\"%s\"\r\n", name);
    http_begin(req, 200, "text/csv; charset=utf-8", extra);
    http_write(req, "\xEF\xBB\xBF", 3); /* BOM: Excel then reads UTF-8 */
    static const char *const head[] = {"category",
                                       "country",
                                       "currency",
                                       "unit_price",
                                       "rate_effective_from",
                                       "messages",
                                       "billable",
                                       "billable_without_rate",
                                       "cost"};
    struct csvout l = {0};
    for (size_t i = 0; i <= r.nrows; i++) {
        for (size_t k = 0; k < sizeof head / sizeof head[0]; k++)
            csvout_cell(&l, i == 0 ? head[k] : db_val(&r, i - 1, k));
        if (l.failed) {
            log_error("costs export: a line left out, out of memory");
            l.failed = 0;
        } else {
            http_write(req, l.buf, l.len);
            http_write(req, "\r\n", 2);
        }
        csvout_clear(&l);
    }
    csvout_free(&l);
    db_rows_free(&r);
}
