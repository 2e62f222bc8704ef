/* Outbound events (docs/api.md, Hooks): the rules every program shares.
 *   - the event names and which campaign transition is which event;
 *   - the outbox: an event is written, one row per subscribed hook, in the transaction of the
 *     change that causes it (hooks_emit*, called by lib/campaign_store.c, lib/person.c and the
 *     webhook applier), so none is lost and none invented; the worker delivers them
 *     (worker/hooks.c);
 *   - the SSRF rule: which addresses a hook may reach (checked when a hook is stored and again
 *     at each delivery, on every address the name resolves to);
 *   - the signature: X-Pregon-Signature: sha256=<hex HMAC-SHA256 of the body>. */
#ifndef PREGON_HOOKS_H
#define PREGON_HOOKS_H

#include <json-c/json.h>
#include <stddef.h>
#include <sys/socket.h>

#include "campaign_state.h"

struct db;

#define HOOKS_URL_MAX    2048
#define HOOKS_SECRET_MIN 16
#define HOOKS_SECRET_MAX 256
/* "sha256=" + 64 hex digits + NUL */
#define HOOKS_SIG_LEN 72

/* The events, in the order of the hooks.events SET (sql/165). NULL-terminated. */
extern const char *const hooks_event_names[];
int hooks_event_valid(const char *name);

/* The event a campaign's move from -> to is, NULL when none (scheduling, failing, a lift that
 * keeps it paused). */
const char *hooks_campaign_event(enum campaign_status from, enum campaign_status to);

/* Which targets the operator allows (hooks_allow_targets). */
enum hooks_targets {
    HOOKS_TARGETS_PUBLIC = 0,   /* only public addresses */
    HOOKS_TARGETS_LOOPBACK = 1, /* public and loopback (the dev stack, the tests) */
    HOOKS_TARGETS_PRIVATE = 2   /* any address: private, link-local, loopback too */
};
/* -1 when unknown. */
int hooks_targets_parse(const char *s);

enum hooks_addr_class {
    HOOKS_ADDR_PUBLIC = 0,
    HOOKS_ADDR_LOOPBACK = 1,
    HOOKS_ADDR_PRIVATE = 2 /* private, link-local, CGNAT, unique-local, unspecified, multicast,
                            * reserved and documentation ranges */
};
enum hooks_addr_class hooks_addr_classify(const struct sockaddr *sa);
/* A textual IPv4 or IPv6 address's class; -1 when s is not an address. */
int hooks_addr_classify_text(const char *s);
int hooks_addr_allowed(enum hooks_addr_class c, enum hooks_targets policy);

/* Checks a hook's URL: http or https, a host, no user or password, at most HOOKS_URL_MAX; then
 * resolves the host and checks every address against policy. On success pin (may be NULL)
 * holds "host:port:address" for CURLOPT_RESOLVE (the first address, so the connection goes
 * where the check looked). Returns 0, -1 with why in err (a bad URL), -2 (a refused or
 * unresolvable address, why in err). */
int hooks_url_check(const char *url, enum hooks_targets policy, char *pin, size_t pinlen, char *err,
                    size_t errlen);

/* "sha256=<hex>" of body under secret into out. Returns 0 or -1. */
int hooks_sign(const char *secret, const char *body, size_t len, char out[HOOKS_SIG_LEN]);

/* ---- the outbox (runs in the caller's transaction) ---- */

/* One event for every enabled hook subscribed to type; data is copied (not taken). db_rc. */
int hooks_emit(struct db *db, const char *type, long long campaign_id, json_object *data);
/* Many events of one type, in order: events is an array of {"campaign_id", "data"} (not
 * taken); one statement however many. db_rc. */
int hooks_emit_many(struct db *db, const char *type, json_object *events);
/* *yes = whether some enabled hook wants an event whose name starts with prefix. db_rc. */
int hooks_wanted(struct db *db, const char *prefix, int *yes);

#endif
