/* Contacts import from CSV (contacts_import.h): rows are checked as they stream in, 500 at a
 * time against the database, and stored 500 at a time with one multi-row upsert. With chunks
 * (contacts_import_set_chunk) the checked rows wait in memory until a chunk's worth is there
 * (at most chunk_rows + 500), then are staged (lib/contacts_chunks.c); a file that never
 * fills a chunk is stored at the end in the caller's transaction, as without chunks. */
#include "contacts_import_impl.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apival.h"
#include "log.h"
#include "person.h"
#include "utf8.h"

#define MAX_REPORTED 1000

int ci_fail(struct contacts_import *u, int status, const char *code, const char *field,
            const char *msg)
{
    u->failed_status = status;
    snprintf(u->fail_code, sizeof u->fail_code, "%s", code);
    snprintf(u->fail_msg, sizeof u->fail_msg, "%s", msg);
    u->fail_field = field;
    return -1;
}

static void creject(struct contacts_import *u, size_t line, const char *reason, const char *msg)
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
    json_object_object_add(r, "line", json_object_new_int64((int64_t)line));
    json_object_object_add(r, "reason", json_object_new_string(reason));
    json_object_object_add(r, "message", json_object_new_string(msg));
    json_object_array_add(u->rejected, r);
}

void crow_free(struct crow *r)
{
    free(r->name);
    free(r->lead_id);
    free(r->attrs);
    free(r->tags);
    memset(r, 0, sizeof *r);
}

/* Checks the rows read since the last check against the database: the contact exists (and
 * has consent on record), the number opted out, the consent rule. Rejected rows are reported
 * and dropped from u->pend. */
static int ccheck(struct contacts_import *u)
{
    size_t from = u->nchecked, n = u->npend - from;
    struct crow *b = u->pend + from;
    if (!n)
        return 0;
    /* The IN list's placeholders take 2 bytes each. */
    char sql[128 + CI_BATCH * 2];
    db_arg *args = u->args;
    struct db_rows r;
    int len = snprintf(sql, sizeof sql,
                       "SELECT phone, consent_at IS NOT NULL FROM contacts WHERE phone IN (");
    for (size_t i = 0; i < n; i++) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
        args[i] = DB_STR(b[i].phone);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    if (db_query(u->db, sql, args, n, &r) != DB_OK)
        return ci_fail(u, 500, "database_error", NULL, "could not read the contacts");
    for (size_t k = 0; k < r.nrows; k++)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(db_val(&r, k, 0), b[i].phone)) {
                b[i].exists = 1;
                if (db_int(&r, k, 1, 0))
                    b[i].consent = 2; /* on record already */
            }
    db_rows_free(&r);
    const char **phones = calloc(n, sizeof *phones);
    unsigned char *blocked = calloc(n, 1);
    for (size_t i = 0; phones && i < n; i++)
        phones[i] = b[i].phone;
    int brc = phones && blocked ? person_blocked_many(u->db, phones, n, blocked) : DB_ERR;
    free(phones);
    if (brc != DB_OK) {
        free(blocked);
        return ci_fail(u, 500, "database_error", NULL, "could not read the opt-outs");
    }
    size_t kept = from;
    for (size_t i = 0; i < n; i++) {
        struct crow *c = &b[i];
        if (blocked[i])
            creject(u, c->line, "opted_out", "the number opted out");
        else if (!c->consent)
            creject(u, c->line, "no_consent",
                    "no consent: the consent column is empty and the contact has none on record");
        else {
            if (&u->pend[kept] != c)
                u->pend[kept] = *c;
            kept++;
            continue;
        }
        crow_free(c);
    }
    free(blocked);
    u->npend = u->nchecked = kept;
    return 0;
}

/* Stores the checked rows in the caller's transaction: an import that fits one. */
static int cwrite_batch(struct contacts_import *u, struct crow *b, size_t n)
{
    /* The INSERT's row placeholders take 31 bytes each, its ON DUPLICATE clause about 330. */
    char sql[512 + CI_BATCH * 32];
    db_arg *args = u->args;
    struct db_rows r;
    size_t na = 0, nnew = 0;
    int len = snprintf(sql, sizeof sql,
                       "INSERT INTO contacts (phone, name, lead_id, attributes, consent_at, "
                       "consent_source) VALUES ");
    for (size_t i = 0; i < n; i++) {
        struct crow *c = &b[i];
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        i ? ",(?,?,?,?,IF(?,NOW(3),NULL),?)" : "(?,?,?,?,IF(?,NOW(3),NULL),?)");
        args[na++] = DB_STR(c->phone);
        args[na++] = DB_STR(c->name ? c->name : "");
        args[na++] = DB_STR(c->lead_id);
        args[na++] = DB_STR(c->attrs ? c->attrs : "{}");
        args[na++] = DB_INT(c->consent == 1);
        args[na++] = DB_STR(c->consent == 1 ? c->consent_rec : NULL);
        nnew += !c->exists;
    }
    snprintf(sql + len, sizeof sql - (size_t)len, "%s", " ON DUPLICATE KEY UPDATE " CI_UPSERT_SET);
    int rc = db_exec(u->db, sql, args, na, NULL);
    if (rc == DB_OK) {
        u->stored += (long long)n;
        u->added += (long long)nnew;
    }
    /* Tags: those of the row and those given for the whole import. */
    for (size_t i = 0; i < n && rc == DB_OK; i++) {
        struct crow *c = &b[i];
        if (!c->tags && !u->nextra)
            continue;
        if (db_query(u->db, "SELECT id FROM contacts WHERE phone = ?", DB_ARGS(DB_STR(c->phone)),
                     &r) != DB_OK) {
            rc = DB_ERR;
            break;
        }
        long long id = r.nrows ? db_int(&r, 0, 0, 0) : 0;
        db_rows_free(&r);
        for (const char *t = c->tags; t && *t && rc == DB_OK;) {
            size_t tl = strcspn(t, "\n");
            if (tl > 0 && tl <= 64)
                rc = db_exec(u->db,
                             "INSERT IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
                             DB_ARGS(DB_INT(id), DB_STRN(t, tl)), NULL);
            t += tl;
            if (*t)
                t++;
        }
        for (size_t k = 0; k < u->nextra && rc == DB_OK; k++)
            rc = db_exec(u->db, "INSERT IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
                         DB_ARGS(DB_INT(id), DB_STR(u->extra_tags[k])), NULL);
    }
    if (rc != DB_OK) {
        log_error("contacts import: %s", db_error(u->db));
        return ci_fail(u, 500, "database_error", NULL, "could not store the contacts");
    }
    return 0;
}

static void cdrop(struct contacts_import *u)
{
    for (size_t i = 0; i < u->npend; i++)
        crow_free(&u->pend[i]);
    u->npend = u->nchecked = 0;
}

static int cwrite(struct contacts_import *u)
{
    int rc = 0;
    for (size_t i = 0; i < u->nchecked && rc == 0; i += CI_BATCH)
        rc = cwrite_batch(u, u->pend + i, u->nchecked - i < CI_BATCH ? u->nchecked - i : CI_BATCH);
    cdrop(u);
    return rc;
}

/* Every CI_BATCH rows read: checked, then stored (one transaction), or staged once a chunk's
 * worth is checked. */
static int cbatch(struct contacts_import *u)
{
    if (ccheck(u) < 0)
        return -1;
    if (!u->chunk_rows)
        return cwrite(u);
    if ((long long)u->nchecked < u->chunk_rows)
        return 0;
    int rc = contacts_chunks_stage(u, 0);
    cdrop(u);
    return rc;
}

/* The input ended: the last rows checked; an import that never filled a chunk is stored in
 * the caller's transaction as before, a staged one gets its last chunk and is merged. */
static int cend(struct contacts_import *u)
{
    if (ccheck(u) < 0)
        return -1;
    if (!u->token)
        return cwrite(u);
    int rc = contacts_chunks_stage(u, 1);
    cdrop(u);
    return rc < 0 ? -1 : contacts_chunks_merge(u);
}

static int by_line(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *lx, *ly;
    long long l1 = json_object_object_get_ex(x, "line", &lx) ? json_object_get_int64(lx) : 0;
    long long l2 = json_object_object_get_ex(y, "line", &ly) ? json_object_get_int64(ly) : 0;
    return (l1 > l2) - (l1 < l2);
}

static int row_add(struct contacts_import *u, size_t line, const struct contacts_import_row *in);

static int con_row(void *ctx, size_t line, size_t n, char **f, const size_t *lens)
{
    struct contacts_import *u = ctx;
    if (!u->have_header) {
        u->have_header = 1;
        char msg[256];
        if (csvin_header_check(f, lens, n, line, msg, sizeof msg) != 0)
            return ci_fail(u, 400, "invalid_csv", "body", msg);
        u->cols = calloc(n + 1, sizeof *u->cols);
        if (!u->cols)
            return ci_fail(u, 500, "internal", NULL, "out of memory");
        u->ncols = n;
        for (size_t i = 0; i < n; i++)
            if (!(u->cols[i] = strdup(f[i])))
                return ci_fail(u, 500, "internal", NULL, "out of memory");
        static const char *ph[] = {"phone",        "telefono", "teléfono",
                                   "phone_number", "numero",   "número",
                                   "celular",      "whatsapp", NULL};
        u->phone_idx = -1;
        for (int a = 0; ph[a] && u->phone_idx < 0; a++)
            u->phone_idx = csvin_header_index(f, n, ph[a]);
        if (u->phone_idx < 0)
            return ci_fail(u, 422, "missing_column", "phone",
                           "line 1: the header has no phone column (phone, telefono, ...)");
        u->consent_idx = csvin_header_index(f, n, "consent");
        if (u->consent_idx < 0)
            u->consent_idx = csvin_header_index(f, n, "consentimiento");
        u->name_idx = csvin_header_index(f, n, "name");
        if (u->name_idx < 0)
            u->name_idx = csvin_header_index(f, n, "nombre");
        u->lead_idx = csvin_header_index(f, n, "lead_id");
        u->tags_idx = csvin_header_index(f, n, "tags");
        if (u->tags_idx < 0)
            u->tags_idx = csvin_header_index(f, n, "etiquetas");
        return 0;
    }
    u->rows++;
    for (size_t i = 0; i < n; i++)
        if (!csvin_utf8_valid(f[i], lens[i])) {
            creject(u, line, "invalid_utf8", "the row is not valid UTF-8 text");
            return 0;
        }
    struct contacts_import_row r = {0};
#define COL(idx, p, l)                                                                             \
    if ((idx) >= 0 && (size_t)(idx) < n) {                                                         \
        r.p = f[idx];                                                                              \
        r.l = lens[idx];                                                                           \
    }
    COL(u->phone_idx, phone, phone_len)
    COL(u->consent_idx, consent, consent_len)
    COL(u->name_idx, name, name_len)
    COL(u->lead_idx, lead_id, lead_len)
    COL(u->tags_idx, tags, tags_len)
#undef COL
    /* The other columns are the contact's attributes. */
    json_object *a = json_object_new_object();
    for (size_t i = 0; i < n && i < u->ncols; i++) {
        if ((int)i == u->phone_idx || (int)i == u->consent_idx || (int)i == u->name_idx ||
            (int)i == u->lead_idx || (int)i == u->tags_idx || !lens[i] || !u->cols[i][0])
            continue;
        json_object_object_add(a, u->cols[i], json_object_new_string_len(f[i], (int)lens[i]));
    }
    r.attributes = a;
    int rc = row_add(u, line, &r);
    json_object_put(a);
    return rc;
}

void contacts_import_reject(struct contacts_import *u, size_t line, const char *reason,
                            const char *message)
{
    u->by_fields = 1;
    u->rows++;
    creject(u, line, reason, message);
}

static int row_add(struct contacts_import *u, size_t line, const struct contacts_import_row *in)
{
    if (u->failed_status)
        return -1;
    if (!in->phone || !in->phone_len) {
        creject(u, line, "phone_missing", "the row has no phone number");
        return 0;
    }
    if (u->npend == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : CI_BATCH;
        struct crow *p = realloc(u->pend, cap * sizeof *p);
        if (!p)
            return ci_fail(u, 500, "internal", NULL, "out of memory");
        u->pend = p;
        u->cap = cap;
    }
    struct crow *c = &u->pend[u->npend];
    memset(c, 0, sizeof *c);
    int st = e164_normalize(in->phone, in->phone_len, u->country, c->phone);
    if (st != E164_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "invalid phone number (%s)", e164_strerror(st));
        creject(u, line, e164_reason_code(st), msg);
        return 0;
    }
    int added = phoneset_add(&u->seen, phoneset_key(c->phone));
    if (added < 0)
        return ci_fail(u, 500, "internal", NULL, "out of memory");
    if (!added) {
        creject(u, line, "duplicate", "the number appears earlier in the file");
        return 0;
    }
    int consent = in->consent ? apival_consent(in->consent, in->consent_len) : 0;
    if (consent == -1) {
        creject(u, line, "no_consent", "the consent column says no");
        return 0;
    }
    c->line = line;
    c->consent = consent == 1;
    if (c->consent)
        apival_consent_record(in->consent, in->consent_len, u->consent_source, c->consent_rec,
                              sizeof c->consent_rec);
    if (in->name && in->name_len)
        c->name = strndup(in->name, in->name_len > 200 ? 200 : in->name_len);
    if (in->lead_id && in->lead_len && in->lead_len <= 64)
        c->lead_id = strndup(in->lead_id, in->lead_len);
    if (in->tags && in->tags_len) {
        c->tags = strndup(in->tags, in->tags_len);
        for (char *p = c->tags; p && *p; p++)
            if (*p == '|' || *p == ',')
                *p = '\n';
    }
    c->attrs = strdup(in->attributes ? json_object_to_json_string_ext(
                                           in->attributes,
                                           JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                                     : "{}");
    u->npend++;
    return u->npend - u->nchecked == CI_BATCH ? cbatch(u) : 0;
}

int contacts_import_add(struct contacts_import *u, size_t line,
                        const struct contacts_import_row *in)
{
    u->by_fields = 1;
    u->rows++;
    return row_add(u, line, in);
}

struct contacts_import *contacts_import_new(struct db *db, const struct contacts_import_opts *o)
{
    struct contacts_import *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->db = db;
    u->csv = csvin_new(0, 0);
    u->rejected = json_object_new_array();
    u->by_reason = json_object_new_object();
    if (o->consent_source && *o->consent_source) {
        utf8_cut(o->consent_source, u->consent_source, sizeof u->consent_source);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(u->consent_source, sizeof u->consent_source, "import %Y-%m-%d %H:%M UTC", &tm);
    }
    snprintf(u->country, sizeof u->country, "%s", o->country ? o->country : "AR");
    if (o->tags) {
        u->tags_buf = strdup(o->tags);
        u->extra_tags = calloc(51, sizeof *u->extra_tags);
        if (!u->tags_buf || !u->extra_tags) {
            contacts_import_free(u);
            return NULL;
        }
        for (char *save = NULL, *t = strtok_r(u->tags_buf, ",", &save); t && u->nextra < 50;
             t = strtok_r(NULL, ",", &save))
            if (*t && strlen(t) <= 64)
                u->extra_tags[u->nextra++] = t;
    }
    if (!u->csv || !u->rejected || !u->by_reason) {
        contacts_import_free(u);
        return NULL;
    }
    return u;
}

void contacts_import_free(struct contacts_import *u)
{
    if (!u)
        return;
    cdrop(u);
    free(u->pend);
    for (size_t i = 0; u->cols && i < u->ncols; i++)
        free(u->cols[i]);
    free(u->cols);
    phoneset_free(&u->seen);
    free(u->extra_tags);
    free(u->tags_buf);
    json_object_put(u->rejected);
    json_object_put(u->by_reason);
    csvin_free(u->csv);
    free(u);
}

int contacts_import_feed(struct contacts_import *u, const char *buf, size_t len)
{
    if (u->failed_status)
        return -1;
    int rc = csvin_feed(u->csv, buf, len, con_row, u);
    if (!u->failed_status && rc != 0)
        ci_fail(u, 400, "invalid_csv", "body", csvin_error(u->csv));
    return u->failed_status ? -1 : 0;
}

int contacts_import_finish(struct contacts_import *u)
{
    if (u->failed_status)
        return -1;
    if (u->by_fields) {
        cend(u);
        return u->failed_status ? -1 : 0;
    }
    int rc = csvin_finish(u->csv, con_row, u);
    if (!u->failed_status && rc != 0)
        ci_fail(u, 400, "invalid_csv", "body", csvin_error(u->csv));
    if (!u->failed_status && !u->have_header)
        ci_fail(u, 400, "invalid_csv", "body", "the upload is empty: a header row is required");
    if (!u->failed_status && u->rows == 0)
        ci_fail(u, 422, "no_rows", "body",
                "the file has a header row but no data rows: nothing to import");
    if (!u->failed_status)
        cend(u);
    return u->failed_status ? -1 : 0;
}

int contacts_import_failure(const struct contacts_import *u, const char **code, const char **field,
                            const char **message)
{
    if (code)
        *code = u->fail_code;
    if (field)
        *field = u->fail_field;
    if (message)
        *message = u->fail_msg;
    return u->failed_status;
}

int contacts_import_fail(struct contacts_import *u, int status, const char *code, const char *field,
                         const char *message)
{
    if (!u->failed_status)
        ci_fail(u, status, code, field, message);
    return -1;
}

void contacts_import_counts(const struct contacts_import *u, long long *rows, long long *stored,
                            long long *added, long long *rejected)
{
    if (rows)
        *rows = u->rows;
    if (stored)
        *stored = u->stored;
    if (added)
        *added = u->added;
    if (rejected)
        *rejected = u->rejected_total;
}

json_object *contacts_import_report(struct contacts_import *u)
{
    json_object_array_sort(u->rejected, by_line);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "rows", json_object_new_int64(u->rows));
    json_object_object_add(o, "stored", json_object_new_int64(u->stored));
    json_object_object_add(o, "added", json_object_new_int64(u->added));
    json_object_object_add(o, "rejected_total", json_object_new_int64(u->rejected_total));
    json_object_object_add(o, "rejected_by_reason", json_object_get(u->by_reason));
    json_object_object_add(o, "rejected", json_object_get(u->rejected));
    return o;
}
