/* Applying verified webhook payloads from Meta to our state (spec §4). Shared by the FastCGI
 * app, whose request threads store each request and answer and whose applier thread (one per
 * process) applies the stored events in large batches (webhook_drain) and, when idle, what
 * was stored but not applied; by the sweep (webhook_sweep: pregonctl webhooks-apply); and by
 * the worker's recorder, which applies statuses that arrived before it recorded their send
 * (webhook_apply_pending).
 *
 * Everything here is order-independent and idempotent, because Meta retries for 7 days and
 * never promises order: a (wamid, status) is applied once (table message_statuses), status
 * only moves forward (lib/msgstatus.h), per-status times keep the earliest event that implies
 * them, opt-outs and preferences keep the newest event. */
#ifndef PREGON_WEBHOOK_APPLY_H
#define PREGON_WEBHOOK_APPLY_H

#include <json-c/json.h>
#include <stddef.h>

struct db;
struct account_list;

/* Where an applier's time goes (webhook_stats.secs, seconds): claiming and parsing stored
 * events, pass 1's walk, applying statuses, pass 2 (messages, opt-outs, account events), the
 * campaign counters, marking the events applied, the commit, and webhook_drain's pauses. */
enum webhook_phase {
    WH_T_CLAIM,
    WH_T_WALK,
    WH_T_STATUSES,
    WH_T_OTHERS,
    WH_T_COUNTERS,
    WH_T_MARK,
    WH_T_COMMIT,
    WH_T_PAUSE,
    WH_PHASES
};
extern const char *const webhook_phase_names[WH_PHASES];

struct webhook_stats {
    int statuses;   /* status items seen */
    int applied;    /* statuses that changed a recipient */
    int duplicates; /* (wamid, status) seen before */
    int ignored;    /* stale or backwards statuses, malformed items */
    int unmatched;  /* statuses for wamids we don't know yet: kept, applied later */
    int messages;   /* inbound messages (new ones) */
    int replies;    /* inbound messages answering one of our messages */
    int optouts;    /* numbers added to the opt-out list */
    int lifts;      /* numbers taken off it */
    int unrouted;   /* changes for no account of ours, or not signed by that account's app */
    int other;      /* changes of fields or shapes we keep but don't act on */
    int events;     /* stored events applied */
    int contended;  /* webhook_drain: another process was applying (it takes ours too) */
    double secs[WH_PHASES]; /* committed batches (and pauses): enum webhook_phase */
};

/* Where a payload came from: the accounts it can be routed to and which of them signed it. */
struct webhook_src {
    const struct account_list *accounts;
    const long long *verified; /* ids of the accounts whose App Secret matched */
    size_t nverified;          /* 0: any account (rows stored before we kept this) */
};

/* The order the applier takes stored events in (webhook_events.priority, highest first, then
 * by id): opt-outs, inbound messages, failed statuses, template, quality and account events
 * go ahead of plain statuses, so a STOP behind thousands of queued statuses is applied with
 * the next batch. Applying is order-independent (above), so taking them first is safe. */
#define WEBHOOK_PRIORITY_PLAIN 0 /* statuses (sent, delivered, read), calls, unknown fields */
#define WEBHOOK_PRIORITY_AHEAD 1 /* everything else */

/* The priority of a payload (pure, no database): AHEAD when any change is an inbound
 * message, a failed status, a user preference, a template, quality or account event. */
int webhook_priority(json_object *payload);

/* Several verified bodies stored with one multi-row INSERT and one commit (the FastCGI
 * process's concurrent requests, group commit): all are stored or none. Returns DB_OK and
 * sets each *event_id, else a db_rc (answer 503 to all of them). At most WEBHOOK_STORE_MAX. */
#define WEBHOOK_STORE_MAX 32
struct webhook_stored {
    const struct webhook_src *src;
    const char *signature, *body;
    size_t len;
    int priority; /* webhook_priority of the body */
    long long *event_id;
};
int webhook_store_many(struct db *db, const struct webhook_stored *v, size_t n);

/* Applies every stored event not applied yet, in transactions of batch events, when no other
 * process is doing it (a server-wide lock taken without waiting): under load one applier
 * drains the events of all processes in large batches while the others only store and
 * answer. It keeps the lock until nothing is left, then lets go and looks once more, so an
 * event stored meanwhile is never left behind. While batches come back full (a backlog) each
 * one is twice the last, up to WEBHOOK_BATCH_GROWTH times batch. While busy() says requests
 * keep arriving, it pauses before the next batch up to WEBHOOK_BUSY_PAUSE times as long as
 * the last one took (applying then uses a tenth of the time it holds the lock), less the
 * longer the oldest event of that batch had waited, and not at all once it had waited
 * WEBHOOK_TARGET_LAG_S: a burst is stored and answered first, sustained load gets the share
 * it needs to keep the lag near that target, and applying is at full speed as soon as the
 * requests stop (busy may be NULL: never pause). A pause ends early once an event that goes
 * ahead (WEBHOOK_PRIORITY_AHEAD: a STOP) is waiting: events are taken by priority, so the
 * next batch applies it. A backlog that is not shrinking for
 * WEBHOOK_MAX_LAG_S also stops the pauses until it catches up. refresh (may be NULL) runs
 * before each batch with the lock held: it brings *accounts up to date (an account added a
 * moment ago), negative to give up. st counts what was committed. Returns the number of
 * events it applied (0: none, or someone else is applying), or a negative db_rc. */
#define WEBHOOK_BUSY_PAUSE   9.0
#define WEBHOOK_PAUSE_LOOK_S 0.05 /* a pause looks this often for events that go ahead */
#define WEBHOOK_TARGET_LAG_S 0.6
#define WEBHOOK_MAX_LAG_S    30.0
#define WEBHOOK_BATCH_GROWTH 4
int webhook_drain(struct db *db, const struct account_list *accounts, size_t batch,
                  int (*busy)(void), int (*refresh)(void), struct webhook_stats *st);

/* Applies stored events not applied yet, oldest first, up to 64 per transaction, then the
 * statuses waiting for their wamid. Only events received at least older_than_s seconds ago
 * (0: all); events that failed to apply 5 times are left out unless include_failed.
 * accounts: NULL loads them (routing only, no secrets needed). Connection must be outside
 * a transaction. Returns the number of events applied, or a negative db_rc. */
int webhook_sweep(struct db *db, const struct account_list *accounts, int older_than_s,
                  int include_failed, struct webhook_stats *st);

/* What the walk of a payload hands over, change by change (webhook_walk). Each member
 * returns a db_rc (anything but DB_OK stops the walk); NULL members are skipped. */
struct webhook_visitor {
    void *ctx;
    /* pass 1: each status of a messages change */
    int (*status)(void *ctx, json_object *status, long long account, long long event_id);
    /* pass 2: the value of every routed messages change (its contacts' user ids), each of
     * its messages, each user preference, and template, quality and account events (one
     * call per account of the WABA; quality once with all of them) */
    int (*user_ids)(void *ctx, json_object *value, long long account);
    int (*message)(void *ctx, json_object *message, long long account, long long event_id);
    int (*preference)(void *ctx, json_object *preference, long long account);
    int (*template_update)(void *ctx, json_object *value, long long account);
    int (*quality)(void *ctx, json_object *value, const long long *accounts, size_t n);
    int (*account_update)(void *ctx, json_object *value, long long account);
};

/* The walk of one payload, without a database (tests/fuzz/fuzz_webhook.c drives it):
 * entry[].changes[], each change routed to an account of src (messages and user_preferences
 * by phone number id, else the WABA's only number; the others to the WABA's accounts that
 * signed it) and handed to v. Pass 1 (statuses != 0) visits statuses only, pass 2 everything
 * else. st counts what the walk itself judges: unrouted, and (pass 1) other. Returns DB_OK or
 * the first error a visitor returned. */
int webhook_walk(json_object *payload, const struct webhook_src *src, long long event_id,
                 int statuses, const struct webhook_visitor *v, struct webhook_stats *st);

/* Pass 1 with the applier's own status collection (lib/webhook_walk.c): st (zeroed by the
 * caller) counts statuses, ignored, unrouted and other; *collected is the number of statuses
 * that would be applied. Returns DB_OK, or DB_ERR when out of memory. */
int webhook_walk_statuses(json_object *payload, const struct webhook_src *src,
                          struct webhook_stats *st, size_t *collected);

/* Applies the statuses that arrived before their wamid was recorded, for recipients of
 * campaign_id (0: any). Runs inside the caller's transaction (the worker calls it right
 * after recording a batch's wamids), so the statuses and the send are committed together.
 * Returns a db_rc. */
int webhook_apply_pending(struct db *db, long long campaign_id);

/* webhook_apply_pending for every campaign in its own transaction (the FastCGI applier's
 * periodic look). st counts what was committed. Returns the statuses applied, or a negative
 * db_rc. */
int webhook_apply_waiting(struct db *db, struct webhook_stats *st);

/* The worker's threshold for repeated parameter errors (config worker_param_pause, default
 * 3), which the auto-pause (lib/campaign_health) also applies to `failed` statuses with
 * these codes. Call before applying (not thread-safe). */
void webhook_apply_set_policy(int param_pause);

/* The biz_opaque_callback_data we send: identifies the recipient row. */
int webhook_callback_format(char *out, size_t outlen, long long campaign_id,
                            long long recipient_id);
int webhook_callback_parse(const char *s, long long *campaign_id, long long *recipient_id);

#endif
