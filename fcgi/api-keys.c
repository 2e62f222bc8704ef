/* API keys (lib/apikey.h), for admins and superadmins.
 *
 *   POST   /api/keys        {"name", "role"}: 201 with the key's text, shown this once
 *   GET    /api/keys        the live keys (?revoked=1: revoked ones too); never a key's text
 *   DELETE /api/keys/{id}   revokes it
 *
 * A key's role is at most its creator's; a key cannot create or revoke keys (a leaked key
 * must not be able to mint others). Creation and revocation are audited in their
 * transaction. */
#include <string.h>

#include "apikey.h"
#include "app.h"
#include "audit.h"
#include "csvin.h"
#include "db.h"
#include "userauth.h"

#define KEYS_BODY_LIMIT 4096
#define KEY_NAME_MAX    200

static int refuse_key_itself(struct request *req)
{
    if (!req->api_key_id)
        return 0;
    http_error(req, 403, "forbidden", "an API key cannot manage API keys: sign in", NULL);
    return -1;
}

/* A name: UTF-8 text of 1 to 200 bytes without control characters. */
static int key_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > KEY_NAME_MAX || !csvin_utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

void api_keys_create(struct request *req)
{
    if (refuse_key_itself(req) < 0 || app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, KEYS_BODY_LIMIT);
    if (!in)
        return;
    static const char *const known[] = {"name", "role", NULL};
    struct db *db = req->app->db;
    if (http_json_only(req, in, known, "a member of a key") < 0)
        goto out;
    const char *name = json_str(in, "name"), *rname = json_str(in, "role");
    if (!key_name_ok(name)) {
        http_fail_range(req, 400, "invalid_field", "name", "apikey.name_length",
                        "name is text of 1 to 200 characters", 1, 200);
        goto out;
    }
    int role = rname ? userauth_role_parse(rname) : -1;
    if (role < 0) {
        http_fail(req, 400, "invalid_field", "role", "user.role_invalid", NULL,
                  "role is viewer, admin or superadmin");
        goto out;
    }
    if (role > (int)req->role) {
        http_error(req, 403, "role_too_high", "a key's role is at most yours", "role");
        goto out;
    }
    char text[APIKEY_TEXT], prefix[APIKEY_PREFIX];
    long long id = 0;
    if (db_begin(db) != DB_OK || apikey_create(db, name, role, req->user ? req->user : "anonymous",
                                               req->user_id, text, prefix, &id) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "create the key");
        goto out;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "prefix", json_object_new_string(prefix));
    json_object_object_add(d, "name", json_object_new_string(name));
    json_object_object_add(d, "role", json_object_new_string(userauth_role_name(role)));
    if (audit_write(req, "apikey.create", "api_key", id, 0, d) != DB_OK || db_commit(db) != DB_OK) {
        db_rollback(db);
        sodium_memzero(text, sizeof text);
        http_db_error(req, "create the key");
        goto out;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(id));
    json_object_object_add(o, "key", json_object_new_string(text));
    json_object_object_add(o, "prefix", json_object_new_string(prefix));
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "role", json_object_new_string(userauth_role_name(role)));
    json_object_object_add(o, "created_by", json_object_new_string(req->user ? req->user : ""));
    sodium_memzero(text, sizeof text);
    http_json(req, 201, o);
out:
    json_object_put(in);
}

void api_keys_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    long long revoked = 0;
    if (http_query_ll(req, "revoked", 0, 0, 1, &revoked) < 0)
        return;
    json_object *keys = NULL;
    if (apikey_list_json(req->app->db, (int)revoked, &keys) != DB_OK) {
        http_db_error(req, "read the keys");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "keys", keys);
    http_json(req, 200, o);
}

void api_keys_delete(struct request *req)
{
    if (refuse_key_itself(req) < 0 || app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    int found = 0;
    char prefix[APIKEY_PREFIX] = "";
    if (db_begin(db) != DB_OK || apikey_revoke(db, req->ids[0], req->user ? req->user : "anonymous",
                                               (int)req->role, &found, prefix) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "revoke the key");
        return;
    }
    if (found != 1) {
        db_rollback(db);
        if (found == 2)
            http_error(req, 403, "forbidden", "the key's role is above yours", NULL);
        else
            http_error(req, 404, "not_found", "no such key (or revoked already)", NULL);
        return;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "prefix", json_object_new_string(prefix));
    if (audit_write(req, "apikey.revoke", "api_key", req->ids[0], 0, d) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "revoke the key");
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}
