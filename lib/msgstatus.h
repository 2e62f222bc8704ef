/* The life of one recipient's message and what each change does to the campaign counters.
 * Pure: used by the worker when it records sends and by the webhook when statuses arrive,
 * so both count the same way. */
#ifndef PREGON_MSGSTATUS_H
#define PREGON_MSGSTATUS_H

enum msg_status {
    MSG_PENDING,
    MSG_SENDING,
    MSG_SENT,
    MSG_DELIVERED,
    MSG_READ,
    MSG_FAILED,
    MSG_BLOCKED,
    MSG_CANCELLED,
    MSG_UNKNOWN,
    MSG_HOLDOUT, /* an A/B campaign's holdout: never sent, final (lib/abvariant.h) */
    MSG_INVALID = -1
};

/* Changes to apply to the campaign's counters, in the order of the counter columns. */
struct msg_delta {
    int pending, sending, sent, delivered, read, failed, blocked, cancelled, unknown, holdout;
};

enum msg_status msg_status_parse(const char *s); /* "delivered" -> MSG_DELIVERED */
const char *msg_status_name(enum msg_status s);

/* Whether a status event (sent, delivered, read, failed; "played" counts as read) may move a
 * recipient from cur to next: statuses only move forward; failed is terminal unless a later
 * delivered or read proves otherwise. Returns 1 and adds the counter changes to d (which the
 * caller zeroes) when it may, 0 when the event changes nothing. */
int msg_transition(enum msg_status cur, enum msg_status next, struct msg_delta *d);

/* Adds the counter effect of a recipient leaving state from and entering state to, for
 * changes decided by the sender (claim, outcome, retry, cancel). */
void msg_delta_move(struct msg_delta *d, enum msg_status from, enum msg_status to);

/* msg_delta_move for a recipient that may have been counted as sent already: an earlier
 * attempt was accepted (its sent_at is set) and an operator's retry sent it again. Then
 * reaching sent (or beyond) does not count it a second time. already_sent 0: the same as
 * msg_delta_move. */
void msg_delta_move_counted(struct msg_delta *d, enum msg_status from, enum msg_status to,
                            int already_sent);

/* msg_transition for a recipient that may have been counted as sent already (its sent_at is
 * set: an earlier attempt was accepted, then an operator's retry sent it again). A status
 * event for it while it is sending or unknown does not count it as sent a second time. */
int msg_transition_counted(enum msg_status cur, enum msg_status next, int already_sent,
                           struct msg_delta *d);

int msg_delta_is_zero(const struct msg_delta *d);

#endif
