#include "accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "secret.h"

static char *open_secret(const struct secret_key *key, const struct db_rows *r, size_t i, size_t c)
{
    const char *blob = db_val(r, i, c);
    if (!blob || !key)
        return NULL;
    return secret_open(key, (const unsigned char *)blob, r->len[i * r->ncols + c]);
}

int accounts_load(struct db *db, const struct secret_key *key, struct account_list *out)
{
    memset(out, 0, sizeof *out);
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT id, waba_id, phone_number_id, display_phone, graph_version, "
                      "graph_base_url, access_token_enc, app_secret_enc, verify_token, "
                      "default_country, is_sandbox, throughput_mps, campaigns_enabled "
                      "FROM wa_accounts ORDER BY id",
                      DB_NOARGS, &r);
    if (rc != DB_OK)
        return rc;
    out->v = calloc(r.nrows + 1, sizeof *out->v);
    if (!out->v) {
        db_rows_free(&r);
        return DB_ERR;
    }
    for (size_t i = 0; i < r.nrows; i++) {
        struct account *a = &out->v[i];
        a->id = db_int(&r, i, 0, 0);
        snprintf(a->waba_id, sizeof a->waba_id, "%s", db_val(&r, i, 1));
        snprintf(a->phone_number_id, sizeof a->phone_number_id, "%s", db_val(&r, i, 2));
        snprintf(a->display_phone, sizeof a->display_phone, "%s", db_val(&r, i, 3));
        snprintf(a->graph_version, sizeof a->graph_version, "%s", db_val(&r, i, 4));
        a->graph_base_url = db_val(&r, i, 5) ? strdup(db_val(&r, i, 5)) : NULL;
        a->access_token = open_secret(key, &r, i, 6);
        a->app_secret = open_secret(key, &r, i, 7);
        snprintf(a->verify_token, sizeof a->verify_token, "%s", db_val(&r, i, 8));
        snprintf(a->default_country, sizeof a->default_country, "%s", db_val(&r, i, 9));
        a->is_sandbox = (int)db_int(&r, i, 10, 0);
        a->throughput_mps = (int)db_int(&r, i, 11, 80);
        a->campaigns_enabled = (int)db_int(&r, i, 12, 1);
        out->n++;
    }
    db_rows_free(&r);
    return DB_OK;
}

void accounts_free(struct account_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].graph_base_url);
        secret_free(l->v[i].access_token);
        secret_free(l->v[i].app_secret);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

const struct account *accounts_find(const struct account_list *l, long long id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == id)
            return &l->v[i];
    return NULL;
}

char *accounts_phone_url(const struct account *acc, const char *default_base, const char *edge)
{
    const char *base = acc->graph_base_url ? acc->graph_base_url : default_base;
    char *url = NULL;
    if (asprintf(&url, "%s/%s/%s%s%s", base ? base : "", acc->graph_version, acc->phone_number_id,
                 edge ? "/" : "", edge ? edge : "") < 0)
        return NULL;
    return url;
}

char *accounts_messages_url(const struct account *acc, const char *default_base)
{
    return accounts_phone_url(acc, default_base, "messages");
}

int accounts_sandbox_tier(struct db *db, long long id)
{
    struct db_res res;
    return db_exec(db,
                   "UPDATE wa_accounts SET messaging_tier = 'TIER_UNLIMITED' "
                   "WHERE id = ? AND is_sandbox = 1",
                   DB_ARGS(DB_INT(id)), &res);
}
