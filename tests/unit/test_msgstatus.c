/* Status transitions and the counters they move: forward only, counted once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "msgstatus.h"

static void forward_only(void **state)
{
    (void)state;
    struct msg_delta d;
    memset(&d, 0, sizeof d);
    assert_true(msg_transition(MSG_SENT, MSG_DELIVERED, &d));
    assert_int_equal(d.delivered, 1);
    assert_int_equal(d.sent, 0);
    memset(&d, 0, sizeof d);
    assert_false(msg_transition(MSG_READ, MSG_DELIVERED, &d));
    assert_false(msg_transition(MSG_DELIVERED, MSG_DELIVERED, &d));
    assert_false(msg_transition(MSG_DELIVERED, MSG_SENT, &d));
    assert_false(msg_transition(MSG_DELIVERED, MSG_FAILED, &d));
    assert_true(msg_delta_is_zero(&d));
}

static void read_skipping_delivered_counts_both(void **state)
{
    (void)state;
    struct msg_delta d;
    memset(&d, 0, sizeof d);
    assert_true(msg_transition(MSG_SENT, MSG_READ, &d));
    assert_int_equal(d.delivered, 1);
    assert_int_equal(d.read, 1);
    assert_int_equal(d.sent, 0);
}

static void webhook_before_worker_counts_sent(void **state)
{
    (void)state;
    struct msg_delta d;
    memset(&d, 0, sizeof d);
    assert_true(msg_transition(MSG_SENDING, MSG_DELIVERED, &d));
    assert_int_equal(d.sending, -1);
    assert_int_equal(d.sent, 1);
    assert_int_equal(d.delivered, 1);
    memset(&d, 0, sizeof d);
    assert_true(msg_transition(MSG_UNKNOWN, MSG_FAILED, &d));
    assert_int_equal(d.unknown, -1);
    assert_int_equal(d.sent, 1);
    assert_int_equal(d.failed, 1);
}

static void delivery_overrides_failure(void **state)
{
    (void)state;
    struct msg_delta d;
    memset(&d, 0, sizeof d);
    assert_true(msg_transition(MSG_SENT, MSG_FAILED, &d));
    assert_int_equal(d.failed, 1);
    memset(&d, 0, sizeof d);
    assert_true(msg_transition(MSG_FAILED, MSG_READ, &d));
    assert_int_equal(d.failed, -1);
    assert_int_equal(d.delivered, 1);
    assert_int_equal(d.read, 1);
    assert_int_equal(d.sent, 0);
    memset(&d, 0, sizeof d);
    assert_false(msg_transition(MSG_FAILED, MSG_SENT, &d));
    assert_false(msg_transition(MSG_FAILED, MSG_FAILED, &d));
}

static void never_sent_states_ignore_events(void **state)
{
    (void)state;
    struct msg_delta d;
    memset(&d, 0, sizeof d);
    assert_false(msg_transition(MSG_PENDING, MSG_READ, &d));
    assert_false(msg_transition(MSG_CANCELLED, MSG_DELIVERED, &d));
    assert_false(msg_transition(MSG_BLOCKED, MSG_SENT, &d));
    assert_false(msg_transition(MSG_SENT, MSG_PENDING, &d));
    assert_true(msg_delta_is_zero(&d));
}

static void sender_moves(void **state)
{
    (void)state;
    struct msg_delta d;
    memset(&d, 0, sizeof d);
    msg_delta_move(&d, MSG_PENDING, MSG_SENDING);
    msg_delta_move(&d, MSG_SENDING, MSG_SENT);
    assert_int_equal(d.pending, -1);
    assert_int_equal(d.sending, 0);
    assert_int_equal(d.sent, 1);
    msg_delta_move(&d, MSG_SENDING, MSG_PENDING);
    assert_int_equal(d.pending, 0);
    assert_int_equal(d.sending, -1);
}

/* A recipient accepted before (its sent_at is set), failed later and retried by an
 * operator: sent again, it is still one recipient in the sent funnel. */
static void resend_of_an_accepted_recipient_counts_once(void **state)
{
    (void)state;
    struct msg_delta d = {0};
    msg_delta_move_counted(&d, MSG_SENDING, MSG_SENT, 1);
    assert_int_equal(d.sending, -1);
    assert_int_equal(d.sent, 0);
    memset(&d, 0, sizeof d);
    msg_delta_move_counted(&d, MSG_SENDING, MSG_SENT, 0); /* first acceptance */
    assert_int_equal(d.sent, 1);
    memset(&d, 0, sizeof d);
    msg_delta_move_counted(&d, MSG_SENDING, MSG_FAILED, 1); /* failed again: no funnel change */
    assert_int_equal(d.failed, 1);
    assert_int_equal(d.sent, 0);
    memset(&d, 0, sizeof d);
    msg_delta_move_counted(&d, MSG_SENDING, MSG_PENDING, 1);
    assert_int_equal(d.pending, 1);
    assert_int_equal(d.sent, 0);
    /* The webhook of the new send arriving before the worker records it. */
    memset(&d, 0, sizeof d);
    assert_int_equal(msg_transition_counted(MSG_SENDING, MSG_DELIVERED, 1, &d), 1);
    assert_int_equal(d.sending, -1);
    assert_int_equal(d.sent, 0);
    assert_int_equal(d.delivered, 1);
    memset(&d, 0, sizeof d);
    assert_int_equal(msg_transition_counted(MSG_SENDING, MSG_SENT, 0, &d), 1);
    assert_int_equal(d.sent, 1);
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = MSG_PENDING; s <= MSG_UNKNOWN; s++)
        assert_int_equal(msg_status_parse(msg_status_name((enum msg_status)s)), s);
    assert_int_equal(msg_status_parse("played"), MSG_READ);
    assert_int_equal(msg_status_parse("bogus"), MSG_INVALID);
    assert_int_equal(msg_status_parse(NULL), MSG_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_only),
        cmocka_unit_test(read_skipping_delivered_counts_both),
        cmocka_unit_test(webhook_before_worker_counts_sent),
        cmocka_unit_test(delivery_overrides_failure),
        cmocka_unit_test(never_sent_states_ignore_events),
        cmocka_unit_test(sender_moves),
        cmocka_unit_test(resend_of_an_accepted_recipient_counts_once),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
