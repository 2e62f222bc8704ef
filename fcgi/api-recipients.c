/* POST /api/campaigns/{id}/recipients: a CSV upload becomes the campaign's recipients.
 *
 * The body is streamed through the CSV parser; every row is accepted or rejected with its line
 * number and reason; accepted rows are inserted in multi-row batches inside one transaction,
 * so an upload is stored whole or not at all, and uploading the same file again adds nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "csvin.h"
#include "db.h"
#include "e164.h"
#include "log.h"

#define BATCH_ROWS     500
#define MAX_REPORTED   1000
#define MAX_FIELD      65536
#define MAX_FIELDS     256
#define MAX_PARAMS     30

/* Phone numbers as integers (at most 15 digits) in an open-addressing set: dedupe of a
 * million-row file without a million allocations. */
struct phone_set {
    uint64_t *slots;
    size_t cap, n;
};

static int phone_set_add(struct phone_set *s, uint64_t v) /* 1 added, 0 present, -1 oom */
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4096;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = (size_t)(s->slots[i] * 0x9E3779B97F4A7C15ull) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    size_t j = (size_t)(v * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->slots[j]) {
        if (s->slots[j] == v)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = v;
    s->n++;
    return 1;
}

struct pending_row {
    char phone[E164_MAX + 1];
    char *vars; /* JSON text, malloc'd */
    size_t line;
};

struct param_need {
    char *column;
    char *fallback;
    int idx; /* header index, -1 when the file lacks the column */
};

struct upload {
    struct request *req;
    struct db *db;
    long long campaign_id;
    char country[3];
    /* header */
    int have_header;
    size_t ncols;
    char **cols;
    int phone_idx;
    struct param_need needs[MAX_PARAMS];
    size_t nneeds;
    /* work */
    struct phone_set seen;
    struct pending_row batch[BATCH_ROWS];
    size_t nbatch;
    /* report */
    long long rows, accepted;
    json_object *rejected;    /* array, first MAX_REPORTED */
    json_object *by_reason;   /* reason -> count */
    long long rejected_total;
    /* failure that aborts the upload */
    int failed_status;
    char fail_code[48];
    char fail_msg[512];
    const char *fail_field;
};

static void reject(struct upload *u, size_t line, const char *reason, const char *message)
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
    json_object_object_add(r, "message", json_object_new_string(message));
    json_object_array_add(u->rejected, r);
}

static int fail(struct upload *u, int status, const char *code, const char *field,
                const char *msg)
{
    u->failed_status = status;
    snprintf(u->fail_code, sizeof u->fail_code, "%s", code);
    snprintf(u->fail_msg, sizeof u->fail_msg, "%s", msg);
    u->fail_field = field;
    return -1;
}

static const char *phone_aliases[] = {"phone", "telefono", "teléfono", "phone_number",
                                      "numero", "número", "celular", "whatsapp", NULL};

static int take_header(struct upload *u, size_t n, char **fields)
{
    u->cols = calloc(n + 1, sizeof *u->cols);
    if (!u->cols)
        return fail(u, 500, "internal", NULL, "out of memory");
    u->ncols = n;
    u->phone_idx = -1;
    for (size_t i = 0; i < n; i++) {
        u->cols[i] = strdup(fields[i]);
        if (!u->cols[i])
            return fail(u, 500, "internal", NULL, "out of memory");
    }
    for (int a = 0; phone_aliases[a] && u->phone_idx < 0; a++)
        u->phone_idx = csvin_header_index(fields, n, phone_aliases[a]);
    if (u->phone_idx < 0)
        return fail(u, 422, "missing_column", "phone",
                    "line 1: the header has no phone column (phone, telefono, ...)");
    for (size_t k = 0; k < u->nneeds; k++)
        u->needs[k].idx = csvin_header_index(fields, n, u->needs[k].column);
    return 0;
}

static int flush(struct upload *u)
{
    if (u->nbatch == 0)
        return 0;
    size_t n = u->nbatch;
    /* Numbers already in the campaign are duplicates too, reported with their line. */
    char sql[64 + BATCH_ROWS * 3];
    db_arg args[1 + BATCH_ROWS * 3];
    int len = snprintf(sql, sizeof sql,
                       "SELECT phone FROM recipients WHERE campaign_id = ? AND phone IN (");
    args[0] = DB_INT(u->campaign_id);
    for (size_t i = 0; i < n; i++) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
        args[1 + i] = DB_STR(u->batch[i].phone);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    struct db_rows rows;
    int rc = db_query(u->db, sql, args, 1 + n, &rows);
    if (rc != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not check existing recipients");
    int *skip = calloc(n, sizeof *skip);
    if (!skip) {
        db_rows_free(&rows);
        return fail(u, 500, "internal", NULL, "out of memory");
    }
    for (size_t r = 0; r < rows.nrows; r++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(db_val(&rows, r, 0), u->batch[i].phone) == 0)
                skip[i] = 1;
    db_rows_free(&rows);

    char isql[96 + BATCH_ROWS * 8];
    db_arg iargs[BATCH_ROWS * 3];
    size_t na = 0, rowsin = 0;
    len = snprintf(isql, sizeof isql, "INSERT INTO recipients (campaign_id, phone, vars) VALUES ");
    for (size_t i = 0; i < n; i++) {
        if (skip[i]) {
            char msg[96];
            snprintf(msg, sizeof msg, "%s is already a recipient of this campaign",
                     u->batch[i].phone);
            reject(u, u->batch[i].line, "duplicate", msg);
            continue;
        }
        len += snprintf(isql + len, sizeof isql - (size_t)len, rowsin ? ",(?,?,?)" : "(?,?,?)");
        iargs[na++] = DB_INT(u->campaign_id);
        iargs[na++] = DB_STR(u->batch[i].phone);
        iargs[na++] = DB_STR(u->batch[i].vars);
        rowsin++;
    }
    free(skip);
    rc = DB_OK;
    if (rowsin) {
        struct db_res res;
        rc = db_exec(u->db, isql, iargs, na, &res);
        if (rc == DB_OK)
            u->accepted += (long long)res.affected;
    }
    for (size_t i = 0; i < n; i++)
        free(u->batch[i].vars);
    u->nbatch = 0;
    if (rc != DB_OK) {
        log_error("insert recipients: %s", db_error(u->db));
        return fail(u, 500, "database_error", NULL, "could not store recipients");
    }
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
            reject(u, line, "invalid_utf8", "the row is not valid UTF-8 text");
            return 0;
        }
    }
    if ((size_t)u->phone_idx >= n || lens[u->phone_idx] == 0) {
        reject(u, line, "phone_missing", "the row has no phone number");
        return 0;
    }
    char phone[E164_MAX + 1];
    int st = e164_normalize(fields[u->phone_idx], lens[u->phone_idx], u->country, phone);
    if (st != E164_OK) {
        char msg[160];
        snprintf(msg, sizeof msg, "invalid phone number (%s)", e164_strerror(st));
        reject(u, line, e164_reason_code(st), msg);
        return 0;
    }
    int added = phone_set_add(&u->seen, strtoull(phone + 1, NULL, 10));
    if (added < 0)
        return fail(u, 500, "internal", NULL, "out of memory");
    if (added == 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s appears earlier in the file", phone);
        reject(u, line, "duplicate", msg);
        return 0;
    }
    for (size_t k = 0; k < u->nneeds; k++) {
        int idx = u->needs[k].idx;
        int empty = idx < 0 || (size_t)idx >= n || lens[idx] == 0;
        if (empty && !u->needs[k].fallback) {
            char msg[160];
            snprintf(msg, sizeof msg, "no value for the template parameter column '%s'",
                     u->needs[k].column);
            reject(u, line, "missing_param", msg);
            return 0;
        }
    }
    json_object *vars = json_object_new_object();
    for (size_t i = 0; i < n && i < u->ncols; i++) {
        if ((int)i == u->phone_idx || lens[i] == 0 || !u->cols[i][0])
            continue;
        json_object_object_add(vars, u->cols[i], json_object_new_string_len(fields[i],
                                                                            (int)lens[i]));
    }
    struct pending_row *p = &u->batch[u->nbatch];
    memcpy(p->phone, phone, sizeof phone);
    p->line = line;
    p->vars = strdup(json_object_to_json_string_ext(vars, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(vars);
    if (!p->vars)
        return fail(u, 500, "internal", NULL, "out of memory");
    u->nbatch++;
    if (u->nbatch == BATCH_ROWS)
        return flush(u);
    return 0;
}

static int load_campaign(struct upload *u)
{
    struct db_rows rows;
    if (db_query(u->db,
                 "SELECT c.status, a.default_country, c.body_params FROM campaigns c "
                 "JOIN wa_accounts a ON a.id = c.account_id WHERE c.id = ? FOR UPDATE",
                 DB_ARGS(DB_INT(u->campaign_id)), &rows) != DB_OK)
        return fail(u, 500, "database_error", NULL, "could not read the campaign");
    if (rows.nrows == 0) {
        db_rows_free(&rows);
        return fail(u, 404, "not_found", NULL, "no such campaign");
    }
    if (strcmp(db_val(&rows, 0, 0), "draft") != 0) {
        db_rows_free(&rows);
        return fail(u, 409, "invalid_state", NULL,
                    "recipients can only be added to a draft campaign");
    }
    snprintf(u->country, sizeof u->country, "%s", db_val(&rows, 0, 1));
    json_object *params = json_tokener_parse(db_val(&rows, 0, 2));
    db_rows_free(&rows);
    for (size_t i = 0; params && i < json_object_array_length(params) && i < MAX_PARAMS; i++) {
        json_object *p = json_object_array_get_idx(params, i);
        const char *col = json_str(p, "column"), *fb = json_str(p, "fallback");
        if (!col)
            continue;
        struct param_need *need = &u->needs[u->nneeds++];
        need->column = strdup(col);
        need->fallback = fb ? strdup(fb) : NULL;
        need->idx = -1;
    }
    json_object_put(params);
    return 0;
}

static void upload_free(struct upload *u)
{
    for (size_t i = 0; i < u->ncols; i++)
        free(u->cols[i]);
    free(u->cols);
    for (size_t i = 0; i < u->nbatch; i++)
        free(u->batch[i].vars);
    for (size_t k = 0; k < u->nneeds; k++) {
        free(u->needs[k].column);
        free(u->needs[k].fallback);
    }
    free(u->seen.slots);
    json_object_put(u->rejected);
    json_object_put(u->by_reason);
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
    struct upload *u = calloc(1, sizeof *u);
    struct csvin *csv = csvin_new(MAX_FIELD, MAX_FIELDS);
    if (!u || !csv) {
        free(u);
        csvin_free(csv);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    u->req = req;
    u->db = req->app->db;
    u->campaign_id = req->ids[0];
    u->rejected = json_object_new_array();
    u->by_reason = json_object_new_object();

    int rc = db_begin(u->db);
    if (rc != DB_OK) {
        fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
        goto answer;
    }
    if (load_campaign(u) < 0)
        goto answer;

    char buf[65536];
    size_t total = 0;
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
    if (flush(u) < 0)
        goto answer;
    if (db_exec(u->db,
                "UPDATE campaigns SET total_count = total_count + ?, "
                "pending_count = pending_count + ? WHERE id = ?",
                DB_ARGS(DB_INT(u->accepted), DB_INT(u->accepted), DB_INT(u->campaign_id)),
                NULL) != DB_OK ||
        db_commit(u->db) != DB_OK) {
        fail(u, 500, "database_error", NULL, "could not store the recipients");
        goto answer;
    }

answer:
    if (u->failed_status) {
        db_rollback(u->db);
        http_error(req, u->failed_status, u->fail_code, u->fail_msg, u->fail_field);
    } else {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "campaign_id", json_object_new_int64(u->campaign_id));
        json_object_object_add(o, "rows", json_object_new_int64(u->rows));
        json_object_object_add(o, "accepted", json_object_new_int64(u->accepted));
        json_object_object_add(o, "rejected_total", json_object_new_int64(u->rejected_total));
        json_object_object_add(o, "rejected_by_reason", json_object_get(u->by_reason));
        json_object_object_add(o, "rejected", json_object_get(u->rejected));
        json_object_object_add(o, "rejected_truncated",
                               json_object_new_boolean(u->rejected_total > MAX_REPORTED));
        log_info("campaign %lld: %lld recipients added, %lld rejected", u->campaign_id,
                 u->accepted, u->rejected_total);
        http_json(req, 200, o);
    }
    csvin_free(csv);
    upload_free(u);
    free(u);
}
