/* The campaigns table: every statement that changes a campaigns row (UPDATE campaigns lives in
 * this file's .c only) and the reads the API answers from. Several areas add their own
 * section; each section's functions run in the caller's transaction, if any. */
#ifndef PREGON_CAMPAIGN_STORE_H
#define PREGON_CAMPAIGN_STORE_H

#include <json-c/json.h>

#include "campaign_state.h"
#include "msgstatus.h"
#include "sqlstmt.h"
#include <stddef.h>

struct db;
struct db_rows;

/* ---- campaign API and state ---- */

/* A campaign with what the API's actions check (its account's flag, credentials, limits). */
struct campaign_row {
    long long id, account_id, total, pending, sending, failed, unknown;
    char status[16];
    char tname[513], tlang[17];
    json_object *map; /* param_map, owned (campaign_row_free) */
    int flag, has_token, has_secret, sandbox;
    char country[3];
    long long throughput, interval, cap;
    char tier[17], quality[17], tz[65], waba[33];
    int has_cap, scheduled_future, started;
    char name[201];
    int resumable, restricted; /* campaigns.resumable; Meta restricts the account now */
    int importing;             /* a chunked import holds it (lib/recipients_chunks.c) */
};

/* Reads (with lock, FOR UPDATE in the caller's transaction) campaign id. Returns 0, 1 when
 * absent, -1 on a database error (db_errno tells a deadlock). */
int campaign_store_load(struct db *db, long long id, int lock, struct campaign_row *c);
void campaign_row_free(struct campaign_row *c);

/* *exists = whether campaign id exists. Returns a db_rc. */
int campaign_store_exists(struct db *db, long long id, int *exists);

/* The settings of a new or edited campaign (NULL strings and has_* = 0: unchanged on edit). */
struct campaign_settings_row {
    long long account_id;
    const char *name, *tname, *tlang, *param_map, *body_params; /* JSON texts */
    int has_batch, has_interval, has_cap, cap_null, has_window, window_null;
    long long batch, interval, cap, wstart, wend;
    const char *freq_action; /* the frequency cap's action, "wait" or "skip"; NULL: unchanged */
    int has_holdout;         /* the A/B holdout percentage (lib/abvariant.h) is given */
    long long holdout;
};

/* The account a campaign is for: by phone_number_id (*n matches, *id the first), the only one
 * when none is given (*n 0, 1 or 2 = several; *id when 1), or whether id exists. */
int campaign_store_account_by_phone(struct db *db, const char *phone_number_id, long long *id,
                                    size_t *n);
int campaign_store_only_account(struct db *db, long long *id, size_t *n);
int campaign_store_account_exists(struct db *db, long long id, int *exists);

/* INSERT of a draft created by user; *id its id. Returns a db_rc. */
int campaign_store_create(struct db *db, const struct campaign_settings_row *s, const char *user,
                          long long *id);
/* The edit of draft id (account, template and mapping always written). Returns a db_rc. */
int campaign_store_update_settings(struct db *db, long long id,
                                   const struct campaign_settings_row *s);
/* The name of a copy of a campaign named name: "name (copia)", else "name (copia 2)", 3...,
 * the first no campaign has, counted on the original's name (a copy of "X (copia)" is
 * "X (copia 2)", never "X (copia) (copia)"). Returns a db_rc. */
int campaign_store_copy_name(struct db *db, const char *name, char *out, size_t outlen);
/* Deletes draft id and its recipients. Returns a db_rc. */
int campaign_store_delete(struct db *db, long long id);
/* A copy of campaign from (settings only) named name by user; *id the new one. */
int campaign_store_clone(struct db *db, long long from, const char *name, const char *user,
                         long long *id);
/* Which recipients a copy takes (the API's "recipients"; retargeting by what each one's
 * message did). */
enum campaign_clone_mode {
    CLONE_NONE,
    CLONE_ALL,
    CLONE_FAILED,           /* failed or unknown */
    CLONE_NOT_DELIVERED,    /* tried, no delivery known: sent, failed or unknown */
    CLONE_NOT_READ,         /* delivered, not read */
    CLONE_READ_NOT_REPLIED, /* read, no reply */
    CLONE_REPLIED,          /* answered the message */
    CLONE_CLICKED_BUTTON,   /* pressed one of its buttons */
    CLONE_MODES
};
/* The mode named name ("none", "all", "failed", "not_delivered", "not_read",
 * "read_not_replied", "replied", "clicked_button"), or -1. */
int campaign_clone_mode_parse(const char *name);
/* Copies from's recipients that mode selects (never blocked numbers) into campaign to, sets
 * its counters and records the audience import by user with definition def (JSON text).
 * *copied how many. Returns a db_rc. */
int campaign_store_clone_recipients(struct db *db, long long to, long long from,
                                    enum campaign_clone_mode mode, const char *def,
                                    const char *user, long long *copied);

/* Adds d to the counters of campaign_id (same transaction as the recipients it counts). */
int campaign_store_add_counters(struct db *db, long long campaign_id, const struct msg_delta *d);

/* Cancels the pending recipients of campaign id (counters included); *n how many. */
int campaign_store_cancel_pending(struct db *db, long long id, long long *n);

/* Failed recipients of campaign id by error code (code 0: none recorded). */
struct campaign_failed_code {
    int code;
    long long n;
};
/* *out (free()) gets up to max codes; *n how many. Returns a db_rc. */
int campaign_store_failed_codes(struct db *db, long long id, struct campaign_failed_code **out,
                                size_t *n);
/* Queues again the failed recipients of campaign id whose code is one of codes[0..ncodes) and,
 * when unknown, the unknown ones; never blocked numbers. Counters included. */
int campaign_store_requeue(struct db *db, long long id, const int *codes, size_t ncodes,
                           int unknown, long long *moved_failed, long long *moved_unknown);

/* The vars (JSON text, malloc'd into *vars, NULL when none) of recipient phone of campaign id;
 * *found whether it is a recipient. Returns a db_rc. */
int campaign_store_recipient_vars(struct db *db, long long id, const char *phone, int *found,
                                  char **vars);
/* The same for the campaign's first recipient (by id), whose number goes into phone: the
 * sample values of a test send to a number outside the audience. */
int campaign_store_first_recipient_vars(struct db *db, long long id, char *phone, size_t plen,
                                        int *found, char **vars);

/* ---- recipients and imports ---- */

/* Adds n imported recipients to the campaign's total and pending counters. */
int campaign_store_add_recipients(struct db *db, long long campaign_id, long long n);
/* The mark of a large import committed in chunks (sql/173, lib/recipients_chunks.c), in the
 * caller's transaction: set (token, floor, lease), renewed (token, possibly a new one when
 * another process takes an interrupted import over to undo it, and lease), cleared. */
int campaign_store_import_mark(struct db *db, long long campaign_id, long long token,
                               long long floor_id, int lease_s);
int campaign_store_import_renew(struct db *db, long long campaign_id, long long token, int lease_s);
int campaign_store_import_clear(struct db *db, long long campaign_id);
/* Removes every recipient of the campaign and sets its counters to zero (a draft, locked by
 * the caller). */
int campaign_store_clear_recipients(struct db *db, long long campaign_id);

/* ---- worker ---- */

extern const struct sql_statement campaign_store_worker_statements[];

/* The running campaigns, by id, for the claimer: every campaigns column plus
 * account_enabled (the account's campaigns_enabled), and the template pacing hold:
 * pacing_wamid, pacing_until_text, pacing_over. Columns are read by name (db_col). */
int campaign_store_running(struct db *db, struct db_rows *rows);
/* The campaigns that may have claims in flight (sending_count <> 0), then the running ones,
 * at most max ids. Returns how many, or -1. */
int campaign_store_inflight(struct db *db, long long *ids, size_t max);
/* Why a running campaign waits ("" clears it). */
int campaign_store_set_wait_reason(struct db *db, long long id, const char *reason);
/* Progressive start: step from -> from + 1 if still at from; *raised 1 when it moved. */
int campaign_store_raise_ramp(struct db *db, long long id, int from, int *raised);

/* ---- webhooks ---- */

/* Adds n inbound replies to campaign_id's replies_count. */
int campaign_store_add_replies(struct db *db, long long campaign_id, long long n);

#endif
