/* /api/campaigns/{id}/preflight, preview and test: what a campaign would send, to whom and
 * with which risks, before it starts. Nothing here changes a campaign. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account_health.h"
#include "accounts.h"
#include "api-campaign.h"
#include "app.h"
#include "audit.h"
#include "campaign_stats.h"
#include "campaign_view.h"
#include "costs.h"
#include "e164.h"
#include "graph.h"
#include "msgcat.h"
#include "parammap.h"
#include "person.h"
#include "queue.h"
#include "sendverdict.h"

static void preflight_push(json_object *arr, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void preflight_push(json_object *arr, const char *code, const char *fmt, ...)
{
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    json_object *x = json_object_new_object();
    json_object_object_add(x, "code", json_object_new_string(code));
    json_object_object_add(x, "message", json_object_new_string(m));
    json_object_array_add(arr, x);
}

/* Recipients after dedupe (one row per number), opt-outs and the frequency cap (now);
 * *will_send, *opted, *fq (those over the cap wait, or are skipped and not sent). */
static void preflight_recipients(struct db *db, const struct campaign_row *c, json_object *o,
                                 long long *will_send, long long *opted,
                                 struct queue_freq_state *fq)
{
    *opted = 0;
    if (person_blocked_pending(db, c->id, opted) != DB_OK)
        *opted = 0;
    if (queue_freq_pending(db, c->id, fq) != DB_OK)
        memset(fq, 0, sizeof *fq);
    *will_send = c->pending - *opted - (fq->skip ? fq->over : 0);
    if (*will_send < 0)
        *will_send = 0;
    json_object *rc = json_object_new_object();
    json_object_object_add(rc, "total", json_object_new_int64(c->total));
    json_object_object_add(rc, "pending", json_object_new_int64(c->pending));
    json_object_object_add(rc, "opted_out_since_added", json_object_new_int64(*opted));
    json_object_object_add(rc, "over_freq_cap", json_object_new_int64(fq->over));
    json_object_object_add(rc, "will_send", json_object_new_int64(*will_send));
    json_object_object_add(o, "recipients", rc);
    json_object *f = json_object_new_object();
    json_object_object_add(f, "count", json_object_new_int64(fq->cap));
    json_object_object_add(f, "window_s", json_object_new_int64(fq->window_s));
    json_object_object_add(f, "action", json_object_new_string(fq->skip ? "skip" : "wait"));
    json_object_object_add(o, "freq_cap", f);
}

/* Rows rejected by every import, by reason. */
static void preflight_rejected(struct db *db, const struct campaign_row *c, json_object *o)
{
    json_object *by = NULL;
    long long rejected = 0, imports = 0;
    if (campaign_stats_rejected_rows(db, c->id, &imports, &rejected, &by) == DB_OK)
        json_object_object_add(o, "imports", json_object_new_int64(imports));
    json_object *rej = json_object_new_object();
    json_object_object_add(rej, "total", json_object_new_int64(rejected));
    json_object_object_add(rej, "by_reason", by ? by : json_object_new_object());
    json_object_object_add(o, "rejected_rows", rej);
}

/* Template and parameters; *marketing and *has_stop for the warnings. */
static void preflight_template(struct request *req, const struct campaign_row *c, json_object *o,
                               json_object *errors, int *marketing, int *has_stop)
{
    struct refusal f = {0};
    struct cloudapi_slots s = {0};
    char *components = NULL;
    json_object *tp = json_object_new_object();
    struct tmpl_info ti;
    int tl = templates_lookup(req->app->db, c->account_id, c->tname, c->tlang, &ti);
    json_object_object_add(tp, "name", json_object_new_string(c->tname));
    json_object_object_add(tp, "language", json_object_new_string(c->tlang));
    json_object_object_add(tp, "status", tl == 0 ? json_object_new_string(ti.status) : NULL);
    json_object_object_add(tp, "category", tl == 0 ? json_object_new_string(ti.category) : NULL);
    *marketing = tl == 0 && strcmp(ti.category, "MARKETING") == 0;
    *has_stop = tl == 0 && (strstr(ti.components, "STOP") || strstr(ti.components, "BAJA") ||
                            strstr(ti.components, "QUICK_REPLY"));
    if (tl == 0)
        templates_info_free(&ti);
    if (api_campaign_sendable(req, c, &f, &s, &components) != 0) {
        preflight_push(errors, f.code, "%s", f.msg);
        json_object_object_add(tp, "params_ok", json_object_new_boolean(0));
    } else {
        json_object_object_add(tp, "params_ok", json_object_new_boolean(1));
        json_object *slots = json_object_new_array();
        char label[96];
        for (size_t i = 0; i < s.n; i++) {
            json_object *x = json_object_new_object();
            parammap_slot_label(&s.v[i], label, sizeof label);
            json_object_object_add(x, "slot", json_object_new_string(label));
            json_object_object_add(x, "from", json_object_get(parammap_item(c->map, &s, i)));
            json_object_array_add(slots, x);
        }
        json_object_object_add(tp, "slots", slots);
        cloudapi_slots_free(&s);
        free(components);
    }
    json_object_object_add(o, "template", tp);
}

/* Budget: unique users reached in the last 24 h against the messaging tier, from the worker's
 * own source (contact_pace), never a scan of the send log; then the duration at the configured
 * rate, and in days when a cap or the tier limits the day. *remaining: -1 when unlimited. */
static void preflight_budget(struct db *db, const struct campaign_row *c, json_object *o,
                             long long will_send, long long *remaining)
{
    long long limit = account_tier_limit(c->tier), used = 0;
    account_tier_used(db, c->waba, limit, &used);
    json_object *b = json_object_new_object();
    json_object_object_add(b, "messaging_tier", json_object_new_string(c->tier));
    json_object_object_add(b, "limit", limit > 0 ? json_object_new_int64(limit) : NULL);
    json_object_object_add(b, "used_last_24h", json_object_new_int64(used));
    *remaining = limit > 0 ? (limit > used ? limit - used : 0) : -1;
    json_object_object_add(b, "remaining",
                           *remaining >= 0 ? json_object_new_int64(*remaining) : NULL);
    json_object_object_add(b, "campaign_daily_cap",
                           c->has_cap ? json_object_new_int64(c->cap) : NULL);
    json_object_object_add(o, "daily_budget", b);
    double rate = campaign_configured_rate(c->throughput, c->interval);
    long long per_day = -1;
    if (limit > 0)
        per_day = limit;
    if (c->has_cap && (per_day < 0 || c->cap < per_day))
        per_day = c->cap;
    json_object *est = json_object_new_object();
    json_object_object_add(est, "rate_per_second", json_object_new_double(rate));
    json_object_object_add(est, "seconds",
                           json_object_new_int64((long long)ceil((double)will_send / rate)));
    json_object_object_add(est, "days",
                           per_day > 0 ? json_object_new_int64((will_send + per_day - 1) / per_day)
                                       : json_object_new_int64(will_send > 0 ? 1 : 0));
    json_object_object_add(o, "estimate", est);
}

/* Warnings (seed: warn about the risk of being blocked). */
static void preflight_warnings(const struct campaign_row *c, json_object *warnings,
                               long long will_send, long long remaining, long long opted,
                               int marketing, int has_stop)
{
    preflight_push(warnings, "blocking_risk",
                   "Bulk messages that people do not expect get reported and blocked; too many "
                   "blocks lower the number's quality rating and Meta can restrict or disable "
                   "it. Send only to people who agreed to hear from you, with an easy way to opt "
                   "out.");
    if (remaining >= 0 && will_send > remaining)
        preflight_push(warnings, "over_daily_budget",
                       "%lld recipients but only %lld new users can be reached in the next 24 h "
                       "(%s): the rest waits for the next days",
                       will_send, remaining, c->tier);
    if (marketing)
        preflight_push(warnings, "marketing_template",
                       "marketing templates are charged per delivered message and are the most "
                       "reported");
    if (marketing && !has_stop)
        preflight_push(warnings, "no_opt_out",
                       "the template offers no way to opt out (no STOP text or quick reply)");
    if (strcmp(c->quality, "RED") == 0 || strcmp(c->quality, "YELLOW") == 0)
        preflight_push(warnings, "low_quality",
                       "the number's quality rating is %s: a large send now risks a restriction",
                       c->quality);
    if (will_send > 1000)
        preflight_push(warnings, "template_pacing",
                       "Meta may hold messages of a new or just-unpaused template (template "
                       "pacing) until the first ~1,000 show good quality");
    if (c->sandbox)
        preflight_push(warnings, "sandbox",
                       "this account is the sandbox: nothing reaches a real phone");
    if (opted > 0)
        preflight_push(warnings, "opted_out",
                       "%lld recipients opted out since they were added; they will not be sent "
                       "(the sender records them as blocked)",
                       opted);
}

/* The send window: closed now (the campaign will wait, and until when) or open. */
static void preflight_window(struct db *db, const struct campaign_row *c, json_object *warnings)
{
    json_object *v = NULL, *w;
    if (campaign_view_one(db, c->id, "en", &v) != DB_OK || !v)
        return;
    if (json_object_object_get_ex(v, "send_window", &w) && w) {
        json_object *js, *je, *jz;
        json_object_object_get_ex(w, "start", &js);
        json_object_object_get_ex(w, "end", &je);
        json_object_object_get_ex(w, "timezone", &jz);
        int ws = json_object_get_int(js), we = json_object_get_int(je);
        const char *zone = jz ? json_object_get_string(jz) : NULL;
        int wait = campaign_window_wait_min(zone, ws, we, time(NULL));
        json_object *x = json_object_new_object(), *p = json_object_new_object();
        char hhmm[8];
        snprintf(hhmm, sizeof hhmm, "%02d:00", ws);
        json_object_object_add(p, "start", json_object_new_int(ws));
        json_object_object_add(p, "end", json_object_new_int(we));
        json_object_object_add(p, "timezone", json_object_new_string(zone ? zone : "UTC"));
        json_object_object_add(p, "time", json_object_new_string(hhmm));
        json_object_object_add(p, "minutes", json_object_new_int(wait));
        json_object_object_add(x, "code",
                               json_object_new_string(wait > 0 ? "window_closed" : "window_open"));
        json_object_object_add(x, "message", json_object_new_string(""));
        json_object_object_add(x, "params", p);
        json_object_array_add(warnings, x);
    }
    json_object_put(v);
}

/* Every item's message in the request's language: "preflight.<code>", else the code's
 * generic text (lib/msgcat); the developer text kept as detail. */
static void preflight_localize(struct request *req, json_object *arr)
{
    http_localize_items(req, arr, "code", "preflight.");
    http_localize_items(req, arr, "code", "error.");
}

void api_campaigns_preflight(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct campaign_row c;
    int lr = campaign_store_load(db, req->ids[0], 0, &c);
    if (lr != 0) {
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        return;
    }
    json_object *o = json_object_new_object(), *errors = json_object_new_array(),
                *warnings = json_object_new_array();
    json_object_object_add(o, "campaign_id", json_object_new_int64(c.id));
    json_object_object_add(o, "status", json_object_new_string(c.status));
    long long will_send, opted, remaining;
    int marketing, has_stop;
    struct queue_freq_state fq;
    preflight_recipients(db, &c, o, &will_send, &opted, &fq);
    api_campaign_variants_preflight(db, c.id, c.pending, o, &will_send);
    preflight_rejected(db, &c, o);
    preflight_template(req, &c, o, errors, &marketing, &has_stop);
    costs_preflight_add(db, c.id, o); /* the template's category, priced (lib/costs.h) */
    if (c.total == 0)
        preflight_push(errors, "no_recipients", "the campaign has no recipients");
    if (!c.has_secret)
        preflight_push(warnings, "no_app_secret",
                       "the account has no app secret: status webhooks cannot be verified, so "
                       "delivery and read counts will not move");
    preflight_budget(db, &c, o, will_send, &remaining);
    preflight_warnings(&c, warnings, will_send, remaining, opted, marketing, has_stop);
    if (fq.over > 0)
        preflight_push(warnings, "frequency_cap",
                       "%lld recipients are over the account's frequency cap (%lld per %lld s) "
                       "now; they %s",
                       fq.over, fq.cap, fq.window_s,
                       fq.skip ? "will be skipped (blocked, reason frequency cap)"
                               : "will wait until they fit under it");
    preflight_window(db, &c, warnings);
    preflight_localize(req, errors);
    preflight_localize(req, warnings);
    json_object_object_add(o, "errors", errors);
    json_object_object_add(o, "warnings", warnings);
    json_object_object_add(o, "ok", json_object_new_boolean(json_object_array_length(errors) == 0));
    campaign_row_free(&c);
    audit_write(req, "campaign.preflight", "campaign", req->ids[0], req->ids[0], NULL);
    http_json(req, 200, o);
}

/* Loads the vars of the recipient with that phone (normalized with the account's country). */
static json_object *recipient_vars(struct request *req, const struct campaign_row *c,
                                   const char *phone, int *status)
{
    char e164[E164_MAX + 1];
    *status = 0;
    if (e164_normalize(phone, strlen(phone), c->country, e164) != E164_OK) {
        *status = 400;
        return NULL;
    }
    int found;
    char *vars;
    if (campaign_store_recipient_vars(req->app->db, c->id, e164, &found, &vars) != DB_OK) {
        *status = 500;
        return NULL;
    }
    if (!found) {
        *status = 404;
        return NULL;
    }
    json_object *v = vars ? json_tokener_parse(vars) : NULL;
    free(vars);
    return v ? v : json_object_new_object();
}

void api_campaigns_preview(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = req->content_length > 0 ? http_json_body(req, API_CAMPAIGN_JSON_LIMIT)
                                              : json_object_new_object();
    if (!in)
        return;
    struct campaign_row c;
    int lr = campaign_store_load(req->app->db, req->ids[0], 0, &c);
    if (lr != 0) {
        json_object_put(in);
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        return;
    }
    json_object *vars = NULL;
    const char *phone = json_str(in, "phone");
    if (phone) {
        int st;
        vars = recipient_vars(req, &c, phone, &st);
        if (!vars) {
            if (st == 400)
                http_fail(req, 400, "invalid_field", "phone", "test.phone_invalid", NULL,
                          "phone is not a valid number");
            else if (st == 404)
                http_fail(req, 404, "not_found", "phone", "preview.not_a_recipient", NULL,
                          "that number is not a recipient of this campaign");
            else
                http_db_error(req, "read the recipient");
            goto out;
        }
    } else {
        json_object *v;
        if (json_object_object_get_ex(in, "vars", &v)) {
            if (!json_object_is_type(v, json_type_object)) {
                http_fail(req, 400, "invalid_field", "vars", "test.vars_shape", NULL,
                          "vars is an object of column: value");
                goto out;
            }
            vars = json_object_get(v);
        }
    }
    struct tmpl_info t;
    int tl = templates_lookup(req->app->db, c.account_id, c.tname, c.tlang, &t);
    if (tl != 0) {
        if (tl == 1)
            http_errorf(req, 409, "template_unknown", "template_name",
                        "template %s (%s) is not in the cache: sync templates first", c.tname,
                        c.tlang);
        else
            http_db_error(req, "read the template");
        goto out;
    }
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "campaign_id", json_object_new_int64(c.id));
    json_object_object_add(extra, "template_status", json_object_new_string(t.status));
    templates_answer_preview(req, t.components, c.map, vars, extra);
    templates_info_free(&t);
out:
    json_object_put(vars);
    campaign_row_free(&c);
    json_object_put(in);
}

/* A test send to a number outside the audience without values: the first recipient's, whose
 * number goes into from (left empty when the campaign has no recipient yet). */
static int sample_vars(struct request *req, const struct campaign_row *c, json_object **vars,
                       char from[E164_MAX + 1])
{
    int found;
    char *text;
    if (campaign_store_first_recipient_vars(req->app->db, c->id, from, E164_MAX + 1, &found,
                                            &text) != DB_OK) {
        http_db_error(req, "read the recipients");
        return -1;
    }
    if (!found)
        from[0] = 0;
    *vars = text ? json_tokener_parse(text) : NULL;
    free(text);
    if (found && !*vars)
        *vars = json_object_new_object();
    return 0;
}

void api_campaigns_test(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, API_CAMPAIGN_JSON_LIMIT);
    if (!in)
        return;
    struct db *db = req->app->db;
    struct campaign_row c;
    struct cloudapi_slots s = {0};
    char *components = NULL, *body = NULL;
    const char **values = NULL;
    json_object *vars = NULL;
    char sample_from[E164_MAX + 1] = "";
    struct account_list accs = {0};
    int lr = campaign_store_load(db, req->ids[0], 0, &c);
    if (lr != 0) {
        json_object_put(in);
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        return;
    }
    const char *phone = json_str(in, "phone");
    char to[E164_MAX + 1];
    int st = E164_EMPTY;
    if (!phone || (st = e164_normalize(phone, strlen(phone), c.country, to)) != E164_OK) {
        http_fail_phone(req, "phone", st, phone);
        goto out;
    }
    json_object *v;
    if (json_object_object_get_ex(in, "vars", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            http_fail(req, 400, "invalid_field", "vars", "test.vars_shape", NULL,
                      "vars is an object of column: value");
            goto out;
        }
        vars = json_object_get(v);
    } else {
        int vs;
        vars = recipient_vars(req, &c, to, &vs); /* the recipient's own values when it is one */
        if (!vars && vs == 404 && sample_vars(req, &c, &vars, sample_from) < 0)
            goto out;
    }
    int opted;
    if (person_is_blocked(db, to, &opted) != DB_OK) {
        http_db_error(req, "read the opt-outs");
        goto out;
    }
    if (opted) {
        http_errorf(req, 409, "opted_out", "phone", "%s opted out: no message may be sent to it",
                    to);
        goto out;
    }
    struct refusal f = {0};
    if (api_campaign_sendable(req, &c, &f, &s, &components) != 0) {
        http_fail(req, f.status, f.code, f.field, f.key, f.params, f.msg);
        goto out;
    }
    char err[512];
    const char *col = NULL;
    values = calloc(s.n + 1, sizeof *values);
    if (!values || parammap_values_col(c.map, &s, vars, values, err, sizeof err, &col) != 0) {
        http_fail_str(req, 422, "missing_value", "vars", col ? "test.missing_column" : NULL,
                      values ? err : "out of memory", col ? "column" : NULL, col);
        goto out;
    }
    struct cloudapi_message m = {.to = to, .template_name = c.tname, .language = c.tlang};
    size_t blen = 0;
    body = cloudapi_slots_message_json(&m, &s, values, s.n, &blen, err, sizeof err);
    if (!body) {
        http_errorf(req, 422, "invalid_value", "vars", "the message cannot be built: %s", err);
        goto out;
    }
    if (accounts_load(db, req->app->have_key ? &req->app->key : NULL, &accs) != DB_OK) {
        http_db_error(req, "read the account");
        goto out;
    }
    const struct account *acc = accounts_find(&accs, c.account_id);
    if (!acc || !acc->access_token) {
        http_error(req, 409, "no_credentials",
                   "the account's access token cannot be decrypted with this server's key", NULL);
        goto out;
    }
    char *url = accounts_messages_url(acc, req->app->cfg.graph_base_url);
    if (!url) {
        http_error(req, 500, "internal", "out of memory", NULL);
        goto out;
    }
    struct graph_answer a;
    graph_call(url, acc->access_token, body, 15000, &a);
    free(url);
    struct cloudapi_result res;
    /* The worker's table (lib/sendverdict.h): without an answer, how far the request got. */
    enum sendverdict verdict =
        a.status ? sendverdict_decide(SENDVERDICT_ANSWERED, a.status, a.body, a.len, &res)
                 : sendverdict_decide((enum sendverdict_transport)a.transport, 0, a.err,
                                      strlen(a.err), &res);
    graph_answer_free(&a);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "to", json_object_new_string(to));
    json_object_object_add(o, "accepted", json_object_new_boolean(res.accepted));
    json_object_object_add(o, "verdict", json_object_new_string(sendverdict_name(verdict)));
    /* Said in the answer: a number outside the audience got the first recipient's values. */
    if (sample_from[0]) {
        json_object *vf = json_object_new_object();
        json_object_object_add(vf, "source", json_object_new_string("first_recipient"));
        json_object_object_add(vf, "phone", json_object_new_string(sample_from));
        json_object_object_add(o, "values_from", vf);
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "to", json_object_new_string(to));
    json_object_object_add(d, "accepted", json_object_new_boolean(res.accepted));
    if (sample_from[0])
        json_object_object_add(d, "values_from", json_object_new_string(sample_from));
    if (res.accepted) {
        json_object_object_add(o, "wamid", json_object_new_string(res.wamid));
        json_object_object_add(o, "held_for_quality_assessment", json_object_new_boolean(res.held));
        json_object_object_add(d, "wamid", json_object_new_string(res.wamid));
    } else {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "http_status", json_object_new_int64(res.http_status));
        json_object_object_add(e, "code", json_object_new_int(res.code));
        json_object_object_add(e, "message", json_object_new_string(res.message));
        json_object_object_add(e, "details", json_object_new_string(res.details));
        json_object_object_add(e, "explanation",
                               json_object_new_string(cloudapi_explain(res.code, req->lang)));
        json_object_object_add(e, "action",
                               json_object_new_string(cloudapi_action_name(res.action)));
        json_object_object_add(o, "error", e);
        json_object_object_add(d, "error_code", json_object_new_int(res.code));
    }
    audit_write(req, "campaign.test", "campaign", c.id, c.id, d);
    http_json(req, res.accepted ? 200 : 502, o);
out:
    accounts_free(&accs);
    free(body);
    free(values);
    free(components);
    cloudapi_slots_free(&s);
    json_object_put(vars);
    campaign_row_free(&c);
    json_object_put(in);
}
