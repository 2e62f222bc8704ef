/* Applying verified webhook payloads from Meta to our state (spec §4). Shared by the FastCGI
 * app, which stores each request and then applies the stored events in batches, the sweep
 * that applies what was stored but not applied (pregonctl webhooks-apply; the worker's
 * loop), and the worker, which applies statuses that arrived before it recorded their send.
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
    int backlog;    /* webhook_apply_queue stopped with events still waiting */
};

/* Where a payload came from: the accounts it can be routed to and which of them signed it. */
struct webhook_src {
    const struct account_list *accounts;
    const long long *verified; /* ids of the accounts whose App Secret matched */
    size_t nverified;          /* 0: any account (rows stored before we kept this) */
};

/* Stores a verified body and its signature (one durable INSERT). Returns DB_OK once it is
 * stored (answer 200; applying comes after), else a db_rc (answer 503: Meta retries).
 * *event_id is the webhook_events id. */
int webhook_store(struct db *db, const struct webhook_src *src, const char *signature,
                  const char *body, size_t len, long long *event_id);

/* Applies every stored event not applied yet, many per transaction, when no other process
 * is doing it (a server-wide lock taken without waiting): under load one process applies
 * the events of all in batches while the others only store and answer. The process that
 * lets go looks once more, so an event stored meanwhile is never left behind. It stops after
 * a few batches so its own request is answered quickly; st->backlog then says events are
 * still waiting (webhook_sweep drains them). Returns the number of events it applied (0:
 * someone else is applying), or a negative db_rc. */
int webhook_apply_queue(struct db *db, const struct account_list *accounts,
                        struct webhook_stats *st);

/* Applies stored events not applied yet, oldest first, up to 32 per transaction, then the
 * statuses waiting for their wamid. Only events received at least older_than_s seconds ago
 * (0: all); events that failed to apply 5 times are left out unless include_failed.
 * accounts: NULL loads them (routing only, no secrets needed). Connection must be outside
 * a transaction. Returns the number of events applied, or a negative db_rc. */
int webhook_sweep(struct db *db, const struct account_list *accounts, int older_than_s,
                  int include_failed, struct webhook_stats *st);

/* Applies the statuses that arrived before their wamid was recorded, for recipients of
 * campaign_id (0: any). Runs inside the caller's transaction (the worker calls it right
 * after recording a batch's wamids), so the statuses and the send are committed together.
 * Returns a db_rc. */
int webhook_apply_pending(struct db *db, long long campaign_id);

/* The biz_opaque_callback_data we send: identifies the recipient row. */
int webhook_callback_format(char *out, size_t outlen, long long campaign_id,
                            long long recipient_id);
int webhook_callback_parse(const char *s, long long *campaign_id, long long *recipient_id);

#endif
