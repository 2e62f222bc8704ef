/* /api/contacts and /api/tags: the people campaigns can reach (leads), with tags, free
 * attributes and consent on record; CSV import with the same rules as campaign audiences. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apival.h"
#include "app.h"
#include "audit.h"
#include "contacts_import.h"
#include "db.h"
#include "e164.h"
#include "log.h"

#define JSON_LIMIT (256 * 1024)

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

void api_contact_answer(struct request *req, long long id, int status)
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
    api_contact_answer(req, req->ids[0], 200);
}

/* ?tag=x&q=ana&before=ID&limit=N, newest first: the contact just added or imported is the
 * one the operator looks for, and with thousands in the book it would be pages away. */
void api_contacts_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *tag = http_query_param(req->query, "tag");
    char *q = http_query_param(req->query, "q");
    long long limit, before;
    char like[300] = "";
    if (http_query_ll(req, "limit", 100, 1, 1000, &limit) < 0 ||
        http_query_ll(req, "before", 0, 0, 1LL << 62, &before) < 0)
        goto out;
    if (q)
        http_like_contains(q, like, sizeof like);
    struct db_rows r;
    if (db_query(req->app->db,
                 "SELECT " CONTACT_COLUMNS
                 " FROM contacts c WHERE (? = 0 OR c.id < ?) AND (? IS NULL OR "
                 "EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = ?)) "
                 "AND (? IS NULL OR c.name LIKE ? OR CONVERT(c.phone USING utf8mb4) LIKE ? OR "
                 "c.lead_id = ?) "
                 "ORDER BY c.id DESC LIMIT ?",
                 DB_ARGS(DB_INT(before), DB_INT(before), DB_STR(tag), DB_STR(tag),
                         DB_STR(q ? like : NULL), DB_STR(q ? like : NULL), DB_STR(q ? like : NULL),
                         DB_STR(q), DB_INT(limit)),
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
        o, "next_before",
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
            http_fail_phone(req, "phone", st, p);
            return -1;
        }
        c->has_phone = 1;
    }
    if (json_object_object_get_ex(in, "name", &v)) {
        c->name = json_str(in, "name");
        c->has_name = 1;
        if (!c->name || strlen(c->name) > 200) {
            http_fail_range(req, 400, "invalid_field", "name", "contact.name_length",
                            "name has at most 200 characters", 0, 200);
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "lead_id", &v)) {
        c->has_lead = 1;
        c->lead_id = json_str(in, "lead_id");
        if (!json_object_is_type(v, json_type_null) &&
            (!c->lead_id || !*c->lead_id || strlen(c->lead_id) > 64)) {
            http_fail_range(req, 400, "invalid_field", "lead_id", "contact.lead_id_length",
                            "lead_id has 1 to 64 characters, or null", 1, 64);
            return -1;
        }
    }
    if (json_object_object_get_ex(in, "attributes", &v)) {
        if (!json_object_is_type(v, json_type_object) ||
            strlen(json_object_to_json_string(v)) > 65536) {
            http_fail(req, 400, "invalid_field", "attributes", "contact.attributes_shape", NULL,
                      "attributes is an object (at most 64 KB)");
            return -1;
        }
        c->attributes = v;
    }
    if (json_object_object_get_ex(in, "tags", &v)) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 100) {
            http_fail_range(req, 400, "invalid_field", "tags", "contact.tags_shape",
                            "tags is an array of at most 100 tags", 0, 100);
            return -1;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *t = json_object_array_get_idx(v, i);
            if (!json_object_is_type(t, json_type_string) || json_object_get_string_len(t) < 1 ||
                json_object_get_string_len(t) > 64) {
                char detail[64];
                snprintf(detail, sizeof detail, "tags[%zu] has 1 to 64 characters", i);
                json_object *tp = json_object_new_object();
                json_object_object_add(tp, "min", json_object_new_int(1));
                json_object_object_add(tp, "max", json_object_new_int(64));
                json_object_object_add(tp, "index", json_object_new_int64((int64_t)i + 1));
                http_fail(req, 400, "invalid_field", "tags", "contact.tag_length", tp, detail);
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
                http_fail(req, 400, "invalid_field", "consent", "contact.consent_shape", NULL,
                          "consent is {\"source\": \"how it was given\", \"at\": optional time "
                          "with offset}, or null to withdraw it");
                return -1;
            }
            /* The one consent rule (lib/apival): a written "no" is no consent record. */
            if (apival_consent(c->consent_source, strlen(c->consent_source)) != 1) {
                http_fail(req, 422, "consent_refused", "consent", "contact.consent_refused", NULL,
                          "consent.source says consent was not given (or is blank): withdraw "
                          "it with \"consent\": null instead");
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
        http_fail(req, 400, "missing_field", "phone", "contact.phone_required", NULL,
                  "phone is required");
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
        http_fail_str(req, 409, "duplicate", "phone", "contact.phone_taken",
                      "a contact with that number exists already", "phone", c.phone);
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
    api_contact_answer(req, (long long)res.insert_id, 201);
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
        http_fail_str(req, 409, "duplicate", "phone", "contact.phone_taken",
                      "a contact with that number exists already", "phone", c.phone);
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
    api_contact_answer(req, id, 200);
out:
    json_object_put(in);
}

void api_contacts_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    struct db_res res;
    /* Recipients keep the deleted contact's id, as the send log does (the lead a message was
     * for; ids are never reused): clearing it would scan every recipient, since no index
     * on recipients leads with contact_id (each one slows down every audience import). */
    if (db_begin(db) != DB_OK || db_exec(db, "DELETE FROM contacts WHERE id = ?",
                                         DB_ARGS(DB_INT(req->ids[0])), &res) != DB_OK) {
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

/* ---- CSV import (lib/contacts_import.c, shared with pregonctl contacts-import) ------------- */

struct contacts_import *api_contacts_import_begin(struct request *req, struct db *db,
                                                  const struct contacts_import_opts *opts)
{
    struct contacts_import *u = contacts_import_new(db, opts);
    if (!u) {
        http_error(req, 500, "internal", "out of memory", NULL);
        return NULL;
    }
    /* A chunked import whose process died is finished or discarded first; a live one holds
     * the contacts (lib/contacts_chunks.c). */
    int st = contacts_import_settle(db);
    if (st == CONTACTS_IMPORT_RUNNING)
        contacts_import_fail(u, 409, "import_running", NULL,
                             "contacts are being imported by another import; try again when it "
                             "ends");
    else if (st < 0 || db_begin(db) != DB_OK)
        contacts_import_fail(u, 503, "database_unavailable", NULL, "the database is not reachable");
    else
        contacts_import_set_chunk(u, req->app->cfg.import_chunk_rows);
    return u;
}

/* Audits import u (its counts, as action) and commits it, in the caller's transaction; a
 * failure marks u failed. */
static void import_commit(struct request *req, struct db *db, struct contacts_import *u,
                          const char *action)
{
    if (contacts_import_failure(u, NULL, NULL, NULL))
        return;
    long long rows, stored, added, rejected;
    contacts_import_counts(u, &rows, &stored, &added, &rejected);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "rows", json_object_new_int64(rows));
    json_object_object_add(d, "stored", json_object_new_int64(stored));
    json_object_object_add(d, "added", json_object_new_int64(added));
    json_object_object_add(d, "rejected", json_object_new_int64(rejected));
    if (audit_write(req, action, "contact", 0, 0, d) != DB_OK || db_commit(db) != DB_OK)
        contacts_import_fail(u, 500, "database_error", NULL, "could not store the contacts");
}

void api_contacts_import_end(struct request *req, struct db *db, struct contacts_import *u,
                             const char *action)
{
    contacts_import_finish(u);
    import_commit(req, db, u, action);
    const char *code, *field, *msg;
    int status = contacts_import_failure(u, &code, &field, &msg);
    if (status) {
        db_rollback(db);
        contacts_import_close(u);
        if (strcmp(code, "import_running") == 0)
            http_fail(req, status, code, field, "contact.import_running", NULL, msg);
        else
            http_error(req, status, code, msg, field);
        return;
    }
    contacts_import_close(u);
    json_object *rep = contacts_import_report(u), *rows;
    if (rep && json_object_object_get_ex(rep, "rejected", &rows))
        http_localize_items(req, rows, "reason", "import.");
    http_json(req, 200, rep);
}

/* POST /api/contacts/import?tags=a,b&country=AR&consent_source=S (CSV body) */
void api_contacts_import(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *tags = http_query_param(req->query, "tags");
    char *country = http_query_param(req->query, "country");
    char *source = http_query_param(req->query, "consent_source");
    char cc[3];
    if (country && e164_country_calling_code(country) != 0)
        snprintf(cc, sizeof cc, "%s", country);
    else
        app_default_country(req->app->db, cc);
    struct db *db = req->app->db;
    struct contacts_import *u = NULL;
    if (source && (!*source || strlen(source) > 120)) {
        http_fail_range(req, 400, "invalid_field", "consent_source",
                        "contact.consent_source_length", "consent_source has 1 to 120 characters",
                        1, 120);
        goto out;
    }
    struct contacts_import_opts opts = {.country = cc, .tags = tags, .consent_source = source};
    if (!(u = api_contacts_import_begin(req, db, &opts)))
        goto out;
    if (!contacts_import_failure(u, NULL, NULL, NULL)) {
        static char buf[1 << 16];
        int got;
        size_t total = 0;
        while ((got = http_read_chunk(req, buf, sizeof buf)) > 0) {
            total += (size_t)got;
            if (total > req->app->cfg.body_limit) {
                contacts_import_fail(u, 413, "body_too_large", "body", "the upload is too large");
                break;
            }
            if (contacts_import_feed(u, buf, (size_t)got) < 0)
                break;
        }
    }
    api_contacts_import_end(req, db, u, "contacts.import");
out:
    contacts_import_free(u);
    free(tags);
    free(country);
    free(source);
}
