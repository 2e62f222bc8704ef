/* Signing in and out, who am I, and changing one's own password.
 *
 *   POST   /api/session       {"email", "password"} -> the user, the CSRF token, the cookie
 *   DELETE /api/session       ends this session
 *   GET    /api/me            the user and the CSRF token
 *   POST   /api/me/password   {"current_password", "new_password"}: ends every session of the
 *                             user and starts a new one for this client
 *
 * A failed sign-in answers the same whether the user exists, is disabled or typed the wrong
 * password, and takes the same time (a dummy Argon2 verification). */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "audit.h"
#include "auth.h"
#include "db.h"
#include "log.h"
#include "userauth.h"
#include "users.h"

#define SESSION_BODY_LIMIT 16384

static void invalid_credentials(struct request *req)
{
    http_error(req, 401, "invalid_credentials", "wrong e-mail or password", NULL);
}

static void too_many(struct request *req, int wait_s)
{
    char v[32];
    snprintf(v, sizeof v, "%d", wait_s);
    http_add_header(req, "Retry-After", v);
    http_error(req, 429, "too_many_attempts",
               "too many failed sign-ins for this account or from this address; try again later",
               NULL);
}

/* A JSON string member with its length (JSON strings may hold NUL bytes). */
static const char *str_len(json_object *o, const char *key, size_t *len)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static json_object *me_json(struct request *req)
{
    json_object *o = json_object_new_object();
    json_object *user = NULL;
    if (req->user_id > 0) {
        struct db_rows rows;
        if (db_query(req->app->db, "SELECT " AUTH_USER_COLUMNS " FROM users WHERE id = ?",
                     DB_ARGS(DB_INT(req->user_id)), &rows) == DB_OK &&
            rows.nrows == 1)
            user = auth_user_json(&rows, 0);
        db_rows_free(&rows);
    } else {
        /* auth_mode none: the one anonymous operator */
        user = json_object_new_object();
        json_object_object_add(user, "email", json_object_new_string(req->user ? req->user : ""));
        json_object_object_add(user, "role",
                               json_object_new_string(userauth_role_name((int)req->role)));
    }
    json_object_object_add(o, "user", user);
    json_object_object_add(o, "csrf_token",
                           req->csrf[0] ? json_object_new_string(req->csrf) : NULL);
    json_object_object_add(o, "auth_mode", json_object_new_string(req->app->cfg.auth_mode));
    return o;
}

void api_session_login(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (strcmp(req->app->cfg.auth_mode, "sessions") != 0) {
        http_error(req, 409, "auth_disabled", "sign-in is off: auth_mode is not \"sessions\"",
                   NULL);
        return;
    }
    json_object *in = http_json_body(req, SESSION_BODY_LIMIT);
    if (!in)
        return;
    size_t plen = 0;
    size_t elen = 0;
    const char *email_in = str_len(in, "email", &elen);
    const char *pw = str_len(in, "password", &plen);
    char email[USERAUTH_EMAIL_MAX + 1];
    if (!email_in) {
        http_fail(req, 400, "missing_field", "email", "session.email_required", NULL,
                  "email is required");
        goto out;
    }
    if (!pw) {
        http_fail(req, 400, "missing_field", "password", "session.password_required", NULL,
                  "password is required");
        goto out;
    }
    if (strlen(email_in) != elen || userauth_email_normalize(email_in, email, sizeof email) < 0) {
        /* Nobody can have such a name: the same answer as a wrong password. */
        invalid_credentials(req);
        goto out;
    }
    int t = auth_throttled(req, email);
    if (t != 0) {
        if (t < 0) {
            http_error(req, 503, "database_unavailable", "try again", NULL);
        } else {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "email", json_object_new_string(email));
            json_object_object_add(d, "wait_s", json_object_new_int(t));
            audit_write(req, "session.login_throttled", NULL, 0, 0, d);
            too_many(req, t);
        }
        goto out;
    }
    struct db_rows rows;
    if (db_query(req->app->db,
                 "SELECT id, password_hash, disabled_at IS NOT NULL FROM users WHERE email = ?",
                 DB_ARGS(DB_STR(email)), &rows) != DB_OK) {
        db_rows_free(&rows);
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    const char *why = "unknown_user";
    int ok = 0, rehash = 0;
    long long uid = 0;
    if (rows.nrows == 1) {
        uid = db_int(&rows, 0, 0, 0);
        ok = userauth_password_verify(db_val(&rows, 0, 1), pw, plen, &rehash);
        why = "wrong_password";
        if (ok && db_int(&rows, 0, 2, 0)) {
            ok = 0;
            why = "disabled";
        }
    } else {
        userauth_password_dummy(pw, plen);
    }
    db_rows_free(&rows);
    if (!ok) {
        auth_failure_record(req, email);
        json_object *d = json_object_new_object();
        json_object_object_add(d, "email", json_object_new_string(email));
        json_object_object_add(d, "reason", json_object_new_string(why));
        audit_write(req, "session.login_failed", uid ? "user" : NULL, uid, 0, d);
        log_info("failed sign-in from %s", auth_address(req));
        invalid_credentials(req);
        goto out;
    }
    if (rehash) {
        char h[USERAUTH_HASH_MAX];
        if (userauth_password_hash(pw, plen, h) == 0)
            db_exec(req->app->db, "UPDATE users SET password_hash = ? WHERE id = ?",
                    DB_ARGS(DB_STR(h), DB_INT(uid)), NULL);
    }
    snprintf(req->user_email, sizeof req->user_email, "%s", email);
    req->user = req->user_email;
    if (auth_session_start(req, uid) != DB_OK) {
        log_error("cannot start a session: %s", db_error(req->app->db));
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    db_exec(req->app->db, "UPDATE users SET last_login_at = NOW(3) WHERE id = ?",
            DB_ARGS(DB_INT(uid)), NULL);
    /* A success forgets this account's failures from this address only: a guesser elsewhere
     * stays slowed down (and the address's other failures stay). Old rows go. */
    db_exec(req->app->db, "DELETE FROM login_failures WHERE email = ? AND address = ?",
            DB_ARGS(DB_STR(email), DB_STR(auth_address(req))), NULL);
    db_exec(req->app->db,
            "DELETE FROM login_failures WHERE created_at < NOW(3) - INTERVAL 1 DAY LIMIT 1000",
            DB_NOARGS, NULL);
    db_exec(req->app->db,
            "DELETE FROM sessions WHERE expires_at < NOW(3) - INTERVAL 30 DAY LIMIT 1000",
            DB_NOARGS, NULL);
    audit_write(req, "session.login", "user", uid, 0, NULL);
    log_info("user %lld signed in from %s", uid, auth_address(req));
    http_json(req, 200, me_json(req));
out:
    json_object_put(in);
}

void api_session_logout(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (req->session_id > 0) {
        if (db_exec(req->app->db,
                    "UPDATE sessions SET revoked_at = NOW(3), revoke_reason = 'logout' "
                    "WHERE id = ? AND revoked_at IS NULL",
                    DB_ARGS(DB_INT(req->session_id)), NULL) != DB_OK) {
            http_error(req, 503, "database_unavailable", "try again", NULL);
            return;
        }
        audit_write(req, "session.logout", "user", req->user_id, 0, NULL);
    }
    auth_cookie_clear(req);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(1));
    http_json(req, 200, o);
}

void api_me(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    http_json(req, 200, me_json(req));
}

void api_me_password(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (req->user_id <= 0) {
        http_fail(req, 409, "no_account", NULL, "session.no_account", NULL,
                  "there is no signed-in account (auth_mode none)");
        return;
    }
    json_object *in = http_json_body(req, SESSION_BODY_LIMIT);
    if (!in)
        return;
    size_t clen = 0, nlen = 0;
    const char *cur = str_len(in, "current_password", &clen);
    const char *npw = str_len(in, "new_password", &nlen);
    const char *why = NULL;
    struct db_rows rows;
    int have_rows = 0;
    if (!cur) {
        http_fail(req, 400, "missing_field", "current_password",
                  "session.current_password_required", NULL, "current_password is required");
        goto out;
    }
    if (!npw) {
        http_fail(req, 400, "missing_field", "new_password", "session.new_password_required", NULL,
                  "new_password is required");
        goto out;
    }
    /* Guessing the password through this endpoint is throttled like signing in. */
    int t = auth_throttled(req, req->user_email);
    if (t < 0) {
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    if (t > 0) {
        too_many(req, t);
        goto out;
    }
    have_rows = 1;
    if (db_query(req->app->db, "SELECT password_hash FROM users WHERE id = ?",
                 DB_ARGS(DB_INT(req->user_id)), &rows) != DB_OK ||
        rows.nrows != 1) {
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    if (!userauth_password_verify(db_val(&rows, 0, 0), cur, clen, NULL)) {
        auth_failure_record(req, req->user_email);
        audit_write(req, "user.password_change_failed", "user", req->user_id, 0, NULL);
        http_error(req, 403, "wrong_password", "the current password is wrong", "current_password");
        goto out;
    }
    const struct users_actor who = {req->user, req->remote_addr};
    int urc =
        users_password_change(req->app->db, &who, req->user_id, req->user_email, npw, nlen, &why);
    switch (urc) {
    case USERS_OK:
        break;
    case USERS_WEAK:
    case USERS_BREACHED:
        http_error(req, 422, users_weak_code(urc), why, "new_password");
        goto out;
    case USERS_NOMEM:
        http_error(req, 500, "internal", "out of memory", NULL);
        goto out;
    default:
        log_error("password change: %s", db_error(req->app->db));
        http_error(req, 503, "database_unavailable", "try again", NULL);
        goto out;
    }
    /* Every old session is gone; this client gets a new one. */
    if (auth_session_start(req, req->user_id) != DB_OK) {
        auth_cookie_clear(req);
        req->csrf[0] = '\0';
    }
    http_json(req, 200, me_json(req));
out:
    if (have_rows)
        db_rows_free(&rows);
    json_object_put(in);
}
