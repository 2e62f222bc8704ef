/* Unit tests for lib/hooks: the address classes of the SSRF rule and the URL check
 * (tests/data/hooks/), which campaign move is which event, the event names, the signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hooks.h"

/* Calls fn(fields, n) for each line of a tab-separated file (comments and blanks skipped). */
static int each_line(const char *path, void (*fn)(char **f, int n, int line))
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[1024];
    int line = 0, cases = 0;
    while (fgets(buf, sizeof buf, f)) {
        line++;
        buf[strcspn(buf, "\n")] = '\0';
        if (buf[0] == '#' || (buf[0] == '\0'))
            continue;
        char *fields[4];
        int n = 0;
        char *p = buf;
        while (n < 4) {
            fields[n++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = '\0';
            p = t + 1;
        }
        fn(fields, n, line);
        cases++;
    }
    fclose(f);
    return cases;
}

static int class_of(const char *name)
{
    if (strcmp(name, "public") == 0)
        return HOOKS_ADDR_PUBLIC;
    if (strcmp(name, "loopback") == 0)
        return HOOKS_ADDR_LOOPBACK;
    return HOOKS_ADDR_PRIVATE;
}

static void address_case(char **f, int n, int line)
{
    assert_int_equal(n, 2);
    int got = hooks_addr_classify_text(f[0]);
    if (got != class_of(f[1]))
        fail_msg("addresses.tsv:%d: %s is class %d, want %s", line, f[0], got, f[1]);
}

static void test_address_classes(void **state)
{
    (void)state;
    assert_true(each_line("tests/data/hooks/addresses.tsv", address_case) > 30);
    assert_int_equal(hooks_addr_classify_text("not-an-address"), -1);
}

static void url_case(char **f, int n, int line)
{
    assert_int_equal(n, 3);
    char pin[512], err[512] = "";
    int policy = hooks_targets_parse(f[1]);
    assert_true(policy >= 0);
    int rc = hooks_url_check(f[0], (enum hooks_targets)policy, pin, sizeof pin, err, sizeof err);
    if (rc != atoi(f[2]))
        fail_msg("urls.tsv:%d: %s under %s gives %d (%s), want %s", line, f[0], f[1], rc, err,
                 f[2]);
    if (rc < 0 && !err[0])
        fail_msg("urls.tsv:%d: refused without a reason", line);
}

static void test_url_check(void **state)
{
    (void)state;
    assert_true(each_line("tests/data/hooks/urls.tsv", url_case) > 10);
    /* a name is pinned to the checked address; a literal needs no pin */
    char pin[512], err[256];
    assert_int_equal(hooks_url_check("http://localhost:8080/x", HOOKS_TARGETS_LOOPBACK, pin,
                                     sizeof pin, err, sizeof err),
                     0);
    assert_true(strncmp(pin, "localhost:8080:", 15) == 0);
    assert_int_equal(hooks_url_check("https://127.0.0.1/x", HOOKS_TARGETS_LOOPBACK, pin, sizeof pin,
                                     err, sizeof err),
                     0);
    assert_string_equal(pin, "");
    assert_int_equal(hooks_targets_parse("everything"), -1);
    assert_int_equal(hooks_targets_parse(""), HOOKS_TARGETS_PUBLIC);
}

static void test_campaign_events(void **state)
{
    (void)state;
    static const struct {
        enum campaign_status from, to;
        const char *want;
    } cases[] = {
        {CAMP_DRAFT, CAMP_RUNNING, "campaign.started"},
        {CAMP_SCHEDULED, CAMP_RUNNING, "campaign.started"},
        {CAMP_COMPLETED, CAMP_RUNNING, "campaign.started"}, /* retry, in-doubt resend */
        {CAMP_PAUSED, CAMP_RUNNING, "campaign.resumed"},
        {CAMP_RUNNING, CAMP_PAUSED, "campaign.paused"},
        {CAMP_SCHEDULED, CAMP_PAUSED, "campaign.paused"},
        {CAMP_RUNNING, CAMP_COMPLETED, "campaign.completed"},
        {CAMP_RUNNING, CAMP_CANCELLED, "campaign.cancelled"},
        {CAMP_PAUSED, CAMP_CANCELLED, "campaign.cancelled"},
        {CAMP_PAUSED, CAMP_PAUSED, NULL}, /* a lift keeps it paused */
        {CAMP_DRAFT, CAMP_SCHEDULED, NULL},
        {CAMP_PAUSED, CAMP_SCHEDULED, NULL},
        {CAMP_RUNNING, CAMP_FAILED, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = hooks_campaign_event(cases[i].from, cases[i].to);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else
            assert_null(got);
        if (got)
            assert_true(hooks_event_valid(got));
    }
    assert_false(hooks_event_valid("campaign.failed"));
    assert_false(hooks_event_valid(NULL));
    assert_true(hooks_event_valid("reply.received"));
}

static void test_sign(void **state)
{
    (void)state;
    char sig[HOOKS_SIG_LEN];
    /* RFC 4231, test case 2 */
    static const char data[] = "what do ya want for nothing?";
    assert_int_equal(hooks_sign("Jefe", data, strlen(data), sig), 0);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* the whole body counts, also past a NUL */
    char a[HOOKS_SIG_LEN], b[HOOKS_SIG_LEN];
    assert_int_equal(hooks_sign("k-0123456789abcdef", "x\0y", 3, a), 0);
    assert_int_equal(hooks_sign("k-0123456789abcdef", "x\0z", 3, b), 0);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_classes),
        cmocka_unit_test(test_url_check),
        cmocka_unit_test(test_campaign_events),
        cmocka_unit_test(test_sign),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
