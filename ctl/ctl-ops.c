/* pregonctl commands for running a deployment: migrations, a campaign's status, and whether
 * each WhatsApp account's Graph API answers with its credentials. */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accounts.h"
#include "config.h"
#include "ctl.h"
#include "campaign_read.h"
#include "db.h"
#include "secret.h"

/* migrate.sh next to an installed binary ($PREFIX/bin -> $PREFIX/share/pregon/scripts) or in
 * the source tree (build/bin -> scripts); $PREGON_DATADIR wins over both. */
static int find_migrate(char *out, size_t len)
{
    const char *dd = getenv("PREGON_DATADIR");
    if (dd && *dd) {
        snprintf(out, len, "%s/scripts/migrate.sh", dd);
        return access(out, X_OK);
    }
    char self[PATH_MAX / 2];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    static const char *rel[] = {"../share/pregon/scripts/migrate.sh", "../../scripts/migrate.sh"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        int w = snprintf(out, len, "%s/%s", self, rel[i]);
        if (w > 0 && (size_t)w < len && access(out, X_OK) == 0)
            return 0;
    }
    return -1;
}

int ctl_migrate(const struct config *cfg, int argc, char **argv)
{
    const char *admin = NULL;
    const char *hosts[16];
    int nhosts = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--admin-defaults") == 0 && i + 1 < argc)
            admin = argv[++i];
        else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc && nhosts < 14)
            hosts[nhosts++] = argv[++i];
        else {
            fprintf(stderr, "usage: pregonctl migrate --admin-defaults FILE [--host H]...\n");
            return 2;
        }
    }
    if (!admin) {
        fprintf(stderr, "pregonctl: migrate needs --admin-defaults FILE (a [client] section of "
                        "an account allowed to change the schema)\n");
        return 2;
    }
    char script[PATH_MAX];
    if (find_migrate(script, sizeof script) != 0) {
        fprintf(stderr, "pregonctl: migrate.sh not found (set PREGON_DATADIR)\n");
        return 1;
    }
    /* Arguments go straight to execv: nothing passes through a shell. */
    char *args[24];
    int a = 0;
    args[a++] = script;
    args[a++] = (char *)admin;
    args[a++] = cfg->db_name;
    args[a++] = cfg->db_user;
    if (nhosts == 0) {
        args[a++] = "localhost";
        args[a++] = "127.0.0.1";
    }
    for (int i = 0; i < nhosts; i++)
        args[a++] = (char *)hosts[i];
    args[a] = NULL;
    execv(script, args);
    fprintf(stderr, "pregonctl: %s: %s\n", script, strerror(errno));
    return 1;
}

int ctl_campaign_status(const struct config *cfg, int argc, char **argv)
{
    if (argc != 2 || atoll(argv[1]) <= 0) {
        fprintf(stderr, "usage: pregonctl campaign-status ID\n");
        return 2;
    }
    struct db *db = db_open(cfg);
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        db_close(db);
        return 1;
    }
    struct campaign_status_row s;
    int found;
    if (campaign_read_status(db, atoll(argv[1]), &s, &found) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        db_close(db);
        return 1;
    }
    if (!found) {
        fprintf(stderr, "pregonctl: no campaign %s\n", argv[1]);
        db_close(db);
        return 1;
    }
    printf("%-13s %lld\n%-13s %s\n%-13s %s\n%-13s %s\n", "id", s.id, "name", s.name, "status",
           s.status, "pause reason", s.pause_reason);
    const struct {
        const char *label;
        long long n;
    } counts[] = {{"total", s.total},         {"pending", s.pending},     {"sent", s.sent},
                  {"delivered", s.delivered}, {"read", s.read},           {"failed", s.failed},
                  {"blocked", s.blocked},     {"cancelled", s.cancelled}, {"unknown", s.unknown},
                  {"holdout", s.holdout}};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        printf("%-13s %lld\n", counts[c].label, counts[c].n);
    printf("%-13s %s\n%-13s %s\n", "started", s.started, "completed", s.completed);
    campaign_status_row_free(&s);
    db_close(db);
    return 0;
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* GET /{version}/{phone_number_id} with the account's token: the cheapest call that proves
 * the base URL, the phone number id and the token together. */
int ctl_check_meta(const struct config *cfg)
{
    struct secret_key key;
    char err[512] = "";
    if (secret_key_load(&key, cfg->secrets_key_file, err, sizeof err) < 0) {
        printf("graph api: FAIL %s\n", err);
        return 1;
    }
    struct db *db = db_open(cfg);
    struct account_list l;
    if (!db || accounts_load(db, &key, &l) != DB_OK) {
        printf("graph api: FAIL cannot read accounts: %s\n", db ? db_error(db) : "no memory");
        secret_key_wipe(&key);
        db_close(db);
        return 1;
    }
    secret_key_wipe(&key);
    int rc = 0;
    CURL *c = curl_easy_init();
    for (size_t i = 0; c && i < l.n; i++) {
        const struct account *a = &l.v[i];
        char *auth = NULL, *url = NULL;
        if (!a->access_token) {
            printf("graph api, account %lld: FAIL no access token\n", a->id);
            rc = 1;
            continue;
        }
        if (asprintf(&auth, "Authorization: Bearer %s", a->access_token) < 0) {
            rc = 1;
            break;
        }
        if (!(url = accounts_phone_url(a, cfg->graph_base_url, NULL))) {
            free(auth);
            rc = 1;
            break;
        }
        struct curl_slist *h = curl_slist_append(NULL, auth);
        free(auth);
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)cfg->http_timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->http_connect_timeout_ms);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        CURLcode cr = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        free(url);
        if (cr != CURLE_OK || status != 200) {
            printf("graph api, account %lld (%s): FAIL %s\n", a->id, a->phone_number_id,
                   cr != CURLE_OK  ? curl_easy_strerror(cr)
                   : status == 401 ? "token refused"
                                   : "unexpected answer");
            rc = 1;
        } else {
            printf("graph api, account %lld (%s%s): ok\n", a->id, a->phone_number_id,
                   a->is_sandbox ? ", sandbox" : "");
        }
    }
    if (c)
        curl_easy_cleanup(c);
    accounts_free(&l);
    db_close(db);
    return rc;
}
