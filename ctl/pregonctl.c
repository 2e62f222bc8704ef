/* pregonctl: the operator's command-line tool.
 *
 *   pregonctl [-c FILE] key-create
 *   pregonctl [-c FILE] account-add --name N --waba-id ID --phone-number-id ID
 *             [--display-phone N] [--verify-token T] [--graph-base-url URL] [--sandbox]
 *             (the access token and app secret come from $PREGON_ACCESS_TOKEN and
 *              $PREGON_APP_SECRET, never from the command line, where `ps` would show them)
 *   pregonctl [-c FILE] check [--graph]   (the key, the database, every secret decrypts;
 *                                          --graph: each account's Graph API answers its token)
 *   pregonctl [-c FILE] migrate --admin-defaults FILE [--host H]...
 *   pregonctl [-c FILE] campaign-status ID
 *   pregonctl [-c FILE] contacts-import FILE|- [--tags a,b] [--consent-source S] [--country CC]
 *             [--dry-run] [--json]  (the API's contact import; exit 3 when rows were rejected)
 *   pregonctl [-c FILE] sql-explain [NAME ARGS-JSON]  (EXPLAIN of a named statement of lib/)
 *   pregonctl [-c FILE] user-create --email E --role viewer|admin|superadmin [--name N]
 *   pregonctl [-c FILE] user-reset-password --email E [--enable]
 *             (the password comes from $PREGON_PASSWORD, else a random one is printed once)
 *   pregonctl [-c FILE] user-unlock --email E  (forgets its failed sign-ins: lifts a lock)
 *   pregonctl [-c FILE] user-list
 *   pregonctl [-c FILE] user-init         (the first superadmin, when there is no user:
 *                                          $PREGON_ADMIN_EMAIL, $PREGON_ADMIN_PASSWORD)
 *   pregonctl [-c FILE] rotate-key        (re-encrypts every secret under a new key)
 *   pregonctl [-c FILE] webhooks-apply [--all] [--older-than SECONDS]
 *             (applies stored webhook events not applied yet, and statuses waiting for
 *              their wamid; --all also retries events that failed to apply 5 times)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "accounts.h"
#include "db.h"
#include "log.h"
#include "secret.h"
#include "webhook_apply.h"

static void usage(void)
{
    fprintf(stderr, "usage: pregonctl [-c FILE] key-create | account-add ... | check [--graph] |\n"
                    "       user-create ... | user-reset-password ... | user-unlock --email E |\n"
                    "       user-list | user-init |\n"
                    "       rotate-key | webhooks-apply [--all] [--older-than S] |\n"
                    "       migrate --admin-defaults FILE [--host H]... | campaign-status ID |\n"
                    "       contacts-import FILE [--tags a,b] [--consent-source S] ... |\n"
                    "       sql-explain [NAME ARGS-JSON]\n"
                    "       see the comment at the top of ctl/pregonctl.c or docs/operations.md\n");
}

static int cmd_key_create(const struct config *cfg)
{
    char err[512] = "";
    if (secret_key_create(cfg->secrets_key_file, err, sizeof err) < 0) {
        fprintf(stderr, "pregonctl: %s\n", err);
        return 1;
    }
    printf("created %s\n", cfg->secrets_key_file);
    return 0;
}

static int cmd_account_add(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"waba-id", required_argument, NULL, 'w'},
        {"phone-number-id", required_argument, NULL, 'p'},
        {"display-phone", required_argument, NULL, 'd'},
        {"verify-token", required_argument, NULL, 'v'},
        {"graph-base-url", required_argument, NULL, 'g'},
        {"sandbox", no_argument, NULL, 's'},
        {NULL, 0, NULL, 0},
    };
    const char *name = NULL, *waba = NULL, *phone = NULL, *display = "", *verify = "", *base = NULL;
    int sandbox = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'w':
            waba = optarg;
            break;
        case 'p':
            phone = optarg;
            break;
        case 'd':
            display = optarg;
            break;
        case 'v':
            verify = optarg;
            break;
        case 'g':
            base = optarg;
            break;
        case 's':
            sandbox = 1;
            break;
        default:
            usage();
            return 2;
        }
    }
    const char *token = getenv("PREGON_ACCESS_TOKEN");
    const char *app_secret = getenv("PREGON_APP_SECRET");
    if (!name || !waba || !phone || !token || !*token || !app_secret || !*app_secret) {
        fprintf(stderr, "pregonctl: account-add needs --name, --waba-id, --phone-number-id and "
                        "PREGON_ACCESS_TOKEN and PREGON_APP_SECRET in the environment\n");
        return 2;
    }

    struct secret_key key;
    char err[512] = "";
    if (secret_key_load(&key, cfg->secrets_key_file, err, sizeof err) < 0) {
        fprintf(stderr, "pregonctl: %s\n", err);
        return 1;
    }
    size_t tlen = 0, slen = 0;
    unsigned char *tok_enc = secret_seal(&key, token, strlen(token), &tlen);
    unsigned char *sec_enc = secret_seal(&key, app_secret, strlen(app_secret), &slen);
    secret_key_wipe(&key);
    int rc = 1;
    struct db *db = NULL;
    if (!tok_enc || !sec_enc) {
        fprintf(stderr, "pregonctl: out of memory\n");
        goto out;
    }
    db = db_open(cfg);
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        goto out;
    }
    struct db_res res;
    int r = db_exec(db,
                    "INSERT INTO wa_accounts (name, waba_id, phone_number_id, display_phone, "
                    "graph_base_url, access_token_enc, app_secret_enc, verify_token, is_sandbox) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    DB_ARGS(DB_STR(name), DB_STR(waba), DB_STR(phone), DB_STR(display),
                            DB_STR(base), DB_STRN((const char *)tok_enc, tlen),
                            DB_STRN((const char *)sec_enc, slen), DB_STR(verify), DB_INT(sandbox)),
                    &res);
    if (r == DB_ERR_DUP) {
        fprintf(stderr, "pregonctl: an account with phone number id %s exists already\n", phone);
        goto out;
    }
    if (r != DB_OK || accounts_sandbox_tier(db, (long long)res.insert_id) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        goto out;
    }
    printf("account %llu added\n", res.insert_id);
    rc = 0;
out:
    db_close(db);
    free(tok_enc);
    free(sec_enc);
    return rc;
}

static int cmd_webhooks_apply(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"older-than", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int all = 0, older = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = 1;
            break;
        case 'o':
            older = atoi(optarg);
            break;
        default:
            usage();
            return 2;
        }
    }
    struct db *db = db_open(cfg);
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        db_close(db);
        return 1;
    }
    struct webhook_stats st;
    webhook_apply_set_policy(cfg->worker_param_pause);
    int n = webhook_sweep(db, NULL, older < 0 ? 0 : older, all, &st);
    if (n < 0) {
        fprintf(stderr, "pregonctl: webhooks-apply: %s\n", db_error(db));
        db_close(db);
        return 1;
    }
    printf("applied %d stored webhook events (%d statuses applied, %d duplicates, %d waiting "
           "for their wamid, %d inbound messages)\n",
           n, st.applied, st.duplicates, st.unmatched, st.messages);
    db_close(db);
    return 0;
}

static int cmd_check(const struct config *cfg, int argc, char **argv)
{
    int graph = argc > 1 && strcmp(argv[1], "--graph") == 0;
    struct secret_key key;
    char err[512] = "";
    int rc = 0;
    if (secret_key_load(&key, cfg->secrets_key_file, err, sizeof err) < 0) {
        printf("secrets key: FAIL %s\n", err);
        rc = 1;
    } else {
        printf("secrets key: ok\n");
        secret_key_wipe(&key);
    }
    struct db *db = db_open(cfg);
    if (!db || db_ping(db) != DB_OK) {
        printf("database: FAIL %s\n", db ? db_error(db) : "out of memory");
        rc = 1;
    } else {
        printf("database: ok\n");
    }
    db_close(db);
    if (rc == 0 && ctl_check_secrets(cfg) != 0)
        rc = 1;
    if (rc == 0 && graph && ctl_check_meta(cfg) != 0)
        rc = 1;
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int i = 1;
    if (i + 1 < argc && (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
        path = argv[i + 1];
        i += 2;
    }
    if (i >= argc) {
        usage();
        return 2;
    }
    log_init("pregonctl", "warn", NULL);
    struct config cfg;
    char err[512] = "";
    if (config_load(&cfg, path, err, sizeof err) < 0) {
        fprintf(stderr, "pregonctl: %s\n", err);
        return 1;
    }
    const char *cmd = argv[i];
    int rc;
    if (strcmp(cmd, "key-create") == 0)
        rc = cmd_key_create(&cfg);
    else if (strcmp(cmd, "account-add") == 0)
        rc = cmd_account_add(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "check") == 0)
        rc = cmd_check(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "migrate") == 0)
        rc = ctl_migrate(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "campaign-status") == 0)
        rc = ctl_campaign_status(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "contacts-import") == 0)
        rc = ctl_contacts_import(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "sql-explain") == 0)
        rc = ctl_sql_explain(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "webhooks-apply") == 0)
        rc = cmd_webhooks_apply(&cfg, argc - i, argv + i);
    else if (sodium_init() < 0) {
        fprintf(stderr, "pregonctl: libsodium failed to initialise\n");
        rc = 1;
    } else if (strcmp(cmd, "user-create") == 0)
        rc = ctl_user_create(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "user-reset-password") == 0)
        rc = ctl_user_reset_password(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "user-unlock") == 0)
        rc = ctl_user_unlock(&cfg, argc - i, argv + i);
    else if (strcmp(cmd, "user-list") == 0)
        rc = ctl_user_list(&cfg);
    else if (strcmp(cmd, "user-init") == 0)
        rc = ctl_user_init(&cfg);
    else if (strcmp(cmd, "rotate-key") == 0)
        rc = ctl_rotate_key(&cfg);
    else {
        usage();
        rc = 2;
    }
    config_free(&cfg);
    return rc;
}
