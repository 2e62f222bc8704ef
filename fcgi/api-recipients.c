/* A campaign's audience: CSV uploads, contacts chosen by tags, pasted lists, the recipient
 * list with status filter, phone search and cursor pagination, and the record of imports.
 *
 * Every row is accepted or rejected with its line number and reason (invalid number,
 * duplicate, opted out, no consent, missing template value). An import runs in one
 * transaction: the report is answered, nothing is half-written, and importing the same rows
 * again adds nothing.
 *
 * A CSV upload streams its valid rows into the server with LOAD DATA LOCAL INFILE: the server
 * stores rows while this process parses and checks the next ones (two cores instead of one).
 * What the checks would look up per batch (the campaign's numbers, the contacts' consent and
 * id) is preloaded into memory when it is not too large (PRELOAD_MAX). Everything else (more
 * to preload, lists, contacts by tags, a server with local_infile off) stores multi-row
 * prepared INSERTs; both ways give the same rows and the same report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apival.h"
#include "app.h"
#include "audit.h"
#include "csvin.h"
#include "db.h"
#include "e164.h"
#include "log.h"
#include "person.h"
#include "phoneset.h"
#include "msgstatus.h"
#include "parammap.h"

#define BATCH_ROWS   1000
#define MAX_REPORTED 1000
#define MAX_FIELD    65536
#define MAX_FIELDS   256
#define MAX_PARAMS   64
#define JSON_LIMIT   (8 * 1024 * 1024)
#define VARS_FLAGS   (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
/* Contacts and a campaign's numbers preloaded for the stream: at most this many each, and at
 * most about one per 16 bytes of upload (a small file never waits for a large table: it takes
 * the INSERT way, with its lookups per batch). */
#define PRELOAD_MAX 200000
#define STREAM_NAME "pregon:recipients"
/* Constant text: every value travels in the stream (campaign id included), none in the SQL. */
#define STREAM_SQL                                                                                 \
    "LOAD DATA LOCAL INFILE '" STREAM_NAME "' INTO TABLE recipients CHARACTER SET utf8mb4 "        \
    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "                      \
    "(campaign_id, phone, contact_id, vars)"

enum source { SRC_CSV, SRC_LIST, SRC_CONTACTS };

struct pending_row {
    char phone[E164_MAX + 1];
    char *vars; /* JSON text, malloc'd; NULL: take the contact's */
    size_t line;
    int consent; /* 1 given in the row (or the contact's, already checked), 0 not given */
    long long contact_id;
};

/* phone key -> contact id * 2 + consent, open addressing, sized once. */
struct contactmap {
    uint64_t *keys;
    long long *vals;
    size_t cap;
};

static size_t cmap_slot(uint64_t k, size_t cap)
{
    return (size_t)(k * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

/* The contact's id and consent for key; 0 when no contact has that number. */
static long long cmap_get(const struct contactmap *m, uint64_t k)
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

struct param_need {
    const char *column;
    const char *fallback;
    int idx; /* header index, -1 when the file lacks the column */
};

struct upload {
    struct request *req;
    struct db *db;
    long long campaign_id;
    enum source src;
    char country[3];
    json_object *map;
    int had_rows; /* the campaign had recipients before: check duplicates against them */
    long long had_count;
    struct phoneset existing; /* loaded: the campaign's numbers, checked here */
    int existing_loaded;
    int relaxed;       /* unique and foreign key checks are off for this session */
    int have_contacts; /* the contacts table is not empty */
    struct phoneset optouts;
    struct contactmap contacts; /* loaded: contacts are looked up here, not in the database */
    int contacts_loaded;
    /* LOAD DATA stream: rows are escaped into out and handed to the server from there */
    int stream;
    char *out;
    size_t out_len, out_pos, out_cap;
    long long streamed;
    struct csvin *csv;
    size_t total; /* bytes of the body read */
    int in_state; /* IN_MORE, IN_DONE, IN_FAIL */
    /* header */
    int have_header;
    size_t ncols;
    char **cols;
    int phone_idx, consent_idx;
    /* vars text built per row without a json-c object: each column's key as JSON ("name":),
     * one reused string object for escaping values, one reused buffer. Only when column names
     * are distinct (json-c's object keeps the first position and the last value of a key). */
    int vars_fast;
    char **keys;
    json_object *vstr;
    char *vbuf;
    size_t vcap;
    struct param_need needs[MAX_PARAMS];
    size_t nneeds;
    /* work */
    struct phoneset seen;
    struct pending_row batch[BATCH_ROWS];
    size_t nbatch;
    /* report */
    long long rows, accepted;
    double db_s;            /* time spent in the database, for the log */
    json_object *rejected;  /* array, first MAX_REPORTED */
    json_object *by_reason; /* reason -> count */
    long long rejected_total;
    /* failure that aborts the upload */
    int failed_status;
    char fail_code[48];
    char fail_msg[512];
    const char *fail_field;
};

static void reject(struct upload *u, size_t line, const char *phone, const char *reason,
                   const char *message)
{
    u->rejected_total++;
    json_object *cnt;
    if (json_object_object_get_ex(u->by_reason, reason, &cnt))
        json_object_set_int64(cnt, json_object_get_int64(cnt) + 1);
    else
        json_object_object_add(u->by_reason, reason, json_object_new_int64(1));
    if (json_object_array_length(u->rejected) >= MAX_REPORTED)
        return;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "line", line ? json_object_new_int64((int64_t)line) : NULL);
    if (phone)
        json_object_object_add(r, "phone", json_object_new_string(phone));
    json_object_object_add(r, "reason", json_object_new_string(reason));
    json_object_object_add(r, "message", json_object_new_string(message));
    json_object_array_add(u->rejected, r);
}

static int fail(struct upload *u, int status, const char *code, const char *field, const char *msg)
{
    u->failed_status = status;
    snprintf(u->fail_code, sizeof u->fail_code, "%s", code);
    snprintf(u->fail_msg, sizeof u->fail_msg, "%s", msg);
    u->fail_field = field;
    return -1;
}

static const char *phone_aliases[] = {"phone",  "telefono", "teléfono", "phone_number",
                                      "numero", "número",   "celular",  "whatsapp",
                                      "movil",  "móvil",    NULL};
static const char *consent_aliases[] = {"consent", "consentimiento", "opt_in",
                                        "optin",   "acepta",         NULL};

static int is_var_column(const struct upload *u, size_t i)
{
    return (int)i != u->phone_idx && (int)i != u->consent_idx && u->cols[i][0];
}

/* Sets up the per-row vars builder (see struct upload) when the column names allow it. */
static int vars_prepare(struct upload *u)
{
    for (size_t i = 0; i < u->ncols; i++)
        for (size_t j = i + 1; j < u->ncols; j++)
            if (is_var_column(u, i) && is_var_column(u, j) && strcmp(u->cols[i], u->cols[j]) == 0)
                return 0;
    u->keys = calloc(u->ncols + 1, sizeof *u->keys);
    u->vstr = json_object_new_string("");
    if (!u->keys || !u->vstr)
        return fail(u, 500, "internal", NULL, "out of memory");
    for (size_t i = 0; i < u->ncols; i++) {
        json_object *k = json_object_new_string(u->cols[i]);
        size_t len = 0;
        const char *t = k ? json_object_to_json_string_length(k, VARS_FLAGS, &len) : NULL;
        u->keys[i] = t ? malloc(len + 2) : NULL;
        if (u->keys[i]) {
            memcpy(u->keys[i], t, len);
            memcpy(u->keys[i] + len, ":", 2);
        }
        json_object_put(k);
        if (!u->keys[i])
            return fail(u, 500, "internal", NULL, "out of memory");
    }
    u->vars_fast = 1;
    return 0;
}

static int vbuf_add(struct upload *u, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > u->vcap) {
        size_t cap = u->vcap ? u->vcap : 1024;
        while (cap < *len + n + 1)
            cap *= 2;
        char *b = realloc(u->vbuf, cap);
        if (!b)
            return -1;
        u->vbuf = b;
        u->vcap = cap;
    }
    memcpy(u->vbuf + *len, s, n);
    *len += n;
    u->vbuf[*len] = '\0';
    return 0;
}

/* The row's vars as JSON text, the same text json-c writes for the object of its columns.
 * Caller frees. NULL when out of memory. */
static char *vars_text(struct upload *u, size_t n, char **fields, const size_t *lens)
{
    if (!u->vars_fast) {
        json_object *vars = json_object_new_object();
        for (size_t i = 0; i < n && i < u->ncols; i++) {
            if (!is_var_column(u, i) || lens[i] == 0)
                continue;
            json_object_object_add(vars, u->cols[i],
                                   json_object_new_string_len(fields[i], (int)lens[i]));
        }
        char *t = strdup(json_object_to_json_string_ext(vars, VARS_FLAGS));
        json_object_put(vars);
        return t;
    }
    size_t len = 0;
    int bad = vbuf_add(u, &len, "{", 1), any = 0;
    for (size_t i = 0; i < n && i < u->ncols && !bad; i++) {
        if (!is_var_column(u, i) || lens[i] == 0)
            continue;
        size_t elen = 0;
        const char *esc = NULL;
        if (json_object_set_string_len(u->vstr, fields[i], (int)lens[i]))
            esc = json_object_to_json_string_length(u->vstr, VARS_FLAGS, &elen);
        bad = !esc || (any && vbuf_add(u, &len, ",", 1)) ||
              vbuf_add(u, &len, u->keys[i], strlen(u->keys[i])) || vbuf_add(u, &len, esc, elen);
        any = 1;
    }
    if (bad || vbuf_add(u, &len, "}", 1))
        return NULL;
    return strndup(u->vbuf, len);
}

static int take_header(struct upload *u, size_t line, size_t n, char **fields, const size_t *lens)
{
    char msg[160];
    /* Every name is checked before any is kept: u->cols[0..ncols) are always set (issue #17:
     * a refused header left NULL names behind, and the answer's "columns" read them). */
    for (size_t i = 0; i < n; i++) {
        const char *why = NULL;
        if (!csvin_utf8_valid(fields[i], lens[i]))
            why = "is not valid UTF-8";
        else if (memchr(fields[i], 0, lens[i]))
            why = "holds a NUL byte";
        if (why) {
            snprintf(msg, sizeof msg, "line %zu: the header %s (column %zu)", line, why, i + 1);
            return fail(u, 400, "invalid_csv", "body", msg);
        }
    }
    u->cols = calloc(n + 1, sizeof *u->cols);
    if (!u->cols)
        return fail(u, 500, "internal", NULL, "out of memory");
    u->phone_idx = u->consent_idx = -1;
    for (size_t i = 0; i < n; i++) {
        /* Column names are trimmed; they become the keys of the recipient's variables. */
        const char *s = fields[i];
        size_t len = strlen(s);
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        u->cols[i] = strndup(s, len > 64 ? 64 : len);
        if (!u->cols[i])
            return fail(u, 500, "internal", NULL, "out of memory");
        u->ncols = i + 1;
    }
    for (int a = 0; phone_aliases[a] && u->phone_idx < 0; a++)
        u->phone_idx = csvin_header_index(fields, n, phone_aliases[a]);
    if (u->phone_idx < 0) {
        snprintf(msg, sizeof msg, "line %zu: the header has no phone column (phone, telefono, ...)",
                 line);
        return fail(u, 422, "missing_column", "phone", msg);
    }
    for (int a = 0; consent_aliases[a] && u->consent_idx < 0; a++)
        u->consent_idx = csvin_header_index(fields, n, consent_aliases[a]);
    for (size_t k = 0; k < u->nneeds; k++)
        u->needs[k].idx = csvin_header_index(fields, n, u->needs[k].column);
    return vars_prepare(u);
}

/* The first template value without a value in vars (an object), as a message; NULL if none. */
static int vars_missing(const struct upload *u, json_object *vars, char *msg, size_t len)
{
    for (size_t k = 0; k < u->nneeds; k++) {
        json_object *cell;
        if (u->needs[k].fallback)
            continue;
        if (vars && json_object_object_get_ex(vars, u->needs[k].column, &cell) &&
            json_object_is_type(cell, json_type_string) && json_object_get_string_len(cell) > 0)
            continue;
        snprintf(msg, len, "no value for the template parameter column '%s'", u->needs[k].column);
        return 1;
    }
    return 0;
}

/* The contact's variables: name, lead_id and its attributes. Caller owns the result. */
static json_object *contact_vars(const char *name, const char *lead_id, const char *attrs)
{
    json_object *o = attrs ? json_tokener_parse(attrs) : NULL;
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = json_object_new_object();
    }
    /* Attributes are free-form; keep only strings (numbers as text), as CSV columns are. */
    json_object *clean = json_object_new_object();
    json_object_object_foreach(o, k, v)
    {
        if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int) ||
            json_object_is_type(v, json_type_double))
            json_object_object_add(clean, k, json_object_new_string(json_object_get_string(v)));
    }
    json_object_put(o);
    if (name && *name)
        json_object_object_add(clean, "name", json_object_new_string(name));
    if (lead_id && *lead_id)
        json_object_object_add(clean, "lead_id", json_object_new_string(lead_id));
    return clean;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int flush_batch(struct upload *u);

static int flush(struct upload *u)
{
    double t = now_s();
    int rc = flush_batch(u);
    u->db_s += now_s() - t;
    return rc;
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

static int out_reserve(struct upload *u, size_t more)
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
static int stream_rows(struct upload *u, const int *skip, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct pending_row *p = &u->batch[i];
        if (!skip[i] && rc == 0) {
            const char *vars = p->vars ? p->vars : "{}";
            size_t vlen = strlen(vars);
            /* worst case: every byte of vars escaped, two 20-digit numbers, the phone */
            if (out_reserve(u, 2 * vlen + 64 + E164_MAX) < 0) {
                rc = fail(u, 500, "internal", NULL, "out of memory");
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
                u->streamed++;
            }
        }
        free(p->vars);
        p->vars = NULL;
    }
    u->nbatch = 0;
    return rc;
}

static int flush_batch(struct upload *u)
{
    if (u->nbatch == 0)
        return 0;
    size_t n = u->nbatch;
    char sql[128 + BATCH_ROWS * 3];
    static db_arg args[1 + BATCH_ROWS * 4];
    int *skip = calloc(n, sizeof *skip);
    if (!skip)
        return fail(u, 500, "internal", NULL, "out of memory");
    struct db_rows rows;
    int len;
    /* Contacts: consent when the row gave none, the contact id, and the values of rows that
     * come from a list of numbers. Preloaded contacts serve CSV rows, which carry their values. */
    if (u->contacts_loaded) {
        for (size_t i = 0; i < n; i++) {
            struct pending_row *p = &u->batch[i];
            long long c = cmap_get(&u->contacts, phoneset_key(p->phone));
            if (!c)
                continue;
            p->contact_id = c / 2;
            if (!p->consent && (c & 1))
                p->consent = 1;
        }
    } else if (u->have_contacts) {
        len = snprintf(sql, sizeof sql,
                       "SELECT phone, id, consent_at IS NOT NULL, name, lead_id, attributes "
                       "FROM contacts WHERE phone IN (");
        for (size_t i = 0; i < n; i++) {
            len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
            args[i] = DB_STR(u->batch[i].phone);
        }
        snprintf(sql + len, sizeof sql - (size_t)len, ")");
        if (db_query(u->db, sql, args, n, &rows) != DB_OK) {
            free(skip);
            return fail(u, 500, "database_error", NULL, "could not read the contacts");
        }
        for (size_t r = 0; r < rows.nrows; r++) {
            for (size_t i = 0; i < n; i++) {
                struct pending_row *p = &u->batch[i];
                if (strcmp(db_val(&rows, r, 0), p->phone) != 0)
                    continue;
                p->contact_id = db_int(&rows, r, 1, 0);
                if (!p->consent && db_int(&rows, r, 2, 0))
                    p->consent = 1;
                if (!p->vars) {
                    json_object *cv =
                        contact_vars(db_val(&rows, r, 3), db_val(&rows, r, 4), db_val(&rows, r, 5));
                    p->vars = strdup(json_object_to_json_string_ext(
                        cv, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                    json_object_put(cv);
                }
            }
        }
        db_rows_free(&rows);
    }
    for (size_t i = 0; i < n; i++) {
        struct pending_row *p = &u->batch[i];
        if (!p->consent) {
            reject(u, p->line, p->phone, "no_consent",
                   u->src == SRC_CSV
                       ? "no consent: the row's consent column is empty and no contact with "
                         "that number has consent on record"
                       : "no consent: no contact with that number has consent on record");
            skip[i] = 1;
            continue;
        }
        if (u->src == SRC_LIST) {
            json_object *vars = p->vars ? json_tokener_parse(p->vars) : NULL;
            char msg[160];
            int miss = vars_missing(u, vars, msg, sizeof msg);
            json_object_put(vars);
            if (miss) {
                reject(u, p->line, p->phone, "missing_param", msg);
                skip[i] = 1;
            }
        }
    }
    /* Numbers already in the campaign are duplicates too, reported with their line. */
    if (u->existing_loaded) {
        for (size_t i = 0; i < n; i++)
            if (!skip[i] && phoneset_has(&u->existing, phoneset_key(u->batch[i].phone))) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s is already a recipient of this campaign",
                         u->batch[i].phone);
                reject(u, u->batch[i].line, u->batch[i].phone, "duplicate", msg);
                skip[i] = 1;
            }
    } else if (u->had_rows) {
        len = snprintf(sql, sizeof sql,
                       "SELECT phone FROM recipients WHERE campaign_id = ? AND phone IN (");
        args[0] = DB_INT(u->campaign_id);
        for (size_t i = 0; i < n; i++) {
            len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
            args[1 + i] = DB_STR(u->batch[i].phone);
        }
        snprintf(sql + len, sizeof sql - (size_t)len, ")");
        if (db_query(u->db, sql, args, 1 + n, &rows) != DB_OK) {
            free(skip);
            return fail(u, 500, "database_error", NULL, "could not check existing recipients");
        }
        for (size_t r = 0; r < rows.nrows; r++)
            for (size_t i = 0; i < n; i++)
                if (!skip[i] && strcmp(db_val(&rows, r, 0), u->batch[i].phone) == 0) {
                    char msg[96];
                    snprintf(msg, sizeof msg, "%s is already a recipient of this campaign",
                             u->batch[i].phone);
                    reject(u, u->batch[i].line, u->batch[i].phone, "duplicate", msg);
                    skip[i] = 1;
                }
        db_rows_free(&rows);
    }
    if (u->stream) {
        int rc = stream_rows(u, skip, n);
        free(skip);
        return rc;
    }
    char isql[128 + BATCH_ROWS * 12];
    size_t na = 0, rowsin = 0;
    len = snprintf(isql, sizeof isql,
                   "INSERT INTO recipients (campaign_id, phone, contact_id, vars) VALUES ");
    for (size_t i = 0; i < n; i++) {
        if (skip[i])
            continue;
        len += snprintf(isql + len, sizeof isql - (size_t)len, rowsin ? ",(?,?,?,?)" : "(?,?,?,?)");
        args[na++] = DB_INT(u->campaign_id);
        args[na++] = DB_STR(u->batch[i].phone);
        args[na++] = u->batch[i].contact_id ? DB_INT(u->batch[i].contact_id) : DB_NULL;
        args[na++] = DB_STR(u->batch[i].vars ? u->batch[i].vars : "{}");
        rowsin++;
    }
    free(skip);
    int rc = DB_OK;
    if (rowsin) {
        struct db_res res;
        rc = db_exec(u->db, isql, args, na, &res);
        if (rc == DB_OK)
            u->accepted += (long long)res.affected;
    }
    for (size_t i = 0; i < n; i++) {
        free(u->batch[i].vars);
        u->batch[i].vars = NULL;
    }
    u->nbatch = 0;
    if (rc != DB_OK) {
        log_error("insert recipients: %s", db_error(u->db));
        return fail(u, 500, "database_error", NULL, "could not store recipients");
    }
    return 0;
}

/* Checks a number common to every source; on success returns the row to fill (or NULL when
 * the row was rejected, or -1 through *err when the upload must stop). */
static struct pending_row *take_phone(struct upload *u, size_t line, const char *in, size_t len,
                                      int *err)
{
    *err = 0;
    char phone[E164_MAX + 1];
    int st = e164_normalize(in, len, u->country, phone);
    if (st != E164_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid phone number (%s)", e164_strerror(st));
        reject(u, line, NULL, e164_reason_code(st), msg);
        return NULL;
    }
    uint64_t key = phoneset_key(phone);
    int added = phoneset_add(&u->seen, key);
    if (added < 0) {
        *err = fail(u, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    if (added == 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s appears earlier in the %s", phone,
                 u->src == SRC_CSV ? "file" : "list");
        reject(u, line, phone, "duplicate", msg);
        return NULL;
    }
    if (phoneset_has(&u->optouts, key)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s opted out of messages from this business", phone);
        reject(u, line, phone, "opted_out", msg);
        return NULL;
    }
    struct pending_row *p = &u->batch[u->nbatch];
    memcpy(p->phone, phone, sizeof phone);
    p->line = line;
    p->consent = 0;
    p->contact_id = 0;
    p->vars = NULL;
    return p;
}

static int commit_row(struct upload *u)
{
    u->nbatch++;
    if (u->nbatch == BATCH_ROWS)
        return flush(u);
    return 0;
}

static int on_row(void *ctx, size_t line, size_t n, char **fields, const size_t *lens)
{
    struct upload *u = ctx;
    if (!u->have_header) {
        u->have_header = 1;
        return take_header(u, line, n, fields, lens);
    }
    u->rows++;
    for (size_t i = 0; i < n; i++) {
        if (!csvin_utf8_valid(fields[i], lens[i])) {
            reject(u, line, NULL, "invalid_utf8", "the row is not valid UTF-8 text");
            return 0;
        }
        /* NUL is valid UTF-8 but no text: nothing a template could show */
        if (memchr(fields[i], 0, lens[i])) {
            reject(u, line, NULL, "invalid_utf8", "the row holds a NUL byte, which is not text");
            return 0;
        }
    }
    if ((size_t)u->phone_idx >= n || lens[u->phone_idx] == 0) {
        reject(u, line, NULL, "phone_missing", "the row has no phone number");
        return 0;
    }
    int err;
    struct pending_row *p = take_phone(u, line, fields[u->phone_idx], lens[u->phone_idx], &err);
    if (!p)
        return err;
    int consent = 0;
    if (u->consent_idx >= 0 && (size_t)u->consent_idx < n) {
        consent = apival_consent(fields[u->consent_idx], lens[u->consent_idx]);
        if (consent == -1) {
            reject(u, line, p->phone, "no_consent", "the consent column says no");
            return 0;
        }
        if (consent == -2) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "the consent value '%.60s' is not understood (use yes/no, sí/no, 1/0 or the "
                     "date it was given)",
                     fields[u->consent_idx]);
            reject(u, line, p->phone, "invalid_consent", msg);
            return 0;
        }
    }
    for (size_t k = 0; k < u->nneeds; k++) {
        int idx = u->needs[k].idx;
        int empty = idx < 0 || (size_t)idx >= n || lens[idx] == 0;
        if (empty && !u->needs[k].fallback) {
            char msg[160];
            snprintf(msg, sizeof msg, "no value for the template parameter column '%s'",
                     u->needs[k].column);
            reject(u, line, p->phone, "missing_param", msg);
            return 0;
        }
    }
    p->consent = consent == 1;
    p->vars = vars_text(u, n, fields, lens);
    if (!p->vars)
        return fail(u, 500, "internal", NULL, "out of memory");
    return commit_row(u);
}

/* A row the CSV reader had to drop (a field over MAX_FIELD bytes, more than MAX_FIELDS
 * columns): rejected with its line like any other bad row, and the upload goes on. The header
 * names the columns, so without it nothing can be read: that stops the upload. */
static int on_skip(void *ctx, size_t line, int status, const char *what)
{
    struct upload *u = ctx;
    char msg[160];
    if (!u->have_header) {
        snprintf(msg, sizeof msg, "line %zu: the header row is unusable (%s)", line, what);
        return fail(u, 400, "invalid_csv", "body", msg);
    }
    u->rows++;
    snprintf(msg, sizeof msg, "the row is dropped: %s", what);
    reject(u, line, NULL, status == CSVIN_ETOO_MANY ? "too_many_fields" : "field_too_long", msg);
    return 0;
}

/* Locks the campaign (imports into one campaign run one at a time) and reads what the rows
 * are checked against: the account's country, the mapping, the opt-out list. */
static int load_campaign(struct upload *u)
{
    struct db_rows rows;
    if (db_query(u->db,
                 "SELECT c.status, a.default_country, c.param_map, c.total_count, "
                 "(SELECT COUNT(*) FROM contacts LIMIT 1) > 0 FROM campaigns c "
                 "JOIN wa_accounts a ON a.id = c.account_id WHERE c.id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(u->campaign_id)), &rows) != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not read the campaign");
    if (rows.nrows == 0) {
        db_rows_free(&rows);
        return fail(u, 404, "not_found", NULL, "no such campaign");
    }
    if (strcmp(db_val(&rows, 0, 0), "draft") != 0) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "recipients can only be added to a draft campaign (this one is "
                 "%s)",
                 db_val(&rows, 0, 0));
        db_rows_free(&rows);
        return fail(u, 409, "invalid_state", NULL, msg);
    }
    snprintf(u->country, sizeof u->country, "%s", db_val(&rows, 0, 1));
    u->map = json_tokener_parse(db_val(&rows, 0, 2));
    u->had_count = db_int(&rows, 0, 3, 0);
    u->had_rows = u->had_count > 0;
    /* Into a campaign without recipients, under its lock, every number is new (the upload
     * dedupes its own rows) and the campaign exists: the checks InnoDB would repeat per row
     * and per index are skipped. Restored in finish(). */
    if (!u->had_rows &&
        db_simple(u->db, "SET SESSION unique_checks = 0, foreign_key_checks = 0") == DB_OK)
        u->relaxed = 1;
    u->have_contacts = db_int(&rows, 0, 4, 0) != 0;
    db_rows_free(&rows);
    const char *cols[MAX_PARAMS], *fbs[MAX_PARAMS];
    u->nneeds = parammap_columns(u->map, cols, fbs, MAX_PARAMS);
    for (size_t k = 0; k < u->nneeds; k++) {
        u->needs[k].column = cols[k];
        u->needs[k].fallback = fbs[k];
        u->needs[k].idx = -1;
    }
    if (person_blocked_set(u->db, &u->optouts) != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not read the opt-outs");
    return 0;
}

static void upload_free(struct upload *u)
{
    for (size_t i = 0; i < u->ncols; i++)
        free(u->cols[i]);
    free(u->cols);
    if (u->keys)
        for (size_t i = 0; i < u->ncols; i++)
            free(u->keys[i]);
    free(u->keys);
    json_object_put(u->vstr);
    free(u->vbuf);
    for (size_t i = 0; i < u->nbatch; i++)
        free(u->batch[i].vars);
    free(u->out);
    free(u->contacts.keys);
    free(u->contacts.vals);
    phoneset_free(&u->seen);
    phoneset_free(&u->existing);
    phoneset_free(&u->optouts);
    json_object_put(u->map);
    json_object_put(u->rejected);
    json_object_put(u->by_reason);
}

static struct upload *upload_new(struct request *req, enum source src)
{
    struct upload *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->req = req;
    u->db = req->app->db;
    u->campaign_id = req->ids[0];
    u->src = src;
    u->rejected = json_object_new_array();
    u->by_reason = json_object_new_object();
    return u;
}

static int by_line(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *lx, *ly;
    long long l1 = json_object_object_get_ex(x, "line", &lx) ? json_object_get_int64(lx) : 0;
    long long l2 = json_object_object_get_ex(y, "line", &ly) ? json_object_get_int64(ly) : 0;
    return (l1 > l2) - (l1 < l2);
}

/* Stores the import's record, updates the counters, writes the audit log, commits and answers
 * the report; or rolls back and answers the failure. definition is taken. */
static void finish(struct upload *u, const char *kind, json_object *definition)
{
    struct request *req = u->req;
    long long import_id = 0;
    if (!u->failed_status) {
        json_object_array_sort(u->rejected, by_line);
        const char *def = json_object_to_json_string_ext(
            definition, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        const char *reasons = json_object_to_json_string_ext(u->by_reason, JSON_C_TO_STRING_PLAIN);
        struct db_res res;
        json_object *d = json_object_new_object();
        json_object_object_add(d, "kind", json_object_new_string(kind));
        json_object_object_add(d, "accepted", json_object_new_int64(u->accepted));
        json_object_object_add(d, "rejected", json_object_new_int64(u->rejected_total));
        if (db_exec(u->db,
                    "UPDATE campaigns SET total_count = total_count + ?, "
                    "pending_count = pending_count + ? WHERE id = ?",
                    DB_ARGS(DB_INT(u->accepted), DB_INT(u->accepted), DB_INT(u->campaign_id)),
                    NULL) != DB_OK ||
            db_exec(u->db,
                    "INSERT INTO audience_imports (campaign_id, kind, definition, rows_read, "
                    "accepted, rejected, rejected_by_reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?, "
                    "?)",
                    DB_ARGS(DB_INT(u->campaign_id), DB_STR(kind), DB_STR(def), DB_INT(u->rows),
                            DB_INT(u->accepted), DB_INT(u->rejected_total), DB_STR(reasons),
                            DB_STR(req->user)),
                    &res) != DB_OK) {
            json_object_put(d);
            fail(u, 500, "database_error", NULL, "could not store the recipients");
        } else {
            import_id = (long long)res.insert_id;
            json_object_object_add(d, "import_id", json_object_new_int64(import_id));
            char action[64];
            snprintf(action, sizeof action, "campaign.recipients.%s", kind);
            if (audit_write(req, action, "campaign", u->campaign_id, u->campaign_id, d) != DB_OK ||
                db_commit(u->db) != DB_OK)
                fail(u, 500, "database_error", NULL, "could not store the recipients");
        }
    }
    json_object_put(definition);
    if (u->relaxed) {
        db_simple(u->db, "SET SESSION unique_checks = 1, foreign_key_checks = 1");
        u->relaxed = 0;
    }
    if (u->failed_status) {
        db_rollback(u->db);
        http_error(req, u->failed_status, u->fail_code, u->fail_msg, u->fail_field);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "campaign_id", json_object_new_int64(u->campaign_id));
    json_object_object_add(o, "import_id", json_object_new_int64(import_id));
    json_object_object_add(o, "rows", json_object_new_int64(u->rows));
    json_object_object_add(o, "accepted", json_object_new_int64(u->accepted));
    json_object_object_add(o, "rejected_total", json_object_new_int64(u->rejected_total));
    json_object_object_add(o, "rejected_by_reason", json_object_get(u->by_reason));
    json_object_object_add(o, "rejected", json_object_get(u->rejected));
    json_object_object_add(o, "rejected_truncated",
                           json_object_new_boolean(u->rejected_total > MAX_REPORTED));
    log_info("campaign %lld: %lld recipients added (%s%s), %lld rejected; %.2f s in the database",
             u->campaign_id, u->accepted, kind, u->stream ? ", LOAD DATA stream" : "",
             u->rejected_total, u->db_s);
    http_json(req, 200, o);
}

enum { IN_MORE, IN_DONE, IN_FAIL };

/* Reads and parses the next chunk of the body. At its end, checks that the file had a header
 * and stores the last batch. Returns IN_MORE, IN_DONE, or IN_FAIL with the failure on u. */
static int read_more(struct upload *u)
{
    static char buf[1 << 16];
    struct request *req = u->req;
    int got = http_read_chunk(req, buf, sizeof buf);
    int rc;
    if (got > 0) {
        u->total += (size_t)got;
        if (u->total > req->app->cfg.body_limit) {
            fail(u, 413, "body_too_large", "body", "the upload is too large");
            return IN_FAIL;
        }
        rc = csvin_feed(u->csv, buf, (size_t)got, on_row, u);
        if (u->failed_status)
            return IN_FAIL;
        if (rc == 0)
            return IN_MORE;
    } else {
        rc = csvin_finish(u->csv, on_row, u);
        if (u->failed_status)
            return IN_FAIL;
    }
    if (rc != 0) {
        fail(u, 400, "invalid_csv", "body", csvin_error(u->csv));
        return IN_FAIL;
    }
    if (!u->have_header) {
        fail(u, 400, "invalid_csv", "body",
             "line 1: the upload is empty: a header row is required");
        return IN_FAIL;
    }
    return flush(u) < 0 ? IN_FAIL : IN_DONE;
}

/* The LOAD DATA stream: escaped rows, parsing more of the body whenever they run out. */
static int stream_read(void *ctx, char *buf, unsigned int len)
{
    struct upload *u = ctx;
    while (u->out_pos == u->out_len) {
        u->out_pos = u->out_len = 0;
        if (u->in_state != IN_MORE)
            return u->in_state == IN_DONE ? 0 : -1;
        u->in_state = read_more(u);
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
static int preload_contacts(struct upload *u, long long max)
{
    struct db_rows rows;
    if (db_query(u->db, "SELECT phone, id, consent_at IS NOT NULL FROM contacts LIMIT ?",
                 DB_ARGS(DB_INT(max + 1)), &rows) != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not read the contacts");
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
        return fail(u, 500, "internal", NULL, "out of memory");
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
static int preload_existing(struct upload *u, long long max)
{
    if (u->had_count > max)
        return 0;
    struct db_rows rows;
    if (db_query(u->db, "SELECT phone FROM recipients WHERE campaign_id = ?",
                 DB_ARGS(DB_INT(u->campaign_id)), &rows) != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not check existing recipients");
    for (size_t r = 0; r < rows.nrows; r++) {
        const char *ph = db_val(&rows, r, 0);
        uint64_t k = ph && ph[0] == '+' ? phoneset_key(ph) : 0;
        if (k && phoneset_add(&u->existing, k) < 0) {
            db_rows_free(&rows);
            return fail(u, 500, "internal", NULL, "out of memory");
        }
    }
    db_rows_free(&rows);
    u->existing_loaded = 1;
    return 1;
}

/* Whether this upload can stream (see the top of the file); loads what the checks need if it
 * can. Returns 1 stream, 0 INSERT, -1 failure (on u). */
static int choose_stream(struct upload *u)
{
    long long body = u->req->content_length > 0 ? u->req->content_length : 0;
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
        return fail(u, 500, "database_error", NULL, "could not read the server's settings");
    return on;
}

/* Streams the whole body into the server. Returns 0 done (or failed, on u), 1 when the server
 * refused LOAD DATA LOCAL before reading anything: the caller goes the INSERT way. nginx buffers
 * request bodies (fastcgi_request_buffering, on by default), so a slow client never makes the
 * server wait for the stream beyond its net_read_timeout; if it did, the upload fails whole. */
static int upload_stream(struct upload *u)
{
    struct db_res res;
    unsigned int warnings = 0;
    int started = 0;
    u->stream = 1;
    u->in_state = IN_MORE;
    double t = now_s();
    int rc =
        db_load_stream(u->db, STREAM_SQL, STREAM_NAME, stream_read, u, &res, &warnings, &started);
    u->db_s += now_s() - t;
    if (rc != DB_OK && !started && !u->failed_status && rc != DB_ERR_CONN) {
        log_warn("campaign %lld: LOAD DATA LOCAL refused (%s), storing with INSERT", u->campaign_id,
                 db_error(u->db));
        u->stream = 0;
        return 1;
    }
    if (u->failed_status)
        return 0; /* the stream was cut short on purpose; rolled back in finish() */
    if (rc != DB_OK) {
        log_error("load recipients: %s", db_error(u->db));
        fail(u, 500, "database_error", NULL, "could not store recipients");
        return 0;
    }
    if (u->in_state != IN_DONE || warnings || (long long)res.affected != u->streamed) {
        log_error("load recipients: %llu of %lld rows stored, %u warnings", res.affected,
                  u->streamed, warnings);
        fail(u, 500, "database_error", NULL, "could not store recipients");
        return 0;
    }
    u->accepted += (long long)res.affected;
    return 0;
}

void api_recipients_upload(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (req->content_length > (long long)req->app->cfg.body_limit) {
        http_errorf(req, 413, "body_too_large", "body", "the upload is over %zu bytes",
                    req->app->cfg.body_limit);
        return;
    }
    struct upload *u = upload_new(req, SRC_CSV);
    struct csvin *csv = csvin_new(MAX_FIELD, MAX_FIELDS);
    if (!u || !csv) {
        if (u)
            upload_free(u);
        free(u);
        csvin_free(csv);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    u->csv = csv;
    csvin_on_skip(csv, on_skip);
    if (db_begin(u->db) != DB_OK) {
        fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
        goto answer;
    }
    if (load_campaign(u) < 0)
        goto answer;
    int st = choose_stream(u);
    if (st < 0)
        goto answer;
    if (st == 1 && upload_stream(u) == 0)
        goto answer;
    while (read_more(u) == IN_MORE)
        ;

answer:;
    json_object *def = json_object_new_object();
    json_object_object_add(def, "bytes", json_object_new_int64((int64_t)u->total));
    char delim[2] = {csvin_delimiter(csv), 0};
    json_object_object_add(def, "delimiter", json_object_new_string(delim));
    json_object *cols = json_object_new_array();
    for (size_t i = 0; i < u->ncols; i++)
        json_object_array_add(cols, json_object_new_string(u->cols[i]));
    json_object_object_add(def, "columns", cols);
    char *fname = http_query_param(req->query, "filename");
    if (fname && strlen(fname) < 256)
        json_object_object_add(def, "filename", json_object_new_string(fname));
    free(fname);
    finish(u, "csv", def);
    csvin_free(csv);
    upload_free(u);
    free(u);
}

/* {"text": "one number per line, or separated by , ; or spaces"} or {"phones": ["..."]} */
void api_recipients_from_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT), *phones = NULL;
    if (!in)
        return;
    const char *text = json_str(in, "text");
    json_object_object_get_ex(in, "phones", &phones);
    if ((!text && !phones) || (text && phones) ||
        (phones && !json_object_is_type(phones, json_type_array))) {
        json_object_put(in);
        http_error(req, 400, "invalid_field",
                   "give text (numbers one per line) or phones (an array of numbers)", "text");
        return;
    }
    struct upload *u = upload_new(req, SRC_LIST);
    if (!u) {
        json_object_put(in);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    if (db_begin(u->db) != DB_OK) {
        fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
        goto answer;
    }
    if (load_campaign(u) < 0)
        goto answer;
    if (text) {
        size_t line = 1;
        const char *p = text;
        while (*p && !u->failed_status) {
            size_t n = strcspn(p, "\n,;");
            /* a number inside a line may carry spaces ("+54 9 387 ..."): split on separators */
            const char *s = p;
            size_t len = n;
            while (len && (*s == ' ' || *s == '\t' || *s == '\r')) {
                s++;
                len--;
            }
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
                len--;
            if (len) {
                u->rows++;
                int err;
                struct pending_row *r = take_phone(u, line, s, len, &err);
                if (r && commit_row(u) < 0)
                    break;
                if (err)
                    break;
            }
            p += n;
            if (*p == '\n')
                line++;
            if (*p)
                p++;
        }
    } else {
        for (size_t i = 0; i < json_object_array_length(phones) && !u->failed_status; i++) {
            json_object *v = json_object_array_get_idx(phones, i);
            u->rows++;
            if (!json_object_is_type(v, json_type_string)) {
                reject(u, i + 1, NULL, "phone_missing", "not a string");
                continue;
            }
            int err;
            struct pending_row *r = take_phone(u, i + 1, json_object_get_string(v),
                                               (size_t)json_object_get_string_len(v), &err);
            if (r && commit_row(u) < 0)
                break;
            if (err)
                break;
        }
    }
    if (!u->failed_status)
        flush(u);
answer:;
    json_object *def = json_object_new_object();
    json_object_object_add(def, "numbers", json_object_new_int64(u->rows));
    finish(u, "list", def);
    upload_free(u);
    free(u);
    json_object_put(in);
}

static int tags_ok(struct request *req, json_object *arr, const char *field)
{
    if (!arr)
        return 0;
    if (!json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > 50) {
        http_errorf(req, 400, "invalid_field", field, "%s is an array of at most 50 tags", field);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *t = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) == 0 ||
            json_object_get_string_len(t) > 64) {
            http_errorf(req, 400, "invalid_field", field, "%s[%zu] is a tag of 1 to 64 characters",
                        field, i);
            return -1;
        }
    }
    return 0;
}

/* {"include_tags": [...], "exclude_tags": [...], "match": "any"|"all"} */
void api_recipients_from_contacts(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 64 * 1024), *inc = NULL, *exc = NULL;
    if (!in)
        return;
    json_object_object_get_ex(in, "include_tags", &inc);
    json_object_object_get_ex(in, "exclude_tags", &exc);
    const char *match = json_str(in, "match");
    if (tags_ok(req, inc, "include_tags") < 0 || tags_ok(req, exc, "exclude_tags") < 0) {
        json_object_put(in);
        return;
    }
    if (match && strcmp(match, "any") && strcmp(match, "all")) {
        json_object_put(in);
        http_error(req, 400, "invalid_field", "match is any or all", "match");
        return;
    }
    int all = match && strcmp(match, "all") == 0;
    size_t ni = inc ? json_object_array_length(inc) : 0,
           ne = exc ? json_object_array_length(exc) : 0;
    struct upload *u = upload_new(req, SRC_CONTACTS);
    if (!u) {
        json_object_put(in);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    if (db_begin(u->db) != DB_OK) {
        fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
        goto answer;
    }
    if (load_campaign(u) < 0)
        goto answer;
    u->have_contacts = 0; /* rows carry their contact already */
    /* Placeholders only: the tags travel as parameters. */
    char sql[8192];
    db_arg args[110];
    size_t na = 0;
    int len = snprintf(sql, sizeof sql,
                       "SELECT c.id, c.phone, c.name, c.lead_id, c.attributes, c.consent_at IS "
                       "NOT NULL FROM contacts c WHERE 1 = 1");
    if (ni) {
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        all ? " AND (SELECT COUNT(DISTINCT t.tag) FROM contact_tags t WHERE "
                              "t.contact_id = c.id AND t.tag IN ("
                            : " AND EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = "
                              "c.id AND t.tag IN (");
        for (size_t i = 0; i < ni; i++) {
            len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
            args[na++] = DB_STR(json_object_get_string(json_object_array_get_idx(inc, i)));
        }
        if (all) {
            len += snprintf(sql + len, sizeof sql - (size_t)len, ")) = ?");
            args[na++] = DB_INT((long long)ni);
        } else {
            len += snprintf(sql + len, sizeof sql - (size_t)len, "))");
        }
    }
    if (ne) {
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        " AND NOT EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id "
                        "AND t.tag IN (");
        for (size_t i = 0; i < ne; i++) {
            len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
            args[na++] = DB_STR(json_object_get_string(json_object_array_get_idx(exc, i)));
        }
        len += snprintf(sql + len, sizeof sql - (size_t)len, "))");
    }
    snprintf(sql + len, sizeof sql - (size_t)len, " ORDER BY c.id");
    struct db_rows rows;
    if (db_query(u->db, sql, args, na, &rows) != DB_OK) {
        fail(u, 500, "database_error", NULL, "could not read the contacts");
        goto answer;
    }
    for (size_t i = 0; i < rows.nrows && !u->failed_status; i++) {
        u->rows++;
        const char *ph = db_val(&rows, i, 1);
        int err;
        struct pending_row *p = take_phone(u, 0, ph, strlen(ph), &err);
        if (!p) {
            if (err)
                break;
            continue;
        }
        json_object *vars =
            contact_vars(db_val(&rows, i, 2), db_val(&rows, i, 3), db_val(&rows, i, 4));
        char msg[160];
        if (!db_int(&rows, i, 5, 0)) {
            reject(u, 0, p->phone, "no_consent", "the contact has no consent on record");
        } else if (vars_missing(u, vars, msg, sizeof msg)) {
            reject(u, 0, p->phone, "missing_param", msg);
        } else {
            p->consent = 1;
            p->contact_id = db_int(&rows, i, 0, 0);
            p->vars = strdup(json_object_to_json_string_ext(
                vars, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(vars);
            if (!p->vars) {
                fail(u, 500, "internal", NULL, "out of memory");
                break;
            }
            if (commit_row(u) < 0)
                break;
            continue;
        }
        json_object_put(vars);
    }
    db_rows_free(&rows);
    if (!u->failed_status)
        flush(u);
answer:;
    json_object *def = json_object_new_object();
    json_object_object_add(def, "include_tags",
                           inc ? json_object_get(inc) : json_object_new_array());
    json_object_object_add(def, "exclude_tags",
                           exc ? json_object_get(exc) : json_object_new_array());
    json_object_object_add(def, "match", json_object_new_string(all ? "all" : "any"));
    finish(u, "contacts", def);
    upload_free(u);
    free(u);
    json_object_put(in);
}

/* ---- reading ------------------------------------------------------------------------------ */

/* ?status=failed&phone=+549387&after=<phone>&limit=100: recipients in phone order. */
void api_recipients_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *status = http_query_param(req->query, "status");
    char *phone = http_query_param(req->query, "phone");
    char *after = http_query_param(req->query, "after");
    long long limit;
    char prefix[40] = "", like[48] = "";
    if (http_query_ll(req, "limit", 100, 1, 1000, &limit) < 0)
        goto out;
    if (status && msg_status_parse(status) == MSG_INVALID) {
        http_error(req, 400, "invalid_parameter",
                   "status is one of pending, sending, sent, delivered, read, failed, blocked, "
                   "cancelled, unknown",
                   "status");
        goto out;
    }
    if (phone) {
        /* Digits only; a leading + (or a full number) searches by prefix, else anywhere. */
        size_t n = 0;
        int plus = 0;
        for (const char *c = phone; *c; c++) {
            if (*c == '+' && n == 0)
                plus = 1;
            else if (*c >= '0' && *c <= '9' && n < 15)
                prefix[n++] = *c;
        }
        prefix[n] = 0;
        if (n == 0) {
            http_error(req, 400, "invalid_parameter", "phone must contain digits", "phone");
            goto out;
        }
        snprintf(like, sizeof like, plus ? "+%s%%" : "%%%s%%", prefix);
    }
    /* With a status, pages follow ix_recipients_queue: (next_attempt_at, phone). Only a
     * pending recipient has a next attempt time (sql/091), so within any other status, and
     * for every fresh pending one, that is phone order and the cursor is the last phone;
     * a pending recipient waiting for a retry continues as "<next attempt>|<phone>". */
    char after_at[32] = "2000-01-01 00:00:00.000", after_phone[20] = "";
    if (after) {
        const char *bar = strchr(after, '|');
        size_t at_len = bar ? (size_t)(bar - after) : 0;
        const char *ph = bar ? bar + 1 : after;
        if (strlen(ph) > 16 || (bar && (!status || at_len < 10 || at_len >= sizeof after_at))) {
            http_error(req, 400, "invalid_parameter",
                       "after is the next_after of the previous page", "after");
            goto out;
        }
        if (bar)
            snprintf(after_at, sizeof after_at, "%.*s", (int)at_len, after);
        snprintf(after_phone, sizeof after_phone, "%s", ph);
    }
    if (!api_campaign_exists(req))
        goto out;
    struct db_rows rows;
    int rc;
    /* clang-format off */
#define LIST_COLUMNS \
    "SELECT r.id, r.phone, r.contact_id, r.vars, r.status, r.attempts, r.wamid, " \
    "r.last_error_code, r.last_error_text, " TS("r.created_at") ", " TS("r.sent_at") ", " \
    TS("r.delivered_at") ", " TS("r.read_at") ", " TS("r.failed_at") ", " \
    TS("r.next_attempt_at") ", r.next_attempt_at FROM recipients r "
    /* clang-format on */
    if (status)
        rc = db_query(req->app->db,
                      LIST_COLUMNS "FORCE INDEX (ix_recipients_queue) WHERE r.campaign_id = ? AND "
                                   "r.status = ? AND (? IS NULL OR r.phone LIKE ?) AND "
                                   "(r.next_attempt_at > ? OR (r.next_attempt_at = ? AND "
                                   "r.phone > ?)) ORDER BY r.next_attempt_at, r.phone LIMIT ?",
                      DB_ARGS(DB_INT(req->ids[0]), DB_STR(status), DB_STR(phone ? like : NULL),
                              DB_STR(phone ? like : NULL), DB_STR(after_at), DB_STR(after_at),
                              DB_STR(after_phone), DB_INT(limit)),
                      &rows);
    else
        rc = db_query(req->app->db,
                      LIST_COLUMNS "FORCE INDEX (uq_recipients_phone) WHERE r.campaign_id = ? AND "
                                   "(? IS NULL OR r.phone LIKE ?) AND r.phone > ? "
                                   "ORDER BY r.phone LIMIT ?",
                      DB_ARGS(DB_INT(req->ids[0]), DB_STR(phone ? like : NULL),
                              DB_STR(phone ? like : NULL), DB_STR(after_phone), DB_INT(limit)),
                      &rows);
#undef LIST_COLUMNS
    if (rc != DB_OK) {
        http_db_error(req, "list the recipients");
        goto out;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_int(&rows, i, 0, 0)));
        json_object_object_add(o, "phone", json_str_or_null(db_val(&rows, i, 1)));
        json_object_object_add(o, "contact_id",
                               db_val(&rows, i, 2) ? json_object_new_int64(db_int(&rows, i, 2, 0))
                                                   : NULL);
        json_object *vars = db_val(&rows, i, 3) ? json_tokener_parse(db_val(&rows, i, 3)) : NULL;
        json_object_object_add(o, "vars", vars ? vars : json_object_new_object());
        json_object_object_add(o, "status", json_str_or_null(db_val(&rows, i, 4)));
        json_object_object_add(o, "attempts", json_object_new_int64(db_int(&rows, i, 5, 0)));
        json_object_object_add(o, "wamid", json_str_or_null(db_val(&rows, i, 6)));
        if (db_val(&rows, i, 7) || db_val(&rows, i, 8)) {
            json_object *e = json_object_new_object();
            int code = (int)db_int(&rows, i, 7, 0);
            json_object_object_add(e, "code",
                                   db_val(&rows, i, 7) ? json_object_new_int(code) : NULL);
            json_object_object_add(e, "text", json_str_or_null(db_val(&rows, i, 8)));
            if (db_val(&rows, i, 7))
                json_object_object_add(e, "explanation",
                                       json_object_new_string(cloudapi_explain(code, "es")));
            json_object_object_add(o, "error", e);
        } else {
            json_object_object_add(o, "error", NULL);
        }
        static const char *tn[] = {"created_at", "sent_at",   "delivered_at",
                                   "read_at",    "failed_at", "next_attempt_at"};
        for (int k = 0; k < 6; k++)
            json_object_object_add(o, tn[k], json_str_or_null(db_val(&rows, i, 9 + (size_t)k)));
        json_object_array_add(arr, o);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "recipients", arr);
    json_object *next = NULL;
    if (rows.nrows == (size_t)limit) {
        const char *at = db_val(&rows, rows.nrows - 1, 15);
        const char *ph = db_val(&rows, rows.nrows - 1, 1);
        char cur[64];
        if (status && at && strcmp(at, "2000-01-01 00:00:00.000") != 0)
            snprintf(cur, sizeof cur, "%s|%s", at, ph);
        else
            snprintf(cur, sizeof cur, "%s", ph);
        next = json_object_new_string(cur);
    }
    json_object_object_add(o, "next_after", next);
    db_rows_free(&rows);
    http_json(req, 200, o);
out:
    free(status);
    free(phone);
    free(after);
}

/* Removes every recipient of a draft (to upload a corrected list). */
void api_recipients_clear(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct db_rows r;
    if (db_begin(db) != DB_OK ||
        db_query(db, "SELECT status, total_count FROM campaigns WHERE id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(req->ids[0])), &r) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "read the campaign");
        return;
    }
    if (r.nrows == 0 || strcmp(db_val(&r, 0, 0), "draft") != 0) {
        int absent = r.nrows == 0;
        db_rows_free(&r);
        db_rollback(db);
        if (absent)
            http_error(req, 404, "not_found", "no such campaign", NULL);
        else
            http_error(req, 409, "invalid_state",
                       "recipients can only be removed from a draft campaign", NULL);
        return;
    }
    long long n = db_int(&r, 0, 1, 0);
    db_rows_free(&r);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "removed", json_object_new_int64(n));
    if (db_exec(db, "DELETE FROM recipients WHERE campaign_id = ?", DB_ARGS(DB_INT(req->ids[0])),
                NULL) != DB_OK ||
        db_exec(db,
                "UPDATE campaigns SET total_count = 0, pending_count = 0, sending_count = 0, "
                "sent_count = 0, delivered_count = 0, read_count = 0, failed_count = 0, "
                "blocked_count = 0, cancelled_count = 0, unknown_count = 0 WHERE id = ?",
                DB_ARGS(DB_INT(req->ids[0])), NULL) != DB_OK ||
        audit_write(req, "campaign.recipients.clear", "campaign", req->ids[0], req->ids[0], d) !=
            DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "remove the recipients");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "removed", json_object_new_int64(n));
    http_json(req, 200, o);
}

void api_recipients_imports(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (!api_campaign_exists(req))
        return;
    struct db_rows r;
    if (db_query(req->app->db,
                 "SELECT id, kind, definition, rows_read, accepted, rejected, rejected_by_reason, "
                 "actor, " TS("created_at") " FROM audience_imports WHERE campaign_id = ? ORDER BY "
                                            "id",
                 DB_ARGS(DB_INT(req->ids[0])), &r) != DB_OK) {
        http_db_error(req, "read the imports");
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(db_int(&r, i, 0, 0)));
        json_object_object_add(o, "kind", json_str_or_null(db_val(&r, i, 1)));
        json_object *d = json_tokener_parse(db_val(&r, i, 2));
        json_object_object_add(o, "definition", d ? d : json_object_new_object());
        json_object_object_add(o, "rows", json_object_new_int64(db_int(&r, i, 3, 0)));
        json_object_object_add(o, "accepted", json_object_new_int64(db_int(&r, i, 4, 0)));
        json_object_object_add(o, "rejected", json_object_new_int64(db_int(&r, i, 5, 0)));
        json_object *b = json_tokener_parse(db_val(&r, i, 6));
        json_object_object_add(o, "rejected_by_reason", b ? b : json_object_new_object());
        json_object_object_add(o, "actor", json_str_or_null(db_val(&r, i, 7)));
        json_object_object_add(o, "created_at", json_str_or_null(db_val(&r, i, 8)));
        json_object_array_add(arr, o);
    }
    db_rows_free(&r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "imports", arr);
    http_json(req, 200, o);
}
