/* The campaign as the API shows it (GET /api/campaigns, /api/campaigns/{id} and the answer of
 * every action): one SELECT and the JSON built from it, counters, progress, ETA and whether a
 * pause may be resumed now. */
#include "campaign_view.h"

#include "abvariant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "account_health.h"
#include "db.h"
#include "msgcat.h"
#include "pace.h"

#define TS CAMPAIGN_TS

static json_object *json_str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* The columns of CAMPAIGN_SELECT, in its order. */
enum campaign_view_col {
    CV_ID,
    CV_ACCOUNT_ID,
    CV_PHONE_NUMBER_ID,
    CV_NAME,
    CV_TEMPLATE_NAME,
    CV_TEMPLATE_LANGUAGE,
    CV_BODY_PARAMS,
    CV_STATUS,
    CV_PAUSE_REASON,
    CV_BATCH_SIZE,
    CV_CREATED_BY,
    CV_CREATED_AT,
    CV_STARTED_AT,
    CV_COMPLETED_AT,
    CV_TOTAL,
    CV_PENDING,
    CV_SENDING,
    CV_SENT,
    CV_DELIVERED,
    CV_READ,
    CV_FAILED,
    CV_BLOCKED,
    CV_CANCELLED,
    CV_UNKNOWN,
    CV_SANDBOX,
    CV_PARAM_MAP,
    CV_INTERVAL_MS,
    CV_DAILY_CAP,
    CV_WINDOW_START,
    CV_WINDOW_END,
    CV_SCHEDULED_AT,
    CV_CANCELLED_AT,
    CV_CLONED_FROM,
    CV_TEMPLATE_ID,
    CV_TEMPLATE_STATUS,
    CV_TEMPLATE_MISSING,
    CV_THROUGHPUT,
    CV_TIMEZONE,
    CV_CAMPAIGNS_ENABLED,
    CV_UPDATED_AT,
    CV_RECENT_5MIN,
    CV_WAIT_REASON,
    CV_PAUSE_KIND,
    CV_RESUMABLE,
    CV_REPLIES,
    CV_ACCOUNT_EVENT,
    CV_RESTRICTION,
    CV_RESEND_AFTER_S,
    CV_RECENT_SPAN_MS,
    CV_FREQ_ACTION,
    CV_HOLDOUT,
    CV_HOLDOUT_PCT,
};

/* clang-format off */
#define CAMPAIGN_SELECT                                                                            \
    "SELECT c.id, c.account_id, a.phone_number_id, c.name, c.template_name, "                      \
    "c.template_language, c.body_params, c.status, c.pause_reason, c.batch_size, c.created_by, "   \
    TS("c.created_at") ", " TS("c.started_at") ", " TS("c.completed_at") ", "                      \
    "c.total_count, k.pending_count, k.sending_count, k.sent_count, k.delivered_count, "           \
    "k.read_count, k.failed_count, k.blocked_count, k.cancelled_count, k.unknown_count, "          \
    "a.is_sandbox, c.param_map, c.interval_ms, c.daily_cap, c.send_window_start, "                 \
    "c.send_window_end, " TS("c.scheduled_at") ", " TS("c.cancelled_at") ", c.cloned_from, "       \
    "t.id, t.status, t.missing_since IS NOT NULL, a.throughput_mps, a.timezone, "                  \
    "a.campaigns_enabled, " TS("c.updated_at") ", "                                                \
    "(SELECT COALESCE(SUM(m.sent + m.failed + m.blocked + m.unknown), 0) FROM send_minutes m "     \
    "WHERE m.campaign_id = c.id AND m.minute >= NOW() - INTERVAL 5 MINUTE), "                      \
    "c.wait_reason, c.pause_kind, c.resumable, c.replies_count, a.account_event, "                 \
    "a.restriction, a.in_doubt_resend_after_s, "                                                   \
    "(SELECT TIMESTAMPDIFF(MICROSECOND, GREATEST(MIN(m.minute), COALESCE(c.started_at, "           \
    "MIN(m.minute))), NOW(3)) DIV 1000 FROM send_minutes m WHERE m.campaign_id = c.id AND "        \
    "m.minute >= NOW() - INTERVAL 5 MINUTE), c.freq_cap_action, k.holdout_count, c.holdout_pct"  \
    " FROM campaigns c JOIN campaign_totals k ON k.id = c.id "                                     \
    "JOIN wa_accounts a ON a.id = c.account_id LEFT JOIN templates t ON "                          \
    "t.account_id = c.account_id AND t.name = c.template_name AND t.language = "                   \
    "c.template_language"
/* clang-format on */

static json_object *parse_json_or(const char *s, json_object *dflt)
{
    json_object *o = s ? json_tokener_parse(s) : NULL;
    if (!o)
        return dflt;
    json_object_put(dflt);
    return o;
}

/* Messages per second the campaign may go at, from its settings and the account's rate. */
double campaign_configured_rate(long long throughput, long long interval_ms)
{
    double r = throughput > 0 ? (double)throughput : 80.0;
    if (interval_ms > 0 && 1000.0 / (double)interval_ms < r)
        r = 1000.0 / (double)interval_ms;
    return r;
}

/* The last pause in words of lang: an operator's own reason as typed, else the kind's text
 * (lib/msgcat "pause.<kind>") with the stored reason (the worker's or the webhook applier's
 * English) as detail. NULL when it was never paused or was resumed since. */
json_object *campaign_view_pause(const char *kind, const char *why, const char *lang)
{
    if (!kind && !why)
        return NULL;
    char key[64], text[512];
    int typed = kind && strcmp(kind, "operator") == 0 && why && *why;
    snprintf(key, sizeof key, "pause.%s", kind ? kind : "unknown");
    if (msgcat_render(key, lang, NULL, text, sizeof text) != 0) {
        snprintf(key, sizeof key, "pause.unknown");
        msgcat_render(key, lang, NULL, text, sizeof text);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_str_or_null(kind));
    /* an operator's own words are theirs: no key; else the catalogue's, detail the stored text */
    if (!typed) {
        json_object_object_add(o, "key", json_object_new_string(key));
        json_object_object_add(o, "params", json_object_new_object());
    }
    json_object_object_add(o, "message", json_object_new_string(typed ? why : text));
    json_object_object_add(o, "detail",
                           kind && strcmp(kind, "operator") == 0 ? NULL : json_str_or_null(why));
    return o;
}

/* Why the campaign waits (worker), who paused it last and whether a resume would be accepted
 * now: not while Meta must lift the cause (campaigns.resumable = 0, set by the webhook applier
 * for a PAUSED/DISABLED template or a disabled account), the template is not APPROVED, the
 * account is restricted or its campaigns are switched off. */
static void add_pause_state(json_object *o, const struct db_rows *r, size_t i, const char *status,
                            const char *lang)
{
    json_object_object_add(o, "wait_reason", json_str_or_null(db_val(r, i, CV_WAIT_REASON)));
    json_object_object_add(o, "pause_kind", json_str_or_null(db_val(r, i, CV_PAUSE_KIND)));
    json_object_object_add(
        o, "pause",
        campaign_view_pause(db_val(r, i, CV_PAUSE_KIND), db_val(r, i, CV_PAUSE_REASON), lang));
    json_object_object_add(o, "replies_count", json_object_new_int64(db_int(r, i, CV_REPLIES, 0)));
    /* Issue 15: recipients in doubt (unknown: the answer may have followed acceptance) and
     * what happens to them: a status webhook settles them; with the account's
     * in_doubt_resend_after_s (> 0) one that nothing settled is resent once after it. */
    json_object *d = json_object_new_object();
    long long resend = db_int(r, i, CV_RESEND_AFTER_S, 0);
    json_object_object_add(d, "count", json_object_new_int64(db_int(r, i, CV_UNKNOWN, 0)));
    json_object_object_add(
        d, "policy", json_object_new_string(resend > 0 ? "resend_once_after" : "wait_for_status"));
    json_object_object_add(d, "resend_after_s", json_object_new_int64(resend));
    json_object_object_add(o, "in_doubt", d);
    const char *code = NULL, *msg = NULL;
    const char *tstatus = db_val(r, i, CV_TEMPLATE_STATUS);
    time_t until;
    if (!status || strcmp(status, "paused") != 0) {
        code = "not_paused";
        msg = "only a paused campaign can be resumed";
    } else if (db_int(r, i, CV_RESUMABLE, 1) == 0) {
        code = "meta_must_lift";
        msg = "Meta must lift the cause of the pause first (see the pause reason)";
    } else if (!db_int(r, i, CV_CAMPAIGNS_ENABLED, 1)) {
        code = "campaigns_disabled";
        msg = "campaigns are disabled for this WhatsApp account";
    } else if (!tstatus || db_int(r, i, CV_TEMPLATE_MISSING, 0)) {
        code = "template_missing";
        msg = "the template is not in the cache or no longer exists at Meta";
    } else if (strcmp(tstatus, "APPROVED") != 0) {
        code = "template_not_approved";
        msg = "the template is not APPROVED";
    } else if (account_restricted(db_val(r, i, CV_ACCOUNT_EVENT), db_val(r, i, CV_RESTRICTION),
                                  time(NULL), &until)) {
        code = "account_restricted";
        msg = "Meta restricts the WhatsApp account";
    }
    json_object_object_add(o, "resumable", json_object_new_boolean(code == NULL));
    if (code && strcmp(code, "not_paused") != 0) {
        json_object *b = json_object_new_object();
        char key[64], text[512];
        snprintf(key, sizeof key, "resume.%s", code);
        json_object_object_add(b, "code", json_object_new_string(code));
        json_object_object_add(
            b, "message",
            json_object_new_string(msgcat_render(key, lang, NULL, text, sizeof text) == 0 ? text
                                                                                          : msg));
        json_object_object_add(o, "resume_blocked", b);
    } else {
        json_object_object_add(o, "resume_blocked", NULL);
    }
}

double campaign_view_pct(long long part, long long total)
{
    return total > 0 ? floor(1000.0 * (double)part / (double)total) / 10 : 0.0;
}

/* What the panel and any client show as the campaign's figures, from its counters (v: total,
 * pending, sending, sent, delivered, read, failed, blocked, cancelled, unknown; sent, delivered
 * and read cumulative, the rest current states). A message WhatsApp accepted and that failed
 * later counts in failed only, so sent and failed never overlap: every percentage is of the
 * total, by campaign_view_pct, for the header and the funnel alike. */
static json_object *figures_json(const long long v[10], long long holdout)
{
    long long total = v[0], pending = v[1] + v[2];
    long long ok_now = total - pending - v[6] - v[7] - v[8] - v[9] - holdout;
    if (ok_now < 0)
        ok_now = 0;
    long long sent = v[3] < ok_now ? v[3] : ok_now;
    long long delivered = v[4] < sent ? v[4] : sent, read = v[5] < delivered ? v[5] : delivered;
    const struct {
        const char *name;
        long long n;
    } f[] = {{"sent", sent},      {"delivered", delivered}, {"read", read},
             {"failed", v[6]},    {"blocked", v[7]},        {"cancelled", v[8]},
             {"unknown", v[9]},   {"pending", pending},     {"failed_or_blocked", v[6] + v[7]},
             {"holdout", holdout}};
    json_object *o = json_object_new_object();
    json_object_object_add(o, "total", json_object_new_int64(total));
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        json_object *x = json_object_new_object();
        json_object_object_add(x, "count", json_object_new_int64(f[k].n));
        json_object_object_add(x, "percent",
                               json_object_new_double(campaign_view_pct(f[k].n, total)));
        json_object_object_add(o, f[k].name, x);
    }
    json_object_object_add(o, "failed_after_sent",
                           json_object_new_int64(v[3] > sent ? v[3] - sent : 0));
    return o;
}

int campaign_window_wait_min(const char *zone, int start_h, int end_h, time_t now)
{
    int minute;
    char date[16];
    pace_tz_local(zone, now, &minute, date, sizeof date);
    return pace_window_wait_min(start_h, end_h, minute);
}

/* The worker's wait reasons (worker/schedule.c) by the words they start with. Its "outside the
 * send window" is not read: the window is judged here, fresh, by the same rule. */
static const struct {
    const char *prefix, *code;
} wait_codes[] = {
    {"template pacing", "template_pacing"},
    {"daily cap", "daily_cap"},
    {"messaging tier", "tier"},
    {"its WhatsApp account", "account"},
    {"sending below", "inflight_capped"}, /* still sends, slower: lib/pace.h */
    {"frequency cap", "freq_cap"},
};
#define WAIT_WINDOW_PREFIX "outside the send window"

/* Why a running campaign does not send now, in words of the request's language: the send
 * window from the campaign's own hours and its account's clock (lib/pace, as the worker
 * judges it), else the worker's last wait reason. *wait_s: seconds until the window opens
 * (0 when it is open or there is none). NULL when it does not wait. */
static json_object *waiting_json(const struct db_rows *r, size_t i, const char *lang,
                                 long long *wait_s)
{
    *wait_s = 0;
    const char *zone = db_val(r, i, CV_TIMEZONE), *reason = db_val(r, i, CV_WAIT_REASON);
    json_object *p = json_object_new_object(), *o = NULL;
    const char *code = NULL;
    if (db_val(r, i, CV_WINDOW_START) && db_val(r, i, CV_WINDOW_END)) {
        int ws = (int)db_int(r, i, CV_WINDOW_START, 0), we = (int)db_int(r, i, CV_WINDOW_END, 0);
        time_t now = time(NULL);
        int wait_min = campaign_window_wait_min(zone, ws, we, now);
        if (wait_min > 0) {
            code = "send_window";
            char hhmm[8], at[32];
            snprintf(hhmm, sizeof hhmm, "%02d:00", ws);
            time_t opens = now + (time_t)wait_min * 60 - now % 60;
            struct tm tm;
            gmtime_r(&opens, &tm);
            strftime(at, sizeof at, "%Y-%m-%dT%H:%M:00Z", &tm);
            *wait_s = (long long)(opens - now);
            json_object_object_add(p, "time", json_object_new_string(hhmm));
            json_object_object_add(p, "timezone", json_object_new_string(zone ? zone : "UTC"));
            json_object_object_add(p, "opens_at", json_object_new_string(at));
            json_object_object_add(p, "minutes", json_object_new_int(wait_min));
        }
    }
    if (!code && reason && *reason &&
        strncmp(reason, WAIT_WINDOW_PREFIX, strlen(WAIT_WINDOW_PREFIX)) != 0) {
        code = "other";
        for (size_t k = 0; k < sizeof wait_codes / sizeof wait_codes[0]; k++)
            if (strncmp(reason, wait_codes[k].prefix, strlen(wait_codes[k].prefix)) == 0)
                code = wait_codes[k].code;
    }
    if (code) {
        char key[48], text[512];
        snprintf(key, sizeof key, "wait.%s", code);
        msgcat_render(key, lang, p, text, sizeof text);
        o = json_object_new_object();
        json_object_object_add(o, "code", json_object_new_string(code));
        json_object_object_add(o, "key", json_object_new_string(key));
        json_object_object_add(o, "message", json_object_new_string(text));
        json_object_object_add(o, "params", p);
        json_object_object_add(o, "detail", json_str_or_null(reason));
        return o;
    }
    json_object_put(p);
    return NULL;
}

/* Progress, rate and ETA. done: recipients WhatsApp answered (sent, delivered, read or
 * failed); blocked, cancelled and in-doubt ones are not "answered". The rate is the messages
 * of the last five minutes over the time they really span (from the campaign's start when it
 * is younger), so a one-minute run reads its own pace; the ETA follows it, else the
 * configured rate, plus the wait for the send window. */
static json_object *progress_json(const struct db_rows *r, size_t i, const long long v[10],
                                  const char *status, long long wait_s)
{
    long long total = v[0], pending = v[1] + v[2];
    long long done = total - pending - v[7] - v[8] - v[9];
    if (done < 0)
        done = 0;
    json_object *p = json_object_new_object();
    json_object_object_add(p, "done", json_object_new_int64(done));
    json_object_object_add(p, "percent", json_object_new_double(campaign_view_pct(done, total)));
    long long recent = db_int(r, i, CV_RECENT_5MIN, 0);
    double span_s = (double)db_int(r, i, CV_RECENT_SPAN_MS, 0) / 1000.0;
    if (span_s > 300)
        span_s = 300;
    if (span_s < 10)
        span_s = 10;
    int running = status && strcmp(status, "running") == 0;
    double per_min = recent > 0 && wait_s == 0 ? (double)recent * 60.0 / span_s : 0.0;
    json_object_object_add(p, "rate_per_minute", json_object_new_double(round(per_min * 10) / 10));
    if (!running || pending == 0) {
        json_object_object_add(p, "eta_seconds", NULL);
    } else {
        double rate = per_min / 60.0;
        if (rate <= 0)
            rate = campaign_configured_rate(db_int(r, i, CV_THROUGHPUT, 80),
                                            db_int(r, i, CV_INTERVAL_MS, 0));
        json_object_object_add(
            p, "eta_seconds",
            json_object_new_int64(wait_s + (long long)ceil((double)pending / rate)));
    }
    json_object_object_add(p, "eta_basis",
                           json_object_new_string(wait_s > 0    ? "send window"
                                                  : per_min > 0 ? "last 5 minutes"
                                                                : "configured rate"));
    return p;
}

/* One campaign row as the API shows it, its texts in lang. */
static json_object *campaign_json(const struct db_rows *r, size_t i, const char *lang)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, CV_ID, 0)));
    json_object_object_add(o, "account_id", json_object_new_int64(db_int(r, i, CV_ACCOUNT_ID, 0)));
    json_object_object_add(o, "phone_number_id",
                           json_str_or_null(db_val(r, i, CV_PHONE_NUMBER_ID)));
    json_object_object_add(o, "name", json_str_or_null(db_val(r, i, CV_NAME)));
    json_object *t = json_object_new_object();
    json_object_object_add(t, "name", json_str_or_null(db_val(r, i, CV_TEMPLATE_NAME)));
    json_object_object_add(t, "language", json_str_or_null(db_val(r, i, CV_TEMPLATE_LANGUAGE)));
    json_object_object_add(t, "id",
                           db_val(r, i, CV_TEMPLATE_ID)
                               ? json_object_new_int64(db_int(r, i, CV_TEMPLATE_ID, 0))
                               : NULL);
    json_object_object_add(t, "status", json_str_or_null(db_val(r, i, CV_TEMPLATE_STATUS)));
    json_object_object_add(t, "missing",
                           json_object_new_boolean(db_int(r, i, CV_TEMPLATE_MISSING, 0) != 0));
    json_object_object_add(o, "template", t);
    json_object_object_add(o, "body_params",
                           parse_json_or(db_val(r, i, CV_BODY_PARAMS), json_object_new_array()));
    json_object_object_add(o, "params",
                           parse_json_or(db_val(r, i, CV_PARAM_MAP), json_object_new_object()));
    const char *status = db_val(r, i, CV_STATUS);
    json_object_object_add(o, "status", json_str_or_null(status));
    json_object_object_add(o, "pause_reason", json_str_or_null(db_val(r, i, CV_PAUSE_REASON)));
    json_object_object_add(o, "batch_size", json_object_new_int64(db_int(r, i, CV_BATCH_SIZE, 0)));
    long long interval = db_int(r, i, CV_INTERVAL_MS, 0);
    json_object_object_add(o, "interval_ms", json_object_new_int64(interval));
    json_object_object_add(o, "freq_cap_action", json_str_or_null(db_val(r, i, CV_FREQ_ACTION)));
    json_object_object_add(
        o, "daily_cap",
        db_val(r, i, CV_DAILY_CAP) ? json_object_new_int64(db_int(r, i, CV_DAILY_CAP, 0)) : NULL);
    if (db_val(r, i, CV_WINDOW_START) && db_val(r, i, CV_WINDOW_END)) {
        json_object *w = json_object_new_object();
        json_object_object_add(w, "start", json_object_new_int64(db_int(r, i, CV_WINDOW_START, 0)));
        json_object_object_add(w, "end", json_object_new_int64(db_int(r, i, CV_WINDOW_END, 0)));
        json_object_object_add(w, "timezone", json_str_or_null(db_val(r, i, CV_TIMEZONE)));
        json_object_object_add(o, "send_window", w);
    } else {
        json_object_object_add(o, "send_window", NULL);
    }
    json_object_object_add(o, "created_by", json_str_or_null(db_val(r, i, CV_CREATED_BY)));
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, CV_CREATED_AT)));
    json_object_object_add(o, "updated_at", json_str_or_null(db_val(r, i, CV_UPDATED_AT)));
    json_object_object_add(o, "scheduled_at", json_str_or_null(db_val(r, i, CV_SCHEDULED_AT)));
    json_object_object_add(o, "started_at", json_str_or_null(db_val(r, i, CV_STARTED_AT)));
    json_object_object_add(o, "completed_at", json_str_or_null(db_val(r, i, CV_COMPLETED_AT)));
    json_object_object_add(o, "cancelled_at", json_str_or_null(db_val(r, i, CV_CANCELLED_AT)));
    json_object_object_add(o, "cloned_from",
                           db_val(r, i, CV_CLONED_FROM)
                               ? json_object_new_int64(db_int(r, i, CV_CLONED_FROM, 0))
                               : NULL);
    static const char *names[] = {"total", "pending", "sending", "sent",      "delivered",
                                  "read",  "failed",  "blocked", "cancelled", "unknown"};
    json_object *c = json_object_new_object();
    long long v[10];
    for (size_t k = 0; k < 10; k++)
        v[k] = db_int(r, i, CV_TOTAL + (int)k, 0);
    long long pending = v[1] + v[2]; /* not yet answered by Meta, claimed or not */
    for (size_t k = 0; k < 10; k++)
        json_object_object_add(c, names[k], json_object_new_int64(k == 1 ? pending : v[k]));
    long long holdout = db_int(r, i, CV_HOLDOUT, 0); /* A/B holdout: final, never sent */
    json_object_object_add(c, "holdout", json_object_new_int64(holdout));
    json_object_object_add(o, "counters", c);
    json_object_object_add(o, "holdout_pct",
                           json_object_new_int64(db_int(r, i, CV_HOLDOUT_PCT, 0)));
    long long wait_s = 0;
    json_object *waiting =
        status && strcmp(status, "running") == 0 ? waiting_json(r, i, lang, &wait_s) : NULL;
    json_object_object_add(o, "figures", figures_json(v, holdout));
    json_object_object_add(o, "progress", progress_json(r, i, v, status, wait_s));
    json_object_object_add(o, "waiting", waiting);
    json_object_object_add(o, "sandbox", json_object_new_boolean(db_int(r, i, CV_SANDBOX, 0) != 0));
    add_pause_state(o, r, i, status, lang);
    return o;
}

int campaign_view_one(struct db *db, long long id, const char *lang, json_object **out)
{
    struct db_rows rows;
    *out = NULL;
    if (db_query(db, CAMPAIGN_SELECT " WHERE c.id = ?", DB_ARGS(DB_INT(id)), &rows) != DB_OK)
        return DB_ERR;
    if (rows.nrows > 0)
        *out = campaign_json(&rows, 0, lang);
    db_rows_free(&rows);
    if (*out) { /* its A/B variants (lib/abvariant.h) */
        struct abvar_set ab;
        if (abvar_load(db, id, &ab) != DB_OK) {
            json_object_put(*out);
            *out = NULL;
            return DB_ERR;
        }
        abvar_json_add(&ab, *out);
        abvar_set_free(&ab);
    }
    return DB_OK;
}

int campaign_view_list(struct db *db, const struct campaign_list_filter *f, const char *lang,
                       json_object **arr, size_t *n, long long *last_id)
{
    struct db_rows rows;
    *arr = NULL;
    *n = 0;
    *last_id = 0;
    int rc = db_query(
        db,
        CAMPAIGN_SELECT " WHERE c.id < ? AND (? IS NULL OR c.status = ?) AND (? = 0 OR "
                        "c.account_id = ?) AND (? IS NULL OR c.name LIKE ?) AND (? IS NULL OR "
                        "c.template_name = ?) AND (? IS NULL OR c.created_by = ?) "
                        "ORDER BY c.id DESC LIMIT ?",
        DB_ARGS(DB_INT(f->before_id), DB_STR(f->status), DB_STR(f->status), DB_INT(f->account_id),
                DB_INT(f->account_id), DB_STR(f->name_like), DB_STR(f->name_like),
                DB_STR(f->template_name), DB_STR(f->template_name), DB_STR(f->created_by),
                DB_STR(f->created_by), DB_INT(f->limit)),
        &rows);
    if (rc != DB_OK)
        return rc;
    *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(*arr, campaign_json(&rows, i, lang));
    *n = rows.nrows;
    if (rows.nrows)
        *last_id = db_int(&rows, rows.nrows - 1, CV_ID, 0);
    db_rows_free(&rows);
    return DB_OK;
}
