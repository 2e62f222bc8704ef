/* /api/campaigns/{id}/start, pause, resume, cancel, retry and clone (duplicate): the operator's
 * events of the state machine (lib/campaign_state), each in one transaction with its audit row. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-campaign.h"
#include "apival.h"
#include "app.h"
#include "audit.h"
#include "db.h"
#include "log.h"

/* ---- clone: a new draft with the settings (and, if asked, the recipients) of another ---- */

void api_campaigns_clone(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = req->content_length > 0 ? http_json_body(req, API_CAMPAIGN_JSON_LIMIT)
                                              : json_object_new_object();
    if (!in)
        return;
    struct db *db = req->app->db;
    const char *name = json_str(in, "name");
    const char *mode = json_str(in, "recipients");
    json_object *v;
    if (json_object_object_get_ex(in, "name", &v) && (!name || !*name || strlen(name) > 200)) {
        http_fail_range(req, 400, "invalid_field", "name", "campaign.name_length",
                        "name has 1 to 200 characters", 1, 200);
        goto out;
    }
    if (!mode)
        mode = "none";
    int cmode = campaign_clone_mode_parse(mode);
    if (cmode < 0) {
        http_fail(req, 400, "invalid_field", "recipients", "campaign.clone_recipients", NULL,
                  "recipients is none, all, failed, not_delivered, not_read, "
                  "read_not_replied, replied or clicked_button");
        goto out;
    }
    struct campaign_row c;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    int lr = campaign_store_load(db, req->ids[0], 0, &c);
    if (lr != 0) {
        db_rollback(db);
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        goto out;
    }
    char cname[256];
    if (name)
        snprintf(cname, sizeof cname, "%s", name);
    else if (campaign_store_copy_name(db, c.name, cname, sizeof cname) != DB_OK) {
        campaign_row_free(&c);
        db_rollback(db);
        http_db_error(req, "name the copy");
        goto out;
    }
    campaign_row_free(&c);
    long long nid = 0, copied = 0;
    if (campaign_store_clone(db, req->ids[0], cname, req->user, &nid) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "clone the campaign");
        goto out;
    }
    if (cmode != CLONE_NONE) {
        json_object *def = json_object_new_object();
        json_object_object_add(def, "from_campaign", json_object_new_int64(req->ids[0]));
        json_object_object_add(def, "recipients", json_object_new_string(mode));
        int rc = campaign_store_clone_recipients(db, nid, req->ids[0], cmode,
                                                 api_campaign_json_text(def), req->user, &copied);
        json_object_put(def);
        if (rc != DB_OK) {
            db_rollback(db);
            http_db_error(req, "copy the recipients");
            goto out;
        }
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "from", json_object_new_int64(req->ids[0]));
    json_object_object_add(d, "recipients", json_object_new_string(mode));
    json_object_object_add(d, "copied", json_object_new_int64(copied));
    if (audit_write(req, "campaign.clone", "campaign", nid, nid, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "clone the campaign");
        goto out;
    }
    api_campaign_answer(req, nid, 201);
out:
    json_object_put(in);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static int acknowledged(json_object *in, struct refusal *f)
{
    json_object *v;
    if (json_object_object_get_ex(in, "acknowledge_risk", &v) &&
        json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v))
        return 0;
    api_campaign_refuse(f, 400, "risk_not_acknowledged", "acknowledge_risk",
                        "sending to many people can get the WhatsApp number restricted or "
                        "blocked by Meta; read the preflight warnings and send "
                        "\"acknowledge_risk\": true");
    api_campaign_refuse_key(f, "campaign.", "risk_not_acknowledged");
    return -1;
}

/* A refusal of the start's time: campaign.<key> in the operator's words. */
static int refuse_at(struct refusal *f, const char *detail, const char *key)
{
    api_campaign_refuse(f, 400, "invalid_field", "at", "%s", detail);
    api_campaign_refuse_key(f, "campaign.", key);
    return -1;
}

static int do_start(struct request *req, json_object *in, struct campaign_row *c, struct refusal *f,
                    json_object *extra)
{
    const char *at = json_str(in, "at");
    json_object *v;
    char when[24];
    time_t t;
    if (json_object_object_get_ex(in, "at", &v) && !json_object_is_type(v, json_type_null)) {
        if (!at || apival_parse_time(at, when, &t) != 0)
            return refuse_at(f, "at is a time with its offset, e.g. 2026-03-02T09:00:00-03:00",
                             "at_format");
        time_t now = time(NULL);
        if (t <= now)
            return refuse_at(f, "at is in the past; leave it out to start now", "at_past");
        if (t > now + 366 * 86400)
            return refuse_at(f, "at is more than a year away", "at_far");
    } else {
        at = NULL;
    }
    if (acknowledged(in, f))
        return -1;
    const struct campaign_transition *row;
    if (api_campaign_refused_by_state(c, f, at ? CEV_SCHEDULE : CEV_START,
                                      "be started (only a draft or scheduled one can)", &row))
        return -1;
    if (c->total == 0)
        return api_campaign_refuse(f, 409, "no_recipients", NULL,
                                   "the campaign has no recipients"); /* the code's own text */
    if (api_campaign_sendable(req, c, f, NULL, NULL))
        return -1;
    /* Numbers that opted out after they were added stay pending: the worker checks the
     * opt-out list before every send and records them as blocked in the send log. */
    struct campaign_scope one = {.kind = CSCOPE_ONE, .id = c->id};
    struct campaign_change ch = {.when = at ? when : NULL};
    if (campaign_state_apply(req->app->db, &one, at ? CEV_SCHEDULE : CEV_START, CACT_OPERATOR, &ch,
                             NULL) != DB_OK)
        return -1;
    json_object *d = json_object_new_object();
    (void)extra;
    json_object_object_add(d, "recipients", json_object_new_int64(c->pending));
    json_object_object_add(d, "acknowledge_risk", json_object_new_boolean(1));
    if (at)
        json_object_object_add(d, "at", json_object_new_string(when));
    log_info("campaign %lld %s by %s", c->id, at ? "scheduled" : "started", req->user);
    return audit_write(req, row->audit, "campaign", c->id, c->id, d) == DB_OK ? 0 : -1;
}

void api_campaigns_start(struct request *req)
{
    api_campaign_run_action(req, do_start, 0);
}

static int do_pause(struct request *req, json_object *in, struct campaign_row *c, struct refusal *f,
                    json_object *extra)
{
    (void)extra;
    const struct campaign_transition *t;
    if (api_campaign_refused_by_state(c, f, CEV_PAUSE,
                                      "be paused (only a running or scheduled one can)", &t))
        return -1;
    const char *reason = json_str(in, "reason");
    if (reason && strlen(reason) > 500) {
        api_campaign_refuse(f, 400, "invalid_field", "reason", "reason has at most 500 characters");
        api_campaign_refuse_key(f, "campaign.", "reason_length");
        return -1;
    }
    /* The reason is the operator's own words (pause_kind says a person paused it; the audit
     * row says who): no words of ours in another language beside them. */
    if (campaign_state_apply_one(req->app->db, c->id, CEV_PAUSE, CACT_OPERATOR,
                                 reason && *reason ? reason : NULL, NULL) != DB_OK)
        return -1;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "from", json_object_new_string(c->status));
    if (reason)
        json_object_object_add(d, "reason", json_object_new_string(reason));
    return audit_write(req, t->audit, "campaign", c->id, c->id, d) == DB_OK ? 0 : -1;
}

void api_campaigns_pause(struct request *req)
{
    api_campaign_run_action(req, do_pause, 0);
}

static int do_resume(struct request *req, json_object *in, struct campaign_row *c,
                     struct refusal *f, json_object *extra)
{
    (void)in;
    const struct campaign_transition *t;
    if (api_campaign_refused_by_state(c, f, CEV_RESUME, "be resumed (only a paused one can)", &t))
        return -1;
    if (!c->resumable) {
        api_campaign_refuse(f, 409, "not_resumable", NULL,
                            "Meta must lift the cause of this pause first (a paused or disabled "
                            "template, a disabled account): see the pause reason");
        api_campaign_refuse_key(f, "resume.", "meta_must_lift");
        return -1;
    }
    if (c->restricted) {
        api_campaign_refuse(f, 409, "account_restricted", NULL,
                            "Meta restricts this WhatsApp account: resume once the restriction "
                            "ends");
        api_campaign_refuse_key(f, "resume.", "account_restricted");
        return -1;
    }
    if (api_campaign_sendable(req, c, f, NULL, NULL))
        return -1;
    /* A campaign paused before its scheduled time goes back to waiting for it. */
    const char *to = !c->started && c->scheduled_future ? "scheduled" : "running";
    if (campaign_state_apply_one(req->app->db, c->id,
                                 strcmp(to, "running") == 0 ? CEV_RESUME : CEV_RESUME_SCHEDULED,
                                 CACT_OPERATOR, NULL, NULL) != DB_OK)
        return -1;
    (void)extra;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "to", json_object_new_string(to));
    return audit_write(req, t->audit, "campaign", c->id, c->id, d) == DB_OK ? 0 : -1;
}

void api_campaigns_resume(struct request *req)
{
    api_campaign_run_action(req, do_resume, 0);
}

static int do_cancel(struct request *req, json_object *in, struct campaign_row *c,
                     struct refusal *f, json_object *extra)
{
    (void)in;
    const struct campaign_transition *t;
    if (api_campaign_refused_by_state(
            c, f, CEV_CANCEL, "be cancelled (drafts are deleted; finished ones stay as they are)",
            &t))
        return -1;
    long long cancelled;
    if (campaign_store_cancel_pending(req->app->db, c->id, &cancelled) != DB_OK ||
        campaign_state_apply_one(req->app->db, c->id, CEV_CANCEL, CACT_OPERATOR, NULL, NULL) !=
            DB_OK)
        return -1;
    json_object_object_add(extra, "cancelled_recipients", json_object_new_int64(cancelled));
    json_object *a = json_object_new_object();
    json_object_object_add(a, "from", json_object_new_string(c->status));
    json_object_object_add(a, "cancelled_recipients", json_object_new_int64(cancelled));
    return audit_write(req, t->audit, "campaign", c->id, c->id, a) == DB_OK ? 0 : -1;
}

void api_campaigns_cancel(struct request *req)
{
    api_campaign_run_action(req, do_cancel, 0);
}

static int do_retry(struct request *req, json_object *in, struct campaign_row *c, struct refusal *f,
                    json_object *extra)
{
    int unknown = 0, present;
    json_object *v;
    if (json_object_object_get_ex(in, "include_unknown", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            api_campaign_refuse(f, 400, "invalid_field", "include_unknown",
                                "include_unknown must be true or false");
            api_campaign_refuse_key(f, "campaign.", "include_unknown_bool");
            return -1;
        }
        unknown = json_object_get_boolean(v);
    }
    (void)present;
    if (acknowledged(in, f))
        return -1;
    const struct campaign_transition *t;
    if (api_campaign_refused_by_state(c, f, CEV_RETRY, "be retried", &t))
        return -1;
    if (api_campaign_sendable(req, c, f, NULL, NULL))
        return -1;
    struct db *db = req->app->db;
    struct campaign_failed_code *fc;
    size_t nfc;
    if (campaign_store_failed_codes(db, c->id, &fc, &nfc) != DB_OK)
        return -1;
    int codes[200];
    size_t ncodes = 0;
    long long skipped = 0;
    json_object *kept = json_object_new_object();
    for (size_t i = 0; i < nfc && ncodes < 189; i++) {
        if (!cloudapi_retryable(fc[i].code)) {
            char k[16];
            snprintf(k, sizeof k, "%d", fc[i].code);
            json_object_object_add(kept, k, json_object_new_int64(fc[i].n));
            skipped += fc[i].n;
            continue;
        }
        codes[ncodes++] = fc[i].code;
    }
    free(fc);
    long long moved_failed = 0, moved_unknown = 0;
    if (campaign_store_requeue(db, c->id, codes, ncodes, unknown, &moved_failed, &moved_unknown) !=
        DB_OK) {
        json_object_put(kept);
        return -1;
    }
    /* A failed campaign (its token was revoked, say) may also just go on with what is left. */
    if (moved_failed + moved_unknown == 0 &&
        !(strcmp(c->status, "failed") == 0 && c->pending > 0)) {
        json_object_put(kept);
        f->params = json_object_new_object();
        json_object_object_add(f->params, "skipped", json_object_new_int64(skipped));
        json_object_object_add(f->params, "unknown", json_object_new_int64(c->unknown));
        f->key = !unknown && c->unknown > 0 ? "retry.nothing_unknown" : "retry.nothing";
        return api_campaign_refuse(
            f, 409, "nothing_to_retry", !unknown && c->unknown > 0 ? "include_unknown" : NULL,
            "no failed recipient can be retried (%lld failed with errors that must not "
            "be retried)%s",
            skipped, unknown ? "" : "; add \"include_unknown\": true for unknown ones");
    }
    /* completed and failed run again; running and paused stay as they are (the table) */
    if (campaign_state_apply_one(db, c->id, CEV_RETRY, CACT_OPERATOR, NULL, NULL) != DB_OK) {
        json_object_put(kept);
        return -1;
    }
    json_object *rt = json_object_new_object();
    json_object_object_add(rt, "failed", json_object_new_int64(moved_failed));
    json_object_object_add(rt, "unknown", json_object_new_int64(moved_unknown));
    json_object_object_add(rt, "not_retryable", json_object_new_int64(skipped));
    json_object_object_add(rt, "not_retryable_by_code", kept);
    json_object_object_add(extra, "retried", json_object_get(rt));
    return audit_write(req, t->audit, "campaign", c->id, c->id, rt) == DB_OK ? 0 : -1;
}

void api_campaigns_retry(struct request *req)
{
    api_campaign_run_action(req, do_retry, 0);
}
