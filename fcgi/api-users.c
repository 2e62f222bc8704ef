/* User management, for superadmins. Users are never deleted: they are disabled, which ends
 * their sessions; their name stays in the audit log and on what they did.
 *
 *   GET   /api/users                  every user
 *   POST  /api/users                  {"email", "name"?, "role", "password"}
 *   GET   /api/users/{id}
 *   PATCH /api/users/{id}             {"role"?, "name"?, "disabled"?}
 *   POST  /api/users/{id}/password    {"password"}: sets a new password, ends their sessions
 *
 * The last enabled superadmin can be neither demoted nor disabled, and nobody disables
 * themselves. Every change is in the audit log, in the same transaction. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "auth.h"
#include "csvin.h"
#include "db.h"
#include "log.h"
#include "userauth.h"
#include "users.h"

#define USERS_BODY_LIMIT 16384
#define NAME_MAX_CHARS   200

static int only_members(struct request *req, json_object *in, const char *const *allowed)
{
    return http_json_only(req, in, allowed, "a member of this body");
}

/* A display name: UTF-8, no control characters, at most 200 characters. Stored verbatim. */
static int name_ok(const char *s)
{
    size_t n = strlen(s), chars = 0;
    if (!csvin_utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if ((c & 0xc0) != 0x80)
            chars++;
    }
    return chars <= NAME_MAX_CHARS;
}

static const char *str_len(json_object *o, const char *key, size_t *len)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

/* A JSON string member as C text: NULL when absent, not a string, or holding a NUL (which
 * would otherwise cut it silently). */
static const char *text_member(json_object *o, const char *key)
{
    size_t len = 0;
    const char *s = str_len(o, key, &len);
    return s && strlen(s) == len ? s : NULL;
}

static int has(json_object *o, const char *key)
{
    return json_object_object_get_ex(o, key, NULL);
}

static void answer_user(struct request *req, int status, long long id)
{
    struct db_rows rows;
    if (db_query(req->app->db, "SELECT " AUTH_USER_COLUMNS " FROM users WHERE id = ?",
                 DB_ARGS(DB_INT(id)), &rows) != DB_OK) {
        db_rows_free(&rows);
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    if (rows.nrows != 1)
        http_error(req, 404, "not_found", "no such user", NULL);
    else
        http_json(req, status, auth_user_json(&rows, 0));
    db_rows_free(&rows);
}

void api_users_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows rows;
    if (db_query(req->app->db, "SELECT " AUTH_USER_COLUMNS " FROM users ORDER BY id LIMIT 10000",
                 DB_NOARGS, &rows) != DB_OK) {
        db_rows_free(&rows);
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(arr, auth_user_json(&rows, i));
    db_rows_free(&rows);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "users", arr);
    http_json(req, 200, o);
}

void api_users_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    answer_user(req, 200, req->ids[0]);
}

void api_users_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, USERS_BODY_LIMIT);
    if (!in)
        return;
    static const char *const allowed[] = {"email", "name", "role", "password", NULL};
    size_t plen = 0;
    const char *email_in = text_member(in, "email"), *name = text_member(in, "name");
    const char *role_s = text_member(in, "role"), *pw = str_len(in, "password", &plen);
    char email[USERAUTH_EMAIL_MAX + 1];
    const char *why = NULL;
    int role;
    if (only_members(req, in, allowed) < 0)
        goto out;
    if (!email_in && !has(in, "email")) {
        http_fail(req, 400, "missing_field", "email", "user.email_required", NULL,
                  "email is required");
        goto out;
    }
    if (!email_in || userauth_email_normalize(email_in, email, sizeof email) < 0) {
        http_fail(req, 422, "invalid_email", "email", "user.email_invalid", NULL,
                  "not an e-mail address");
        goto out;
    }
    if (has(in, "name") && (!name || !name_ok(name))) {
        http_fail_range(req, 422, "invalid_name", "name", "user.name_invalid",
                        "name must be text of at most 200 characters without control characters", 1,
                        200);
        goto out;
    }
    if (!role_s) {
        http_fail(req, 400, "missing_field", "role", "user.role_required", NULL,
                  "role is required");
        goto out;
    }
    if ((role = userauth_role_parse(role_s)) < 0) {
        http_fail_str(req, 422, "invalid_role", "role", "user.role_invalid",
                      "role must be viewer, admin or superadmin", "value", role_s);
        goto out;
    }
    if (!pw) {
        http_fail(req, 400, "missing_field", "password", "user.password_required", NULL,
                  "password is required");
        goto out;
    }
    const struct users_actor who = {req->user, req->remote_addr};
    long long id = 0;
    int urc = users_create(req->app->db, &who, email, name, role, pw, plen, &id, &why);
    switch (urc) {
    case USERS_OK:
        break;
    case USERS_WEAK:
    case USERS_BREACHED:
        http_error(req, 422, users_weak_code(urc), why, "password");
        goto out;
    case USERS_EXISTS:
        http_fail_str(req, 409, "email_taken", "email", "user.email_taken",
                      "a user with this e-mail address exists", "email", email);
        goto out;
    case USERS_NOMEM:
        http_error(req, 500, "internal", "out of memory", NULL);
        goto out;
    default:
        log_error("user create: %s", db_error(req->app->db));
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    log_info("user %lld created by %s", id, req->user);
    answer_user(req, 201, id);
out:
    json_object_put(in);
}

void api_users_update(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, USERS_BODY_LIMIT);
    if (!in)
        return;
    static const char *const allowed[] = {"role", "name", "disabled", NULL};
    long long id = req->ids[0];
    const char *role_s = text_member(in, "role"), *name = text_member(in, "name");
    json_object *dis = NULL;
    int role = -1, disable = -1;
    struct db *db = req->app->db;
    struct db_rows rows;
    int in_tx = 0, rc;
    if (only_members(req, in, allowed) < 0)
        goto out;
    if (json_object_object_length(in) == 0) {
        http_fail(req, 400, "empty_change", NULL, "user.empty_change", NULL,
                  "give role, name or disabled");
        goto out;
    }
    if (has(in, "role") && (!role_s || (role = userauth_role_parse(role_s)) < 0)) {
        http_fail_str(req, 422, "invalid_role", "role", "user.role_invalid",
                      "role must be viewer, admin or superadmin", "value", role_s);
        goto out;
    }
    if (has(in, "name") && (!name || !name_ok(name))) {
        http_fail_range(req, 422, "invalid_name", "name", "user.name_invalid",
                        "name must be text of at most 200 characters without control characters", 1,
                        200);
        goto out;
    }
    if (json_object_object_get_ex(in, "disabled", &dis)) {
        if (!json_object_is_type(dis, json_type_boolean)) {
            http_fail(req, 422, "invalid_disabled", "disabled", "user.disabled_bool", NULL,
                      "disabled must be true or false");
            goto out;
        }
        disable = json_object_get_boolean(dis);
    }
    if (disable == 1 && id == req->user_id) {
        http_error(req, 409, "self_disable", "you cannot disable your own account", "disabled");
        goto out;
    }
    rc = db_begin(db);
    in_tx = rc == DB_OK;
    if (rc == DB_OK)
        rc = db_query(db, "SELECT role, disabled_at IS NOT NULL FROM users WHERE id = ? FOR UPDATE",
                      DB_ARGS(DB_INT(id)), &rows);
    else
        memset(&rows, 0, sizeof rows);
    if (rc != DB_OK) {
        db_rows_free(&rows);
        goto dberr;
    }
    if (rows.nrows != 1) {
        db_rows_free(&rows);
        db_rollback(db);
        in_tx = 0;
        http_error(req, 404, "not_found", "no such user", NULL);
        goto out;
    }
    int old_role = userauth_role_parse(db_val(&rows, 0, 0));
    int was_disabled = (int)db_int(&rows, 0, 1, 0);
    db_rows_free(&rows);
    int new_role = role > 0 ? role : old_role;
    int now_disabled = disable >= 0 ? disable : was_disabled;
    if (old_role == USERAUTH_SUPERADMIN && !was_disabled &&
        (new_role != USERAUTH_SUPERADMIN || now_disabled)) {
        rc = db_query(db,
                      "SELECT COUNT(*) FROM users WHERE role = 'superadmin' AND "
                      "disabled_at IS NULL AND id <> ? FOR UPDATE",
                      DB_ARGS(DB_INT(id)), &rows);
        long long others = rc == DB_OK ? db_int(&rows, 0, 0, 0) : 0;
        db_rows_free(&rows);
        if (rc != DB_OK)
            goto dberr;
        if (others == 0) {
            db_rollback(db);
            in_tx = 0;
            http_error(req, 409, "last_superadmin",
                       "this is the last enabled superadmin: make another one first", NULL);
            goto out;
        }
    }
    rc = db_exec(db,
                 "UPDATE users SET role = ?, name = COALESCE(?, name), disabled_at = CASE "
                 "WHEN ? = 0 THEN NULL WHEN disabled_at IS NULL THEN NOW(3) ELSE disabled_at "
                 "END WHERE id = ?",
                 DB_ARGS(DB_STR(userauth_role_name(new_role)), DB_STR(name), DB_INT(now_disabled),
                         DB_INT(id)),
                 NULL);
    if (rc == DB_OK && now_disabled && !was_disabled)
        rc = auth_sessions_revoke_user(req, id, "disabled");
    if (rc == DB_OK) {
        json_object *d = json_object_new_object();
        if (new_role != old_role) {
            json_object_object_add(d, "role_from",
                                   json_object_new_string(userauth_role_name(old_role)));
            json_object_object_add(d, "role", json_object_new_string(userauth_role_name(new_role)));
        }
        if (now_disabled != was_disabled)
            json_object_object_add(d, "disabled", json_object_new_boolean(now_disabled));
        if (name)
            json_object_object_add(d, "name", json_object_new_string(name));
        rc = audit_write(req, "user.update", "user", id, 0, d);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK)
        goto dberr;
    in_tx = 0;
    answer_user(req, 200, id);
    goto out;
dberr:
    if (in_tx)
        db_rollback(db);
    log_error("user update: %s", db_error(db));
    http_error(req, 503, "database_unavailable", "try again", NULL);
out:
    json_object_put(in);
}

void api_users_password(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, USERS_BODY_LIMIT);
    if (!in)
        return;
    static const char *const allowed[] = {"password", NULL};
    long long id = req->ids[0];
    size_t plen = 0;
    const char *pw = str_len(in, "password", &plen);
    const char *why = NULL;
    if (only_members(req, in, allowed) < 0)
        goto out;
    if (!pw) {
        http_fail(req, 400, "missing_field", "password", "user.password_required", NULL,
                  "password is required");
        goto out;
    }
    const struct users_actor who = {req->user, req->remote_addr};
    int urc = users_password_reset(req->app->db, &who, id, pw, plen, 0, &why);
    switch (urc) {
    case USERS_OK:
        break;
    case USERS_NOT_FOUND:
        http_error(req, 404, "not_found", "no such user", NULL);
        goto out;
    case USERS_WEAK:
    case USERS_BREACHED:
        http_error(req, 422, users_weak_code(urc), why, "password");
        goto out;
    case USERS_NOMEM:
        http_error(req, 500, "internal", "out of memory", NULL);
        goto out;
    default:
        log_error("password reset: %s", db_error(req->app->db));
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    /* Resetting one's own password ends this session too; the answer says so. */
    if (id == req->user_id)
        auth_cookie_clear(req);
    answer_user(req, 200, id);
out:
    json_object_put(in);
}
