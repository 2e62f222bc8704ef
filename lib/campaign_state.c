#include "campaign_state.h"

#include <string.h>

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
    /* an in-doubt recipient resent once reopens its completed campaign (issue #15) */
    {CAMP_COMPLETED, CEV_RESEND_IN_DOUBT, CAMP_RUNNING, WK, CEFF_RETRY, NULL, 1, NULL},
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
                                               "fail",
                                               "resend_in_doubt"};

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
