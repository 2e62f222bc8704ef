#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "db.h"
#include "httpin.h"
#include "log.h"
#include "userauth.h"
#include "users.h"

/* last_seen_at is written at most this often per session (seconds), not on every request. */
#define AUTH_TOUCH_EVERY 30

const char *auth_address(struct request *req)
{
    return req->remote_addr && *req->remote_addr ? req->remote_addr : "-";
}

/* Copies at most max bytes of s, cut at a UTF-8 character boundary. */
static void copy_utf8(char *out, size_t outlen, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max)
        n = max;
    if (n >= outlen)
        n = outlen - 1;
    if (s && n < strlen(s))
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
}

/* A request with "Authorization: Bearer <key>": the key alone decides, whatever cookie
 * comes with it. */
static int identify_key(struct request *req, const char *token)
{
    if (db_ensure(req->app->db) != DB_OK)
        return -1;
    struct apikey_who who;
    int rc = apikey_authenticate(req->app->db, token, req->app->cfg.api_key_rate_per_minute, &who,
                                 &req->retry_after);
    if (rc < 0)
        return -1;
    if (rc != APIKEY_VALID) {
        req->api_key_refused = rc;
        return ROLE_ANONYMOUS;
    }
    req->api_key_id = who.id;
    snprintf(req->user_email, sizeof req->user_email, "apikey:%s", who.prefix);
    req->user = req->user_email;
    return who.role;
}

int auth_identify(struct request *req)
{
    const char *authz = http_env(req, "HTTP_AUTHORIZATION");
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        const char *t = authz + 7;
        while (*t == ' ')
            t++;
        return identify_key(req, t);
    }
    const char *cookies = http_env(req, "HTTP_COOKIE");
    char text[USERAUTH_TOKEN_TEXT + 8];
    unsigned char raw[USERAUTH_TOKEN_BYTES];
    if (!cookies || httpin_cookie(cookies, AUTH_COOKIE, text, sizeof text) < 0 ||
        userauth_token_decode(text, raw) < 0)
        return ROLE_ANONYMOUS;
    char hash[USERAUTH_TOKEN_HASH];
    userauth_token_hash(raw, hash);
    if (db_ensure(req->app->db) != DB_OK) {
        sodium_memzero(raw, sizeof raw);
        return -1;
    }
    const struct config *cfg = &req->app->cfg;
    struct db_rows rows;
    int rc = db_query(req->app->db,
                      "SELECT s.id, u.id, u.email, u.role, "
                      "TIMESTAMPDIFF(SECOND, s.last_seen_at, NOW(3)) "
                      "FROM sessions s JOIN users u ON u.id = s.user_id "
                      "WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > NOW(3) "
                      "AND s.last_seen_at > NOW(3) - INTERVAL ? SECOND AND u.disabled_at IS NULL",
                      DB_ARGS(DB_STR(hash), DB_INT(cfg->session_idle_timeout)), &rows);
    if (rc != DB_OK) {
        sodium_memzero(raw, sizeof raw);
        log_error("session lookup: %s", db_error(req->app->db));
        db_rows_free(&rows);
        return -1;
    }
    int role = ROLE_ANONYMOUS;
    if (rows.nrows == 1) {
        role = userauth_role_parse(db_val(&rows, 0, 3));
        if (role < 0)
            role = ROLE_ANONYMOUS;
    }
    if (role != ROLE_ANONYMOUS) {
        req->session_id = db_int(&rows, 0, 0, 0);
        req->user_id = db_int(&rows, 0, 1, 0);
        copy_utf8(req->user_email, sizeof req->user_email, db_val(&rows, 0, 2),
                  sizeof req->user_email - 1);
        req->user = req->user_email;
        userauth_csrf_token(raw, req->csrf);
        if (db_int(&rows, 0, 4, 0) >= AUTH_TOUCH_EVERY)
            db_exec(req->app->db, "UPDATE sessions SET last_seen_at = NOW(3) WHERE id = ?",
                    DB_ARGS(DB_INT(req->session_id)), NULL);
    }
    sodium_memzero(raw, sizeof raw);
    db_rows_free(&rows);
    return role;
}

int auth_state_changing(const char *method)
{
    return !method || !(strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
                        strcmp(method, "OPTIONS") == 0);
}

int auth_route_needs_csrf(const struct route *r)
{
    return auth_state_changing(r->method) && r->min_role > ROLE_ANONYMOUS;
}

int auth_csrf_ok(struct request *req)
{
    const char *got = http_env(req, AUTH_CSRF_HEADER);
    return req->csrf[0] && userauth_csrf_equal(got, req->csrf);
}

int auth_origin_ok(struct request *req)
{
    const char *origin = http_env(req, "HTTP_ORIGIN");
    if (!origin)
        return 1;
    /* public_url's origin only: never one made of what the client sent (Host, a forwarded
     * scheme), which a client can set at will (issue #17). */
    return httpin_origin_matches(origin, req->app->cfg.public_url);
}

static void set_cookie(struct request *req, const char *value, long long max_age)
{
    char v[256];
    int secure = http_is_https(req) || strncasecmp(req->app->cfg.public_url, "https:", 6) == 0;
    snprintf(v, sizeof v, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s", AUTH_COOKIE,
             value, max_age, secure ? "; Secure" : "");
    if (http_add_header(req, "Set-Cookie", v) < 0)
        log_error("no room for the session cookie header");
    sodium_memzero(v, sizeof v);
}

void auth_cookie_clear(struct request *req)
{
    set_cookie(req, "", 0);
}

int auth_session_start(struct request *req, long long user_id)
{
    unsigned char raw[USERAUTH_TOKEN_BYTES];
    char text[USERAUTH_TOKEN_TEXT], hash[USERAUTH_TOKEN_HASH];
    userauth_token_new(raw, text);
    userauth_token_hash(raw, hash);
    char ua[256];
    copy_utf8(ua, sizeof ua, http_env(req, "HTTP_USER_AGENT"), 255);
    const struct config *cfg = &req->app->cfg;
    struct db_res res;
    int rc = db_exec(req->app->db,
                     "INSERT INTO sessions (token_hash, user_id, expires_at, address, user_agent) "
                     "VALUES (?, ?, NOW(3) + INTERVAL ? SECOND, ?, ?)",
                     DB_ARGS(DB_STR(hash), DB_INT(user_id), DB_INT(cfg->session_lifetime),
                             DB_STR(auth_address(req)), DB_STR(ua)),
                     &res);
    if (rc == DB_OK) {
        req->session_id = (long long)res.insert_id;
        req->user_id = user_id;
        userauth_csrf_token(raw, req->csrf);
        set_cookie(req, text, cfg->session_lifetime);
    }
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(text, sizeof text);
    return rc;
}

int auth_sessions_revoke_user(struct request *req, long long user_id, const char *reason)
{
    return users_sessions_revoke(req->app->db, user_id, reason);
}

int auth_throttled(struct request *req, const char *email)
{
    const struct config *cfg = &req->app->cfg;
    const char *addr = auth_address(req);
    struct db_rows rows;
    /* One read of the window's failures of this e-mail or from this address. */
    int rc = db_query(
        req->app->db,
        "SELECT COALESCE(SUM(email = ? AND address = ?), 0), "
        "COALESCE(TIMESTAMPDIFF(MICROSECOND, MAX(IF(email = ? AND address = ?, created_at, "
        "NULL)), NOW(3)), 0) / 1e6, COALESCE(SUM(address = ?), 0), "
        "COALESCE(TIMESTAMPDIFF(MICROSECOND, MAX(IF(address = ?, created_at, NULL)), NOW(3)), "
        "0) / 1e6, COALESCE(SUM(email = ?), 0) FROM login_failures "
        "WHERE (email = ? OR address = ?) AND created_at > NOW(3) - INTERVAL ? SECOND",
        DB_ARGS(DB_STR(email), DB_STR(addr), DB_STR(email), DB_STR(addr), DB_STR(addr),
                DB_STR(addr), DB_STR(email), DB_STR(email), DB_STR(addr),
                DB_INT(cfg->login_window)),
        &rows);
    if (rc != DB_OK || rows.nrows != 1) {
        log_error("login throttle: %s", db_error(req->app->db));
        db_rows_free(&rows);
        return -1;
    }
    struct userauth_throttle t = {
        .pair_n = db_int(&rows, 0, 0, 0),
        .pair_age_s = db_val(&rows, 0, 1) ? strtod(db_val(&rows, 0, 1), NULL) : 0,
        .addr_n = db_int(&rows, 0, 2, 0),
        .addr_age_s = db_val(&rows, 0, 3) ? strtod(db_val(&rows, 0, 3), NULL) : 0,
        .acct_n = db_int(&rows, 0, 4, 0),
    };
    db_rows_free(&rows);
    struct userauth_throttle_limits l = {cfg->login_window, cfg->login_max_failures_account,
                                         cfg->login_max_failures_address,
                                         cfg->login_lock_failures_account};
    int why;
    int wait = userauth_throttle_wait(&t, &l, &why);
    if (why == USERAUTH_THROTTLE_LOCKED)
        log_warn("sign-in locked for an e-mail: %lld failures from every address", t.acct_n);
    return wait;
}

void auth_failure_record(struct request *req, const char *email)
{
    if (db_exec(req->app->db, "INSERT INTO login_failures (email, address) VALUES (?, ?)",
                DB_ARGS(DB_STR(email), DB_STR(auth_address(req))), NULL) != DB_OK)
        log_error("recording a failed sign-in: %s", db_error(req->app->db));
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *auth_user_json(const struct db_rows *rows, size_t r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(rows, r, 0, 0)));
    json_object_object_add(o, "email", str_or_null(db_val(rows, r, 1)));
    json_object_object_add(o, "name", str_or_null(db_val(rows, r, 2)));
    json_object_object_add(o, "role", str_or_null(db_val(rows, r, 3)));
    json_object_object_add(o, "disabled", json_object_new_boolean(db_val(rows, r, 4) != NULL));
    json_object_object_add(o, "disabled_at", str_or_null(db_val(rows, r, 4)));
    json_object_object_add(o, "created_at", str_or_null(db_val(rows, r, 5)));
    json_object_object_add(o, "last_login_at", str_or_null(db_val(rows, r, 6)));
    json_object_object_add(o, "created_by", str_or_null(db_val(rows, r, 7)));
    json_object_object_add(o, "password_changed_at", str_or_null(db_val(rows, r, 8)));
    return o;
}
