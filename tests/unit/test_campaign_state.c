/* The campaign state machine walked whole: every (status, event, actor) combination against
 * tests/data/campaign_state/transitions.txt (run from the repo root or set PREGON_TESTDATA).
 * A combination listed there must be allowed with exactly that target, pause kind and
 * resumability; every other one must be refused, for the right reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "campaign_state.h"

struct want {
    int from, event, actor, to, resumable;
    char kind[32];
};

static const enum campaign_actor actors[] = {CACT_OPERATOR, CACT_WORKER, CACT_SCHEDULER,
                                             CACT_WEBHOOK, CACT_CTL};
#define NACT (sizeof actors / sizeof actors[0])

static size_t load(struct want *v, size_t max)
{
    const char *root = getenv("PREGON_TESTDATA");
    char path[1024], line[256];
    snprintf(path, sizeof path, "%s/campaign_state/transitions.txt",
             root && root[0] ? root : "tests/data");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (run from the repo root or set PREGON_TESTDATA)", path);
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        char from[32], ev[32], who[32], arrow[8], to[32], kind[32] = "";
        int res = 1;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int got =
            sscanf(line, "%31s %31s %31s %7s %31s %31s %d", from, ev, who, arrow, to, kind, &res);
        if (got != 5 && got != 7)
            fail_msg("bad line: %s", line);
        assert_string_equal(arrow, "->");
        assert_true(n < max);
        v[n].from = campaign_status_parse(from);
        v[n].event = campaign_event_parse(ev);
        v[n].actor = campaign_actor_parse(who);
        v[n].to = campaign_status_parse(to);
        v[n].resumable = res;
        snprintf(v[n].kind, sizeof v[n].kind, "%s", kind);
        if (v[n].from < 0 || v[n].event < 0 || v[n].actor < 0 || v[n].to < 0)
            fail_msg("unknown name in: %s", line);
        n++;
    }
    fclose(f);
    return n;
}

static void whole_table(void **state)
{
    (void)state;
    struct want v[256];
    size_t n = load(v, 256), allowed = 0, refused_state = 0, refused_actor = 0;
    for (int from = 0; from < CAMP_STATUS_N; from++)
        for (int ev = 0; ev < CEV_N; ev++)
            for (size_t a = 0; a < NACT; a++) {
                const struct want *w = NULL;
                for (size_t i = 0; i < n; i++)
                    if (v[i].from == from && v[i].event == ev && v[i].actor == (int)actors[a])
                        w = &v[i];
                const struct campaign_transition *t;
                int rc = campaign_state_check((enum campaign_status)from, (enum campaign_event)ev,
                                              actors[a], &t);
                char what[128];
                snprintf(what, sizeof what, "%s %s by %s",
                         campaign_status_name((enum campaign_status)from),
                         campaign_event_name((enum campaign_event)ev),
                         campaign_actor_name(actors[a]));
                if (w) {
                    if (rc != 0)
                        fail_msg("%s: refused (%d), the table says allowed", what, rc);
                    assert_int_equal(t->to, w->to);
                    if (w->kind[0]) {
                        if (!t->kind || strcmp(t->kind, w->kind) != 0)
                            fail_msg("%s: kind %s, want %s", what, t->kind ? t->kind : "-",
                                     w->kind);
                        assert_int_equal(t->resumable, w->resumable);
                    } else if (t->effect == CEFF_PAUSE || t->effect == CEFF_FAIL) {
                        fail_msg("%s: writes a pause kind the data does not list", what);
                    }
                    allowed++;
                } else if (rc == 0) {
                    fail_msg("%s: allowed, the data says refused", what);
                } else if (rc == CAMP_REFUSED_ACTOR) {
                    assert_non_null(t); /* the transition exists for someone else */
                    refused_actor++;
                } else {
                    assert_int_equal(rc, CAMP_REFUSED_STATE);
                    assert_null(t);
                    refused_state++;
                }
            }
    /* Every line was matched once, and the whole space was walked. */
    assert_int_equal(allowed, n);
    assert_int_equal(allowed + refused_state + refused_actor, (size_t)CAMP_STATUS_N * CEV_N * NACT);
    print_message("%zu allowed, %zu refused (no such transition), %zu refused (not this actor)\n",
                  allowed, refused_state, refused_actor);
}

/* The rule the worker and the webhook applier used to disagree on: a pause from Meta's
 * answers applies to scheduled campaigns too, for both; never to a paused one. */
static void worker_and_webhook_pause_alike(void **state)
{
    (void)state;
    static const enum campaign_event evs[] = {CEV_PAUSE_ERROR, CEV_PAUSE_PARAMS, CEV_PAUSE_AUTO};
    for (size_t i = 0; i < 3; i++) {
        for (int from = 0; from < CAMP_STATUS_N; from++) {
            int w = campaign_state_check((enum campaign_status)from, evs[i], CACT_WORKER, NULL);
            int h = campaign_state_check((enum campaign_status)from, evs[i], CACT_WEBHOOK, NULL);
            assert_int_equal(w, h);
            assert_int_equal(w == 0, from == CAMP_RUNNING || from == CAMP_SCHEDULED);
        }
    }
}

/* ctl changes nothing; operators make no worker or webhook transitions. */
static void actors_stay_in_their_lane(void **state)
{
    (void)state;
    size_t n;
    const struct campaign_transition *t = campaign_state_table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_false(t[i].who & CACT_CTL);
        if (t[i].who & CACT_OPERATOR)
            assert_non_null(t[i].audit); /* what an operator does is audited */
        else
            assert_null(t[i].audit);
    }
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < CAMP_STATUS_N; s++)
        assert_int_equal(campaign_status_parse(campaign_status_name((enum campaign_status)s)), s);
    for (int e = 0; e < CEV_N; e++)
        assert_int_equal(campaign_event_parse(campaign_event_name((enum campaign_event)e)), e);
    assert_int_equal(campaign_status_parse("sending"), -1);
    assert_int_equal(campaign_event_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_table),
        cmocka_unit_test(worker_and_webhook_pause_alike),
        cmocka_unit_test(actors_stay_in_their_lane),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
