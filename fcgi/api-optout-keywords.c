/* /api/optout-keywords: the words (whole message) and phrases (inside a message) that opt a
 * person out, or that a person writes to be heard from again ("resume": lifts only opt-outs
 * that came from WhatsApp). Matched after case, accent and punctuation folding (lib/optout.h);
 * stored and checked in lib/person.c. Every change is audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "db.h"
#include "person.h"

static json_object *rule_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "keyword", json_str_or_null(db_val(r, i, 0)));
    json_object_object_add(o, "kind", json_str_or_null(db_val(r, i, 1)));
    json_object_object_add(o, "action", json_str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "created_by", json_str_or_null(db_val(r, i, 3)));
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 4)));
    return o;
}

void api_optout_keywords_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows r;
    if (person_rules_rows(req->app->db, &r) != DB_OK) {
        http_db_error(req, "list the opt-out keywords");
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(arr, rule_json(&r, i));
    db_rows_free(&r);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "keywords", arr);
    http_json(req, 200, o);
}

/* {"keyword": "no quiero recibir", "kind": "phrase", "action": "stop"} */
void api_optout_keywords_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 4 * 1024);
    if (!in)
        return;
    static const char *const known[] = {"keyword", "kind", "action", NULL};
    struct db *db = req->app->db;
    json_object *kv;
    const char *text = json_str(in, "keyword"), *kind = json_str(in, "kind");
    const char *action = json_str(in, "action");
    if (http_json_only(req, in, known, "an opt-out keyword field") < 0)
        goto out;
    if (!text) {
        http_fail(req, 400, "invalid_field", "keyword", "keyword.text", NULL,
                  "keyword is a string");
        goto out;
    }
    if ((json_object_object_get_ex(in, "kind", &kv) && !kind) ||
        (kind && strcmp(kind, "keyword") && strcmp(kind, "phrase"))) {
        http_fail(req, 400, "invalid_field", "kind", "keyword.kind", NULL,
                  "kind is keyword (the whole message) or phrase");
        goto out;
    }
    if ((json_object_object_get_ex(in, "action", &kv) && !action) ||
        (action && strcmp(action, "stop") && strcmp(action, "resume"))) {
        http_fail(req, 400, "invalid_field", "action", "keyword.action", NULL,
                  "action is stop or resume");
        goto out;
    }
    enum optout_kind k = kind && strcmp(kind, "phrase") == 0 ? OPTOUT_PHRASE : OPTOUT_KEYWORD;
    enum optout_action a = action && strcmp(action, "resume") == 0 ? OPTOUT_RESUME : OPTOUT_STOP;
    enum person_rule_result res;
    const char *why;
    char existing[OPTOUT_RULE_MAX + 1];
    if (db_begin(db) != DB_OK ||
        person_rule_add(db, text, k, a, req->user, &res, &why, existing) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the opt-out keyword");
        goto out;
    }
    if (res != PERSON_RULE_OK) {
        db_rollback(db);
        if (res == PERSON_RULE_INVALID)
            http_errorf(req, 400, "invalid_field", "keyword", "keyword %s", why);
        else if (res == PERSON_RULE_DUPLICATE)
            http_fail_str(req, 409, "duplicate", "keyword", "keyword.duplicate",
                          "keyword is the same as an existing one once case, accents and "
                          "punctuation are set aside",
                          "existing", existing);
        else
            http_fail_range(req, 409, "too_many", "keyword", "keyword.too_many",
                            "too many keywords and phrases", 0, PERSON_RULES_MAX);
        goto out;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "keyword", json_object_new_string(text));
    json_object_object_add(d, "kind",
                           json_object_new_string(k == OPTOUT_PHRASE ? "phrase" : "keyword"));
    json_object_object_add(d, "action",
                           json_object_new_string(a == OPTOUT_RESUME ? "resume" : "stop"));
    if (audit_write(req, "optout_keyword.create", "opt_out_keyword", 0, 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the opt-out keyword");
        goto out;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "keyword", json_object_new_string(text));
    json_object_object_add(o, "kind",
                           json_object_new_string(k == OPTOUT_PHRASE ? "phrase" : "keyword"));
    json_object_object_add(o, "action",
                           json_object_new_string(a == OPTOUT_RESUME ? "resume" : "stop"));
    http_json(req, 201, o);
out:
    json_object_put(in);
}

/* DELETE /api/optout-keywords?keyword=...: removes the rule equal to it once folded. */
void api_optout_keywords_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *text = http_query_param(req->query, "keyword");
    struct db *db = req->app->db;
    int removed = 0;
    if (!text || !*text) {
        http_fail(req, 400, "invalid_parameter", "keyword", "keyword.required", NULL,
                  "keyword is required: ?keyword=STOP");
        goto out;
    }
    if (strlen(text) > OPTOUT_RULE_MAX) {
        http_fail_range(req, 400, "invalid_parameter", "keyword", "keyword.length",
                        "keyword has at most 64 bytes", 1, OPTOUT_RULE_MAX);
        goto out;
    }
    if (db_begin(db) != DB_OK || person_rule_remove(db, text, &removed) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "remove the opt-out keyword");
        goto out;
    }
    if (!removed) {
        db_rollback(db);
        http_fail(req, 404, "not_found", "keyword", "keyword.not_found", NULL,
                  "no such opt-out keyword");
        goto out;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "keyword", json_object_new_string(text));
    if (audit_write(req, "optout_keyword.delete", "opt_out_keyword", 0, 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "remove the opt-out keyword");
        goto out;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
out:
    free(text);
}
