/* pregonctl user-create | user-reset-password | user-unlock | user-list | user-init.
 *
 * Passwords never come from the command line (where `ps` shows them): from the environment
 * ($PREGON_PASSWORD, $PREGON_ADMIN_PASSWORD for user-init), else a random one is generated and
 * printed once. Every change is written to the audit log with the actor "pregonctl". */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "userauth.h"

static struct db *connect_db(const struct config *cfg)
{
    struct db *db = db_open(cfg);
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        db_close(db);
        return NULL;
    }
    return db;
}

/* The password to set: from the environment variable, else random (then *generated = 1). */
static int password_from(const char *env, char *out, size_t outlen, int *generated)
{
    const char *pw = getenv(env);
    *generated = 0;
    if (pw && *pw) {
        if (strlen(pw) >= outlen)
            return -1;
        snprintf(out, outlen, "%s", pw);
        return 0;
    }
    unsigned char raw[18];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, outlen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    *generated = 1;
    return 0;
}

static void audit(struct db *db, const char *action, long long target, const char *email)
{
    char detail[400];
    /* The e-mail passed userauth_email_normalize: no quotes, backslashes or controls. */
    snprintf(detail, sizeof detail, "{\"email\":\"%s\"}", email);
    if (db_exec(db,
                "INSERT INTO audit_log (actor, address, action, target_type, target_id, detail) "
                "VALUES ('pregonctl', NULL, ?, 'user', ?, ?)",
                DB_ARGS(DB_STR(action), DB_INT(target), DB_STR(detail)), NULL) != DB_OK)
        fprintf(stderr, "pregonctl: audit log: %s\n", db_error(db));
}

static int create_user(struct db *db, const char *email, const char *name, int role, const char *pw,
                       long long *id)
{
    const char *why = NULL;
    if (userauth_password_check(pw, strlen(pw), email, &why) < 0) {
        fprintf(stderr, "pregonctl: %s\n", why);
        return 1;
    }
    char h[USERAUTH_HASH_MAX];
    if (userauth_password_hash(pw, strlen(pw), h) < 0) {
        fprintf(stderr, "pregonctl: out of memory\n");
        return 1;
    }
    struct db_res res;
    int rc = db_exec(
        db,
        "INSERT INTO users (email, name, role, password_hash, created_by) "
        "VALUES (?, ?, ?, ?, 'pregonctl')",
        DB_ARGS(DB_STR(email), DB_STR(name), DB_STR(userauth_role_name(role)), DB_STR(h)), &res);
    sodium_memzero(h, sizeof h);
    if (rc == DB_ERR_DUP) {
        fprintf(stderr, "pregonctl: a user with e-mail %s exists already\n", email);
        return 1;
    }
    if (rc != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        return 1;
    }
    *id = (long long)res.insert_id;
    audit(db, "user.create", *id, email);
    return 0;
}

int ctl_user_create(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"email", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *email_in = NULL, *name = "", *role_s = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            email_in = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'r':
            role_s = optarg;
            break;
        default:
            return 2;
        }
    }
    char email[USERAUTH_EMAIL_MAX + 1];
    int role = userauth_role_parse(role_s);
    if (!email_in || userauth_email_normalize(email_in, email, sizeof email) < 0 || role < 0) {
        fprintf(stderr, "pregonctl: user-create needs --email ADDRESS and --role "
                        "viewer|admin|superadmin (password from $PREGON_PASSWORD, or generated)\n");
        return 2;
    }
    char pw[USERAUTH_PASSWORD_MAX + 1];
    int generated;
    if (password_from("PREGON_PASSWORD", pw, sizeof pw, &generated) < 0) {
        fprintf(stderr, "pregonctl: PREGON_PASSWORD is too long\n");
        return 2;
    }
    struct db *db = connect_db(cfg);
    if (!db)
        return 1;
    long long id = 0;
    int rc = create_user(db, email, name, role, pw, &id);
    db_close(db);
    if (rc == 0) {
        printf("user %lld created: %s (%s)\n", id, email, userauth_role_name(role));
        if (generated)
            printf("password: %s\n(shown once: write it down or change it after signing in)\n", pw);
    }
    sodium_memzero(pw, sizeof pw);
    return rc;
}

int ctl_user_reset_password(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"email", required_argument, NULL, 'e'},
        {"enable", no_argument, NULL, 'E'},
        {NULL, 0, NULL, 0},
    };
    const char *email_in = NULL;
    int enable = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            email_in = optarg;
            break;
        case 'E':
            enable = 1;
            break;
        default:
            return 2;
        }
    }
    char email[USERAUTH_EMAIL_MAX + 1];
    if (!email_in || userauth_email_normalize(email_in, email, sizeof email) < 0) {
        fprintf(stderr, "pregonctl: user-reset-password needs --email ADDRESS [--enable]\n");
        return 2;
    }
    char pw[USERAUTH_PASSWORD_MAX + 1];
    int generated;
    const char *why = NULL;
    if (password_from("PREGON_PASSWORD", pw, sizeof pw, &generated) < 0 ||
        userauth_password_check(pw, strlen(pw), email, &why) < 0) {
        fprintf(stderr, "pregonctl: %s\n", why ? why : "PREGON_PASSWORD is too long");
        sodium_memzero(pw, sizeof pw);
        return 2;
    }
    char h[USERAUTH_HASH_MAX];
    int hrc = userauth_password_hash(pw, strlen(pw), h);
    struct db *db = hrc == 0 ? connect_db(cfg) : NULL;
    int rc = 1;
    if (hrc < 0)
        fprintf(stderr, "pregonctl: out of memory\n");
    if (!db)
        goto out;
    struct db_rows rows;
    if (db_query(db, "SELECT id FROM users WHERE email = ?", DB_ARGS(DB_STR(email)), &rows) !=
        DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        db_rows_free(&rows);
        goto out;
    }
    long long id = rows.nrows == 1 ? db_int(&rows, 0, 0, 0) : 0;
    db_rows_free(&rows);
    if (!id) {
        fprintf(stderr, "pregonctl: no user with e-mail %s\n", email);
        goto out;
    }
    int r = db_begin(db);
    if (r == DB_OK)
        r = db_exec(db,
                    "UPDATE users SET password_hash = ?, password_changed_at = NOW(3), "
                    "disabled_at = IF(?, NULL, disabled_at) WHERE id = ?",
                    DB_ARGS(DB_STR(h), DB_INT(enable), DB_INT(id)), NULL);
    if (r == DB_OK)
        r = db_exec(db,
                    "UPDATE sessions SET revoked_at = NOW(3), revoke_reason = 'password_reset' "
                    "WHERE user_id = ? AND revoked_at IS NULL",
                    DB_ARGS(DB_INT(id)), NULL);
    if (r == DB_OK)
        r = db_exec(db, "DELETE FROM login_failures WHERE email = ?", DB_ARGS(DB_STR(email)), NULL);
    if (r == DB_OK)
        audit(db, enable ? "user.password_reset_enable" : "user.password_reset", id, email);
    if (r == DB_OK)
        r = db_commit(db);
    if (r != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        db_rollback(db);
        goto out;
    }
    printf("password of %s reset%s; their sessions are ended\n", email,
           enable ? " and the user enabled" : "");
    if (generated)
        printf("password: %s\n(shown once)\n", pw);
    rc = 0;
out:
    db_close(db);
    sodium_memzero(h, sizeof h);
    sodium_memzero(pw, sizeof pw);
    return rc;
}

int ctl_user_list(const struct config *cfg)
{
    struct db *db = connect_db(cfg);
    if (!db)
        return 1;
    struct db_rows rows;
    int rc = 1;
    if (db_query(db,
                 "SELECT id, email, role, IF(disabled_at IS NULL, 'enabled', 'disabled'), "
                 "COALESCE(DATE_FORMAT(last_login_at, '%Y-%m-%d %H:%i'), '-') FROM users "
                 "ORDER BY id",
                 DB_NOARGS, &rows) == DB_OK) {
        for (size_t i = 0; i < rows.nrows; i++)
            printf("%s\t%s\t%s\t%s\tlast sign-in %s\n", db_val(&rows, i, 0), db_val(&rows, i, 1),
                   db_val(&rows, i, 2), db_val(&rows, i, 3), db_val(&rows, i, 4));
        rc = 0;
    } else {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
    }
    db_rows_free(&rows);
    db_close(db);
    return rc;
}

int ctl_user_init(const struct config *cfg)
{
    const char *email_in = getenv("PREGON_ADMIN_EMAIL");
    char email[USERAUTH_EMAIL_MAX + 1];
    if (!email_in || !*email_in)
        email_in = "admin@localhost";
    if (userauth_email_normalize(email_in, email, sizeof email) < 0) {
        fprintf(stderr, "pregonctl: PREGON_ADMIN_EMAIL is not an e-mail address\n");
        return 2;
    }
    struct db *db = connect_db(cfg);
    if (!db)
        return 1;
    struct db_rows rows;
    int rc = 1;
    if (db_query(db, "SELECT COUNT(*) FROM users", DB_NOARGS, &rows) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        db_rows_free(&rows);
        db_close(db);
        return 1;
    }
    long long n = db_int(&rows, 0, 0, 0);
    db_rows_free(&rows);
    if (n > 0) {
        db_close(db);
        return 0;
    }
    char pw[USERAUTH_PASSWORD_MAX + 1];
    int generated;
    if (password_from("PREGON_ADMIN_PASSWORD", pw, sizeof pw, &generated) < 0) {
        fprintf(stderr, "pregonctl: PREGON_ADMIN_PASSWORD is too long\n");
        db_close(db);
        return 2;
    }
    long long id = 0;
    rc = create_user(db, email, "Superadmin", USERAUTH_SUPERADMIN, pw, &id);
    db_close(db);
    if (rc == 0) {
        printf("first superadmin created: %s\n", email);
        if (generated)
            printf("password: %s (shown this once)\n", pw);
        else
            printf("password: as given in PREGON_ADMIN_PASSWORD\n");
    }
    sodium_memzero(pw, sizeof pw);
    return rc;
}

int ctl_user_unlock(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"email", required_argument, NULL, 'e'},
        {NULL, 0, NULL, 0},
    };
    const char *email_in = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'e')
            return 2;
        email_in = optarg;
    }
    char email[USERAUTH_EMAIL_MAX + 1];
    if (!email_in || userauth_email_normalize(email_in, email, sizeof email) < 0) {
        fprintf(stderr, "pregonctl: user-unlock needs --email ADDRESS\n");
        return 2;
    }
    struct db *db = connect_db(cfg);
    if (!db)
        return 1;
    struct db_res res = {0, 0};
    int r = db_begin(db);
    if (r == DB_OK)
        r = db_exec(db, "DELETE FROM login_failures WHERE email = ?", DB_ARGS(DB_STR(email)), &res);
    if (r == DB_OK)
        audit(db, "user.unlock", 0, email);
    if (r == DB_OK)
        r = db_commit(db);
    if (r != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        db_rollback(db);
        db_close(db);
        return 1;
    }
    db_close(db);
    printf("%s: %llu failed sign-ins forgotten; it may sign in again from every address\n", email,
           res.affected);
    return 0;
}
