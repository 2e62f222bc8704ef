/* A campaign's audience: CSV uploads, contacts chosen by tags, pasted lists, the recipient
 * list with status filter, phone search and cursor pagination, and the record of imports.
 *
 * Every row is accepted or rejected with its line number and reason (invalid number,
 * duplicate, opted out, no consent, missing template value). An import runs in one
 * transaction: valid rows are stored in multi-row batches, the report is answered, nothing is
 * half-written, and importing the same rows again adds nothing. */
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
#include "phoneset.h"
#include "msgstatus.h"
#include "parammap.h"

#define BATCH_ROWS   1000
#define MAX_REPORTED 1000
#define MAX_FIELD    65536
#define MAX_FIELDS   256
#define MAX_PARAMS   64
#define JSON_LIMIT   (8 * 1024 * 1024)

enum source { SRC_CSV, SRC_LIST, SRC_CONTACTS };

struct pending_row {
    char phone[E164_MAX + 1];
    char *vars; /* JSON text, malloc'd; NULL: take the contact's */
    size_t line;
    int consent; /* 1 given in the row (or the contact's, already checked), 0 not given */
    long long contact_id;
};

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
    int had_rows;      /* the campaign had recipients before: check duplicates against them */
    int relaxed;       /* unique and foreign key checks are off for this session */
    int have_contacts; /* the contacts table is not empty */
    struct phoneset optouts;
    /* header */
    int have_header;
    size_t ncols;
    char **cols;
    int phone_idx, consent_idx;
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

static int take_header(struct upload *u, size_t n, char **fields)
{
    u->cols = calloc(n + 1, sizeof *u->cols);
    if (!u->cols)
        return fail(u, 500, "internal", NULL, "out of memory");
    u->ncols = n;
    u->phone_idx = u->consent_idx = -1;
    for (size_t i = 0; i < n; i++) {
        if (!csvin_utf8_valid(fields[i], strlen(fields[i])))
            return fail(u, 400, "invalid_csv", "body", "line 1: the header is not valid UTF-8");
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
    }
    for (int a = 0; phone_aliases[a] && u->phone_idx < 0; a++)
        u->phone_idx = csvin_header_index(fields, n, phone_aliases[a]);
    if (u->phone_idx < 0)
        return fail(u, 422, "missing_column", "phone",
                    "line 1: the header has no phone column (phone, telefono, ...)");
    for (int a = 0; consent_aliases[a] && u->consent_idx < 0; a++)
        u->consent_idx = csvin_header_index(fields, n, consent_aliases[a]);
    for (size_t k = 0; k < u->nneeds; k++)
        u->needs[k].idx = csvin_header_index(fields, n, u->needs[k].column);
    return 0;
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
     * come from a list of numbers. */
    if (u->have_contacts) {
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
    if (u->had_rows) {
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
        return take_header(u, n, fields);
    }
    u->rows++;
    for (size_t i = 0; i < n; i++) {
        if (!csvin_utf8_valid(fields[i], lens[i])) {
            reject(u, line, NULL, "invalid_utf8", "the row is not valid UTF-8 text");
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
    json_object *vars = json_object_new_object();
    for (size_t i = 0; i < n && i < u->ncols; i++) {
        if ((int)i == u->phone_idx || (int)i == u->consent_idx || lens[i] == 0 || !u->cols[i][0])
            continue;
        json_object_object_add(vars, u->cols[i],
                               json_object_new_string_len(fields[i], (int)lens[i]));
    }
    p->consent = consent == 1;
    p->vars = strdup(json_object_to_json_string_ext(vars, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(vars);
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
    u->had_rows = db_int(&rows, 0, 3, 0) > 0;
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
    if (db_query(u->db, "SELECT phone FROM opt_outs", DB_NOARGS, &rows) != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not read the opt-outs");
    for (size_t i = 0; i < rows.nrows; i++) {
        const char *ph = db_val(&rows, i, 0);
        if (ph && ph[0] == '+' && phoneset_add(&u->optouts, phoneset_key(ph)) < 0) {
            db_rows_free(&rows);
            return fail(u, 500, "internal", NULL, "out of memory");
        }
    }
    db_rows_free(&rows);
    return 0;
}

static void upload_free(struct upload *u)
{
    for (size_t i = 0; i < u->ncols; i++)
        free(u->cols[i]);
    free(u->cols);
    for (size_t i = 0; i < u->nbatch; i++)
        free(u->batch[i].vars);
    phoneset_free(&u->seen);
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
    log_info("campaign %lld: %lld recipients added (%s), %lld rejected; %.2f s in the database",
             u->campaign_id, u->accepted, kind, u->rejected_total, u->db_s);
    http_json(req, 200, o);
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
    csvin_on_skip(csv, on_skip);
    size_t total = 0;
    int rc = db_begin(u->db);
    if (rc != DB_OK) {
        fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
        goto answer;
    }
    if (load_campaign(u) < 0)
        goto answer;
    static char buf[1 << 18];
    int got;
    while ((got = http_read_chunk(req, buf, sizeof buf)) > 0) {
        total += (size_t)got;
        if (total > req->app->cfg.body_limit) {
            fail(u, 413, "body_too_large", "body", "the upload is too large");
            goto answer;
        }
        rc = csvin_feed(csv, buf, (size_t)got, on_row, u);
        if (rc != 0)
            break;
    }
    if (u->failed_status)
        goto answer;
    if (rc == 0)
        rc = csvin_finish(csv, on_row, u);
    if (u->failed_status)
        goto answer;
    if (rc != 0) {
        fail(u, 400, "invalid_csv", "body", csvin_error(csv));
        goto answer;
    }
    if (!u->have_header) {
        fail(u, 400, "invalid_csv", "body", "the upload is empty: a header row is required");
        goto answer;
    }
    flush(u);

answer:;
    json_object *def = json_object_new_object();
    json_object_object_add(def, "bytes", json_object_new_int64((int64_t)total));
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
    if (after && strlen(after) > 16) {
        http_error(req, 400, "invalid_parameter", "after is the last phone of the previous page",
                   "after");
        goto out;
    }
    if (!api_campaign_exists(req))
        goto out;
    struct db_rows rows;
    int rc = db_query(
        req->app->db,
        "SELECT r.id, r.phone, r.contact_id, r.vars, r.status, r.attempts, r.wamid, "
        "r.last_error_code, r.last_error_text, " TS("r.created_at") ", " TS("r.sent_at") ", " TS(
            "r.delivered_at") ", " TS("r.read_at") ", " TS("r.failed_at") ", " TS("r.next_attempt_"
                                                                                  "at") " FROM "
                                                                                        "recipients"
                                                                                        " r WHERE "
                                                                                        "r."
                                                                                        "campaign_"
                                                                                        "id = ? "
                                                                                        "AND (? IS "
                                                                                        "NULL OR "
                                                                                        "r.status "
                                                                                        "= ?) AND "
                                                                                        "(? IS "
                                                                                        "NULL OR "
                                                                                        "r.phone "
                                                                                        "LIKE ?) "
                                                                                        "AND "
                                                                                        "r.phone > "
                                                                                        "? ORDER "
                                                                                        "BY "
                                                                                        "r.phone "
                                                                                        "LIMIT ?",
        DB_ARGS(DB_INT(req->ids[0]), DB_STR(status), DB_STR(status), DB_STR(phone ? like : NULL),
                DB_STR(phone ? like : NULL), DB_STR(after ? after : ""), DB_INT(limit)),
        &rows);
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
    json_object_object_add(o, "next_after",
                           rows.nrows == (size_t)limit
                               ? json_object_new_string(db_val(&rows, rows.nrows - 1, 1))
                               : NULL);
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
