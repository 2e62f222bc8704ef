/* Shared by the /api/campaigns handlers (api-campaigns.c, api-campaign-action.c,
 * api-campaign-lifecycle.c, api-campaign-preflight.c); not used elsewhere. */
#ifndef PREGON_API_CAMPAIGN_H
#define PREGON_API_CAMPAIGN_H

#include <json-c/json.h>

#include "campaign_state.h"
#include "campaign_store.h"
#include "cloudapi.h"

struct request;

#define API_CAMPAIGN_JSON_LIMIT (256 * 1024)

/* Answers campaign id as JSON with HTTP status (404 when absent). */
void api_campaign_answer(struct request *req, long long id, int status);

static inline const char *api_campaign_json_text(json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* An action's refusal, answered after the transaction is rolled back. */
struct refusal {
    int status;
    char code[40];
    char msg[512];
    const char *field;
    const char *key;     /* lib/msgcat key of the message, or NULL: the code's generic text */
    char keybuf[64];     /* where api_campaign_refuse_key writes it */
    json_object *params; /* its parameters (owned), or NULL */
};

/* Fills f; returns -1 (what an action returns when refused). */
int api_campaign_refuse(struct refusal *f, int status, const char *code, const char *field,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An action on the campaign c, locked in the transaction; extra: members added to the answer.
 * Returns 0 (commit) or -1 (rollback; f says why, or nothing for a database error). */
typedef int (*action_fn)(struct request *req, json_object *in, struct campaign_row *c,
                         struct refusal *f, json_object *extra);

/* Runs fn in a transaction, again when the database asks for it (deadlock with a worker), then
 * answers: the refusal, or the campaign with extra members. */
void api_campaign_run_action(struct request *req, action_fn fn, int needs_body);

/* Whether an operator may make ev on c (lib/campaign_state: the one table); *t gets its row. */
int api_campaign_refused_by_state(const struct campaign_row *c, struct refusal *f,
                                  enum campaign_event ev, const char *what,
                                  const struct campaign_transition **t);

/* Refuses unless c's status is one of ok[0..n): campaign.refused.<action> naming the state,
 * what the developer's detail. */
int api_campaign_not_in(const struct campaign_row *c, struct refusal *f, const char *action,
                        const char *what, const char *const *ok, size_t n);

/* Gives f the catalogue key prefix name (and an empty params object when it has none). */
void api_campaign_refuse_key(struct refusal *f, const char *prefix, const char *name);
/* 409 import_running: a chunked import holds the draft (lib/recipients_chunks.c). Returns -1. */
int api_campaign_refuse_import_running(struct refusal *f);
/* The same answered at once, for the handlers outside api_campaign_run_action. */
void api_campaign_fail_import_running(struct request *req);

/* What sending needs, checked for start, resume, retry and test sends: the account's flag,
 * its credentials, an APPROVED template that Pregón can send, and a complete mapping. On
 * success fills *slots (free with cloudapi_slots_free) and *components (malloc'd) if given. */
int api_campaign_sendable(struct request *req, const struct campaign_row *c, struct refusal *f,
                          struct cloudapi_slots *slots, char **components);

/* Whether s has only letters, digits and characters of extra (template names, languages). */
int api_campaign_valid_chars(const char *s, const char *extra);

/* Checks the mapping against the template when it is in the cache (approved: it must be
 * there and APPROVED, as a variant's). Fields are named prefix + "template_name" / "params".
 * Returns 0 (and the body params for older senders in *body, owned), or answers 422 and
 * returns -1. */
int api_campaign_check_mapping(struct request *req, long long account_id, const char *tname,
                               const char *tlang, json_object *map, json_object **body,
                               const char *prefix, int approved);

/* The A/B variants of a create or edit body (api-campaign-variants.c): *given 1 when the body
 * has "variants" (null or [] removes them); then s holds them, checked against the account's
 * templates and the split rule (lib/abvariant.h). Returns 0, or answers 4xx and returns -1. */
struct abvar_set;
int api_campaign_variants_read(struct request *req, json_object *in, long long account_id,
                               struct abvar_set *s, int *given);

/* Each A/B variant's template still APPROVED (start, resume, retry): 0, or -1 with f filled. */
int api_campaign_variants_sendable(struct request *req, const struct campaign_row *c,
                                   struct refusal *f);

/* The preflight's A/B split (api-campaign-variants.c): "ab_split" added to o with the expected
 * count of each variant and the holdout among pending; *will_send loses the holdout's. */
struct db;
void api_campaign_variants_preflight(struct db *db, long long campaign_id, long long pending,
                                     json_object *o, long long *will_send);

#endif
