/* The campaign state machine: one transition table (from, event, to, who may, effects) for
 * every program that changes a campaign's status: the API (start, schedule, pause, resume,
 * cancel, retry), the worker (completion, pauses from Meta's answers, the auto-pause, the
 * account switch), its scheduler, and the webhook applier (error statuses, template and
 * account events). Each UPDATE of campaigns.status is made from the table (campaign_state_apply,
 * executed by lib/campaign_store.c): the statuses an event applies to are the table's, so the
 * rule cannot drift between callers. campaign_state.c itself is pure (no database).
 *
 * docs/api.md (Campaign states) lists the same table; tests/data/campaign_state/ holds it
 * again as test data, walked whole (every allowed and every refused transition).
 *
 * The account switch (wa_accounts.campaigns_enabled) is part of this rulebook: off, the
 * worker pauses running campaigns (CEV_ACCOUNT_DISABLED, read at every claim cycle), the
 * scheduler starts none (CSCOPE_DUE), and the API refuses the operator's start, resume and
 * retry (api_campaign_sendable in fcgi/api-campaign-action.c, with the other preconditions of
 * sending). */
#ifndef PREGON_CAMPAIGN_STATE_H
#define PREGON_CAMPAIGN_STATE_H

#include <stddef.h>

struct db;

enum campaign_status {
    CAMP_DRAFT,
    CAMP_SCHEDULED,
    CAMP_RUNNING,
    CAMP_PAUSED,
    CAMP_COMPLETED,
    CAMP_CANCELLED,
    CAMP_FAILED,
    CAMP_STATUS_N
};

enum campaign_event {
    CEV_START,            /* operator: send now */
    CEV_SCHEDULE,         /* operator: send at a time (again, for a scheduled one) */
    CEV_SCHEDULE_DUE,     /* scheduler: its time came (and the account may send) */
    CEV_SCHEDULE_MISSED,  /* scheduler: overdue by more than worker_schedule_margin_s */
    CEV_PAUSE,            /* operator */
    CEV_RESUME,           /* operator: back to sending */
    CEV_RESUME_SCHEDULED, /* operator: paused before its time, back to waiting for it */
    CEV_CANCEL,           /* operator */
    CEV_RETRY,            /* operator: failed/unknown recipients queued again */
    CEV_COMPLETE,         /* worker: nothing left to send */
    CEV_PAUSE_ERROR,      /* worker, webhook: a Meta error code that pauses (campaign or number) */
    CEV_PAUSE_PARAMS,     /* worker, webhook: repeated parameter errors */
    CEV_PAUSE_AUTO,       /* worker, webhook: failures over the account's auto-pause thresholds */
    CEV_ACCOUNT_DISABLED, /* worker: the account's campaigns_enabled is off */
    CEV_TEMPLATE_PAUSED,  /* webhook: Meta paused or disabled the template */
    CEV_TEMPLATE_LIFTED,  /* webhook: the template is APPROVED or REINSTATED again */
    CEV_ACCOUNT_RESTRICTED, /* webhook: ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION */
    CEV_ACCOUNT_BANNED,     /* webhook: DISABLED_UPDATE (Meta may reinstate it) */
    CEV_ACCOUNT_LIFTED,     /* webhook: DISABLED_UPDATE with REINSTATE */
    CEV_FAIL,               /* worker, webhook: cannot go on by itself (190, account deleted) */
    CEV_RESEND_IN_DOUBT, /* worker: an in-doubt recipient resent once (in_doubt_resend_after_s) */
    CEV_N
};

/* Who asks (a bit each, for the table's "who may"). */
enum campaign_actor {
    CACT_OPERATOR = 1, /* an API user with the admin role (routes.c: ROLE_ADMIN) */
    CACT_WORKER = 2,
    CACT_SCHEDULER = 4, /* the worker's schedule pass */
    CACT_WEBHOOK = 8,   /* the webhook applier (FastCGI, pregonctl webhooks-apply, worker) */
    CACT_CTL = 16       /* pregonctl: reads campaigns, changes none (no row grants it) */
};

/* What a transition writes besides the status. */
enum campaign_effect {
    CEFF_NONE,        /* status only (or nothing when from == to) */
    CEFF_START,       /* started_at, clears schedule, pause and wait */
    CEFF_SCHEDULE,    /* scheduled_at = the given time */
    CEFF_DUE,         /* started_at */
    CEFF_PAUSE,       /* pause_reason, pause_kind, resumable from the row */
    CEFF_RESUME,      /* clears the pause; started_at when it runs */
    CEFF_RESUME_WAIT, /* clears the pause */
    CEFF_CANCEL,      /* cancelled_at */
    CEFF_RETRY,       /* clears completed_at and the pause */
    CEFF_COMPLETE,    /* completed_at, clears wait_reason */
    CEFF_LIFT,        /* resumable = 1 (only for pauses of the row's kind), new reason */
    CEFF_FAIL         /* pause_reason, pause_kind: why; resumable 0; completed_at */
};

struct campaign_transition {
    enum campaign_status from;
    enum campaign_event event;
    enum campaign_status to;
    unsigned who; /* enum campaign_actor bits */
    enum campaign_effect effect;
    const char *kind;  /* pause_kind written (CEFF_PAUSE, CEFF_FAIL) or required
                        * (CEFF_LIFT); NULL otherwise */
    int resumable;     /* campaigns.resumable written by CEFF_PAUSE */
    const char *audit; /* audit_log action when an operator does it, else NULL */
};

/* The whole table (n rows). Any (from, event) pair not in it is refused. */
const struct campaign_transition *campaign_state_table(size_t *n);

/* The row for (from, event), NULL when the table has none. */
const struct campaign_transition *campaign_state_find(enum campaign_status from,
                                                      enum campaign_event ev);

/* Whether who may do ev on a campaign in state from. Returns 0 and *t (may be NULL) when it
 * may; CAMP_REFUSED_STATE when the table has no such transition; CAMP_REFUSED_ACTOR when it
 * has one that who may not make. */
#define CAMP_REFUSED_STATE (-1)
#define CAMP_REFUSED_ACTOR (-2)
int campaign_state_check(enum campaign_status from, enum campaign_event ev, enum campaign_actor who,
                         const struct campaign_transition **t);

const char *campaign_status_name(enum campaign_status s);
const char *campaign_event_name(enum campaign_event e);
const char *campaign_actor_name(enum campaign_actor a);
/* -1 when unknown. */
int campaign_status_parse(const char *s);
int campaign_event_parse(const char *s);
int campaign_actor_parse(const char *s);

/* Which campaigns an event is applied to (always further narrowed to the table's "from"
 * statuses for that event). */
enum campaign_scope_kind {
    CSCOPE_ONE,      /* id */
    CSCOPE_ACCOUNT,  /* every campaign of account id */
    CSCOPE_TEMPLATE, /* the campaigns of account id sending template name/language */
    CSCOPE_DONE,     /* id, when nothing is pending or being sent */
    CSCOPE_DUE,      /* scheduled_at reached, not older than margin_s, account enabled */
    CSCOPE_OVERDUE   /* scheduled_at older than margin_s */
};

struct campaign_scope {
    enum campaign_scope_kind kind;
    long long id; /* campaign (ONE, DONE) or account (ACCOUNT, TEMPLATE) */
    const char *template_name, *template_language;
    int margin_s;
};

/* What the caller adds: the reason (pause, fail, lift; cut to 1200 bytes) and the time of a
 * schedule ('YYYY-MM-DD HH:MM:SS' UTC). Either may be NULL when the effect needs none. */
struct campaign_change {
    const char *reason;
    const char *when;
};

/* Executed by lib/campaign_store.c (declared here for every caller of the table).
 * Applies ev by who to the campaigns of scope that are in a state the table lets ev leave:
 * one UPDATE per group of rows with the same target and effect. *affected (may be NULL) is
 * how many campaigns changed. Returns a db_rc; DB_ERR (nothing written) when the table
 * does not let who make ev at all. Runs in the caller's transaction, if any. */
int campaign_state_apply(struct db *db, const struct campaign_scope *scope, enum campaign_event ev,
                         enum campaign_actor who, const struct campaign_change *ch,
                         unsigned long long *affected);

/* Shorthand: ev on one campaign. */
int campaign_state_apply_one(struct db *db, long long id, enum campaign_event ev,
                             enum campaign_actor who, const char *reason,
                             unsigned long long *affected);

#endif
