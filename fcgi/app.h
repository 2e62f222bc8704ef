/* The FastCGI application: per-process state, the route table and every handler. */
#ifndef PREGON_FCGI_APP_H
#define PREGON_FCGI_APP_H

#include "config.h"
#include "http.h"
#include "secret.h"

struct db;

struct app {
    struct config cfg;
    struct db *db;
    struct secret_key key;
    int have_key;
};

typedef void (*handler_fn)(struct request *req);

struct route {
    const char *method;
    const char *pattern;
    enum role min_role;
    handler_fn handler;
};

extern const struct route app_routes[];
extern const size_t app_nroutes;

/* Routes one request: matching, the access check, the handler. */
void app_dispatch(struct request *req);
/* The one access check every request passes. Returns 1 when the request may go on; otherwise
 * it has answered 401/403 and returns 0. */
int access_check(struct request *req, const struct route *route);

/* Whether campaign {id} of the path exists; answers 404 (or the database error) when not
 * (api-campaigns.c). */
int api_campaign_exists(struct request *req);

/* Answers 503 when the database is unreachable; returns 0 when it is up. */
int app_need_db(struct request *req);

/* A cached template, as campaigns need it (api-templates.c). */
struct tmpl_info {
    long long id;
    char *components; /* JSON text, malloc'd */
    char status[33];
    char category[33];
    int missing;
    int named;
};

/* api-health.c */
void api_health(struct request *req);
/* api-metrics.c */
void api_metrics(struct request *req);
/* api-campaigns.c */
void api_campaigns_create(struct request *req);
void api_campaigns_list(struct request *req);
void api_campaigns_get(struct request *req);
void api_campaigns_update(struct request *req);
void api_campaigns_delete(struct request *req);
/* api-campaign-lifecycle.c */
void api_campaigns_start(struct request *req);
void api_campaigns_pause(struct request *req);
void api_campaigns_resume(struct request *req);
void api_campaigns_cancel(struct request *req);
void api_campaigns_retry(struct request *req);
void api_campaigns_clone(struct request *req);
/* api-campaign-preflight.c */
void api_campaigns_preflight(struct request *req);
void api_campaigns_preview(struct request *req);
void api_campaigns_test(struct request *req);
/* api-recipients.c */
void api_recipients_upload(struct request *req);
void api_recipients_from_contacts(struct request *req);
void api_recipients_from_list(struct request *req);
void api_recipients_from_segment(struct request *req);
void api_segments_list(struct request *req);
void api_segments_create(struct request *req);
void api_segments_count(struct request *req);
void api_segments_get(struct request *req);
void api_segments_update(struct request *req);
void api_segments_delete(struct request *req);
void api_recipients_list(struct request *req);
void api_recipients_clear(struct request *req);
void api_recipients_imports(struct request *req);
/* api-imports.c: chunked CSV uploads feeding api_recipients_upload (campaign audience) or
 * api_contacts_import (contacts book); one session implementation for both */
void api_imports_create(struct request *req);
void api_imports_chunk(struct request *req);
void api_imports_finish(struct request *req);
void api_contacts_uploads_create(struct request *req);
void api_contacts_uploads_chunk(struct request *req);
void api_contacts_uploads_finish(struct request *req);
/* api-accounts.c */
void api_accounts_list(struct request *req);
void api_accounts_get(struct request *req);
void api_accounts_create(struct request *req);
void api_accounts_update(struct request *req);
void api_accounts_delete(struct request *req);
/* api-templates.c */
void api_templates_sync(struct request *req);
void api_templates_list(struct request *req);
void api_templates_get(struct request *req);
void api_templates_preview(struct request *req);
/* Answers 400 invalid_field for an error of parammap_normalize (err, field), in the request's
 * language (lib/msgcat "param.*"). */
void app_parammap_error(struct request *req, const char *err, const char *field);
/* Finds the cached template; 0 found (free with templates_info_free), 1 absent, -1 db error. */
int templates_lookup(struct db *db, long long account_id, const char *name, const char *lang,
                     struct tmpl_info *t);
void templates_info_free(struct tmpl_info *t);
/* {"header_format", "header", "body", "footer", "buttons", "text"} of a rendered template, or
 * NULL with err set. Caller owns the result. */
json_object *templates_preview_json(const char *components, const char *const *values,
                                    size_t nvalues, char *err, size_t errlen);
/* Renders components with mapping and vars and answers 200 {..., "values", "preview"} (extra,
 * taken, may be NULL, holds more members) or 422 naming the slot without a value. */
void templates_answer_preview(struct request *req, const char *components, json_object *map,
                              json_object *vars, json_object *extra);
/* api-contacts.c */
void api_contacts_list(struct request *req);
void api_contacts_get(struct request *req);
void api_contacts_create(struct request *req);
void api_contacts_update(struct request *req);
void api_contacts_delete(struct request *req);
void api_contacts_import(struct request *req);
struct contacts_import;
struct contacts_import_opts;
/* An import with opts in a transaction, for the CSV upload and the CRMs' bulk upsert
 * (api-contacts.c). NULL: out of memory, answered. A transaction that could not begin marks
 * it failed: the caller feeds nothing and ends it. The caller frees it (contacts_import_free). */
struct contacts_import *api_contacts_import_begin(struct request *req, struct db *db,
                                                  const struct contacts_import_opts *opts);
/* Audits the import (as action) and commits it, else rolls it back, and answers: its report
 * (rejected reasons in the reader's language) or its failure. */
void api_contacts_import_end(struct request *req, struct db *db, struct contacts_import *u,
                             const char *action);
void api_tags_list(struct request *req);
/* Answers status with contact id as GET /api/contacts/{id} shows it (404 when absent). */
void api_contact_answer(struct request *req, long long id, int status);
/* api-contacts-crm.c: upserts for CRMs (lib/contacts_import's one rule) */
void api_contacts_by_lead(struct request *req);
void api_contacts_bulk(struct request *req);
/* api-hooks.c: outbound events */
void api_hooks_list(struct request *req);
void api_hooks_create(struct request *req);
void api_hooks_get(struct request *req);
void api_hooks_update(struct request *req);
void api_hooks_delete(struct request *req);
void api_hooks_deliveries(struct request *req);
/* api-optouts.c */
/* The country numbers without a country code are read in: the first account's, else AR. */
void app_default_country(struct db *db, char out[3]);
void api_optouts_list(struct request *req);
void api_optouts_create(struct request *req);
void api_optouts_delete(struct request *req);
/* api-optout-keywords.c */
void api_optout_keywords_list(struct request *req);
void api_optout_keywords_create(struct request *req);
void api_optout_keywords_delete(struct request *req);
/* api-stats.c */
void api_campaigns_log(struct request *req);
void api_campaigns_log_csv(struct request *req);
void api_campaigns_failed_csv(struct request *req);
void api_campaigns_stats(struct request *req);
void api_campaigns_audit(struct request *req);
void api_audit_list(struct request *req);
/* api-session.c (accounts and sessions: docs/security.md) */
void api_session_login(struct request *req);
void api_session_logout(struct request *req);
void api_me(struct request *req);
void api_me_password(struct request *req);
/* api-users.c */
void api_users_list(struct request *req);
void api_users_create(struct request *req);
void api_users_get(struct request *req);
void api_users_update(struct request *req);
void api_users_password(struct request *req);
/* api-audit.c: api_audit_list (declared above) */
/* api-keys.c (API keys: lib/apikey.h) */
void api_keys_create(struct request *req);
void api_keys_list(struct request *req);
void api_keys_delete(struct request *req);
/* api-replies.c (lib/replies.h) */
void api_replies_list(struct request *req);
void api_replies_csv(struct request *req);
void api_replies_get(struct request *req);
void api_replies_update(struct request *req);
void api_replies_answer(struct request *req);
/* api-costs.c (cost: lib/costs.h) */
void api_rate_card_list(struct request *req);
void api_rate_card_create(struct request *req);
void api_rate_card_delete(struct request *req);
void api_campaigns_costs(struct request *req);
void api_campaigns_costs_csv(struct request *req);
/* api-campaign-variants.c: the A/B figures of each variant and the holdout */
void api_campaign_variants(struct request *req);
/* api-stats.c: the holdout's people as CSV */
void api_campaigns_holdout_csv(struct request *req);
/* webhook.c */
void webhook_verify(struct request *req);
void webhook_receive(struct request *req);
/* The process's applier thread (own connection): started with the process, stopped (joined)
 * before it exits. Returns -1 when it cannot start. */
int webhook_applier_start(struct app *app);
void webhook_applier_stop(void);

/* A DATETIME column as the API's timestamp text; every session runs in UTC (lib/db.c). */
#define TS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

#endif
