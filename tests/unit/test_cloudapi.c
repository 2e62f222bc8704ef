/* Unit tests for lib/cloudapi.c. Data: tests/data/cloudapi/ (run from the repo root) or
   $PREGON_TESTDATA/cloudapi/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cloudapi.h"

/* ---- helpers ----------------------------------------------------------------------- */

/* Reads a data file whole (NUL-terminated, *len without the NUL). Caller frees. */
static char *load(const char *name, size_t *len)
{
    const char *root = getenv("PREGON_TESTDATA");
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof path, "%s/cloudapi/%s", root && root[0] ? root : "tests/data", name);
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s (run from the repo root or set PREGON_TESTDATA)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Asserts that JSON text `got` equals data file `golden` as parsed objects. */
static void assert_json_file(const char *got, const char *golden)
{
    char *want = load(golden, NULL);
    json_object *a = json_tokener_parse(got), *b = json_tokener_parse(want);

    assert_non_null(a);
    assert_non_null(b);
    if (!json_object_equal(a, b))
        fail_msg("JSON differs from %s:\n got: %s\nwant: %s", golden, got,
                 json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
    json_object_put(a);
    json_object_put(b);
    free(want);
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- building send requests -------------------------------------------------------- */

static void test_message_positional_golden(void **state)
{
    (void)state;
    const struct cloudapi_param hdr[] = {
        {CLOUDAPI_P_IMAGE, NULL, "https://cdn.example.com/marzo.jpg"}};
    const struct cloudapi_param body[] = {{CLOUDAPI_P_TEXT, NULL, "Ana"},
                                          {CLOUDAPI_P_TEXT, NULL, "Robótica"}};
    const struct cloudapi_param url[] = {{CLOUDAPI_P_TEXT, NULL, "abc123"}};
    const struct cloudapi_param qr[] = {{CLOUDAPI_P_PAYLOAD, NULL, "STOP"}};
    const struct cloudapi_component comps[] = {
        {CLOUDAPI_C_HEADER, NULL, 0, hdr, 1},
        {CLOUDAPI_C_BODY, NULL, 0, body, 2},
        {CLOUDAPI_C_BUTTON, "url", 0, url, 1},
        {CLOUDAPI_C_BUTTON, "quick_reply", 1, qr, 1},
    };
    const struct cloudapi_message m = {"+5493875551234", "promo_marzo", "es_AR", comps, 4,
                                       "c=17;r=123456"};
    char err[256] = "";
    size_t len = 0;
    char *js = cloudapi_message_json(&m, &len, err, sizeof err);

    assert_non_null(js);
    assert_int_equal(len, strlen(js));
    assert_json_file(js, "msg_positional.json");
    assert_null(strstr(js, "\\/")); /* URLs are not slash-escaped */
    free(js);
}

/* A free-form answer to a reply: the golden body, and what is refused before sending. */
static void test_text_message(void **state)
{
    (void)state;
    char err[256] = "";
    size_t len = 0;
    char *js = cloudapi_text_json("+5493875551234", "Sí, a las 18 h. https://ejemplo.com/a",
                                  "wamid.HBgNNTQ5Mzg3NTU1MTIzNBUCABEYEjA=", &len, err, sizeof err);
    assert_non_null(js);
    assert_int_equal(len, strlen(js));
    assert_json_file(js, "msg_text_reply.json");
    free(js);
    js = cloudapi_text_json("+5493875551234", "hola", NULL, NULL, err, sizeof err);
    assert_non_null(js);
    assert_null(strstr(js, "context"));
    free(js);
    assert_null(cloudapi_text_json("5493875551234", "hola", NULL, NULL, err, sizeof err));
    assert_null(cloudapi_text_json("+5493875551234", "", NULL, NULL, err, sizeof err));
    assert_null(cloudapi_text_json("+5493875551234", "\xff\xfe", NULL, NULL, err, sizeof err));
    /* 4096 characters (two bytes each) pass, 4097 do not */
    char *big = malloc(2 * 4097 + 1);
    assert_non_null(big);
    for (size_t i = 0; i < 4097; i++)
        memcpy(big + 2 * i, "\xc3\xb1", 2);
    big[2 * 4097] = '\0';
    assert_null(cloudapi_text_json("+5493875551234", big, NULL, NULL, err, sizeof err));
    big[2 * 4096] = '\0';
    js = cloudapi_text_json("+5493875551234", big, NULL, NULL, err, sizeof err);
    assert_non_null(js);
    free(js);
    free(big);
}

static void test_message_named_golden(void **state)
{
    (void)state;
    const struct cloudapi_param hdr[] = {{CLOUDAPI_P_TEXT, "first_name", "Ana"}};
    const struct cloudapi_param body[] = {{CLOUDAPI_P_TEXT, "first_name", "Ana"},
                                          {CLOUDAPI_P_TEXT, "course", "Robótica \"avanzada\""},
                                          {CLOUDAPI_P_TEXT, "start_date", "lunes 3/3"}};
    const struct cloudapi_param url[] = {{CLOUDAPI_P_TEXT, NULL, "ana-42"}};
    const struct cloudapi_component comps[] = {
        {CLOUDAPI_C_HEADER, NULL, 0, hdr, 1},
        {CLOUDAPI_C_BODY, NULL, 0, body, 3},
        {CLOUDAPI_C_BUTTON, "url", 0, url, 1},
    };
    const struct cloudapi_message m = {
        "+14155550123", "bienvenida_nombre", "es_AR", comps, 3, NULL};
    char err[256] = "";
    char *js = cloudapi_message_json(&m, NULL, err, sizeof err);

    assert_non_null(js);
    assert_json_file(js, "msg_named.json");
    free(js);
}

static void test_message_minimal_and_document(void **state)
{
    (void)state;
    char err[256] = "";
    const struct cloudapi_message m = {"+5493875551234", "aviso_simple", "en_US", NULL, 0, ""};
    char *js = cloudapi_message_json(&m, NULL, err, sizeof err);
    assert_non_null(js);
    assert_json_file(js, "msg_minimal.json"); /* "" callback data: field left out */
    free(js);

    const struct cloudapi_param hdr[] = {
        {CLOUDAPI_P_DOCUMENT, NULL, "https://cdn.example.com/f.pdf"}};
    const struct cloudapi_param body[] = {{CLOUDAPI_P_TEXT, NULL, "0001-00004567"}};
    const struct cloudapi_component comps[] = {{CLOUDAPI_C_HEADER, NULL, 0, hdr, 1},
                                               {CLOUDAPI_C_BODY, NULL, 0, body, 1}};
    const struct cloudapi_message d = {"+5493875551234", "factura", "es_AR", comps, 2, NULL};
    js = cloudapi_message_json(&d, NULL, err, sizeof err);
    assert_non_null(js);
    assert_json_file(js, "msg_document.json");
    free(js);
}

/* Builds a one-body-parameter message with the given pieces; returns the error or "". */
static const char *try_message(const char *to, const char *name, const char *lang, const char *cb,
                               const struct cloudapi_component *c, size_t nc)
{
    static char err[256];
    const struct cloudapi_message m = {to, name, lang, c, nc, cb};
    char *js;

    err[0] = '\0';
    js = cloudapi_message_json(&m, NULL, err, sizeof err);
    if (js) {
        assert_string_equal(err, "");
        free(js);
        return "";
    }
    assert_true(err[0] != '\0');
    return err;
}

static void test_message_rejects(void **state)
{
    (void)state;
    const struct cloudapi_param t1[] = {{CLOUDAPI_P_TEXT, NULL, "x"}};
    const struct cloudapi_component body[] = {{CLOUDAPI_C_BODY, NULL, 0, t1, 1}};
    const char *ok_to = "+5493875551234";

    assert_string_equal(try_message(ok_to, "promo", "es_AR", NULL, body, 1), "");
    assert_contains(try_message("5493875551234", "promo", "es", NULL, body, 1), "E.164");
    assert_contains(try_message("+54 9 387", "promo", "es", NULL, body, 1), "E.164");
    assert_contains(try_message("+123456", "promo", "es", NULL, body, 1), "E.164");
    assert_contains(try_message("+1234567890123456", "promo", "es", NULL, body, 1), "E.164");
    assert_contains(try_message("+0123456789", "promo", "es", NULL, body, 1), "E.164");
    assert_contains(try_message(NULL, "promo", "es", NULL, body, 1), "E.164");
    assert_contains(try_message(ok_to, "Promo", "es", NULL, body, 1), "template name");
    assert_contains(try_message(ok_to, "", "es", NULL, body, 1), "template name");
    assert_contains(try_message(ok_to, NULL, "es", NULL, body, 1), "template name");
    assert_contains(try_message(ok_to, "promo", "e", NULL, body, 1), "language");
    assert_contains(try_message(ok_to, "promo", "es AR", NULL, body, 1), "language");
    assert_contains(try_message(ok_to, "promo", NULL, NULL, body, 1), "language");
    assert_contains(try_message(ok_to, "promo", "es", NULL, NULL, 1), "components");

    /* callback data: 512 bytes fit, 513 do not */
    char cb[600];
    memset(cb, 'a', sizeof cb);
    cb[512] = '\0';
    assert_string_equal(try_message(ok_to, "promo", "es", cb, body, 1), "");
    cb[512] = 'a';
    cb[513] = '\0';
    assert_contains(try_message(ok_to, "promo", "es", cb, body, 1), "512");
    assert_contains(try_message(ok_to, "promo", "es", "\xff", body, 1), "UTF-8");
}

static void test_message_rejects_params(void **state)
{
    (void)state;
    const char *to = "+5493875551234";
    const struct cloudapi_param empty[] = {{CLOUDAPI_P_TEXT, NULL, ""}};
    const struct cloudapi_param null[] = {{CLOUDAPI_P_TEXT, NULL, NULL}};
    const struct cloudapi_param badutf[] = {{CLOUDAPI_P_TEXT, NULL, "a\xc3(b"}};
    const struct cloudapi_param overlong[] = {{CLOUDAPI_P_TEXT, NULL, "\xc0\xaf"}};
    const struct cloudapi_param surrogate[] = {{CLOUDAPI_P_TEXT, NULL, "\xed\xa0\x80"}};
    const struct cloudapi_param img[] = {{CLOUDAPI_P_IMAGE, NULL, "https://x/y.jpg"}};
    const struct cloudapi_param imgbad[] = {{CLOUDAPI_P_IMAGE, NULL, "file:///etc/passwd"}};
    const struct cloudapi_param two[] = {{CLOUDAPI_P_TEXT, NULL, "a"},
                                         {CLOUDAPI_P_TEXT, NULL, "b"}};
    const struct cloudapi_param mixed[] = {{CLOUDAPI_P_TEXT, "a", "a"},
                                           {CLOUDAPI_P_TEXT, NULL, "b"}};
    const struct cloudapi_param dup[] = {{CLOUDAPI_P_TEXT, "a", "a"}, {CLOUDAPI_P_TEXT, "a", "b"}};
    const struct cloudapi_param badname[] = {{CLOUDAPI_P_TEXT, "First", "a"}};
    const struct cloudapi_param named[] = {{CLOUDAPI_P_TEXT, "a", "a"}};
    const struct cloudapi_param pos[] = {{CLOUDAPI_P_TEXT, NULL, "a"}};
    const struct cloudapi_param payload[] = {{CLOUDAPI_P_PAYLOAD, NULL, "STOP"}};
    const struct cloudapi_param coupon[] = {{CLOUDAPI_P_COUPON, NULL, "X"}};
    const struct cloudapi_param named_payload[] = {{CLOUDAPI_P_PAYLOAD, "p", "STOP"}};
    const struct cloudapi_param badtype[] = {{(enum cloudapi_ptype)42, NULL, "x"}};

#define ONE(ctype, sub, idx, params, n)                                                            \
    (const struct cloudapi_component[]){{ctype, sub, idx, params, n}}, 1
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, empty, 1)),
                    "empty value");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, null, 1)),
                    "empty value");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, badutf, 1)),
                    "UTF-8");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, overlong, 1)),
                    "UTF-8");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, surrogate, 1)),
                    "UTF-8");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, img, 1)),
                    "must be text");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, pos, 0)),
                    "no parameters");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_HEADER, NULL, 0, two, 2)),
                    "exactly one");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_HEADER, NULL, 0, imgbad, 1)),
                    "http(s)");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_HEADER, NULL, 0, payload, 1)),
                    "not allowed");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, mixed, 2)),
                    "mixed");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, dup, 2)),
                    "twice");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, badname, 1)),
                    "parameter name");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BODY, NULL, 0, badtype, 1)),
                    "unknown type");
    assert_contains(try_message(to, "t", "es", NULL, ONE((enum cloudapi_ctype)9, NULL, 0, pos, 1)),
                    "unknown type");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, NULL, 0, pos, 1)),
                    "sub_type");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "flow", 0, pos, 1)),
                    "sub_type");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "url", 10, pos, 1)),
                    "index");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "url", -1, pos, 1)),
                    "index");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "url", 0, payload, 1)),
                    "must be text");
    assert_contains(
        try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "quick_reply", 0, pos, 1)),
        "must be payload");
    assert_contains(
        try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "copy_code", 0, pos, 1)),
        "must be coupon_code");
    assert_string_equal(
        try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "copy_code", 9, coupon, 1)), "");
    assert_contains(try_message(to, "t", "es", NULL, ONE(CLOUDAPI_C_BUTTON, "url", 0, named, 1)),
                    "can be named");
    assert_contains(try_message(to, "t", "es", NULL,
                                ONE(CLOUDAPI_C_BUTTON, "quick_reply", 0, named_payload, 1)),
                    "can be named");
#undef ONE

    /* Across components: mixing, duplicates. */
    const struct cloudapi_component mix2[] = {{CLOUDAPI_C_HEADER, NULL, 0, named, 1},
                                              {CLOUDAPI_C_BODY, NULL, 0, pos, 1}};
    assert_contains(try_message(to, "t", "es", NULL, mix2, 2), "mixed");
    const struct cloudapi_component twobodies[] = {{CLOUDAPI_C_BODY, NULL, 0, pos, 1},
                                                   {CLOUDAPI_C_BODY, NULL, 0, pos, 1}};
    assert_contains(try_message(to, "t", "es", NULL, twobodies, 2), "twice");
    const struct cloudapi_component twobuttons[] = {
        {CLOUDAPI_C_BUTTON, "quick_reply", 2, payload, 1}, {CLOUDAPI_C_BUTTON, "url", 2, pos, 1}};
    assert_contains(try_message(to, "t", "es", NULL, twobuttons, 2), "twice");
    const struct cloudapi_component okbuttons[] = {
        {CLOUDAPI_C_BUTTON, "quick_reply", 1, payload, 1},
        {CLOUDAPI_C_BUTTON, "quick_reply", 2, payload, 1}};
    assert_string_equal(try_message(to, "t", "es", NULL, okbuttons, 2), "");
}

static void test_message_escaping_and_size(void **state)
{
    (void)state;
    size_t big = 1u << 20;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'x', big);
    huge[big] = '\0';
    const char *nasty = "a\"b\\c\n\t\x01 </script> ñ 😀";
    const struct cloudapi_param body[] = {{CLOUDAPI_P_TEXT, NULL, nasty},
                                          {CLOUDAPI_P_TEXT, NULL, huge}};
    const struct cloudapi_component comps[] = {{CLOUDAPI_C_BODY, NULL, 0, body, 2}};
    const struct cloudapi_message m = {"+5493875551234", "t", "es", comps, 1, NULL};
    char err[128];
    size_t len;
    char *js = cloudapi_message_json(&m, &len, err, sizeof err);

    assert_non_null(js);
    assert_int_equal(len, strlen(js));
    assert_true(len > big);
    json_object *o = json_tokener_parse(js), *v;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "template", &v));
    assert_true(json_object_object_get_ex(v, "components", &v));
    v = json_object_array_get_idx(v, 0);
    assert_true(json_object_object_get_ex(v, "parameters", &v));
    json_object *p0 = json_object_array_get_idx(v, 0), *t;
    assert_true(json_object_object_get_ex(p0, "text", &t));
    assert_string_equal(json_object_get_string(t), nasty);
    json_object_put(o);
    free(js);
    free(huge);

    /* err may be NULL or tiny */
    const struct cloudapi_message bad = {"x", "t", "es", NULL, 0, NULL};
    assert_null(cloudapi_message_json(&bad, NULL, NULL, 0));
    char small[4];
    assert_null(cloudapi_message_json(&bad, &len, small, sizeof small));
    assert_int_equal(len, 0);
    assert_int_equal(strlen(small), 3);
    assert_null(cloudapi_message_json(NULL, NULL, small, sizeof small));
}

/* ---- parsing send answers ---------------------------------------------------------- */

struct send_case {
    const char *file;
    long http;
    int rc, accepted, held, code;
    enum cloudapi_action action;
    const char *in_details; /* substring of details, or NULL */
};

static void test_parse_send_files(void **state)
{
    (void)state;
    static const struct send_case cases[] = {
        {"send_ok.json", 200, 0, 1, 0, 0, CLOUDAPI_ACT_NONE, NULL},
        {"send_ok_minimal.json", 200, 0, 1, 0, 0, CLOUDAPI_ACT_NONE, NULL},
        {"send_held.json", 200, 0, 1, 1, 0, CLOUDAPI_ACT_NONE, NULL},
        {"send_ok_no_id.json", 200, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "messages[0].id"},
        {"send_err_130429.json", 429, 0, 0, 0, 130429, CLOUDAPI_ACT_RETRY_THROTTLE, "throughput"},
        {"send_err_131056.json", 400, 0, 0, 0, 131056, CLOUDAPI_ACT_RETRY_PAIR, "same recipient"},
        {"send_err_131049.json", 400, 0, 0, 0, 131049, CLOUDAPI_ACT_RETRY_24H, "ecosystem"},
        {"send_err_131000.json", 500, 0, 0, 0, 131000, CLOUDAPI_ACT_RETRY, "went wrong"},
        {"send_err_131057.json", 400, 0, 0, 0, 131057, CLOUDAPI_ACT_RETRY_MAINTENANCE,
         "maintenance"},
        {"send_err_131050.json", 400, 0, 0, 0, 131050, CLOUDAPI_ACT_OPTOUT, "stop receiving"},
        {"send_err_131026.json", 400, 0, 0, 0, 131026, CLOUDAPI_ACT_INVALID_NUMBER,
         "Undeliverable"},
        {"send_err_131047.json", 400, 0, 0, 0, 131047, CLOUDAPI_ACT_FAIL, "24 hours"},
        {"send_err_100.json", 400, 0, 0, 0, 100, CLOUDAPI_ACT_FAIL_PARAM, "not valid"},
        {"send_err_132000.json", 400, 0, 0, 0, 132000, CLOUDAPI_ACT_FAIL_PARAM, "params"},
        {"send_err_132001.json", 404, 0, 0, 0, 132001, CLOUDAPI_ACT_PAUSE_CAMPAIGN, "es_AR"},
        {"send_err_132015.json", 400, 0, 0, 0, 132015, CLOUDAPI_ACT_PAUSE_CAMPAIGN, "paused"},
        {"send_err_132016.json", 400, 0, 0, 0, 132016, CLOUDAPI_ACT_STOP_CAMPAIGN, "disabled"},
        {"send_err_131048.json", 400, 0, 0, 0, 131048, CLOUDAPI_ACT_PAUSE_NUMBER, "restrictions"},
        {"send_err_190.json", 401, 0, 0, 0, 190, CLOUDAPI_ACT_STOP_ACCOUNT, "expired"},
        {"send_err_368.json", 403, 0, 0, 0, 368, CLOUDAPI_ACT_STOP_ACCOUNT, "restricted"},
        {"send_err_133010.json", 400, 0, 0, 0, 133010, CLOUDAPI_ACT_STOP_NUMBER, "registered"},
        {"send_err_nocode.json", 400, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "Something odd"},
        {"send_err_hostile.json", 400, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "no valid code"},
        {"send_err_bigcode.json", 400, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "no valid code"},
        {"send_nonjson.html", 502, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "502 Bad Gateway"},
        {"send_nonjson.html", 200, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "not JSON"},
        {"send_empty.json", 200, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "empty answer with HTTP 200"},
        {"send_empty.json", 503, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "empty answer with HTTP 503"},
        {"send_trailing.json", 200, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "not JSON"},
        {"send_truncated.json", 200, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "truncated"},
        {"send_array.json", 200, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "not an object"},
        /* a success body with an error status is not trusted as accepted */
        {"send_ok.json", 500, -1, 0, 0, CLOUDAPI_CODE_BAD_ANSWER, CLOUDAPI_ACT_RETRY,
         "HTTP 500 without"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct send_case *c = &cases[i];
        struct cloudapi_result r;
        size_t len;
        char *body = load(c->file, &len);
        int rc = cloudapi_parse_send(c->http, body, len, &r);

        print_message("%s/%ld: rc=%d code=%d action=%s details=%s\n", c->file, c->http, rc, r.code,
                      cloudapi_action_name(r.action), r.details);
        assert_int_equal(rc, c->rc);
        assert_int_equal(r.accepted, c->accepted);
        assert_int_equal(r.held, c->held);
        assert_int_equal(r.code, c->code);
        assert_int_equal(r.action, c->action);
        assert_int_equal(r.http_status, c->http);
        if (c->in_details)
            assert_contains(r.details, c->in_details);
        if (c->accepted)
            assert_true(strncmp(r.wamid, "wamid.", 6) == 0);
        else
            assert_string_equal(r.wamid, "");
        free(body);
    }
}

static void test_parse_send_fields(void **state)
{
    (void)state;
    struct cloudapi_result r;
    size_t len;
    char *body = load("send_ok.json", &len);

    assert_int_equal(cloudapi_parse_send(200, body, len, &r), 0);
    assert_string_equal(r.wamid, "wamid.HBgNNTQ5Mzg3NTU1MTIzNBUCABEYEjQ1QjQ2MUE2RjY5QzI0MzNFQgA=");
    assert_string_equal(r.wa_id, "5493875551234");
    assert_string_equal(r.message, "");
    free(body);

    body = load("send_err_130429.json", &len);
    assert_int_equal(cloudapi_parse_send(400, body, len, &r), 0);
    assert_string_equal(r.message, "(#130429) Rate limit hit");
    assert_string_equal(r.details, "Cloud API message throughput has been reached.");
    assert_string_equal(r.fbtrace_id, "Az8or2yhqkZfEZ-_4Qn_B130429");
    assert_int_equal(r.accepted, 0);
    free(body);

    /* body need not be NUL-terminated: parse a prefix of a longer buffer */
    const char *two = "{\"messages\":[{\"id\":\"wamid.A\"}]}{\"messages\":[{\"id\":\"wamid.B\"}]}";
    assert_int_equal(cloudapi_parse_send(200, two, strlen(two) / 2, &r), 0);
    assert_string_equal(r.wamid, "wamid.A");
    /* trailing whitespace is fine, an embedded NUL is not */
    const char ws[] = "{\"messages\":[{\"id\":\"wamid.A\"}]}\r\n ";
    assert_int_equal(cloudapi_parse_send(200, ws, sizeof ws - 1, &r), 0);
    const char nul[] = "{\"messages\":[{\"id\":\"wamid.A\"}]}\0garbage";
    assert_int_equal(cloudapi_parse_send(200, nul, sizeof nul - 1, &r), -1);
    /* wa_id with a wrong type is just left out */
    const char badwa[] = "{\"contacts\":[{\"wa_id\":5}],\"messages\":[{\"id\":\"wamid.A\","
                         "\"message_status\":7}]}";
    assert_int_equal(cloudapi_parse_send(201, badwa, sizeof badwa - 1, &r), 0);
    assert_int_equal(r.accepted, 1);
    assert_int_equal(r.held, 0);
    assert_string_equal(r.wa_id, "");
    /* wamid with spaces or control characters is not usable */
    const char badid[] = "{\"messages\":[{\"id\":\"wamid. A\"}]}";
    assert_int_equal(cloudapi_parse_send(200, badid, sizeof badid - 1, &r), -1);
    const char nulid[] = "{\"messages\":[{\"id\":\"wamid.\\u0000A\"}]}";
    assert_int_equal(cloudapi_parse_send(200, nulid, sizeof nulid - 1, &r), -1);
    /* messages[0] not an object */
    const char notobj[] = "{\"messages\":[\"wamid.A\"]}";
    assert_int_equal(cloudapi_parse_send(200, notobj, sizeof notobj - 1, &r), -1);
    /* NULL result */
    assert_int_equal(cloudapi_parse_send(200, two, 10, NULL), -1);
}

static void test_parse_send_network(void **state)
{
    (void)state;
    struct cloudapi_result r;

    assert_int_equal(cloudapi_parse_send(0, NULL, 0, &r), -1);
    assert_int_equal(r.code, CLOUDAPI_CODE_NO_ANSWER);
    assert_int_equal(r.action, CLOUDAPI_ACT_RETRY);
    assert_int_equal(r.accepted, 0);
    assert_int_equal(r.http_status, 0);
    assert_contains(r.details, "no HTTP answer");
    assert_null(strchr(r.details, ':'));

    const char *curl = "Failed to connect to graph.facebook.com port 443\n: Connection refused";
    assert_int_equal(cloudapi_parse_send(0, curl, strlen(curl), &r), -1);
    assert_contains(r.details, "Connection refused");
    assert_null(strchr(r.details, '\n'));
    /* NULL body with a length is treated as empty */
    assert_int_equal(cloudapi_parse_send(200, NULL, 5, &r), -1);
    assert_contains(r.details, "empty");
}

static void test_parse_send_hostile(void **state)
{
    (void)state;
    struct cloudapi_result r;
    size_t n = (1u << 20) + 100;
    char *big = malloc(n + 1);
    assert_non_null(big);

    /* over 1 MiB: refused without parsing */
    memset(big, ' ', n);
    memcpy(big, "{\"messages\":[{\"id\":\"wamid.A\"}]}", 31);
    assert_int_equal(cloudapi_parse_send(200, big, n, &r), -1);
    assert_contains(r.details, "too large");

    /* long strings: truncated on a UTF-8 boundary, never overflowing */
    size_t off = 0;
    off += (size_t)sprintf(big + off, "{\"error\":{\"code\":131000,\"message\":\"");
    for (int i = 0; i < 400; i++)
        off += (size_t)sprintf(big + off, "ñ");
    off += (size_t)sprintf(big + off, "\",\"error_data\":{\"details\":\"");
    for (int i = 0; i < 5000; i++)
        big[off++] = 'd';
    off += (size_t)sprintf(big + off, "\"},\"fbtrace_id\":\"");
    for (int i = 0; i < 100; i++)
        off += (size_t)sprintf(big + off, "€");
    off += (size_t)sprintf(big + off, "\"}}");
    assert_int_equal(cloudapi_parse_send(500, big, off, &r), 0);
    assert_int_equal(r.code, 131000);
    assert_int_equal(strlen(r.message), 254); /* 127 two-byte characters */
    assert_int_equal(strlen(r.details), 511);
    assert_int_equal(strlen(r.fbtrace_id), 63); /* 21 three-byte characters */
    assert_int_equal(r.fbtrace_id[60] & 0xff, 0xe2);

    /* wamid too long for the buffer: not accepted (would break webhook matching) */
    off = (size_t)sprintf(big, "{\"messages\":[{\"id\":\"wamid.");
    for (int i = 0; i < 200; i++)
        big[off++] = 'A';
    off += (size_t)sprintf(big + off, "\"}]}");
    assert_int_equal(cloudapi_parse_send(200, big, off, &r), -1);
    assert_int_equal(r.accepted, 0);

    /* deep nesting beyond json-c's depth limit */
    off = 0;
    for (int i = 0; i < 5000; i++)
        big[off++] = '[';
    assert_int_equal(cloudapi_parse_send(200, big, off, &r), -1);
    assert_contains(r.details, "not JSON");

    /* invalid UTF-8 inside a JSON string */
    const char bad[] = "{\"error\":{\"code\":100,\"message\":\"\xff\xfe\"}}";
    assert_int_equal(cloudapi_parse_send(400, bad, sizeof bad - 1, &r), -1);
    assert_int_equal(r.code, CLOUDAPI_CODE_BAD_ANSWER);
    free(big);
}

/* ---- classification ---------------------------------------------------------------- */

static void test_classify_table(void **state)
{
    (void)state;
    static const struct {
        int code;
        enum cloudapi_action a;
    } t[] = {
        {130429, CLOUDAPI_ACT_RETRY_THROTTLE},
        {131056, CLOUDAPI_ACT_RETRY_PAIR},
        {131049, CLOUDAPI_ACT_RETRY_24H},
        {131000, CLOUDAPI_ACT_RETRY},
        {131016, CLOUDAPI_ACT_RETRY},
        {1, CLOUDAPI_ACT_RETRY},
        {2, CLOUDAPI_ACT_RETRY},
        {133004, CLOUDAPI_ACT_RETRY},
        {131057, CLOUDAPI_ACT_RETRY_MAINTENANCE},
        {4, CLOUDAPI_ACT_RETRY},
        {80007, CLOUDAPI_ACT_RETRY},
        {131050, CLOUDAPI_ACT_OPTOUT},
        {131026, CLOUDAPI_ACT_INVALID_NUMBER},
        {131047, CLOUDAPI_ACT_FAIL},
        {130472, CLOUDAPI_ACT_FAIL},
        {130403, CLOUDAPI_ACT_FAIL},
        {100, CLOUDAPI_ACT_FAIL_PARAM},
        {132000, CLOUDAPI_ACT_FAIL_PARAM},
        {132012, CLOUDAPI_ACT_FAIL_PARAM},
        {132001, CLOUDAPI_ACT_PAUSE_CAMPAIGN},
        {132005, CLOUDAPI_ACT_PAUSE_CAMPAIGN},
        {132007, CLOUDAPI_ACT_PAUSE_CAMPAIGN},
        {132015, CLOUDAPI_ACT_PAUSE_CAMPAIGN},
        {132016, CLOUDAPI_ACT_STOP_CAMPAIGN},
        {131064, CLOUDAPI_ACT_PAUSE_CAMPAIGN},
        {131048, CLOUDAPI_ACT_PAUSE_NUMBER},
        {190, CLOUDAPI_ACT_STOP_ACCOUNT},
        {0, CLOUDAPI_ACT_STOP_ACCOUNT},
        {3, CLOUDAPI_ACT_STOP_ACCOUNT},
        {10, CLOUDAPI_ACT_STOP_ACCOUNT},
        {200, CLOUDAPI_ACT_STOP_ACCOUNT},
        {250, CLOUDAPI_ACT_STOP_ACCOUNT},
        {299, CLOUDAPI_ACT_STOP_ACCOUNT},
        {368, CLOUDAPI_ACT_STOP_ACCOUNT},
        {131031, CLOUDAPI_ACT_STOP_ACCOUNT},
        {131042, CLOUDAPI_ACT_STOP_ACCOUNT},
        {133010, CLOUDAPI_ACT_STOP_NUMBER},
        {131045, CLOUDAPI_ACT_STOP_NUMBER},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        /* known codes do not depend on the status (except 0, below) */
        assert_int_equal(cloudapi_classify(t[i].code, 400), t[i].a);
        if (t[i].code != 0) {
            assert_int_equal(cloudapi_classify(t[i].code, 500), t[i].a);
            assert_int_equal(cloudapi_classify(t[i].code, CLOUDAPI_HTTP_WEBHOOK), t[i].a);
        }
    }
}

static void test_classify_unknown(void **state)
{
    (void)state;
    assert_int_equal(cloudapi_classify(199, 500), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(199, 503), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(199, 0), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(199, 429), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(199, 408), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(199, 400), CLOUDAPI_ACT_FAIL);
    assert_int_equal(cloudapi_classify(199, 404), CLOUDAPI_ACT_FAIL);
    assert_int_equal(cloudapi_classify(199, 200), CLOUDAPI_ACT_FAIL);
    assert_int_equal(cloudapi_classify(199, 600), CLOUDAPI_ACT_FAIL);
    assert_int_equal(cloudapi_classify(199, CLOUDAPI_HTTP_WEBHOOK), CLOUDAPI_ACT_FAIL);
    assert_int_equal(cloudapi_classify(131008, 400), CLOUDAPI_ACT_FAIL);
    assert_int_equal(cloudapi_classify(300, 400), CLOUDAPI_ACT_FAIL);
    /* code 0: Meta's auth error in a 4xx; without an answer it means nothing */
    assert_int_equal(cloudapi_classify(0, 401), CLOUDAPI_ACT_STOP_ACCOUNT);
    assert_int_equal(cloudapi_classify(0, 0), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(0, 502), CLOUDAPI_ACT_RETRY);
    /* synthetic codes */
    assert_int_equal(cloudapi_classify(CLOUDAPI_CODE_NO_ANSWER, 0), CLOUDAPI_ACT_RETRY);
    assert_int_equal(cloudapi_classify(CLOUDAPI_CODE_BAD_ANSWER, 404), CLOUDAPI_ACT_RETRY);
}

static void test_action_names(void **state)
{
    (void)state;
    static const char *const want[] = {"none",         "retry",          "retry_throttle",
                                       "retry_pair",   "retry_24h",      "retry_maintenance",
                                       "fail",         "optout",         "invalid_number",
                                       "fail_param",   "pause_campaign", "stop_campaign",
                                       "pause_number", "stop_account",   "stop_number"};
    for (int a = CLOUDAPI_ACT_NONE; a <= CLOUDAPI_ACT_STOP_NUMBER; a++)
        assert_string_equal(cloudapi_action_name((enum cloudapi_action)a), want[a]);
    assert_string_equal(cloudapi_action_name((enum cloudapi_action)99), "unknown");
    assert_string_equal(cloudapi_action_name((enum cloudapi_action) - 1), "unknown");
}

static void test_explain(void **state)
{
    (void)state;
    static const int codes[] = {130429,
                                131056,
                                131049,
                                131000,
                                131016,
                                1,
                                2,
                                133004,
                                131057,
                                4,
                                80007,
                                131050,
                                131026,
                                131047,
                                130472,
                                130403,
                                100,
                                132000,
                                132012,
                                132001,
                                132005,
                                132007,
                                132015,
                                132016,
                                131064,
                                131048,
                                190,
                                0,
                                3,
                                10,
                                250,
                                368,
                                131031,
                                131042,
                                133010,
                                131045,
                                CLOUDAPI_CODE_NO_ANSWER,
                                CLOUDAPI_CODE_BAD_ANSWER};
    const char *unknown_es = cloudapi_explain(424242, "es");
    const char *unknown_en = cloudapi_explain(424242, "en");

    assert_contains(unknown_es, "desconocido");
    assert_contains(unknown_en, "Unknown");
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *es = cloudapi_explain(codes[i], "es"), *en = cloudapi_explain(codes[i], "en");
        assert_non_null(es);
        assert_non_null(en);
        assert_true(es != en);
        assert_true(es != unknown_es);
        assert_true(en != unknown_en);
        assert_true(strlen(es) > 40 && strlen(en) > 40);
    }
    assert_contains(cloudapi_explain(131050, "es"), "marketing");
    assert_contains(cloudapi_explain(190, "en"), "token");
    assert_contains(cloudapi_explain(190, "es"), "token");
    assert_ptr_equal(cloudapi_explain(190, NULL), cloudapi_explain(190, "es"));
    assert_ptr_equal(cloudapi_explain(190, "fr"), cloudapi_explain(190, "es"));
    assert_ptr_equal(cloudapi_explain(190, "en_US"), cloudapi_explain(190, "en"));
    assert_ptr_equal(cloudapi_explain(190, "EN"), cloudapi_explain(190, "en"));
    assert_ptr_equal(cloudapi_explain(131000, "es"), cloudapi_explain(2, "es"));
}

static void test_retry_delay(void **state)
{
    (void)state;
    static const uint32_t rnd[] = {0, 1, 12345, 0x7fffffffu, 0xffffffffu};

    for (size_t k = 0; k < sizeof rnd / sizeof rnd[0]; k++) {
        long prev_top = 0;
        for (int n = -1; n <= 40; n++) {
            long d = cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY, n, rnd[k]);
            assert_true(d >= 1000 && d <= 30L * 60 * 1000);
            d = cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_THROTTLE, n, rnd[k]);
            assert_true(d >= 500 && d <= 5L * 60 * 1000);
            d = cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_MAINTENANCE, n, rnd[k]);
            assert_true(d >= 60L * 1000 && d <= 30L * 60 * 1000);
            d = cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_24H, n, rnd[k]);
            assert_true(d >= 24L * 3600 * 1000 && d <= 25L * 3600 * 1000);
            d = cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_PAIR, n, rnd[k]);
            long base = 1000;
            for (int i = 0; i < (n < 1 ? 1 : n) && i < 7; i++)
                base *= 4;
            assert_true(d >= base && d <= base + base / 4);
            assert_true(base >= prev_top);
            prev_top = base;
        }
    }
    /* 4^n seconds: 4 s, 16 s, 64 s with no jitter */
    assert_int_equal(cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_PAIR, 1, 0), 4000);
    assert_int_equal(cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_PAIR, 2, 0), 16000);
    assert_int_equal(cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY_PAIR, 3, 0), 64000);
    /* full jitter reaches the exponential top: attempt 3 of RETRY tops at 8 s */
    long max = 0;
    for (uint32_t r = 0; r < 20000; r += 7) {
        long d = cloudapi_retry_delay_ms(CLOUDAPI_ACT_RETRY, 3, r);
        assert_true(d <= 8000);
        if (d > max)
            max = d;
    }
    assert_int_equal(max, 8000);
    /* never retried */
    static const enum cloudapi_action no[] = {
        CLOUDAPI_ACT_NONE,           CLOUDAPI_ACT_FAIL,         CLOUDAPI_ACT_OPTOUT,
        CLOUDAPI_ACT_INVALID_NUMBER, CLOUDAPI_ACT_FAIL_PARAM,   CLOUDAPI_ACT_PAUSE_CAMPAIGN,
        CLOUDAPI_ACT_STOP_CAMPAIGN,  CLOUDAPI_ACT_PAUSE_NUMBER, CLOUDAPI_ACT_STOP_ACCOUNT,
        CLOUDAPI_ACT_STOP_NUMBER,    (enum cloudapi_action)77};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(cloudapi_retry_delay_ms(no[i], 1, 5), -1);
}

/* ---- templates --------------------------------------------------------------------- */

static int parse_page_file(const char *file, struct cloudapi_template_page *p, char *err,
                           size_t errlen)
{
    size_t len;
    char *body = load(file, &len);
    int rc = cloudapi_parse_templates(body, len, p, err, errlen);
    free(body);
    return rc;
}

static void test_templates_positional(void **state)
{
    (void)state;
    struct cloudapi_template_page p;
    char err[256] = "";

    assert_int_equal(parse_page_file("templates_positional.json", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.skipped, 0);
    assert_string_equal(p.next, "https://graph.facebook.com/v25.0/102290129340398/"
                                "message_templates?limit=3&after=MjQZD");
    assert_string_equal(p.items[0].id, "1689556908129832");
    assert_string_equal(p.items[0].name, "promo_marzo");
    assert_string_equal(p.items[0].language, "es_AR");
    assert_string_equal(p.items[0].status, "APPROVED");
    assert_string_equal(p.items[0].category, "MARKETING");
    assert_int_equal(p.items[0].named, 0);
    assert_string_equal(p.items[2].status, "PAUSED");
    assert_int_equal(p.items[2].named, 0); /* parameter_format absent */

    /* components survive as JSON equal to the source */
    char *src = load("templates_positional.json", NULL);
    json_object *root = json_tokener_parse(src), *data, *comps;
    assert_true(json_object_object_get_ex(root, "data", &data));
    for (size_t i = 0; i < p.n; i++) {
        json_object *stored = json_tokener_parse(p.items[i].components);
        assert_non_null(stored);
        assert_true(
            json_object_object_get_ex(json_object_array_get_idx(data, i), "components", &comps));
        assert_true(json_object_equal(stored, comps));
        json_object_put(stored);
    }
    assert_non_null(strstr(p.items[0].components, "Robótica"));
    json_object_put(root);
    free(src);
    cloudapi_template_page_free(&p);
    assert_null(p.items);
    cloudapi_template_page_free(&p); /* twice is harmless */
    cloudapi_template_page_free(NULL);
}

static void test_templates_named_last_page(void **state)
{
    (void)state;
    struct cloudapi_template_page p;
    char err[256] = "";

    assert_int_equal(parse_page_file("templates_named.json", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 1);
    assert_null(p.next);
    assert_int_equal(p.items[0].named, 1);
    assert_string_equal(p.items[0].name, "bienvenida_nombre");
    cloudapi_template_page_free(&p);

    assert_int_equal(parse_page_file("templates_empty.json", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 0);
    assert_null(p.next);
    cloudapi_template_page_free(&p);
}

static void test_templates_hostile(void **state)
{
    (void)state;
    struct cloudapi_template_page p;
    char err[256] = "";

    assert_int_equal(parse_page_file("templates_hostile.json", &p, err, sizeof err), 0);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.skipped, 10);
    assert_null(p.next); /* "paging": null */
    assert_string_equal(p.items[0].id, "4455667788");
    assert_string_equal(p.items[0].name, "id_numerico");
    assert_string_equal(p.items[0].components, "[]");
    assert_string_equal(p.items[1].name, "tipos_raros");
    assert_string_equal(p.items[1].status, "");
    assert_string_equal(p.items[1].category, "");
    assert_int_equal(p.items[1].named, 0);
    assert_string_equal(p.items[1].components, "[]");
    cloudapi_template_page_free(&p);
}

static void test_templates_errors(void **state)
{
    (void)state;
    static const struct {
        const char *file, *in_err;
    } t[] = {
        {"templates_error.json", "Graph API error 4"},
        {"templates_no_data.json", "\"data\""},
        {"templates_bad_next.json", "paging.next"},
        {"templates_truncated.json", "truncated"},
        {"send_nonjson.html", "not JSON"},
        {"send_array.json", "not a JSON object"},
        {"send_empty.json", "empty"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct cloudapi_template_page p;
        char err[256] = "";
        assert_int_equal(parse_page_file(t[i].file, &p, err, sizeof err), -1);
        assert_contains(err, t[i].in_err);
        assert_null(p.items);
        assert_null(p.next);
        assert_int_equal(p.n, 0);
    }
    char err[64];
    assert_int_equal(cloudapi_parse_templates("{}", 2, NULL, err, sizeof err), -1);
    struct cloudapi_template_page p;
    assert_int_equal(cloudapi_parse_templates(NULL, 0, &p, NULL, 0), -1);
}

/* ---- slots ------------------------------------------------------------------------- */

/* Components JSON of template i of a data file page. Caller frees. */
static char *page_components(const char *file, size_t i)
{
    struct cloudapi_template_page p;
    char err[256] = "";
    char *c;

    assert_int_equal(parse_page_file(file, &p, err, sizeof err), 0);
    assert_true(i < p.n);
    c = strdup(p.items[i].components);
    cloudapi_template_page_free(&p);
    return c;
}

static void assert_slot(const struct cloudapi_slot *s, enum cloudapi_ctype c, int index,
                        enum cloudapi_ptype t, const char *name)
{
    assert_int_equal(s->component, c);
    assert_int_equal(s->index, index);
    assert_int_equal(s->type, t);
    assert_string_equal(s->name, name);
}

static void test_slots_from_pages(void **state)
{
    (void)state;
    struct cloudapi_slots s;
    char err[256] = "";
    char *c = page_components("templates_positional.json", 0);

    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.named, 0);
    assert_slot(&s.v[0], CLOUDAPI_C_HEADER, 0, CLOUDAPI_P_TEXT, "1");
    assert_slot(&s.v[1], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "1");
    assert_slot(&s.v[2], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "2");
    cloudapi_slots_free(&s);
    free(c);

    c = page_components("templates_positional.json", 1);
    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 7);
    assert_slot(&s.v[0], CLOUDAPI_C_HEADER, 0, CLOUDAPI_P_IMAGE, "");
    assert_slot(&s.v[1], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "1");
    assert_slot(&s.v[4], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "4"); /* {{2}} twice: one slot */
    assert_slot(&s.v[5], CLOUDAPI_C_BUTTON, 0, CLOUDAPI_P_TEXT, "1");
    assert_slot(&s.v[6], CLOUDAPI_C_BUTTON, 1, CLOUDAPI_P_COUPON, "");
    cloudapi_slots_free(&s);
    free(c);

    c = page_components("templates_positional.json", 2);
    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    cloudapi_slots_free(&s);
    free(c);

    c = page_components("templates_named.json", 0);
    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    assert_int_equal(s.named, 1);
    assert_int_equal(s.n, 5);
    assert_slot(&s.v[0], CLOUDAPI_C_HEADER, 0, CLOUDAPI_P_TEXT, "first_name");
    assert_slot(&s.v[1], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "first_name");
    assert_slot(&s.v[2], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "course");
    assert_slot(&s.v[3], CLOUDAPI_C_BODY, 0, CLOUDAPI_P_TEXT, "start_date");
    assert_slot(&s.v[4], CLOUDAPI_C_BUTTON, 0, CLOUDAPI_P_TEXT, "1");
    cloudapi_slots_free(&s);
    free(c);
}

static const char *try_slots(const char *components, size_t *n)
{
    static char err[256];
    struct cloudapi_slots s;

    err[0] = '\0';
    if (cloudapi_template_slots(components, &s, err, sizeof err) == 0) {
        if (n)
            *n = s.n;
        cloudapi_slots_free(&s);
        return "";
    }
    assert_null(s.v);
    assert_int_equal(s.n, 0);
    assert_true(err[0] != '\0');
    return err;
}

#define BODY(t) "[{\"type\":\"BODY\",\"text\":\"" t "\"}]"

static void test_slots_malformed(void **state)
{
    (void)state;
    size_t n = 0;

    assert_string_equal(try_slots(BODY("a {{1}} b {{2}} c"), &n), "");
    assert_int_equal(n, 2);
    assert_string_equal(try_slots(BODY("{ {1} } {x} }} {{1}}}"), &n), "");
    assert_int_equal(n, 1);
    assert_string_equal(try_slots(BODY("{{_x9}}"), &n), "");
    assert_string_equal(try_slots(BODY("{{1}}{{2}}{{3}}{{4}}{{5}}{{6}}{{7}}{{8}}{{9}}{{10}}"), &n),
                        "");
    assert_int_equal(n, 10);
    assert_contains(try_slots(BODY("Hola {{ 1 }}"), NULL), "malformed placeholder");
    assert_contains(try_slots(BODY("Hola {{1"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{1}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{}}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{01}}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{1000}}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{1a}}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{First}}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{{1}}}"), NULL), "malformed");
    assert_contains(try_slots(BODY("Hola {{nombre-x}}"), NULL), "malformed");
    assert_contains(
        try_slots(BODY("{{a234567890123456789012345678901234567890123456789012345678901234}}"),
                  NULL),
        "malformed");
    assert_string_equal(
        try_slots(BODY("{{a23456789012345678901234567890123456789012345678901234567890123}}"), &n),
        "");
    assert_contains(try_slots(BODY("{{1}} {{3}}"), NULL), "{{2}} is missing");
    assert_contains(try_slots(BODY("{{2}}"), NULL), "{{1}} is missing");
    assert_contains(try_slots(BODY("{{1}} {{name}}"), NULL), "mixes");
    assert_contains(try_slots("[{\"type\":\"HEADER\",\"format\":\"TEXT\",\"text\":\"{{name}}\"},"
                              "{\"type\":\"BODY\",\"text\":\"{{1}}\"}]",
                              NULL),
                    "mixes");
    /* URL buttons */
    assert_string_equal(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\","
                                  "\"text\":\"a\",\"url\":\"https://x.com/\"}]}]",
                                  &n),
                        "");
    assert_int_equal(n, 0);
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\",\"text\":"
                              "\"a\",\"url\":\"https://x.com/{{1}}/y\"}]}]",
                              NULL),
                    "very end");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\",\"text\":"
                              "\"a\",\"url\":\"https://x.com/{{2}}\"}]}]",
                              NULL),
                    "very end");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\",\"text\":"
                              "\"a\",\"url\":\"https://{{1}}.com/{{1}}\"}]}]",
                              NULL),
                    "very end");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\",\"text\":"
                              "\"a\",\"url\":\"https://x.com/{{ 1}}\"}]}]",
                              NULL),
                    "malformed");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"URL\"}]}]", NULL),
                    "url missing");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"OTP\"}]}]", NULL),
                    "unsupported");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"text\":\"x\"}]}]", NULL),
                    "button 0");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[1]}]", NULL), "button 0");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":{}}]", NULL), "buttons");
    assert_contains(try_slots("[{\"type\":\"BUTTONS\",\"buttons\":[{\"type\":\"QUICK_REPLY\"},"
                              "{\"type\":\"QUICK_REPLY\"},{\"type\":\"QUICK_REPLY\"},{\"type\":"
                              "\"QUICK_REPLY\"},{\"type\":\"QUICK_REPLY\"},{\"type\":"
                              "\"QUICK_REPLY\"},{\"type\":\"QUICK_REPLY\"},{\"type\":"
                              "\"QUICK_REPLY\"},{\"type\":\"QUICK_REPLY\"},{\"type\":"
                              "\"QUICK_REPLY\"},{\"type\":\"QUICK_REPLY\"}]}]",
                              NULL),
                    "at most 10");
    /* structure */
    assert_contains(try_slots("[{\"type\":\"CAROUSEL\",\"cards\":[]}]", NULL), "unsupported");
    assert_contains(try_slots("[{\"type\":\"HEADER\",\"format\":\"LOCATION\"}]", NULL),
                    "unsupported format");
    assert_contains(try_slots("[{\"type\":\"HEADER\",\"format\":\"TEXT\"}]", NULL), "text missing");
    assert_contains(try_slots("[{\"type\":\"BODY\",\"text\":5}]", NULL), "text missing");
    assert_contains(try_slots("[{\"type\":\"BODY\",\"text\":\"a\"},{\"type\":\"BODY\",\"text\":"
                              "\"b\"}]",
                              NULL),
                    "more than one BODY");
    assert_contains(try_slots("[{\"type\":\"FOOTER\",\"text\":\"a\"},{\"type\":\"FOOTER\","
                              "\"text\":\"b\"}]",
                              NULL),
                    "more than one FOOTER");
    assert_contains(try_slots("[{\"text\":\"a\"}]", NULL), "components[0]");
    assert_contains(try_slots("[7]", NULL), "components[0]");
    assert_contains(try_slots("{\"type\":\"BODY\"}", NULL), "not a JSON array");
    assert_contains(try_slots("[{\"type\":\"BODY\",\"text\":\"a\"}", NULL), "not JSON");
    assert_contains(try_slots(NULL, NULL), "missing");
    assert_contains(try_slots("", NULL), "not JSON");
    assert_string_equal(try_slots("[]", &n), "");
    assert_int_equal(n, 0);
    /* lowercase types from hand-written JSON are accepted */
    assert_string_equal(try_slots("[{\"type\":\"body\",\"text\":\"{{1}}\"}]", &n), "");
    assert_int_equal(n, 1);
    char *o = NULL;
    assert_int_equal(cloudapi_template_slots("[]", NULL, o, 0), -1);
}

static void test_slots_many_placeholders(void **state)
{
    (void)state;
    struct buf {
        char s[8192];
        size_t n;
    } b = {.n = 0};
    b.n += (size_t)sprintf(b.s, "[{\"type\":\"BODY\",\"text\":\"");
    for (int i = 1; i <= 101; i++)
        b.n += (size_t)sprintf(b.s + b.n, "{{%d}} ", i);
    sprintf(b.s + b.n, "\"}]");
    assert_contains(try_slots(b.s, NULL), "more than 100");

    /* many repetitions of the same name also count */
    b.n = (size_t)sprintf(b.s, "[{\"type\":\"BODY\",\"text\":\"");
    for (int i = 1; i <= 150; i++)
        b.n += (size_t)sprintf(b.s + b.n, "{{x}}");
    sprintf(b.s + b.n, "\"}]");
    assert_contains(try_slots(b.s, NULL), "more than 100");
}

/* ---- building from slots ----------------------------------------------------------- */

static void test_slots_message_golden(void **state)
{
    (void)state;
    struct cloudapi_slots s;
    char err[256] = "";
    char *c = page_components("templates_positional.json", 1);
    const char *values[] = {
        "https://cdn.example.com/o.jpg", "Ana", "20%", "zapatillas", "31/3", "o-77", "DESC20"};
    const struct cloudapi_param qr[] = {{CLOUDAPI_P_PAYLOAD, NULL, "BAJA"}};
    const struct cloudapi_component extra[] = {{CLOUDAPI_C_BUTTON, "quick_reply", 3, qr, 1}};
    const struct cloudapi_message m = {"+5493875551234", "oferta_imagen", "es", extra, 1, "x"};

    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    size_t len = 0;
    char *js = cloudapi_slots_message_json(&m, &s, values, 7, &len, err, sizeof err);
    assert_non_null(js);
    assert_int_equal(len, strlen(js));
    assert_json_file(js, "msg_media_coupon.json");
    free(js);

    /* missing values name their slot */
    values[3] = "";
    assert_null(cloudapi_slots_message_json(&m, &s, values, 7, &len, err, sizeof err));
    assert_string_equal(err, "missing value for body {{3}}");
    values[3] = "zapatillas";
    assert_null(cloudapi_slots_message_json(&m, &s, values, 6, NULL, err, sizeof err));
    assert_string_equal(err, "missing value for button 1 coupon code");
    values[0] = NULL;
    assert_null(cloudapi_slots_message_json(&m, &s, values, 7, NULL, err, sizeof err));
    assert_string_equal(err, "missing value for header image link");
    values[0] = "ftp://x";
    assert_null(cloudapi_slots_message_json(&m, &s, values, 7, NULL, err, sizeof err));
    assert_contains(err, "http(s)");
    assert_null(cloudapi_slots_message_json(&m, &s, NULL, 0, NULL, err, sizeof err));
    assert_null(cloudapi_slots_message_json(NULL, &s, values, 7, NULL, err, sizeof err));
    cloudapi_slots_free(&s);
    free(c);

    c = page_components("templates_named.json", 0);
    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    const char *nv[] = {"Ana", "Ana", "Robótica \"avanzada\"", "lunes 3/3", "ana-42"};
    const struct cloudapi_message nm = {
        "+14155550123", "bienvenida_nombre", "es_AR", NULL, 0, NULL};
    js = cloudapi_slots_message_json(&nm, &s, nv, 5, NULL, err, sizeof err);
    assert_non_null(js);
    assert_json_file(js, "msg_named.json");
    free(js);
    nv[2] = NULL;
    assert_null(cloudapi_slots_message_json(&nm, &s, nv, 5, NULL, err, sizeof err));
    assert_string_equal(err, "missing value for body {{course}}");
    nv[2] = "x";
    nv[4] = NULL;
    assert_null(cloudapi_slots_message_json(&nm, &s, nv, 5, NULL, err, sizeof err));
    assert_string_equal(err, "missing value for button 0 URL {{1}}");
    cloudapi_slots_free(&s);
    free(c);

    /* a template with no slots */
    memset(&s, 0, sizeof s);
    const struct cloudapi_message mm = {"+5493875551234", "aviso_simple", "en_US", NULL, 0, NULL};
    js = cloudapi_slots_message_json(&mm, &s, NULL, 0, NULL, err, sizeof err);
    assert_non_null(js);
    assert_json_file(js, "msg_minimal.json");
    free(js);
}

/* ---- prepared requests ------------------------------------------------------------- */

/* The prepared request must be byte for byte what the builder makes, whatever the values. */
static void assert_prepared_equal(struct cloudapi_prepared *p, const struct cloudapi_message *m,
                                  const struct cloudapi_slots *s, const char *const *values,
                                  size_t n)
{
    char err[256] = "", err2[256] = "";
    size_t l1 = 0, l2 = 0;
    char *want = s ? cloudapi_slots_message_json(m, s, values, n, &l1, err, sizeof err)
                   : cloudapi_message_json(m, &l1, err, sizeof err);
    assert_non_null(want);
    char *got =
        cloudapi_prepared_json(p, m->to, m->callback_data, values, n, &l2, err2, sizeof err2);
    if (got == NULL)
        fail_msg("prepared: %s", err2);
    assert_string_equal(got, want);
    assert_int_equal(l1, l2);
    assert_int_equal(l2, strlen(got));
    free(want);
    free(got);
}

static void test_prepared_slots_match_the_builder(void **state)
{
    (void)state;
    struct cloudapi_slots s;
    struct cloudapi_prepared p;
    char err[256] = "";
    char *c = page_components("templates_positional.json", 1);
    const struct cloudapi_param qr[] = {{CLOUDAPI_P_PAYLOAD, NULL, "BAJA"}};
    const struct cloudapi_component extra[] = {{CLOUDAPI_C_BUTTON, "quick_reply", 3, qr, 1}};
    struct cloudapi_message m = {"+5493875551234", "oferta_imagen", "es", extra, 1, "pregon:1:2"};
    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    assert_int_equal(cloudapi_prepare_slots(&m, &s, &p, err, sizeof err), 0);
    assert_int_equal(p.nvalues, 7);
    const char *values[] = {"https://cdn.example.com/o.jpg?a=1&b=\"2\"",
                            "Ana",
                            "20%",
                            "zapatillas",
                            "31/3",
                            "o-77",
                            "DESC20"};
    assert_prepared_equal(&p, &m, &s, values, 7);
    /* Values that json-c escapes, and one that looks like a placeholder. */
    const char *tricky[] = {"Robótica \"avanzada\" \\ y /barra/",
                            "línea\nnueva\ttab",
                            "\x01pregon:3\x01",
                            "🎉 ¡listo!",
                            "a\x1f"
                            "b",
                            "+19990000000000",
                            "</script>"};
    for (size_t i = 1; i < 7; i++) {
        values[i] = tricky[i - 1];
        assert_prepared_equal(&p, &m, &s, values, 7);
    }
    m.to = "+14155550123";
    m.callback_data = "pregon:99999:123456789";
    assert_prepared_equal(&p, &m, &s, values, 7);

    /* The per-recipient checks. */
    values[1] = "";
    assert_null(
        cloudapi_prepared_json(&p, m.to, m.callback_data, values, 7, NULL, err, sizeof err));
    assert_string_equal(err, "parameter 2: missing value");
    values[1] = "\xc3";
    assert_null(
        cloudapi_prepared_json(&p, m.to, m.callback_data, values, 7, NULL, err, sizeof err));
    assert_string_equal(err, "parameter 2: value is not valid UTF-8");
    values[1] = "Ana";
    values[0] = "ftp://x";
    assert_null(
        cloudapi_prepared_json(&p, m.to, m.callback_data, values, 7, NULL, err, sizeof err));
    assert_contains(err, "http(s)");
    values[0] = "https://x";
    assert_null(
        cloudapi_prepared_json(&p, m.to, m.callback_data, values, 6, NULL, err, sizeof err));
    assert_string_equal(err, "parameter 7: missing value");
    assert_null(cloudapi_prepared_json(&p, "5493875551234", m.callback_data, values, 7, NULL, err,
                                       sizeof err));
    assert_contains(err, "E.164");
    assert_null(cloudapi_prepared_json(&p, m.to, "", values, 7, NULL, err, sizeof err));
    assert_contains(err, "biz_opaque_callback_data");
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_null(cloudapi_prepared_json(&p, m.to, big, values, 7, NULL, err, sizeof err));
    assert_contains(err, "512");
    cloudapi_prepared_free(&p);
    assert_null(p.text);
    cloudapi_prepared_free(&p); /* twice is harmless */

    /* Without callback data there is no layout to fill. */
    m.callback_data = NULL;
    assert_int_equal(cloudapi_prepare_slots(&m, &s, &p, err, sizeof err), -1);
    assert_null(p.text);
    cloudapi_slots_free(&s);
    free(c);

    /* Named parameters. */
    c = page_components("templates_named.json", 0);
    assert_int_equal(cloudapi_template_slots(c, &s, err, sizeof err), 0);
    const struct cloudapi_message nm = {"+14155550123", "bienvenida_nombre", "es_AR", NULL, 0,
                                        "pregon:7:8"};
    assert_int_equal(cloudapi_prepare_slots(&nm, &s, &p, err, sizeof err), 0);
    const char *nv[] = {"Ana", "Ana", "Robótica \"avanzada\"", "lunes 3/3", "ana-42"};
    assert_prepared_equal(&p, &nm, &s, nv, 5);
    cloudapi_prepared_free(&p);
    cloudapi_slots_free(&s);
    free(c);

    /* A layout the builder refuses is refused here too, with its reason. */
    memset(&s, 0, sizeof s);
    const struct cloudapi_message bad = {"+14155550123", "Bad Name", "es", NULL, 0, "x"};
    assert_int_equal(cloudapi_prepare_slots(&bad, &s, &p, err, sizeof err), -1);
    assert_string_equal(err, "invalid template name");
}

static void test_prepared_body_params_match_the_builder(void **state)
{
    (void)state;
    struct cloudapi_prepared p;
    char err[256] = "";
    struct cloudapi_param params[3] = {{CLOUDAPI_P_TEXT, NULL, "N1"},
                                       {CLOUDAPI_P_TEXT, NULL, "Robótica"},
                                       {CLOUDAPI_P_TEXT, NULL, "lunes"}};
    struct cloudapi_component comp = {CLOUDAPI_C_BODY, NULL, 0, params, 3};
    struct cloudapi_message m = {"+5493875551234", "recordatorio_clase", "es_AR", &comp, 1,
                                 "pregon:1:1"};
    assert_int_equal(cloudapi_prepare(&m, &p, err, sizeof err), 0);
    assert_int_equal(p.nvalues, 3);
    const char *values[3] = {"Ana \"la\" grande", "Robótica", "lunes\n"};
    for (size_t i = 0; i < 3; i++)
        params[i].value = values[i];
    assert_prepared_equal(&p, &m, NULL, values, 3);
    /* Many recipients through one layout (the scratch string grows and shrinks). */
    char to[20], cb[40], name[400];
    for (int i = 0; i < 200; i++) {
        snprintf(to, sizeof to, "+54938755%05d", i);
        snprintf(cb, sizeof cb, "pregon:1:%d", i);
        memset(name, 'a' + i % 26, (size_t)(i % 300) + 1);
        name[i % 300 + 1] = '\0';
        values[0] = name;
        params[0].value = name;
        m.to = to;
        m.callback_data = cb;
        assert_prepared_equal(&p, &m, NULL, values, 3);
    }
    cloudapi_prepared_free(&p);

    /* No parameters at all. */
    struct cloudapi_message plain = {"+5493875551234", "aviso_simple", "en_US", NULL, 0, "x"};
    assert_int_equal(cloudapi_prepare(&plain, &p, err, sizeof err), 0);
    assert_prepared_equal(&p, &plain, NULL, NULL, 0);
    cloudapi_prepared_free(&p);
    /* Mixed named and positional parameters: the builder's refusal. */
    struct cloudapi_param mixed[2] = {{CLOUDAPI_P_TEXT, "a", "x"}, {CLOUDAPI_P_TEXT, NULL, "y"}};
    struct cloudapi_component mc = {CLOUDAPI_C_BODY, NULL, 0, mixed, 2};
    struct cloudapi_message mm = {"+5493875551234", "t", "es", &mc, 1, "x"};
    assert_int_equal(cloudapi_prepare(&mm, &p, err, sizeof err), -1);
    assert_contains(err, "mixed");
}

/* ---- rendering --------------------------------------------------------------------- */

static void test_render_text(void **state)
{
    (void)state;
    char err[256];
    const char *pv[] = {"Ana", "Robótica"};
    char *s = cloudapi_render_text("Hola {{1}}, el curso de {{2}} empieza el lunes. Chau {{1}}.",
                                   pv, NULL, 2, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "Hola Ana, el curso de Robótica empieza el lunes. Chau Ana.");
    free(s);

    const char *names[] = {"course", "first_name"};
    const char *nv[] = {"Robótica", "Ana"};
    s = cloudapi_render_text("{{first_name}}: {{course}}", nv, names, 2, err, sizeof err);
    assert_non_null(s);
    assert_string_equal(s, "Ana: Robótica");
    free(s);

    /* values that look like placeholders are not expanded again */
    const char *tricky[] = {"{{2}}", "x"};
    s = cloudapi_render_text("{{1}}{{2}}", tricky, NULL, 2, err, sizeof err);
    assert_string_equal(s, "{{2}}x");
    free(s);

    s = cloudapi_render_text("sin variables { } }}", NULL, NULL, 0, err, sizeof err);
    assert_string_equal(s, "sin variables { } }}");
    free(s);
    s = cloudapi_render_text("", NULL, NULL, 0, err, sizeof err);
    assert_string_equal(s, "");
    free(s);

    assert_null(cloudapi_render_text("Hola {{3}}", pv, NULL, 2, err, sizeof err));
    assert_string_equal(err, "missing value for text {{3}}");
    assert_null(cloudapi_render_text("Hola {{nombre}}", nv, names, 2, err, sizeof err));
    assert_string_equal(err, "missing value for text {{nombre}}");
    assert_null(cloudapi_render_text("Hola {{nombre}}", nv, NULL, 2, err, sizeof err));
    assert_contains(err, "needs named values");
    const char *empty[] = {""};
    assert_null(cloudapi_render_text("{{1}}", empty, NULL, 1, err, sizeof err));
    assert_contains(err, "missing value");
    assert_null(cloudapi_render_text("{{1}", pv, NULL, 2, err, sizeof err));
    assert_contains(err, "malformed");
    assert_null(cloudapi_render_text(NULL, pv, NULL, 2, err, sizeof err));
    assert_null(cloudapi_render_text("{{1}}", NULL, NULL, 2, err, sizeof err));
}

static void test_render_preview(void **state)
{
    (void)state;
    struct cloudapi_preview p;
    char err[256] = "";
    char *c = page_components("templates_positional.json", 0);
    const char *v0[] = {"Ana", "Ana", "Robótica"};

    assert_int_equal(cloudapi_render_preview(c, v0, 3, &p, err, sizeof err), 0);
    assert_string_equal(p.header_format, "text");
    assert_string_equal(p.header, "Hola Ana");
    assert_string_equal(p.body, "Hola Ana, el curso de Robótica empieza el lunes.");
    assert_string_equal(p.footer, "Respondé STOP para no recibir más");
    assert_int_equal(p.nbuttons, 1);
    assert_string_equal(p.buttons[0].text, "No gracias");
    assert_null(p.buttons[0].url);
    cloudapi_preview_free(&p);
    cloudapi_preview_free(&p);

    v0[2] = NULL;
    assert_int_equal(cloudapi_render_preview(c, v0, 3, &p, err, sizeof err), -1);
    assert_string_equal(err, "missing value for body {{2}}");
    assert_null(p.header);
    assert_null(p.body);
    free(c);

    c = page_components("templates_positional.json", 1);
    const char *v1[] = {
        "https://cdn.example.com/o.jpg", "Ana", "20%", "zapatillas", "31/3", "o-77", "DESC20"};
    assert_int_equal(cloudapi_render_preview(c, v1, 7, &p, err, sizeof err), 0);
    assert_string_equal(p.header_format, "image");
    assert_string_equal(p.header, "https://cdn.example.com/o.jpg");
    assert_string_equal(p.body, "Ana: 20% de descuento en zapatillas. Código 20% válido hasta el "
                                "31/3.");
    assert_null(p.footer);
    assert_int_equal(p.nbuttons, 4);
    assert_string_equal(p.buttons[0].text, "Ver oferta");
    assert_string_equal(p.buttons[0].url, "https://tienda.example.com/o/o-77");
    assert_string_equal(p.buttons[1].text, "Copy offer code");
    assert_null(p.buttons[1].url);
    assert_string_equal(p.buttons[2].text, "Llamar");
    assert_string_equal(p.buttons[3].text, "Baja");
    cloudapi_preview_free(&p);
    /* the coupon is required even though it is not shown */
    assert_int_equal(cloudapi_render_preview(c, v1, 6, &p, err, sizeof err), -1);
    assert_string_equal(err, "missing value for button 1 coupon code");
    free(c);

    c = page_components("templates_named.json", 0);
    const char *v2[] = {"Ana", "Ana", "Robótica", "lunes", "ana-42"};
    assert_int_equal(cloudapi_render_preview(c, v2, 5, &p, err, sizeof err), 0);
    assert_string_equal(p.header, "¡Hola Ana!");
    assert_string_equal(p.body, "Ana, tu curso Robótica empieza el lunes. Te esperamos, Ana.");
    assert_string_equal(p.footer, "Pregón");
    assert_string_equal(p.buttons[0].url, "https://cursos.example.com/i/ana-42");
    cloudapi_preview_free(&p);
    v2[4] = "";
    assert_int_equal(cloudapi_render_preview(c, v2, 5, &p, err, sizeof err), -1);
    assert_string_equal(err, "missing value for button 0 URL {{1}}");
    free(c);

    c = page_components("templates_positional.json", 2);
    assert_int_equal(cloudapi_render_preview(c, NULL, 0, &p, err, sizeof err), 0);
    assert_null(p.header_format);
    assert_string_equal(p.body, "Your order has shipped.");
    assert_int_equal(p.nbuttons, 0);
    cloudapi_preview_free(&p);
    free(c);

    assert_int_equal(cloudapi_render_preview("[{\"type\":\"BODY\",\"text\":\"{{1\"}]", NULL, 0, &p,
                                             err, sizeof err),
                     -1);
    assert_contains(err, "malformed");
    assert_int_equal(cloudapi_render_preview("nope", NULL, 0, &p, err, sizeof err), -1);
    assert_int_equal(cloudapi_render_preview("[]", NULL, 0, NULL, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_positional_golden),
        cmocka_unit_test(test_message_named_golden),
        cmocka_unit_test(test_message_minimal_and_document),
        cmocka_unit_test(test_message_rejects),
        cmocka_unit_test(test_message_rejects_params),
        cmocka_unit_test(test_message_escaping_and_size),
        cmocka_unit_test(test_parse_send_files),
        cmocka_unit_test(test_parse_send_fields),
        cmocka_unit_test(test_parse_send_network),
        cmocka_unit_test(test_parse_send_hostile),
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_unknown),
        cmocka_unit_test(test_action_names),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_retry_delay),
        cmocka_unit_test(test_templates_positional),
        cmocka_unit_test(test_templates_named_last_page),
        cmocka_unit_test(test_templates_hostile),
        cmocka_unit_test(test_templates_errors),
        cmocka_unit_test(test_slots_from_pages),
        cmocka_unit_test(test_slots_malformed),
        cmocka_unit_test(test_slots_many_placeholders),
        cmocka_unit_test(test_slots_message_golden),
        cmocka_unit_test(test_prepared_slots_match_the_builder),
        cmocka_unit_test(test_prepared_body_params_match_the_builder),
        cmocka_unit_test(test_render_text),
        cmocka_unit_test(test_text_message),
        cmocka_unit_test(test_render_preview),
    };
    return cmocka_run_group_tests_name("cloudapi", tests, NULL, NULL);
}
