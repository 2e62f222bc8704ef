/* Sessions, CSRF, the Origin check, sign-in throttling and the audit log (docs/security.md).
 * access_check (routes.c) calls auth_identify, auth_origin_ok and auth_csrf_ok; the
 * api-session/users/audit handlers use the rest. */
#ifndef PREGON_FCGI_AUTH_H
#define PREGON_FCGI_AUTH_H

#include <json-c/json.h>

#include "app.h"

#define AUTH_COOKIE      "pregon_session"
#define AUTH_CSRF_HEADER "HTTP_X_CSRF_TOKEN" /* X-CSRF-Token */

/* Finds who sends the request: an API key (Authorization: Bearer, lib/apikey.h; fills
 * req->user, api_key_id, or api_key_refused and retry_after), else the signed-in user from
 * the session cookie (fills req->user, user_id, session_id and csrf). Returns the role,
 * ROLE_ANONYMOUS without a valid key or session, or -1 when the database could not be
 * asked. A key request has no session, hence needs no CSRF token. */
int auth_identify(struct request *req);

/* 1 for POST, PUT, PATCH, DELETE (and anything unknown): requests that may change state. */
int auth_state_changing(const char *method);
/* 1 when the route needs the session's CSRF token in X-CSRF-Token: a state-changing method on
 * a route that needs a signed-in user. The sign-in itself and /webhook don't. */
int auth_route_needs_csrf(const struct route *r);
/* 1 when the request carries the right CSRF token for its session. */
int auth_csrf_ok(struct request *req);
/* 1 when the request has no Origin header, or one naming public_url's origin (only: never
 * one derived from the request's Host or a forwarded scheme). */
int auth_origin_ok(struct request *req);

/* The client address for throttling and the audit log. Never NULL. */
const char *auth_address(struct request *req);

/* Starts a session for user_id: a new token, stored hashed, the cookie in the answer's headers,
 * req->session_id and req->csrf set. Returns a db_rc. */
int auth_session_start(struct request *req, long long user_id);
/* Ends every open session of a user (reason: "logout", "password_change", "disabled", ...).
 * Returns a db_rc. */
int auth_sessions_revoke_user(struct request *req, long long user_id, const char *reason);
/* Adds the Set-Cookie header that removes the session cookie. */
void auth_cookie_clear(struct request *req);

/* Sign-in throttling (userauth_throttle_wait): the seconds this e-mail from this address must
 * still wait before its next attempt, 0 when it may go on now, -1 on a database error. */
int auth_throttled(struct request *req, const char *email);
/* Records a failed sign-in for the e-mail (whether or not such a user exists). */
void auth_failure_record(struct request *req, const char *email);

/* A user row as the API shows it (never the password hash). Columns: id, email, name, role,
 * disabled_at, created_at, last_login_at, created_by, password_changed_at. */
#define AUTH_USER_COLUMNS                                                                          \
    "id, email, name, role, DATE_FORMAT(disabled_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                   \
    "DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "                                           \
    "DATE_FORMAT(last_login_at, '%Y-%m-%dT%H:%i:%s.%fZ'), created_by, "                            \
    "DATE_FORMAT(password_changed_at, '%Y-%m-%dT%H:%i:%s.%fZ')"
struct db_rows;
json_object *auth_user_json(const struct db_rows *rows, size_t r);

#endif
