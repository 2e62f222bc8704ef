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
#include "audit_log.h"
#include "db.h"
#include "userauth.h"
#include "users.h"

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

/* The password to set: from the environment variable, else random (then *generated = 1).
 * A generated one must pass the policy it is checked against (userauth_password_check):
 * cracklib calls about 1 in 1,000 random strings of this shape "too simplistic/systematic"
 * (more than a few neighbouring characters such as "ab" or "98"), and a first superadmin that
 * `make run` cannot create is a failed install. Another draw is as random as the first. */
static int password_from(const char *env, const char *email, char *out, size_t outlen,
                         int *generated)
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
    for (int tries = 0; tries < 64; tries++) {
        randombytes_buf(raw, sizeof raw);
        sodium_bin2base64(out, outlen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        if (userauth_password_check(out, strlen(out), email, NULL) == 0)
            break;
    }
    sodium_memzero(raw, sizeof raw);
    *generated = 1;
    return 0;
}

static const struct users_actor ctl_actor = {"pregonctl", NULL};

static int create_user(struct db *db, const char *email, const char *name, int role, const char *pw,
                       long long *id)
{
    const char *why = NULL;
    switch (users_create(db, &ctl_actor, email, name, role, pw, strlen(pw), id, &why)) {
    case USERS_OK:
        return 0;
    case USERS_WEAK:
    case USERS_BREACHED:
        fprintf(stderr, "pregonctl: %s\n", why);
        break;
    case USERS_EXISTS:
        fprintf(stderr, "pregonctl: a user with e-mail %s exists already\n", email);
        break;
    case USERS_NOMEM:
        fprintf(stderr, "pregonctl: out of memory\n");
        break;
    default:
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
    }
    return 1;
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
    if (password_from("PREGON_PASSWORD", email, pw, sizeof pw, &generated) < 0) {
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
    if (password_from("PREGON_PASSWORD", email, pw, sizeof pw, &generated) < 0) {
        fprintf(stderr, "pregonctl: PREGON_PASSWORD is too long\n");
        return 2;
    }
    struct db *db = connect_db(cfg);
    int rc = 1, urc = USERS_DB;
    long long id = 0;
    const char *why = NULL;
    if (!db)
        goto out;
    urc = users_find_email(db, email, &id);
    if (urc == USERS_OK)
        urc = users_password_reset(db, &ctl_actor, id, pw, strlen(pw), enable, &why);
    switch (urc) {
    case USERS_OK:
        printf("password of %s reset%s; their sessions are ended\n", email,
               enable ? " and the user enabled" : "");
        if (generated)
            printf("password: %s\n(shown once)\n", pw);
        rc = 0;
        break;
    case USERS_NOT_FOUND:
        fprintf(stderr, "pregonctl: no user with e-mail %s\n", email);
        break;
    case USERS_WEAK:
    case USERS_BREACHED:
        fprintf(stderr, "pregonctl: %s\n", why);
        rc = 2;
        break;
    case USERS_NOMEM:
        fprintf(stderr, "pregonctl: out of memory\n");
        break;
    default:
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
    }
out:
    db_close(db);
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
    if (password_from("PREGON_ADMIN_PASSWORD", email, pw, sizeof pw, &generated) < 0) {
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
    if (r == DB_OK) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "email", json_object_new_string(email));
        r = audit_log_write(db, "pregonctl", NULL, "user.unlock", "user", 0, 0, d);
    }
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
