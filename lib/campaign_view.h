/* The campaign as the API shows it: one JSON object per campaign (docs/api.md, Campaigns). */
#ifndef PREGON_CAMPAIGN_VIEW_H
#define PREGON_CAMPAIGN_VIEW_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

struct db;

/* A DATETIME(3) column as the API writes times (UTC, ISO 8601 with milliseconds). */
#define CAMPAIGN_TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

/* Messages per second the campaign may go at, from its interval_ms and the account's
 * throughput (80 when unknown): the ETA when nothing was sent lately, and the preflight. */
double campaign_configured_rate(long long throughput, long long interval_ms);

/* Minutes until the send window start_h..end_h opens in zone at now (0: open, or no window),
 * by the worker's rule (lib/pace). */
int campaign_window_wait_min(const char *zone, int start_h, int end_h, time_t now);

/* The one rule for a percentage the API shows: part of total, rounded down to a tenth. */
double campaign_view_pct(long long part, long long total);

/* A campaign's last pause in the words of lang: {"kind", "key", "params", "message",
 * "detail"} (an operator's typed reason as message, without key); NULL when kind and why are
 * both NULL. */
json_object *campaign_view_pause(const char *kind, const char *why, const char *lang);

/* *out = campaign id as JSON (owned by the caller), NULL when there is none; its texts (why
 * it waits, why it cannot be resumed) in lang ("es", "en"). Returns a db_rc. */
int campaign_view_one(struct db *db, long long id, const char *lang, json_object **out);

/* The filters of the list (NULL / 0: any); name_like a LIKE pattern already escaped. */
struct campaign_list_filter {
    long long before_id, account_id, limit;
    const char *status, *name_like, *template_name, *created_by;
};

/* *arr = the campaigns with id < before_id, newest first, at most limit; *n how many and
 * *last_id the id of the last one. Returns a db_rc. */
int campaign_view_list(struct db *db, const struct campaign_list_filter *f, const char *lang,
                       json_object **arr, size_t *n, long long *last_id);

#endif
