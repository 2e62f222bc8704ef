/* /api/contacts and /api/tags: the people campaigns can reach (leads), with tags, free
 * attributes and consent on record; CSV import with the same rules as campaign audiences. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apival.h"
#include "app.h"
#include "audit.h"
#include "csvin.h"
#include "db.h"
#include "e164.h"
#include "log.h"
#include "phoneset.h"

#define JSON_LIMIT   (256 * 1024)
#define BATCH        500
#define MAX_REPORTED 1000
#define TS(col)      "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

#define CONTACT_COLUMNS                                                                            \
    "c.id, c.phone, c.name, c.lead_id, c.attributes, " TS(                                         \
        "c.consent_at") ", c.consent_source, " TS("c.created_at") ", " TS("c.updated_at") ", "     \
                                                                                          "(SELEC" \
                                                                                          "T "     \
                                                                                          "GROUP_" \
                                                                                          "CONCAT" \
                                                                                          "(t."    \
                                                                                          "tag "   \
                                                                                          "ORDER " \
                                                                                          "BY "    \
                                                                                          "t.tag " \
                                                                                          "SEPARA" \
                                                                                          "TOR "   \
                                                                                          "'\\n')" \
                                                                                          " FROM " \
                                                                                          "contac" \
                                                                                          "t_"     \
                                                                                          "tags "  \
                                                                                          "t "     \
                                                                                          "WHERE " \
                                                                                          "t."     \
                                                                                          "contac" \
                                                                                          "t_id "  \
                                                                                          "= "     \
                                                                                          "c.id)," \
                                                                                          " EXIST" \
                                                                                          "S "     \
                                                                                          "(SELEC" \
                                                                                          "T 1 "   \
                                                                                          "FROM "  \
                                                                                          "opt_"   \
                                                                                          "outs "  \
                                                                                          "o "     \
                                                                                          "WHERE " \
                                                                                          "o."     \
                                                                                          "phone " \
                                                                                          "= "     \
                                                                                          "c."     \
                                                                                          "phone)"

static json_object *contact_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "phone", json_str_or_null(db_val(r, i, 1)));
    json_object_object_add(o, "name", json_str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "lead_id", json_str_or_null(db_val(r, i, 3)));
    json_object *a = db_val(r, i, 4) ? json_tokener_parse(db_val(r, i, 4)) : NULL;
    json_object_object_add(o, "attributes", a ? a : json_object_new_object());
    if (db_val(r, i, 5)) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "at", json_str_or_null(db_val(r, i, 5)));
        json_object_object_add(c, "source", json_str_or_null(db_val(r, i, 6)));
        json_object_object_add(o, "consent", c);
    } else {
        json_object_object_add(o, "consent", NULL);
    }
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 7)));
    json_object_object_add(o, "updated_at", json_str_or_null(db_val(r, i, 8)));
    json_object *tags = json_object_new_array();
    const char *t = db_val(r, i, 9);
    while (t && *t) {
        size_t n = strcspn(t, "\n");
        json_object_array_add(tags, json_object_new_string_len(t, (int)n));
        t += n;
        if (*t)
            t++;
    }
    json_object_object_add(o, "tags", tags);
    json_object_object_add(o, "opted_out", json_object_new_boolean(db_int(r, i, 10, 0) != 0));
    return o;
}

static void answer_contact(struct request *req, long long id, int status)
{
    struct db_rows r;
    if (db_query(req->app->db, "SELECT " CONTACT_COLUMNS " FROM contacts c WHERE c.id = ?",
                 DB_ARGS(DB_INT(id)), &r) != DB_OK) {
        http_db_error(req, "read the contact");
        return;
    }
    if (r.nrows == 0)
        http_error(req, 404, "not_found", "no such contact", NULL);
    else
        http_json(req, status, contact_json(&r, 0));
    db_rows_free(&r);
}

void api_contacts_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    answer_contact(req, req->ids[0], 200);
}

/* ?tag=x&q=ana&after=ID&limit=N */
void api_contacts_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *tag = http_query_param(req->query, "tag");
    char *q = http_query_param(req->query, "q");
    long long limit, after;
    char like[300] = "";
    if (http_query_ll(req, "limit", 100, 1, 1000, &limit) < 0 ||
        http_query_ll(req, "after", 0, 0, 1LL << 62, &after) < 0)
        goto out;
    if (q) {
        size_t n = 0;
        like[n++] = '%';
        for (const char *c = q; *c && n < sizeof like - 3; c++) {
            if (*c == '%' || *c == '_' || *c == '\\')
                like[n++] = '\\';
            like[n++] = *c;
        }
        like[n++] = '%';
        like[n] = 0;
    }
    struct db_rows r;
    if (db_query(req->app->db,
                 "SELECT " CONTACT_COLUMNS " FROM contacts c WHERE c.id > ? AND (? IS NULL OR "
                 "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = ?)) "
                 "AND (? IS NULL OR c.name LIKE ? OR CONVERT(c.phone USING utf8mb4) LIKE ? OR "
                 "c.lead_id = ?) "
                 "ORDER BY c.id LIMIT ?",
                 DB_ARGS(DB_INT(after), DB_STR(tag), DB_STR(tag), DB_STR(q ? like : NULL),
                         DB_STR(q ? like : NULL), DB_STR(q ? like : NULL), DB_STR(q),
                         DB_INT(limit)),
                 &r) != DB_OK) {
        http_db_error(req, "list the contacts");
        goto out;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(arr, contact_json(&r, i));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "contacts", arr);
    json_object_object_add(
        o, "next_after",
        r.nrows == (size_t)limit ? json_object_new_int64(db_int(&r, r.nrows - 1, 0, 0)) : NULL);
    db_rows_free(&r);
    http_json(req, 200, o);
out:
    free(tag);
    free(q);
}

void api_tags_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows r;
    if (db_query(req->app->db,
                 "SELECT tag, COUNT(*) FROM contact_tags GROUP BY tag ORDER BY tag LIMIT 5000",
                 DB_NOARGS, &r) != DB_OK) {
        http_db_error(req, "list the tags");
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "tag", json_str_or_null(db_val(&r, i, 0)));
        json_object_object_add(o, "contacts", json_object_new_int64(db_int(&r, i, 1, 0)));
        json_object_array_add(arr, o);
    }
    db_rows_free(&r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tags", arr);
    http_json(req, 200, o);
}

/* ---- create, edit, delete ------------------------------------------------------------------ */

struct contact_in {
    char phone[E164_MAX + 1];
    int has_phone;
    const char *name, *lead_id;
    int has_name, has_lead;
    json_object *attributes; /* borrowed */
    json_object *tags;       /* borrowed */
    int has_consent, consent_null;
    const char *consent_source;
    char consent_at[24];
};

static int read_contact(struct request *req, json_object *in, struct contact_in *c)
{
    json_object *v;
    static const char *const known[] = {"phone", "name",    "lead_id", "attributes",
                                        "tags",  "consent", "country", NULL};
    if (http_json_only(req, in, known, "a field of a contact") < 0)
        return -1;
    if (json_object_object_get_ex(in, "phone", &v)) {
        char cc[3];
        const char *country = json_str(in, "country");
        if (country && e164_country_calling_code(country) != 0)
            snprintf(cc, sizeof cc, "%s", country);
        else
            app_default_country(req->app->db, cc);
        const char *p = json_str(in, "phone");
        int st = p ? e164_normalize(p, strlen(p), cc, c->phone) : E164_EMPTY;
        if (st != E164_OK) {
            http_errorf(req, 400, "invalid_field", "phone", "phone is not a valid number (%s)",
                        e164_strerror(st));
            return -1;
        }
        c->has_phone = 1;
    }
    if (json_object_object_get_ex(in, "name", &v)) {
        c->name = json_str(in, "name");
        c->has_name = 1;
        if (!c->name || strlen(c->name) > 200) {
            http_error(req, 400, "invalid_field", "name has at most 200 characters", "name");
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "lead_id", &v)) {
        c->has_lead = 1;
        c->lead_id = json_str(in, "lead_id");
        if (!json_object_is_type(v, json_type_null) &&
            (!c->lead_id || !*c->lead_id || strlen(c->lead_id) > 64)) {
            http_error(req, 400, "invalid_field", "lead_id has 1 to 64 characters, or null",
                       "lead_id");
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "attributes", &v)) {
        if (!json_object_is_type(v, json_type_object) ||
            strlen(json_object_to_json_string(v)) > 65536) {
            http_error(req, 400, "invalid_field", "attributes is an object (at most 64 KB)",
                       "attributes");
            return -1;
        }
        c->attributes = v;
    }
    if (json_object_object_get_ex(in, "tags", &v)) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 100) {
            http_error(req, 400, "invalid_field", "tags is an array of at most 100 tags", "tags");
            return -1;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *t = json_object_array_get_idx(v, i);
            if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) < 1 ||
                json_object_get_string_len(t) > 64) {
                http_errorf(req, 400, "invalid_field", "tags", "tags[%zu] has 1 to 64 characters",
                            i);
                return -1;
            }
        }
        c->tags = v;
    }
    if (json_object_object_get_ex(in, "consent", &v)) {
        c->has_consent = 1;
        if (json_object_is_type(v, json_type_null)) {
            c->consent_null = 1;
        } else {
            c->consent_source = json_str(v, "source");
            const char *at = json_str(v, "at");
            if (!json_object_is_type(v, json_type_object) || !c->consent_source ||
                !*c->consent_source || strlen(c->consent_source) > 120 ||
                (at && apival_parse_time(at, c->consent_at, NULL) != 0)) {
                http_error(req, 400, "invalid_field",
                           "consent is {\"source\": \"how it was given\", \"at\": optional time "
                           "with offset}, or null to withdraw it",
                           "consent");
                return -1;
            }
        }
    }
    return 0;
}

static int store_tags(struct db *db, long long id, json_object *tags)
{
    if (db_exec(db, "DELETE FROM contact_tags WHERE contact_id = ?", DB_ARGS(DB_INT(id)), NULL) !=
        DB_OK)
        return -1;
    for (size_t i = 0; tags && i < json_object_array_length(tags); i++)
        if (db_exec(db, "INSERT IGNORE INTO contact_tags (contact_id, tag) VALUES (?, ?)",
                    DB_ARGS(DB_INT(id),
                            DB_STR(json_object_get_string(json_object_array_get_idx(tags, i)))),
                    NULL) != DB_OK)
            return -1;
    return 0;
}

void api_contacts_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct contact_in c = {0};
    struct db *db = req->app->db;
    if (read_contact(req, in, &c) < 0)
        goto out;
    if (!c.has_phone) {
        http_error(req, 400, "missing_field", "phone is required", "phone");
        goto out;
    }
    struct db_res res;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    int has_consent = c.has_consent && !c.consent_null;
    int rc = db_exec(
        db,
        "INSERT INTO contacts (phone, name, lead_id, attributes, consent_at, consent_source) "
        "VALUES (?, ?, ?, ?, IF(?, COALESCE(?, NOW(3)), NULL), ?)",
        DB_ARGS(DB_STR(c.phone), DB_STR(c.name ? c.name : ""), DB_STR(c.lead_id),
                DB_STR(c.attributes
                           ? json_object_to_json_string_ext(c.attributes, JSON_C_TO_STRING_PLAIN)
                           : "{}"),
                DB_INT(has_consent), DB_STR(c.consent_at[0] ? c.consent_at : NULL),
                DB_STR(has_consent ? c.consent_source : NULL)),
        &res);
    if (rc == DB_ERR_DUP) {
        db_rollback(db);
        http_errorf(req, 409, "duplicate", "phone", "a contact with %s exists already", c.phone);
        goto out;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "phone", json_object_new_string(c.phone));
    if (rc != DB_OK || store_tags(db, (long long)res.insert_id, c.tags) < 0 ||
        audit_write(req, "contact.create", "contact", (long long)res.insert_id, 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the contact");
        goto out;
    }
    answer_contact(req, (long long)res.insert_id, 201);
out:
    json_object_put(in);
}

void api_contacts_update(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct contact_in c = {0};
    struct db *db = req->app->db;
    long long id = req->ids[0];
    if (read_contact(req, in, &c) < 0)
        goto out;
    struct db_rows r;
    if (db_begin(db) != DB_OK || db_query(db, "SELECT id FROM contacts WHERE id = ? FOR UPDATE",
                                          DB_ARGS(DB_INT(id)), &r) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "read the contact");
        goto out;
    }
    size_t found = r.nrows;
    db_rows_free(&r);
    if (!found) {
        db_rollback(db);
        http_error(req, 404, "not_found", "no such contact", NULL);
        goto out;
    }
    int rc = db_exec(
        db,
        "UPDATE contacts SET phone = COALESCE(?, phone), name = IF(?, ?, name), lead_id = IF(?, "
        "?, lead_id), attributes = COALESCE(?, attributes), consent_at = IF(?, IF(?, NULL, "
        "COALESCE(?, NOW(3))), consent_at), consent_source = IF(?, ?, consent_source) WHERE id = ?",
        DB_ARGS(DB_STR(c.has_phone ? c.phone : NULL), DB_INT(c.has_name),
                DB_STR(c.name ? c.name : ""), DB_INT(c.has_lead), DB_STR(c.lead_id),
                DB_STR(c.attributes
                           ? json_object_to_json_string_ext(c.attributes, JSON_C_TO_STRING_PLAIN)
                           : NULL),
                DB_INT(c.has_consent), DB_INT(c.consent_null),
                DB_STR(c.consent_at[0] ? c.consent_at : NULL), DB_INT(c.has_consent),
                DB_STR(c.consent_null ? NULL : c.consent_source), DB_INT(id)),
        NULL);
    if (rc == DB_ERR_DUP) {
        db_rollback(db);
        http_errorf(req, 409, "duplicate", "phone", "a contact with %s exists already", c.phone);
        goto out;
    }
    json_object *d = json_object_new_object(), *fields = json_object_new_array();
    json_object_object_foreach(in, k, v)
    {
        (void)v;
        json_object_array_add(fields, json_object_new_string(k));
    }
    json_object_object_add(d, "fields", fields);
    if (rc != DB_OK || (c.tags && store_tags(db, id, c.tags) < 0) ||
        audit_write(req, "contact.update", "contact", id, 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "update the contact");
        goto out;
    }
    answer_contact(req, id, 200);
out:
    json_object_put(in);
}

void api_contacts_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct db_res res;
    if (db_begin(db) != DB_OK ||
        db_exec(db,
                "UPDATE recipients SET contact_id = NULL WHERE contact_id = ? AND status = "
                "'pending'",
                DB_ARGS(DB_INT(req->ids[0])), NULL) != DB_OK ||
        db_exec(db, "DELETE FROM contacts WHERE id = ?", DB_ARGS(DB_INT(req->ids[0])), &res) !=
            DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the contact");
        return;
    }
    if (res.affected == 0) {
        db_rollback(db);
        http_error(req, 404, "not_found", "no such contact", NULL);
        return;
    }
    if (audit_write(req, "contact.delete", "contact", req->ids[0], 0, NULL) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the contact");
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}

/* ---- CSV import ------------------------------------------------------------------------------ */

struct crow {
    char phone[E164_MAX + 1];
    size_t line;
    int consent;                         /* 1 yes, 0 not given */
    char *name, *lead_id, *attrs, *tags; /* malloc'd; tags '\n'-separated */
};

struct cimport {
    struct request *req;
    struct db *db;
    char country[3];
    int have_header;
    size_t ncols;
    char **cols;
    int phone_idx, consent_idx, name_idx, lead_idx, tags_idx;
    char **extra_tags;
    size_t nextra;
    struct phoneset seen;
    struct crow batch[BATCH];
    size_t nbatch;
    long long rows, stored, rejected_total;
    json_object *rejected, *by_reason;
    int failed_status;
    char fail_code[48], fail_msg[512];
    const char *fail_field;
};

static int cfail(struct cimport *u, int status, const char *code, const char *field,
                 const char *msg)
{
    u->failed_status = status;
    snprintf(u->fail_code, sizeof u->fail_code, "%s", code);
    snprintf(u->fail_msg, sizeof u->fail_msg, "%s", msg);
    u->fail_field = field;
    return -1;
}

static void creject(struct cimport *u, size_t line, const char *reason, const char *msg)
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

static void crow_free(struct crow *r)
{
    free(r->name);
    free(r->lead_id);
    free(r->attrs);
    free(r->tags);
    memset(r, 0, sizeof *r);
}

static int cflush(struct cimport *u)
{
    size_t n = u->nbatch;
    if (!n)
        return 0;
    char sql[256 + BATCH * 24];
    static db_arg args[BATCH * 7];
    struct db_rows r;
    int *skip = calloc(n, sizeof *skip);
    if (!skip)
        return cfail(u, 500, "internal", NULL, "out of memory");
    int len = snprintf(sql, sizeof sql,
                       "SELECT phone, consent_at IS NOT NULL, (SELECT 1 FROM opt_outs o WHERE "
                       "o.phone = contacts.phone) FROM contacts WHERE phone IN (");
    for (size_t i = 0; i < n; i++) {
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
        args[i] = DB_STR(u->batch[i].phone);
    }
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    if (db_query(u->db, sql, args, n, &r) != DB_OK) {
        free(skip);
        return cfail(u, 500, "database_error", NULL, "could not read the contacts");
    }
    for (size_t k = 0; k < r.nrows; k++)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(db_val(&r, k, 0), u->batch[i].phone) && db_int(&r, k, 1, 0))
                u->batch[i].consent = 2; /* on record already */
    db_rows_free(&r);
    len = snprintf(sql, sizeof sql, "SELECT phone FROM opt_outs WHERE phone IN (");
    for (size_t i = 0; i < n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, i ? ",?" : "?");
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    if (db_query(u->db, sql, args, n, &r) != DB_OK) {
        free(skip);
        return cfail(u, 500, "database_error", NULL, "could not read the opt-outs");
    }
    for (size_t k = 0; k < r.nrows; k++)
        for (size_t i = 0; i < n; i++)
            if (!skip[i] && !strcmp(db_val(&r, k, 0), u->batch[i].phone)) {
                creject(u, u->batch[i].line, "opted_out", "the number opted out");
                skip[i] = 1;
            }
    db_rows_free(&r);
    size_t na = 0, nin = 0;
    len = snprintf(sql, sizeof sql,
                   "INSERT INTO contacts (phone, name, lead_id, attributes, consent_at, "
                   "consent_source) VALUES ");
    for (size_t i = 0; i < n; i++) {
        struct crow *c = &u->batch[i];
        if (skip[i])
            continue;
        if (!c->consent) {
            creject(u, c->line, "no_consent",
                    "no consent: the consent column is empty and the contact has none on record");
            skip[i] = 1;
            continue;
        }
        len += snprintf(sql + len, sizeof sql - (size_t)len,
                        nin ? ",(?,?,?,?,IF(?,NOW(3),NULL),?)" : "(?,?,?,?,IF(?,NOW(3),NULL),?)");
        args[na++] = DB_STR(c->phone);
        args[na++] = DB_STR(c->name ? c->name : "");
        args[na++] = DB_STR(c->lead_id);
        args[na++] = DB_STR(c->attrs ? c->attrs : "{}");
        args[na++] = DB_INT(c->consent == 1);
        args[na++] = DB_STR(c->consent == 1 ? "import" : NULL);
        nin++;
    }
    int rc = DB_OK;
    if (nin) {
        snprintf(sql + len, sizeof sql - (size_t)len,
                 " ON DUPLICATE KEY UPDATE name = IF(VALUES(name) <> '', VALUES(name), name), "
                 "lead_id = COALESCE(VALUES(lead_id), lead_id), attributes = "
                 "JSON_MERGE_PATCH(attributes, VALUES(attributes)), consent_at = "
                 "COALESCE(consent_at, VALUES(consent_at)), consent_source = "
                 "COALESCE(consent_source, VALUES(consent_source))");
        rc = db_exec(u->db, sql, args, na, NULL);
        if (rc == DB_OK)
            u->stored += (long long)nin;
    }
    /* Tags: those of the row and those given for the whole import. */
    for (size_t i = 0; i < n && rc == DB_OK; i++) {
        struct crow *c = &u->batch[i];
        if (skip[i] || (!c->tags && !u->nextra))
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
    free(skip);
    for (size_t i = 0; i < n; i++)
        crow_free(&u->batch[i]);
    u->nbatch = 0;
    if (rc != DB_OK) {
        log_error("contacts import: %s", db_error(u->db));
        return cfail(u, 500, "database_error", NULL, "could not store the contacts");
    }
    return 0;
}

static int by_line(const void *a, const void *b)
{
    json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *lx, *ly;
    long long l1 = json_object_object_get_ex(x, "line", &lx) ? json_object_get_int64(lx) : 0;
    long long l2 = json_object_object_get_ex(y, "line", &ly) ? json_object_get_int64(ly) : 0;
    return (l1 > l2) - (l1 < l2);
}

static int con_row(void *ctx, size_t line, size_t n, char **f, const size_t *lens)
{
    struct cimport *u = ctx;
    if (!u->have_header) {
        u->have_header = 1;
        u->cols = calloc(n + 1, sizeof *u->cols);
        if (!u->cols)
            return cfail(u, 500, "internal", NULL, "out of memory");
        u->ncols = n;
        for (size_t i = 0; i < n; i++)
            if (!(u->cols[i] = strdup(f[i])))
                return cfail(u, 500, "internal", NULL, "out of memory");
        static const char *ph[] = {"phone",        "telefono", "teléfono",
                                   "phone_number", "numero",   "número",
                                   "celular",      "whatsapp", NULL};
        u->phone_idx = -1;
        for (int a = 0; ph[a] && u->phone_idx < 0; a++)
            u->phone_idx = csvin_header_index(f, n, ph[a]);
        if (u->phone_idx < 0)
            return cfail(u, 422, "missing_column", "phone",
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
    if ((size_t)u->phone_idx >= n || !lens[u->phone_idx]) {
        creject(u, line, "phone_missing", "the row has no phone number");
        return 0;
    }
    struct crow *c = &u->batch[u->nbatch];
    int st = e164_normalize(f[u->phone_idx], lens[u->phone_idx], u->country, c->phone);
    if (st != E164_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "invalid phone number (%s)", e164_strerror(st));
        creject(u, line, e164_reason_code(st), msg);
        return 0;
    }
    int added = phoneset_add(&u->seen, phoneset_key(c->phone));
    if (added < 0)
        return cfail(u, 500, "internal", NULL, "out of memory");
    if (!added) {
        creject(u, line, "duplicate", "the number appears earlier in the file");
        return 0;
    }
    int consent = 0;
    if (u->consent_idx >= 0 && (size_t)u->consent_idx < n)
        consent = apival_consent(f[u->consent_idx], lens[u->consent_idx]);
    if (consent == -1) {
        creject(u, line, "no_consent", "the consent column says no");
        return 0;
    }
    if (consent == -2) {
        creject(u, line, "invalid_consent",
                "the consent value is not understood (use yes/no, sí/no, 1/0 or a date)");
        return 0;
    }
    c->line = line;
    c->consent = consent == 1;
    if (u->name_idx >= 0 && (size_t)u->name_idx < n && lens[u->name_idx])
        c->name = strndup(f[u->name_idx], lens[u->name_idx] > 200 ? 200 : lens[u->name_idx]);
    if (u->lead_idx >= 0 && (size_t)u->lead_idx < n && lens[u->lead_idx] && lens[u->lead_idx] <= 64)
        c->lead_id = strndup(f[u->lead_idx], lens[u->lead_idx]);
    if (u->tags_idx >= 0 && (size_t)u->tags_idx < n && lens[u->tags_idx]) {
        c->tags = strndup(f[u->tags_idx], lens[u->tags_idx]);
        for (char *p = c->tags; p && *p; p++)
            if (*p == '|' || *p == ',')
                *p = '\n';
    }
    json_object *a = json_object_new_object();
    for (size_t i = 0; i < n && i < u->ncols; i++) {
        if ((int)i == u->phone_idx || (int)i == u->consent_idx || (int)i == u->name_idx ||
            (int)i == u->lead_idx || (int)i == u->tags_idx || !lens[i] || !u->cols[i][0])
            continue;
        json_object_object_add(a, u->cols[i], json_object_new_string_len(f[i], (int)lens[i]));
    }
    c->attrs = strdup(
        json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(a);
    u->nbatch++;
    return u->nbatch == BATCH ? cflush(u) : 0;
}

/* POST /api/contacts/import?tags=a,b&country=AR (CSV body) */
void api_contacts_import(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct cimport *u = calloc(1, sizeof *u);
    struct csvin *csv = csvin_new(0, 0);
    char *tags = http_query_param(req->query, "tags");
    char *country = http_query_param(req->query, "country");
    if (!u || !csv) {
        free(u);
        csvin_free(csv);
        free(tags);
        free(country);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    u->req = req;
    u->db = req->app->db;
    u->rejected = json_object_new_array();
    u->by_reason = json_object_new_object();
    if (country && e164_country_calling_code(country) != 0)
        snprintf(u->country, sizeof u->country, "%s", country);
    else
        app_default_country(u->db, u->country);
    if (tags) {
        u->extra_tags = calloc(51, sizeof *u->extra_tags);
        for (char *save = NULL, *t = strtok_r(tags, ",", &save); t && u->nextra < 50;
             t = strtok_r(NULL, ",", &save))
            if (*t && strlen(t) <= 64)
                u->extra_tags[u->nextra++] = t;
    }
    if (db_begin(u->db) != DB_OK) {
        cfail(u, 503, "database_unavailable", NULL, "the database is not reachable");
        goto answer;
    }
    static char buf[1 << 16];
    int got, rc = 0;
    size_t total = 0;
    while ((got = http_read_chunk(req, buf, sizeof buf)) > 0) {
        total += (size_t)got;
        if (total > req->app->cfg.body_limit) {
            cfail(u, 413, "body_too_large", "body", "the upload is too large");
            goto answer;
        }
        if ((rc = csvin_feed(csv, buf, (size_t)got, con_row, u)) != 0)
            break;
    }
    if (!u->failed_status && rc == 0)
        rc = csvin_finish(csv, con_row, u);
    if (!u->failed_status && rc != 0)
        cfail(u, 400, "invalid_csv", "body", csvin_error(csv));
    if (!u->failed_status && !u->have_header)
        cfail(u, 400, "invalid_csv", "body", "the upload is empty: a header row is required");
    if (!u->failed_status)
        cflush(u);
answer:
    if (!u->failed_status) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "rows", json_object_new_int64(u->rows));
        json_object_object_add(d, "stored", json_object_new_int64(u->stored));
        json_object_object_add(d, "rejected", json_object_new_int64(u->rejected_total));
        if (audit_write(req, "contacts.import", "contact", 0, 0, d) != DB_OK ||
            db_commit(u->db) != DB_OK)
            cfail(u, 500, "database_error", NULL, "could not store the contacts");
    }
    if (u->failed_status) {
        db_rollback(u->db);
        http_error(req, u->failed_status, u->fail_code, u->fail_msg, u->fail_field);
    } else {
        json_object_array_sort(u->rejected, by_line);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "rows", json_object_new_int64(u->rows));
        json_object_object_add(o, "stored", json_object_new_int64(u->stored));
        json_object_object_add(o, "rejected_total", json_object_new_int64(u->rejected_total));
        json_object_object_add(o, "rejected_by_reason", json_object_get(u->by_reason));
        json_object_object_add(o, "rejected", json_object_get(u->rejected));
        http_json(req, 200, o);
    }
    for (size_t i = 0; i < u->nbatch; i++)
        crow_free(&u->batch[i]);
    for (size_t i = 0; i < u->ncols; i++)
        free(u->cols[i]);
    free(u->cols);
    phoneset_free(&u->seen);
    free(u->extra_tags);
    json_object_put(u->rejected);
    json_object_put(u->by_reason);
    csvin_free(csv);
    free(u);
    free(tags);
    free(country);
}
