/* /api/templates: the cache of Meta's message templates (sync, list, show) and previews that
 * show exactly what a recipient reads. Every query on the templates table lives here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "app.h"
#include "audit.h"
#include "cloudapi.h"
#include "db.h"
#include "graph.h"
#include "log.h"
#include "parammap.h"

#define JSON_LIMIT (256 * 1024)
#define MAX_PAGES  200

#define TEMPLATE_COLUMNS                                                                           \
    "t.id, t.account_id, t.meta_id, t.name, t.language, t.category, t.status, "                    \
    "t.parameter_format, t.components, t.params, t.status_reason, " TS("t.synced_at") ", " TS(     \
        "t.missing_since")

static json_object *parse_or(const char *s, json_object *dflt)
{
    json_object *o = s ? json_tokener_parse(s) : NULL;
    if (!o)
        return dflt;
    json_object_put(dflt);
    return o;
}

static json_object *template_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "account_id", json_object_new_int64(db_int(r, i, 1, 0)));
    json_object_object_add(o, "meta_id", json_str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "name", json_str_or_null(db_val(r, i, 3)));
    json_object_object_add(o, "language", json_str_or_null(db_val(r, i, 4)));
    json_object_object_add(o, "category", json_str_or_null(db_val(r, i, 5)));
    json_object_object_add(o, "status", json_str_or_null(db_val(r, i, 6)));
    json_object_object_add(o, "parameter_format", json_str_or_null(db_val(r, i, 7)));
    json_object_object_add(o, "components", parse_or(db_val(r, i, 8), json_object_new_array()));
    json_object_object_add(o, "params", parse_or(db_val(r, i, 9), json_object_new_array()));
    const char *reason = db_val(r, i, 10);
    json_object_object_add(o, "status_reason", json_str_or_null(reason));
    json_object_object_add(o, "synced_at", json_str_or_null(db_val(r, i, 11)));
    json_object_object_add(o, "missing_since", json_str_or_null(db_val(r, i, 12)));
    int supported = !(reason && strncmp(reason, "pregon:", 7) == 0);
    json_object_object_add(o, "usable",
                           json_object_new_boolean(db_val(r, i, 6) &&
                                                   strcmp(db_val(r, i, 6), "APPROVED") == 0 &&
                                                   !db_val(r, i, 12) && supported));
    return o;
}

int templates_lookup(struct db *db, long long account_id, const char *name, const char *lang,
                     struct tmpl_info *t)
{
    memset(t, 0, sizeof *t);
    struct db_rows r;
    if (db_query(db,
                 "SELECT id, components, status, missing_since IS NOT NULL, parameter_format, "
                 "category, status_reason FROM templates WHERE account_id = ? AND name = ? AND "
                 "language = ?",
                 DB_ARGS(DB_INT(account_id), DB_STR(name), DB_STR(lang)), &r) != DB_OK)
        return -1;
    if (r.nrows == 0) {
        db_rows_free(&r);
        return 1;
    }
    t->id = db_int(&r, 0, 0, 0);
    t->components = strdup(db_val(&r, 0, 1) ? db_val(&r, 0, 1) : "[]");
    snprintf(t->status, sizeof t->status, "%s", db_val(&r, 0, 2) ? db_val(&r, 0, 2) : "");
    t->missing = (int)db_int(&r, 0, 3, 0);
    t->named = db_val(&r, 0, 4) && strcmp(db_val(&r, 0, 4), "NAMED") == 0;
    snprintf(t->category, sizeof t->category, "%s", db_val(&r, 0, 5) ? db_val(&r, 0, 5) : "");
    db_rows_free(&r);
    if (!t->components)
        return -1;
    return 0;
}

void templates_info_free(struct tmpl_info *t)
{
    free(t->components);
    t->components = NULL;
}

json_object *templates_preview_json(const char *components, const char *const *values,
                                    size_t nvalues, char *err, size_t errlen)
{
    struct cloudapi_preview p;
    if (cloudapi_render_preview(components, values, nvalues, &p, err, errlen) != 0)
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "header_format", json_str_or_null(p.header_format));
    json_object_object_add(o, "header", json_str_or_null(p.header));
    json_object_object_add(o, "body", json_str_or_null(p.body));
    json_object_object_add(o, "footer", json_str_or_null(p.footer));
    json_object *b = json_object_new_array();
    for (size_t i = 0; i < p.nbuttons; i++) {
        json_object *x = json_object_new_object();
        json_object_object_add(x, "text", json_str_or_null(p.buttons[i].text));
        json_object_object_add(x, "url", json_str_or_null(p.buttons[i].url));
        json_object_array_add(b, x);
    }
    json_object_object_add(o, "buttons", b);
    /* What a phone shows, top to bottom, as one text. */
    size_t cap = 64 + (p.header ? strlen(p.header) : 0) + (p.body ? strlen(p.body) : 0) +
                 (p.footer ? strlen(p.footer) : 0);
    for (size_t i = 0; i < p.nbuttons; i++)
        cap += 8 + (p.buttons[i].text ? strlen(p.buttons[i].text) : 0);
    char *text = calloc(1, cap);
    if (text) {
        size_t n = 0;
        if (p.header && p.header_format && strcmp(p.header_format, "text") == 0)
            n += (size_t)snprintf(text + n, cap - n, "%s\n\n", p.header);
        else if (p.header_format)
            n += (size_t)snprintf(text + n, cap - n, "[%s]\n\n", p.header_format);
        if (p.body)
            n += (size_t)snprintf(text + n, cap - n, "%s", p.body);
        if (p.footer)
            n += (size_t)snprintf(text + n, cap - n, "\n\n%s", p.footer);
        for (size_t i = 0; i < p.nbuttons; i++)
            n += (size_t)snprintf(text + n, cap - n, "\n[ %s ]",
                                  p.buttons[i].text ? p.buttons[i].text : "");
        json_object_object_add(o, "text", json_object_new_string(text));
        free(text);
    }
    cloudapi_preview_free(&p);
    return o;
}

/* The slots of a template as stored in templates.params. */
static char *slots_json(const struct cloudapi_slots *s)
{
    static const char *types[] = {"text", "image", "document", "video", "payload", "coupon"};
    json_object *arr = json_object_new_array();
    char label[96];
    for (size_t i = 0; i < s->n; i++) {
        const struct cloudapi_slot *sl = &s->v[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "component",
                               json_object_new_string(sl->component == CLOUDAPI_C_HEADER ? "header"
                                                      : sl->component == CLOUDAPI_C_BODY
                                                          ? "body"
                                                          : "button"));
        if (sl->component == CLOUDAPI_C_BUTTON)
            json_object_object_add(o, "index", json_object_new_int(sl->index));
        json_object_object_add(
            o, "type", json_object_new_string((unsigned)sl->type < 6 ? types[sl->type] : "text"));
        json_object_object_add(o, "name", json_str_or_null(sl->name[0] ? sl->name : NULL));
        parammap_slot_label(sl, label, sizeof label);
        json_object_object_add(o, "label", json_object_new_string(label));
        json_object_array_add(arr, o);
    }
    char *out = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(arr);
    return out;
}

/* ---- sync -------------------------------------------------------------------------------- */

struct sync_result {
    long long account_id;
    int pages;
    long long fetched, inserted, updated, unchanged, missing, skipped;
    int failed_status; /* 0 ok */
    char code[32];
    char message[512];
};

static int fail_sync(struct sync_result *r, int status, const char *code, const char *fmt,
                     const char *a)
{
    r->failed_status = status;
    snprintf(r->code, sizeof r->code, "%s", code);
    snprintf(r->message, sizeof r->message, fmt, a);
    return -1;
}

/* Meta's error for a failed listing, in words. */
static void graph_error_text(const struct graph_answer *a, char *out, size_t len)
{
    json_object *o = a->body ? json_tokener_parse(a->body) : NULL, *e, *m, *c;
    if (o && json_object_object_get_ex(o, "error", &e) &&
        json_object_object_get_ex(e, "message", &m)) {
        int code = json_object_object_get_ex(e, "code", &c) ? json_object_get_int(c) : 0;
        snprintf(out, len, "the Graph API answered %ld, error %d: %.300s (%s)", a->status, code,
                 json_object_get_string(m), cloudapi_explain(code, "en"));
    } else {
        snprintf(out, len, "the Graph API answered %ld", a->status);
    }
    json_object_put(o);
}

static int sync_account(struct request *req, const struct account *acc, long long page_size,
                        struct sync_result *r)
{
    memset(r, 0, sizeof *r);
    r->account_id = acc->id;
    if (!acc->access_token)
        return fail_sync(r, 409, "no_credentials",
                         "account %s has no access token (or it cannot be decrypted)",
                         acc->phone_number_id);
    const char *base = acc->graph_base_url ? acc->graph_base_url : req->app->cfg.graph_base_url;
    char url[2048];
    snprintf(url, sizeof url,
             "%s/%s/%s/message_templates?limit=%lld&fields=name,language,status,category,"
             "components,parameter_format",
             base, acc->graph_version, acc->waba_id, page_size);
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/", base);

    struct cloudapi_template_page pages[MAX_PAGES];
    int np = 0, rc = 0;
    char *next = NULL;
    for (;;) {
        if (np == MAX_PAGES) {
            rc = fail_sync(r, 502, "graph_error", "%s", "the template list has over 200 pages");
            break;
        }
        struct graph_answer a;
        if (graph_call(next ? next : url, acc->access_token, NULL, 20000, &a) < 0) {
            rc = fail_sync(r, 502, "graph_unreachable", "the Graph API did not answer: %s", a.err);
            graph_answer_free(&a);
            break;
        }
        if (a.status != 200) {
            char msg[512];
            graph_error_text(&a, msg, sizeof msg);
            rc = fail_sync(r, 502, "graph_error", "%s", msg);
            graph_answer_free(&a);
            break;
        }
        char err[256];
        if (cloudapi_parse_templates(a.body, a.len, &pages[np], err, sizeof err) != 0) {
            rc = fail_sync(r, 502, "graph_error", "%s", err);
            graph_answer_free(&a);
            break;
        }
        graph_answer_free(&a);
        r->skipped += (long long)pages[np].skipped;
        free(next);
        next = pages[np].next ? strdup(pages[np].next) : NULL;
        np++;
        if (!next)
            break;
        /* Never send the token anywhere but the Graph API we were configured with. */
        if (strncmp(next, prefix, strlen(prefix)) != 0) {
            rc = fail_sync(r, 502, "graph_error",
                           "paging.next points outside %s; the sync stopped there", base);
            break;
        }
    }
    free(next);
    r->pages = np;

    struct db *db = req->app->db;
    struct db_rows now;
    if (rc == 0 &&
        (db_begin(db) != DB_OK || db_query(db, "SELECT NOW(3)", DB_NOARGS, &now) != DB_OK)) {
        db_rollback(db);
        rc = fail_sync(r, 500, "database_error", "%s", "could not begin the sync");
    }
    if (rc == 0) {
        char stamp[32];
        snprintf(stamp, sizeof stamp, "%s", db_val(&now, 0, 0));
        db_rows_free(&now);
        for (int p = 0; p < np && rc == 0; p++) {
            for (size_t i = 0; i < pages[p].n && rc == 0; i++) {
                const struct cloudapi_template *t = &pages[p].items[i];
                struct cloudapi_slots s;
                char err[256] = "", reason[300] = "";
                char *params = NULL;
                if (cloudapi_template_slots(t->components, &s, err, sizeof err) == 0) {
                    params = slots_json(&s);
                    cloudapi_slots_free(&s);
                } else {
                    snprintf(reason, sizeof reason, "pregon: cannot be sent: %.200s", err);
                }
                struct db_res res;
                int erc = db_exec(
                    db,
                    "INSERT INTO templates (account_id, meta_id, name, language, category, "
                    "status, parameter_format, components, params, status_reason, synced_at, "
                    "missing_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
                    "ON DUPLICATE KEY UPDATE meta_id = VALUES(meta_id), category = "
                    "VALUES(category), status = VALUES(status), parameter_format = "
                    "VALUES(parameter_format), components = VALUES(components), params = "
                    "VALUES(params), status_reason = VALUES(status_reason), synced_at = "
                    "VALUES(synced_at), missing_since = NULL",
                    DB_ARGS(DB_INT(acc->id), DB_STR(t->id), DB_STR(t->name), DB_STR(t->language),
                            DB_STR(t->category), DB_STR(t->status),
                            DB_STR(t->named ? "NAMED" : "POSITIONAL"), DB_STR(t->components),
                            DB_STR(params ? params : "[]"), DB_STR(*reason ? reason : NULL),
                            DB_STR(stamp)),
                    &res);
                free(params);
                if (erc != DB_OK) {
                    rc =
                        fail_sync(r, 500, "database_error", "could not store template %s", t->name);
                    break;
                }
                r->fetched++;
                if (res.affected == 1)
                    r->inserted++;
                else
                    r->updated++;
            }
        }
        struct db_res mres;
        if (rc == 0 &&
            db_exec(db,
                    "UPDATE templates SET missing_since = ? WHERE account_id = ? AND "
                    "synced_at < ? AND missing_since IS NULL",
                    DB_ARGS(DB_STR(stamp), DB_INT(acc->id), DB_STR(stamp)), &mres) != DB_OK)
            rc = fail_sync(r, 500, "database_error", "%s", "could not mark missing templates");
        if (rc == 0)
            r->missing = (long long)mres.affected;
        json_object *d = json_object_new_object();
        json_object_object_add(d, "fetched", json_object_new_int64(r->fetched));
        json_object_object_add(d, "pages", json_object_new_int(r->pages));
        json_object_object_add(d, "newly_missing", json_object_new_int64(r->missing));
        if (rc == 0 && (audit_write(req, "templates.sync", "account", acc->id, 0, d) != DB_OK ||
                        db_commit(db) != DB_OK))
            rc = fail_sync(r, 500, "database_error", "%s", "could not store the templates");
        else if (rc != 0)
            json_object_put(d);
        if (rc != 0)
            db_rollback(db);
    }
    for (int p = 0; p < np; p++)
        cloudapi_template_page_free(&pages[p]);
    return rc;
}

void api_templates_sync(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = NULL;
    if (req->content_length > 0) {
        in = http_json_body(req, JSON_LIMIT);
        if (!in)
            return;
    }
    long long account_id = 0, page_size = 100;
    int has_acc = 0;
    if (in && (json_int_member(req, in, "account_id", 1, (1LL << 62), &account_id, &has_acc) < 0 ||
               json_int_member(req, in, "page_size", 1, 1000, &page_size, NULL) < 0)) {
        json_object_put(in);
        return;
    }
    json_object_put(in);
    struct account_list accs;
    if (accounts_load(req->app->db, req->app->have_key ? &req->app->key : NULL, &accs) != DB_OK) {
        http_db_error(req, "read the accounts");
        return;
    }
    if (has_acc && !accounts_find(&accs, account_id)) {
        accounts_free(&accs);
        http_error(req, 404, "not_found", "no such WhatsApp account", "account_id");
        return;
    }
    json_object *arr = json_object_new_array();
    int any_ok = 0, last_status = 0;
    char last_code[32] = "", last_msg[512] = "";
    for (size_t i = 0; i < accs.n; i++) {
        if (has_acc && accs.v[i].id != account_id)
            continue;
        struct sync_result r;
        sync_account(req, &accs.v[i], page_size, &r);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "account_id", json_object_new_int64(r.account_id));
        json_object_object_add(o, "ok", json_object_new_boolean(r.failed_status == 0));
        json_object_object_add(o, "pages", json_object_new_int(r.pages));
        json_object_object_add(o, "fetched", json_object_new_int64(r.fetched));
        json_object_object_add(o, "inserted", json_object_new_int64(r.inserted));
        json_object_object_add(o, "updated", json_object_new_int64(r.updated));
        json_object_object_add(o, "skipped", json_object_new_int64(r.skipped));
        json_object_object_add(o, "newly_missing", json_object_new_int64(r.missing));
        if (r.failed_status) {
            json_object *e = json_object_new_object();
            json_object_object_add(e, "code", json_object_new_string(r.code));
            json_object_object_add(e, "message", json_object_new_string(r.message));
            json_object_object_add(o, "error", e);
            last_status = r.failed_status;
            snprintf(last_code, sizeof last_code, "%s", r.code);
            snprintf(last_msg, sizeof last_msg, "%s", r.message);
            log_warn("template sync of account %lld: %s", r.account_id, r.message);
        } else {
            any_ok = 1;
        }
        json_object_array_add(arr, o);
    }
    accounts_free(&accs);
    if (!any_ok && last_status) {
        json_object_put(arr);
        http_error(req, last_status, last_code, last_msg, NULL);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "accounts", arr);
    http_json(req, 200, o);
}

/* ---- list, show, preview ------------------------------------------------------------------ */

void api_templates_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    char *status = http_query_param(req->query, "status");
    char *category = http_query_param(req->query, "category");
    char *language = http_query_param(req->query, "language");
    char *name = http_query_param(req->query, "name");
    long long account_id, inc_missing, usable;
    if (http_query_ll(req, "account_id", 0, 0, 1LL << 62, &account_id) < 0 ||
        http_query_ll(req, "include_missing", 0, 0, 1, &inc_missing) < 0 ||
        http_query_ll(req, "usable", 0, 0, 1, &usable) < 0)
        goto out;
    struct db_rows rows;
    if (db_query(req->app->db,
                 "SELECT " TEMPLATE_COLUMNS " FROM templates t WHERE (? = 0 OR t.account_id = ?) "
                 "AND (? IS NULL OR t.status = ?) AND (? IS NULL OR t.category = ?) AND "
                 "(? IS NULL OR t.language = ?) AND (? IS NULL OR t.name = ?) AND "
                 "(? = 1 OR t.missing_since IS NULL) AND (? = 0 OR (t.status = 'APPROVED' AND "
                 "t.missing_since IS NULL AND (t.status_reason IS NULL OR t.status_reason NOT "
                 "LIKE 'pregon:%'))) ORDER BY t.name, t.language, t.account_id LIMIT 1000",
                 DB_ARGS(DB_INT(account_id), DB_INT(account_id), DB_STR(status), DB_STR(status),
                         DB_STR(category), DB_STR(category), DB_STR(language), DB_STR(language),
                         DB_STR(name), DB_STR(name), DB_INT(inc_missing), DB_INT(usable)),
                 &rows) != DB_OK) {
        http_db_error(req, "list the templates");
        goto out;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(arr, template_json(&rows, i));
    db_rows_free(&rows);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "templates", arr);
    http_json(req, 200, o);
out:
    free(status);
    free(category);
    free(language);
    free(name);
}

void api_templates_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows rows;
    if (db_query(req->app->db, "SELECT " TEMPLATE_COLUMNS " FROM templates t WHERE t.id = ?",
                 DB_ARGS(DB_INT(req->ids[0])), &rows) != DB_OK) {
        http_db_error(req, "read the template");
        return;
    }
    if (rows.nrows == 0)
        http_error(req, 404, "not_found", "no such template", NULL);
    else
        http_json(req, 200, template_json(&rows, 0));
    db_rows_free(&rows);
}

/* Renders components with the mapping and vars, answering the request either way. */
void templates_answer_preview(struct request *req, const char *components, json_object *map,
                              json_object *vars, json_object *extra)
{
    struct cloudapi_slots s;
    char err[512];
    if (cloudapi_template_slots(components, &s, err, sizeof err) != 0) {
        json_object_put(extra);
        http_errorf(req, 422, "template_unsupported", NULL, "the template cannot be sent: %s", err);
        return;
    }
    const char **values = calloc(s.n + 1, sizeof *values);
    if (!values) {
        cloudapi_slots_free(&s);
        json_object_put(extra);
        http_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    const char *col = NULL;
    if (parammap_values_col(map, &s, vars, values, err, sizeof err, &col) != 0) {
        http_fail_str(req, 422, "missing_value", "params", col ? "preview.missing_column" : NULL,
                      err, col ? "column" : NULL, col);
        goto out;
    }
    json_object *p = templates_preview_json(components, values, s.n, err, sizeof err);
    if (!p) {
        http_errorf(req, 422, "invalid_value", "params", "the template cannot be rendered: %s",
                    err);
        goto out;
    }
    json_object *o = extra ? extra : json_object_new_object();
    extra = NULL;
    json_object *vals = json_object_new_array();
    char label[96];
    for (size_t i = 0; i < s.n; i++) {
        json_object *x = json_object_new_object();
        parammap_slot_label(&s.v[i], label, sizeof label);
        json_object_object_add(x, "slot", json_object_new_string(label));
        json_object_object_add(x, "value", json_object_new_string(values[i]));
        json_object_array_add(vals, x);
    }
    json_object_object_add(o, "values", vals);
    json_object_object_add(o, "preview", p);
    http_json(req, 200, o);
out:
    json_object_put(extra);
    free(values);
    cloudapi_slots_free(&s);
}

void app_parammap_error(struct request *req, const char *err, const char *field)
{
    char var[80];
    const char *key = parammap_error_key(err, field, var, sizeof var);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "var", json_object_new_string(var));
    http_fail(req, 400, "invalid_field", field, key, p, err);
}

void api_templates_preview(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct db_rows rows;
    json_object *map = NULL, *vals, *vars = NULL;
    if (db_query(req->app->db, "SELECT components FROM templates WHERE id = ?",
                 DB_ARGS(DB_INT(req->ids[0])), &rows) != DB_OK) {
        http_db_error(req, "read the template");
        goto out;
    }
    if (rows.nrows == 0) {
        db_rows_free(&rows);
        http_error(req, 404, "not_found", "no such template", NULL);
        goto out;
    }
    char err[256], field[96];
    if (json_object_object_get_ex(in, "values", &vals)) {
        /* A flat list in slot order: the quickest way to try a template. */
        struct cloudapi_slots s;
        if (!json_object_is_type(vals, json_type_array) ||
            cloudapi_template_slots(db_val(&rows, 0, 0), &s, err, sizeof err) != 0) {
            db_rows_free(&rows);
            http_fail(req, 400, "invalid_field", "values", "preview.values_shape", NULL,
                      "values is an array of strings, one per template parameter");
            goto out;
        }
        json_object *p = json_object_new_object(), *h = json_object_new_array(),
                    *b = json_object_new_array(), *bt = json_object_new_object();
        for (size_t i = 0; i < s.n && i < json_object_array_length(vals); i++) {
            json_object *v = json_object_array_get_idx(vals, i);
            if (s.v[i].component == CLOUDAPI_C_HEADER)
                json_object_array_add(h, json_object_get(v));
            else if (s.v[i].component == CLOUDAPI_C_BODY)
                json_object_array_add(b, json_object_get(v));
            else {
                char k[8];
                snprintf(k, sizeof k, "%d", s.v[i].index);
                json_object_object_add(bt, k, json_object_get(v));
            }
        }
        cloudapi_slots_free(&s);
        json_object_object_add(p, "header", h);
        json_object_object_add(p, "body", b);
        json_object_object_add(p, "buttons", bt);
        map = parammap_normalize(p, err, sizeof err, field, sizeof field);
        json_object_put(p);
        if (!map) {
            db_rows_free(&rows);
            app_parammap_error(req, err, "values");
            goto out;
        }
    } else {
        json_object *pm = NULL;
        json_object_object_get_ex(in, "params", &pm);
        map = parammap_normalize(pm, err, sizeof err, field, sizeof field);
        if (!map) {
            db_rows_free(&rows);
            app_parammap_error(req, err, field);
            goto out;
        }
    }
    json_object_object_get_ex(in, "vars", &vars);
    if (vars && !json_object_is_type(vars, json_type_object)) {
        db_rows_free(&rows);
        http_fail(req, 400, "invalid_field", "vars", "test.vars_shape", NULL,
                  "vars is an object of column: value");
        goto out;
    }
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "template_id", json_object_new_int64(req->ids[0]));
    templates_answer_preview(req, db_val(&rows, 0, 0), map, vars, extra);
    db_rows_free(&rows);
out:
    json_object_put(map);
    json_object_put(in);
}
