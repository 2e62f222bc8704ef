/* /api/accounts: the WhatsApp accounts campaigns send from. Secrets (access token, app
 * secret, verify token) are write-only: stored encrypted (verify token as Meta needs it back),
 * shown only as "set" and a mask. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "account_health.h"
#include "apival.h"
#include "accounts.h"
#include "app.h"
#include "audit.h"
#include "campaign_read.h"
#include "db.h"
#include "msgcat.h"
#include "e164.h"
#include "log.h"
#include "queue.h"

#define JSON_LIMIT (64 * 1024)

/* clang-format off */
#define ACCOUNT_COLUMNS                                                                            \
    "id, name, waba_id, phone_number_id, display_phone, graph_version, graph_base_url, "           \
    "access_token_enc, app_secret_enc, verify_token, is_sandbox, default_country, timezone, "      \
    "throughput_mps, messaging_tier, quality_rating, campaigns_enabled, "                          \
    TS("created_at") ", " TS("updated_at") ", quality_event, " TS("quality_updated_at") ", "       \
    "account_event, restriction, " TS("account_updated_at") ", "                                   \
    "autopause_min_failures, autopause_pct, autopause_window, in_doubt_resend_after_s, "           \
    "freq_cap_count, freq_cap_window_s"
/* clang-format on */

static json_object *secret_state(struct request *req, const struct db_rows *r, size_t i, size_t c,
                                 int encrypted)
{
    json_object *o = json_object_new_object();
    const char *blob = db_val(r, i, c);
    int set = blob && r->len[i * r->ncols + c] > 0;
    json_object_object_add(o, "set", json_object_new_boolean(set));
    if (set) {
        char mask[64] = "••••";
        if (!encrypted) {
            secret_mask(blob, mask, sizeof mask);
        } else if (req->app->have_key) {
            char *plain =
                secret_open(&req->app->key, (const unsigned char *)blob, r->len[i * r->ncols + c]);
            if (plain)
                secret_mask(plain, mask, sizeof mask);
            else
                snprintf(mask, sizeof mask, "%s", "(cannot be decrypted with this key)");
            secret_free(plain);
        }
        json_object_object_add(o, "masked", json_object_new_string(mask));
    }
    return o;
}

/* The dashboard's view of the account: the messaging tier budget used in the moving 24 h
 * (contact_pace, what the worker counts), what Meta last said (webhook_apply stores
 * phone_number_quality_update and account_update) and the campaigns Meta's events paused. */
static void add_health(struct request *req, json_object *o, const struct db_rows *r, size_t i,
                       long long lim)
{
    long long id = db_int(r, i, 0, 0), used = 0;
    long long cap = lim > 0 ? lim : ACCOUNT_TIER_COUNT_CAP;
    int ok = account_tier_used(req->app->db, db_val(r, i, 2), cap, &used) == DB_OK;
    json_object *t = json_object_new_object();
    json_object_object_add(t, "used_last_24h", ok ? json_object_new_int64(used) : NULL);
    /* Counted up to the limit: "at least" once an unlimited account passes the cap. */
    json_object_object_add(t, "used_at_least", json_object_new_boolean(ok && used >= cap));
    json_object_object_add(t, "limit", lim > 0 ? json_object_new_int64(lim) : NULL);
    json_object_object_add(
        t, "remaining", ok && lim > 0 ? json_object_new_int64(used < lim ? lim - used : 0) : NULL);
    json_object_object_add(
        t, "percent",
        ok && lim > 0 ? json_object_new_double(floor(1000.0 * (double)used / (double)lim) / 10)
                      : NULL);
    json_object_object_add(o, "tier_usage", t);

    json_object *h = json_object_new_object();
    json_object_object_add(h, "quality_event", json_str_or_null(db_val(r, i, 19)));
    json_object_object_add(h, "quality_updated_at", json_str_or_null(db_val(r, i, 20)));
    json_object_object_add(h, "account_event", json_str_or_null(db_val(r, i, 21)));
    const char *restr = db_val(r, i, 22);
    json_object *parsed = restr ? json_tokener_parse(restr) : NULL;
    json_object_object_add(h, "restriction",
                           parsed ? parsed : json_str_or_null(restr)); /* text when no details */
    json_object_object_add(h, "account_updated_at", json_str_or_null(db_val(r, i, 23)));
    time_t until = 0;
    int restricted = account_restricted(db_val(r, i, 21), restr, time(NULL), &until);
    json_object_object_add(h, "restricted", json_object_new_boolean(restricted));
    char when[32] = "";
    if (until > 0) {
        struct tm tm;
        gmtime_r(&until, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_object_object_add(h, "restriction_until",
                           restricted && when[0] ? json_object_new_string(when) : NULL);
    json_object_object_add(o, "health", h);

    /* Campaigns stopped by Meta (a template, the account, an error code), not by a person. */
    json_object *arr;
    if (campaign_read_paused_by_meta(req->app->db, id, req->lang, &arr) != DB_OK)
        arr = json_object_new_array();
    json_object_object_add(o, "paused_by_meta", arr);
}

static json_object *account_json(struct request *req, const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, 0, 0)));
    json_object_object_add(o, "name", json_str_or_null(db_val(r, i, 1)));
    json_object_object_add(o, "waba_id", json_str_or_null(db_val(r, i, 2)));
    json_object_object_add(o, "phone_number_id", json_str_or_null(db_val(r, i, 3)));
    json_object_object_add(o, "display_phone", json_str_or_null(db_val(r, i, 4)));
    json_object_object_add(o, "graph_version", json_str_or_null(db_val(r, i, 5)));
    json_object_object_add(o, "graph_base_url", json_str_or_null(db_val(r, i, 6)));
    json_object_object_add(
        o, "effective_graph_base_url",
        json_object_new_string(db_val(r, i, 6) ? db_val(r, i, 6) : req->app->cfg.graph_base_url));
    json_object *cr = json_object_new_object();
    json_object_object_add(cr, "access_token", secret_state(req, r, i, 7, 1));
    json_object_object_add(cr, "app_secret", secret_state(req, r, i, 8, 1));
    json_object_object_add(cr, "verify_token", secret_state(req, r, i, 9, 0));
    json_object_object_add(o, "credentials", cr);
    json_object_object_add(o, "sandbox", json_object_new_boolean(db_int(r, i, 10, 0) != 0));
    json_object_object_add(o, "default_country", json_str_or_null(db_val(r, i, 11)));
    json_object_object_add(o, "timezone", json_str_or_null(db_val(r, i, 12)));
    json_object_object_add(o, "throughput_mps", json_object_new_int64(db_int(r, i, 13, 0)));
    json_object_object_add(o, "messaging_tier", json_str_or_null(db_val(r, i, 14)));
    long long lim = account_tier_limit(db_val(r, i, 14));
    json_object_object_add(o, "daily_unique_users_limit",
                           lim > 0 ? json_object_new_int64(lim) : NULL);
    json_object_object_add(o, "quality_rating", json_str_or_null(db_val(r, i, 15)));
    /* The pace the wizard starts a campaign with, and why (lib/account_health). */
    struct account_pace ap;
    account_default_pace(db_val(r, i, 14), db_val(r, i, 15), &ap);
    json_object *dp = json_object_new_object();
    json_object_object_add(dp, "batch_size", json_object_new_int(ap.batch_size));
    json_object_object_add(dp, "interval_ms", json_object_new_int(ap.interval_ms));
    json_object_object_add(dp, "daily_cap",
                           ap.daily_cap > 0 ? json_object_new_int64(ap.daily_cap) : NULL);
    json_object_object_add(dp, "quality", json_object_new_string(ap.quality));
    json_object_object_add(o, "default_pace", dp);
    json_object_object_add(o, "campaigns_enabled",
                           json_object_new_boolean(db_int(r, i, 16, 0) != 0));
    /* Issue 15: in-doubt recipients resent once after this many seconds; 0 = never. */
    json_object_object_add(o, "in_doubt_resend_after_s",
                           json_object_new_int64(db_int(r, i, 27, 0)));
    /* Issue 21: at most freq_cap_count messages per person per window (0 = no cap). */
    json_object_object_add(o, "freq_cap_count", json_object_new_int64(db_int(r, i, 28, 0)));
    json_object_object_add(o, "freq_cap_window_s", json_object_new_int64(db_int(r, i, 29, 86400)));
    json_object_object_add(o, "created_at", json_str_or_null(db_val(r, i, 17)));
    json_object_object_add(o, "updated_at", json_str_or_null(db_val(r, i, 18)));
    /* seed 003's auto-pause rule for this account's campaigns (lib/campaign_health.h) */
    json_object_object_add(o, "autopause_min_failures",
                           json_object_new_int64(db_int(r, i, 24, 50)));
    json_object_object_add(o, "autopause_pct", json_object_new_int64(db_int(r, i, 25, 50)));
    json_object_object_add(o, "autopause_window", json_object_new_int64(db_int(r, i, 26, 1000)));
    add_health(req, o, r, i, lim);
    return o;
}

static void answer_account(struct request *req, long long id, int status)
{
    struct db_rows rows;
    if (db_query(req->app->db, "SELECT " ACCOUNT_COLUMNS " FROM wa_accounts WHERE id = ?",
                 DB_ARGS(DB_INT(id)), &rows) != DB_OK) {
        http_db_error(req, "read the account");
        return;
    }
    if (rows.nrows == 0)
        http_error(req, 404, "not_found", "no such WhatsApp account", NULL);
    else
        http_json(req, status, account_json(req, &rows, 0));
    db_rows_free(&rows);
}

void api_accounts_list(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db_rows rows;
    if (db_query(req->app->db, "SELECT " ACCOUNT_COLUMNS " FROM wa_accounts ORDER BY id", DB_NOARGS,
                 &rows) != DB_OK) {
        http_db_error(req, "list the accounts");
        return;
    }
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < rows.nrows; i++)
        json_object_array_add(arr, account_json(req, &rows, i));
    db_rows_free(&rows);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "accounts", arr);
    http_json(req, 200, o);
}

void api_accounts_get(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    answer_account(req, req->ids[0], 200);
}

/* ---- validation -------------------------------------------------------------------------- */

static int all_digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int printable_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
            return 0;
    return 1;
}

static int timezone_ok(const char *tz)
{
    size_t n = strlen(tz);
    if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = tz[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '/' || c == '-' || c == '+'))
            return 0;
    }
    if (strcmp(tz, "UTC") == 0)
        return 1;
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n < 10 || n > 255 || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
        return 0;
    if (u[n - 1] == '/')
        return 0;
    return printable_token(u, 255);
}

#define MAX_SET 24

/* The columns a create or update sets, with their values. Strings are borrowed from the
 * request JSON or owned in blobs[]. */
struct account_set {
    const char *cols[MAX_SET];
    db_arg args[MAX_SET];
    size_t n;
    unsigned char *blobs[2];
    json_object *changed; /* names of changed fields, for the audit log (no values) */
};

static void set_add(struct account_set *s, const char *col, db_arg a, const char *field)
{
    s->cols[s->n] = col;
    s->args[s->n] = a;
    s->n++;
    json_object_array_add(s->changed, json_object_new_string(field));
}

/* access_token and app_secret: sealed with the server's key before they are stored. */
static int read_secrets(struct request *req, json_object *in, struct account_set *s)
{
    json_object *v;
    static const char *secrets[] = {"access_token", "app_secret"};
    for (int k = 0; k < 2; k++) {
        if (!json_object_object_get_ex(in, secrets[k], &v))
            continue;
        const char *col = k == 0 ? "access_token_enc" : "app_secret_enc";
        if (json_object_is_type(v, json_type_null)) {
            set_add(s, col, DB_NULL, secrets[k]);
            continue;
        }
        const char *str =
            json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!str || !printable_token(str, k == 0 ? 1500 : 300)) {
            char detail[96], key[48];
            snprintf(detail, sizeof detail, "%s is a string of printable characters without spaces",
                     secrets[k]);
            snprintf(key, sizeof key, "account.%s", secrets[k]);
            http_fail(req, 400, "invalid_field", secrets[k], key, NULL, detail);
            return -1;
        }
        if (!req->app->have_key) {
            http_error(req, 503, "no_secrets_key",
                       "the server has no secrets key, so it cannot store credentials", secrets[k]);
            return -1;
        }
        size_t blen = 0;
        s->blobs[k] = secret_seal(&req->app->key, str, strlen(str), &blen);
        if (!s->blobs[k]) {
            http_error(req, 500, "internal", "out of memory", NULL);
            return -1;
        }
        set_add(s, col, DB_STRN((const char *)s->blobs[k], blen), secrets[k]);
    }
    return 0;
}

/* The numeric and boolean fields; sandbox only when creating. */
static int read_numbers(struct request *req, json_object *in, int creating, struct account_set *s)
{
    long long n;
    int present, b;
    if (json_int_member(req, in, "throughput_mps", 1, 1000, &n, &present) < 0)
        return -1;
    if (present)
        set_add(s, "throughput_mps", DB_INT(n), "throughput_mps");
    static const struct {
        const char *key;
        long long min, max;
    } autopause[] = {{"autopause_min_failures", 0, 1000000},
                     {"autopause_pct", 0, 100},
                     {"autopause_window", 10, 100000}};
    for (size_t k = 0; k < sizeof autopause / sizeof autopause[0]; k++) {
        if (json_int_member(req, in, autopause[k].key, autopause[k].min, autopause[k].max, &n,
                            &present) < 0)
            return -1;
        if (present)
            set_add(s, autopause[k].key, DB_INT(n), autopause[k].key);
    }
    if (json_int_member(req, in, "in_doubt_resend_after_s", 0, 30 * 86400, &n, &present) < 0)
        return -1;
    if (present)
        set_add(s, "in_doubt_resend_after_s", DB_INT(n), "in_doubt_resend_after_s");
    /* The frequency cap: a count (0 = none) and its window, 1 s (tests) to the longest the
     * worker keeps the history for (lib/queue.h). */
    if (json_int_member(req, in, "freq_cap_count", 0, 1000, &n, &present) < 0)
        return -1;
    if (present)
        set_add(s, "freq_cap_count", DB_INT(n), "freq_cap_count");
    if (json_int_member(req, in, "freq_cap_window_s", 1, QUEUE_FREQ_CAP_MAX_WINDOW_S, &n,
                        &present) < 0)
        return -1;
    if (present)
        set_add(s, "freq_cap_window_s", DB_INT(n), "freq_cap_window_s");
    if (json_bool_member(req, in, "campaigns_enabled", &b, &present) < 0)
        return -1;
    if (present)
        set_add(s, "campaigns_enabled", DB_INT(b), "campaigns_enabled");
    if (json_bool_member(req, in, "sandbox", &b, &present) < 0)
        return -1;
    if (present) {
        if (!creating) {
            http_fail(req, 400, "invalid_field", "sandbox", "account.sandbox_on_create", NULL,
                      "sandbox can only be set when creating");
            return -1;
        }
        set_add(s, "is_sandbox", DB_INT(b), "sandbox");
    }
    return 0;
}

/* Reads every field present in `in` into s. Returns 0, or answers 400 and returns -1. */
static int read_fields(struct request *req, json_object *in, int creating, struct account_set *s)
{
    json_object *v;
    static const char *const known[] = {"name",
                                        "waba_id",
                                        "phone_number_id",
                                        "display_phone",
                                        "graph_version",
                                        "graph_base_url",
                                        "access_token",
                                        "app_secret",
                                        "verify_token",
                                        "sandbox",
                                        "default_country",
                                        "timezone",
                                        "throughput_mps",
                                        "messaging_tier",
                                        "quality_rating",
                                        "campaigns_enabled",
                                        "autopause_min_failures",
                                        "autopause_pct",
                                        "autopause_window",
                                        "in_doubt_resend_after_s",
                                        "freq_cap_count",
                                        "freq_cap_window_s",
                                        NULL};
    if (http_json_only(req, in, known, "a field of an account") < 0)
        return -1;
    const char *str;
#define STRFIELD(key, check, msg)                                                                  \
    do {                                                                                           \
        if (json_object_object_get_ex(in, key, &v)) {                                              \
            str = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;     \
            if (!str || !(check)) {                                                                \
                http_fail(req, 400, "invalid_field", key, "account." key, NULL, msg);              \
                return -1;                                                                         \
            }                                                                                      \
            set_add(s, key, DB_STR(str), key);                                                     \
        }                                                                                          \
    } while (0)
    STRFIELD("name", *str && strlen(str) <= 120, "name has 1 to 120 characters");
    STRFIELD("waba_id", all_digits(str, 32), "waba_id is the WABA's numeric id");
    STRFIELD("phone_number_id", all_digits(str, 32),
             "phone_number_id is the phone number's numeric id");
    STRFIELD("display_phone", strlen(str) <= 32, "display_phone has at most 32 characters");
    STRFIELD("graph_version",
             strlen(str) >= 4 && strlen(str) <= 16 && str[0] == 'v' && strchr(str, '.') &&
                 strspn(str + 1, "0123456789.") == strlen(str) - 1,
             "graph_version looks like v25.0");
    STRFIELD("messaging_tier", account_tier_known(str),
             "messaging_tier is TIER_250, TIER_1K, TIER_2K, TIER_10K, TIER_100K or "
             "TIER_UNLIMITED");
    STRFIELD("quality_rating",
             !strcmp(str, "GREEN") || !strcmp(str, "YELLOW") || !strcmp(str, "RED") ||
                 !strcmp(str, "UNKNOWN"),
             "quality_rating is GREEN, YELLOW, RED or UNKNOWN");
    STRFIELD("timezone", timezone_ok(str),
             "timezone is an IANA time zone such as America/Argentina/Buenos_Aires");
    STRFIELD("verify_token", printable_token(str, 128),
             "verify_token has 1 to 128 printable characters without spaces");
#undef STRFIELD
    if (json_object_object_get_ex(in, "default_country", &v)) {
        str = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!str || strlen(str) != 2 || e164_country_calling_code(str) == 0) {
            http_fail(req, 400, "invalid_field", "default_country", "account.default_country", NULL,
                      "default_country is an ISO 3166 country code such as AR, MX, CO, ES, US");
            return -1;
        }
        static char cc[3];
        cc[0] = (char)(str[0] & ~0x20);
        cc[1] = (char)(str[1] & ~0x20);
        cc[2] = 0;
        set_add(s, "default_country", DB_STR(cc), "default_country");
    }
    if (json_object_object_get_ex(in, "graph_base_url", &v)) {
        if (json_object_is_type(v, json_type_null)) {
            set_add(s, "graph_base_url", DB_NULL, "graph_base_url");
        } else {
            str = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
            if (!str || !url_ok(str)) {
                http_fail(req, 400, "invalid_field", "graph_base_url", "account.graph_base_url",
                          NULL,
                          "graph_base_url is an http(s) URL without a trailing slash, or null "
                          "for the configured default");
                return -1;
            }
            set_add(s, "graph_base_url", DB_STR(str), "graph_base_url");
        }
    }
    if (read_secrets(req, in, s) < 0 || read_numbers(req, in, creating, s) < 0)
        return -1;
    return 0;
}

static void set_free(struct account_set *s)
{
    free(s->blobs[0]);
    free(s->blobs[1]);
    json_object_put(s->changed);
}

void api_accounts_create(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct account_set s = {.changed = json_object_new_array()};
    if (read_fields(req, in, 1, &s) < 0)
        goto out;
    static const char *required[] = {"name", "waba_id", "phone_number_id"};
    for (int k = 0; k < 3; k++) {
        if (!json_object_object_get_ex(in, required[k], NULL)) {
            char detail[64];
            snprintf(detail, sizeof detail, "%s is required", required[k]);
            json_object *p = json_object_new_object();
            json_object_object_add(p, "what", msgcat_ref("account.label.", required[k]));
            http_fail(req, 400, "missing_field", required[k], "account.required", p, detail);
            goto out;
        }
    }
    char sql[1024];
    int len = snprintf(sql, sizeof sql, "INSERT INTO wa_accounts (");
    for (size_t i = 0; i < s.n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s%s", i ? ", " : "", s.cols[i]);
    len += snprintf(sql + len, sizeof sql - (size_t)len, ") VALUES (");
    for (size_t i = 0; i < s.n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s?", i ? ", " : "");
    snprintf(sql + len, sizeof sql - (size_t)len, ")");
    struct db *db = req->app->db;
    if (db_begin(db) != DB_OK) {
        http_db_error(req, "begin");
        goto out;
    }
    struct db_res res;
    int rc = db_exec(db, sql, s.args, s.n, &res);
    if (rc == DB_ERR_DUP) {
        db_rollback(db);
        http_fail(req, 409, "duplicate", "phone_number_id", "account.duplicate", NULL,
                  "an account with that phone_number_id exists already");
        goto out;
    }
    json_object *detail = json_object_new_object();
    json_object_object_add(detail, "fields", json_object_get(s.changed));
    if (rc != DB_OK || accounts_sandbox_tier(db, (long long)res.insert_id) != DB_OK ||
        audit_write(req, "account.create", "account", (long long)res.insert_id, 0, detail) !=
            DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "store the account");
        goto out;
    }
    log_info("account %llu created by %s", res.insert_id, req->user);
    answer_account(req, (long long)res.insert_id, 201);
out:
    set_free(&s);
    json_object_put(in);
}

void api_accounts_update(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    json_object *in = http_json_body(req, JSON_LIMIT);
    if (!in)
        return;
    struct account_set s = {.changed = json_object_new_array()};
    if (read_fields(req, in, 0, &s) < 0)
        goto out;
    if (s.n == 0) {
        http_fail(req, 400, "nothing_to_change", NULL, "account.nothing_to_change", NULL,
                  "give at least one field to change");
        goto out;
    }
    char sql[1024];
    int len = snprintf(sql, sizeof sql, "UPDATE wa_accounts SET ");
    for (size_t i = 0; i < s.n; i++)
        len += snprintf(sql + len, sizeof sql - (size_t)len, "%s%s = ?", i ? ", " : "", s.cols[i]);
    snprintf(sql + len, sizeof sql - (size_t)len, " WHERE id = ?");
    s.args[s.n] = DB_INT(req->ids[0]);
    struct db *db = req->app->db;
    struct db_rows ex;
    if (db_begin(db) != DB_OK || db_query(db, "SELECT id FROM wa_accounts WHERE id = ? FOR UPDATE",
                                          DB_ARGS(DB_INT(req->ids[0])), &ex) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "read the account");
        goto out;
    }
    size_t found = ex.nrows;
    db_rows_free(&ex);
    if (!found) {
        db_rollback(db);
        http_error(req, 404, "not_found", "no such WhatsApp account", NULL);
        goto out;
    }
    int rc = db_exec(db, sql, s.args, s.n + 1, NULL);
    if (rc == DB_ERR_DUP) {
        db_rollback(db);
        http_fail(req, 409, "duplicate", "phone_number_id", "account.duplicate", NULL,
                  "an account with that phone_number_id exists already");
        goto out;
    }
    json_object *detail = json_object_new_object();
    json_object_object_add(detail, "fields", json_object_get(s.changed));
    json_object *v;
    if (json_object_object_get_ex(in, "campaigns_enabled", &v))
        json_object_object_add(detail, "campaigns_enabled", json_object_get(v));
    if (rc != DB_OK ||
        audit_write(req, "account.update", "account", req->ids[0], 0, detail) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "update the account");
        goto out;
    }
    answer_account(req, req->ids[0], 200);
out:
    set_free(&s);
    json_object_put(in);
}

void api_accounts_delete(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    struct db *db = req->app->db;
    long long id = req->ids[0];
    struct db_rows r;
    long long ncamp = 0;
    if (db_begin(db) != DB_OK || db_query(db, "SELECT id FROM wa_accounts WHERE id = ? FOR UPDATE",
                                          DB_ARGS(DB_INT(id)), &r) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "read the account");
        return;
    }
    size_t found = r.nrows;
    db_rows_free(&r);
    if (found && campaign_read_count_for_account(db, id, &ncamp) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "read the account");
        return;
    }
    if (!found) {
        db_rollback(db);
        http_error(req, 404, "not_found", "no such WhatsApp account", NULL);
        return;
    }
    if (ncamp > 0) {
        db_rollback(db);
        char detail[128];
        snprintf(detail, sizeof detail,
                 "%lld campaign%s use this account; turn campaigns_enabled off instead", ncamp,
                 ncamp == 1 ? "" : "s");
        json_object *p = json_object_new_object();
        json_object_object_add(p, "count", json_object_new_int64(ncamp));
        http_fail(req, 409, "account_in_use", NULL, "account.in_use", p, detail);
        return;
    }
    if (db_exec(db, "DELETE FROM templates WHERE account_id = ?", DB_ARGS(DB_INT(id)), NULL) !=
            DB_OK ||
        db_exec(db, "DELETE FROM wa_accounts WHERE id = ?", DB_ARGS(DB_INT(id)), NULL) != DB_OK ||
        audit_write(req, "account.delete", "account", id, 0, NULL) != DB_OK ||
        db_commit(db) != DB_OK) {
        db_rollback(db);
        http_db_error(req, "delete the account");
        return;
    }
    http_text(req, 204, "application/json; charset=utf-8", "", 0);
}
