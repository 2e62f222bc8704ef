/* The person: one canonical phone (lib/identity.h), the business-scoped user ids Meta sends
 * beside or instead of it, and the opt-out rules. Every program asks here:
 *   - whether a person is blocked (the worker before each send, the preflight, imports, test
 *     sends): a row in opt_outs for the canonical phone, nothing else;
 *   - to block or lift (the webhook, the worker's 131050, the API): each writes opt_outs,
 *     opt_out_events and the audit log together, in the caller's transaction;
 *   - which keywords and phrases opt out (opt_out_keywords, lib/optout.h).
 * Lifting rule: an opt-out an operator recorded (or confirmed) carries operator_lock and is
 * lifted only by an operator; what the person does in WhatsApp (a "resume" preference, a
 * resume keyword) lifts only opt-outs that came from WhatsApp. */
#ifndef PREGON_PERSON_H
#define PREGON_PERSON_H

#include <stddef.h>

#include "e164.h"
#include "optout.h"

struct db;
struct db_rows;
struct phoneset;

/* Who blocks or lifts: name and address go to the audit log and opt_out_events. */
struct person_actor {
    const char *name;    /* a user's email, "webhook", "worker" */
    const char *address; /* the client address, or NULL */
    int is_operator;     /* 1: an operator (API, import); 0: WhatsApp (the person or Meta) */
};

/* The blocked rule as a condition for set-based statements over a phone column, e.g.
 * "... AND NOT " PERSON_BLOCKED_SQL("r.phone"). */
#define PERSON_BLOCKED_SQL(phone_col)                                                              \
    "EXISTS (SELECT 1 FROM opt_outs bo WHERE bo.phone = " phone_col ")"

/* *blocked = 1 when the person with this canonical phone must get no message. db_rc. */
int person_is_blocked(struct db *db, const char *phone, int *blocked);

/* The blocked phones among a JSON array of canonical phones (json[0..len), e.g.
 * ["+52...","+54..."]): one row each, column 0 the phone. Straight on the opt_outs key, for
 * the worker's claim. db_rc; free r with db_rows_free. */
int person_blocked_query(struct db *db, const char *json, size_t len, struct db_rows *r);
/* Its text (listed by lib/sqlstmt.c as "person.blocked", for the query-plan tests). */
extern const char person_sql_blocked[];

/* blocked[i] = 1 for each phones[i] that is blocked (n at most a few thousand). db_rc. */
int person_blocked_many(struct db *db, const char *const *phones, size_t n, unsigned char *blocked);

/* *n = pending recipients of a campaign who are blocked (the preflight's count). db_rc. */
int person_blocked_pending(struct db *db, long long campaign_id, long long *n);

/* Adds every blocked phone to set (phoneset_key form), for uploads of many rows. db_rc. */
int person_blocked_set(struct db *db, struct phoneset *set);

/* The opt-out list for reading, in phone order: phone (NULL: all), after (a phone cursor, NULL
 * from the start), source (NULL: any), at most limit rows. Columns: phone, source, detail,
 * campaign_id, created_at (ISO 8601, the session is UTC), operator_lock. db_rc. */
int person_optouts_rows(struct db *db, const char *phone, const char *after, const char *source,
                        long long limit, struct db_rows *r);

enum person_change {
    PERSON_UNCHANGED = 0, /* already so */
    PERSON_CHANGED = 1,   /* blocked, lifted, or locked by an operator */
    PERSON_REFUSED = 2,   /* a lift from WhatsApp of an opt-out an operator recorded */
};

/* Blocks the person (source: keyword, button, user_preferences, error_131050, api, import).
 * An operator's block of a person already blocked from WhatsApp locks that opt-out (and is
 * PERSON_CHANGED). Writes opt_out_events and the audit log when something changed. *change
 * may be NULL. db_rc. */
int person_block(struct db *db, const char *phone, const char *source, const char *detail,
                 long long campaign_id, const struct person_actor *who, enum person_change *change);

/* Lifts the person's opt-out following the lifting rule; a refused lift is written to
 * opt_out_events and the audit log too. db_rc. */
int person_lift(struct db *db, const char *phone, const char *source, const char *detail,
                const struct person_actor *who, enum person_change *change);

/* The canonical phone a user id belongs to: *found 0 when unknown. db_rc. */
int person_phone_of_user(struct db *db, const char *user_id, char phone[E164_MAX + 1], int *found);

/* Remembers that user_id belongs to phone (account 0 = unknown); an opt-out that waited for
 * this user id (person_block_user) now blocks the phone. db_rc. */
int person_link_user(struct db *db, const char *user_id, const char *phone, long long account_id,
                     const struct person_actor *who);

/* Blocks the person a user id belongs to; when no phone is known yet, the opt-out waits in
 * opt_outs_by_user_id until person_link_user learns it. db_rc. */
int person_block_user(struct db *db, const char *user_id, const char *source, const char *detail,
                      long long campaign_id, const struct person_actor *who,
                      enum person_change *change);

/* The person now has new_phone instead of old_phone (WhatsApp's "user_changed_number"; both
 * canonical): what we know of them follows them, in the caller's transaction.
 *   - opt-out: an opted-out person stays opted out at the new number (source
 *     "number_change"); the old number's opt-out stays too: only the person or an operator
 *     lifts one, never an inference;
 *   - consent: their contact (consent, name, attributes, tags) moves to the new number; when
 *     the new number has a contact already, it takes the earlier consent and the tags;
 *   - history: their recipient rows (each campaign's send, status and times; the send log
 *     joins them by recipient id), user ids, WhatsApp preferences and pair-rate times move to
 *     the new number; person_number_changes keeps old -> new for the append-only logs
 *     (send_log, inbound_messages, opt_out_events), which keep the number of their time.
 * account_id 0 = unknown. The audit log gets one person.number_change row. db_rc. */
int person_change_number(struct db *db, const char *old_phone, const char *new_phone,
                         long long account_id, const struct person_actor *who);

/* The keyword and phrase rules (opt_out_keywords), folded comparison in lib/optout.h. */
struct person_rules {
    struct optout_rule *v;
    size_t n;
    char **texts;
};

/* Loads the rules; when the table cannot be read, the default stop keywords (and DB_ERR is
 * still returned so the caller may log it). Free with person_rules_free. */
int person_rules_load(struct db *db, struct person_rules *rules);
void person_rules_free(struct person_rules *rules);

/* Managing the rules (the API): at most PERSON_RULES_MAX of them; a rule equal to another once
 * folded is a duplicate. */
#define PERSON_RULES_MAX 500

enum person_rule_result {
    PERSON_RULE_OK = 0,
    PERSON_RULE_INVALID = 1,   /* *why says why (lib/optout.h, optout_rule_check) */
    PERSON_RULE_DUPLICATE = 2, /* *existing (PERSON_RULE_OK..) names the stored one */
    PERSON_RULE_FULL = 3,
    PERSON_RULE_NOT_FOUND = 4,
};

/* Adds a rule; *result says what happened, *why or existing (OPTOUT_RULE_MAX + 1 bytes) the
 * detail. actor is stored as created_by. db_rc. */
int person_rule_add(struct db *db, const char *text, enum optout_kind kind,
                    enum optout_action action, const char *actor, enum person_rule_result *result,
                    const char **why, char existing[OPTOUT_RULE_MAX + 1]);

/* Removes every rule equal to text once folded; *removed the count. db_rc. */
int person_rule_remove(struct db *db, const char *text, int *removed);

/* The rules for listing: columns keyword, kind, action, created_by, created_at (ISO 8601, the
 * session is UTC), in keyword order. db_rc; free with db_rows_free. */
int person_rules_rows(struct db *db, struct db_rows *r);

#endif
