#include "users.h"

#include <stdio.h>
#include <string.h>

#include "audit_log.h"
#include "db.h"

int users_password_new(const char *pw, size_t len, const char *email, char hash[USERAUTH_HASH_MAX],
                       const char **why)
{
    int prc = userauth_password_check(pw, len, email, why);
    if (prc < 0)
        return prc == USERAUTH_PW_COMMON ? USERS_BREACHED : USERS_WEAK;
    if (userauth_password_hash(pw, len, hash) < 0)
        return USERS_NOMEM;
    return USERS_OK;
}

const char *users_weak_code(int rc)
{
    return userauth_password_error_code(rc == USERS_BREACHED ? USERAUTH_PW_COMMON : -1);
}

int users_create(struct db *db, const struct users_actor *who, const char *email, const char *name,
                 int role, const char *pw, size_t len, long long *id, const char **why)
{
    char h[USERAUTH_HASH_MAX];
    int urc = users_password_new(pw, len, email, h, why);
    if (urc != USERS_OK)
        return urc;
    struct db_res res = {0};
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "INSERT INTO users (email, name, role, password_hash, created_by) "
                     "VALUES (?, ?, ?, ?, ?)",
                     DB_ARGS(DB_STR(email), DB_STR(name ? name : ""),
                             DB_STR(userauth_role_name(role)), DB_STR(h), DB_STR(who->actor)),
                     &res);
    sodium_memzero(h, sizeof h);
    if (rc == DB_OK) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "email", json_object_new_string(email));
        json_object_object_add(d, "role", json_object_new_string(userauth_role_name(role)));
        rc = audit_log_write(db, who->actor, who->address, "user.create", "user",
                             (long long)res.insert_id, 0, d);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        return rc == DB_ERR_DUP ? USERS_EXISTS : USERS_DB;
    }
    *id = (long long)res.insert_id;
    return USERS_OK;
}

int users_find_email(struct db *db, const char *email, long long *id)
{
    struct db_rows rows;
    if (db_query(db, "SELECT id FROM users WHERE email = ?", DB_ARGS(DB_STR(email)), &rows) !=
        DB_OK) {
        db_rows_free(&rows);
        return USERS_DB;
    }
    *id = rows.nrows == 1 ? db_int(&rows, 0, 0, 0) : 0;
    db_rows_free(&rows);
    return *id ? USERS_OK : USERS_NOT_FOUND;
}

int users_sessions_revoke(struct db *db, long long id, const char *reason)
{
    return db_exec(db,
                   "UPDATE sessions SET revoked_at = NOW(3), revoke_reason = ? "
                   "WHERE user_id = ? AND revoked_at IS NULL",
                   DB_ARGS(DB_STR(reason), DB_INT(id)), NULL);
}

/* The one statement sequence that gives a user a new password hash: the hash, every session
 * ended (reason), failed sign-ins forgotten when asked, the audit row; one transaction. */
static int password_store(struct db *db, const struct users_actor *who, long long id,
                          const char *email, const char *hash, int enable, const char *reason,
                          int forget_failures, const char *action, int detail_email)
{
    int rc = db_begin(db);
    if (rc == DB_OK)
        rc = db_exec(db,
                     "UPDATE users SET password_hash = ?, password_changed_at = NOW(3), "
                     "disabled_at = IF(?, NULL, disabled_at) WHERE id = ?",
                     DB_ARGS(DB_STR(hash), DB_INT(enable != 0), DB_INT(id)), NULL);
    if (rc == DB_OK)
        rc = users_sessions_revoke(db, id, reason);
    if (rc == DB_OK && forget_failures)
        rc =
            db_exec(db, "DELETE FROM login_failures WHERE email = ?", DB_ARGS(DB_STR(email)), NULL);
    if (rc == DB_OK) {
        json_object *d = NULL;
        if (detail_email) {
            d = json_object_new_object();
            json_object_object_add(d, "email", json_object_new_string(email));
        }
        rc = audit_log_write(db, who->actor, who->address, action, "user", id, 0, d);
    }
    if (rc == DB_OK)
        rc = db_commit(db);
    if (rc != DB_OK) {
        db_rollback(db);
        return USERS_DB;
    }
    return USERS_OK;
}

int users_password_change(struct db *db, const struct users_actor *who, long long id,
                          const char *email, const char *pw, size_t len, const char **why)
{
    char h[USERAUTH_HASH_MAX];
    int urc = users_password_new(pw, len, email, h, why);
    if (urc != USERS_OK)
        return urc;
    urc = password_store(db, who, id, email, h, 0, "password_change", 0, "user.password_change", 0);
    sodium_memzero(h, sizeof h);
    return urc;
}

int users_password_reset(struct db *db, const struct users_actor *who, long long id, const char *pw,
                         size_t len, int enable, const char **why)
{
    char email[USERAUTH_EMAIL_MAX + 1] = "";
    struct db_rows rows;
    if (db_query(db, "SELECT email FROM users WHERE id = ?", DB_ARGS(DB_INT(id)), &rows) != DB_OK) {
        db_rows_free(&rows);
        return USERS_DB;
    }
    if (rows.nrows == 1)
        snprintf(email, sizeof email, "%s", db_val(&rows, 0, 0));
    db_rows_free(&rows);
    if (!email[0])
        return USERS_NOT_FOUND;
    char h[USERAUTH_HASH_MAX];
    int urc = users_password_new(pw, len, email, h, why);
    if (urc != USERS_OK)
        return urc;
    urc = password_store(db, who, id, email, h, enable, "password_reset", 1,
                         enable ? "user.password_reset_enable" : "user.password_reset", 1);
    sodium_memzero(h, sizeof h);
    return urc;
}
