/* A/B variants of a campaign (lib/abvariant.h): read from a create or edit body, and
 * GET /api/campaigns/{id}/variants, the figures of each variant and the holdout with their
 * rates and 95 % Wilson intervals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abvariant.h"
#include "api-campaign.h"
#include "app.h"
#include "db.h"
#include "parammap.h"

/* One variant of the body, index i: checked like the campaign's own template and mapping
 * (api_campaign_check_mapping, lib/parammap.c), its template APPROVED for the account. */
static int read_one(struct request *req, json_object *x, size_t i, long long account_id,
                    struct abvar *v, int *share)
{
    char prefix[32], field[128], err[256], pfield[96];
    snprintf(prefix, sizeof prefix, "variants[%zu].", i);
    static const char *const known[] = {"template_name", "template_language", "params", "share",
                                        NULL};
    if (!json_object_is_type(x, json_type_object)) {
        snprintf(field, sizeof field, "variants[%zu]", i);
        http_fail(req, 400, "invalid_field", field, "campaign.variants_shape", NULL,
                  "each variant is {\"template_name\", \"template_language\", \"params\", "
                  "\"share\"}");
        return -1;
    }
    json_object_object_foreach(x, key, val)
    {
        (void)val;
        int ok = 0;
        for (size_t k = 0; known[k]; k++)
            ok |= strcmp(key, known[k]) == 0;
        if (!ok) {
            snprintf(field, sizeof field, "%s%s", prefix, key);
            http_fail(req, 400, "invalid_field", field, "campaign.variants_shape", NULL,
                      "unknown member of a variant");
            return -1;
        }
    }
    const char *tname = json_str(x, "template_name"), *tlang = json_str(x, "template_language");
    if (!tname || !*tname || strlen(tname) > 512 || !api_campaign_valid_chars(tname, "_")) {
        snprintf(field, sizeof field, "%stemplate_name", prefix);
        http_fail(req, 400, "invalid_field", field, "campaign.template_name", NULL,
                  "template_name is required: letters, digits and underscores");
        return -1;
    }
    if (!tlang || strlen(tlang) < 2 || strlen(tlang) > 16 ||
        !api_campaign_valid_chars(tlang, "_")) {
        snprintf(field, sizeof field, "%stemplate_language", prefix);
        http_fail(req, 400, "invalid_field", field, "campaign.template_language", NULL,
                  "template_language is required, e.g. es_AR");
        return -1;
    }
    json_object *sh;
    if (!json_object_object_get_ex(x, "share", &sh) || !json_object_is_type(sh, json_type_int)) {
        snprintf(field, sizeof field, "%sshare", prefix);
        http_fail_range(req, 400, "invalid_field", field, "campaign.variant_share",
                        "share is an integer percent", 1, 100);
        return -1;
    }
    int64_t sv = json_object_get_int64(sh);
    *share = sv < 0 || sv > 1000 ? -1 : (int)sv;
    json_object *pm = NULL;
    json_object_object_get_ex(x, "params", &pm);
    json_object *map = parammap_normalize(pm, err, sizeof err, pfield, sizeof pfield);
    if (!map) {
        snprintf(field, sizeof field, "%s%s", prefix, pfield);
        app_parammap_error(req, err, field);
        return -1;
    }
    json_object *body = NULL;
    if (api_campaign_check_mapping(req, account_id, tname, tlang, map, &body, prefix, 1) < 0) {
        json_object_put(map);
        return -1;
    }
    json_object_put(body);
    v->variant = (int)i + 1;
    snprintf(v->template_name, sizeof v->template_name, "%s", tname);
    snprintf(v->template_language, sizeof v->template_language, "%s", tlang);
    v->param_map = strdup(api_campaign_json_text(map));
    v->share = *share;
    json_object_put(map);
    if (!v->param_map) {
        http_error(req, 500, "internal", "out of memory", NULL);
        return -1;
    }
    return 0;
}

int api_campaign_variants_read(struct request *req, json_object *in, long long account_id,
                               struct abvar_set *s, int *given)
{
    memset(s, 0, sizeof *s);
    *given = 0;
    json_object *a = NULL, *h = NULL;
    int has_h = json_object_object_get_ex(in, "holdout_pct", &h);
    if (!json_object_object_get_ex(in, "variants", &a)) {
        if (has_h) {
            http_fail(req, 400, "invalid_field", "holdout_pct", "campaign.holdout_pct", NULL,
                      "holdout_pct goes with variants");
            return -1;
        }
        return 0;
    }
    *given = 1;
    if (!a || json_object_is_type(a, json_type_null) ||
        (json_object_is_type(a, json_type_array) && json_object_array_length(a) == 0)) {
        if (has_h && !(json_object_is_type(h, json_type_int) && json_object_get_int64(h) == 0)) {
            http_fail(req, 400, "invalid_field", "holdout_pct", "campaign.holdout_pct", NULL,
                      "a campaign without variants has no holdout");
            return -1;
        }
        return 0;
    }
    if (!json_object_is_type(a, json_type_array)) {
        http_fail(req, 400, "invalid_field", "variants", "campaign.variants_shape", NULL,
                  "variants is an array of 2 to 4 variants, or null");
        return -1;
    }
    long long holdout = 0;
    if (has_h && json_int_member(req, in, "holdout_pct", 0, ABVAR_HOLDOUT_MAX, &holdout, NULL) < 0)
        return -1;
    size_t n = json_object_array_length(a);
    int shares[ABVAR_MAX];
    char field[64], err[160];
    if (n < ABVAR_MIN || n > ABVAR_MAX) {
        http_fail_range(req, 400, "invalid_field", "variants", "campaign.variants_count",
                        "a campaign has 2 to 4 variants (or none)", ABVAR_MIN, ABVAR_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (read_one(req, json_object_array_get_idx(a, i), i, account_id, &s->v[i], &shares[i]) <
            0) {
            abvar_set_free(s);
            return -1;
        }
        s->n = i + 1;
    }
    if (abvar_check_split(shares, n, (int)holdout, field, sizeof field, err, sizeof err) < 0) {
        abvar_set_free(s);
        const char *key = strcmp(field, "variants") == 0      ? "campaign.variants_count"
                          : strcmp(field, "holdout_pct") == 0 ? "campaign.holdout_pct"
                                                              : "campaign.variant_share";
        http_fail(req, 400, "invalid_field", field, key, NULL, err);
        return -1;
    }
    s->holdout = (int)holdout;
    return 0;
}

int api_campaign_variants_sendable(struct request *req, const struct campaign_row *c,
                                   struct refusal *f)
{
    struct abvar_set s;
    if (abvar_load(req->app->db, c->id, &s) != DB_OK)
        return api_campaign_refuse(f, 500, "database_error", NULL, "could not read the variants");
    int rc = 0;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        struct tmpl_info t;
        const struct abvar *v = &s.v[i];
        int lr = templates_lookup(req->app->db, c->account_id, v->template_name,
                                  v->template_language, &t);
        if (lr < 0) {
            rc = api_campaign_refuse(f, 500, "database_error", NULL, "could not read a template");
            break;
        }
        int ok = lr == 0 && !t.missing && strcmp(t.status, "APPROVED") == 0;
        if (lr == 0)
            templates_info_free(&t);
        if (!ok)
            rc = api_campaign_refuse(f, 409, "template_not_approved", "variants",
                                     "variant %d's template %s (%s) is not APPROVED (or no longer "
                                     "in the cache)",
                                     v->variant, v->template_name, v->template_language);
    }
    abvar_set_free(&s);
    return rc;
}

void api_campaign_variants_preflight(struct db *db, long long campaign_id, long long pending,
                                     json_object *o, long long *will_send)
{
    struct abvar_set s;
    if (abvar_load(db, campaign_id, &s) != DB_OK || s.n == 0) {
        abvar_set_free(&s);
        json_object_object_add(o, "ab_split", NULL);
        return;
    }
    long long exp[ABVAR_MAX], hold;
    abvar_expected(&s, pending, exp, &hold);
    json_object *x = json_object_new_object(), *arr = json_object_new_array();
    for (size_t i = 0; i < s.n; i++) {
        json_object *v = json_object_new_object();
        json_object_object_add(v, "variant", json_object_new_int(s.v[i].variant));
        json_object_object_add(v, "template_name", json_object_new_string(s.v[i].template_name));
        json_object_object_add(v, "template_language",
                               json_object_new_string(s.v[i].template_language));
        json_object_object_add(v, "share", json_object_new_int(s.v[i].share));
        json_object_object_add(v, "expected", json_object_new_int64(exp[i]));
        json_object_array_add(arr, v);
    }
    json_object *h = json_object_new_object();
    json_object_object_add(h, "share", json_object_new_int(s.holdout));
    json_object_object_add(h, "expected", json_object_new_int64(hold));
    json_object_object_add(x, "variants", arr);
    json_object_object_add(x, "holdout", h);
    json_object_object_add(o, "ab_split", x);
    *will_send -= hold < *will_send ? hold : *will_send;
    abvar_set_free(&s);
}

/* ---- GET /api/campaigns/{id}/variants ----------------------------------------------------- */

static json_object *rate_json(long long k, long long n)
{
    json_object *o = json_object_new_object();
    double lo = 0, hi = 1;
    abvar_wilson(k, n, 1.96, &lo, &hi);
    json_object_object_add(o, "count", json_object_new_int64(k));
    json_object_object_add(o, "rate", n > 0 ? json_object_new_double((double)k / (double)n) : NULL);
    json_object_object_add(o, "ci_low", n > 0 ? json_object_new_double(lo) : NULL);
    json_object_object_add(o, "ci_high", n > 0 ? json_object_new_double(hi) : NULL);
    return o;
}

/* One variant's figures: rates over the messages sent (the holdout's replies over its
 * recipients: nobody in it was sent anything). */
static json_object *figures_json(const struct abvar_figures *f, const struct abvar *v)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "variant", json_object_new_int(f->variant));
    json_object_object_add(o, "holdout", json_object_new_boolean(f->variant == ABVAR_HOLDOUT));
    json_object_object_add(o, "template_name", v ? json_object_new_string(v->template_name) : NULL);
    json_object_object_add(o, "template_language",
                           v ? json_object_new_string(v->template_language) : NULL);
    json_object_object_add(o, "share", v ? json_object_new_int(v->share) : NULL);
    json_object_object_add(o, "recipients", json_object_new_int64(f->recipients));
    json_object_object_add(o, "sent", json_object_new_int64(f->sent));
    if (f->variant == ABVAR_HOLDOUT) {
        json_object_object_add(o, "replied", rate_json(f->replied, f->recipients));
        return o;
    }
    json_object_object_add(o, "delivered", rate_json(f->delivered, f->sent));
    json_object_object_add(o, "read", rate_json(f->read, f->sent));
    json_object_object_add(o, "replied", rate_json(f->replied, f->sent));
    json_object_object_add(o, "clicked", rate_json(f->clicked, f->sent));
    json_object_object_add(o, "opted_out", rate_json(f->opted_out, f->sent));
    return o;
}

void api_campaign_variants(struct request *req)
{
    if (app_need_db(req) < 0 || !api_campaign_exists(req))
        return;
    struct abvar_set s;
    struct abvar_figures f[ABVAR_MAX + 1];
    size_t nf = 0;
    if (abvar_load(req->app->db, req->ids[0], &s) != DB_OK ||
        abvar_figures(req->app->db, req->ids[0], f, &nf) != DB_OK) {
        abvar_set_free(&s);
        http_db_error(req, "read the variants");
        return;
    }
    json_object *o = json_object_new_object(), *arr = json_object_new_array();
    /* every variant, with zeros before its first claim */
    for (size_t i = 0; i < s.n; i++) {
        struct abvar_figures z = {.variant = s.v[i].variant};
        for (size_t k = 0; k < nf; k++)
            if (f[k].variant == s.v[i].variant)
                z = f[k];
        json_object_array_add(arr, figures_json(&z, &s.v[i]));
    }
    json_object_object_add(o, "campaign_id", json_object_new_int64(req->ids[0]));
    json_object_object_add(o, "holdout_pct", json_object_new_int(s.holdout));
    json_object_object_add(o, "confidence", json_object_new_double(0.95));
    json_object_object_add(o, "variants", arr);
    json_object_object_add(o, "holdout", s.n ? figures_json(&f[nf - 1], NULL) : NULL);
    abvar_set_free(&s);
    http_json(req, 200, o);
}
