/* The campaigns table (lib/campaign_store.h): each area's statements in its own section. */
#include "campaign_store.h"

#include "abvariant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "account_health.h"
#include "db.h"
#include "hooks.h"
#include "log.h"
#include "person.h"

/* ---- campaign API and state ---- */

/* Status changes: lib/campaign_state decides (the table), this executes it. */

/* The SET clause of an effect after the status; its parameters come first in args. */
static const char *state_effect_sql(enum campaign_effect e)
{
    switch (e) {
    case CEFF_NONE:
        return "";
    case CEFF_START:
        return ", scheduled_at = NULL, started_at = COALESCE(started_at, NOW(3)), "
               "pause_reason = NULL, pause_kind = NULL, resumable = 1, wait_reason = NULL";
    case CEFF_SCHEDULE:
        return ", scheduled_at = ?";
    case CEFF_DUE:
        return ", started_at = COALESCE(started_at, NOW(3))";
    case CEFF_PAUSE:
        return ", pause_reason = ?, pause_kind = ?, resumable = ?";
    case CEFF_RESUME:
        return ", pause_reason = NULL, pause_kind = NULL, "
               "started_at = COALESCE(started_at, NOW(3))";
    case CEFF_RESUME_WAIT:
        return ", pause_reason = NULL, pause_kind = NULL";
    case CEFF_CANCEL:
        return ", cancelled_at = NOW(3), wait_reason = NULL";
    case CEFF_RETRY:
        return ", completed_at = NULL, pause_reason = NULL, pause_kind = NULL";
    case CEFF_COMPLETE:
        return ", completed_at = NOW(3), wait_reason = NULL";
    case CEFF_LIFT:
        return ", resumable = 1, pause_reason = COALESCE(?, pause_reason)";
    case CEFF_FAIL:
        return ", pause_reason = ?, pause_kind = ?, resumable = 0, completed_at = NOW(3), "
               "wait_reason = NULL";
    }
    return "";
}

static const char *state_scope_sql(enum campaign_scope_kind k)
{
    switch (k) {
    case CSCOPE_ONE:
        return "id = ?";
    case CSCOPE_ACCOUNT:
        return "account_id = ?";
    case CSCOPE_TEMPLATE:
        /* its own template, or one of its A/B variants' (lib/abvariant.h) */
        return "account_id = ? AND ((template_name = ? AND template_language = ?) OR id IN "
               "(SELECT v.campaign_id FROM campaign_variants v WHERE v.template_name = ? AND "
               "v.template_language = ?))";
    case CSCOPE_DONE:
        return "id = ? AND id IN (SELECT t.id FROM campaign_totals t WHERE t.id = ? AND "
               "t.pending_count = 0 AND t.sending_count = 0)";
    case CSCOPE_DUE:
        /* Never an overdue one, even if it became scheduled after the missed-schedule pass
         * looked (the next pass pauses it); never while the account's switch is off. */
        return "scheduled_at <= NOW(3) AND scheduled_at >= NOW(3) - INTERVAL ? SECOND AND "
               "account_id IN (SELECT id FROM wa_accounts WHERE campaigns_enabled = 1)";
    case CSCOPE_OVERDUE:
        return "scheduled_at < NOW(3) - INTERVAL ? SECOND";
    }
    return "0";
}

static size_t state_scope_args(const struct campaign_scope *s, db_arg *a)
{
    switch (s->kind) {
    case CSCOPE_ONE:
    case CSCOPE_ACCOUNT:
        a[0] = DB_INT(s->id);
        return 1;
    case CSCOPE_DONE:
        a[0] = DB_INT(s->id);
        a[1] = DB_INT(s->id);
        return 2;
    case CSCOPE_TEMPLATE:
        a[0] = DB_INT(s->id);
        a[1] = DB_STR(s->template_name);
        a[2] = DB_STR(s->template_language);
        a[3] = DB_STR(s->template_name);
        a[4] = DB_STR(s->template_language);
        return 5;
    case CSCOPE_DUE:
    case CSCOPE_OVERDUE:
        a[0] = DB_INT(s->margin_s);
        return 1;
    }
    return 0;
}

static int state_same_kind(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Rows that one UPDATE makes together: same event, actor, target and effect. */
static int state_same_group(const struct campaign_transition *a,
                            const struct campaign_transition *b, enum campaign_actor who)
{
    return a->event == b->event && (a->who & (unsigned)who) && (b->who & (unsigned)who) &&
           a->to == b->to && a->effect == b->effect && a->resumable == b->resumable &&
           state_same_kind(a->kind, b->kind);
}

/* When some hook wants campaign events: the campaigns of scope s in the statuses `in` (and
 * the lifted kind) locked, id and status, into *rows (always initialised). */
static int state_lock_moving(struct db *db, const struct campaign_scope *s,
                             const struct campaign_transition *g, const char *in,
                             struct db_rows *rows, int *locked)
{
    memset(rows, 0, sizeof *rows);
    *locked = 0;
    int want = 0;
    int rc = hooks_wanted(db, "campaign.", &want);
    if (rc != DB_OK || !want)
        return rc;
    int any = 0;
    for (int st = 0; st < CAMP_STATUS_N; st++)
        if (hooks_campaign_event((enum campaign_status)st, g->to))
            any = 1;
    if (!any)
        return DB_OK;
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT id, status FROM campaigns WHERE %s AND status IN (%s)%s ORDER BY id "
             "FOR UPDATE",
             state_scope_sql(s->kind), in, g->effect == CEFF_LIFT ? " AND pause_kind = ?" : "");
    db_arg args[8];
    size_t na = state_scope_args(s, args);
    if (g->effect == CEFF_LIFT)
        args[na++] = DB_STR(g->kind);
    rc = db_query(db, sql, args, na, rows);
    *locked = rc == DB_OK;
    return rc;
}

/* The events of the campaigns moved (rows from state_lock_moving). */
static int state_emit_events(struct db *db, const struct db_rows *rows,
                             const struct campaign_transition *g, enum campaign_actor who,
                             const char *reason)
{
    int rc = DB_OK;
    for (size_t i = 0; i < rows->nrows && rc == DB_OK; i++) {
        int from = campaign_status_parse(db_val(rows, i, 1));
        const char *ev = from < 0 ? NULL : hooks_campaign_event((enum campaign_status)from, g->to);
        if (!ev)
            continue;
        long long id = db_int(rows, i, 0, 0);
        json_object *d = json_object_new_object();
        if (!d)
            return DB_ERR;
        json_object_object_add(d, "campaign_id", json_object_new_int64(id));
        json_object_object_add(d, "from", json_object_new_string(db_val(rows, i, 1)));
        json_object_object_add(d, "to", json_object_new_string(campaign_status_name(g->to)));
        json_object_object_add(d, "by", json_object_new_string(campaign_actor_name(who)));
        if (reason && *reason && (g->effect == CEFF_PAUSE || g->effect == CEFF_FAIL))
            json_object_object_add(d, "reason", json_object_new_string(reason));
        rc = hooks_emit(db, ev, id, d);
        json_object_put(d);
    }
    return rc;
}

/* One UPDATE for the rows of ev that share row g's target and effect. */
static int state_apply_group(struct db *db, const struct campaign_scope *s,
                             const struct campaign_transition *g, enum campaign_actor who,
                             const struct campaign_change *ch, unsigned long long *affected)
{
    char in[160] = "";
    size_t len = 0, n;
    const struct campaign_transition *table = campaign_state_table(&n);
    for (size_t i = 0; i < n; i++) {
        const struct campaign_transition *t = &table[i];
        if (!state_same_group(t, g, who))
            continue;
        if (t->from == t->to && t->effect == CEFF_NONE)
            continue; /* nothing to write */
        len += (size_t)snprintf(in + len, sizeof in - len, "%s'%s'", len ? ", " : "",
                                campaign_status_name(t->from));
    }
    if (len == 0)
        return DB_OK;
    /* The campaigns this UPDATE will move, locked first, for their events (lib/hooks.h):
     * written in this transaction, after the row lock, so a campaign's events are in order. */
    struct db_rows moving = {0};
    int locked;
    int rc = state_lock_moving(db, s, g, in, &moving, &locked);
    if (rc != DB_OK || (locked && moving.nrows == 0)) {
        db_rows_free(&moving);
        return rc;
    }
    /* Locked: exactly those rows move (no campaign that entered the scope since goes without
     * its event). */
    char ids[512] = "[]";
    if (locked && moving.nrows * 21 + 3 > sizeof ids)
        locked = 0; /* more than ~24 at once: the scope's own rows (locked, so the same) */
    for (size_t i = 0, at = 1; locked && i < moving.nrows; i++)
        at += (size_t)snprintf(ids + at, sizeof ids - at, "%s%lld]", i ? "," : "",
                               db_int(&moving, i, 0, 0)) -
              1;
    char sql[1200];
    snprintf(sql, sizeof sql,
             "UPDATE campaigns SET status = '%s'%s WHERE %s AND status IN (%s)%s%s",
             campaign_status_name(g->to), state_effect_sql(g->effect), state_scope_sql(s->kind), in,
             g->effect == CEFF_LIFT ? " AND pause_kind = ?" : "",
             locked ? " AND id IN (SELECT j.id FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT "
                      "PATH '$')) j)"
                    : "");
    char reason[1201];
    snprintf(reason, sizeof reason, "%s", ch && ch->reason ? ch->reason : "");
    db_arg args[12];
    size_t na = 0;
    switch (g->effect) {
    case CEFF_SCHEDULE:
        args[na++] = DB_STR(ch ? ch->when : NULL);
        break;
    case CEFF_PAUSE:
        args[na++] = DB_STR(reason);
        args[na++] = DB_STR(g->kind);
        args[na++] = DB_INT(g->resumable);
        break;
    case CEFF_LIFT:
        args[na++] = ch && ch->reason ? DB_STR(reason) : DB_NULL;
        break;
    case CEFF_FAIL:
        args[na++] = DB_STR(reason);
        args[na++] = DB_STR(g->kind);
        break;
    default:
        break;
    }
    na += state_scope_args(s, args + na);
    if (g->effect == CEFF_LIFT)
        args[na++] = DB_STR(g->kind);
    if (locked)
        args[na++] = DB_STR(ids);
    struct db_res res;
    rc = db_exec(db, sql, args, na, &res);
    if (rc == DB_OK && affected)
        *affected += res.affected;
    if (rc == DB_OK)
        rc = state_emit_events(db, &moving, g, who, ch ? ch->reason : NULL);
    db_rows_free(&moving);
    return rc;
}

int campaign_state_apply(struct db *db, const struct campaign_scope *scope, enum campaign_event ev,
                         enum campaign_actor who, const struct campaign_change *ch,
                         unsigned long long *affected)
{
    if (affected)
        *affected = 0;
    size_t n;
    const struct campaign_transition *table = campaign_state_table(&n);
    int any = 0;
    for (size_t i = 0; i < n; i++)
        if (table[i].event == ev && (table[i].who & (unsigned)who))
            any = 1;
    if (!any) {
        log_error("campaign state: %s may not %s a campaign", campaign_actor_name(who),
                  campaign_event_name(ev));
        return DB_ERR;
    }
    /* Rows the actor may make, grouped by (to, effect, kind): the first row of each group. */
    for (size_t i = 0; i < n; i++) {
        const struct campaign_transition *t = &table[i];
        if (t->event != ev || !(t->who & (unsigned)who))
            continue;
        int first = 1;
        for (size_t j = 0; j < i && first; j++)
            if (state_same_group(&table[j], t, who))
                first = 0;
        if (!first)
            continue;
        int rc = state_apply_group(db, scope, t, who, ch, affected);
        if (rc != DB_OK)
            return rc;
    }
    return DB_OK;
}

int campaign_state_apply_one(struct db *db, long long id, enum campaign_event ev,
                             enum campaign_actor who, const char *reason,
                             unsigned long long *affected)
{
    struct campaign_scope s = {.kind = CSCOPE_ONE, .id = id};
    struct campaign_change ch = {.reason = reason};
    return campaign_state_apply(db, &s, ev, who, &ch, affected);
}

/* The counters of a campaign move in the same transaction as the recipients they count
 * (lib/msgstatus.h): the worker's recorder, the webhook applier and the API. Each writer adds
 * to its own slot row (db_writer_slot; sql/172_campaign_counts.sql), never to the campaign's
 * row, which every writer would share; campaign_totals adds them up. */
#define SQL_ADD_COUNTS                                                                             \
    "INSERT INTO campaign_counts (campaign_id, slot, pending_count, sending_count, sent_count, "   \
    "delivered_count, read_count, failed_count, blocked_count, cancelled_count, unknown_count, "   \
    "holdout_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "          \
    "pending_count = pending_count + VALUES(pending_count), "                                      \
    "sending_count = sending_count + VALUES(sending_count), "                                      \
    "sent_count = sent_count + VALUES(sent_count), "                                               \
    "delivered_count = delivered_count + VALUES(delivered_count), "                                \
    "read_count = read_count + VALUES(read_count), "                                               \
    "failed_count = failed_count + VALUES(failed_count), "                                         \
    "blocked_count = blocked_count + VALUES(blocked_count), "                                      \
    "cancelled_count = cancelled_count + VALUES(cancelled_count), "                                \
    "unknown_count = unknown_count + VALUES(unknown_count), "                                      \
    "holdout_count = holdout_count + VALUES(holdout_count)"

int campaign_store_add_counters(struct db *db, long long campaign_id, const struct msg_delta *d)
{
    if (msg_delta_is_zero(d))
        return DB_OK;
    return db_exec(db, SQL_ADD_COUNTS,
                   DB_ARGS(DB_INT(campaign_id), DB_INT(db_writer_slot(db)), DB_INT(d->pending),
                           DB_INT(d->sending), DB_INT(d->sent), DB_INT(d->delivered),
                           DB_INT(d->read), DB_INT(d->failed), DB_INT(d->blocked),
                           DB_INT(d->cancelled), DB_INT(d->unknown), DB_INT(d->holdout)),
                   NULL);
}

/* n recipients moved from one status to another. */
static void api_delta_times(struct msg_delta *d, enum msg_status from, enum msg_status to,
                            long long n)
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
    d->holdout += one.holdout * (int)n;
}

static json_object *api_parse_json_or(const char *s, json_object *dflt)
{
    json_object *o = s ? json_tokener_parse(s) : NULL;
    if (!o)
        return dflt;
    json_object_put(dflt);
    return o;
}

/* Column positions of campaign_store_load's SELECT. */
enum campaign_row_col {
    CR_ID,
    CR_ACCOUNT,
    CR_STATUS,
    CR_TNAME,
    CR_TLANG,
    CR_MAP,
    CR_TOTAL,
    CR_PENDING,
    CR_SENDING,
    CR_FAILED,
    CR_UNKNOWN,
    CR_FLAG,
    CR_TOKEN,
    CR_SECRET,
    CR_SANDBOX,
    CR_COUNTRY,
    CR_THROUGHPUT,
    CR_INTERVAL,
    CR_CAP,
    CR_TIER,
    CR_QUALITY,
    CR_TZ,
    CR_SCHEDULED_FUTURE,
    CR_STARTED,
    CR_NAME,
    CR_RESUMABLE,
    CR_ACCOUNT_EVENT,
    CR_RESTRICTION,
    CR_WABA,
    CR_IMPORTING
};

int campaign_store_load(struct db *db, long long id, int lock, struct campaign_row *c)
{
    memset(c, 0, sizeof *c);
    struct db_rows r;
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT c.id, c.account_id, c.status, c.template_name, c.template_language, "
             "c.param_map, c.total_count, t.pending_count, t.sending_count, t.failed_count, "
             "t.unknown_count, a.campaigns_enabled, a.access_token_enc IS NOT NULL, "
             "a.app_secret_enc IS NOT NULL, a.is_sandbox, a.default_country, a.throughput_mps, "
             "c.interval_ms, c.daily_cap, a.messaging_tier, a.quality_rating, a.timezone, "
             "c.scheduled_at > NOW(3), c.started_at IS NOT NULL, c.name, c.resumable, "
             "a.account_event, a.restriction, a.waba_id, c.import_token IS NOT NULL "
             "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id "
             "JOIN campaign_totals t ON t.id = c.id WHERE c.id = ?%s",
             lock ? " FOR UPDATE" : "");
    if (db_query(db, sql, DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return -1;
    if (r.nrows == 0) {
        db_rows_free(&r);
        return 1;
    }
    c->id = id;
    c->account_id = db_int(&r, 0, CR_ACCOUNT, 0);
    snprintf(c->status, sizeof c->status, "%s", db_val(&r, 0, CR_STATUS));
    snprintf(c->tname, sizeof c->tname, "%s", db_val(&r, 0, CR_TNAME));
    snprintf(c->tlang, sizeof c->tlang, "%s", db_val(&r, 0, CR_TLANG));
    c->map = api_parse_json_or(db_val(&r, 0, CR_MAP), json_object_new_object());
    c->total = db_int(&r, 0, CR_TOTAL, 0);
    c->pending = db_int(&r, 0, CR_PENDING, 0);
    c->sending = db_int(&r, 0, CR_SENDING, 0);
    c->failed = db_int(&r, 0, CR_FAILED, 0);
    c->unknown = db_int(&r, 0, CR_UNKNOWN, 0);
    c->flag = (int)db_int(&r, 0, CR_FLAG, 0);
    c->has_token = (int)db_int(&r, 0, CR_TOKEN, 0);
    c->has_secret = (int)db_int(&r, 0, CR_SECRET, 0);
    c->sandbox = (int)db_int(&r, 0, CR_SANDBOX, 0);
    snprintf(c->country, sizeof c->country, "%s", db_val(&r, 0, CR_COUNTRY));
    c->throughput = db_int(&r, 0, CR_THROUGHPUT, 80);
    c->interval = db_int(&r, 0, CR_INTERVAL, 0);
    c->has_cap = db_val(&r, 0, CR_CAP) != NULL;
    c->cap = db_int(&r, 0, CR_CAP, 0);
    snprintf(c->tier, sizeof c->tier, "%s", db_val(&r, 0, CR_TIER));
    snprintf(c->quality, sizeof c->quality, "%s", db_val(&r, 0, CR_QUALITY));
    snprintf(c->tz, sizeof c->tz, "%s", db_val(&r, 0, CR_TZ));
    c->scheduled_future = (int)db_int(&r, 0, CR_SCHEDULED_FUTURE, 0);
    c->started = (int)db_int(&r, 0, CR_STARTED, 0);
    snprintf(c->name, sizeof c->name, "%s", db_val(&r, 0, CR_NAME));
    c->resumable = (int)db_int(&r, 0, CR_RESUMABLE, 1);
    time_t until;
    c->restricted = account_restricted(db_val(&r, 0, CR_ACCOUNT_EVENT),
                                       db_val(&r, 0, CR_RESTRICTION), time(NULL), &until);
    snprintf(c->waba, sizeof c->waba, "%s", db_val(&r, 0, CR_WABA));
    c->importing = (int)db_int(&r, 0, CR_IMPORTING, 0);
    db_rows_free(&r);
    return 0;
}

void campaign_row_free(struct campaign_row *c)
{
    json_object_put(c->map);
    c->map = NULL;
}

int campaign_store_exists(struct db *db, long long id, int *exists)
{
    struct db_rows r;
    *exists = 0;
    if (db_query(db, "SELECT id FROM campaigns WHERE id = ?", DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return DB_ERR;
    *exists = r.nrows != 0;
    db_rows_free(&r);
    return DB_OK;
}

/* The first id of a one-column id query; *n its rows. */
static int api_account_ids(struct db *db, const char *sql, const db_arg *args, size_t na,
                           long long *id, size_t *n)
{
    struct db_rows r;
    *n = 0;
    if (db_query(db, sql, args, na, &r) != DB_OK)
        return DB_ERR;
    *n = r.nrows;
    if (r.nrows)
        *id = db_int(&r, 0, 0, 0);
    db_rows_free(&r);
    return DB_OK;
}

int campaign_store_account_by_phone(struct db *db, const char *phone_number_id, long long *id,
                                    size_t *n)
{
    return api_account_ids(db, "SELECT id FROM wa_accounts WHERE phone_number_id = ?",
                           DB_ARGS(DB_STR(phone_number_id)), id, n);
}

int campaign_store_only_account(struct db *db, long long *id, size_t *n)
{
    return api_account_ids(db, "SELECT id FROM wa_accounts ORDER BY id LIMIT 2", DB_NOARGS, id, n);
}

int campaign_store_account_exists(struct db *db, long long id, int *exists)
{
    long long found = 0;
    size_t n;
    int rc = api_account_ids(db, "SELECT id FROM wa_accounts WHERE id = ?", DB_ARGS(DB_INT(id)),
                             &found, &n);
    *exists = rc == DB_OK && n > 0;
    return rc;
}

int campaign_store_create(struct db *db, const struct campaign_settings_row *s, const char *user,
                          long long *id)
{
    struct db_res res;
    int rc = db_exec(
        db,
        "INSERT INTO campaigns (account_id, name, template_name, template_language, body_params, "
        "param_map, batch_size, interval_ms, daily_cap, send_window_start, send_window_end, "
        "created_by, freq_cap_action, holdout_pct) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "COALESCE(?, 'wait'), ?)",
        DB_ARGS(DB_INT(s->account_id), DB_STR(s->name), DB_STR(s->tname), DB_STR(s->tlang),
                DB_STR(s->body_params), DB_STR(s->param_map), DB_INT(s->has_batch ? s->batch : 200),
                DB_INT(s->has_interval ? s->interval : 0),
                s->has_cap && !s->cap_null ? DB_INT(s->cap) : DB_NULL,
                s->has_window && !s->window_null ? DB_INT(s->wstart) : DB_NULL,
                s->has_window && !s->window_null ? DB_INT(s->wend) : DB_NULL, DB_STR(user),
                DB_STR(s->freq_action), DB_INT(s->has_holdout ? s->holdout : 0)),
        &res);
    *id = rc == DB_OK ? (long long)res.insert_id : 0;
    return rc;
}

int campaign_store_update_settings(struct db *db, long long id,
                                   const struct campaign_settings_row *s)
{
    return db_exec(
        db,
        "UPDATE campaigns SET name = COALESCE(?, name), account_id = ?, template_name = ?, "
        "template_language = ?, param_map = ?, body_params = ?, batch_size = COALESCE(?, "
        "batch_size), interval_ms = COALESCE(?, interval_ms), daily_cap = IF(?, ?, daily_cap), "
        "send_window_start = IF(?, ?, send_window_start), send_window_end = IF(?, ?, "
        "send_window_end), freq_cap_action = COALESCE(?, freq_cap_action), holdout_pct = "
        "COALESCE(?, holdout_pct) WHERE id = ?",
        DB_ARGS(DB_STR(s->name), DB_INT(s->account_id), DB_STR(s->tname), DB_STR(s->tlang),
                DB_STR(s->param_map), DB_STR(s->body_params),
                s->has_batch ? DB_INT(s->batch) : DB_NULL,
                s->has_interval ? DB_INT(s->interval) : DB_NULL, DB_INT(s->has_cap),
                s->cap_null ? DB_NULL : DB_INT(s->cap), DB_INT(s->has_window),
                s->window_null ? DB_NULL : DB_INT(s->wstart), DB_INT(s->has_window),
                s->window_null ? DB_NULL : DB_INT(s->wend), DB_STR(s->freq_action),
                s->has_holdout ? DB_INT(s->holdout) : DB_NULL, DB_INT(id)),
        NULL);
}

/* The base of a copy's name: without a trailing " (copia)" or " (copia N)". */
static size_t copy_base_len(const char *name)
{
    size_t len = strlen(name);
    const char *p = strstr(name, " (copia");
    while (p) {
        const char *q = p + 7;
        if (*q == ' ')
            for (q++; *q >= '0' && *q <= '9'; q++)
                ;
        if (q[0] == ')' && q[1] == 0)
            return (size_t)(p - name);
        p = strstr(p + 1, " (copia");
    }
    return len;
}

int campaign_store_copy_name(struct db *db, const char *name, char *out, size_t outlen)
{
    int base = (int)copy_base_len(name);
    if (base > 180)
        base = 180;
    for (int n = 1; n < 1000; n++) {
        if (n == 1)
            snprintf(out, outlen, "%.*s (copia)", base, name);
        else
            snprintf(out, outlen, "%.*s (copia %d)", base, name, n);
        struct db_rows r;
        if (db_query(db, "SELECT 1 FROM campaigns WHERE name = ? LIMIT 1", DB_ARGS(DB_STR(out)),
                     &r) != DB_OK)
            return DB_ERR;
        size_t taken = r.nrows;
        db_rows_free(&r);
        if (!taken)
            return DB_OK;
    }
    return DB_OK; /* a thousand copies: the last name is as good as any */
}

int campaign_store_delete(struct db *db, long long id)
{
    int rc = db_exec(db, "DELETE FROM recipients WHERE campaign_id = ?", DB_ARGS(DB_INT(id)), NULL);
    if (rc == DB_OK)
        rc = db_exec(db, "DELETE FROM campaign_counts WHERE campaign_id = ?", DB_ARGS(DB_INT(id)),
                     NULL);
    if (rc == DB_OK)
        rc = db_exec(db, "DELETE FROM campaigns WHERE id = ?", DB_ARGS(DB_INT(id)), NULL);
    return rc;
}

int campaign_store_clone(struct db *db, long long from, const char *name, const char *user,
                         long long *id)
{
    struct db_res res;
    int rc = db_exec(db,
                     "INSERT INTO campaigns (account_id, name, template_name, template_language, "
                     "body_params, param_map, batch_size, interval_ms, daily_cap, "
                     "send_window_start, send_window_end, freq_cap_action, created_by, "
                     "cloned_from, holdout_pct, ab_key) SELECT account_id, ?, template_name, "
                     "template_language, body_params, param_map, batch_size, interval_ms, "
                     "daily_cap, send_window_start, send_window_end, freq_cap_action, ?, "
                     "id, holdout_pct, COALESCE(ab_key, id) FROM campaigns WHERE id = ?",
                     DB_ARGS(DB_STR(name), DB_STR(user), DB_INT(from)), &res);
    *id = rc == DB_OK ? (long long)res.insert_id : 0;
    /* The variants too, and the assignment key above: a person keeps their variant. */
    if (rc == DB_OK)
        rc = abvar_copy(db, from, *id);
    return rc;
}

static const struct {
    const char *name, *where; /* where: a constant condition on the original's row r */
} clone_modes[CLONE_MODES] = {
    [CLONE_NONE] = {"none", "0"},
    [CLONE_ALL] = {"all", "1"},
    [CLONE_FAILED] = {"failed", "r.status IN ('failed', 'unknown')"},
    [CLONE_NOT_DELIVERED] =
        {"not_delivered", "r.status IN ('sent', 'failed', 'unknown') AND r.delivered_at IS NULL"},
    [CLONE_NOT_READ] = {"not_read", "r.delivered_at IS NOT NULL AND r.read_at IS NULL"},
    [CLONE_READ_NOT_REPLIED] = {"read_not_replied",
                                "r.read_at IS NOT NULL AND r.replied_at IS NULL"},
    [CLONE_REPLIED] = {"replied", "r.replied_at IS NOT NULL"},
    /* a quick-reply button of the template answers with its context: attributed to r */
    [CLONE_CLICKED_BUTTON] = {"clicked_button",
                              "r.id IN (SELECT i.recipient_id FROM inbound_messages i WHERE "
                              "i.campaign_id = r.campaign_id AND i.recipient_id IS NOT NULL "
                              "AND i.type IN ('button', 'interactive'))"},
};

int campaign_clone_mode_parse(const char *name)
{
    for (int m = 0; name && m < CLONE_MODES; m++)
        if (strcmp(name, clone_modes[m].name) == 0)
            return m;
    return -1;
}

int campaign_store_clone_recipients(struct db *db, long long to, long long from,
                                    enum campaign_clone_mode mode, const char *def,
                                    const char *user, long long *copied)
{
    *copied = 0;
    if ((int)mode < 0 || mode >= CLONE_MODES)
        return DB_ERR;
    /* Opted-out numbers stay behind. The condition is one of the constants above. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO recipients (campaign_id, phone, contact_id, vars) SELECT ?, "
             "r.phone, r.contact_id, r.vars FROM recipients r WHERE r.campaign_id = ? "
             "AND (%s) AND NOT " PERSON_BLOCKED_SQL("r.phone") " ORDER BY r.id",
             clone_modes[mode].where);
    struct db_res r2;
    int rc = db_exec(db, sql, DB_ARGS(DB_INT(to), DB_INT(from)), &r2);
    *copied = rc == DB_OK ? (long long)r2.affected : 0;
    if (rc != DB_OK)
        return rc;
    rc = db_exec(db, "UPDATE campaigns SET total_count = ?, pending_count = ? WHERE id = ?",
                 DB_ARGS(DB_INT(*copied), DB_INT(*copied), DB_INT(to)), NULL);
    if (rc != DB_OK)
        return rc;
    return db_exec(db,
                   "INSERT INTO audience_imports (campaign_id, kind, definition, rows_read, "
                   "accepted, actor) VALUES (?, 'clone', ?, ?, ?, ?)",
                   DB_ARGS(DB_INT(to), DB_STR(def), DB_INT(*copied), DB_INT(*copied), DB_STR(user)),
                   NULL);
}

int campaign_store_cancel_pending(struct db *db, long long id, long long *n)
{
    struct db_res res;
    *n = 0;
    int rc = db_exec(db,
                     "UPDATE recipients SET status = 'cancelled', next_attempt_at = "
                     "DEFAULT(next_attempt_at) WHERE campaign_id = ? AND status = 'pending'",
                     DB_ARGS(DB_INT(id)), &res);
    if (rc != DB_OK)
        return rc;
    *n = (long long)res.affected;
    struct msg_delta d = {0};
    api_delta_times(&d, MSG_PENDING, MSG_CANCELLED, *n);
    return campaign_store_add_counters(db, id, &d);
}

int campaign_store_failed_codes(struct db *db, long long id, struct campaign_failed_code **out,
                                size_t *n)
{
    struct db_rows r;
    *out = NULL;
    *n = 0;
    if (db_query(db,
                 "SELECT COALESCE(last_error_code, 0), COUNT(*) FROM recipients WHERE "
                 "campaign_id = ? AND status = 'failed' GROUP BY last_error_code",
                 DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return DB_ERR;
    if (r.nrows) {
        *out = calloc(r.nrows, sizeof **out);
        if (!*out) {
            db_rows_free(&r);
            return DB_ERR;
        }
    }
    for (size_t i = 0; i < r.nrows; i++) {
        (*out)[i].code = (int)db_int(&r, i, 0, 0);
        (*out)[i].n = db_int(&r, i, 1, 0);
    }
    *n = r.nrows;
    db_rows_free(&r);
    return DB_OK;
}

int campaign_store_requeue(struct db *db, long long id, const int *codes, size_t ncodes,
                           int unknown, long long *moved_failed, long long *moved_unknown)
{
    char in_list[4096] = "";
    db_arg args[200];
    size_t na = 0, len = 0;
    *moved_failed = *moved_unknown = 0;
    args[na++] = DB_INT(id);
    for (size_t i = 0; i < ncodes && na < 190; i++) {
        len += (size_t)snprintf(in_list + len, sizeof in_list - len, "%s?", na > 1 ? "," : "");
        args[na++] = DB_INT(codes[i]);
    }
    struct db_res res;
    if (na > 1) {
        char sql[4400];
        snprintf(sql, sizeof sql,
                 "UPDATE recipients SET status = 'pending', attempts = 0, next_attempt_at = "
                 "NOW(3), claim_token = NULL, claimed_by = NULL, lease_until = NULL WHERE "
                 "campaign_id = ? AND status = 'failed' AND COALESCE(last_error_code, 0) IN (%s) "
                 "AND NOT " PERSON_BLOCKED_SQL("recipients.phone"),
                 in_list);
        if (db_exec(db, sql, args, na, &res) != DB_OK)
            return DB_ERR;
        *moved_failed = (long long)res.affected;
    }
    if (unknown) {
        if (db_exec(db,
                    "UPDATE recipients SET status = 'pending', attempts = 0, next_attempt_at = "
                    "NOW(3), claim_token = NULL, claimed_by = NULL, lease_until = NULL WHERE "
                    "campaign_id = ? AND status = 'unknown' AND NOT " PERSON_BLOCKED_SQL(
                        "recipients.phone"),
                    DB_ARGS(DB_INT(id)), &res) != DB_OK)
            return DB_ERR;
        *moved_unknown = (long long)res.affected;
    }
    struct msg_delta d = {0};
    api_delta_times(&d, MSG_FAILED, MSG_PENDING, *moved_failed);
    api_delta_times(&d, MSG_UNKNOWN, MSG_PENDING, *moved_unknown);
    return campaign_store_add_counters(db, id, &d);
}

int campaign_store_recipient_vars(struct db *db, long long id, const char *phone, int *found,
                                  char **vars)
{
    struct db_rows r;
    *found = 0;
    *vars = NULL;
    if (db_query(db, "SELECT vars FROM recipients WHERE campaign_id = ? AND phone = ?",
                 DB_ARGS(DB_INT(id), DB_STR(phone)), &r) != DB_OK)
        return DB_ERR;
    if (r.nrows > 0) {
        *found = 1;
        const char *v = db_val(&r, 0, 0);
        if (v && !(*vars = strdup(v))) {
            db_rows_free(&r);
            return DB_ERR;
        }
    }
    db_rows_free(&r);
    return DB_OK;
}

int campaign_store_first_recipient_vars(struct db *db, long long id, char *phone, size_t plen,
                                        int *found, char **vars)
{
    struct db_rows r;
    *found = 0;
    *vars = NULL;
    if (db_query(db, "SELECT phone, vars FROM recipients WHERE campaign_id = ? ORDER BY id LIMIT 1",
                 DB_ARGS(DB_INT(id)), &r) != DB_OK)
        return DB_ERR;
    if (r.nrows > 0) {
        *found = 1;
        snprintf(phone, plen, "%s", db_val(&r, 0, 0) ? db_val(&r, 0, 0) : "");
        const char *v = db_val(&r, 0, 1);
        if (v && !(*vars = strdup(v))) {
            db_rows_free(&r);
            return DB_ERR;
        }
    }
    db_rows_free(&r);
    return DB_OK;
}

/* ---- recipients and imports ---- */

int campaign_store_add_recipients(struct db *db, long long campaign_id, long long n)
{
    return db_exec(db,
                   "UPDATE campaigns SET total_count = total_count + ?, "
                   "pending_count = pending_count + ? WHERE id = ?",
                   DB_ARGS(DB_INT(n), DB_INT(n), DB_INT(campaign_id)), NULL);
}

int campaign_store_import_mark(struct db *db, long long campaign_id, long long token,
                               long long floor_id, int lease_s)
{
    return db_exec(db,
                   "UPDATE campaigns SET import_token = ?, import_floor_id = ?, "
                   "import_lease_until = NOW(3) + INTERVAL ? SECOND WHERE id = ?",
                   DB_ARGS(DB_INT(token), DB_INT(floor_id), DB_INT(lease_s), DB_INT(campaign_id)),
                   NULL);
}

int campaign_store_import_renew(struct db *db, long long campaign_id, long long token, int lease_s)
{
    return db_exec(db,
                   "UPDATE campaigns SET import_token = ?, import_lease_until = NOW(3) + "
                   "INTERVAL ? SECOND WHERE id = ?",
                   DB_ARGS(DB_INT(token), DB_INT(lease_s), DB_INT(campaign_id)), NULL);
}

int campaign_store_import_clear(struct db *db, long long campaign_id)
{
    return db_exec(db,
                   "UPDATE campaigns SET import_token = NULL, import_floor_id = NULL, "
                   "import_lease_until = NULL WHERE id = ?",
                   DB_ARGS(DB_INT(campaign_id)), NULL);
}

int campaign_store_clear_recipients(struct db *db, long long campaign_id)
{
    int rc = db_exec(db, "DELETE FROM recipients WHERE campaign_id = ?",
                     DB_ARGS(DB_INT(campaign_id)), NULL);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(db, "DELETE FROM campaign_counts WHERE campaign_id = ?",
                 DB_ARGS(DB_INT(campaign_id)), NULL);
    if (rc != DB_OK)
        return rc;
    return db_exec(db,
                   "UPDATE campaigns SET total_count = 0, pending_count = 0, sending_count = 0, "
                   "sent_count = 0, delivered_count = 0, read_count = 0, failed_count = 0, "
                   "blocked_count = 0, cancelled_count = 0, unknown_count = 0, holdout_count = 0 "
                   "WHERE id = ?",
                   DB_ARGS(DB_INT(campaign_id)), NULL);
}

/* ---- worker ---- */

/* Template pacing (worker/record.c): the hold of the campaign's template or of one of its A/B
 * variants' (the first held), whether it is over (its time passed or a status of the held
 * message came) and until when. */
#define SQL_RUNNING                                                                                \
    "SELECT c.*, a.campaigns_enabled AS account_enabled, "                                         \
    "k.pending_count AS left_pending, k.sending_count AS left_sending, "                           \
    "t.pacing_wamid AS pacing_wamid, t.name AS pacing_template, t.language AS pacing_language, "   \
    "DATE_FORMAT(t.pacing_until, '%Y-%m-%d %H:%i UTC') AS pacing_until_text, "                     \
    "(t.pacing_until <= NOW(3) OR EXISTS (SELECT 1 FROM message_statuses m "                       \
    "WHERE m.wamid = t.pacing_wamid)) AS pacing_over "                                             \
    "FROM campaigns c JOIN wa_accounts a ON a.id = c.account_id "                                  \
    "JOIN campaign_totals k ON k.id = c.id "                                                       \
    "LEFT JOIN templates t ON t.id = (SELECT h.id FROM templates h WHERE "                         \
    "h.account_id = c.account_id AND h.pacing_wamid IS NOT NULL AND "                              \
    "((h.name = c.template_name AND h.language = c.template_language) OR EXISTS (SELECT 1 "        \
    "FROM campaign_variants v WHERE v.campaign_id = c.id AND v.template_name = h.name AND "        \
    "v.template_language = h.language)) ORDER BY h.id LIMIT 1) "                                   \
    "WHERE c.status = 'running' ORDER BY c.id"
#define SQL_INFLIGHT                                                                               \
    "SELECT c.id FROM campaigns c JOIN campaign_totals t ON t.id = c.id "                          \
    "WHERE t.sending_count <> 0 OR c.status = 'running' "                                          \
    "ORDER BY t.sending_count <> 0 DESC, c.id LIMIT ?"
#define SQL_SET_WAIT   "UPDATE campaigns SET wait_reason = ? WHERE id = ? AND status = 'running'"
#define SQL_RAISE_RAMP "UPDATE campaigns SET ramp_step = ? WHERE id = ? AND ramp_step = ?"

const struct sql_statement campaign_store_worker_statements[] = {
    {"campaign_store.running", SQL_RUNNING, ""},
    {"campaign_store.inflight", SQL_INFLIGHT, "i"},
    {"campaign_store.set_wait_reason", SQL_SET_WAIT, "si"},
    {"campaign_store.raise_ramp", SQL_RAISE_RAMP, "iii"},
    {"campaign_store.add_counts", SQL_ADD_COUNTS, "iiiiiiiiiiii"},
    {NULL, NULL, NULL},
};

int campaign_store_running(struct db *db, struct db_rows *rows)
{
    return db_query(db, SQL_RUNNING, DB_NOARGS, rows);
}

int campaign_store_inflight(struct db *db, long long *ids, size_t max)
{
    struct db_rows r;
    if (db_query(db, SQL_INFLIGHT, DB_ARGS(DB_INT((long long)max)), &r) != DB_OK)
        return -1;
    size_t n = 0;
    for (; n < r.nrows && n < max; n++)
        ids[n] = db_int(&r, n, 0, 0);
    db_rows_free(&r);
    return (int)n;
}

int campaign_store_set_wait_reason(struct db *db, long long id, const char *reason)
{
    return db_exec(db, SQL_SET_WAIT,
                   DB_ARGS(reason && *reason ? DB_STR(reason) : DB_NULL, DB_INT(id)), NULL);
}

int campaign_store_raise_ramp(struct db *db, long long id, int from, int *raised)
{
    struct db_res res = {0, 0};
    int rc = db_exec(db, SQL_RAISE_RAMP, DB_ARGS(DB_INT(from + 1), DB_INT(id), DB_INT(from)), &res);
    *raised = rc == DB_OK && res.affected;
    return rc;
}

/* ---- webhooks ---- */

int campaign_store_add_replies(struct db *db, long long campaign_id, long long n)
{
    if (n == 0)
        return DB_OK;
    return db_exec(db, "UPDATE campaigns SET replies_count = replies_count + ? WHERE id = ?",
                   DB_ARGS(DB_INT(n), DB_INT(campaign_id)), NULL);
}
