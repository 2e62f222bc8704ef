/* Cost (issue 21): the country of a number for pricing, our rate card, and what a campaign
 * cost or will cost (sql/176). Money stays DECIMAL in SQL and text outside it: every sum
 * is computed by the database. */
#ifndef PREGON_COSTS_H
#define PREGON_COSTS_H

#include <json-c/json.h>

#include "db.h"

/* ISO 3166 alpha-2 of an E.164 number ("+5491122334455" -> "AR"), by longest calling-code
 * prefix, for the countries the rate card knows by name (Latin America, US, ES); "ZZ" for
 * any other (or no) number. NANP numbers other than Puerto Rico's and the Dominican
 * Republic's count as US. Never NULL. */
const char *costs_country(const char *phone);

/* 1 when s is a country the rate card accepts: an ISO code e164 knows, or ZZ (any other). */
int costs_country_valid(const char *s);

/* 1 when s is a rate card category: marketing, utility, authentication, service. */
int costs_category_valid(const char *s);

/* The rate card's columns, in this order: id, country, category, currency, price,
 * effective_from, effective_to, created_by, created_at. */
enum { RATE_ID, RATE_COUNTRY, RATE_CATEGORY, RATE_CURRENCY, RATE_PRICE, RATE_FROM, RATE_TO };
int costs_rates_list(struct db *db, struct db_rows *out);
int costs_rate_get(struct db *db, long long id, struct db_rows *out);
/* price: a decimal as text (validated by the caller); to NULL: open-ended. */
int costs_rate_add(struct db *db, const char *country, const char *category, const char *currency,
                   const char *price, const char *from, const char *to, const char *by,
                   long long *id);
/* *removed: 1 when the row existed. */
int costs_rate_delete(struct db *db, long long id, int *removed);

/* A campaign's cost, by category, country and rate (the rate in force at each message's
 * sent time): category, country, currency, unit_price, rate_from, messages, billable,
 * billable_without_rate, cost. */
enum {
    COST_CATEGORY,
    COST_COUNTRY,
    COST_CURRENCY,
    COST_PRICE,
    COST_RATE_FROM,
    COST_MESSAGES,
    COST_BILLABLE,
    COST_UNRATED,
    COST_COST
};
int costs_report_rows(struct db *db, long long campaign_id, struct db_rows *out);
/* Totals by currency (NULL: the messages without a rate): currency, messages, billable,
 * billable_without_rate, cost. */
int costs_report_totals(struct db *db, long long campaign_id, struct db_rows *out);
/* Messages sent (sent_at set) for which no status brought a pricing yet. */
int costs_unpriced(struct db *db, long long campaign_id, long long *n);

/* The estimate of sending a campaign's pending recipients with a template of category
 * (Meta's: MARKETING, UTILITY...; either case) at today's rates; *out a new object. */
int costs_estimate(struct db *db, long long campaign_id, const char *category, json_object **out);

/* The preflight's "cost_estimate" (fcgi/api-campaign-preflight.c): from the category of the
 * template the preflight reported in o; null when unknown or the database failed. */
void costs_preflight_add(struct db *db, long long campaign_id, json_object *o);

#endif
