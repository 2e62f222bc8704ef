/* Unit tests for lib/csvin. Data-driven cases: tests/data/csv/ (run from the repo root) or
   $PREGON_TESTDATA/csv/; format in tests/data/csv/README.md. PREGON_BENCH=1 also runs a
   1,000,000-row parse + E.164 benchmark and prints rows/s. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "csvin.h"
#include "e164.h"

/* ---- records collected from csvin ---- */

struct rec {
    size_t line;
    size_t n;
    char **f;
    size_t *len;
    int bad_utf8;
    int skipped; /* a record csvin dropped (csvin_on_skip): f[0] is the reason */
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

static void recs_free(struct recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        for (size_t k = 0; k < r->v[i].n; k++)
            free(r->v[i].f[k]);
        free(r->v[i].f);
        free(r->v[i].len);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

static struct rec *recs_add(struct recs *r)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    struct rec *x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static int collect(void *ctx, size_t line, size_t nfields, char **fields, const size_t *lens)
{
    struct recs *r = ctx;
    struct rec *x = recs_add(r);
    x->line = line;
    x->n = nfields;
    x->f = xmalloc(nfields * sizeof *x->f);
    x->len = xmalloc(nfields * sizeof *x->len);
    assert_null(fields[nfields]);
    for (size_t i = 0; i < nfields; i++) {
        assert_int_equal(fields[i][lens[i]], '\0');
        x->f[i] = xmalloc(lens[i] + 1);
        memcpy(x->f[i], fields[i], lens[i] + 1);
        x->len[i] = lens[i];
        if (!csvin_utf8_valid(fields[i], lens[i]))
            x->bad_utf8 = 1;
    }
    return 0;
}

static int collect_skip(void *ctx, size_t line, int status, const char *what)
{
    struct recs *r = ctx;
    assert_true(status == CSVIN_EFIELD_LONG || status == CSVIN_ETOO_MANY);
    struct rec *x = recs_add(r);
    x->line = line;
    x->n = 1;
    x->skipped = 1;
    x->f = xmalloc(sizeof *x->f);
    x->len = xmalloc(sizeof *x->len);
    x->f[0] = strdup(what);
    assert_non_null(x->f[0]);
    x->len[0] = strlen(what);
    return 0;
}

/* ---- expect files ---- */

struct expect {
    struct recs recs;
    int has_delim;
    char delim;
    size_t max_field, max_fields;
    int skip;    /* "skip: on": records that break a limit are skipped, not fatal */
    char *error; /* prefix of csvin_error(), or NULL */
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one '|'-separated field of s[0..n) starting at *pos into out; returns its length. */
static size_t unescape_field(const char *s, size_t n, size_t *pos, char *out)
{
    size_t o = 0, i = *pos;
    while (i < n && s[i] != '|') {
        if (s[i] == '\\' && i + 1 < n) {
            char e = s[i + 1];
            i += 2;
            switch (e) {
            case 'n':
                out[o++] = '\n';
                break;
            case 'r':
                out[o++] = '\r';
                break;
            case 't':
                out[o++] = '\t';
                break;
            case 'x':
                assert_true(i + 1 < n && hexval(s[i]) >= 0 && hexval(s[i + 1]) >= 0);
                out[o++] = (char)(hexval(s[i]) * 16 + hexval(s[i + 1]));
                i += 2;
                break;
            default:
                out[o++] = e;
            }
        } else {
            out[o++] = s[i++];
        }
    }
    *pos = i;
    return o;
}

static void parse_expect(const char *text, size_t tlen, struct expect *e)
{
    memset(e, 0, sizeof *e);
    const char *p = text, *end = text + tlen;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *s = p;
        p += n + (nl ? 1 : 0);
        if (n == 0 || s[0] == '#')
            continue;
        if (n > 11 && memcmp(s, "delimiter: ", 11) == 0) {
            e->has_delim = 1;
            if (n - 11 == 4 && memcmp(s + 11, "none", 4) == 0)
                e->delim = 0;
            else if (n - 11 == 2 && memcmp(s + 11, "\\t", 2) == 0)
                e->delim = '\t';
            else
                e->delim = s[11];
            continue;
        }
        if (n > 11 && memcmp(s, "max_field: ", 11) == 0) {
            e->max_field = strtoul(s + 11, NULL, 10);
            continue;
        }
        if (n > 12 && memcmp(s, "max_fields: ", 12) == 0) {
            e->max_fields = strtoul(s + 12, NULL, 10);
            continue;
        }
        if (n == 8 && memcmp(s, "skip: on", 8) == 0) {
            e->skip = 1;
            continue;
        }
        if (n > 9 && memcmp(s, "skipped: ", 9) == 0) {
            /* skipped: LINE: reason */
            struct rec *x = recs_add(&e->recs);
            char *endp;
            x->line = strtoul(s + 9, &endp, 10);
            size_t i = (size_t)(endp - s);
            assert_true(i + 2 <= n && s[i] == ':' && s[i + 1] == ' ');
            x->skipped = 1;
            x->n = 1;
            x->f = xmalloc(sizeof *x->f);
            x->len = xmalloc(sizeof *x->len);
            x->f[0] = strndup(s + i + 2, n - i - 2);
            assert_non_null(x->f[0]);
            x->len[0] = n - i - 2;
            continue;
        }
        if (n > 7 && memcmp(s, "error: ", 7) == 0) {
            e->error = xmalloc(n - 7 + 1);
            memcpy(e->error, s + 7, n - 7);
            e->error[n - 7] = '\0';
            continue;
        }
        struct rec *x = recs_add(&e->recs);
        size_t i = 0;
        if (s[0] == '!') {
            x->bad_utf8 = 1;
            i = 1;
        }
        char *endp;
        x->line = strtoul(s + i, &endp, 10);
        i = (size_t)(endp - s);
        assert_true(i < n && s[i] == '|');
        x->f = xmalloc(n * sizeof *x->f);
        x->len = xmalloc(n * sizeof *x->len);
        while (i < n && s[i] == '|') {
            i++;
            char *buf = xmalloc(n + 1);
            size_t len = unescape_field(s, n, &i, buf);
            buf[len] = '\0';
            x->f[x->n] = buf;
            x->len[x->n] = len;
            x->n++;
        }
    }
}

/* ---- running a case ---- */

struct result {
    struct recs recs;
    int rc;
    char err[200];
    char delim;
};

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feeds data in chunks: chunk == 0 whole, otherwise sizes 1..chunk drawn with seed. */
static void run(const char *data, size_t len, size_t max_field, size_t max_fields, int skip,
                size_t chunk, uint32_t seed, struct result *out)
{
    memset(out, 0, sizeof *out);
    struct csvin *c = csvin_new(max_field, max_fields);
    assert_non_null(c);
    if (skip)
        csvin_on_skip(c, collect_skip);
    assert_int_equal(csvin_delimiter(c), 0);
    size_t off = 0;
    int rc = 0;
    while (off < len && rc == 0) {
        size_t k = chunk ? 1 + rnd(&seed) % chunk : len;
        if (k > len - off)
            k = len - off;
        rc = csvin_feed(c, data + off, k, collect, &out->recs);
        off += k;
    }
    if (rc == 0)
        rc = csvin_finish(c, collect, &out->recs);
    out->rc = rc;
    snprintf(out->err, sizeof out->err, "%s", csvin_error(c));
    out->delim = csvin_delimiter(c);
    if (rc == 0)
        assert_string_equal(csvin_error(c), "");
    csvin_free(c);
}

static int recs_equal(const struct recs *a, const struct recs *b, char *why, size_t whylen)
{
    for (size_t i = 0; i < a->n || i < b->n; i++) {
        if (i >= a->n || i >= b->n) {
            snprintf(why, whylen, "record count: got %zu, want %zu", a->n, b->n);
            return 0;
        }
        const struct rec *x = &a->v[i], *y = &b->v[i];
        if (x->line != y->line || x->n != y->n || x->bad_utf8 != y->bad_utf8 ||
            x->skipped != y->skipped) {
            snprintf(why, whylen,
                     "record %zu: got line %zu, %zu fields, bad utf8 %d, skipped %d; want line "
                     "%zu, %zu fields, bad utf8 %d, skipped %d",
                     i, x->line, x->n, x->bad_utf8, x->skipped, y->line, y->n, y->bad_utf8,
                     y->skipped);
            return 0;
        }
        for (size_t k = 0; k < x->n; k++) {
            if (x->len[k] != y->len[k] || memcmp(x->f[k], y->f[k], x->len[k]) != 0) {
                snprintf(why, whylen, "record %zu (line %zu) field %zu: got \"%s\", want \"%s\"", i,
                         x->line, k, x->f[k], y->f[k]);
                return 0;
            }
        }
    }
    return 1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t k;
    while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_data_cases(void **state)
{
    (void)state;
    const char *root = getenv("PREGON_TESTDATA");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/csv", root && root[0] ? root : "tests/data");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (run from the repo root or set PREGON_TESTDATA)", dir);
    char *names[512];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".csv") == 0 && nn < 512)
            names[nn++] = strndup(de->d_name, l - 4);
    }
    closedir(d);
    qsort(names, nn, sizeof names[0], cmpstr);
    assert_true(nn >= 20);

    int failures = 0;
    size_t runs = 0;
    for (size_t i = 0; i < nn; i++) {
        char path[1200];
        size_t dlen, elen;
        snprintf(path, sizeof path, "%s/%s.csv", dir, names[i]);
        char *data = read_file(path, &dlen);
        snprintf(path, sizeof path, "%s/%s.expect", dir, names[i]);
        char *etext = read_file(path, &elen);
        if (!data || !etext)
            fail_msg("cannot read case %s (.csv and .expect)", names[i]);
        struct expect e;
        parse_expect(etext, elen, &e);

        static const struct {
            size_t chunk;
            uint32_t seed;
        } modes[] = {{0, 1}, {1, 1}, {2, 7}, {3, 11}, {7, 13}, {16, 17}, {64, 19}, {4096, 23}};
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            for (uint32_t rep = 0; rep < (modes[m].chunk > 1 ? 5u : 1u); rep++) {
                struct result r;
                run(data, dlen, e.max_field, e.max_fields, e.skip, modes[m].chunk,
                    modes[m].seed * 2654435761u + rep + 1, &r);
                runs++;
                char why[512] = "";
                int ok = recs_equal(&r.recs, &e.recs, why, sizeof why);
                if (ok && e.error && (r.rc >= 0 || strncmp(r.err, e.error, strlen(e.error)))) {
                    snprintf(why, sizeof why, "got rc %d \"%s\", want error \"%s\"", r.rc, r.err,
                             e.error);
                    ok = 0;
                }
                if (ok && !e.error && r.rc != 0) {
                    snprintf(why, sizeof why, "unexpected error %d \"%s\"", r.rc, r.err);
                    ok = 0;
                }
                if (ok && e.has_delim && r.delim != e.delim) {
                    snprintf(why, sizeof why, "delimiter: got 0x%02x, want 0x%02x", r.delim,
                             e.delim);
                    ok = 0;
                }
                if (!ok) {
                    fprintf(stderr, "case %s (chunks up to %zu, rep %u): %s\n", names[i],
                            modes[m].chunk, rep, why);
                    failures++;
                }
                recs_free(&r.recs);
            }
        }
        recs_free(&e.recs);
        free(e.error);
        free(data);
        free(etext);
        free(names[i]);
    }
    fprintf(stderr, "%zu csv cases, %zu runs\n", nn, runs);
    assert_int_equal(failures, 0);
}

/* ---- generated inputs ---- */

struct counter {
    size_t rows, fields, bytes, last_line;
};

static int count_rows(void *ctx, size_t line, size_t nfields, char **fields, const size_t *lens)
{
    struct counter *k = ctx;
    (void)fields;
    k->rows++;
    k->fields += nfields;
    for (size_t i = 0; i < nfields; i++)
        k->bytes += lens[i];
    k->last_line = line;
    return 0;
}

static void test_huge_fields(void **state)
{
    (void)state;
    size_t big = 50u << 20;
    char *buf = xmalloc(big + 16);

    /* a field of exactly max_field bytes is fine, one more is not */
    for (int extra = 0; extra <= 1; extra++) {
        size_t flen = CSVIN_DEFAULT_MAX_FIELD + (size_t)extra;
        memcpy(buf, "h1,h2\nx,", 8);
        memset(buf + 8, 'a', flen);
        memcpy(buf + 8 + flen, "\ny,z\n", 5);
        struct recs r = {0};
        struct csvin *c = csvin_new(0, 0);
        assert_non_null(c);
        int rc = csvin_feed(c, buf, 8 + flen + 5, collect, &r);
        if (rc == 0)
            rc = csvin_finish(c, collect, &r);
        if (extra) {
            assert_int_equal(rc, CSVIN_EFIELD_LONG);
            assert_string_equal(csvin_error(c), "line 2: field longer than 65536 bytes");
            assert_int_equal(r.n, 1);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(r.n, 3);
            assert_int_equal(r.v[1].len[1], flen);
            assert_int_equal(r.v[2].line, 3);
        }
        recs_free(&r);
        csvin_free(c);
    }

    /* a 50 MB line, one field, fed in 1 MB chunks: rejected with bounded memory */
    static const char *const shapes[] = {"plain", "quoted", "quoted-newlines", "many-fields"};
    for (size_t s = 0; s < 4; s++) {
        size_t n = 0;
        n += (size_t)sprintf(buf, "a;b\n1;2\n");
        if (s == 0) {
            memset(buf + n, 'x', big);
        } else if (s == 1 || s == 2) {
            buf[n] = '"';
            memset(buf + n + 1, s == 1 ? 'x' : '\n', big - 1);
        } else {
            for (size_t i = 0; i < big; i++)
                buf[n + i] = (i & 1) ? ';' : 'v';
        }
        n += big;
        struct counter k = {0};
        struct csvin *c = csvin_new(0, 0);
        assert_non_null(c);
        size_t maxmem = 0;
        int rc = 0;
        for (size_t off = 0; off < n && rc == 0; off += 1u << 20) {
            size_t len = n - off < (1u << 20) ? n - off : 1u << 20;
            rc = csvin_feed(c, buf + off, len, count_rows, &k);
            if (csvin_memory(c) > maxmem)
                maxmem = csvin_memory(c);
        }
        if (rc == 0)
            rc = csvin_finish(c, count_rows, &k);
        fprintf(stderr, "huge %s: rc %d \"%s\", peak memory %zu bytes\n", shapes[s], rc,
                csvin_error(c), maxmem);
        assert_int_equal(k.rows, 2);
        if (s == 3) {
            assert_int_equal(rc, CSVIN_ETOO_MANY);
            assert_string_equal(csvin_error(c), "line 3: more than 256 fields");
        } else {
            assert_int_equal(rc, CSVIN_EFIELD_LONG);
            assert_string_equal(csvin_error(c), "line 3: field longer than 65536 bytes");
        }
        assert_true(maxmem < (512u << 10));
        /* errors are sticky */
        assert_int_equal(csvin_feed(c, "x\n", 2, count_rows, &k), rc);
        assert_int_equal(csvin_finish(c, count_rows, &k), rc);
        csvin_free(c);
    }
    free(buf);
}

/* A header longer than the sniffing window still gets its delimiter from what was seen. */
static int count_skips(void *ctx, size_t line, int status, const char *what)
{
    struct counter *k = ctx;
    assert_int_equal(status, CSVIN_EFIELD_LONG);
    assert_string_equal(what, "field longer than 65536 bytes");
    k->last_line = line;
    k->fields += 1000000; /* skips counted apart from fields */
    return 0;
}

/* A field of 20 MB, quoted and spanning lines, with csvin_on_skip: the record is dropped with
 * the line it starts on, the rows around it arrive, and memory stays bounded throughout. */
static void test_huge_field_skipped(void **state)
{
    (void)state;
    size_t big = 20u << 20;
    char *buf = xmalloc(big + 64);
    size_t n = (size_t)sprintf(buf, "phone,note\n1,a\n2,\"");
    for (size_t i = 0; i < big; i++)
        buf[n++] = i % 1000 == 999 ? '\n' : 'x';
    n += (size_t)sprintf(buf + n, "\"\n3,c\n");
    struct csvin *c = csvin_new(0, 0);
    assert_non_null(c);
    csvin_on_skip(c, count_skips);
    struct counter k = {0};
    size_t most = 0;
    for (size_t off = 0; off < n; off += 100000) {
        size_t len = n - off < 100000 ? n - off : 100000;
        assert_int_equal(csvin_feed(c, buf + off, len, count_rows, &k), 0);
        if (csvin_memory(c) > most)
            most = csvin_memory(c);
    }
    assert_int_equal(csvin_finish(c, count_rows, &k), 0);
    assert_int_equal(k.rows, 3);                   /* header, 1, 3 */
    assert_int_equal(k.fields, 6 + 1000000);       /* and one skip */
    assert_int_equal(k.last_line, 4 + big / 1000); /* row 3 is on the line after the field ends */
    assert_true(most < 1u << 20);
    csvin_free(c);
    free(buf);
}

static void test_long_header(void **state)
{
    (void)state;
    size_t nf = 200, flen = 500;
    char *buf = xmalloc(nf * (flen + 1) + 64);
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        memset(buf + n, 'a' + (char)(i % 26), flen);
        n += flen;
        buf[n++] = i + 1 < nf ? ';' : '\n';
    }
    n += (size_t)sprintf(buf + n, "1;2\n");
    for (size_t chunk = 1; chunk <= 4096; chunk *= 64) {
        struct recs r = {0};
        struct csvin *c = csvin_new(0, 0);
        assert_non_null(c);
        for (size_t off = 0; off < n; off += chunk)
            assert_int_equal(
                csvin_feed(c, buf + off, n - off < chunk ? n - off : chunk, collect, &r), 0);
        assert_int_equal(csvin_finish(c, collect, &r), 0);
        assert_int_equal(csvin_delimiter(c), ';');
        assert_int_equal(r.n, 2);
        assert_int_equal(r.v[0].n, nf);
        assert_int_equal(r.v[0].len[nf - 1], flen);
        assert_int_equal(r.v[1].line, 2);
        recs_free(&r);
        csvin_free(c);
    }
    free(buf);
}

/* Random records with quoted newlines, CRLF, blank lines: start lines must match exactly. */
static void test_line_numbers(void **state)
{
    (void)state;
    uint32_t seed = 99;
    size_t cap = 4u << 20, n = 0;
    char *buf = xmalloc(cap);
    size_t nrec = 20000;
    size_t *want = xmalloc(nrec * sizeof *want);
    size_t line = 1;
    n += (size_t)sprintf(buf, "id;texto;telefono\r\n");
    line++;
    for (size_t i = 0; i < nrec; i++) {
        while (rnd(&seed) % 5 == 0) {
            const char *blank = (rnd(&seed) & 1) ? "\r\n" : " \n";
            n += (size_t)sprintf(buf + n, "%s", blank);
            line++;
        }
        want[i] = line;
        n += (size_t)sprintf(buf + n, "%zu;\"", i);
        unsigned parts = rnd(&seed) % 4;
        for (unsigned p = 0; p < parts; p++) {
            unsigned kind = rnd(&seed) % 3;
            n += (size_t)sprintf(buf + n, "t%u%s", p, kind == 0 ? "\n" : kind == 1 ? "\r\n" : "\r");
            line++;
        }
        n += (size_t)sprintf(buf + n, "\";+54 9 11 %04u-%04u%s", (unsigned)(i % 10000),
                             (unsigned)(rnd(&seed) % 10000), (rnd(&seed) & 1) ? "\r\n" : "\n");
        line++;
        assert_true(n + 256 < cap);
    }
    for (int mode = 0; mode < 3; mode++) {
        struct recs r = {0};
        struct result res;
        (void)res;
        struct csvin *c = csvin_new(0, 0);
        assert_non_null(c);
        uint32_t s2 = 5 + (uint32_t)mode;
        int rc = 0;
        for (size_t off = 0; off < n && rc == 0;) {
            size_t k = mode == 0 ? n : 1 + rnd(&s2) % (mode == 1 ? 3 : 8192);
            if (k > n - off)
                k = n - off;
            rc = csvin_feed(c, buf + off, k, collect, &r);
            off += k;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(csvin_finish(c, collect, &r), 0);
        assert_int_equal(csvin_delimiter(c), ';');
        assert_int_equal(csvin_line(c), line);
        assert_int_equal(r.n, nrec + 1);
        assert_int_equal(r.v[0].line, 1);
        for (size_t i = 0; i < nrec; i++) {
            if (r.v[i + 1].line != want[i])
                fail_msg("record %zu: line %zu, want %zu", i, r.v[i + 1].line, want[i]);
            assert_int_equal(r.v[i + 1].n, 3);
        }
        recs_free(&r);
        csvin_free(c);
    }
    free(want);
    free(buf);
}

static int stop_at_third(void *ctx, size_t line, size_t nfields, char **fields, const size_t *lens)
{
    (void)line;
    (void)nfields;
    (void)fields;
    (void)lens;
    int *seen = ctx;
    return ++*seen == 3 ? 7 : 0;
}

static void test_callback_stop(void **state)
{
    (void)state;
    const char *in = "a,b\n1,2\n\n3,4\n5,6\n";
    int seen = 0;
    struct csvin *c = csvin_new(0, 0);
    assert_non_null(c);
    assert_int_equal(csvin_feed(c, in, strlen(in), stop_at_third, &seen), 7);
    assert_int_equal(seen, 3);
    assert_string_equal(csvin_error(c), "line 4: stopped by the row callback");
    assert_int_equal(csvin_feed(c, "7,8\n", 4, stop_at_third, &seen), 7);
    assert_int_equal(csvin_finish(c, stop_at_third, &seen), 7);
    assert_int_equal(seen, 3);
    csvin_free(c);

    /* a stop on the last record without newline comes from csvin_finish */
    seen = 0;
    c = csvin_new(0, 0);
    assert_non_null(c);
    assert_int_equal(csvin_feed(c, "a\nb\nc", 5, stop_at_third, &seen), 0);
    assert_int_equal(csvin_finish(c, stop_at_third, &seen), 7);
    csvin_free(c);
}

static void test_usage(void **state)
{
    (void)state;
    struct counter k = {0};
    struct csvin *c = csvin_new(0, 0);
    assert_non_null(c);
    assert_int_equal(csvin_line(c), 1);
    assert_int_equal(csvin_feed(c, NULL, 0, count_rows, &k), 0);
    assert_int_equal(csvin_feed(c, "a;b\r", 4, count_rows, &k), 0);
    assert_int_equal(csvin_delimiter(c), ';');
    assert_int_equal(csvin_finish(c, count_rows, &k), 0);
    assert_int_equal(csvin_line(c), 2);
    assert_int_equal(k.rows, 1);
    assert_int_equal(csvin_finish(c, count_rows, &k), 0);
    assert_int_equal(csvin_feed(c, "x\n", 2, count_rows, &k), CSVIN_EUSAGE);
    assert_string_equal(csvin_error(c), "csvin_feed after csvin_finish");
    csvin_free(c);
    csvin_free(NULL);
}

/* Memory stops growing once the longest row has been seen. */
static void test_steady_memory(void **state)
{
    (void)state;
    struct counter k = {0};
    struct csvin *c = csvin_new(0, 0);
    assert_non_null(c);
    char line[128];
    size_t mem = 0;
    for (int i = 0; i < 200000; i++) {
        int n = snprintf(line, sizeof line, "Nombre %d;\"Apellido, %d\";+54 9 11 5555-%04d\r\n", i,
                         i, i % 10000);
        assert_int_equal(csvin_feed(c, line, (size_t)n, count_rows, &k), 0);
        if (i == 10)
            mem = csvin_memory(c);
        if (i > 10)
            assert_int_equal(csvin_memory(c), mem);
    }
    assert_int_equal(csvin_finish(c, count_rows, &k), 0);
    assert_int_equal(k.rows, 200000);
    assert_int_equal(k.last_line, 200000);
    fprintf(stderr, "steady memory: %zu bytes\n", mem);
    csvin_free(c);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int ok;
    } t[] = {
        {"", 0, 1},
        {"plain ascii text, long enough for the 8-byte path", 49, 1},
        {"Tel\xc3\xa9"
         "fono",
         9, 1},
        {"\xe2\x82\xac", 3, 1},     /* euro sign */
        {"\xf0\x9f\x93\xb1", 4, 1}, /* emoji */
        {"\xef\xbb\xbf", 3, 1},     /* BOM */
        {"\xf4\x8f\xbf\xbf", 4, 1}, /* U+10FFFF */
        {"\xed\x9f\xbf", 3, 1},     /* U+D7FF */
        {"a\0b", 3, 1},             /* NUL is valid UTF-8 */
        {"Jos\xe9", 4, 0},          /* Latin-1 */
        {"\xc0\xaf", 2, 0},         /* overlong '/' */
        {"\xc1\xbf", 2, 0},         /* overlong */
        {"\xe0\x9f\xbf", 3, 0},     /* overlong 3-byte */
        {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong 4-byte */
        {"\xed\xa0\x80", 3, 0},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xff", 1, 0},
        {"\x80", 1, 0},
        {"\xc3", 1, 0}, /* truncated */
        {"\xe2\x82", 2, 0},
        {"\xf0\x9f\x93", 3, 0},
        {"\xc3\x28", 2, 0}, /* bad continuation */
        {"abcdefgh\xc3\xa9ijklmnop\xff", 19, 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (csvin_utf8_valid(t[i].s, t[i].n) != t[i].ok)
            fail_msg("utf8 case %zu: want %d", i, t[i].ok);
    }
    /* the length is respected: the invalid byte after it is not read */
    assert_int_equal(csvin_utf8_valid("ok\xff", 2), 1);
}

static void test_header_index(void **state)
{
    (void)state;
    char f0[] = "\xef\xbb\xbfNo", f1[] = "  Nombre ",
         f2[] = "TEL\xc3\x89"
                "FONO\t",
         f3[] = "E-mail", f4[] = "";
    char *fields[] = {f0, f1, f2, f3, f4, NULL};
    assert_int_equal(csvin_header_index(fields, 5, "nombre"), 1);
    assert_int_equal(csvin_header_index(fields, 5, " NOMBRE "), 1);
    assert_int_equal(csvin_header_index(fields, 5,
                                        "tel\xc3\xa9"
                                        "fono"),
                     2);
    assert_int_equal(csvin_header_index(fields, 5, "telefono"), -1);
    assert_int_equal(csvin_header_index(fields, 5, "e-MAIL"), 3);
    assert_int_equal(csvin_header_index(fields, 5, "email"), -1);
    assert_int_equal(csvin_header_index(fields, 5, "nom"), -1);
    assert_int_equal(csvin_header_index(fields, 5, ""), 4);
    assert_int_equal(csvin_header_index(fields, 2,
                                        "tel\xc3\xa9"
                                        "fono"),
                     -1);
    assert_int_equal(csvin_header_index(fields, 0, "nombre"), -1);
    assert_int_equal(csvin_header_index(NULL, 5, "nombre"), -1);
    assert_int_equal(csvin_header_index(fields, 5, NULL), -1);
    char g0[] = "\xc3\x97", g1[] = "\xc3\xb7"; /* × and ÷ are not a case pair */
    char *g[] = {g0, g1};
    assert_int_equal(csvin_header_index(g, 2, "\xc3\xb7"), 1);
}

/* ---- benchmark ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct bench {
    int phone_col;
    size_t rows, ok, bad;
};

static int bench_row(void *ctx, size_t line, size_t nfields, char **fields, const size_t *lens)
{
    struct bench *b = ctx;
    (void)line;
    if (b->phone_col < 0) {
        b->phone_col = csvin_header_index(fields, nfields,
                                          "tel\xc3\xa9"
                                          "fono");
        return b->phone_col < 0;
    }
    b->rows++;
    char out[E164_MAX + 1];
    size_t i = (size_t)b->phone_col;
    if (i < nfields && csvin_utf8_valid(fields[0], lens[0]) &&
        e164_normalize(fields[i], lens[i], "AR", out) == E164_OK)
        b->ok++;
    else
        b->bad++;
    return 0;
}

static void test_bench(void **state)
{
    (void)state;
    const char *env = getenv("PREGON_BENCH");
    if (!env || strcmp(env, "1") != 0)
        skip();
    const size_t rows = 1000000;
    size_t cap = rows * 96 + 64, n = 0;
    char *buf = xmalloc(cap);
    n += (size_t)sprintf(buf, "\xef\xbb\xbfNombre;Tel\xc3\xa9"
                              "fono;Ciudad;Nota\r\n");
    static const char *const phones[] = {"0387 15 555-%04u",   "+54 9 11 5555-%04u",
                                         "11 4555 %04u",       "(0351) 15-234-%04u",
                                         "+54 9 261 412 %04u", "15 5555 %04u"};
    for (size_t i = 0; i < rows; i++) {
        char phone[32];
        snprintf(phone, sizeof phone, phones[i % 6], (unsigned)(i % 10000));
        n += (size_t)snprintf(buf + n, cap - n, "Cliente N\xc2\xba %zu;%s;%s;%s\r\n", i, phone,
                              (i & 3) ? "Salta" : "\"San Miguel de Tucum\xc3\xa1n\"",
                              (i % 10) ? "" : "\"nota; con \"\"comillas\"\"\"");
    }
    const size_t chunk = 64 << 10;

    /* parse only */
    struct counter k = {0};
    double t0 = now();
    struct csvin *c = csvin_new(0, 0);
    assert_non_null(c);
    for (size_t off = 0; off < n; off += chunk)
        assert_int_equal(
            csvin_feed(c, buf + off, n - off < chunk ? n - off : chunk, count_rows, &k), 0);
    assert_int_equal(csvin_finish(c, count_rows, &k), 0);
    double t_parse = now() - t0;
    csvin_free(c);
    assert_int_equal(k.rows, rows + 1);

    /* normalize only, on the same strings (formatted beforehand) */
    enum { RING = 60000 };
    char(*ring)[32] = xmalloc(RING * sizeof *ring);
    size_t *rlen = xmalloc(RING * sizeof *rlen);
    for (size_t i = 0; i < RING; i++)
        rlen[i] = (size_t)snprintf(ring[i], sizeof ring[i], phones[i % 6], (unsigned)(i % 10000));
    char out[E164_MAX + 1];
    size_t okn = 0;
    t0 = now();
    for (size_t i = 0; i < rows; i++)
        okn += e164_normalize(ring[i % RING], rlen[i % RING], "AR", out) == E164_OK;
    double t_norm = now() - t0;
    free(ring);
    free(rlen);

    /* the import stage: parse, find the column, validate UTF-8, normalize */
    struct bench b = {.phone_col = -1};
    t0 = now();
    c = csvin_new(0, 0);
    assert_non_null(c);
    for (size_t off = 0; off < n; off += chunk)
        assert_int_equal(csvin_feed(c, buf + off, n - off < chunk ? n - off : chunk, bench_row, &b),
                         0);
    assert_int_equal(csvin_finish(c, bench_row, &b), 0);
    double t_all = now() - t0;
    csvin_free(c);
    assert_int_equal(b.rows, rows);
    assert_int_equal(b.ok, okn);

    double mb = (double)n / 1e6;
    printf("bench: %zu rows, %.1f MB, 64 KiB chunks\n", rows, mb);
    printf("bench: csvin parse only      %.3f s  %9.0f rows/s  %6.1f MB/s\n", t_parse,
           (double)rows / t_parse, mb / t_parse);
    printf("bench: e164 normalize only   %.3f s  %9.0f rows/s\n", t_norm, (double)rows / t_norm);
    printf("bench: parse+utf8+normalize  %.3f s  %9.0f rows/s  %6.1f MB/s  (%zu ok, %zu "
           "rejected)\n",
           t_all, (double)rows / t_all, mb / t_all, b.ok, b.bad);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_cases),
        cmocka_unit_test(test_huge_fields),
        cmocka_unit_test(test_huge_field_skipped),
        cmocka_unit_test(test_long_header),
        cmocka_unit_test(test_line_numbers),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_steady_memory),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_header_index),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
