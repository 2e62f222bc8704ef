/* A/B variants with a holdout (issue 21; sql/179_ab_variants.sql). A campaign may send 2-4
 * variants, each its own template and parameter mapping, to integer shares (percent) of its
 * audience, and keep a holdout share that is never sent; shares + holdout = 100. No variants:
 * the campaign's own template, as before.
 *
 * Assignment: a person's bucket is BLAKE2b-64 (libsodium crypto_generichash, 8-byte output)
 * of their E.164 number keyed with "pregonab" + the campaign's assignment key (its id, or the
 * key of the campaign it was cloned from) as 8 little-endian bytes, read as a little-endian
 * integer, modulo 100. Buckets [0, share1) go to variant 1, the next share2 to variant 2, and
 * so on; the holdout is last. The same person in the same campaign always lands in the same
 * variant, whichever worker claims them and however often they are imported. */
#ifndef PREGON_ABVARIANT_H
#define PREGON_ABVARIANT_H

#include <json-c/json.h>
#include <stddef.h>

#include "msgstatus.h"

#define ABVAR_MAX         4
#define ABVAR_MIN         2
#define ABVAR_HOLDOUT_MAX 50
#define ABVAR_HOLDOUT     0 /* the variant number of the holdout */

struct db;

/* One variant as stored. */
struct abvar {
    int variant; /* 1..ABVAR_MAX */
    char template_name[513];
    char template_language[17];
    char *param_map; /* normalized mapping (lib/parammap.h) as JSON text, malloc'd */
    int share;
};

/* A campaign's split. n 0: no variants. */
struct abvar_set {
    size_t n;
    struct abvar v[ABVAR_MAX];
    int holdout;
    unsigned long long key; /* the assignment key */
};

/* The person's bucket in [0, 100). */
int abvar_bucket(unsigned long long key, const char *phone);

/* The variant (1..n) or ABVAR_HOLDOUT of phone under the split s (s->n > 0). */
int abvar_assign(const struct abvar_set *s, const char *phone);

/* The split rule: n in [ABVAR_MIN, ABVAR_MAX], each share 1..100, holdout 0..ABVAR_HOLDOUT_MAX,
 * shares + holdout = 100. Returns 0, or -1 with field ("variants", "variants[1].share",
 * "holdout_pct") and err (English) set. */
int abvar_check_split(const int *shares, size_t n, int holdout, char *field, size_t fieldlen,
                      char *err, size_t errlen);

/* The expected split of n recipients: out[i] for variant s->v[i] (n x share / 100, rounded
 * down), *holdout the rest, so they add up to n. */
void abvar_expected(const struct abvar_set *s, long long n, long long *out, long long *holdout);

/* Loads campaign_id's variants, holdout and key into s (zeroed first). Free with
 * abvar_set_free. Returns a db_rc. */
int abvar_load(struct db *db, long long campaign_id, struct abvar_set *s);
void abvar_set_free(struct abvar_set *s);

/* Replaces campaign_id's variants with s->v[0..n) (the holdout is the campaign's row:
 * lib/campaign_store.h holdout_pct). Returns a db_rc. */
int abvar_store(struct db *db, long long campaign_id, const struct abvar_set *s);

/* Copies from's variants to to (a clone). Returns a db_rc. */
int abvar_copy(struct db *db, long long from, long long to);

/* {"variants": [...], "holdout_pct": N} members added to o (a campaign's view). */
void abvar_json_add(const struct abvar_set *s, json_object *o);

/* The Wilson score interval of k successes in n trials at z (1.96 for 95 %):
 *   center = (p + z^2/2n) / (1 + z^2/n),  half = z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
 * with p = k/n; [center - half, center + half], within [0, 1]. n 0: [0, 1]. Returns 0, or -1
 * when k < 0, n < 0 or k > n. */
int abvar_wilson(long long k, long long n, double z, double *lo, double *hi);

/* Changes to one variant's counters (campaign_variant_counts, sql/180). */
struct abvar_counts {
    int assigned, sent, delivered, read;
};

/* Adds the funnel part of a recipient's counter change d (lib/msgstatus.h: sent, delivered,
 * read) to c. */
void abvar_counts_funnel(struct abvar_counts *c, const struct msg_delta *d);

/* Adds d to variant's counters of campaign_id, this writer's slot row (db_writer_slot), in the
 * caller's transaction; nothing when d is zero. Returns a db_rc. */
int abvar_counts_add(struct db *db, long long campaign_id, int variant,
                     const struct abvar_counts *d);

/* Per-variant figures. */
struct abvar_figures {
    int variant; /* 1..4, ABVAR_HOLDOUT */
    long long recipients, sent, delivered, read, replied, clicked, opted_out;
};

/* The figures of each variant and the holdout of campaign_id: out[0..*n), *n at most
 * ABVAR_MAX + 1, the holdout last. Returns a db_rc. */
int abvar_figures(struct db *db, long long campaign_id, struct abvar_figures *out, size_t *n);

#endif
