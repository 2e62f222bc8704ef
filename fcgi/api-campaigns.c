/* /api/campaigns: create, list, show, edit, delete, clone, and act on campaigns (preflight,
 * preview, test send, start now or at a time, pause, resume, cancel, retry). Every change
 * writes the audit log in the same transaction. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account_health.h"
#include "accounts.h"
#include "apival.h"
#include "app.h"
#include "audit.h"
#include "campaign_state.h"
#include "cloudapi.h"
#include "counters.h"
#include "db.h"
#include "e164.h"
#include "graph.h"
#include "log.h"
#include "msgstatus.h"
#include "parammap.h"
#include "person.h"
#include "sendverdict.h"

#define JSON_LIMIT (256 * 1024)

/* Column order is what campaign_json reads. */
#define CAMPAIGN_COLUMNS                                                                                                                                                                     \
    "c.id, c.account_id, a.phone_number_id, c.name, c.template_name, c.template_language, "                                                                                                  \
    "c.body_params, c.status, c.pause_reason, c.batch_size, c.created_by, " TS(                                                                                                              \
        "c.created_at") ", " TS("c.started_at") ", " TS("c.completed_at") ", c.total_count, "                                                                                                \
                                                                          "c.pending_count, "                                                                                                \
                                                                          "c.sending_count, "                                                                                                \
                                                                          "c.sent_count, "                                                                                                   \
                                                                          "c.delivered_count, "                                                                                              \
                                                                          "c.read_count, "                                                                                                   \
                                                                          "c.failed_count, "                                                                                                 \
                                                                          "c.blocked_count, "                                                                                                \
                                                                          "c.cancelled_count, "                                                                                              \
                                                                          "c.unknown_count, "                                                                                                \
                                                                          "a.is_sandbox, "                                                                                                   \
                                                                          "c.param_map, "                                                                                                    \
                                                                          "c.interval_ms, "                                                                                                  \
                                                                          "c.daily_cap, "                                                                                                    \
                                                                          "c.send_window_start, "                                                                                            \
                                                                          "c.send_window_end,"                                                                                               \
                                                                          " " TS("c.scheduled_at") ", " TS(                                                                                  \
                                                                              "c.cancelled_at") ", c.cloned_from, t.id, t.status, "                                                          \
                                                                                                "t.missing_since IS NOT NULL, a.throughput_mps, a.timezone, a.campaigns_enabled, " TS(       \
                                                                                                    "c.updated_at") ", (SELECT COALESCE(SUM(m.sent + m.failed + m.blocked + m.unknown), 0) " \
                                                                                                                    "FROM send_minutes m WHERE m.campaign_id = c.id AND m.minute >= NOW() - INTERVAL 5 MINUTE)"
/* Appended after CAMPAIGN_COLUMNS, read by add_pause_state from CAMPAIGN_MORE_AT on. */
#define CAMPAIGN_MORE                                                                              \
    ", c.wait_reason, c.pause_kind, c.resumable, c.replies_count, a.account_event, "               \
    "a.restriction, a.in_doubt_resend_after_s"
#define CAMPAIGN_MORE_AT 41
#define CAMPAIGN_FROM                                                                              \
    " FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id LEFT JOIN templates t ON "        \
    "t.account_id = c.account_id AND t.name = c.template_name AND t.language = "                   \
    "c.template_language"

static json_object *parse_json_or(const char *s, json_object *dflt)
{
    json_object *o = s ? json_tokener_parse(s) : NULL;
    if (!o)
        return dflt;
    json_object_put(dflt);
    return o;
}

/* Messages per second the campaign may go at, from its settings and the account's rate. */
static double configured_rate(long long throughput, long long interval_ms)
{
    double r = throughput > 0 ? (double)throughput : 80.0;
    if (interval_ms > 0 && 1000.0 / (double)interval_ms < r)
        r = 1000.0 / (double)interval_ms;
    return r;
}

/* Why the campaign waits (worker), who paused it last and whether a resume would be accepted
 * now: not while Meta must lift the cause (campaigns.resumable = 0, set by the webhook applier
 * for a PAUSED/DISABLED template or a disabled account), the template is not APPROVED, the
 * account is restricted or its campaigns are switched off. */
static void add_pause_state(json_object *o, const struct db_rows *r, size_t i, const char *status)
{
    size_t m = CAMPAIGN_MORE_AT;
    json_object_object_add(o, "wait_reason", json_str_or_null(db_val(r, i, m)));
    json_object_object_add(o, "pause_kind", json_str_or_null(db_val(r, i, m + 1)));
    json_object_object_add(o, "replies_count", json_object_new_int64(db_int(r, i, m + 3, 0)));
    /* Issue 15: recipients in doubt (unknown: the answer may have followed acceptance) and
     * what happens to them: a status webhook settles them; with the account's
     * in_doubt_resend_after_s (> 0) one that nothing settled is resent once after it. */
    json_object *d = json_object_new_object();
    long long resend = db_int(r, i, m + 6, 0);
    json_object_object_add(d, "count", json_object_new_int64(db_int(r, i, 23, 0)));
    json_object_object_add(
        d, "policy", json_object_new_string(resend > 0 ? "resend_once_after" : "wait_for_status"));
    json_object_object_add(d, "resend_after_s", json_object_new_int64(resend));
    json_object_object_add(o, "in_doubt", d);
    const char *code = NULL, *msg = NULL;
    const char *tstatus = db_val(r, i, 34);
    time_t until;
    if (!status || strcmp(status, "paused") != 0) {
        code = "not_paused";
        msg = "only a paused campaign can be resumed";
    } else if (db_int(r, i, m + 2, 1) == 0) {
        code = "meta_must_lift";
        msg = "Meta must lift the cause of the pause first (see the pause reason)";
    } else if (!db_int(r, i, 38, 1)) {
        code = "campaigns_disabled";
        msg = "campaigns are disabled for this WhatsApp account";
    } else if (!tstatus || db_int(r, i, 35, 0)) {
        code = "template_missing";
        msg = "the template is not in the cache or no longer exists at Meta";
    } else if (strcmp(tstatus, "APPROVED") != 0) {
        code = "template_not_approved";
        msg = "the template is not APPROVED";
    } else if (account_restricted(db_val(r, i, m + 4), db_val(r, i, m + 5), time(NULL), &until)) {
        code = "account_restricted";
        msg = "Meta restricts the WhatsApp account";
    }
    json_object_object_add(o, "resumable", json_object_new_boolean(code == NULL));
    if (code && strcmp(code, "not_paused") != 0) {
        json_object *b = json_object_new_object();
        json_object_object_add(b, "code", json_object_new_string(code));
        json_object_object_add(b, "message", json_object_new_string(msg));
        json_object_object_add(o, "resume_blocked", b);
    } else {
        json_object_object_add(o, "resume_blocked", NULL);
    }
}

/* Messages per minute over the last five minutes: column 40 (from send_minutes, never the
 * log). */
static json_object *campaign_json(const struct db_rows *r, size_t i)
{
    double recent_per_min = (double)db_int(r, i, 40, 0) / 5.0;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "account_id", json_object_new_int64(db_int(r, i, 1, 0)));
    json_object_object_add(o, "phone_number_id", json_str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "name", json_str_or_null(db_val(r, i, 3)));
    json_object *t = json_object_new_object();
    json_object_object_add(t, "name", json_str_or_null(db_val(r, i, 4)));
    json_object_object_add(t, "language", json_str_or_null(db_val(r, i, 5)));
    json_object_object_add(t, "id",
                           db_val(r, i, 33) ? json_object_new_int64(db_int(r, i, 33, 0)) : NULL);
    json_object_object_add(t, "status", json_str_or_null(db_val(r, i, 34)));
    json_object_object_add(t, "missing", json_object_new_boolean(db_int(r, i, 35, 0) != 0));
    json_object_object_add(o, "template", t);
    json_object_object_add(o, "body_params",
                           parse_json_or(db_val(r, i, 6), json_object_new_array()));
    json_object_object_add(o, "params", parse_json_or(db_val(r, i, 25), json_object_new_object()));
    const char *status = db_val(r, i, 7);
    json_object_object_add(o, "status", json_str_or_null(status));
    json_object_object_add(o, "pause_reason", json_str_or_null(db_val(r, i, 8)));
    json_object_object_add(o, "batch_size", json_object_new_int64(db_int(r, i, 9, 0)));
    long long interval = db_int(r, i, 26, 0);
    json_object_object_add(o, "interval_ms", json_object_new_int64(interval));
    json_object_object_add(o, "daily_cap",
                           db_val(r, i, 27) ? json_object_new_int64(db_int(r, i, 27, 0)) : NULL);
    if (db_val(r, i, 28) && db_val(r, i, 29)) {
        json_object *w = json_object_new_object();
        json_object_object_add(w, "start", json_object_new_int64(db_int(r, i, 28, 0)));
        json_object_object_add(w, "end", json_object_new_int64(db_int(r, i, 29, 0)));
        json_object_object_add(w, "timezone", json_str_or_null(db_val(r, i, 37)));
        json_object_object_add(o, "send_window", w);
    } else {
        json_object_object_add(o, "send_window", NULL);
    }
    json_object_object_add(o, "created_by", json_str_or_null(db_val(r, i, 10)));
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 11)));
    json_object_object_add(o, "updated_at", json_str_or_null(db_val(r, i, 39)));
    json_object_object_add(o, "scheduled_at", json_str_or_null(db_val(r, i, 30)));
    json_object_object_add(o, "started_at", json_str_or_null(db_val(r, i, 12)));
    json_object_object_add(o, "completed_at", json_str_or_null(db_val(r, i, 13)));
    json_object_object_add(o, "cancelled_at", json_str_or_null(db_val(r, i, 31)));
    json_object_object_add(o, "cloned_from",
                           db_val(r, i, 32) ? json_object_new_int64(db_int(r, i, 32, 0)) : NULL);
    static const char *names[] = {"total", "pending", "sending", "sent",      "delivered",
                                  "read",  "failed",  "blocked", "cancelled", "unknown"};
    json_object *c = json_object_new_object();
    long long v[10];
    for (size_t k = 0; k < 10; k++)
        v[k] = db_int(r, i, 14 + k, 0);
    long long pending = v[1] + v[2]; /* not yet answered by Meta, claimed or not */
    for (size_t k = 0; k < 10; k++)
        json_object_object_add(c, names[k], json_object_new_int64(k == 1 ? pending : v[k]));
    json_object_object_add(o, "counters", c);
    long long total = v[0];
    long long done = total - pending;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "done", json_object_new_int64(done));
    json_object_object_add(
        p, "percent",
        json_object_new_double(total ? floor(1000.0 * (double)done / (double)total) / 10 : 0.0));
    {
        json_object_object_add(p, "rate_per_minute", json_object_new_double(recent_per_min));
        double rate = recent_per_min / 60.0;
        int running = status && strcmp(status, "running") == 0;
        if (!running || pending == 0) {
            json_object_object_add(p, "eta_seconds", NULL);
        } else {
            if (rate <= 0)
                rate = configured_rate(db_int(r, i, 36, 80), interval);
            json_object_object_add(p, "eta_seconds",
                                   json_object_new_int64((long long)ceil((double)pending / rate)));
        }
        json_object_object_add(
            p, "eta_basis",
            json_object_new_string(recent_per_min > 0 ? "last 5 minutes" : "configured rate"));
    }
    json_object_object_add(o, "progress", p);
    json_object_object_add(o, "sandbox", json_object_new_boolean(db_int(r, i, 24, 0) != 0));
    add_pause_state(o, r, i, status);
    return o;
}

static void answer_campaign(struct request *req, long long id, int status)
{
    struct db_rows rows;
    if (db_query(req->app->db,
                 "SELECT " CAMPAIGN_COLUMNS CAMPAIGN_MORE CAMPAIGN_FROM " WHERE c.id = ?",
                 DB_ARGS(DB_INT(id)), &rows) != DB_OK) {
        http_db_error(req, "read the campaign");
        return;
    }
    if (rows.nrows == 0)
        http_error(req, 404, "not_found", "no such campaign", NULL);
    else
        http_json(req, status, campaign_json(&rows, 0));
    db_rows_free(&rows);
}

static int valid_chars(const char *s, const char *extra)
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
    long long wstart, wend;
    int has_window, window_null;
};

static int read_settings(struct request *req, json_object *in, struct settings *s)
{
    json_object *v;
    static const char *const known[] = {
        "name",        "template_name", "template_language", "phone_number_id",
        "account_id",  "params",        "body_params",       "batch_size",
        "interval_ms", "daily_cap",     "send_window",       NULL};
    if (http_json_only(req, in, known, "a setting of a campaign") < 0)
        return -1;
    if (json_object_object_get_ex(in, "name", &v)) {
        s->name = json_str(in, "name");
        if (!s->name || !*s->name || strlen(s->name) > 200) {
            http_error(req, 400, "invalid_field", "name is required (1 to 200 characters)", "name");
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "template_name", &v)) {
        s->tname = json_str(in, "template_name");
        if (!s->tname || !*s->tname || strlen(s->tname) > 512 || !valid_chars(s->tname, "_")) {
            http_error(req, 400, "invalid_field",
                       "template_name is required: letters, digits and underscores",
                       "template_name");
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "template_language", &v)) {
        s->tlang = json_str(in, "template_language");
        if (!s->tlang || strlen(s->tlang) < 2 || strlen(s->tlang) > 16 ||
            !valid_chars(s->tlang, "_")) {
            http_error(req, 400, "invalid_field", "template_language is required, e.g. es_AR",
                       "template_language");
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
                                   : (http_error(req, 400, "invalid_field",
                                                 "send_window is {\"start\": h, \"end\": h}, hours "
                                                 "0-23 in the account's timezone, or null",
                                                 "send_window"),
                                      -1);
            if (!ps || !pe || s->wstart == s->wend) {
                http_error(req, 400, "invalid_field",
                           "send_window needs different start and end hours (0-23)", "send_window");
                return -1;
            }
        }
    }
    char err[256], field[96];
    json_object *pm = NULL, *bp = NULL;
    json_object_object_get_ex(in, "params", &pm);
    json_object_object_get_ex(in, "body_params", &bp);
    if (pm && bp) {
        http_error(req, 400, "invalid_field", "give params or body_params, not both", "params");
        return -1;
    }
    if (pm) {
        s->map = parammap_normalize(pm, err, sizeof err, field, sizeof field);
        if (!s->map) {
            http_error(req, 400, "invalid_field", err, field);
            return -1;
        }
    } else if (bp) {
        if (!json_object_is_type(bp, json_type_array)) {
            http_error(req, 400, "invalid_field", "body_params must be an array", "body_params");
            return -1;
        }
        s->map = parammap_from_body_params(bp, err, sizeof err, field, sizeof field);
        if (!s->map) {
            http_error(req, 400, "invalid_field", err, field);
            return -1;
        }
    }
    const char *phone_id = json_str(in, "phone_number_id");
    if (json_object_object_get_ex(in, "account_id", &v)) {
        if (json_int_member(req, in, "account_id", 1, 1LL << 62, &s->account_id, NULL) < 0)
            return -1;
        s->has_account = 1;
    } else if (phone_id) {
        struct db_rows acc;
        if (db_query(req->app->db, "SELECT id FROM wa_accounts WHERE phone_number_id = ?",
                     DB_ARGS(DB_STR(phone_id)), &acc) != DB_OK) {
            http_db_error(req, "read the accounts");
            return -1;
        }
        if (acc.nrows != 1) {
            db_rows_free(&acc);
            http_error(req, 422, "unknown_account", "no WhatsApp account has that phone_number_id",
                       "phone_number_id");
            return -1;
        }
        s->account_id = db_int(&acc, 0, 0, 0);
        s->has_account = 1;
        db_rows_free(&acc);
    } else if (json_object_object_get_ex(in, "phone_number_id", &v)) {
        http_error(req, 400, "invalid_field", "phone_number_id is a string", "phone_number_id");
        return -1;
    }
    return 0;
}

/* Checks the mapping against the template when it is in the cache. Returns 0 (and the body
 * params for older senders in *body, owned), or answers 422 and returns -1. */
static int check_mapping(struct request *req, long long account_id, const char *tname,
                         const char *tlang, json_object *map, json_object **body)
{
    struct tmpl_info t;
    int rc = templates_lookup(req->app->db, account_id, tname, tlang, &t);
    if (rc < 0) {
        http_db_error(req, "read the template");
        return -1;
    }
    if (rc == 1) {
        *body = parammap_body_params(map, NULL);
        return 0;
    }
    struct cloudapi_slots s;
    char err[256];
    if (cloudapi_template_slots(t.components, &s, err, sizeof err) != 0) {
        templates_info_free(&t);
        http_errorf(req, 422, "template_unsupported", "template_name",
                    "the template cannot be sent by Pregón: %s", err);
        return -1;
    }
    templates_info_free(&t);
    if (parammap_check(map, &s, err, sizeof err) != 0) {
        cloudapi_slots_free(&s);
        http_error(req, 422, "params_mismatch", err, "params");
        return -1;
    }
    *body = parammap_body_params(map, &s);
    cloudapi_slots_free(&s);
    return 0;
}

static const char *json_text(json_object *o)
{
    return json_object_to_json_string_ext(o,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

void api_campaigns_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct settings s = {0};
    json_object *body = NULL;
    struct db *db = req->app->db;
    if (read_settings(req, in, &s) < 0)
        goto out;
    if (!s.name) {
        http_error(req, 400, "invalid_field", "name is required (1 to 200 characters)", "name");
        goto out;
    }
    if (!s.tname) {
        http_error(req, 400, "invalid_field",
                   "template_name is required: letters, digits and underscores", "template_name");
        goto out;
    }
    if (!s.tlang) {
        http_error(req, 400, "invalid_field", "template_language is required, e.g. es_AR",
                   "template_language");
        goto out;
    }
    if (!s.has_account) {
        struct db_rows acc;
        if (db_query(db, "SELECT id FROM wa_accounts ORDER BY id LIMIT 2", DB_NOARGS, &acc) !=
            DB_OK) {
            http_db_error(req, "read the accounts");
            goto out;
        }
        if (acc.nrows != 1) {
            http_error(req, 422, "account_required",
                       acc.nrows ? "several accounts exist: give account_id or phone_number_id"
                                 : "no WhatsApp account is configured",
                       "phone_number_id");
            db_rows_free(&acc);
            goto out;
        }
        s.account_id = db_int(&acc, 0, 0, 0);
        db_rows_free(&acc);
    } else {
        struct db_rows acc;
        if (db_query(db, "SELECT id FROM wa_accounts WHERE id = ?", DB_ARGS(DB_INT(s.account_id)),
                     &acc) != DB_OK) {
            http_db_error(req, "read the accounts");
            goto out;
        }
        size_t n = acc.nrows;
        db_rows_free(&acc);
        if (!n) {
            http_error(req, 422, "unknown_account", "no such WhatsApp account", "account_id");
            goto out;
        }
    }
    if (!s.map)
        s.map = json_object_new_object();
    if (check_mapping(req, s.account_id, s.tname, s.tlang, s.map, &body) < 0)
        goto out;
    struct db_res res;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    int rc = db_exec(
        db,
        "INSERT INTO campaigns (account_id, name, template_name, template_language, body_params, "
        "param_map, batch_size, interval_ms, daily_cap, send_window_start, send_window_end, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        DB_ARGS(DB_INT(s.account_id), DB_STR(s.name), DB_STR(s.tname), DB_STR(s.tlang),
                DB_STR(json_text(body)), DB_STR(json_text(s.map)),
                DB_INT(s.has_batch ? s.batch : 200), DB_INT(s.has_interval ? s.interval : 0),
                s.has_cap && !s.cap_null ? DB_INT(s.cap) : DB_NULL,
                s.has_window && !s.window_null ? DB_INT(s.wstart) : DB_NULL,
                s.has_window && !s.window_null ? DB_INT(s.wend) : DB_NULL, DB_STR(req->user)),
        &res);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(s.name));
    json_object_object_add(d, "template", json_object_new_string(s.tname));
    if (rc != DB_OK ||
        audit_write(req, "campaign.create", "campaign", (long long)res.insert_id,
                    (long long)res.insert_id, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the campaign");
        goto out;
    }
    log_info("campaign %llu created by %s", res.insert_id, req->user);
    answer_campaign(req, (long long)res.insert_id, 201);
out:
    json_object_put(body);
    json_object_put(s.map);
    json_object_put(in);
}

/* Whether campaign {id} of the path exists; answers 404 (or the database error) when not. */
int api_campaign_exists(struct request *req)
{
    struct db_rows r;
    if (db_query(req->app->db, "SELECT id FROM campaigns WHERE id = ?",
                 DB_ARGS(DB_INT(req->ids[0])), &r) != DB_OK) {
        http_db_error(req, "read the campaign");
        return 0;
    }
    size_t n = r.nrows;
    db_rows_free(&r);
    if (!n)
        http_error(req, 404, "not_found", "no such campaign", NULL);
    return n != 0;
}

void api_campaigns_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    answer_campaign(req, req->ids[0], 200);
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
    struct db_rows rows;
    int rc = db_query(req->app->db,
                      "SELECT " CAMPAIGN_COLUMNS CAMPAIGN_MORE CAMPAIGN_FROM
                      " WHERE c.id < ? AND (? IS NULL OR c.status = ?) AND (? = 0 OR "
                      "c.account_id = ?) AND (? IS NULL OR c.name LIKE ?) AND (? IS NULL OR "
                      "c.template_name = ?) AND (? IS NULL OR c.created_by = ?) "
                      "ORDER BY c.id DESC LIMIT ?",
                      DB_ARGS(DB_INT(before_id), DB_STR(status), DB_STR(status), DB_INT(account_id),
                              DB_INT(account_id), DB_STR(q ? like : NULL), DB_STR(q ? like : NULL),
                              DB_STR(tname), DB_STR(tname), DB_STR(by), DB_STR(by), DB_INT(limit)),
                      &rows);
    if (rc != DB_OK) {
        http_db_error(req, "list the campaigns");
        goto out;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(arr, campaign_json(&rows, i));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "campaigns", arr);
    json_object_object_add(o, "next_before",
                           rows.nrows == (size_t)limit
                               ? json_object_new_int64(db_int(&rows, rows.nrows - 1, 0, 0))
                               : NULL);
    db_rows_free(&rows);
    http_json(req, 200, o);
out:
    free(status);
    free(q);
    free(tname);
    free(by);
}

/* The campaign's row locked for an action, with what the checks need. */
struct camp {
    long long id, account_id, total, pending, sending, failed, unknown;
    char status[16];
    char tname[513], tlang[17];
    json_object *map;
    int flag, has_token, has_secret, sandbox;
    char country[3];
    long long throughput, interval, cap;
    char tier[17], quality[17], tz[65], waba[33];
    int has_cap, scheduled_future, started;
    char name[201];
    int resumable, restricted; /* campaigns.resumable; Meta restricts the account now */
};

/* Reads (and, in a transaction, locks) the campaign. Returns 0, 1 when absent, -1 db error. */
static int camp_load(struct db *db, long long id, int lock, struct camp *c)
{
    memset(c, 0, sizeof *c);
    struct db_rows r;
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT c.id, c.account_id, c.status, c.template_name, c.template_language, "
             "c.param_map, c.total_count, c.pending_count, c.sending_count, c.failed_count, "
             "c.unknown_count, a.campaigns_enabled, a.access_token_enc IS NOT NULL, "
             "a.app_secret_enc IS NOT NULL, a.is_sandbox, a.default_country, a.throughput_mps, "
             "c.interval_ms, c.daily_cap, a.messaging_tier, a.quality_rating, a.timezone, "
             "c.scheduled_at > NOW(3), c.started_at IS NOT NULL, c.name, c.resumable, "
             "a.account_event, a.restriction, a.waba_id "
             "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id WHERE c.id = ?%s",
             lock ? " FOR UPDATE" : "");
    if (db_query(db, sql, DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return -1;
    if (r.nrows == 0) {
        db_rows_free(&r);
        return 1;
    }
    c->id = id;
    c->account_id = db_int(&r, 0, 1, 0);
    snprintf(c->status, sizeof c->status, "%s", db_val(&r, 0, 2));
    snprintf(c->tname, sizeof c->tname, "%s", db_val(&r, 0, 3));
    snprintf(c->tlang, sizeof c->tlang, "%s", db_val(&r, 0, 4));
    c->map = parse_json_or(db_val(&r, 0, 5), json_object_new_object());
    c->total = db_int(&r, 0, 6, 0);
    c->pending = db_int(&r, 0, 7, 0);
    c->sending = db_int(&r, 0, 8, 0);
    c->failed = db_int(&r, 0, 9, 0);
    c->unknown = db_int(&r, 0, 10, 0);
    c->flag = (int)db_int(&r, 0, 11, 0);
    c->has_token = (int)db_int(&r, 0, 12, 0);
    c->has_secret = (int)db_int(&r, 0, 13, 0);
    c->sandbox = (int)db_int(&r, 0, 14, 0);
    snprintf(c->country, sizeof c->country, "%s", db_val(&r, 0, 15));
    c->throughput = db_int(&r, 0, 16, 80);
    c->interval = db_int(&r, 0, 17, 0);
    c->has_cap = db_val(&r, 0, 18) != NULL;
    c->cap = db_int(&r, 0, 18, 0);
    snprintf(c->tier, sizeof c->tier, "%s", db_val(&r, 0, 19));
    snprintf(c->quality, sizeof c->quality, "%s", db_val(&r, 0, 20));
    snprintf(c->tz, sizeof c->tz, "%s", db_val(&r, 0, 21));
    c->scheduled_future = (int)db_int(&r, 0, 22, 0);
    c->started = (int)db_int(&r, 0, 23, 0);
    snprintf(c->name, sizeof c->name, "%s", db_val(&r, 0, 24));
    c->resumable = (int)db_int(&r, 0, 25, 1);
    time_t until;
    c->restricted = account_restricted(db_val(&r, 0, 26), db_val(&r, 0, 27), time(NULL), &until);
    snprintf(c->waba, sizeof c->waba, "%s", db_val(&r, 0, 28));
    db_rows_free(&r);
    return 0;
}

static void camp_free(struct camp *c)
{
    json_object_put(c->map);
    c->map = NULL;
}

/* An action's refusal, answered after the transaction is rolled back. */
struct refusal {
    int status;
    char code[40];
    char msg[512];
    const char *field;
};

static int refuse(struct refusal *f, int status, const char *code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int refuse(struct refusal *f, int status, const char *code, const char *field,
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

/* What sending needs, checked for start, resume, retry and test sends: the account's flag,
 * its credentials, an APPROVED template that Pregón can send, and a complete mapping. On
 * success fills *slots (free with cloudapi_slots_free) and *components (malloc'd) if given. */
static int sendable(struct request *req, const struct camp *c, struct refusal *f,
                    struct cloudapi_slots *slots, char **components)
{
    if (!c->flag)
        return refuse(f, 409, "campaigns_disabled", NULL,
                      "campaigns are disabled for this WhatsApp account (campaigns_enabled is "
                      "off)");
    if (!c->has_token)
        return refuse(f, 409, "no_credentials", NULL,
                      "the WhatsApp account has no access token: set it with PATCH "
                      "/api/accounts/%lld",
                      c->account_id);
    struct tmpl_info t;
    int rc = templates_lookup(req->app->db, c->account_id, c->tname, c->tlang, &t);
    if (rc < 0)
        return refuse(f, 500, "database_error", NULL, "could not read the template");
    if (rc == 1)
        return refuse(f, 409, "template_unknown", "template_name",
                      "template %s (%s) is not in the cache: sync templates first (POST "
                      "/api/templates/sync)",
                      c->tname, c->tlang);
    if (t.missing) {
        templates_info_free(&t);
        return refuse(f, 409, "template_missing", "template_name",
                      "template %s (%s) no longer exists at Meta", c->tname, c->tlang);
    }
    if (strcmp(t.status, "APPROVED") != 0) {
        char st[33];
        snprintf(st, sizeof st, "%s", t.status);
        templates_info_free(&t);
        return refuse(f, 409, "template_not_approved", "template_name",
                      "template %s (%s) is %s: only APPROVED templates can be sent", c->tname,
                      c->tlang, *st ? st : "of unknown status");
    }
    struct cloudapi_slots s;
    char err[256];
    if (cloudapi_template_slots(t.components, &s, err, sizeof err) != 0) {
        templates_info_free(&t);
        return refuse(f, 409, "template_unsupported", "template_name",
                      "the template cannot be sent by Pregón: %s", err);
    }
    if (parammap_check(c->map, &s, err, sizeof err) != 0) {
        templates_info_free(&t);
        cloudapi_slots_free(&s);
        return refuse(f, 409, "params_mismatch", "params", "%s", err);
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

static void delta_times(struct msg_delta *d, enum msg_status from, enum msg_status to, long long n)
{
    struct msg_delta one = {0};
    msg_delta_move(&one, from, to);
    d->pending += one.pending * (int)n;
    d->sending += one.sending * (int)n;
    d->sent += one.sent * (int)n;
    d->delivered += one.delivered * (int)n;
    d->read += one.read * (int)n;
    d->failed += one.failed * (int)n;
    d->blocked += one.blocked * (int)n;
    d->cancelled += one.cancelled * (int)n;
    d->unknown += one.unknown * (int)n;
}

/* Runs an action in a transaction, again when the database asks for it (deadlock with a
 * worker), then answers: the refusal, or the campaign with extra members. */
typedef int (*action_fn)(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                         json_object *extra);

static void run_action(struct request *req, action_fn fn, int needs_body)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = NULL;
    if (needs_body || req->content_length > 0) {
        in = http_json_body(req, JSON_LIMIT);
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
        struct camp c;
        if (db_begin(db) != DB_OK) {
            refuse(&f, 503, "database_unavailable", NULL, "the database is not reachable");
            break;
        }
        int lr = camp_load(db, req->ids[0], 1, &c);
        if (lr != 0) {
            db_rollback(db);
            if (lr == 1)
                refuse(&f, 404, "not_found", NULL, "no such campaign");
            else if (db_errno(db) == 1213 || db_errno(db) == 1205)
                continue;
            else
                refuse(&f, 500, "database_error", NULL, "could not read the campaign");
            break;
        }
        rc = fn(req, in, &c, &f, extra);
        camp_free(&c);
        if (rc == 0 && db_commit(db) == DB_OK)
            break;
        db_rollback(db);
        unsigned en = db_errno(db);
        if (f.status == 0 && (en == 1213 || en == 1205)) {
            rc = -1;
            continue; /* deadlock with a worker: do it again */
        }
        if (f.status == 0)
            refuse(&f, 500, "database_error", NULL, "the database failed: %s", db_error(db));
        break;
    }
    if (req->status) {
        /* answered already (a validation inside the action) */
    } else if (rc == 0 && f.status == 0) {
        struct db_rows rows;
        if (db_query(db, "SELECT " CAMPAIGN_COLUMNS CAMPAIGN_MORE CAMPAIGN_FROM " WHERE c.id = ?",
                     DB_ARGS(DB_INT(req->ids[0])), &rows) == DB_OK &&
            rows.nrows == 1) {
            json_object *o = campaign_json(&rows, 0);
            json_object_object_foreach(extra, k, v)
            {
                json_object_object_add(o, k, json_object_get(v));
            }
            http_json(req, 200, o);
        } else {
            http_db_error(req, "read the campaign");
        }
        db_rows_free(&rows);
    } else {
        if (f.status == 0)
            refuse(&f, 409, "conflict", NULL, "the campaign changed meanwhile; try again");
        http_error(req, f.status, f.code, f.msg, f.field);
    }
    json_object_put(extra);
    json_object_put(in);
}

/* Whether an operator may make ev on c (lib/campaign_state: the one table); *t gets its
 * row (its audit name). */
static int refused_by_state(const struct camp *c, struct refusal *f, enum campaign_event ev,
                            const char *what, const struct campaign_transition **t)
{
    int from = campaign_status_parse(c->status);
    if (from >= 0 && campaign_state_check((enum campaign_status)from, ev, CACT_OPERATOR, t) == 0)
        return 0;
    return refuse(f, 409, "invalid_state", NULL, "a %s campaign cannot %s", c->status, what);
}

static int not_in(const struct camp *c, struct refusal *f, const char *what, const char *const *ok,
                  size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c->status, ok[i]) == 0)
            return 0;
    return refuse(f, 409, "invalid_state", NULL, "a %s campaign cannot %s", c->status, what);
}

/* ---- edit, delete, clone ------------------------------------------------------------------ */

static int do_update(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                     json_object *extra)
{
    (void)extra;
    static const char *const ok[] = {"draft"};
    if (not_in(c, f, "be edited (only drafts can)", ok, 1))
        return -1;
    struct settings s = {0};
    if (read_settings(req, in, &s) < 0) {
        json_object_put(s.map);
        return refuse(f, req->status, "answered", NULL, "answered");
    }
    if (s.has_account && s.account_id != c->account_id && c->total > 0) {
        json_object_put(s.map);
        return refuse(f, 409, "has_recipients", "account_id",
                      "the account of a campaign with recipients cannot change (numbers were "
                      "read with its default country)");
    }
    if (s.has_account) {
        struct db_rows acc;
        if (db_query(req->app->db, "SELECT id FROM wa_accounts WHERE id = ?",
                     DB_ARGS(DB_INT(s.account_id)), &acc) != DB_OK) {
            json_object_put(s.map);
            return -1;
        }
        size_t n = acc.nrows;
        db_rows_free(&acc);
        if (!n) {
            json_object_put(s.map);
            return refuse(f, 422, "unknown_account", "account_id", "no such WhatsApp account");
        }
    }
    long long acc = s.has_account ? s.account_id : c->account_id;
    const char *tname = s.tname ? s.tname : c->tname, *tlang = s.tlang ? s.tlang : c->tlang;
    json_object *map = s.map ? s.map : json_object_get(c->map), *body = NULL;
    if (check_mapping(req, acc, tname, tlang, map, &body) < 0) {
        json_object_put(map);
        return refuse(f, req->status, "answered", NULL, "answered");
    }
    int rc = db_exec(
        req->app->db,
        "UPDATE campaigns SET name = COALESCE(?, name), account_id = ?, template_name = ?, "
        "template_language = ?, param_map = ?, body_params = ?, batch_size = COALESCE(?, "
        "batch_size), interval_ms = COALESCE(?, interval_ms), daily_cap = IF(?, ?, daily_cap), "
        "send_window_start = IF(?, ?, send_window_start), send_window_end = IF(?, ?, "
        "send_window_end) WHERE id = ?",
        DB_ARGS(DB_STR(s.name), DB_INT(acc), DB_STR(tname), DB_STR(tlang), DB_STR(json_text(map)),
                DB_STR(json_text(body)), s.has_batch ? DB_INT(s.batch) : DB_NULL,
                s.has_interval ? DB_INT(s.interval) : DB_NULL, DB_INT(s.has_cap),
                s.cap_null ? DB_NULL : DB_INT(s.cap), DB_INT(s.has_window),
                s.window_null ? DB_NULL : DB_INT(s.wstart), DB_INT(s.has_window),
                s.window_null ? DB_NULL : DB_INT(s.wend), DB_INT(c->id)),
        NULL);
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
    return audit_write(req, "campaign.update", "campaign", c->id, c->id, d) == DB_OK ? 0 : -1;
}

void api_campaigns_update(struct request *req)
{
    run_action(req, do_update, 1);
}

void api_campaigns_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct camp c;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        return;
    }
    int lr = camp_load(db, req->ids[0], 1, &c);
    if (lr != 0) {
        db_rollback(db);
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        return;
    }
    if (strcmp(c.status, "draft") != 0) {
        db_rollback(db);
        http_errorf(req, 409, "invalid_state", NULL,
                    "a %s campaign cannot be deleted (only drafts can; cancel it instead)",
                    c.status);
        camp_free(&c);
        return;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(c.name));
    json_object_object_add(d, "recipients", json_object_new_int64(c.total));
    camp_free(&c);
    if (db_exec(db, "DELETE FROM recipients WHERE campaign_id = ?", DB_ARGS(DB_INT(req->ids[0])),
                NULL) != DB_OK ||
        db_exec(db, "DELETE FROM campaigns WHERE id = ?", DB_ARGS(DB_INT(req->ids[0])), NULL) !=
            DB_OK ||
        audit_write(req, "campaign.delete", "campaign", req->ids[0], req->ids[0], d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the campaign");
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}

void api_campaigns_clone(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in =
        req->content_length > 0 ? http_json_body(req, JSON_LIMIT) : json_object_new_object();
    if (!in)
        return;
    struct db *db = req->app->db;
    const char *name = json_str(in, "name");
    const char *mode = json_str(in, "recipients");
    json_object *v;
    if (json_object_object_get_ex(in, "name", &v) && (!name || !*name || strlen(name) > 200)) {
        http_error(req, 400, "invalid_field", "name has 1 to 200 characters", "name");
        goto out;
    }
    if (!mode)
        mode = "none";
    if (strcmp(mode, "none") && strcmp(mode, "all") && strcmp(mode, "failed")) {
        http_error(req, 400, "invalid_field", "recipients is none, all or failed", "recipients");
        goto out;
    }
    struct camp c;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    int lr = camp_load(db, req->ids[0], 0, &c);
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
    else
        snprintf(cname, sizeof cname, "%.190s (copia)", c.name);
    camp_free(&c);
    struct db_res res;
    if (db_exec(db,
                "INSERT INTO campaigns (account_id, name, template_name, template_language, "
                "body_params, param_map, batch_size, interval_ms, daily_cap, send_window_start, "
                "send_window_end, created_by, cloned_from) SELECT account_id, ?, template_name, "
                "template_language, body_params, param_map, batch_size, interval_ms, daily_cap, "
                "send_window_start, send_window_end, ?, id FROM campaigns WHERE id = ?",
                DB_ARGS(DB_STR(cname), DB_STR(req->user), DB_INT(req->ids[0])), &res) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "clone the campaign");
        goto out;
    }
    long long nid = (long long)res.insert_id, copied = 0;
    if (strcmp(mode, "none") != 0) {
        struct db_res r2;
        /* Opted-out numbers stay behind. */
        int rc = db_exec(
            db,
            "INSERT INTO recipients (campaign_id, phone, contact_id, vars) SELECT ?, "
            "r.phone, r.contact_id, r.vars FROM recipients r WHERE r.campaign_id = ? "
            "AND (? = 0 OR r.status IN ('failed', 'unknown')) AND NOT " PERSON_BLOCKED_SQL(
                "r.phone"),
            DB_ARGS(DB_INT(nid), DB_INT(req->ids[0]), DB_INT(strcmp(mode, "failed") == 0)), &r2);
        copied = (long long)r2.affected;
        json_object *def = json_object_new_object();
        json_object_object_add(def, "from_campaign", json_object_new_int64(req->ids[0]));
        json_object_object_add(def, "recipients", json_object_new_string(mode));
        if (rc != DB_OK ||
            db_exec(db, "UPDATE campaigns SET total_count = ?, pending_count = ? WHERE id = ?",
                    DB_ARGS(DB_INT(copied), DB_INT(copied), DB_INT(nid)), NULL) != DB_OK ||
            db_exec(db,
                    "INSERT INTO audience_imports (campaign_id, kind, definition, rows_read, "
                    "accepted, actor) VALUES (?, 'clone', ?, ?, ?, ?)",
                    DB_ARGS(DB_INT(nid), DB_STR(json_text(def)), DB_INT(copied), DB_INT(copied),
                            DB_STR(req->user)),
                    NULL) != DB_OK) {
            json_object_put(def);
            db_rollback(db);
            http_db_error(req, "copy the recipients");
            goto out;
        }
        json_object_put(def);
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
    answer_campaign(req, nid, 201);
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
    return refuse(f, 400, "risk_not_acknowledged", "acknowledge_risk",
                  "sending to many people can get the WhatsApp number restricted or blocked by "
                  "Meta; read the preflight warnings and send \"acknowledge_risk\": true");
}

static int do_start(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                    json_object *extra)
{
    const char *at = json_str(in, "at");
    json_object *v;
    char when[24];
    time_t t;
    if (json_object_object_get_ex(in, "at", &v) && !json_object_is_type(v, json_type_null)) {
        if (!at || apival_parse_time(at, when, &t) != 0)
            return refuse(f, 400, "invalid_field", "at",
                          "at is a time with its offset, e.g. 2026-03-02T09:00:00-03:00");
        time_t now = time(NULL);
        if (t <= now)
            return refuse(f, 400, "invalid_field", "at",
                          "at is in the past; leave it out to "
                          "start now");
        if (t > now + 366 * 86400)
            return refuse(f, 400, "invalid_field", "at", "at is more than a year away");
    } else {
        at = NULL;
    }
    if (acknowledged(in, f))
        return -1;
    const struct campaign_transition *row;
    if (refused_by_state(c, f, at ? CEV_SCHEDULE : CEV_START,
                         "be started (only a draft or scheduled one can)", &row))
        return -1;
    if (c->total == 0)
        return refuse(f, 409, "no_recipients", NULL, "the campaign has no recipients");
    if (sendable(req, c, f, NULL, NULL))
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
    run_action(req, do_start, 0);
}

static int do_pause(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                    json_object *extra)
{
    (void)extra;
    const struct campaign_transition *t;
    if (refused_by_state(c, f, CEV_PAUSE, "be paused (only a running or scheduled one can)", &t))
        return -1;
    const char *reason = json_str(in, "reason");
    if (reason && strlen(reason) > 500)
        return refuse(f, 400, "invalid_field", "reason", "reason has at most 500 characters");
    char why[700];
    snprintf(why, sizeof why, "paused by %s%s%s", req->user, reason ? ": " : "",
             reason ? reason : "");
    if (campaign_state_apply_one(req->app->db, c->id, CEV_PAUSE, CACT_OPERATOR, why, NULL) != DB_OK)
        return -1;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "from", json_object_new_string(c->status));
    if (reason)
        json_object_object_add(d, "reason", json_object_new_string(reason));
    return audit_write(req, t->audit, "campaign", c->id, c->id, d) == DB_OK ? 0 : -1;
}

void api_campaigns_pause(struct request *req)
{
    run_action(req, do_pause, 0);
}

static int do_resume(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                     json_object *extra)
{
    (void)in;
    const struct campaign_transition *t;
    if (refused_by_state(c, f, CEV_RESUME, "be resumed (only a paused one can)", &t))
        return -1;
    if (!c->resumable)
        return refuse(f, 409, "not_resumable", NULL,
                      "Meta must lift the cause of this pause first (a paused or disabled "
                      "template, a disabled account): see the pause reason");
    if (c->restricted)
        return refuse(f, 409, "account_restricted", NULL,
                      "Meta restricts this WhatsApp account: resume once the restriction ends");
    if (sendable(req, c, f, NULL, NULL))
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
    run_action(req, do_resume, 0);
}

static int do_cancel(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                     json_object *extra)
{
    (void)in;
    const struct campaign_transition *t;
    if (refused_by_state(c, f, CEV_CANCEL,
                         "be cancelled (drafts are deleted; finished ones stay as they are)", &t))
        return -1;
    struct db_res res;
    if (db_exec(req->app->db,
                "UPDATE recipients SET status = 'cancelled', next_attempt_at = "
                "DEFAULT(next_attempt_at) WHERE campaign_id = ? AND status = 'pending'",
                DB_ARGS(DB_INT(c->id)), &res) != DB_OK)
        return -1;
    struct msg_delta d = {0};
    delta_times(&d, MSG_PENDING, MSG_CANCELLED, (long long)res.affected);
    if (counters_apply(req->app->db, c->id, &d) != DB_OK ||
        campaign_state_apply_one(req->app->db, c->id, CEV_CANCEL, CACT_OPERATOR, NULL, NULL) !=
            DB_OK)
        return -1;
    json_object_object_add(extra, "cancelled_recipients",
                           json_object_new_int64((long long)res.affected));
    json_object *a = json_object_new_object();
    json_object_object_add(a, "from", json_object_new_string(c->status));
    json_object_object_add(a, "cancelled_recipients",
                           json_object_new_int64((long long)res.affected));
    return audit_write(req, t->audit, "campaign", c->id, c->id, a) == DB_OK ? 0 : -1;
}

void api_campaigns_cancel(struct request *req)
{
    run_action(req, do_cancel, 0);
}

/* Whether a failure with this code may be sent again: not for opt-outs, numbers that are not
 * on WhatsApp, templates disabled for good, or other permanent failures. */
static int retryable(int code)
{
    switch (cloudapi_classify(code, CLOUDAPI_HTTP_WEBHOOK)) {
    case CLOUDAPI_ACT_FAIL:
    case CLOUDAPI_ACT_OPTOUT:
    case CLOUDAPI_ACT_INVALID_NUMBER:
    case CLOUDAPI_ACT_STOP_CAMPAIGN:
        return 0;
    default:
        return 1;
    }
}

static int do_retry(struct request *req, json_object *in, struct camp *c, struct refusal *f,
                    json_object *extra)
{
    int unknown = 0, present;
    json_object *v;
    if (json_object_object_get_ex(in, "include_unknown", &v)) {
        if (!json_object_is_type(v, json_type_boolean))
            return refuse(f, 400, "invalid_field", "include_unknown",
                          "include_unknown must be true or false");
        unknown = json_object_get_boolean(v);
    }
    (void)present;
    if (acknowledged(in, f))
        return -1;
    const struct campaign_transition *t;
    if (refused_by_state(c, f, CEV_RETRY, "be retried", &t))
        return -1;
    if (sendable(req, c, f, NULL, NULL))
        return -1;
    struct db *db = req->app->db;
    struct db_rows r;
    if (db_query(db,
                 "SELECT COALESCE(last_error_code, 0), COUNT(*) FROM recipients WHERE "
                 "campaign_id = ? AND status = 'failed' GROUP BY last_error_code",
                 DB_ARGS(DB_INT(c->id)), &r) != DB_OK)
        return -1;
    char in_list[4096] = "";
    db_arg args[200];
    size_t na = 0, len = 0;
    long long skipped = 0;
    json_object *kept = json_object_new_object();
    args[na++] = DB_INT(c->id);
    for (size_t i = 0; i < r.nrows && na < 190; i++) {
        int code = (int)db_int(&r, i, 0, 0);
        if (!retryable(code)) {
            char k[16];
            snprintf(k, sizeof k, "%d", code);
            json_object_object_add(kept, k, json_object_new_int64(db_int(&r, i, 1, 0)));
            skipped += db_int(&r, i, 1, 0);
            continue;
        }
        len += (size_t)snprintf(in_list + len, sizeof in_list - len, "%s?", na > 1 ? "," : "");
        args[na++] = DB_INT(code);
    }
    db_rows_free(&r);
    long long moved_failed = 0, moved_unknown = 0;
    struct db_res res;
    if (na > 1) {
        char sql[4400];
        snprintf(sql, sizeof sql,
                 "UPDATE recipients SET status = 'pending', attempts = 0, next_attempt_at = "
                 "NOW(3), claim_token = NULL, claimed_by = NULL, lease_until = NULL WHERE "
                 "campaign_id = ? AND status = 'failed' AND COALESCE(last_error_code, 0) IN (%s) "
                 "AND NOT " PERSON_BLOCKED_SQL("recipients.phone"),
                 in_list);
        if (db_exec(db, sql, args, na, &res) != DB_OK) {
            json_object_put(kept);
            return -1;
        }
        moved_failed = (long long)res.affected;
    }
    if (unknown) {
        if (db_exec(db,
                    "UPDATE recipients SET status = 'pending', attempts = 0, next_attempt_at = "
                    "NOW(3), claim_token = NULL, claimed_by = NULL, lease_until = NULL WHERE "
                    "campaign_id = ? AND status = 'unknown' AND NOT " PERSON_BLOCKED_SQL(
                        "recipients.phone"),
                    DB_ARGS(DB_INT(c->id)), &res) != DB_OK) {
            json_object_put(kept);
            return -1;
        }
        moved_unknown = (long long)res.affected;
    }
    /* A failed campaign (its token was revoked, say) may also just go on with what is left. */
    if (moved_failed + moved_unknown == 0 &&
        !(strcmp(c->status, "failed") == 0 && c->pending > 0)) {
        json_object_put(kept);
        return refuse(f, 409, "nothing_to_retry", NULL,
                      "no failed recipient can be retried (%lld failed with errors that must not "
                      "be retried)%s",
                      skipped, unknown ? "" : "; add \"include_unknown\": true for unknown ones");
    }
    struct msg_delta d = {0};
    delta_times(&d, MSG_FAILED, MSG_PENDING, moved_failed);
    delta_times(&d, MSG_UNKNOWN, MSG_PENDING, moved_unknown);
    if (counters_apply(db, c->id, &d) != DB_OK) {
        json_object_put(kept);
        return -1;
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
    run_action(req, do_retry, 0);
}

/* ---- preflight, preview, test send ----------------------------------------------------------- */

void api_campaigns_preflight(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct camp c;
    int lr = camp_load(db, req->ids[0], 0, &c);
    if (lr != 0) {
        if (lr == 1)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_db_error(req, "read the campaign");
        return;
    }
    json_object *o = json_object_new_object(), *errors = json_object_new_array(),
                *warnings = json_object_new_array();
#define PUSH(arr, code, ...)                                                                       \
    do {                                                                                           \
        char m_[512];                                                                              \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                      \
        json_object *x_ = json_object_new_object();                                                \
        json_object_object_add(x_, "code", json_object_new_string(code));                          \
        json_object_object_add(x_, "message", json_object_new_string(m_));                         \
        json_object_array_add(arr, x_);                                                            \
    } while (0)
    json_object_object_add(o, "campaign_id", json_object_new_int64(c.id));
    json_object_object_add(o, "status", json_object_new_string(c.status));
    /* Recipients after dedupe (one row per number) and opt-outs (now). */
    struct db_rows r;
    long long opted = 0;
    if (person_blocked_pending(db, c.id, &opted) != DB_OK)
        opted = 0;
    long long sendable_n = c.pending - opted;
    json_object *rc = json_object_new_object();
    json_object_object_add(rc, "total", json_object_new_int64(c.total));
    json_object_object_add(rc, "pending", json_object_new_int64(c.pending));
    json_object_object_add(rc, "opted_out_since_added", json_object_new_int64(opted));
    json_object_object_add(rc, "will_send", json_object_new_int64(sendable_n));
    json_object_object_add(o, "recipients", rc);
    /* Rows rejected by every import, by reason. */
    json_object *by = json_object_new_object();
    long long rejected = 0;
    if (db_query(db,
                 "SELECT rejected_by_reason, rejected FROM audience_imports WHERE campaign_id = ?",
                 DB_ARGS(DB_INT(c.id)), &r) == DB_OK) {
        for (size_t i = 0; i < r.nrows; i++) {
            rejected += db_int(&r, i, 1, 0);
            json_object *m = parse_json_or(db_val(&r, i, 0), json_object_new_object());
            json_object_object_foreach(m, k, v)
            {
                json_object *cur;
                long long add = json_object_get_int64(v);
                if (json_object_object_get_ex(by, k, &cur))
                    json_object_set_int64(cur, json_object_get_int64(cur) + add);
                else
                    json_object_object_add(by, k, json_object_new_int64(add));
            }
            json_object_put(m);
        }
        json_object_object_add(o, "imports", json_object_new_int64((long long)r.nrows));
        db_rows_free(&r);
    }
    json_object *rej = json_object_new_object();
    json_object_object_add(rej, "total", json_object_new_int64(rejected));
    json_object_object_add(rej, "by_reason", by);
    json_object_object_add(o, "rejected_rows", rej);
    /* Template and parameters. */
    struct refusal f = {0};
    struct cloudapi_slots s = {0};
    char *components = NULL;
    json_object *tp = json_object_new_object();
    struct tmpl_info ti;
    int tl = templates_lookup(db, c.account_id, c.tname, c.tlang, &ti);
    json_object_object_add(tp, "name", json_object_new_string(c.tname));
    json_object_object_add(tp, "language", json_object_new_string(c.tlang));
    json_object_object_add(tp, "status", tl == 0 ? json_object_new_string(ti.status) : NULL);
    json_object_object_add(tp, "category", tl == 0 ? json_object_new_string(ti.category) : NULL);
    int marketing = tl == 0 && strcmp(ti.category, "MARKETING") == 0;
    int has_stop = tl == 0 && (strstr(ti.components, "STOP") || strstr(ti.components, "BAJA") ||
                               strstr(ti.components, "QUICK_REPLY"));
    if (tl == 0)
        templates_info_free(&ti);
    if (sendable(req, &c, &f, &s, &components) != 0) {
        PUSH(errors, f.code, "%s", f.msg);
        json_object_object_add(tp, "params_ok", json_object_new_boolean(0));
    } else {
        json_object_object_add(tp, "params_ok", json_object_new_boolean(1));
        json_object *slots = json_object_new_array();
        char label[96];
        for (size_t i = 0; i < s.n; i++) {
            json_object *x = json_object_new_object();
            parammap_slot_label(&s.v[i], label, sizeof label);
            json_object_object_add(x, "slot", json_object_new_string(label));
            json_object_object_add(x, "from", json_object_get(parammap_item(c.map, &s, i)));
            json_object_array_add(slots, x);
        }
        json_object_object_add(tp, "slots", slots);
        cloudapi_slots_free(&s);
        free(components);
    }
    json_object_object_add(o, "template", tp);
    if (c.total == 0)
        PUSH(errors, "no_recipients", "the campaign has no recipients");
    if (!c.has_secret)
        PUSH(warnings, "no_app_secret",
             "the account has no app secret: status webhooks cannot be verified, so delivery "
             "and read counts will not move");
    /* Budget: unique users reached in the last 24 h against the messaging tier, from the
     * worker's own source (contact_pace), never a scan of the send log. */
    long long limit = account_tier_limit(c.tier), used = 0;
    account_tier_used(db, c.waba, limit, &used);
    json_object *b = json_object_new_object();
    json_object_object_add(b, "messaging_tier", json_object_new_string(c.tier));
    json_object_object_add(b, "limit", limit > 0 ? json_object_new_int64(limit) : NULL);
    json_object_object_add(b, "used_last_24h", json_object_new_int64(used));
    long long remaining = limit > 0 ? (limit > used ? limit - used : 0) : -1;
    json_object_object_add(b, "remaining",
                           remaining >= 0 ? json_object_new_int64(remaining) : NULL);
    json_object_object_add(b, "campaign_daily_cap",
                           c.has_cap ? json_object_new_int64(c.cap) : NULL);
    json_object_object_add(o, "daily_budget", b);
    /* Duration at the configured rate, and in days when a cap or the tier limits the day. */
    double rate = configured_rate(c.throughput, c.interval);
    long long per_day = -1;
    if (limit > 0)
        per_day = limit;
    if (c.has_cap && (per_day < 0 || c.cap < per_day))
        per_day = c.cap;
    json_object *est = json_object_new_object();
    json_object_object_add(est, "rate_per_second", json_object_new_double(rate));
    json_object_object_add(est, "seconds",
                           json_object_new_int64((long long)ceil((double)sendable_n / rate)));
    json_object_object_add(est, "days",
                           per_day > 0 ? json_object_new_int64((sendable_n + per_day - 1) / per_day)
                                       : json_object_new_int64(sendable_n > 0 ? 1 : 0));
    json_object_object_add(o, "estimate", est);
    /* Warnings (seed: warn about the risk of being blocked). */
    PUSH(warnings, "blocking_risk",
         "Bulk messages that people do not expect get reported and blocked; too many blocks "
         "lower the number's quality rating and Meta can restrict or disable it. Send only to "
         "people who agreed to hear from you, with an easy way to opt out.");
    if (remaining >= 0 && sendable_n > remaining)
        PUSH(warnings, "over_daily_budget",
             "%lld recipients but only %lld new users can be reached in the next 24 h "
             "(%s): the rest waits for the next days",
             sendable_n, remaining, c.tier);
    if (marketing)
        PUSH(warnings, "marketing_template",
             "marketing templates are charged per delivered message and are the most reported");
    if (marketing && !has_stop)
        PUSH(warnings, "no_opt_out",
             "the template offers no way to opt out (no STOP text or quick reply)");
    if (strcmp(c.quality, "RED") == 0 || strcmp(c.quality, "YELLOW") == 0)
        PUSH(warnings, "low_quality",
             "the number's quality rating is %s: a large send now risks a restriction", c.quality);
    if (sendable_n > 1000)
        PUSH(warnings, "template_pacing",
             "Meta may hold messages of a new or just-unpaused template (template pacing) "
             "until the first ~1,000 show good quality");
    if (c.sandbox)
        PUSH(warnings, "sandbox", "this account is the sandbox: nothing reaches a real phone");
    if (opted > 0)
        PUSH(warnings, "opted_out",
             "%lld recipients opted out since they were added; they will not be sent (the "
             "sender records them as blocked)",
             opted);
    json_object_object_add(o, "errors", errors);
    json_object_object_add(o, "warnings", warnings);
    json_object_object_add(o, "ok", json_object_new_boolean(json_object_array_length(errors) == 0));
#undef PUSH
    camp_free(&c);
    audit_write(req, "campaign.preflight", "campaign", req->ids[0], req->ids[0], NULL);
    http_json(req, 200, o);
}

/* Loads the vars of the recipient with that phone (normalized with the account's country). */
static json_object *recipient_vars(struct request *req, const struct camp *c, const char *phone,
                                   int *status)
{
    char e164[E164_MAX + 1];
    *status = 0;
    if (e164_normalize(phone, strlen(phone), c->country, e164) != E164_OK) {
        *status = 400;
        return NULL;
    }
    struct db_rows r;
    if (db_query(req->app->db, "SELECT vars FROM recipients WHERE campaign_id = ? AND phone = ?",
                 DB_ARGS(DB_INT(c->id), DB_STR(e164)), &r) != DB_OK) {
        *status = 500;
        return NULL;
    }
    if (r.nrows == 0) {
        db_rows_free(&r);
        *status = 404;
        return NULL;
    }
    json_object *v = parse_json_or(db_val(&r, 0, 0), json_object_new_object());
    db_rows_free(&r);
    return v;
}

void api_campaigns_preview(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in =
        req->content_length > 0 ? http_json_body(req, JSON_LIMIT) : json_object_new_object();
    if (!in)
        return;
    struct camp c;
    int lr = camp_load(req->app->db, req->ids[0], 0, &c);
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
                http_error(req, 400, "invalid_field", "phone is not a valid number", "phone");
            else if (st == 404)
                http_error(req, 404, "not_found", "that number is not a recipient of this campaign",
                           "phone");
            else
                http_db_error(req, "read the recipient");
            goto out;
        }
    } else {
        json_object *v;
        if (json_object_object_get_ex(in, "vars", &v)) {
            if (!json_object_is_type(v, json_type_object)) {
                http_error(req, 400, "invalid_field", "vars is an object of column: value", "vars");
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
    camp_free(&c);
    json_object_put(in);
}

void api_campaigns_test(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct db *db = req->app->db;
    struct camp c;
    struct cloudapi_slots s = {0};
    char *components = NULL, *body = NULL;
    const char **values = NULL;
    json_object *vars = NULL;
    struct account_list accs = {0};
    int lr = camp_load(db, req->ids[0], 0, &c);
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
        http_errorf(req, 400, "invalid_field", "phone", "phone is required: a WhatsApp number (%s)",
                    phone ? e164_strerror(st) : "missing");
        goto out;
    }
    json_object *v;
    if (json_object_object_get_ex(in, "vars", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            http_error(req, 400, "invalid_field", "vars is an object of column: value", "vars");
            goto out;
        }
        vars = json_object_get(v);
    } else {
        int vs;
        vars = recipient_vars(req, &c, to, &vs); /* the recipient's own values when it is one */
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
    if (sendable(req, &c, &f, &s, &components) != 0) {
        http_error(req, f.status, f.code, f.msg, f.field);
        goto out;
    }
    char err[512];
    values = calloc(s.n + 1, sizeof *values);
    if (!values || parammap_values(c.map, &s, vars, values, err, sizeof err) != 0) {
        http_error(req, 422, "missing_value", values ? err : "out of memory", "vars");
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
    /* Without an answer the one-off call cannot tell how far it got: in doubt (the
     * worker's table, lib/sendverdict.h). */
    enum sendverdict verdict =
        a.status ? sendverdict_decide(SENDVERDICT_ANSWERED, a.status, a.body, a.len, &res)
                 : sendverdict_decide(SENDVERDICT_AFTER_SEND, 0, a.err, strlen(a.err), &res);
    graph_answer_free(&a);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "to", json_object_new_string(to));
    json_object_object_add(o, "accepted", json_object_new_boolean(res.accepted));
    json_object_object_add(o, "verdict", json_object_new_string(sendverdict_name(verdict)));
    json_object *d = json_object_new_object();
    json_object_object_add(d, "to", json_object_new_string(to));
    json_object_object_add(d, "accepted", json_object_new_boolean(res.accepted));
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
                               json_object_new_string(cloudapi_explain(res.code, "es")));
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
    camp_free(&c);
    json_object_put(in);
}
