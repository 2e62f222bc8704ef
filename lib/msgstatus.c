#include "msgstatus.h"

#include <string.h>

static const char *names[] = {"pending", "sending", "sent",      "delivered", "read",
                              "failed",  "blocked", "cancelled", "unknown",   "holdout"};

enum msg_status msg_status_parse(const char *s)
{
    if (!s)
        return MSG_INVALID;
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return (enum msg_status)i;
    if (strcmp(s, "played") == 0)
        return MSG_READ;
    return MSG_INVALID;
}

const char *msg_status_name(enum msg_status s)
{
    if (s < 0 || s >= (int)(sizeof names / sizeof names[0]))
        return "invalid";
    return names[s];
}

/* How far along the funnel a state is: sent < delivered < read. */
static int stage(enum msg_status s)
{
    switch (s) {
    case MSG_SENT:
        return 1;
    case MSG_DELIVERED:
        return 2;
    case MSG_READ:
        return 3;
    default:
        return 0;
    }
}

static int *slot(struct msg_delta *d, enum msg_status s)
{
    switch (s) {
    case MSG_PENDING:
        return &d->pending;
    case MSG_SENDING:
        return &d->sending;
    case MSG_FAILED:
        return &d->failed;
    case MSG_BLOCKED:
        return &d->blocked;
    case MSG_CANCELLED:
        return &d->cancelled;
    case MSG_UNKNOWN:
        return &d->unknown;
    case MSG_HOLDOUT:
        return &d->holdout;
    default:
        return NULL; /* funnel stages are cumulative, handled apart */
    }
}

/* Funnel counters count recipients that ever reached a stage, so moving up from stage a to b
 * adds one to each stage in (a, b]. */
static void funnel_up(struct msg_delta *d, int from, int to)
{
    for (int s = from + 1; s <= to; s++) {
        if (s == 1)
            d->sent++;
        else if (s == 2)
            d->delivered++;
        else if (s == 3)
            d->read++;
    }
}

void msg_delta_move(struct msg_delta *d, enum msg_status from, enum msg_status to)
{
    msg_delta_move_counted(d, from, to, 0);
}

void msg_delta_move_counted(struct msg_delta *d, enum msg_status from, enum msg_status to,
                            int already_sent)
{
    if (from == to)
        return;
    int *a = slot(d, from), *b = slot(d, to);
    if (a)
        (*a)--;
    if (b)
        (*b)++;
    int sf = stage(from), st = stage(to);
    if (already_sent && sf < 1)
        sf = 1; /* the funnel's sent stage holds it since its first acceptance */
    if (st > sf)
        funnel_up(d, sf, st);
}

int msg_transition(enum msg_status cur, enum msg_status next, struct msg_delta *d)
{
    int to = stage(next);
    if (next != MSG_FAILED && to == 0)
        return 0;
    switch (cur) {
    case MSG_SENDING:
    case MSG_UNKNOWN:
        /* Any status event proves Meta accepted the message, even when the worker has not
         * recorded its answer yet (or died before it could). */
        (*slot(d, cur))--;
        d->sent++;
        if (next == MSG_FAILED)
            d->failed++;
        else
            funnel_up(d, 1, to);
        return 1;
    case MSG_SENT:
    case MSG_DELIVERED:
        if (next == MSG_FAILED) {
            /* A failure after delivery is contradicted by the delivery. */
            if (cur != MSG_SENT)
                return 0;
            d->failed++;
            return 1;
        }
        if (to <= stage(cur))
            return 0;
        funnel_up(d, stage(cur), to);
        return 1;
    case MSG_FAILED:
        /* Only proof of delivery overrides a failure. A failed recipient that receives status
         * events had been accepted, so it is already counted as sent. */
        if (to < 2)
            return 0;
        d->failed--;
        funnel_up(d, 1, to);
        return 1;
    default:
        return 0; /* read is final; pending, blocked, cancelled, holdout never had a message */
    }
}

int msg_transition_counted(enum msg_status cur, enum msg_status next, int already_sent,
                           struct msg_delta *d)
{
    int r = msg_transition(cur, next, d);
    /* From sending or unknown, msg_transition counts exactly one sent. */
    if (r && already_sent && (cur == MSG_SENDING || cur == MSG_UNKNOWN))
        d->sent--;
    return r;
}

int msg_delta_is_zero(const struct msg_delta *d)
{
    return !(d->pending || d->sending || d->sent || d->delivered || d->read || d->failed ||
             d->blocked || d->cancelled || d->unknown || d->holdout);
}
