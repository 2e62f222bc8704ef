/* Contacts upserts for CRMs, with the CSV import's one rule (lib/contacts_import.h): the
 * number is the contact, a name replaces the old one only when given, attributes merge,
 * consent on record is kept and one is needed, opted-out numbers are refused.
 *
 *   PUT  /api/contacts/by-lead/{lead_id}   {"phone", "name"?, "consent"?, "tags"?,
 *                                          "attributes"?}: the CRM lead's contact, created
 *                                          or updated (its number too), 201/200 with it
 *   POST /api/contacts/bulk?country=&tags=&consent_source=   [{...}, ...] with "lead_id"?:
 *                                          the CSV import's report, "line" = position (1-based)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "contacts_import.h"
#include "db.h"
#include "e164.h"
#include "msgcat.h"
#include "route.h"

#define CRM_ONE_LIMIT  (256 * 1024)
#define CRM_BULK_LIMIT (16 * 1024 * 1024)
#define CRM_BULK_MAX   10000

/* One JSON item as an import row. Returns 0, or -1 with the reason in why (the row is then
 * rejected). tagbuf holds the tags joined with ',' (caller frees). */
static int item_row(json_object *it, int with_lead, struct contacts_import_row *r, char **tagbuf,
                    char *why, size_t wl)
{
    static const char *const known[] = {"phone", "name",       "lead_id", "consent",
                                        "tags",  "attributes", NULL};
    memset(r, 0, sizeof *r);
    *tagbuf = NULL;
    if (!json_object_is_type(it, json_type_object)) {
        snprintf(why, wl, "the item is not an object");
        return -1;
    }
    json_object_object_foreach(it, key, val)
    {
        const char *const *k = known;
        while (*k && strcmp(*k, key) != 0)
            k++;
        if (!*k || (!with_lead && strcmp(key, "lead_id") == 0)) {
            snprintf(why, wl, "%.64s is not a field of a contact", key);
            return -1;
        }
        if (json_object_is_type(val, json_type_null))
            continue;
        int text = json_object_is_type(val, json_type_string);
        if (strcmp(key, "consent") == 0) {
            if (json_object_is_type(val, json_type_boolean)) {
                r->consent = json_object_get_boolean(val) ? "yes" : "no";
                r->consent_len = strlen(r->consent);
                continue;
            }
        } else if (strcmp(key, "attributes") == 0) {
            if (!json_object_is_type(val, json_type_object)) {
                snprintf(why, wl, "attributes is an object");
                return -1;
            }
            r->attributes = val;
            continue;
        } else if (strcmp(key, "tags") == 0 && json_object_is_type(val, json_type_array)) {
            size_t n = json_object_array_length(val), len = 0;
            char *b = calloc(n * 65 + 1, 1);
            for (size_t i = 0; b && i < n; i++) {
                json_object *t = json_object_array_get_idx(val, i);
                size_t tl = json_object_is_type(t, json_type_string)
                                ? (size_t)json_object_get_string_len(t)
                                : 0;
                if (tl < 1 || tl > 64 || strpbrk(json_object_get_string(t), ",|")) {
                    free(b);
                    snprintf(why, wl, "tags[%zu] has 1 to 64 characters, no ',' or '|'", i);
                    return -1;
                }
                len += (size_t)sprintf(b + len, "%s%s", i ? "," : "", json_object_get_string(t));
            }
            if (!b) {
                snprintf(why, wl, "out of memory");
                return -1;
            }
            *tagbuf = b;
            r->tags = b;
            r->tags_len = len;
            continue;
        }
        if (!text) {
            snprintf(why, wl, "%s is text", key);
            return -1;
        }
        const char *s = json_object_get_string(val);
        size_t sl = (size_t)json_object_get_string_len(val);
        if (strcmp(key, "phone") == 0) {
            r->phone = s, r->phone_len = sl;
        } else if (strcmp(key, "name") == 0) {
            r->name = s, r->name_len = sl;
        } else if (strcmp(key, "lead_id") == 0) {
            if (sl > 64) {
                snprintf(why, wl, "lead_id has at most 64 characters");
                return -1;
            }
            r->lead_id = s, r->lead_len = sl;
        } else if (strcmp(key, "consent") == 0) {
            r->consent = s, r->consent_len = sl;
        } else {
            r->tags = s, r->tags_len = sl;
        }
    }
    return 0;
}

/* The import options of the query string; answers 400 and returns -1 when bad. The strings
 * are the caller's to free. */
static int crm_opts(struct request *req, char cc[3], char **tags, char **source)
{
    char *country = http_query_param(req->query, "country");
    *tags = http_query_param(req->query, "tags");
    *source = http_query_param(req->query, "consent_source");
    if (country && e164_country_calling_code(country) != 0)
        snprintf(cc, 3, "%s", country);
    else
        app_default_country(req->app->db, cc);
    free(country);
    if (*source && (!**source || strlen(*source) > 120)) {
        http_fail_range(req, 400, "invalid_field", "consent_source",
                        "contact.consent_source_length", "consent_source has 1 to 120 characters",
                        1, 120);
        return -1;
    }
    if (!*source)
        *source = strdup("api");
    return 0;
}

void api_contacts_bulk(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char cc[3], *tags = NULL, *source = NULL;
    struct contacts_import *u = NULL;
    json_object *items = NULL;
    struct db *db = req->app->db;
    if (crm_opts(req, cc, &tags, &source) < 0 ||
        !(items = http_json_array_body(req, CRM_BULK_LIMIT)))
        goto out;
    size_t n = json_object_array_length(items);
    if (n == 0) {
        http_fail(req, 400, "invalid_field", "body", "contact.bulk_empty", NULL,
                  "the array holds no contact");
        goto out;
    }
    if (n > CRM_BULK_MAX) {
        http_fail_range(req, 413, "too_many_items", "body", "contact.bulk_too_many",
                        "too many contacts in one request", 1, CRM_BULK_MAX);
        goto out;
    }
    struct contacts_import_opts opts = {.country = cc, .tags = tags, .consent_source = source};
    if (!(u = api_contacts_import_begin(req, db, &opts)))
        goto out;
    if (!contacts_import_failure(u, NULL, NULL, NULL)) {
        for (size_t i = 0; i < n; i++) {
            struct contacts_import_row r;
            char *tagbuf, why[160];
            if (item_row(json_object_array_get_idx(items, i), 1, &r, &tagbuf, why, sizeof why) < 0)
                contacts_import_reject(u, i + 1, "invalid_item", why);
            else if (contacts_import_add(u, i + 1, &r) < 0)
                i = n; /* failed as a whole */
            free(tagbuf);
        }
    }
    api_contacts_import_end(req, db, u, "contacts.bulk");
out:
    contacts_import_free(u);
    json_object_put(items);
    free(tags);
    free(source);
}

/* The lead's contact keeps its id when its number changes: the number moves first (then the
 * import's upsert by number finds it). 0, or an answer given and -1. */
static int move_lead_number(struct request *req, const char *lead, const char *phone,
                            const char *country)
{
    struct db *db = req->app->db;
    char to[E164_MAX + 1];
    if (e164_normalize(phone, strlen(phone), country, to) != E164_OK)
        return 0; /* the import rejects it with its reason */
    struct db_rows r;
    if (db_query(db,
                 "SELECT c.id, c.phone, (SELECT o.id FROM contacts o WHERE o.phone = ?) "
                 "FROM contacts c WHERE c.lead_id = ? ORDER BY c.id LIMIT 1 FOR UPDATE",
                 DB_ARGS(DB_STR(to), DB_STR(lead)), &r) != DB_OK) {
        http_db_error(req, "read the lead's contact");
        return -1;
    }
    long long id = r.nrows ? db_int(&r, 0, 0, 0) : 0, other = r.nrows ? db_int(&r, 0, 2, 0) : 0;
    int same = r.nrows && db_val(&r, 0, 1) && strcmp(db_val(&r, 0, 1), to) == 0;
    db_rows_free(&r);
    if (!id || same)
        return 0;
    if (other) {
        http_fail_str(req, 409, "phone_taken", "phone", "contact.phone_other",
                      "the number is another contact's: merge or delete that contact first",
                      "phone", to);
        return -1;
    }
    if (db_exec(db, "UPDATE contacts SET phone = ? WHERE id = ?", DB_ARGS(DB_STR(to), DB_INT(id)),
                NULL) != DB_OK) {
        http_db_error(req, "change the lead's number");
        return -1;
    }
    return 0;
}

/* The one row's rejection as an answer: 422 with the import's reason as the code. */
static void answer_rejected(struct request *req, struct contacts_import *u)
{
    json_object *rep = contacts_import_report(u), *rej, *first, *v;
    const char *reason = "rejected", *msg = "the contact was not stored";
    if (json_object_object_get_ex(rep, "rejected", &rej) && json_object_array_length(rej) > 0) {
        first = json_object_array_get_idx(rej, 0);
        if (json_object_object_get_ex(first, "reason", &v))
            reason = json_object_get_string(v);
        if (json_object_object_get_ex(first, "message", &v))
            msg = json_object_get_string(v);
    }
    char key[64];
    snprintf(key, sizeof key, "import.%s", reason);
    http_fail(req, 422, reason, NULL, msgcat_find(key) ? key : NULL, NULL, msg);
    json_object_put(rep);
}

void api_contacts_by_lead(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    const char *lead = route_last_segment(req->path);
    char cc[3], *tags = NULL, *source = NULL, *tagbuf = NULL, why[160];
    struct contacts_import *u = NULL;
    json_object *in = NULL;
    struct db *db = req->app->db;
    struct contacts_import_row r;
    if (crm_opts(req, cc, &tags, &source) < 0 || !(in = http_json_body(req, CRM_ONE_LIMIT)))
        goto out;
    if (item_row(in, 0, &r, &tagbuf, why, sizeof why) < 0) {
        http_error(req, 400, "invalid_field", why, NULL);
        goto out;
    }
    if (!r.phone) {
        http_fail(req, 400, "missing_field", "phone", "contact.phone_required", NULL,
                  "phone is required");
        goto out;
    }
    r.lead_id = lead;
    r.lead_len = strlen(lead);
    struct contacts_import_opts opts = {.country = cc, .tags = tags, .consent_source = source};
    if (!(u = contacts_import_new(db, &opts))) {
        http_error(req, 500, "internal", "out of memory", NULL);
        goto out;
    }
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    if (move_lead_number(req, lead, r.phone, cc) < 0) {
        db_rollback(db);
        goto out;
    }
    contacts_import_add(u, 1, &r);
    contacts_import_finish(u);
    long long stored = 0, added = 0;
    contacts_import_counts(u, NULL, &stored, &added, NULL);
    const char *code, *field, *msg;
    int status = contacts_import_failure(u, &code, &field, &msg);
    if (status || !stored) {
        db_rollback(db);
        if (status)
            http_error(req, status, code, msg, field);
        else
            answer_rejected(req, u);
        goto out;
    }
    struct db_rows rows;
    long long id = 0;
    if (db_query(db, "SELECT id FROM contacts WHERE lead_id = ? ORDER BY id LIMIT 1",
                 DB_ARGS(DB_STR(lead)), &rows) == DB_OK) {
        id = rows.nrows ? db_int(&rows, 0, 0, 0) : 0;
        db_rows_free(&rows);
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "lead_id", json_object_new_string(lead));
    json_object_object_add(d, "added", json_object_new_boolean(added > 0));
    if (!id)
        json_object_put(d);
    if (!id || audit_write(req, "contact.upsert", "contact", id, 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the contact");
        goto out;
    }
    api_contact_answer(req, id, added ? 201 : 200);
out:
    contacts_import_free(u);
    json_object_put(in);
    free(tagbuf);
    free(tags);
    free(source);
}
