/* /api/campaigns: create, list, show, edit and delete drafts. The actions on a campaign are in
 * api-campaign-lifecycle.c (start, pause, resume, cancel, retry, duplicate) and
 * api-campaign-preflight.c (preflight, preview, test send). Every change writes the audit log in
 * the same transaction. */

#include <stdlib.h>
#include <string.h>

#include "api-campaign.h"
#include "app.h"
#include "msgcat.h"
#include "audit.h"
#include "campaign_view.h"
#include "abvariant.h"
#include "db.h"
#include "log.h"
#include "parammap.h"
#include "recipients_import.h"

void api_campaign_answer(struct request *req, long long id, int status)
{
    json_object *o;
    if (campaign_view_one(req->app->db, id, req->lang, &o) != DB_OK) {
        http_db_error(req, "read the campaign");
        return;
    }
    if (!o)
        http_error(req, 404, "not_found", "no such campaign", NULL);
    else
        http_json(req, status, o);
}

int api_campaign_valid_chars(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') ||
              strchr(extra, *s)))
            return 0;
    return 1;
}

/* ---- create and edit ---------------------------------------------------------------------- */

/* Settings read from a create or edit body; only members present are set. */
struct settings {
    const char *name, *tname, *tlang;
    long long account_id;
    int has_account;
    json_object *map; /* owned */
    long long batch, interval, cap;
    int has_batch, has_interval, has_cap, cap_null;
    const char *freq_action; /* "wait" or "skip"; NULL: not given */
    long long wstart, wend;
    int has_window, window_null;
};

static int read_settings(struct request *req, json_object *in, struct settings *s)
{
    json_object *v;
    static const char *const known[] = {
        "name",        "template_name",   "template_language", "phone_number_id", "account_id",
        "params",      "body_params",     "batch_size",        "interval_ms",     "daily_cap",
        "send_window", "freq_cap_action", "variants",          "holdout_pct",     NULL};
    if (http_json_only(req, in, known, "a setting of a campaign") < 0)
        return -1;
    if (json_object_object_get_ex(in, "name", &v)) {
        s->name = json_str(in, "name");
        if (!s->name || !*s->name || strlen(s->name) > 200) {
            http_fail_range(req, 400, "invalid_field", "name", "campaign.name_length",
                            "name is required (1 to 200 characters)", 1, 200);
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "template_name", &v)) {
        s->tname = json_str(in, "template_name");
        if (!s->tname || !*s->tname || strlen(s->tname) > 512 ||
            !api_campaign_valid_chars(s->tname, "_")) {
            http_fail(req, 400, "invalid_field", "template_name", "campaign.template_name", NULL,
                      "template_name is required: letters, digits and underscores");
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "template_language", &v)) {
        s->tlang = json_str(in, "template_language");
        if (!s->tlang || strlen(s->tlang) < 2 || strlen(s->tlang) > 16 ||
            !api_campaign_valid_chars(s->tlang, "_")) {
            http_fail(req, 400, "invalid_field", "template_language", "campaign.template_language",
                      NULL, "template_language is required, e.g. es_AR");
            return -1;
        }
    }
    if (json_int_member(req, in, "batch_size", 1, 1000, &s->batch, &s->has_batch) < 0 ||
        json_int_member(req, in, "interval_ms", 0, 3600000, &s->interval, &s->has_interval) < 0)
        return -1;
    if (json_object_object_get_ex(in, "daily_cap", &v)) {
        s->has_cap = 1;
        if (json_object_is_type(v, json_type_null))
            s->cap_null = 1;
        else if (json_int_member(req, in, "daily_cap", 1, 100000000, &s->cap, NULL) < 0)
            return -1;
    }
    if (json_object_object_get_ex(in, "freq_cap_action", &v)) {
        /* over the account's frequency cap: wait until the person fits, or skip them */
        s->freq_action = json_str(in, "freq_cap_action");
        if (!s->freq_action ||
            (strcmp(s->freq_action, "wait") != 0 && strcmp(s->freq_action, "skip") != 0)) {
            http_fail(req, 400, "invalid_field", "freq_cap_action", "campaign.freq_cap_action",
                      NULL, "freq_cap_action is \"wait\" or \"skip\"");
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "send_window", &v)) {
        s->has_window = 1;
        if (json_object_is_type(v, json_type_null)) {
            s->window_null = 1;
        } else {
            int ps = 0, pe = 0;
            if (!json_object_is_type(v, json_type_object) ||
                json_int_member(req, v, "start", 0, 23, &s->wstart, &ps) < 0 ||
                json_int_member(req, v, "end", 0, 23, &s->wend, &pe) < 0)
                return req->status ? -1
                                   : (http_fail(req, 400, "invalid_field", "send_window",
                                                "campaign.send_window", NULL,
                                                "send_window is {\"start\": h, \"end\": h}, hours "
                                                "0-23 in the account's timezone, or null"),
                                      -1);
            if (!ps || !pe || s->wstart == s->wend) {
                http_fail(req, 400, "invalid_field", "send_window", "campaign.send_window_hours",
                          NULL, "send_window needs different start and end hours (0-23)");
                return -1;
            }
        }
    }
    char err[256], field[96];
    json_object *pm = NULL, *bp = NULL;
    json_object_object_get_ex(in, "params", &pm);
    json_object_object_get_ex(in, "body_params", &bp);
    if (pm && bp) {
        http_fail(req, 400, "invalid_field", "params", "campaign.params_both", NULL,
                  "give params or body_params, not both");
        return -1;
    }
    if (pm) {
        s->map = parammap_normalize(pm, err, sizeof err, field, sizeof field);
        if (!s->map) {
            app_parammap_error(req, err, field);
            return -1;
        }
    } else if (bp) {
        if (!json_object_is_type(bp, json_type_array)) {
            http_fail(req, 400, "invalid_field", "body_params", "campaign.body_params", NULL,
                      "body_params must be an array");
            return -1;
        }
        s->map = parammap_from_body_params(bp, err, sizeof err, field, sizeof field);
        if (!s->map) {
            app_parammap_error(req, err, field);
            return -1;
        }
    }
    const char *phone_id = json_str(in, "phone_number_id");
    if (json_object_object_get_ex(in, "account_id", &v)) {
        if (json_int_member(req, in, "account_id", 1, 1LL << 62, &s->account_id, NULL) < 0)
            return -1;
        s->has_account = 1;
    } else if (phone_id) {
        size_t n;
        if (campaign_store_account_by_phone(req->app->db, phone_id, &s->account_id, &n) != DB_OK) {
            http_db_error(req, "read the accounts");
            return -1;
        }
        if (n != 1) {
            http_error(req, 422, "unknown_account", "no WhatsApp account has that phone_number_id",
                       "phone_number_id");
            return -1;
        }
        s->has_account = 1;
    } else if (json_object_object_get_ex(in, "phone_number_id", &v)) {
        http_error(req, 400, "invalid_field", "phone_number_id is a string", "phone_number_id");
        return -1;
    }
    return 0;
}

int api_campaign_check_mapping(struct request *req, long long account_id, const char *tname,
                               const char *tlang, json_object *map, json_object **body,
                               const char *prefix, int approved)
{
    struct tmpl_info t;
    char ftmpl[64], fparams[64];
    snprintf(ftmpl, sizeof ftmpl, "%stemplate_name", prefix);
    snprintf(fparams, sizeof fparams, "%sparams", prefix);
    int rc = templates_lookup(req->app->db, account_id, tname, tlang, &t);
    if (rc < 0) {
        http_db_error(req, "read the template");
        return -1;
    }
    if (rc == 1 && !approved) {
        *body = parammap_body_params(map, NULL);
        return 0;
    }
    if (rc == 1 || (approved && strcmp(t.status, "APPROVED") != 0)) {
        if (rc == 0)
            templates_info_free(&t);
        http_fail_str(req, 422, "unknown_template", ftmpl, "campaign.variant_template",
                      "a variant's template must be synced and APPROVED for the campaign's "
                      "account",
                      "template", tname);
        return -1;
    }
    struct cloudapi_slots s;
    char err[256];
    if (cloudapi_template_slots(t.components, &s, err, sizeof err) != 0) {
        templates_info_free(&t);
        http_errorf(req, 422, "template_unsupported", ftmpl,
                    "the template cannot be sent by Pregón: %s", err);
        return -1;
    }
    templates_info_free(&t);
    if (parammap_check(map, &s, err, sizeof err) != 0) {
        cloudapi_slots_free(&s);
        http_error(req, 422, "params_mismatch", err, fparams);
        return -1;
    }
    *body = parammap_body_params(map, &s);
    cloudapi_slots_free(&s);
    return 0;
}

/* The row campaign_store writes for a new or edited campaign: the account, template and
 * mapping as decided by the caller, the rest as read from the body. */
static struct campaign_settings_row settings_row(const struct settings *s, long long account_id,
                                                 const char *tname, const char *tlang,
                                                 json_object *map, json_object *body)
{
    return (struct campaign_settings_row){.account_id = account_id,
                                          .name = s->name,
                                          .tname = tname,
                                          .tlang = tlang,
                                          .param_map = api_campaign_json_text(map),
                                          .body_params = api_campaign_json_text(body),
                                          .has_batch = s->has_batch,
                                          .has_interval = s->has_interval,
                                          .has_cap = s->has_cap,
                                          .cap_null = s->cap_null,
                                          .has_window = s->has_window,
                                          .window_null = s->window_null,
                                          .freq_action = s->freq_action,
                                          .batch = s->batch,
                                          .interval = s->interval,
                                          .cap = s->cap,
                                          .wstart = s->wstart,
                                          .wend = s->wend};
}

void api_campaigns_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, API_CAMPAIGN_JSON_LIMIT);
    if (!in)
        return;
    struct settings s = {0};
    json_object *body = NULL;
    struct db *db = req->app->db;
    struct abvar_set ab = {0};
    int ab_given = 0;
    if (read_settings(req, in, &s) < 0)
        goto out;
    if (!s.name) {
        http_fail_range(req, 400, "invalid_field", "name", "campaign.name_length",
                        "name is required (1 to 200 characters)", 1, 200);
        goto out;
    }
    if (!s.tname) {
        http_fail(req, 400, "invalid_field", "template_name", "campaign.template_name", NULL,
                  "template_name is required: letters, digits and underscores");
        goto out;
    }
    if (!s.tlang) {
        http_fail(req, 400, "invalid_field", "template_language", "campaign.template_language",
                  NULL, "template_language is required, e.g. es_AR");
        goto out;
    }
    if (!s.has_account) {
        size_t n;
        if (campaign_store_only_account(db, &s.account_id, &n) != DB_OK) {
            http_db_error(req, "read the accounts");
            goto out;
        }
        if (n != 1) {
            http_fail(req, 422, "account_required", "phone_number_id",
                      n ? "campaign.account_several" : "campaign.account_none", NULL,
                      n ? "several accounts exist: give account_id or phone_number_id"
                        : "no WhatsApp account is configured");
            goto out;
        }
    } else {
        int n;
        if (campaign_store_account_exists(db, s.account_id, &n) != DB_OK) {
            http_db_error(req, "read the accounts");
            goto out;
        }
        if (!n) {
            http_error(req, 422, "unknown_account", "no such WhatsApp account", "account_id");
            goto out;
        }
    }
    if (!s.map)
        s.map = json_object_new_object();
    if (api_campaign_check_mapping(req, s.account_id, s.tname, s.tlang, s.map, &body, "", 0) < 0 ||
        api_campaign_variants_read(req, in, s.account_id, &ab, &ab_given) < 0)
        goto out;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    struct campaign_settings_row row =
        settings_row(&s, s.account_id, s.tname, s.tlang, s.map, body);
    row.has_holdout = ab_given;
    row.holdout = ab.holdout;
    long long nid = 0;
    int rc = campaign_store_create(db, &row, req->user, &nid);
    if (rc == DB_OK && ab_given)
        rc = abvar_store(db, nid, &ab);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(s.name));
    json_object_object_add(d, "template", json_object_new_string(s.tname));
    if (rc != DB_OK || audit_write(req, "campaign.create", "campaign", nid, nid, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the campaign");
        goto out;
    }
    log_info("campaign %lld created by %s", nid, req->user);
    api_campaign_answer(req, nid, 201);
out:
    abvar_set_free(&ab);
    json_object_put(body);
    json_object_put(s.map);
    json_object_put(in);
}

/* Whether campaign {id} of the path exists; answers 404 (or the database error) when not. */
int api_campaign_exists(struct request *req)
{
    int n;
    if (campaign_store_exists(req->app->db, req->ids[0], &n) != DB_OK) {
        http_db_error(req, "read the campaign");
        return 0;
    }
    if (!n)
        http_error(req, 404, "not_found", "no such campaign", NULL);
    return n != 0;
}

void api_campaigns_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *o;
    if (campaign_view_one(req->app->db, req->ids[0], req->lang, &o) != DB_OK) {
        http_db_error(req, "read the campaign");
        return;
    }
    if (!o) {
        http_error(req, 404, "not_found", "no such campaign", NULL);
        return;
    }
    /* What "retry failed" would send again now (cloudapi_retryable): the panel offers the
     * action only when there is something. */
    struct campaign_failed_code *fc;
    size_t nfc;
    if (campaign_store_failed_codes(req->app->db, req->ids[0], &fc, &nfc) != DB_OK) {
        json_object_put(o);
        http_db_error(req, "read the failed recipients");
        return;
    }
    long long can = 0, cannot = 0;
    for (size_t i = 0; i < nfc; i++)
        *(cloudapi_retryable(fc[i].code) ? &can : &cannot) += fc[i].n;
    free(fc);
    json_object *rt = json_object_new_object();
    json_object_object_add(rt, "failed", json_object_new_int64(can));
    json_object_object_add(rt, "not_retryable", json_object_new_int64(cannot));
    json_object_object_add(o, "retryable", rt);
    http_json(req, 200, o);
}

void api_campaigns_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *status = http_query_param(req->query, "status");
    char *q = http_query_param(req->query, "q");
    char *tname = http_query_param(req->query, "template");
    char *by = http_query_param(req->query, "created_by");
    long long limit, before_id, account_id;
    if (http_query_ll(req, "limit", 50, 1, 200, &limit) < 0 ||
        http_query_ll(req, "before", 0, 0, (1LL << 62), &before_id) < 0 ||
        http_query_ll(req, "account_id", 0, 0, (1LL << 62), &account_id) < 0)
        goto out;
    static const char *states[] = {"draft",     "scheduled", "running", "paused",
                                   "completed", "cancelled", "failed"};
    if (status) {
        int ok = 0;
        for (size_t k = 0; k < 7; k++)
            ok |= strcmp(status, states[k]) == 0;
        if (!ok) {
            http_error(req, 400, "invalid_parameter",
                       "status is one of draft, scheduled, running, paused, completed, "
                       "cancelled, failed",
                       "status");
            goto out;
        }
    }
    if (before_id <= 0)
        before_id = (long long)1 << 62;
    char like[260] = "";
    if (q)
        http_like_contains(q, like, sizeof like);
    struct campaign_list_filter lf = {.before_id = before_id,
                                      .account_id = account_id,
                                      .limit = limit,
                                      .status = status,
                                      .name_like = q ? like : NULL,
                                      .template_name = tname,
                                      .created_by = by};
    json_object *arr;
    size_t n;
    long long last_id;
    if (campaign_view_list(req->app->db, &lf, req->lang, &arr, &n, &last_id) != DB_OK) {
        http_db_error(req, "list the campaigns");
        goto out;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "campaigns", arr);
    json_object_object_add(o, "next_before",
                           n == (size_t)limit ? json_object_new_int64(last_id) : NULL);
    http_json(req, 200, o);
out:
    free(status);
    free(q);
    free(tname);
    free(by);
}

static int do_update(struct request *req, json_object *in, struct campaign_row *c,
                     struct refusal *f, json_object *extra)
{
    (void)extra;
    static const char *const ok[] = {"draft", "paused"};
    if (api_campaign_not_in(c, f, "edit",
                            "be edited (drafts can; paused ones their pace and window)", ok, 2))
        return -1;
    int paused = strcmp(c->status, "paused") == 0;
    if (paused) {
        /* A paused campaign may change how fast and when it sends, nothing else: its
         * recipients were read for this account, template and mapping. */
        static const char *const pace[] = {"batch_size",  "interval_ms",     "daily_cap",
                                           "send_window", "freq_cap_action", NULL};
        json_object_object_foreach(in, key, val)
        {
            (void)val;
            int fine = 0;
            for (size_t i = 0; pace[i]; i++)
                fine |= strcmp(key, pace[i]) == 0;
            if (!fine) {
                api_campaign_refuse(f, 409, "invalid_state", key,
                                    "a paused campaign can change only batch_size, "
                                    "interval_ms, daily_cap, send_window and "
                                    "freq_cap_action, not %s",
                                    key);
                api_campaign_refuse_key(f, "campaign.refused.", "edit_paused");
                return -1;
            }
        }
    }
    struct settings s = {0};
    if (read_settings(req, in, &s) < 0) {
        json_object_put(s.map);
        return api_campaign_refuse(f, req->status, "answered", NULL, "answered");
    }
    if (s.has_account && s.account_id != c->account_id && c->total > 0) {
        json_object_put(s.map);
        return api_campaign_refuse(
            f, 409, "has_recipients", "account_id",
            "the account of a campaign with recipients cannot change (numbers were "
            "read with its default country)");
    }
    if (s.has_account) {
        int n;
        if (campaign_store_account_exists(req->app->db, s.account_id, &n) != DB_OK) {
            json_object_put(s.map);
            return -1;
        }
        if (!n) {
            json_object_put(s.map);
            return api_campaign_refuse(f, 422, "unknown_account", "account_id",
                                       "no such WhatsApp account");
        }
    }
    long long acc = s.has_account ? s.account_id : c->account_id;
    const char *tname = s.tname ? s.tname : c->tname, *tlang = s.tlang ? s.tlang : c->tlang;
    json_object *map = s.map ? s.map : json_object_get(c->map), *body = NULL;
    if (api_campaign_check_mapping(req, acc, tname, tlang, map, &body, "", 0) < 0) {
        json_object_put(map);
        return api_campaign_refuse(f, req->status, "answered", NULL, "answered");
    }
    struct abvar_set ab;
    int ab_given = 0;
    if (api_campaign_variants_read(req, in, acc, &ab, &ab_given) < 0) {
        json_object_put(body);
        json_object_put(map);
        return api_campaign_refuse(f, req->status, "answered", NULL, "answered");
    }
    struct campaign_settings_row row = settings_row(&s, acc, tname, tlang, map, body);
    row.has_holdout = ab_given;
    row.holdout = ab.holdout;
    int rc = campaign_store_update_settings(req->app->db, c->id, &row);
    if (rc == DB_OK && ab_given)
        rc = abvar_store(req->app->db, c->id, &ab);
    abvar_set_free(&ab);
    json_object_put(body);
    json_object_put(map);
    if (rc != DB_OK)
        return -1;
    json_object *d = json_object_new_object(), *fields = json_object_new_array();
    json_object_object_foreach(in, k, v)
    {
        (void)v;
        json_object_array_add(fields, json_object_new_string(k));
    }
    json_object_object_add(d, "fields", fields);
    if (paused) { /* what the pace became while paused, for the audit trail */
        json_object_object_add(d, "status", json_object_new_string("paused"));
        json_object_object_add(d, "values", json_object_get(in));
    }
    return audit_write(req, "campaign.update", "campaign", c->id, c->id, d) == DB_OK ? 0 : -1;
}

void api_campaigns_update(struct request *req)
{
    api_campaign_run_action(req, do_update, 1);
}

void api_campaigns_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct campaign_row c;
    int settled = recipients_import_settle(db, req->ids[0]); /* one that stopped midway */
    if (settled == RECIPIENTS_IMPORTING) {
        api_campaign_fail_import_running(req);
        return;
    }
    if (settled < 0 || db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        return;
    }
    int lr = campaign_store_load(db, req->ids[0], 1, &c);
    if (lr != 0) {
        db_rollback(db);
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        return;
    }
    if (c.importing) {
        db_rollback(db);
        campaign_row_free(&c);
        api_campaign_fail_import_running(req);
        return;
    }
    if (strcmp(c.status, "draft") != 0) {
        db_rollback(db);
        char detail[160];
        snprintf(detail, sizeof detail,
                 "a %s campaign cannot be deleted (only drafts can; cancel it instead)", c.status);
        json_object *p = json_object_new_object();
        json_object_object_add(p, "status", json_object_new_string(c.status));
        json_object_object_add(p, "state", msgcat_ref("campaign.state.", c.status));
        http_fail(req, 409, "invalid_state", NULL, "campaign.refused.delete", p, detail);
        campaign_row_free(&c);
        return;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(c.name));
    json_object_object_add(d, "recipients", json_object_new_int64(c.total));
    campaign_row_free(&c);
    if (campaign_store_delete(db, req->ids[0]) != DB_OK ||
        audit_write(req, "campaign.delete", "campaign", req->ids[0], req->ids[0], d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the campaign");
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}
