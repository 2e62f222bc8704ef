/* What every action on one campaign shares: the transaction it runs in (again after a deadlock
 * with the worker), its refusals, the state table's verdict and the preconditions of sending. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-campaign.h"
#include "app.h"
#include "campaign_view.h"
#include "db.h"
#include "msgcat.h"
#include "parammap.h"
#include "recipients_import.h"

int api_campaign_refuse(struct refusal *f, int status, const char *code, const char *field,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    f->status = status;
    snprintf(f->code, sizeof f->code, "%s", code);
    f->field = field;
    return -1;
}

int api_campaign_sendable(struct request *req, const struct campaign_row *c, struct refusal *f,
                          struct cloudapi_slots *slots, char **components)
{
    if (!c->flag)
        return api_campaign_refuse(
            f, 409, "campaigns_disabled", NULL,
            "campaigns are disabled for this WhatsApp account (campaigns_enabled is "
            "off)");
    if (!c->has_token)
        return api_campaign_refuse(f, 409, "no_credentials", NULL,
                                   "the WhatsApp account has no access token: set it with PATCH "
                                   "/api/accounts/%lld",
                                   c->account_id);
    if (api_campaign_variants_sendable(req, c, f) < 0)
        return -1;
    struct tmpl_info t;
    int rc = templates_lookup(req->app->db, c->account_id, c->tname, c->tlang, &t);
    if (rc < 0)
        return api_campaign_refuse(f, 500, "database_error", NULL, "could not read the template");
    if (rc == 1)
        return api_campaign_refuse(
            f, 409, "template_unknown", "template_name",
            "template %s (%s) is not in the cache: sync templates first (POST "
            "/api/templates/sync)",
            c->tname, c->tlang);
    if (t.missing) {
        templates_info_free(&t);
        return api_campaign_refuse(f, 409, "template_missing", "template_name",
                                   "template %s (%s) no longer exists at Meta", c->tname, c->tlang);
    }
    if (strcmp(t.status, "APPROVED") != 0) {
        char st[33];
        snprintf(st, sizeof st, "%s", t.status);
        templates_info_free(&t);
        return api_campaign_refuse(f, 409, "template_not_approved", "template_name",
                                   "template %s (%s) is %s: only APPROVED templates can be sent",
                                   c->tname, c->tlang, *st ? st : "of unknown status");
    }
    struct cloudapi_slots s;
    char err[256];
    if (cloudapi_template_slots(t.components, &s, err, sizeof err) != 0) {
        templates_info_free(&t);
        return api_campaign_refuse(f, 409, "template_unsupported", "template_name",
                                   "the template cannot be sent by Pregón: %s", err);
    }
    if (parammap_check(c->map, &s, err, sizeof err) != 0) {
        templates_info_free(&t);
        cloudapi_slots_free(&s);
        return api_campaign_refuse(f, 409, "params_mismatch", "params", "%s", err);
    }
    if (slots)
        *slots = s;
    else
        cloudapi_slots_free(&s);
    if (components)
        *components = t.components;
    else
        free(t.components);
    return 0;
}

void api_campaign_run_action(struct request *req, action_fn fn, int needs_body)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = NULL;
    if (needs_body || req->content_length > 0) {
        in = http_json_body(req, API_CAMPAIGN_JSON_LIMIT);
        if (!in)
            return;
    } else {
        in = json_object_new_object();
    }
    struct db *db = req->app->db;
    struct refusal f = {0};
    json_object *extra = NULL;
    int rc = -1;
    for (int attempt = 0; attempt < 4; attempt++) {
        memset(&f, 0, sizeof f);
        json_object_put(extra);
        extra = json_object_new_object();
        struct campaign_row c;
        if (db_begin(db) != DB_OK) {
            api_campaign_refuse(&f, 503, "database_unavailable", NULL,
                                "the database is not reachable");
            break;
        }
        int lr = campaign_store_load(db, req->ids[0], 1, &c);
        if (lr != 0) {
            db_rollback(db);
            if (lr == 1)
                api_campaign_refuse(&f, 404, "not_found", NULL, "no such campaign");
            else if (db_errno(db) == 1213 || db_errno(db) == 1205)
                continue;
            else
                api_campaign_refuse(&f, 500, "database_error", NULL, "could not read the campaign");
            break;
        }
        if (c.importing) {
            /* a chunked import holds the draft; one that stopped midway is undone here */
            campaign_row_free(&c);
            db_rollback(db);
            int st = recipients_import_settle(db, req->ids[0]);
            if (st == RECIPIENTS_SETTLED && attempt < 3)
                continue;
            if (st < 0)
                api_campaign_refuse(&f, 503, "database_unavailable", NULL,
                                    "the database is not reachable");
            else
                api_campaign_refuse_import_running(&f);
            break;
        }
        rc = fn(req, in, &c, &f, extra);
        campaign_row_free(&c);
        if (rc == 0 && db_commit(db) == DB_OK)
            break;
        db_rollback(db);
        unsigned en = db_errno(db);
        if (f.status == 0 && (en == 1213 || en == 1205)) {
            rc = -1;
            continue; /* deadlock with a worker: do it again */
        }
        if (f.status == 0)
            api_campaign_refuse(&f, 500, "database_error", NULL, "the database failed: %s",
                                db_error(db));
        break;
    }
    if (req->status) {
        /* answered already (a validation inside the action) */
    } else if (rc == 0 && f.status == 0) {
        json_object *o;
        if (campaign_view_one(db, req->ids[0], req->lang, &o) == DB_OK && o) {
            json_object_object_foreach(extra, k, v)
            {
                json_object_object_add(o, k, json_object_get(v));
            }
            http_json(req, 200, o);
        } else {
            http_db_error(req, "read the campaign");
        }
    } else {
        if (f.status == 0)
            api_campaign_refuse(&f, 409, "conflict", NULL,
                                "the campaign changed meanwhile; try again");
        http_fail(req, f.status, f.code, f.field, f.key, f.params, f.msg);
        f.params = NULL;
    }
    json_object_put(extra);
    json_object_put(in);
}

/* The refusal of action on c in its state, in the operator's words: the catalogue's
 * campaign.refused.<action> naming the state (campaign.state.<status>). */
static int refuse_state(const struct campaign_row *c, struct refusal *f, const char *action,
                        const char *what)
{
    api_campaign_refuse(f, 409, "invalid_state", NULL, "a %s campaign cannot %s", c->status, what);
    api_campaign_refuse_key(f, "campaign.refused.", action);
    json_object_object_add(f->params, "status", json_object_new_string(c->status));
    json_object_object_add(f->params, "state", msgcat_ref("campaign.state.", c->status));
    return -1;
}

int api_campaign_refused_by_state(const struct campaign_row *c, struct refusal *f,
                                  enum campaign_event ev, const char *what,
                                  const struct campaign_transition **t)
{
    int from = campaign_status_parse(c->status);
    if (from >= 0 && campaign_state_check((enum campaign_status)from, ev, CACT_OPERATOR, t) == 0)
        return 0;
    return refuse_state(c, f, campaign_event_name(ev), what);
}

int api_campaign_not_in(const struct campaign_row *c, struct refusal *f, const char *action,
                        const char *what, const char *const *ok, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->status, ok[i]) == 0)
            return 0;
    return refuse_state(c, f, action, what);
}

void api_campaign_refuse_key(struct refusal *f, const char *prefix, const char *name)
{
    snprintf(f->keybuf, sizeof f->keybuf, "%s%s", prefix, name);
    f->key = f->keybuf;
    if (!f->params)
        f->params = json_object_new_object();
}

static const char import_running[] =
    "recipients are being imported into this campaign; try again when the import ends";

int api_campaign_refuse_import_running(struct refusal *f)
{
    api_campaign_refuse(f, 409, "import_running", NULL, "%s", import_running);
    api_campaign_refuse_key(f, "campaign.refused.", "import_running");
    return -1;
}

void api_campaign_fail_import_running(struct request *req)
{
    http_fail(req, 409, "import_running", NULL, "campaign.refused.import_running", NULL,
              import_running);
}
