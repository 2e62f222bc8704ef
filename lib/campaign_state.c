#include "campaign_state.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"

#define OP  CACT_OPERATOR
#define WK  CACT_WORKER
#define SCH CACT_SCHEDULER
#define WH  CACT_WEBHOOK

/* Decisions behind the rows (docs/api.md, Campaign states):
 * - A pause from Meta's answers (error codes, parameters, auto-pause) applies to running and
 *   scheduled campaigns alike, whoever saw it (the worker used to pause running ones only,
 *   the webhook applier running or scheduled): a scheduled campaign would meet the same
 *   problem at its start. It never overwrites an earlier pause (the operator's reason stays).
 * - A template paused or disabled by Meta also marks an already paused campaign: it cannot be
 *   resumed until Meta lifts it, whoever paused it first.
 * - campaigns_enabled off pauses running campaigns with their own kind (account_disabled,
 *   resumable): an operator resumes them once the flag is on again; they never resume by
 *   themselves (turning the flag on is not a decision about each campaign). Scheduled ones
 *   stay scheduled and do not start while it is off (CSCOPE_DUE); a schedule missed meanwhile
 *   is paused by the scheduler as any missed schedule.
 * - failed: the campaign cannot go on by itself (token revoked, account deleted); an operator
 *   may retry it once the cause is fixed. */
static const struct campaign_transition table[] = {
    /* operator */
    {CAMP_DRAFT, CEV_START, CAMP_RUNNING, OP, CEFF_START, NULL, 1, "campaign.start"},
    {CAMP_SCHEDULED, CEV_START, CAMP_RUNNING, OP, CEFF_START, NULL, 1, "campaign.start"},
    {CAMP_DRAFT, CEV_SCHEDULE, CAMP_SCHEDULED, OP, CEFF_SCHEDULE, NULL, 1, "campaign.schedule"},
    {CAMP_SCHEDULED, CEV_SCHEDULE, CAMP_SCHEDULED, OP, CEFF_SCHEDULE, NULL, 1, "campaign.schedule"},
    {CAMP_RUNNING, CEV_PAUSE, CAMP_PAUSED, OP, CEFF_PAUSE, "operator", 1, "campaign.pause"},
    {CAMP_SCHEDULED, CEV_PAUSE, CAMP_PAUSED, OP, CEFF_PAUSE, "operator", 1, "campaign.pause"},
    {CAMP_PAUSED, CEV_RESUME, CAMP_RUNNING, OP, CEFF_RESUME, NULL, 1, "campaign.resume"},
    {CAMP_PAUSED, CEV_RESUME_SCHEDULED, CAMP_SCHEDULED, OP, CEFF_RESUME_WAIT, NULL, 1,
     "campaign.resume"},
    {CAMP_SCHEDULED, CEV_CANCEL, CAMP_CANCELLED, OP, CEFF_CANCEL, NULL, 1, "campaign.cancel"},
    {CAMP_RUNNING, CEV_CANCEL, CAMP_CANCELLED, OP, CEFF_CANCEL, NULL, 1, "campaign.cancel"},
    {CAMP_PAUSED, CEV_CANCEL, CAMP_CANCELLED, OP, CEFF_CANCEL, NULL, 1, "campaign.cancel"},
    {CAMP_RUNNING, CEV_RETRY, CAMP_RUNNING, OP, CEFF_NONE, NULL, 1, "campaign.retry"},
    {CAMP_PAUSED, CEV_RETRY, CAMP_PAUSED, OP, CEFF_NONE, NULL, 1, "campaign.retry"},
    {CAMP_COMPLETED, CEV_RETRY, CAMP_RUNNING, OP, CEFF_RETRY, NULL, 1, "campaign.retry"},
    {CAMP_FAILED, CEV_RETRY, CAMP_RUNNING, OP, CEFF_RETRY, NULL, 1, "campaign.retry"},
    /* scheduler */
    {CAMP_SCHEDULED, CEV_SCHEDULE_DUE, CAMP_RUNNING, SCH, CEFF_DUE, NULL, 1, NULL},
    {CAMP_SCHEDULED, CEV_SCHEDULE_MISSED, CAMP_PAUSED, SCH, CEFF_PAUSE, "schedule", 1, NULL},
    /* worker */
    {CAMP_RUNNING, CEV_COMPLETE, CAMP_COMPLETED, WK, CEFF_COMPLETE, NULL, 1, NULL},
    {CAMP_RUNNING, CEV_ACCOUNT_DISABLED, CAMP_PAUSED, WK, CEFF_PAUSE, "account_disabled", 1, NULL},
    /* worker and webhook applier: Meta's answers and statuses */
    {CAMP_RUNNING, CEV_PAUSE_ERROR, CAMP_PAUSED, WK | WH, CEFF_PAUSE, "error", 1, NULL},
    {CAMP_SCHEDULED, CEV_PAUSE_ERROR, CAMP_PAUSED, WK | WH, CEFF_PAUSE, "error", 1, NULL},
    {CAMP_RUNNING, CEV_PAUSE_PARAMS, CAMP_PAUSED, WK | WH, CEFF_PAUSE, "parameters", 1, NULL},
    {CAMP_SCHEDULED, CEV_PAUSE_PARAMS, CAMP_PAUSED, WK | WH, CEFF_PAUSE, "parameters", 1, NULL},
    {CAMP_RUNNING, CEV_PAUSE_AUTO, CAMP_PAUSED, WK | WH, CEFF_PAUSE, "circuit_breaker", 1, NULL},
    {CAMP_SCHEDULED, CEV_PAUSE_AUTO, CAMP_PAUSED, WK | WH, CEFF_PAUSE, "circuit_breaker", 1, NULL},
    {CAMP_RUNNING, CEV_FAIL, CAMP_FAILED, WK | WH, CEFF_FAIL, "error", 0, NULL},
    {CAMP_SCHEDULED, CEV_FAIL, CAMP_FAILED, WK | WH, CEFF_FAIL, "error", 0, NULL},
    {CAMP_PAUSED, CEV_FAIL, CAMP_FAILED, WK | WH, CEFF_FAIL, "error", 0, NULL},
    /* webhook applier: template and account events */
    {CAMP_RUNNING, CEV_TEMPLATE_PAUSED, CAMP_PAUSED, WH, CEFF_PAUSE, "template", 0, NULL},
    {CAMP_SCHEDULED, CEV_TEMPLATE_PAUSED, CAMP_PAUSED, WH, CEFF_PAUSE, "template", 0, NULL},
    {CAMP_PAUSED, CEV_TEMPLATE_PAUSED, CAMP_PAUSED, WH, CEFF_PAUSE, "template", 0, NULL},
    {CAMP_PAUSED, CEV_TEMPLATE_LIFTED, CAMP_PAUSED, WH, CEFF_LIFT, "template", 1, NULL},
    {CAMP_RUNNING, CEV_ACCOUNT_RESTRICTED, CAMP_PAUSED, WH, CEFF_PAUSE, "account", 1, NULL},
    {CAMP_SCHEDULED, CEV_ACCOUNT_RESTRICTED, CAMP_PAUSED, WH, CEFF_PAUSE, "account", 1, NULL},
    {CAMP_RUNNING, CEV_ACCOUNT_BANNED, CAMP_PAUSED, WH, CEFF_PAUSE, "account", 0, NULL},
    {CAMP_SCHEDULED, CEV_ACCOUNT_BANNED, CAMP_PAUSED, WH, CEFF_PAUSE, "account", 0, NULL},
    {CAMP_PAUSED, CEV_ACCOUNT_LIFTED, CAMP_PAUSED, WH, CEFF_LIFT, "account", 1, NULL},
};

static const char *const status_names[CAMP_STATUS_N] = {
    "draft", "scheduled", "running", "paused", "completed", "cancelled", "failed"};

static const char *const event_names[CEV_N] = {"start",
                                               "schedule",
                                               "schedule_due",
                                               "schedule_missed",
                                               "pause",
                                               "resume",
                                               "resume_scheduled",
                                               "cancel",
                                               "retry",
                                               "complete",
                                               "pause_error",
                                               "pause_params",
                                               "pause_auto",
                                               "account_disabled",
                                               "template_paused",
                                               "template_lifted",
                                               "account_restricted",
                                               "account_banned",
                                               "account_lifted",
                                               "fail"};

const struct campaign_transition *campaign_state_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

const struct campaign_transition *campaign_state_find(enum campaign_status from,
                                                      enum campaign_event ev)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].from == from && table[i].event == ev)
            return &table[i];
    return NULL;
}

int campaign_state_check(enum campaign_status from, enum campaign_event ev, enum campaign_actor who,
                         const struct campaign_transition **t)
{
    const struct campaign_transition *row = campaign_state_find(from, ev);
    if (t)
        *t = row;
    if (!row)
        return CAMP_REFUSED_STATE;
    if (!(row->who & (unsigned)who))
        return CAMP_REFUSED_ACTOR;
    return 0;
}

const char *campaign_status_name(enum campaign_status s)
{
    return (unsigned)s < CAMP_STATUS_N ? status_names[s] : "?";
}

const char *campaign_event_name(enum campaign_event e)
{
    return (unsigned)e < CEV_N ? event_names[e] : "?";
}

const char *campaign_actor_name(enum campaign_actor a)
{
    switch (a) {
    case CACT_OPERATOR:
        return "operator";
    case CACT_WORKER:
        return "worker";
    case CACT_SCHEDULER:
        return "scheduler";
    case CACT_WEBHOOK:
        return "webhook";
    case CACT_CTL:
        return "ctl";
    }
    return "?";
}

int campaign_status_parse(const char *s)
{
    for (int i = 0; s && i < CAMP_STATUS_N; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

int campaign_event_parse(const char *s)
{
    for (int i = 0; s && i < CEV_N; i++)
        if (strcmp(s, event_names[i]) == 0)
            return i;
    return -1;
}

int campaign_actor_parse(const char *s)
{
    static const enum campaign_actor all[] = {CACT_OPERATOR, CACT_WORKER, CACT_SCHEDULER,
                                              CACT_WEBHOOK, CACT_CTL};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, campaign_actor_name(all[i])) == 0)
            return (int)all[i];
    return -1;
}

/* ---- applying --------------------------------------------------------------------------- */

/* The SET clause of an effect after the status; its parameters come first in args. */
static const char *effect_sql(enum campaign_effect e)
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

static const char *scope_sql(enum campaign_scope_kind k)
{
    switch (k) {
    case CSCOPE_ONE:
        return "id = ?";
    case CSCOPE_ACCOUNT:
        return "account_id = ?";
    case CSCOPE_TEMPLATE:
        return "account_id = ? AND template_name = ? AND template_language = ?";
    case CSCOPE_DONE:
        return "id = ? AND pending_count = 0 AND sending_count = 0";
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

static size_t scope_args(const struct campaign_scope *s, db_arg *a)
{
    switch (s->kind) {
    case CSCOPE_ONE:
    case CSCOPE_ACCOUNT:
    case CSCOPE_DONE:
        a[0] = DB_INT(s->id);
        return 1;
    case CSCOPE_TEMPLATE:
        a[0] = DB_INT(s->id);
        a[1] = DB_STR(s->template_name);
        a[2] = DB_STR(s->template_language);
        return 3;
    case CSCOPE_DUE:
    case CSCOPE_OVERDUE:
        a[0] = DB_INT(s->margin_s);
        return 1;
    }
    return 0;
}

static int same_kind(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Rows that one UPDATE makes together: same event, actor, target and effect. */
static int same_group(const struct campaign_transition *a, const struct campaign_transition *b,
                      enum campaign_actor who)
{
    return a->event == b->event && (a->who & (unsigned)who) && (b->who & (unsigned)who) &&
           a->to == b->to && a->effect == b->effect && a->resumable == b->resumable &&
           same_kind(a->kind, b->kind);
}

/* One UPDATE for the rows of ev that share row g's target and effect. */
static int apply_group(struct db *db, const struct campaign_scope *s,
                       const struct campaign_transition *g, enum campaign_actor who,
                       const struct campaign_change *ch, unsigned long long *affected)
{
    char in[160] = "";
    size_t len = 0, n = sizeof table / sizeof table[0];
    for (size_t i = 0; i < n; i++) {
        const struct campaign_transition *t = &table[i];
        if (!same_group(t, g, who))
            continue;
        if (t->from == t->to && t->effect == CEFF_NONE)
            continue; /* nothing to write */
        len += (size_t)snprintf(in + len, sizeof in - len, "%s'%s'", len ? ", " : "",
                                status_names[t->from]);
    }
    if (len == 0)
        return DB_OK;
    char sql[1024];
    snprintf(sql, sizeof sql, "UPDATE campaigns SET status = '%s'%s WHERE %s AND status IN (%s)%s",
             status_names[g->to], effect_sql(g->effect), scope_sql(s->kind), in,
             g->effect == CEFF_LIFT ? " AND pause_kind = ?" : "");
    char reason[1201];
    snprintf(reason, sizeof reason, "%s", ch && ch->reason ? ch->reason : "");
    db_arg args[8];
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
    na += scope_args(s, args + na);
    if (g->effect == CEFF_LIFT)
        args[na++] = DB_STR(g->kind);
    struct db_res res;
    int rc = db_exec(db, sql, args, na, &res);
    if (rc == DB_OK && affected)
        *affected += res.affected;
    return rc;
}

int campaign_state_apply(struct db *db, const struct campaign_scope *scope, enum campaign_event ev,
                         enum campaign_actor who, const struct campaign_change *ch,
                         unsigned long long *affected)
{
    if (affected)
        *affected = 0;
    size_t n = sizeof table / sizeof table[0];
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
            if (same_group(&table[j], t, who))
                first = 0;
        if (!first)
            continue;
        int rc = apply_group(db, scope, t, who, ch, affected);
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
