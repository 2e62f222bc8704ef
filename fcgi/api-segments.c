/* /api/segments: saved definitions of which contacts make an audience (issue 21), their live
 * counts, and the count of a definition being written. What a definition means and its SQL:
 * lib/segment.h; adding one to a campaign: api-recipients.c. Every change is audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "db.h"
#include "segment.h"

/* 400 naming what is wrong with a definition (its field inside "definition"). */
static void fail_definition(struct request *req, const struct segment_error *e, int nested)
{
    char field[96];
    snprintf(field, sizeof field, "%s%s",
             nested && strcmp(e->field, "definition") ? "definition." : "", e->field);
    http_errorf(req, 400, "invalid_field", field, "%s", e->detail);
}

static json_object *count_json(struct db *db, const struct segment *s, int *rc)
{
    long long total, consented;
    *rc = segment_count(db, s, &total, &consented);
    if (*rc != DB_OK)
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "contacts", json_object_new_int64(total));
    json_object_object_add(o, "with_consent", json_object_new_int64(consented));
    return o;
}

/* One row of segment_store_*; with_count: its live count too (the definition as stored). */
static json_object *segment_json(struct db *db, const struct db_rows *r, size_t i, int with_count,
                                 int *rc)
{
    *rc = DB_OK;
    json_object *o = json_object_new_object();
    json_object *def = json_tokener_parse(db_val(r, i, 2) ? db_val(r, i, 2) : "{}");
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "name", json_str_or_null(db_val(r, i, 1)));
    json_object_object_add(o, "definition", def ? json_object_get(def) : json_object_new_object());
    json_object_object_add(o, "created_by", json_str_or_null(db_val(r, i, 3)));
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 4)));
    json_object_object_add(o, "updated_at", json_str_or_null(db_val(r, i, 5)));
    if (with_count) {
        struct segment s;
        struct segment_error e;
        if (segment_parse(def, &s, &e) == 0) {
            json_object_object_add(o, "count", count_json(db, &s, rc));
            segment_free(&s);
        } else {
            json_object_object_add(o, "count", NULL); /* stored before a rule changed */
        }
    }
    json_object_put(def);
    return o;
}

void api_segments_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows r;
    if (segment_store_list(req->app->db, &r) != DB_OK) {
        http_db_error(req, "list the segments");
        return;
    }
    json_object *arr = json_object_new_array();
    int rc;
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(arr, segment_json(req->app->db, &r, i, 0, &rc));
    db_rows_free(&r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "segments", arr);
    http_json(req, 200, o);
}

/* Answers segment id with its live count (status 200 or 201). */
static void answer(struct request *req, long long id, int status)
{
    struct db_rows r;
    int found, rc;
    if (segment_store_get(req->app->db, id, &r, &found) != DB_OK) {
        http_db_error(req, "read the segment");
        return;
    }
    if (!found) {
        db_rows_free(&r);
        http_error(req, 404, "not_found", "no such segment", NULL);
        return;
    }
    json_object *o = segment_json(req->app->db, &r, 0, 1, &rc);
    db_rows_free(&r);
    if (rc != DB_OK) {
        json_object_put(o);
        http_db_error(req, "count the segment");
        return;
    }
    http_json(req, status, o);
}

void api_segments_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    answer(req, req->ids[0], 200);
}

/* {"definition": {...}}: how many contacts it takes, before saving it. */
void api_segments_count(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 64 * 1024), *def = NULL;
    if (!in)
        return;
    static const char *const known[] = {"definition", NULL};
    struct segment s;
    struct segment_error e;
    if (http_json_only(req, in, known, "a segment count field") < 0)
        goto out;
    json_object_object_get_ex(in, "definition", &def);
    if (segment_parse(def, &s, &e) < 0) {
        fail_definition(req, &e, 1);
        goto out;
    }
    int rc;
    json_object *o = count_json(req->app->db, &s, &rc);
    segment_free(&s);
    if (rc != DB_OK)
        http_db_error(req, "count the segment");
    else
        http_json(req, 200, o);
out:
    json_object_put(in);
}

/* The name and definition of a create (both needed) or an update (either). Returns 0, or -1
 * answered. *def_text is malloc'd (NULL when not given). */
static int read_input(struct request *req, json_object *in, int create, const char **name,
                      char **def_text)
{
    static const char *const known[] = {"name", "definition", NULL};
    json_object *v, *def = NULL;
    *def_text = NULL;
    if (http_json_only(req, in, known, "a segment field") < 0)
        return -1;
    *name = json_str(in, "name");
    if ((create || json_object_object_get_ex(in, "name", &v)) &&
        (!*name || !**name || strlen(*name) > 200)) {
        http_fail_range(req, 400, "invalid_field", "name", "segment.name_length",
                        "name has 1 to 200 characters", 1, 200);
        return -1;
    }
    if (!json_object_object_get_ex(in, "definition", &def) && !create)
        return 0;
    struct segment s;
    struct segment_error e;
    if (segment_parse(def, &s, &e) < 0) {
        fail_definition(req, &e, 1);
        return -1;
    }
    *def_text = strdup(json_object_to_json_string_ext(s.def, JSON_C_TO_STRING_PLAIN));
    segment_free(&s);
    if (!*def_text) {
        http_error(req, 500, "internal", "out of memory", NULL);
        return -1;
    }
    return 0;
}

static void audit_and_answer(struct request *req, const char *action, long long id,
                             const char *name, const char *def_text, int status)
{
    struct db *db = req->app->db;
    json_object *d = json_object_new_object();
    if (name)
        json_object_object_add(d, "name", json_object_new_string(name));
    if (def_text)
        json_object_object_add(d, "definition", json_tokener_parse(def_text));
    if (audit_write(req, action, "segment", id, 0, d) != DB_OK || db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the segment");
        return;
    }
    if (status == 204)
        http_text(req, 204, "application/json", "", 0);
    else
        answer(req, id, status);
}

static void refuse_name(struct request *req)
{
    http_fail(req, 409, "duplicate", "name", "segment.duplicate", NULL,
              "another segment has that name");
}

/* {"name": "...", "definition": {...}} */
void api_segments_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 64 * 1024);
    if (!in)
        return;
    struct db *db = req->app->db;
    const char *name;
    char *def_text = NULL;
    long long id;
    int dup;
    if (read_input(req, in, 1, &name, &def_text) < 0)
        goto out;
    if (db_begin(db) != DB_OK ||
        segment_store_insert(db, name, def_text, req->user, &id, &dup) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the segment");
        goto out;
    }
    if (dup) {
        db_rollback(db);
        refuse_name(req);
        goto out;
    }
    audit_and_answer(req, "segment.create", id, name, def_text, 201);
out:
    free(def_text);
    json_object_put(in);
}

/* {"name"?, "definition"?} */
void api_segments_update(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 64 * 1024);
    if (!in)
        return;
    struct db *db = req->app->db;
    const char *name;
    char *def_text = NULL;
    int found, dup;
    if (read_input(req, in, 0, &name, &def_text) < 0)
        goto out;
    if (db_begin(db) != DB_OK ||
        segment_store_update(db, req->ids[0], name, def_text, &found, &dup) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the segment");
        goto out;
    }
    if (dup || !found) {
        db_rollback(db);
        if (dup)
            refuse_name(req);
        else
            http_error(req, 404, "not_found", "no such segment", NULL);
        goto out;
    }
    audit_and_answer(req, "segment.update", req->ids[0], name, def_text, 200);
out:
    free(def_text);
    json_object_put(in);
}

void api_segments_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    int found;
    if (db_begin(db) != DB_OK || segment_store_delete(db, req->ids[0], &found) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the segment");
        return;
    }
    if (!found) {
        db_rollback(db);
        http_error(req, 404, "not_found", "no such segment", NULL);
        return;
    }
    audit_and_answer(req, "segment.delete", req->ids[0], NULL, NULL, 204);
}
