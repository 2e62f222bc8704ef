/* What the sandbox accepted, kept compactly so a million messages stay cheap: fixed-size
 * records in chunks that never move, their strings in an append-only arena, 64-bit sets for
 * duplicate and unique-recipient counting, and per phone number one-second windows for the
 * rate limit and max_per_second. */
#include "sandbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define REC_CHUNK   16384
#define MAX_CHUNKS  65536 /* 1G messages; a fixed table so readers never see it move */
#define ARENA_BLOCK (1u << 20)

struct rec {
    uint64_t wamid_ctr;
    uint64_t at_ms;
    uint64_t to_packed;
    const char *callback; /* in the arena, NUL-terminated; NULL = none */
    const char *request;  /* in the arena, NUL-terminated; NULL = not recorded */
    int32_t async_error;
    uint16_t phone_idx;
    uint16_t tmpl_idx;
    uint8_t to_plus;
};

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
};

/* Open-addressing set of non-zero 64-bit keys. */
struct u64set {
    uint64_t *slots;
    size_t cap, n;
};

struct window {
    pthread_mutex_t lock;
    uint64_t *ts; /* ring of monotonic ms of the sends in the last second */
    size_t cap, head, count;
    unsigned max;
};

/* Records and arena strings never move and are only freed by a reset, which takes
 * reset_lock for writing; so a listing holds reset_lock for reading and needs store_lock only
 * to read nrecs, and senders are not held up while it builds its answer. */
static pthread_rwlock_t reset_lock;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rec *chunks[MAX_CHUNKS];
static size_t nchunks;
static uint64_t nrecs; /* == last seq */
static struct arena_block *arena;
static size_t arena_bytes;
static struct u64set dedup, recipients;
static uint64_t duplicates;
static struct window windows[SB_MAX_PHONES];
static unsigned char hash_key[crypto_shorthash_KEYBYTES];

static atomic_uint_fast64_t wamid_next = 1;
static unsigned char wamid_prefix[8]; /* start time + random: unique across restarts */
static atomic_uint_fast64_t n_accepted, n_rejected, n_rate_limited;
static atomic_uint_fast64_t n_fault[SB_FAULT_PRE_RESET + 1]; /* by enum sb_fault */

/* ---- small containers ----------------------------------------------------------------- */

static size_t set_slot(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

/* 1 = inserted, 0 = already there, -1 = out of memory. */
static int set_add(struct u64set *s, uint64_t key)
{
    if (!key)
        key = 1;
    if ((s->n + 1) * 10 > s->cap * 7) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i])
                continue;
            size_t j = set_slot(s->slots[i], ncap);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = ns;
        s->cap = ncap;
    }
    size_t j = set_slot(key, s->cap);
    while (s->slots[j]) {
        if (s->slots[j] == key)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = key;
    s->n++;
    return 1;
}

static void set_free(struct u64set *s)
{
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* Copies len bytes plus a NUL into the arena. NULL on out of memory. */
static const char *arena_dup(const char *s, size_t len)
{
    if (!arena || arena->cap - arena->used < len + 1) {
        size_t cap = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;
        struct arena_block *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = arena;
        b->used = 0;
        b->cap = cap;
        arena = b;
        arena_bytes += sizeof *b + cap;
    }
    char *p = arena->data + arena->used;
    memcpy(p, s, len);
    p[len] = '\0';
    arena->used += len + 1;
    return p;
}

static void arena_free(void)
{
    while (arena) {
        struct arena_block *next = arena->next;
        free(arena);
        arena = next;
    }
    arena_bytes = 0;
}

static struct rec *rec_at(uint64_t seq)
{
    uint64_t i = seq - 1;
    return &chunks[i / REC_CHUNK][i % REC_CHUNK];
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int sb_store_init(void)
{
    uint64_t now = sb_wall_ms() / 1000;
    for (int i = 0; i < 4; i++)
        wamid_prefix[i] = (unsigned char)(now >> (24 - 8 * i));
    randombytes_buf(wamid_prefix + 4, 4);
    crypto_shorthash_keygen(hash_key);
    pthread_rwlockattr_t attr;
    /* a reset must not starve behind a steady stream of sends */
    if (pthread_rwlockattr_init(&attr) != 0 ||
        pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) != 0 ||
        pthread_rwlock_init(&reset_lock, &attr) != 0)
        return -1;
    pthread_rwlockattr_destroy(&attr);
    for (int i = 0; i < SB_MAX_PHONES; i++)
        if (pthread_mutex_init(&windows[i].lock, NULL) != 0)
            return -1;
    return 0;
}

static void clear_all(void)
{
    for (size_t i = 0; i < nchunks; i++) {
        free(chunks[i]);
        chunks[i] = NULL;
    }
    nchunks = 0;
    nrecs = 0;
    arena_free();
    set_free(&dedup);
    set_free(&recipients);
    duplicates = 0;
}

void sb_store_reset(void)
{
    pthread_rwlock_wrlock(&reset_lock);
    pthread_mutex_lock(&store_lock);
    clear_all();
    atomic_store(&n_accepted, 0);
    atomic_store(&n_rejected, 0);
    atomic_store(&n_rate_limited, 0);
    for (int i = 0; i <= SB_FAULT_PRE_RESET; i++)
        atomic_store(&n_fault[i], 0);
    pthread_mutex_unlock(&store_lock);
    pthread_rwlock_unlock(&reset_lock);
    for (int i = 0; i < SB_MAX_PHONES; i++) {
        pthread_mutex_lock(&windows[i].lock);
        windows[i].count = windows[i].head = 0;
        windows[i].max = 0;
        pthread_mutex_unlock(&windows[i].lock);
    }
}

void sb_store_free(void)
{
    clear_all();
    for (int i = 0; i < SB_MAX_PHONES; i++) {
        free(windows[i].ts);
        windows[i].ts = NULL;
        pthread_mutex_destroy(&windows[i].lock);
    }
    pthread_rwlock_destroy(&reset_lock);
}

/* ---- wamids --------------------------------------------------------------------------- */

uint64_t sb_store_next_wamid(void)
{
    return atomic_fetch_add(&wamid_next, 1);
}

void sb_store_wamid(uint64_t ctr, char out[SB_WAMID_LEN])
{
    unsigned char raw[16];
    memcpy(raw, wamid_prefix, 8);
    for (int i = 0; i < 8; i++)
        raw[8 + i] = (unsigned char)(ctr >> (56 - 8 * i));
    memcpy(out, "wamid.", 6);
    sodium_bin2base64(out + 6, SB_WAMID_LEN - 6, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ---- rate windows --------------------------------------------------------------------- */

int sb_store_rate_take(int phone_idx, unsigned limit)
{
    struct window *w = &windows[phone_idx];
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    uint64_t now = sb_mono_ms();
    /* the window is (now - 1000, now]: a send at t stops counting at t + 1000 */
    while (w->count && w->ts[w->head] + 1000 <= now) {
        w->head = (w->head + 1) & (w->cap - 1);
        w->count--;
    }
    if (limit && w->count >= limit) {
        rc = -1;
        goto out;
    }
    if (w->count == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 256;
        uint64_t *nts = malloc(ncap * sizeof *nts);
        if (!nts)
            goto out; /* let it through uncounted rather than fail the send */
        for (size_t i = 0; i < w->count; i++)
            nts[i] = w->ts[(w->head + i) & (w->cap - 1)];
        free(w->ts);
        w->ts = nts;
        w->cap = ncap;
        w->head = 0;
    }
    w->ts[(w->head + w->count) & (w->cap - 1)] = now;
    w->count++;
    if (w->count > w->max)
        w->max = (unsigned)w->count;
out:
    pthread_mutex_unlock(&w->lock);
    return rc;
}

/* ---- recording ------------------------------------------------------------------------ */

static uint64_t dedup_key(const struct sb_accept *a)
{
    unsigned char buf[16 + SB_CALLBACK_MAX];
    uint64_t h;
    size_t n = 0, cb = a->callback ? a->callback_len : 0;

    if (cb > SB_CALLBACK_MAX)
        cb = SB_CALLBACK_MAX;
    memcpy(buf + n, &a->to_packed, 8), n += 8;
    buf[n++] = (unsigned char)a->phone_idx;
    buf[n++] = (unsigned char)(a->tmpl_idx >> 8);
    buf[n++] = (unsigned char)a->tmpl_idx;
    buf[n++] = a->callback ? 1 : 0; /* "" and no callback differ */
    if (cb)
        memcpy(buf + n, a->callback, cb), n += cb;
    crypto_shorthash((unsigned char *)&h, buf, n, hash_key);
    return h;
}

uint64_t sb_store_accept(const struct sb_accept *a)
{
    uint64_t key = dedup_key(a); /* hashed before taking the lock */
    uint64_t seq = 0;

    atomic_fetch_add(&n_accepted, 1);
    pthread_rwlock_rdlock(&reset_lock);
    pthread_mutex_lock(&store_lock);
    if (nrecs % REC_CHUNK == 0 && nrecs / REC_CHUNK == nchunks) {
        if (nchunks == MAX_CHUNKS || !(chunks[nchunks] = malloc(REC_CHUNK * sizeof(struct rec))))
            goto oom;
        nchunks++;
        arena_bytes += REC_CHUNK * sizeof(struct rec);
    }
    seq = ++nrecs;
    struct rec *r = rec_at(seq);
    r->wamid_ctr = a->wamid_ctr;
    r->at_ms = sb_wall_ms();
    r->to_packed = a->to_packed;
    r->callback = a->callback ? arena_dup(a->callback, a->callback_len) : NULL;
    r->request = a->request ? arena_dup(a->request, a->request_len) : NULL;
    r->async_error = a->async_error;
    r->phone_idx = (uint16_t)a->phone_idx;
    r->tmpl_idx = (uint16_t)a->tmpl_idx;
    r->to_plus = a->to_plus;
    if (set_add(&dedup, key) == 0)
        duplicates++;
    set_add(&recipients, a->to_packed);
    pthread_mutex_unlock(&store_lock);
    pthread_rwlock_unlock(&reset_lock);
    return seq;
oom:
    pthread_mutex_unlock(&store_lock);
    pthread_rwlock_unlock(&reset_lock);
    sb_log("out of memory: message %llu accepted but not recorded",
           (unsigned long long)a->wamid_ctr);
    return 0;
}

void sb_store_count_rejected(void)
{
    atomic_fetch_add(&n_rejected, 1);
}

void sb_store_count_rate_limited(void)
{
    atomic_fetch_add(&n_rate_limited, 1);
}

void sb_store_count_fault(int fault)
{
    if (fault > SB_FAULT_NONE && fault <= SB_FAULT_PRE_RESET)
        atomic_fetch_add(&n_fault[fault], 1);
}

void sb_store_stats(json_object *into)
{
    static const char *const fault_names[] = {NULL,          "accept_reset", "accept_502",
                                              "accept_late", "pre_502",      "pre_reset"};
    json_object *faults = json_object_new_object();
    for (int i = SB_FAULT_ACCEPT_RESET; i <= SB_FAULT_PRE_RESET; i++)
        json_object_object_add(faults, fault_names[i],
                               json_object_new_int64((int64_t)atomic_load(&n_fault[i])));
    json_object_object_add(into, "faults", faults);
    json_object *mps = json_object_new_object();

    json_object_object_add(into, "accepted", json_object_new_int64((int64_t)n_accepted));
    json_object_object_add(into, "rejected", json_object_new_int64((int64_t)n_rejected));
    json_object_object_add(into, "rate_limited", json_object_new_int64((int64_t)n_rate_limited));
    pthread_mutex_lock(&store_lock);
    json_object_object_add(into, "unique_recipients", json_object_new_int64((int64_t)recipients.n));
    json_object_object_add(into, "duplicates", json_object_new_int64((int64_t)duplicates));
    json_object_object_add(into, "recorded", json_object_new_int64((int64_t)nrecs));
    json_object_object_add(
        into, "store_bytes",
        json_object_new_int64((int64_t)(arena_bytes + (dedup.cap + recipients.cap) * 8)));
    pthread_mutex_unlock(&store_lock);
    for (int i = 0; i < sb_opts.nphones; i++) {
        pthread_mutex_lock(&windows[i].lock);
        unsigned max = windows[i].max;
        pthread_mutex_unlock(&windows[i].lock);
        json_object_object_add(mps, sb_opts.phones[i].id, json_object_new_int64(max));
    }
    json_object_object_add(into, "max_per_second", mps);
}

json_object *sb_store_messages_json(uint64_t after, unsigned limit, const char *to)
{
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    uint64_t to_packed = to ? sb_msisdn_pack(to) : 0;
    uint64_t last = after;
    unsigned n = 0;

    pthread_rwlock_rdlock(&reset_lock);
    pthread_mutex_lock(&store_lock);
    uint64_t end = nrecs; /* records up to here are complete and will not change */
    pthread_mutex_unlock(&store_lock);
    for (uint64_t seq = after + 1; seq <= end && n < limit; seq++) {
        const struct rec *r = rec_at(seq);
        const struct sb_template *t = sb_tmpl_get(r->tmpl_idx);
        char wamid[SB_WAMID_LEN], digits[24], shown[26];
        json_object *m;

        last = seq;
        if (to && r->to_packed != to_packed)
            continue;
        m = json_object_new_object();
        sb_store_wamid(r->wamid_ctr, wamid);
        sb_msisdn_unpack(r->to_packed, digits, sizeof digits);
        snprintf(shown, sizeof shown, "%s%s", r->to_plus ? "+" : "", digits);
        json_object_object_add(m, "seq", json_object_new_int64((int64_t)seq));
        json_object_object_add(m, "wamid", json_object_new_string(wamid));
        json_object_object_add(m, "to", json_object_new_string(shown));
        json_object_object_add(m, "wa_id", json_object_new_string(digits));
        json_object_object_add(m, "phone_number_id",
                               json_object_new_string(sb_opts.phones[r->phone_idx].id));
        json_object_object_add(m, "type", json_object_new_string(t ? "template" : "text"));
        json_object_object_add(m, "template", t ? json_object_new_string(t->name) : NULL);
        json_object_object_add(m, "language", t ? json_object_new_string(t->language) : NULL);
        json_object_object_add(m, "callback_data",
                               r->callback ? json_object_new_string(r->callback) : NULL);
        json_object_object_add(m, "request", r->request ? json_tokener_parse(r->request) : NULL);
        json_object_object_add(m, "at_ms", json_object_new_int64((int64_t)r->at_ms));
        if (r->async_error)
            json_object_object_add(m, "injected_error", json_object_new_int(r->async_error));
        json_object_array_add(arr, m);
        n++;
    }
    pthread_rwlock_unlock(&reset_lock);
    json_object_object_add(root, "messages", arr);
    json_object_object_add(root, "next_after", json_object_new_int64((int64_t)last));
    return root;
}
