/* The webhook applier's inside, shared by lib/webhook_*.c only (callers use webhook_apply.h):
 * one batch of stored events, what each file of the applier offers the others.
 *   webhook_walk.c     the pure walk of a payload (JSON helpers, routing, status collection)
 *   webhook_apply.c    one batch: the two passes, campaign counters, pausing, callbacks
 *   webhook_status.c   status events -> recipients, message_statuses, the auto-pause
 *   webhook_inbound.c  inbound messages, replies, opt-outs, user_preferences, user ids
 *   webhook_account.c  template, quality and account events
 *   webhook_store.c    storing bodies (group commit), claiming and marking stored events
 *   webhook_drain.c    the applier: sweep, drain (lock, pacing), pending statuses */
#ifndef PREGON_WEBHOOK_BATCH_H
#define PREGON_WEBHOOK_BATCH_H

#include <json-c/json.h>
#include <stddef.h>

#include "abvariant.h"
#include "campaign_state.h"
#include "msgstatus.h"
#include "person.h"
#include "webhook_apply.h"
#include "utf8.h"

#define WH_CHUNK 64 /* rows per multi-row statement */

struct st_item {
    const char *wamid, *raw, *cb, *etext;
    enum msg_status next;
    long long t, account, event_id;
    int code;
    int fresh;   /* first time we see this (wamid, status) */
    int pending; /* came from message_statuses, waiting for its wamid */
    long rec;    /* index into recs, -1 none */
    /* Meta's pricing and conversation objects (sql/176), when the status has them; strings
     * too long for their columns are dropped (NULL). billable: 1, 0, -1 absent. */
    int has_pricing, billable;
    const char *p_model, *p_category, *p_type, *conv_id, *conv_origin;
    long long conv_expires;
};

struct rec {
    long long id, campaign, account;
    enum msg_status st;
    char phone[17];
    char wamid[161];
    int has_wamid;
    long long t_sent, t_deliv, t_read, t_failed, retry_at;
    int err_mode; /* 0 keep, 1 set, 2 clear */
    int code;
    char etext[1024];
    int touched;
    int was_sent; /* sent_at was set when loaded: an earlier attempt is counted as sent */
    int variant;  /* its A/B variant (lib/abvariant.h), -1 none */
};

struct camp {
    long long id;
    struct msg_delta d;
    struct abvar_counts vd[ABVAR_MAX + 1]; /* the funnel by A/B variant (1..4) */
    int replies;
    /* `failed` statuses for the auto-pause (lib/campaign_health): how many, of which
     * parameter errors (100, 132000, 132012), the latest code and its details */
    int failures, param_failures, fail_code;
    char fail_text[512];
};

struct batch {
    struct db *db;
    struct webhook_stats *st;
    struct st_item *items;
    size_t nitems, capitems;
    struct rec *recs;
    size_t nrecs, caprecs;
    /* recs by id and by wamid (lib/webhook_status.c): slots of index + 1, 0 empty */
    size_t *rec_by_id, *rec_by_wamid, rec_hcap;
    struct camp *camps;
    size_t ncamps, capcamps;
    struct person_rules rules; /* opt-out keywords and phrases, read once per batch */
    int rules_loaded;
    /* outbound events (lib/hooks.h), written after the campaign counters (the campaign row
     * locked: a campaign's events in order); asked: whether some hook wants them, known */
    json_object *hook_status, *hook_reply;
    int hook_asked_status, hook_want_status, hook_asked_reply, hook_want_reply;
};

/* A stored event being applied. */
struct ev {
    json_object *payload;
    long long id;
    struct webhook_src src;
};

/* Events claimed from webhook_events (webhook_store.c). */
struct stored {
    struct ev *evs;
    size_t n;
    long long (*verified)[16]; /* per event: the accounts that signed it */
    double oldest_s;           /* how long the oldest of them waited to be claimed */
};

/* ---- webhook_walk.c: JSON helpers, routing (no database) ---- */
const char *wh_jstr(json_object *o, const char *k);
json_object *wh_jget(json_object *o, const char *k, json_type t);
/* A member that may be a string or a number, as text in buf; NULL when absent. */
const char *wh_jscalar(json_object *o, const char *k, char *buf, size_t len);
/* Unix seconds of an event; now when absent or nonsense. */
long long wh_event_time(json_object *o);
/* CLOCK_MONOTONIC seconds (the applier's timing counters). */
double wh_mono(void);
/* Grows *p (of *cap elements of size) to hold need; -1 when out of memory. */
int wh_grow(void **p, size_t *cap, size_t need, size_t size);
/* Pass 1's status visitor: adds one status item to the batch (or counts it ignored). */
int wh_collect_status(struct batch *b, json_object *s, long long account, long long event_id);

/* ---- webhook_apply.c: the batch ---- */
void wh_batch_free(struct batch *b);
struct camp *wh_camp_get(struct batch *b, long long cid);
int wh_flush_camps(struct batch *b);
/* Queues an outbound event of the batch (recipient.status or reply.received); data taken.
 * Written by wh_flush_camps. db_rc. */
int wh_hook_add(struct batch *b, const char *type, long long campaign_id, json_object *data);
/* "?,?,?" (n times `one`, comma separated) into buf. */
void wh_repeat_sql(char *buf, size_t len, const char *one, size_t n);
/* n rounded up to a power of two: a handful of prepared statements serve every batch. */
size_t wh_bucket(size_t n);
/* The account a campaign belongs to (cached per thread); 0 when none. */
int wh_campaign_account(struct db *db, long long cid, long long *account);
int wh_campaigns_event(struct batch *b, enum campaign_scope_kind kind, long long id,
                       enum campaign_event ev, const char *reason);
/* Applies the events inside the caller's transaction. */
int wh_apply_events(struct db *db, const struct ev *evs, size_t n, struct webhook_stats *st);

/* ---- webhook_status.c ---- */
int wh_apply_statuses(struct batch *b);

/* ---- webhook_pricing.c ---- */
/* Pass 1: the status's pricing and conversation objects into it. */
void wh_collect_pricing(struct st_item *it, json_object *s);
/* The same pricing read back from a stored row: columns col.. are pricing model, category,
 * billable, type, conversation id, origin, expiry (unix s), as message_statuses and
 * message_pricing keep them. The strings point into r. */
void wh_pricing_from_row(struct st_item *it, const struct db_rows *r, size_t i, size_t col);
/* The latest pricing per message of the batch's fresh, matched statuses (message_pricing). */
int wh_apply_pricing(struct batch *b);

/* ---- webhook_inbound.c ---- */
int wh_optout_add(struct batch *b, const char *phone, const char *source, const char *detail,
                  long long campaign);
int wh_apply_user_ids(struct batch *b, json_object *v, long long account);
int wh_apply_message(struct batch *b, json_object *m, long long account, long long event_id);
int wh_apply_preference(struct batch *b, json_object *p, long long account);

/* ---- webhook_account.c ---- */
int wh_apply_template(struct batch *b, json_object *v, long long account);
int wh_apply_quality(struct batch *b, json_object *v, const long long *acc, size_t nacc);
int wh_apply_account_update(struct batch *b, json_object *v, long long account);

/* ---- webhook_store.c: the webhook_events table ---- */
/* Locks and parses up to max unapplied events (one id when only > 0). */
int wh_claim_events(struct db *db, const struct account_list *accounts, int older_than_s,
                    int include_failed, long long only, size_t max, struct stored *s);
int wh_mark_applied(struct db *db, const struct stored *s);
int wh_mark_failed(struct db *db, long long id, const char *msg, int give_up);
void wh_stored_free(struct stored *s);

#endif
