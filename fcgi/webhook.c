/* /webhook: Meta's verification handshake and the signed event deliveries.
 *
 * A POST is verified over the exact raw body against the App Secret of every configured
 * account (several accounts may share one endpoint), stored durably, and only then answered
 * 200; applying it happens after storing, so nothing Meta sent can be lost. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "app.h"
#include "db.h"
#include "hmac.h"
#include "log.h"
#include "webhook_apply.h"

#define ACCOUNTS_TTL 15 /* seconds: a new app secret is picked up that fast */

static struct account_list accounts;
static time_t accounts_loaded;

static int load_accounts(struct request *req)
{
    time_t now = time(NULL);
    if (accounts_loaded && now - accounts_loaded < ACCOUNTS_TTL)
        return 0;
    struct account_list fresh;
    if (accounts_load(req->app->db, req->app->have_key ? &req->app->key : NULL, &fresh) !=
        DB_OK) {
        log_error("webhook: cannot load accounts: %s", db_error(req->app->db));
        return accounts_loaded ? 0 : -1; /* keep serving with what we had */
    }
    accounts_free(&accounts);
    accounts = fresh;
    accounts_loaded = now;
    return 0;
}

static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && la > 0 && sodium_memcmp(a, b, la) == 0;
}

void webhook_verify(struct request *req)
{
    char *mode = http_query_param(req->query, "hub.mode");
    char *token = http_query_param(req->query, "hub.verify_token");
    char *challenge = http_query_param(req->query, "hub.challenge");
    int ok = 0;
    if (mode && token && challenge && strcmp(mode, "subscribe") == 0 && *challenge &&
        strlen(challenge) <= 256 && app_need_db(req) == 0 && load_accounts(req) == 0) {
        for (size_t i = 0; i < accounts.n; i++)
            if (token_equal(token, accounts.v[i].verify_token))
                ok = 1;
    }
    if (!req->status) {
        if (ok)
            http_text(req, 200, "text/plain; charset=utf-8", challenge, strlen(challenge));
        else
            http_error(req, 403, "verification_failed", "wrong verify token or mode", NULL);
    }
    free(mode);
    free(token);
    free(challenge);
}

void webhook_receive(struct request *req)
{
    if (app_need_db(req) < 0)
        return;
    if (http_read_body(req, req->app->cfg.webhook_body_limit) < 0)
        return;
    const char *sig = http_env(req, "HTTP_X_HUB_SIGNATURE_256");
    if (load_accounts(req) < 0) {
        http_error(req, 503, "database_unavailable", "try again", NULL);
        return;
    }
    int verdict = HMAC_MISSING;
    if (sig && *sig) {
        verdict = HMAC_MISMATCH;
        for (size_t i = 0; i < accounts.n && verdict != HMAC_OK; i++) {
            const char *secret = accounts.v[i].app_secret;
            if (!secret)
                continue;
            int v = hmac_verify(sig, (const unsigned char *)secret, strlen(secret), req->body,
                                req->body_len);
            if (v == HMAC_OK || v == HMAC_MALFORMED)
                verdict = v;
        }
    }
    if (verdict != HMAC_OK) {
        log_warn("webhook rejected from %s: %s signature", req->remote_addr ? req->remote_addr : "-",
                 verdict == HMAC_MISSING ? "missing" : verdict == HMAC_MALFORMED ? "malformed"
                                                                                : "wrong");
        http_error(req, 401, "invalid_signature",
                   verdict == HMAC_MISSING ? "X-Hub-Signature-256 is missing"
                                           : "X-Hub-Signature-256 does not match the body",
                   NULL);
        return;
    }
    json_tokener *tok = json_tokener_new();
    json_object *payload = tok ? json_tokener_parse_ex(tok, req->body, (int)req->body_len) : NULL;
    int complete = tok && json_tokener_get_error(tok) == json_tokener_success &&
                   json_tokener_get_parse_end(tok) == req->body_len;
    json_tokener_free(tok);
    if (!payload || !complete || !json_object_is_type(payload, json_type_object)) {
        json_object_put(payload);
        http_error(req, 400, "invalid_json", "the signed body is not a JSON object", NULL);
        return;
    }
    struct db_res res;
    if (db_exec(req->app->db, "INSERT INTO webhook_events (signature, body) VALUES (?, ?)",
                DB_ARGS(DB_STR(sig), DB_STRN(req->body, req->body_len)), &res) != DB_OK) {
        /* Not stored: a non-200 makes Meta deliver it again later. */
        log_error("webhook: cannot store event: %s", db_error(req->app->db));
        json_object_put(payload);
        http_error(req, 503, "database_unavailable", "could not store the event", NULL);
        return;
    }
    long long event_id = (long long)res.insert_id;
    /* Stored: from here on Meta gets its 200 whatever happens to the applying. */
    struct webhook_stats st;
    int rc = webhook_apply(req->app->db, payload, &st);
    json_object_put(payload);
    if (rc == DB_OK) {
        db_exec(req->app->db, "UPDATE webhook_events SET applied_at = NOW(3) WHERE id = ?",
                DB_ARGS(DB_INT(event_id)), NULL);
    } else {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", db_error(req->app->db));
        log_error("webhook event %lld stored, not applied: %s", event_id, msg);
        db_exec(req->app->db, "UPDATE webhook_events SET apply_error = ? WHERE id = ?",
                DB_ARGS(DB_STR(msg), DB_INT(event_id)), NULL);
    }
    if (log_enabled(LOG_DEBUG))
        log_debug("webhook event %lld: %d statuses, %d applied, %d unmatched, %d ignored",
                  event_id, st.statuses, st.applied, st.unmatched, st.ignored);
    static const char ok[] = "{\"ok\":true}";
    http_text(req, 200, "application/json", ok, sizeof ok - 1);
}
