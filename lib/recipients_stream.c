/* The LOAD DATA LOCAL stream of a CSV upload (lib/recipients_import.h): the server stores rows
 * while this process parses and checks the next ones (two cores instead of one). What the
 * checks would look up per batch (the campaign's numbers, the contacts' consent and id) is
 * preloaded into memory when it is not too large (PRELOAD_MAX); otherwise, or when the server
 * has local_infile off, the upload takes the INSERT way (lib/recipients_import.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "recipients_import_impl.h"

/* Constant text: every value travels in the stream (campaign id included), none in the SQL. */
#define STREAM_SQL                                                                                 \
    "LOAD DATA LOCAL INFILE '" STREAM_NAME "' INTO TABLE recipients CHARACTER SET utf8mb4 "        \
    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "                      \
    "(campaign_id, phone, contact_id, vars)"

static size_t cmap_slot(uint64_t k, size_t cap)
{
    return (size_t)(k * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

/* The contact's id and consent for key; 0 when no contact has that number. */
long long ri_cmap_get(const struct contactmap *m, uint64_t k)
{
    if (!m->cap)
        return 0;
    for (size_t j = cmap_slot(k, m->cap);; j = (j + 1) & (m->cap - 1)) {
        if (m->keys[j] == k)
            return m->vals[j];
        if (!m->keys[j])
            return 0;
    }
}

/* Appends len bytes of s to the stream, escaped for LOAD DATA (ESCAPED BY '\\'): the field
 * and line terminators, the escape itself, CR and NUL. Byte-wise, which is safe in UTF-8: these
 * bytes never occur inside a multi-byte character. */
static void out_escaped(char *o, size_t *pos, const char *s, size_t len)
{
    size_t k = *pos;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        switch (c) {
        case '\\':
            o[k++] = '\\';
            o[k++] = '\\';
            break;
        case '\t':
            o[k++] = '\\';
            o[k++] = 't';
            break;
        case '\n':
            o[k++] = '\\';
            o[k++] = 'n';
            break;
        case '\r':
            o[k++] = '\\';
            o[k++] = 'r';
            break;
        case '\0':
            o[k++] = '\\';
            o[k++] = '0';
            break;
        default:
            o[k++] = c;
        }
    }
    *pos = k;
}

static int out_reserve(struct recipients_import *u, size_t more)
{
    if (u->out_len + more <= u->out_cap)
        return 0;
    size_t cap = u->out_cap ? u->out_cap : 1 << 16;
    while (cap < u->out_len + more)
        cap *= 2;
    char *o = realloc(u->out, cap);
    if (!o)
        return -1;
    u->out = o;
    u->out_cap = cap;
    return 0;
}

/* The batch's rows that passed every check, as stream lines: campaign id, phone, contact id
 * (\N: none), vars. Frees the rows' vars. */
int ri_stream_rows(struct recipients_import *u, const int *skip, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct pending_row *p = &u->batch[i];
        if (!skip[i] && rc == 0) {
            const char *vars = p->vars ? p->vars : "{}";
            size_t vlen = strlen(vars);
            /* worst case: every byte of vars escaped, two 20-digit numbers, the phone */
            if (out_reserve(u, 2 * vlen + 64 + E164_MAX) < 0) {
                rc = ri_fail(u, 500, "internal", NULL, "out of memory");
            } else {
                char *o = u->out;
                size_t k = u->out_len;
                k += (size_t)sprintf(o + k, "%lld\t%s\t", u->campaign_id, p->phone);
                if (p->contact_id)
                    k += (size_t)sprintf(o + k, "%lld\t", p->contact_id);
                else {
                    memcpy(o + k, "\\N\t", 3);
                    k += 3;
                }
                out_escaped(o, &k, vars, vlen);
                o[k++] = '\n';
                u->out_len = k;
                u->stmt_rows++;
            }
        }
        free(p->vars);
        p->vars = NULL;
    }
    u->nbatch = 0;
    return rc;
}

/* The LOAD DATA stream: escaped rows, parsing more of the body whenever they run out. A full
 * chunk ends the statement (the end of its "file"); the next statement goes on from there. */
static int stream_read(void *ctx, char *buf, unsigned int len)
{
    struct recipients_import *u = ctx;
    while (u->out_pos == u->out_len) {
        u->out_pos = u->out_len = 0;
        if (u->in_state != IN_MORE)
            return u->in_state == IN_DONE ? 0 : -1;
        if (u->chunk_rows && u->stmt_rows >= u->chunk_rows)
            return 0;
        u->in_state = ri_csv_read_more(u);
    }
    size_t n = u->out_len - u->out_pos;
    if (n > len)
        n = len;
    memcpy(buf, u->out + u->out_pos, n);
    u->out_pos += n;
    return (int)n;
}

/* Loads the contacts (phone -> id, consent) when there are at most max of them. Returns 1
 * loaded, 0 too many (nothing kept), -1 failure (on u). */
static int preload_contacts(struct recipients_import *u, long long max)
{
    struct db_rows rows;
    if (db_query(u->db, "SELECT phone, id, consent_at IS NOT NULL FROM contacts LIMIT ?",
                 DB_ARGS(DB_INT(max + 1)), &rows) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not read the contacts");
    if ((long long)rows.nrows > max) {
        db_rows_free(&rows);
        return 0;
    }
    size_t cap = 16;
    while (cap < rows.nrows * 2)
        cap *= 2;
    u->contacts.keys = calloc(cap, sizeof *u->contacts.keys);
    u->contacts.vals = calloc(cap, sizeof *u->contacts.vals);
    if (!u->contacts.keys || !u->contacts.vals) {
        db_rows_free(&rows);
        return ri_fail(u, 500, "internal", NULL, "out of memory");
    }
    u->contacts.cap = cap;
    for (size_t r = 0; r < rows.nrows; r++) {
        const char *ph = db_val(&rows, r, 0);
        uint64_t k = ph && ph[0] == '+' ? phoneset_key(ph) : 0;
        if (!k)
            continue; /* not E.164: no recipient can match it */
        size_t j = cmap_slot(k, cap);
        while (u->contacts.keys[j] && u->contacts.keys[j] != k)
            j = (j + 1) & (cap - 1);
        u->contacts.keys[j] = k;
        u->contacts.vals[j] = db_int(&rows, r, 1, 0) * 2 + (db_int(&rows, r, 2, 0) ? 1 : 0);
    }
    db_rows_free(&rows);
    u->contacts_loaded = 1;
    return 1;
}

/* Loads the campaign's numbers when it has at most max. Returns 1 loaded, 0 too many, -1
 * failure (on u). The campaign is locked: no other import adds numbers meanwhile. */
static int preload_existing(struct recipients_import *u, long long max)
{
    if (u->had_count > max)
        return 0;
    struct db_rows rows;
    if (db_query(u->db, "SELECT phone FROM recipients WHERE campaign_id = ?",
                 DB_ARGS(DB_INT(u->campaign_id)), &rows) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not check existing recipients");
    for (size_t r = 0; r < rows.nrows; r++) {
        const char *ph = db_val(&rows, r, 0);
        uint64_t k = ph && ph[0] == '+' ? phoneset_key(ph) : 0;
        if (k && phoneset_add(&u->existing, k) < 0) {
            db_rows_free(&rows);
            return ri_fail(u, 500, "internal", NULL, "out of memory");
        }
    }
    db_rows_free(&rows);
    u->existing_loaded = 1;
    return 1;
}

/* Whether this upload can stream (see the top of the file); loads what the checks need if it
 * can. Returns 1 stream, 0 INSERT, -1 failure (on u). */
int ri_stream_choose(struct recipients_import *u)
{
    long long body = u->content_length > 0 ? u->content_length : 0;
    long long max = 1000 + body / 16;
    if (max > PRELOAD_MAX)
        max = PRELOAD_MAX;
    /* Duplicates against the campaign's rows and the contacts would need lookups mid-stream. */
    if (u->had_rows) {
        int got = preload_existing(u, max);
        if (got <= 0)
            return got;
    }
    if (u->have_contacts) {
        int got = preload_contacts(u, max);
        if (got <= 0)
            return got;
    }
    int on = db_local_infile(u->db);
    if (on < 0)
        return ri_fail(u, 500, "database_error", NULL, "could not read the server's settings");
    return on;
}

/* Streams the whole body into the server, a LOAD DATA statement per chunk. Returns 0 done (or
 * failed, on u), 1 when the server refused LOAD DATA LOCAL before reading anything: the caller
 * goes the INSERT way. nginx buffers request bodies (fastcgi_request_buffering, on by
 * default), so a slow client never makes the server wait for the stream beyond its
 * net_read_timeout; if it did, the upload fails whole. */
int ri_stream_upload(struct recipients_import *u)
{
    u->stream = 1;
    u->in_state = IN_MORE;
    for (int first = 1;; first = 0) {
        struct db_res res;
        unsigned int warnings = 0;
        int started = 0;
        u->stmt_rows = 0;
        double t = ri_now();
        int rc = db_load_stream(u->db, STREAM_SQL, STREAM_NAME, stream_read, u, &res, &warnings,
                                &started);
        u->db_s += ri_now() - t;
        if (first && rc != DB_OK && !started && !u->failed_status && rc != DB_ERR_CONN) {
            log_warn("campaign %lld: LOAD DATA LOCAL refused (%s), storing with INSERT",
                     u->campaign_id, db_error(u->db));
            u->stream = 0;
            return 1;
        }
        if (u->failed_status)
            return 0; /* the stream was cut short on purpose; the caller rolls back */
        if (rc != DB_OK) {
            log_error("load recipients: %s", db_error(u->db));
            ri_fail(u, 500, "database_error", NULL, "could not store recipients");
            return 0;
        }
        if (warnings || (long long)res.affected != u->stmt_rows) {
            log_error("load recipients: %llu of %lld rows stored, %u warnings", res.affected,
                      u->stmt_rows, warnings);
            ri_fail(u, 500, "database_error", NULL, "could not store recipients");
            return 0;
        }
        u->accepted += (long long)res.affected;
        if (u->in_state == IN_DONE)
            return 0;
        if (u->in_state != IN_MORE) {
            ri_fail(u, 500, "internal", NULL, "the upload stream ended in a bad state");
            return 0;
        }
        if (ri_chunk_commit(u) < 0)
            return 0;
    }
}
