/* /api/hooks: outbound events (docs/api.md, Hooks). Superadmin only (routes.c). A hook's
 * secret is sealed like the accounts' tokens (lib/secret.h) and never shown, except a secret
 * the server made for a hook created without one, shown once in the 201. The URL passes the
 * SSRF rule of lib/hooks.h here and again at every delivery (worker/hooks.c). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "db.h"
#include "hooks.h"

/* times as the API gives them (docs/api.md, Conventions) */
#define HOOK_COLS                                                                                  \
    "SELECT h.id, h.url, h.events, h.enabled, h.disabled_reason, "                                 \
    "DATE_FORMAT(h.failing_since, '%Y-%m-%dT%H:%i:%s.%fZ'), h.fail_count, "                        \
    "DATE_FORMAT(h.retry_at, '%Y-%m-%dT%H:%i:%s.%fZ'), h.last_error, "                             \
    "DATE_FORMAT(h.last_ok_at, '%Y-%m-%dT%H:%i:%s.%fZ'), h.created_by, "                           \
    "DATE_FORMAT(h.created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                         \
    "DATE_FORMAT(h.updated_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                         \
    "(SELECT COUNT(*) FROM hook_outbox o WHERE o.hook_id = h.id AND o.delivered_at IS NULL) "      \
    "FROM hooks h "

static json_object *hook_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object(), *ev = json_object_new_array();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "url", json_str_or_null(db_val(r, i, 1)));
    const char *set = db_val(r, i, 2);
    for (const char *p = set; p && *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        json_object_array_add(ev, json_object_new_string_len(p, (int)n));
        p += n + (c ? 1 : 0);
    }
    json_object_object_add(o, "events", ev);
    json_object_object_add(o, "enabled", json_object_new_boolean(db_int(r, i, 3, 0) != 0));
    json_object_object_add(o, "disabled_reason", json_str_or_null(db_val(r, i, 4)));
    json_object_object_add(o, "failing_since", json_str_or_null(db_val(r, i, 5)));
    json_object_object_add(o, "failures", json_object_new_int64(db_int(r, i, 6, 0)));
    json_object_object_add(o, "retry_at", json_str_or_null(db_val(r, i, 7)));
    json_object_object_add(o, "last_error", json_str_or_null(db_val(r, i, 8)));
    json_object_object_add(o, "last_ok_at", json_str_or_null(db_val(r, i, 9)));
    json_object_object_add(o, "created_by", json_str_or_null(db_val(r, i, 10)));
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 11)));
    json_object_object_add(o, "updated_at", json_str_or_null(db_val(r, i, 12)));
    json_object_object_add(o, "pending_events", json_object_new_int64(db_int(r, i, 13, 0)));
    return o;
}

/* The hook {id} as JSON into *out; 0, or answers 404 / the database error and returns -1. */
static int hook_load(struct request *req, long long id, json_object **out)
{
    struct db_rows r;
    if (db_query(req->app->db, HOOK_COLS "WHERE h.id = ?", DB_ARGS(DB_INT(id)), &r) != DB_OK) {
        db_rows_free(&r);
        http_db_error(req, "read the hook");
        return -1;
    }
    if (r.nrows == 0) {
        db_rows_free(&r);
        http_error(req, 404, "not_found", "no such hook", NULL);
        return -1;
    }
    *out = hook_json(&r, 0);
    db_rows_free(&r);
    return 0;
}

/* events: a non-empty array of known names, each once -> "a,b" in the table's order. */
static int parse_events(struct request *req, json_object *v, char *set, size_t len)
{
    size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
    unsigned seen = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
        int k = -1;
        for (int j = 0; hooks_event_names[j]; j++)
            if (strcmp(hooks_event_names[j], s) == 0)
                k = j;
        if (k < 0) {
            http_fail_str(req, 400, "invalid_field", "events", "hook.event_unknown",
                          "not an event (campaign.started, campaign.paused, campaign.resumed, "
                          "campaign.completed, campaign.cancelled, recipient.status, "
                          "optout.created, optout.lifted, reply.received)",
                          "event", s);
            return -1;
        }
        if (seen & (1u << k)) {
            http_fail_str(req, 400, "invalid_field", "events", "hook.event_twice",
                          "an event is named twice", "event", s);
            return -1;
        }
        seen |= 1u << k;
    }
    if (n == 0) {
        http_fail(req, 400, "invalid_field", "events", "hook.events_empty", NULL,
                  "events is a non-empty array of event names");
        return -1;
    }
    size_t at = 0;
    set[0] = '\0';
    for (int j = 0; hooks_event_names[j]; j++)
        if (seen & (1u << j))
            at += (size_t)snprintf(set + at, len - at, "%s%s", at ? "," : "", hooks_event_names[j]);
    return 0;
}

static int check_url(struct request *req, const char *url)
{
    char err[512];
    int policy = hooks_targets_parse(req->app->cfg.hooks_allow_targets);
    if (!url) {
        http_error(req, 400, "invalid_field", "url is a string", "url");
        return -1;
    }
    int rc = hooks_url_check(url, policy < 0 ? HOOKS_TARGETS_PUBLIC : (enum hooks_targets)policy,
                             NULL, 0, err, sizeof err);
    if (rc == -1)
        http_error(req, 400, "invalid_field", err, "url");
    else if (rc == -2)
        http_error(req, 422, "url_refused", err, "url");
    return rc < 0 ? -1 : 0;
}

/* A given secret: printable ASCII, HOOKS_SECRET_MIN..MAX characters. */
static int check_secret(struct request *req, json_object *v, const char **out)
{
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    size_t n = s ? strlen(s) : 0;
    int ok = n >= HOOKS_SECRET_MIN && n <= HOOKS_SECRET_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > 0x20 && s[i] < 0x7f;
    if (!ok) {
        http_fail_range(req, 400, "invalid_field", "secret", "hook.secret",
                        "secret is printable characters without spaces", HOOKS_SECRET_MIN,
                        HOOKS_SECRET_MAX);
        return -1;
    }
    *out = s;
    return 0;
}

static unsigned char *seal(struct request *req, const char *secret, size_t *blen)
{
    if (!req->app->have_key) {
        http_error(req, 503, "no_secrets_key",
                   "the server has no secrets key, so it cannot store a hook's secret", "secret");
        return NULL;
    }
    unsigned char *b = secret_seal(&req->app->key, secret, strlen(secret), blen);
    if (!b)
        http_error(req, 500, "internal", "out of memory", NULL);
    return b;
}

static const char *const hook_fields[] = {"url", "events", "secret", "enabled", NULL};

/* {"url", "events": [...], "secret"?} */
void api_hooks_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 16 * 1024), *v;
    if (!in)
        return;
    struct db *db = req->app->db;
    char set[512], made[2 * 32 + 1] = "";
    const char *url = json_str(in, "url"), *secret = NULL;
    unsigned char *blob = NULL;
    size_t blen = 0;
    if (!json_object_object_get_ex(in, "events", &v))
        v = NULL; /* refused by parse_events */
    if (http_json_only(req, in, hook_fields, "a hook field") < 0 ||
        parse_events(req, v, set, sizeof set) < 0)
        goto out;
    if (json_object_object_get_ex(in, "enabled", &v)) {
        http_fail(req, 400, "invalid_field", "enabled", "hook.enabled_on_create", NULL,
                  "a new hook is enabled; PATCH changes it");
        goto out;
    }
    if (check_url(req, url) < 0)
        goto out;
    if (json_object_object_get_ex(in, "secret", &v) && check_secret(req, v, &secret) < 0)
        goto out;
    if (!secret) {
        unsigned char raw[32];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(made, sizeof made, raw, sizeof raw);
        sodium_memzero(raw, sizeof raw);
        secret = made;
    }
    if (!(blob = seal(req, secret, &blen)))
        goto out;
    struct db_res res;
    json_object *d = json_object_new_object();
    json_object_object_add(d, "url", json_object_new_string(url));
    json_object_object_add(d, "events", json_object_new_string(set));
    if (db_begin(db) != DB_OK ||
        db_exec(
            db, "INSERT INTO hooks (url, events, secret_enc, created_by) VALUES (?, ?, ?, ?)",
            DB_ARGS(DB_STR(url), DB_STR(set), DB_STRN((const char *)blob, blen), DB_STR(req->user)),
            &res) != DB_OK ||
        audit_write(req, "hook.create", "hook", (long long)res.insert_id, 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the hook");
        goto out;
    }
    json_object *o;
    if (hook_load(req, (long long)res.insert_id, &o) < 0)
        goto out;
    if (made[0]) /* shown this once: the receiver needs it to check signatures */
        json_object_object_add(o, "secret", json_object_new_string(made));
    http_json(req, 201, o);
out:
    sodium_memzero(made, sizeof made);
    free(blob);
    json_object_put(in);
}

void api_hooks_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows r;
    if (db_query(req->app->db, HOOK_COLS "ORDER BY h.id", DB_NOARGS, &r) != DB_OK) {
        db_rows_free(&r);
        http_db_error(req, "list the hooks");
        return;
    }
    json_object *arr = json_object_new_array(), *o = json_object_new_object();
    for (size_t i = 0; i < r.nrows; i++)
        json_object_array_add(arr, hook_json(&r, i));
    db_rows_free(&r);
    json_object_object_add(o, "hooks", arr);
    http_json(req, 200, o);
}

void api_hooks_get(struct request *req)
{
    json_object *o;
    if (app_need_db(req) < 0 || hook_load(req, req->ids[0], &o) < 0)
        return;
    http_json(req, 200, o);
}

/* Any of url, events, secret, enabled. Enabling again clears the failure state. */
void api_hooks_update(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, 16 * 1024), *v, *cur = NULL;
    if (!in)
        return;
    struct db *db = req->app->db;
    long long id = req->ids[0];
    char set[512] = "";
    const char *url = NULL, *secret = NULL;
    unsigned char *blob = NULL;
    size_t blen = 0;
    int enabled = -1, present = 0;
    if (http_json_only(req, in, hook_fields, "a hook field") < 0 || hook_load(req, id, &cur) < 0)
        goto out;
    if (json_object_object_get_ex(in, "events", &v) && parse_events(req, v, set, sizeof set) < 0)
        goto out;
    if (json_object_object_get_ex(in, "url", &v) && check_url(req, (url = json_str(in, "url"))) < 0)
        goto out;
    if (json_object_object_get_ex(in, "secret", &v) &&
        (check_secret(req, v, &secret) < 0 || !(blob = seal(req, secret, &blen))))
        goto out;
    if (json_bool_member(req, in, "enabled", &enabled, &present) < 0)
        goto out;
    if (!present)
        enabled = -1;
    char reason[300];
    snprintf(reason, sizeof reason, "disabled by %s", req->user ? req->user : "an operator");
    json_object *d = json_object_new_object();
    if (url)
        json_object_object_add(d, "url", json_object_new_string(url));
    if (set[0])
        json_object_object_add(d, "events", json_object_new_string(set));
    if (secret)
        json_object_object_add(d, "secret_changed", json_object_new_boolean(1));
    if (enabled >= 0)
        json_object_object_add(d, "enabled", json_object_new_boolean(enabled));
    /* NULL keeps a column; enabling clears the failures, disabling says who did it */
    if (db_begin(db) != DB_OK ||
        db_exec(db,
                "UPDATE hooks SET url = COALESCE(?, url), events = COALESCE(?, events), "
                "secret_enc = COALESCE(?, secret_enc), enabled = COALESCE(?, enabled), "
                "disabled_reason = CASE ? WHEN 1 THEN NULL WHEN 0 THEN ? ELSE disabled_reason END, "
                "failing_since = IF(? = 1, NULL, failing_since), "
                "fail_count = IF(? = 1, 0, fail_count), retry_at = IF(? = 1, NULL, retry_at), "
                "updated_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_STR(url), set[0] ? DB_STR(set) : DB_NULL,
                        blob ? DB_STRN((const char *)blob, blen) : DB_NULL,
                        enabled >= 0 ? DB_INT(enabled) : DB_NULL, DB_INT(enabled), DB_STR(reason),
                        DB_INT(enabled), DB_INT(enabled), DB_INT(enabled), DB_INT(id)),
                NULL) != DB_OK ||
        audit_write(req, "hook.update", "hook", id, 0, d) != DB_OK || db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "change the hook");
        goto out;
    }
    json_object *o;
    if (hook_load(req, id, &o) == 0)
        http_json(req, 200, o);
out:
    json_object_put(cur);
    free(blob);
    json_object_put(in);
}

void api_hooks_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    long long id = req->ids[0];
    struct db_res res = {0};
    if (db_begin(db) != DB_OK ||
        db_exec(db, "DELETE FROM hooks WHERE id = ?", DB_ARGS(DB_INT(id)), &res) != DB_OK ||
        (res.affected && audit_write(req, "hook.delete", "hook", id, 0, NULL) != DB_OK) ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the hook");
        return;
    }
    if (!res.affected) {
        http_error(req, 404, "not_found", "no such hook", NULL);
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}

/* ?limit=1..500 (100) &before=<delivery id>: newest first. */
void api_hooks_deliveries(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    long long limit, before;
    json_object *cur;
    if (http_query_ll(req, "limit", 100, 1, 500, &limit) < 0 ||
        http_query_ll(req, "before", 0, 0, (long long)9e18, &before) < 0 ||
        hook_load(req, req->ids[0], &cur) < 0)
        return;
    json_object_put(cur);
    struct db_rows r;
    if (db_query(req->app->db,
                 "SELECT id, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%s.%fZ'), attempt, events, "
                 "first_event_id, last_event_id, ok, http_status, "
                 "error, duration_ms FROM hook_deliveries WHERE hook_id = ? AND (? = 0 "
                 "OR id < ?) "
                 "ORDER BY id DESC LIMIT ?",
                 DB_ARGS(DB_INT(req->ids[0]), DB_INT(before), DB_INT(before), DB_INT(limit)),
                 &r) != DB_OK) {
        db_rows_free(&r);
        http_db_error(req, "list the deliveries");
        return;
    }
    json_object *arr = json_object_new_array(), *o = json_object_new_object();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(db_int(&r, i, 0, 0)));
        json_object_object_add(e, "at", json_str_or_null(db_val(&r, i, 1)));
        json_object_object_add(e, "attempt", json_object_new_int64(db_int(&r, i, 2, 0)));
        json_object_object_add(e, "events", json_object_new_int64(db_int(&r, i, 3, 0)));
        json_object_object_add(e, "first_event_id", json_object_new_int64(db_int(&r, i, 4, 0)));
        json_object_object_add(e, "last_event_id", json_object_new_int64(db_int(&r, i, 5, 0)));
        json_object_object_add(e, "ok", json_object_new_boolean(db_int(&r, i, 6, 0) != 0));
        json_object_object_add(
            e, "http_status", db_val(&r, i, 7) ? json_object_new_int64(db_int(&r, i, 7, 0)) : NULL);
        json_object_object_add(e, "error", json_str_or_null(db_val(&r, i, 8)));
        json_object_object_add(e, "duration_ms", json_object_new_int64(db_int(&r, i, 9, 0)));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "deliveries", arr);
    if (r.nrows == (size_t)limit)
        json_object_object_add(o, "next_before",
                               json_object_new_int64(db_int(&r, r.nrows - 1, 0, 0)));
    db_rows_free(&r);
    http_json(req, 200, o);
}
