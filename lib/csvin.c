/* Streaming CSV input on libcsv.
 *
 * libcsv parses but reports no positions, so the input is handed to it one physical line at
 * a time (cut at LF, CRLF or a lone CR; long lines in SLICE pieces): between two csv_parse()
 * calls we know which line we are on, and a record can only end at the end of a piece. Before
 * that, the first non-blank line is buffered to detect the delimiter. */
#include "csvin.h"
#include "utf8.h"

#include <csv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLICE       65536 /* most bytes per csv_parse() call: bounds libcsv's field buffer */
#define SNIFF_MAX   65536 /* delimiter detection looks at most this far into the header */
#define CSV_BLK     4096  /* libcsv field buffer growth step */
#define MIN_ROW_CAP 256

enum { SNIFFING, STREAMING, FINISHED };

struct csvin {
    struct csv_parser p;
    size_t max_field, max_fields;
    int state;
    char delim;

    /* header sniffing */
    char *hbuf;
    size_t hlen, hcap;
    size_t soff;       /* bytes sniffed so far */
    int bom_prefix;    /* every byte so far matches the UTF-8 BOM */
    int h_quoted;      /* inside quotes */
    int h_nonblank;    /* the current line has content */
    size_t h_count[3]; /* ';' ',' '\t' outside quotes on the current line */

    /* positions */
    size_t line;       /* current physical line */
    size_t rec_line;   /* line where the current record started */
    size_t field_line; /* line where the current field started */
    int in_record;
    int pending_cr; /* the last chunk ended with '\r': a following '\n' is the same break */

    /* row under construction: fields stored back to back, NUL-terminated */
    char *row;
    size_t row_len, row_cap;
    size_t *offs, *lens;
    char **ptrs;
    size_t nfields, fields_cap;
    int row_nonempty;

    /* a record that broke a limit: its fields are dropped until it ends (csvin_on_skip) */
    csvin_skip_fn skip_fn;
    int skip_status;
    char skip_what[64];

    /* during csv_parse() */
    csvin_row_fn fn;
    void *ctx;
    int rc; /* sticky result */
    char err[160];
};

struct csvin *csvin_new(size_t max_field, size_t max_fields)
{
    struct csvin *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_field = max_field ? max_field : CSVIN_DEFAULT_MAX_FIELD;
    c->max_fields = max_fields ? max_fields : CSVIN_DEFAULT_MAX_FIELDS;
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        free(c);
        return NULL;
    }
    csv_set_blk_size(&c->p, CSV_BLK);
    c->line = 1;
    c->bom_prefix = 1;
    return c;
}

void csvin_free(struct csvin *c)
{
    if (!c)
        return;
    csv_free(&c->p);
    free(c->hbuf);
    free(c->row);
    free(c->offs);
    free(c->lens);
    free(c->ptrs);
    free(c);
}

void csvin_on_skip(struct csvin *c, csvin_skip_fn fn)
{
    c->skip_fn = fn;
}

/* Marks the current record as skipped (first reason wins). */
static void skip_record(struct csvin *c, int status, const char *what)
{
    if (c->skip_status)
        return;
    c->skip_status = status;
    snprintf(c->skip_what, sizeof c->skip_what, "%s", what);
}

/* Drops what libcsv holds of the field being read, keeping only the bytes its state machine
 * takes back at the end of the field (the trailing spaces and a closing quote). The field
 * belongs to a skipped record, so its content never matters. */
static void skip_field_buffer(struct csvin *c)
{
    size_t spaces = c->p.spaces < 64 ? c->p.spaces : 64;
    size_t keep = spaces + 1 < c->p.entry_pos ? spaces + 1 : c->p.entry_pos;
    if (keep)
        memmove(c->p.entry_buf, c->p.entry_buf + c->p.entry_pos - keep, keep);
    c->p.entry_pos = keep;
    c->p.spaces = spaces;
}

const char *csvin_error(const struct csvin *c)
{
    return c->err;
}

size_t csvin_line(const struct csvin *c)
{
    return c->line;
}

char csvin_delimiter(const struct csvin *c)
{
    return c->delim;
}

size_t csvin_memory(const struct csvin *c)
{
    /* Debian's csv.h (3.0.3) lacks the const on csv_get_buffer_size(); it only reads */
    return csv_get_buffer_size((struct csv_parser *)&c->p) + c->hcap + c->row_cap +
           c->fields_cap * (2 * sizeof(size_t) + sizeof(char *));
}

static void fail(struct csvin *c, int rc, size_t line, const char *what)
{
    if (c->rc)
        return;
    c->rc = rc;
    if (line)
        snprintf(c->err, sizeof c->err, "line %zu: %s", line, what);
    else
        snprintf(c->err, sizeof c->err, "%s", what);
}

static int grow_fields(struct csvin *c)
{
    size_t cap = c->fields_cap ? c->fields_cap * 2 : 16;
    if (cap > c->max_fields + 1)
        cap = c->max_fields + 1;
    size_t *offs = realloc(c->offs, cap * sizeof *offs);
    if (!offs)
        return -1;
    c->offs = offs;
    size_t *lens = realloc(c->lens, cap * sizeof *lens);
    if (!lens)
        return -1;
    c->lens = lens;
    char **ptrs = realloc(c->ptrs, cap * sizeof *ptrs);
    if (!ptrs)
        return -1;
    c->ptrs = ptrs;
    c->fields_cap = cap;
    return 0;
}

/* libcsv field callback. */
static void on_field(void *s, size_t len, void *data)
{
    struct csvin *c = data;
    if (c->rc)
        return;
    if (c->skip_status) {
        c->field_line = c->line;
        return;
    }
    if (len > c->max_field) {
        char what[64];
        snprintf(what, sizeof what, "field longer than %zu bytes", c->max_field);
        if (c->skip_fn) {
            skip_record(c, CSVIN_EFIELD_LONG, what);
            c->field_line = c->line;
            return;
        }
        fail(c, CSVIN_EFIELD_LONG, c->field_line, what);
        return;
    }
    if (c->nfields == c->max_fields) {
        char what[64];
        snprintf(what, sizeof what, "more than %zu fields", c->max_fields);
        if (c->skip_fn) {
            skip_record(c, CSVIN_ETOO_MANY, what);
            c->field_line = c->line;
            return;
        }
        fail(c, CSVIN_ETOO_MANY, c->rec_line, what);
        return;
    }
    /* one slot more than fields, for the NULL after the last pointer */
    if (c->nfields + 1 >= c->fields_cap && grow_fields(c) != 0) {
        fail(c, CSVIN_ENOMEM, 0, "out of memory");
        return;
    }
    if (c->row_cap - c->row_len < len + 1) {
        size_t cap = c->row_cap ? c->row_cap : MIN_ROW_CAP;
        while (cap - c->row_len < len + 1)
            cap *= 2;
        char *row = realloc(c->row, cap);
        if (!row) {
            fail(c, CSVIN_ENOMEM, 0, "out of memory");
            return;
        }
        c->row = row;
        c->row_cap = cap;
    }
    if (len)
        memcpy(c->row + c->row_len, s, len);
    c->row[c->row_len + len] = '\0';
    c->offs[c->nfields] = c->row_len;
    c->lens[c->nfields] = len;
    c->nfields++;
    c->row_len += len + 1;
    c->row_nonempty |= len != 0;
    c->field_line = c->line;
}

/* libcsv end-of-record callback. */
static void on_row(int ch, void *data)
{
    (void)ch;
    struct csvin *c = data;
    c->in_record = 0;
    if (!c->rc && c->skip_status) {
        int r = c->skip_fn(c->ctx, c->rec_line, c->skip_status, c->skip_what);
        if (r) {
            c->rc = r;
            snprintf(c->err, sizeof c->err, "line %zu: stopped by the skip callback", c->rec_line);
        }
        c->skip_status = 0;
    } else if (!c->rc && c->row_nonempty && c->fn) {
        for (size_t i = 0; i < c->nfields; i++)
            c->ptrs[i] = c->row + c->offs[i];
        c->ptrs[c->nfields] = NULL;
        int r = c->fn(c->ctx, c->rec_line, c->nfields, c->ptrs, c->lens);
        if (r) {
            c->rc = r;
            snprintf(c->err, sizeof c->err, "line %zu: stopped by the row callback", c->rec_line);
        }
    }
    c->nfields = 0;
    c->row_len = 0;
    c->row_nonempty = 0;
}

/* Parses s[0..n), which lies within one physical line (its end included). */
static void parse_line(struct csvin *c, const char *s, size_t n)
{
    if (!c->in_record) {
        /* libcsv skips blanks and line ends before a record: the record starts here if
         * anything else follows */
        for (size_t i = 0; i < n; i++) {
            unsigned char b = (unsigned char)s[i];
            if (((b == ' ' || b == '\t') && b != (unsigned char)c->delim) || b == '\r' || b == '\n')
                continue;
            c->in_record = 1;
            c->rec_line = c->field_line = c->line;
            break;
        }
        if (!c->in_record)
            return;
    }
    while (n && !c->rc) {
        size_t k = n < SLICE ? n : SLICE;
        size_t done = csv_parse(&c->p, s, k, on_field, on_row, c);
        if (c->rc)
            return;
        if (done < k) {
            int e = csv_error(&c->p);
            if (e == CSV_EPARSE)
                fail(c, CSVIN_EQUOTE, c->line,
                     "malformed quoting (a stray quote, or text after a closing quote)");
            else
                fail(c, CSVIN_ENOMEM, c->line, "out of memory");
            return;
        }
        /* bound the field buffer: the pending field holds at most the closing quote and
         * trailing spaces on top of its content */
        if (c->p.entry_pos > c->max_field + c->p.spaces + 1) {
            char what[64];
            snprintf(what, sizeof what, "field longer than %zu bytes", c->max_field);
            if (!c->skip_fn) {
                fail(c, CSVIN_EFIELD_LONG, c->field_line, what);
                return;
            }
            skip_record(c, CSVIN_EFIELD_LONG, what);
        }
        if (c->skip_status)
            skip_field_buffer(c);
        s += k;
        n -= k;
    }
}

/* Cuts s[0..n) into physical lines for parse_line(). */
static void stream(struct csvin *c, const char *s, size_t n)
{
    if (c->pending_cr && n) {
        c->pending_cr = 0;
        if (s[0] == '\n') {
            parse_line(c, s, 1);
            s++;
            n--;
        }
        c->line++;
    }
    while (n && !c->rc) {
        const char *nl = memchr(s, '\n', n);
        size_t upto = nl ? (size_t)(nl - s) : n;
        const char *cr = memchr(s, '\r', upto);
        size_t k;
        int brk = 1;
        if (cr) {
            k = (size_t)(cr - s) + 1;
            if (k < n) {
                if (s[k] == '\n')
                    k++;
            } else {
                brk = 0;
                c->pending_cr = 1;
            }
        } else if (nl) {
            k = upto + 1;
        } else {
            k = n;
            brk = 0;
        }
        parse_line(c, s, k);
        if (brk && !c->rc)
            c->line++;
        s += k;
        n -= k;
    }
}

/* Chooses the delimiter from the counts of the header line and streams the buffered bytes. */
static void end_sniff(struct csvin *c)
{
    const unsigned char *h = (const unsigned char *)c->hbuf;
    size_t n = c->hlen;
    c->state = STREAMING;
    if (n >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) || (h[0] == 0xFE && h[1] == 0xFF))) {
        fail(c, CSVIN_EENCODING, 1, "the file is UTF-16; save it as CSV UTF-8");
        return;
    }
    if (n >= 4 && (h[0] == 0 || h[1] == 0) && (h[2] == 0 || h[3] == 0)) {
        fail(c, CSVIN_EENCODING, 1, "the file is UTF-16 or UTF-32; save it as CSV UTF-8");
        return;
    }
    if (c->h_nonblank) {
        /* ties go to ';': in Spanish locales "Nombre, apellido;Teléfono" is not quoted */
        static const char delims[3] = {';', ',', '\t'};
        size_t best = 0;
        for (size_t i = 1; i < 3; i++)
            if (c->h_count[i] > c->h_count[best])
                best = i;
        c->delim = c->h_count[best] ? delims[best] : ',';
        csv_set_delim(&c->p, (unsigned char)c->delim);
    }
    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF) {
        h += 3;
        n -= 3;
    }
    stream(c, (const char *)h, n);
    free(c->hbuf);
    c->hbuf = NULL;
    c->hlen = c->hcap = 0;
}

/* Buffers header bytes until the end of the first non-blank line; returns how many bytes of
 * buf it took. Switches to STREAMING when the header line is complete. */
static size_t sniff(struct csvin *c, const char *buf, size_t len)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    size_t i = 0;
    int done = 0;
    for (; i < len && c->hlen + i < SNIFF_MAX; i++, c->soff++) {
        unsigned char b = (unsigned char)buf[i];
        if (c->bom_prefix && c->soff < 3) {
            if (b == bom[c->soff])
                continue;
            if (c->soff > 0)
                c->h_nonblank = 1; /* a partial BOM is data */
        }
        c->bom_prefix = 0;
        if (b == '"') {
            c->h_quoted = !c->h_quoted;
            c->h_nonblank = 1;
        } else if (c->h_quoted) {
            continue;
        } else if (b == '\r' || b == '\n') {
            if (c->h_nonblank) {
                done = 1;
                break;
            }
            memset(c->h_count, 0, sizeof c->h_count);
        } else if (b == ';') {
            c->h_count[0]++;
            c->h_nonblank = 1;
        } else if (b == ',') {
            c->h_count[1]++;
            c->h_nonblank = 1;
        } else if (b == '\t') {
            c->h_count[2]++;
        } else if (b != ' ') {
            c->h_nonblank = 1;
        }
    }
    if (i) {
        if (c->hcap - c->hlen < i) {
            size_t cap = c->hcap ? c->hcap : 1024;
            while (cap - c->hlen < i)
                cap *= 2;
            char *nb = realloc(c->hbuf, cap);
            if (!nb) {
                fail(c, CSVIN_ENOMEM, 0, "out of memory");
                return len;
            }
            c->hbuf = nb;
            c->hcap = cap;
        }
        memcpy(c->hbuf + c->hlen, buf, i);
        c->hlen += i;
    }
    if (done || c->hlen >= SNIFF_MAX)
        end_sniff(c);
    return i;
}

int csvin_feed(struct csvin *c, const char *buf, size_t len, csvin_row_fn fn, void *ctx)
{
    if (c->rc)
        return c->rc;
    if (c->state == FINISHED) {
        fail(c, CSVIN_EUSAGE, 0, "csvin_feed after csvin_finish");
        return c->rc;
    }
    if (!buf || !len)
        return 0;
    c->fn = fn;
    c->ctx = ctx;
    if (c->state == SNIFFING) {
        size_t k = sniff(c, buf, len);
        buf += k;
        len -= k;
    }
    if (c->state == STREAMING && len && !c->rc)
        stream(c, buf, len);
    return c->rc;
}

int csvin_finish(struct csvin *c, csvin_row_fn fn, void *ctx)
{
    if (c->rc)
        return c->rc;
    c->fn = fn;
    c->ctx = ctx;
    if (c->state == SNIFFING)
        end_sniff(c);
    if (c->rc)
        return c->rc;
    if (c->pending_cr) {
        c->pending_cr = 0;
        c->line++;
    }
    if (c->state != FINISHED) {
        c->state = FINISHED;
        if (csv_fini(&c->p, on_field, on_row, c) != 0)
            fail(c, CSVIN_EUNTERMINATED, c->field_line,
                 "unterminated quoted field (the input ends inside quotes)");
    }
    return c->rc;
}

int csvin_utf8_valid(const char *str, size_t len)
{
    return utf8_valid(str, len);
}

/* ASCII and UTF-8 Latin-1 letter case folding: returns the folded byte pair code. */
static unsigned fold_at(const unsigned char *s, size_t left, size_t *adv)
{
    unsigned c = s[0];
    if (c >= 'A' && c <= 'Z') {
        *adv = 1;
        return c + 32;
    }
    if (c == 0xC3 && left >= 2 && s[1] >= 0x80 && s[1] <= 0xBF) {
        unsigned d = s[1];
        if (d <= 0x9E && d != 0x97)
            d += 0x20; /* À-Þ -> à-þ, but not × */
        *adv = 2;
        return 0xC300 | d;
    }
    *adv = 1;
    return c;
}

int csvin_header_index(char **fields, size_t n, const char *name)
{
    if (!fields || !name)
        return -1;
    const unsigned char *nb = (const unsigned char *)name, *ne = nb + strlen(name);
    while (nb < ne && (*nb == ' ' || *nb == '\t'))
        nb++;
    while (ne > nb && (ne[-1] == ' ' || ne[-1] == '\t'))
        ne--;
    for (size_t i = 0; i < n && i <= INT32_MAX; i++) {
        if (!fields[i])
            continue;
        const unsigned char *fb = (const unsigned char *)fields[i], *fe = fb + strlen(fields[i]);
        while (fb < fe && (*fb == ' ' || *fb == '\t'))
            fb++;
        while (fe > fb && (fe[-1] == ' ' || fe[-1] == '\t'))
            fe--;
        const unsigned char *a = fb, *b = nb;
        while (a < fe && b < ne) {
            size_t ka, kb;
            if (fold_at(a, (size_t)(fe - a), &ka) != fold_at(b, (size_t)(ne - b), &kb))
                break;
            a += ka;
            b += kb;
        }
        if (a == fe && b == ne)
            return (int)i;
    }
    return -1;
}

int csvin_header_check(char **fields, const size_t *lens, size_t n, size_t line, char *msg,
                       size_t msglen)
{
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (!csvin_utf8_valid(fields[i], lens[i]))
            why = "is not valid UTF-8";
        else if (memchr(fields[i], 0, lens[i]))
            why = "holds a NUL byte";
        for (size_t k = 0; !why && k < lens[i]; k++) {
            unsigned char ch = (unsigned char)fields[i][k];
            if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f)
                why = "holds control bytes";
        }
        if (why) {
            snprintf(msg, msglen,
                     "line %zu: the header %s (column %zu): this is not a CSV text file; save "
                     "the spreadsheet as CSV (UTF-8) and upload that",
                     line, why, i + 1);
            return -1;
        }
    }
    return 0;
}
