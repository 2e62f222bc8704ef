/* The audience import's pipeline (lib/recipients_import.h): its lifecycle (lock, store,
 * report), the checks common to every source (number, duplicate in the import, opt-out), the
 * batch checks (consent and values from the contacts, duplicates against the campaign) and the
 * multi-row prepared INSERT path; the list and contacts sources. The CSV source is
 * lib/recipients_csv.c, the LOAD DATA stream lib/recipients_stream.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign_store.h"
#include "db.h"
#include "log.h"
#include "parammap.h"
#include "person.h"
#include "recipients_import_impl.h"

void ri_reject(struct recipients_import *u, size_t line, const char *phone, const char *reason,
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

void ri_reject_column(struct recipients_import *u, size_t line, const char *phone,
                      const char *reason, const char *message, const char *column)
{
    size_t before = json_object_array_length(u->rejected);
    ri_reject(u, line, phone, reason, message);
    if (json_object_array_length(u->rejected) == before)
        return; /* counted, not reported */
    json_object *p = json_object_new_object();
    json_object_object_add(p, "column", json_object_new_string(column));
    json_object_object_add(json_object_array_get_idx(u->rejected, before), "params", p);
}

int ri_fail(struct recipients_import *u, int status, const char *code, const char *field,
            const char *msg)
{
    u->failed_status = status;
    snprintf(u->fail_code, sizeof u->fail_code, "%s", code);
    snprintf(u->fail_msg, sizeof u->fail_msg, "%s", msg);
    u->fail_field = field;
    return -1;
}

/* Whether a template value has no value in vars (an object): 1 with the message and *column
 * (the first such column), else 0. */
static int vars_missing(const struct recipients_import *u, json_object *vars, char *msg, size_t len,
                        const char **column)
{
    for (size_t k = 0; k < u->nneeds; k++) {
        json_object *cell;
        if (u->needs[k].fallback)
            continue;
        if (vars && json_object_object_get_ex(vars, u->needs[k].column, &cell) &&
            json_object_is_type(cell, json_type_string) && json_object_get_string_len(cell) > 0)
            continue;
        snprintf(msg, len, "no value for the template parameter column '%s'", u->needs[k].column);
        *column = u->needs[k].column;
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

double ri_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Arguments of the batch statements: one row's four values per batch row, and the campaign. */
static db_arg batch_args[1 + BATCH_ROWS * 4];

/* Contacts: consent when the row gave none, the contact id, and the values of rows that come
 * from a list of numbers. Preloaded contacts serve CSV rows, which carry their values. */
static int batch_contacts(struct recipients_import *u, size_t n)
{
    if (u->contacts_loaded) {
        for (size_t i = 0; i < n; i++) {
            struct pending_row *p = &u->batch[i];
            long long c = ri_cmap_get(&u->contacts, phoneset_key(p->phone));
            if (!c)
                continue;
            p->contact_id = c / 2;
            if (!p->consent && (c & 1))
                p->consent = 1;
        }
        return 0;
    }
    if (!u->have_contacts)
        return 0;
    char sql[128 + BATCH_ROWS * 3];
    db_arg *args = batch_args;
    struct db_rows rows;
    int len = snprintf(sql, sizeof sql,
                       "SELECT phone, id, consent_at IS NOT NULL, name, lead_id, attributes "
                       "FROM contacts WHERE phone IN (");
    for (size_t i = 0; i < n; i++) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
        args[i] = DB_STR(u->batch[i].phone);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    if (db_query(u->db, sql, args, n, &rows) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not read the contacts");
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
    return 0;
}

/* Rows without consent, and list rows without a template value, are rejected. */
static void batch_consent(struct recipients_import *u, size_t n, int *skip)
{
    for (size_t i = 0; i < n; i++) {
        struct pending_row *p = &u->batch[i];
        if (!p->consent) {
            ri_reject(u, p->line, p->phone, "no_consent",
                      u->src == RECIPIENTS_CSV
                          ? "no consent: the row's consent column is empty and no contact with "
                            "that number has consent on record"
                          : "no consent: no contact with that number has consent on record");
            skip[i] = 1;
            continue;
        }
        if (u->src == RECIPIENTS_LIST) {
            json_object *vars = p->vars ? json_tokener_parse(p->vars) : NULL;
            char msg[160];
            const char *col = "";
            int miss = vars_missing(u, vars, msg, sizeof msg, &col);
            json_object_put(vars);
            if (miss) {
                ri_reject_column(u, p->line, p->phone, "missing_param", msg, col);
                skip[i] = 1;
            }
        }
    }
}

static void reject_existing(struct recipients_import *u, size_t i, int *skip)
{
    char msg[96];
    snprintf(msg, sizeof msg, "%s is already a recipient of this campaign", u->batch[i].phone);
    ri_reject(u, u->batch[i].line, u->batch[i].phone, "duplicate", msg);
    skip[i] = 1;
}

/* Numbers already in the campaign are duplicates too, reported with their line. */
static int batch_existing(struct recipients_import *u, size_t n, int *skip)
{
    if (u->existing_loaded) {
        for (size_t i = 0; i < n; i++)
            if (!skip[i] && phoneset_has(&u->existing, phoneset_key(u->batch[i].phone)))
                reject_existing(u, i, skip);
        return 0;
    }
    if (!u->had_rows)
        return 0;
    char sql[128 + BATCH_ROWS * 3];
    db_arg *args = batch_args;
    struct db_rows rows;
    int len = snprintf(sql, sizeof sql,
                       "SELECT phone FROM recipients WHERE campaign_id = ? AND phone IN (");
    args[0] = DB_INT(u->campaign_id);
    for (size_t i = 0; i < n; i++) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
        args[1 + i] = DB_STR(u->batch[i].phone);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    if (db_query(u->db, sql, args, 1 + n, &rows) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not check existing recipients");
    for (size_t r = 0; r < rows.nrows; r++)
        for (size_t i = 0; i < n; i++)
            if (!skip[i] && strcmp(db_val(&rows, r, 0), u->batch[i].phone) == 0)
                reject_existing(u, i, skip);
    db_rows_free(&rows);
    return 0;
}

/* The INSERT way: the batch's rows that passed, in one multi-row prepared INSERT. */
static int batch_insert(struct recipients_import *u, size_t n, const int *skip)
{
    char isql[128 + BATCH_ROWS * 12];
    db_arg *args = batch_args;
    size_t na = 0, rowsin = 0;
    int len = snprintf(isql, sizeof isql,
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
    int rc = DB_OK;
    if (rowsin) {
        struct db_res res;
        rc = db_exec(u->db, isql, args, na, &res);
        if (rc == DB_OK) {
            u->accepted += (long long)res.affected;
            u->since_commit += (long long)res.affected;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(u->batch[i].vars);
        u->batch[i].vars = NULL;
    }
    u->nbatch = 0;
    if (rc != DB_OK) {
        log_error("insert recipients: %s", db_error(u->db));
        return ri_fail(u, 500, "database_error", NULL, "could not store recipients");
    }
    return 0;
}

static int flush_batch(struct recipients_import *u)
{
    if (u->nbatch == 0)
        return 0;
    size_t n = u->nbatch;
    int *skip = calloc(n, sizeof *skip);
    if (!skip)
        return ri_fail(u, 500, "internal", NULL, "out of memory");
    int rc = batch_contacts(u, n);
    if (rc == 0) {
        batch_consent(u, n, skip);
        rc = batch_existing(u, n, skip);
    }
    if (rc == 0)
        rc = u->stream ? ri_stream_rows(u, skip, n) : batch_insert(u, n, skip);
    free(skip);
    /* the stream commits its chunks between its statements (lib/recipients_stream.c) */
    if (rc == 0 && !u->stream)
        rc = ri_chunk_maybe_commit(u);
    return rc;
}

int ri_flush(struct recipients_import *u)
{
    double t = ri_now();
    int rc = flush_batch(u);
    u->db_s += ri_now() - t;
    return rc;
}

/* Checks a number common to every source; on success returns the row to fill (or NULL when
 * the row was rejected, or -1 through *err when the upload must stop). */
struct pending_row *ri_take_phone(struct recipients_import *u, size_t line, const char *in,
                                  size_t len, int *err)
{
    *err = 0;
    char phone[E164_MAX + 1];
    int st = e164_normalize(in, len, u->country, phone);
    if (st != E164_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid phone number (%s)", e164_strerror(st));
        ri_reject(u, line, NULL, e164_reason_code(st), msg);
        return NULL;
    }
    uint64_t key = phoneset_key(phone);
    int added = phoneset_add(&u->seen, key);
    if (added < 0) {
        *err = ri_fail(u, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    if (added == 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s appears earlier in the %s", phone,
                 u->src == RECIPIENTS_CSV ? "file" : "list");
        ri_reject(u, line, phone, "duplicate", msg);
        return NULL;
    }
    if (phoneset_has(&u->optouts, key)) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s opted out of messages from this business", phone);
        ri_reject(u, line, phone, "opted_out", msg);
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

int ri_commit_row(struct recipients_import *u)
{
    u->nbatch++;
    if (u->nbatch == BATCH_ROWS)
        return ri_flush(u);
    return 0;
}

#define IMPORT_RUNNING_MSG                                                                         \
    "another import into this campaign is still running; try again when it ends"

int recipients_import_begin(struct recipients_import *u)
{
    if (u->failed_status)
        return -1;
    int settled = recipients_import_settle(u->db, u->campaign_id);
    if (settled == RECIPIENTS_IMPORTING)
        return ri_fail(u, 409, "import_running", NULL, IMPORT_RUNNING_MSG);
    if (settled < 0 || db_begin(u->db) != DB_OK)
        return ri_fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
    struct db_rows rows;
    if (db_query(u->db,
                 "SELECT c.status, a.default_country, c.param_map, c.total_count, "
                 "(SELECT COUNT(*) FROM contacts LIMIT 1) > 0, c.import_token IS NOT NULL "
                 "FROM campaigns c "
                 "JOIN wa_accounts a ON a.id = c.account_id WHERE c.id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(u->campaign_id)), &rows) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not read the campaign");
    if (rows.nrows == 0) {
        db_rows_free(&rows);
        return ri_fail(u, 404, "not_found", NULL, "no such campaign");
    }
    if (strcmp(db_val(&rows, 0, 0), "draft") != 0) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "recipients can only be added to a draft campaign (this one is "
                 "%s)",
                 db_val(&rows, 0, 0));
        snprintf(u->fail_state, sizeof u->fail_state, "%s", db_val(&rows, 0, 0));
        db_rows_free(&rows);
        return ri_fail(u, 409, "invalid_state", NULL, msg);
    }
    if (db_int(&rows, 0, 5, 0)) {
        db_rows_free(&rows);
        return ri_fail(u, 409, "import_running", NULL, IMPORT_RUNNING_MSG);
    }
    snprintf(u->country, sizeof u->country, "%s", db_val(&rows, 0, 1));
    u->map = json_tokener_parse(db_val(&rows, 0, 2));
    u->had_count = db_int(&rows, 0, 3, 0);
    u->had_rows = u->had_count > 0;
    /* Into a campaign without recipients, under its lock, every number is new (the upload
     * dedupes its own rows) and the campaign exists: the checks InnoDB would repeat per row
     * and per index are skipped. Restored by recipients_import_close(). */
    if (!u->had_rows &&
        db_simple(u->db, "SET SESSION unique_checks = 0, foreign_key_checks = 0") == DB_OK)
        u->relaxed = 1;
    u->have_contacts = db_int(&rows, 0, 4, 0) != 0;
    db_rows_free(&rows);
    if (ri_chunk_floor(u) < 0)
        return -1;
    const char *cols[MAX_PARAMS], *fbs[MAX_PARAMS];
    u->nneeds = parammap_columns(u->map, cols, fbs, MAX_PARAMS);
    for (size_t k = 0; k < u->nneeds; k++) {
        u->needs[k].column = cols[k];
        u->needs[k].fallback = fbs[k];
        u->needs[k].idx = -1;
    }
    if (person_blocked_set(u->db, &u->optouts) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not read the opt-outs");
    return 0;
}

void recipients_import_free(struct recipients_import *u)
{
    if (!u)
        return;
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
    csvin_free(u->csv);
    free(u);
}

struct recipients_import *recipients_import_new(struct db *db, long long campaign_id,
                                                enum recipients_source src)
{
    struct recipients_import *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->db = db;
    u->campaign_id = campaign_id;
    u->src = src;
    u->rejected = json_object_new_array();
    u->by_reason = json_object_new_object();
    if (!u->rejected || !u->by_reason || (src == RECIPIENTS_CSV && ri_csv_open(u) < 0)) {
        recipients_import_free(u);
        return NULL;
    }
    return u;
}

static int by_line(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *lx, *ly;
    long long l1 = json_object_object_get_ex(x, "line", &lx) ? json_object_get_int64(lx) : 0;
    long long l2 = json_object_object_get_ex(y, "line", &ly) ? json_object_get_int64(ly) : 0;
    return (l1 > l2) - (l1 < l2);
}

int recipients_import_store(struct recipients_import *u, const char *kind, json_object *definition,
                            const char *actor, long long *import_id)
{
    *import_id = 0;
    if (u->failed_status)
        return -1;
    json_object_array_sort(u->rejected, by_line);
    const char *def = json_object_to_json_string_ext(
        definition, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    const char *reasons = json_object_to_json_string_ext(u->by_reason, JSON_C_TO_STRING_PLAIN);
    struct db_res res;
    if (campaign_store_add_recipients(u->db, u->campaign_id, u->accepted) != DB_OK ||
        ri_chunk_finish(u) < 0 ||
        db_exec(u->db,
                "INSERT INTO audience_imports (campaign_id, kind, definition, rows_read, "
                "accepted, rejected, rejected_by_reason, actor) VALUES (?, ?, ?, ?, ?, ?, ?, "
                "?)",
                DB_ARGS(DB_INT(u->campaign_id), DB_STR(kind), DB_STR(def), DB_INT(u->rows),
                        DB_INT(u->accepted), DB_INT(u->rejected_total), DB_STR(reasons),
                        DB_STR(actor)),
                &res) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not store the recipients");
    *import_id = (long long)res.insert_id;
    return 0;
}

void recipients_import_close(struct recipients_import *u)
{
    if (u->relaxed) {
        db_simple(u->db, "SET SESSION unique_checks = 1, foreign_key_checks = 1");
        u->relaxed = 0;
    }
}

int recipients_import_fail(struct recipients_import *u, int status, const char *code,
                           const char *field, const char *message)
{
    return ri_fail(u, status, code, field, message);
}

const char *recipients_import_failed_state(const struct recipients_import *u)
{
    return u->failed_status && u->fail_state[0] ? u->fail_state : NULL;
}

int recipients_import_failure(const struct recipients_import *u, const char **code,
                              const char **field, const char **message)
{
    *code = u->fail_code;
    *field = u->fail_field;
    *message = u->fail_msg;
    return u->failed_status;
}

void recipients_import_counts(const struct recipients_import *u, long long *rows,
                              long long *accepted, long long *rejected)
{
    *rows = u->rows;
    *accepted = u->accepted;
    *rejected = u->rejected_total;
}

json_object *recipients_import_report(struct recipients_import *u, const char *kind,
                                      long long import_id)
{
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
    return o;
}

/* ---- the list and contacts sources -------------------------------------------------------- */

/* Takes one number of a list as a row. Returns 0 go on, -1 stop (failure on u). */
static int list_take(struct recipients_import *u, size_t line, const char *s, size_t len)
{
    u->rows++;
    int err;
    struct pending_row *r = ri_take_phone(u, line, s, len, &err);
    if (r && ri_commit_row(u) < 0)
        return -1;
    return err ? -1 : 0;
}

int recipients_import_list_text(struct recipients_import *u, const char *text)
{
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
        if (len && list_take(u, line, s, len) < 0)
            break;
        p += n;
        if (*p == '\n')
            line++;
        if (*p)
            p++;
    }
    if (!u->failed_status)
        ri_flush(u);
    return u->failed_status ? -1 : 0;
}

int recipients_import_list_array(struct recipients_import *u, json_object *phones)
{
    for (size_t i = 0; i < json_object_array_length(phones) && !u->failed_status; i++) {
        json_object *v = json_object_array_get_idx(phones, i);
        if (!json_object_is_type(v, json_type_string)) {
            u->rows++;
            ri_reject(u, i + 1, NULL, "phone_missing", "not a string");
            continue;
        }
        if (list_take(u, i + 1, json_object_get_string(v), (size_t)json_object_get_string_len(v)) <
            0)
            break;
    }
    if (!u->failed_status)
        ri_flush(u);
    return u->failed_status ? -1 : 0;
}

/* The contacts query by tags; placeholders only: the tags travel as parameters. */
/* The segment's contacts in id order (lib/segment.h: the one rule for choosing contacts). */
static int contacts_of_segment(struct recipients_import *u, const struct segment *seg,
                               struct db_rows *rows)
{
    char sql[8192] = "SELECT c.id, c.phone, c.name, c.lead_id, c.attributes, c.consent_at IS "
                     "NOT NULL FROM contacts c WHERE 1 = 1";
    db_arg args[SEGMENT_MAX_ARGS];
    size_t na = 0;
    if (segment_where(seg, sql, sizeof sql, args, &na) < 0 ||
        strlen(sql) + sizeof " ORDER BY c.id" > sizeof sql)
        return ri_fail(u, 400, "invalid_field", "definition", "the segment is too large");
    strcat(sql, " ORDER BY c.id");
    if (db_query(u->db, sql, args, na, rows) != DB_OK)
        return ri_fail(u, 500, "database_error", NULL, "could not read the contacts");
    return 0;
}

int recipients_import_contacts(struct recipients_import *u, const struct segment *seg)
{
    if (u->failed_status)
        return -1;
    u->have_contacts = 0; /* rows carry their contact already */
    struct db_rows rows;
    if (contacts_of_segment(u, seg, &rows) < 0)
        return -1;
    for (size_t i = 0; i < rows.nrows && !u->failed_status; i++) {
        u->rows++;
        const char *ph = db_val(&rows, i, 1);
        int err;
        struct pending_row *p = ri_take_phone(u, 0, ph, strlen(ph), &err);
        if (!p) {
            if (err)
                break;
            continue;
        }
        json_object *vars =
            contact_vars(db_val(&rows, i, 2), db_val(&rows, i, 3), db_val(&rows, i, 4));
        char msg[160];
        const char *col = "";
        if (!db_int(&rows, i, 5, 0)) {
            ri_reject(u, 0, p->phone, "no_consent", "the contact has no consent on record");
        } else if (vars_missing(u, vars, msg, sizeof msg, &col)) {
            ri_reject_column(u, 0, p->phone, "missing_param", msg, col);
        } else {
            p->consent = 1;
            p->contact_id = db_int(&rows, i, 0, 0);
            p->vars = strdup(json_object_to_json_string_ext(
                vars, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(vars);
            if (!p->vars) {
                ri_fail(u, 500, "internal", NULL, "out of memory");
                break;
            }
            if (ri_commit_row(u) < 0)
                break;
            continue;
        }
        json_object_put(vars);
    }
    db_rows_free(&rows);
    if (!u->failed_status)
        ri_flush(u);
    return u->failed_status ? -1 : 0;
}
