/* The pure walk of a webhook payload: entry[].changes[] routed to our accounts and handed to a
 * visitor, change by change, without a database (tests/fuzz/fuzz_webhook.c drives it). Also the
 * JSON helpers and pass 1's status collection the applier shares (lib/webhook_batch.h). */
#include "webhook_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "db.h"

/* ---- JSON helpers ---------------------------------------------------------------------- */

const char *wh_jstr(json_object *o, const char *k)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

json_object *wh_jget(json_object *o, const char *k, json_type t)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

/* A member that may be a string or a number ("timestamp": "1750030073" or 1731705721;
 * message_template_id as a number), as text in buf. NULL when absent or another type. */
const char *wh_jscalar(json_object *o, const char *k, char *buf, size_t len)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_is_type(v, json_type_int)) {
        snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
        return buf;
    }
    return NULL;
}

/* Unix seconds of an event; now when absent or nonsense. */
long long wh_event_time(json_object *o)
{
    char buf[32];
    const char *s = wh_jscalar(o, "timestamp", buf, sizeof buf);
    long long t = 0;
    if (s) {
        char *end;
        t = strtoll(s, &end, 10);
        if (*end != '\0')
            t = 0;
    }
    /* 2001..2100: anything else is not a real event time */
    if (t < 1000000000LL || t > 4102444800LL)
        t = (long long)time(NULL);
    return t;
}

const char *const webhook_phase_names[WH_PHASES] = {"claim",    "walk", "statuses", "others",
                                                    "counters", "mark", "commit",   "pause"};

double wh_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int wh_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -1;
    *p = np;
    *cap = ncap;
    return 0;
}

/* ---- routing -------------------------------------------------------------------------------- */

static int src_verified(const struct webhook_src *src, long long id)
{
    if (src->nverified == 0)
        return 1;
    for (size_t i = 0; i < src->nverified; i++)
        if (src->verified[i] == id)
            return 1;
    return 0;
}

/* The account a messages change is for: its phone number id, else the WABA (entry.id) when
 * that WABA has one number only. 0 when none of ours (or not signed by its app). */
static long long route_messages(const struct webhook_src *src, const char *waba,
                                const char *phone_id)
{
    const struct account_list *l = src->accounts;
    long long found = 0;
    int n_waba = 0;
    for (size_t i = 0; l && i < l->n; i++) {
        const struct account *a = &l->v[i];
        if (phone_id && strcmp(a->phone_number_id, phone_id) == 0) {
            found = a->id;
            n_waba = 1;
            break;
        }
        if (!phone_id && waba && strcmp(a->waba_id, waba) == 0) {
            found = a->id;
            n_waba++;
        }
    }
    if (!found || n_waba != 1 || !src_verified(src, found))
        return 0;
    return found;
}

static int same_digits(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    for (;;) {
        while (*a && (*a < '0' || *a > '9'))
            a++;
        while (*b && (*b < '0' || *b > '9'))
            b++;
        if (*a != *b)
            return 0;
        if (!*a)
            return 1;
        a++;
        b++;
    }
}

/* Accounts of a WABA (entry.id) that signed the payload; for phone_number_quality_update the
 * one whose display number it names when there are several. */
static size_t waba_accounts(const struct webhook_src *src, const char *waba, const char *display,
                            long long *out, size_t max)
{
    size_t n = 0;
    const struct account_list *l = src->accounts;
    for (size_t i = 0; waba && l && i < l->n && n < max; i++)
        if (strcmp(l->v[i].waba_id, waba) == 0 && src_verified(src, l->v[i].id))
            out[n++] = l->v[i].id;
    if (display && n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            const struct account *a = accounts_find(l, out[i]);
            if (a && same_digits(a->display_phone, display))
                out[m++] = out[i];
        }
        n = m;
    }
    return n;
}

/* ---- statuses (pass 1) ---------------------------------------------------------------------- */

/* ---- statuses -------------------------------------------------------------------------------- */

int wh_collect_status(struct batch *b, json_object *s, long long account, long long event_id)
{
    b->st->statuses++;
    const char *wamid = wh_jstr(s, "id"), *raw = wh_jstr(s, "status");
    enum msg_status next = msg_status_parse(raw);
    if (!wamid || !*wamid || strlen(wamid) > 160 ||
        (next != MSG_SENT && next != MSG_DELIVERED && next != MSG_READ && next != MSG_FAILED)) {
        b->st->ignored++;
        return DB_OK;
    }
    if (wh_grow((void **)&b->items, &b->capitems, b->nitems + 1, sizeof *b->items) < 0)
        return DB_ERR;
    struct st_item *it = &b->items[b->nitems++];
    memset(it, 0, sizeof *it);
    it->wamid = wamid;
    it->raw = raw;
    it->next = next;
    it->t = wh_event_time(s);
    it->cb = wh_jstr(s, "biz_opaque_callback_data");
    it->account = account;
    it->event_id = event_id;
    it->rec = -1;
    wh_collect_pricing(it, s);
    json_object *errs = wh_jget(s, "errors", json_type_array);
    if (next == MSG_FAILED && errs && json_object_array_length(errs) > 0) {
        json_object *e = json_object_array_get_idx(errs, 0), *c;
        if (json_object_object_get_ex(e, "code", &c))
            it->code = json_object_get_int(c);
        it->etext = wh_jstr(wh_jget(e, "error_data", json_type_object), "details");
        if (!it->etext)
            it->etext = wh_jstr(e, "message");
        if (!it->etext)
            it->etext = wh_jstr(e, "title");
    }
    return DB_OK;
}

/* One change of a payload: routed to our accounts, its items handed to the visitor (pass 1:
 * statuses only; pass 2: everything else, in order). */
static int walk_change(json_object *ch, const struct webhook_src *src, const char *waba,
                       long long event_id, int statuses, const struct webhook_visitor *v,
                       struct webhook_stats *st)
{
    const char *field = wh_jstr(ch, "field");
    json_object *val = wh_jget(ch, "value", json_type_object);
    if (!field || !val) {
        if (statuses)
            st->other++;
        return DB_OK;
    }
    int rc = DB_OK;
    if (strcmp(field, "messages") == 0) {
        const char *pid = wh_jstr(wh_jget(val, "metadata", json_type_object), "phone_number_id");
        long long acc = route_messages(src, waba, pid);
        json_object *list = wh_jget(val, statuses ? "statuses" : "messages", json_type_array);
        if (!statuses && acc && v->user_ids && (rc = v->user_ids(v->ctx, val, acc)) != DB_OK)
            return rc;
        if (!list)
            return DB_OK;
        if (!acc) {
            st->unrouted++;
            return DB_OK;
        }
        int (*each)(void *, json_object *, long long, long long) =
            statuses ? v->status : v->message;
        for (size_t k = 0; each && k < json_object_array_length(list) && rc == DB_OK; k++)
            rc = each(v->ctx, json_object_array_get_idx(list, k), acc, event_id);
    } else if (statuses) {
        return DB_OK;
    } else if (strcmp(field, "user_preferences") == 0) {
        const char *pid = wh_jstr(wh_jget(val, "metadata", json_type_object), "phone_number_id");
        long long acc = route_messages(src, waba, pid);
        json_object *list = wh_jget(val, "user_preferences", json_type_array);
        if (!acc) {
            st->unrouted++;
            return DB_OK;
        }
        for (size_t k = 0;
             v->preference && list && k < json_object_array_length(list) && rc == DB_OK; k++)
            rc = v->preference(v->ctx, json_object_array_get_idx(list, k), acc);
    } else if (strcmp(field, "message_template_status_update") == 0 ||
               strcmp(field, "phone_number_quality_update") == 0 ||
               strcmp(field, "account_update") == 0) {
        long long acc[64];
        int quality = field[0] == 'p';
        size_t n = waba_accounts(src, waba, quality ? wh_jstr(val, "display_phone_number") : NULL,
                                 acc, 64);
        if (n == 0) {
            st->unrouted++;
            return DB_OK;
        }
        if (quality)
            return v->quality ? v->quality(v->ctx, val, acc, n) : DB_OK;
        int (*each)(void *, json_object *, long long) =
            field[0] == 'm' ? v->template_update : v->account_update;
        for (size_t k = 0; each && k < n && rc == DB_OK; k++)
            rc = each(v->ctx, val, acc[k]);
    } else {
        st->other++; /* kept in webhook_events, nothing to do */
    }
    return rc;
}

int webhook_walk(json_object *payload, const struct webhook_src *src, long long event_id,
                 int statuses, const struct webhook_visitor *v, struct webhook_stats *st)
{
    json_object *entries = wh_jget(payload, "entry", json_type_array);
    if (!entries) {
        if (statuses)
            st->other++;
        return DB_OK;
    }
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *entry = json_object_array_get_idx(entries, i);
        char wbuf[40];
        const char *waba = wh_jscalar(entry, "id", wbuf, sizeof wbuf);
        json_object *changes = wh_jget(entry, "changes", json_type_array);
        for (size_t j = 0; changes && j < json_object_array_length(changes); j++) {
            int rc = walk_change(json_object_array_get_idx(changes, j), src, waba, event_id,
                                 statuses, v, st);
            if (rc != DB_OK)
                return rc;
        }
    }
    return DB_OK;
}

/* Whether a messages change holds anything but plain statuses: inbound messages (a STOP,
 * a number change), or a failed status (131050 opts the person out, others pause). */
static int messages_ahead(json_object *val)
{
    json_object *msgs = wh_jget(val, "messages", json_type_array);
    if (msgs && json_object_array_length(msgs) > 0)
        return 1;
    json_object *sts = wh_jget(val, "statuses", json_type_array);
    for (size_t k = 0; sts && k < json_object_array_length(sts); k++) {
        const char *st = wh_jstr(json_object_array_get_idx(sts, k), "status");
        if (st && strcmp(st, "failed") == 0)
            return 1;
    }
    return 0;
}

int webhook_priority(json_object *payload)
{
    static const char *const ahead[] = {"user_preferences", "message_template_status_update",
                                        "account_update", "phone_number_quality_update",
                                        "template_category_update"};
    json_object *entries = wh_jget(payload, "entry", json_type_array);
    for (size_t i = 0; entries && i < json_object_array_length(entries); i++) {
        json_object *changes =
            wh_jget(json_object_array_get_idx(entries, i), "changes", json_type_array);
        for (size_t j = 0; changes && j < json_object_array_length(changes); j++) {
            json_object *ch = json_object_array_get_idx(changes, j);
            const char *field = wh_jstr(ch, "field");
            json_object *val = wh_jget(ch, "value", json_type_object);
            if (!field || !val)
                continue;
            if (strcmp(field, "messages") == 0 && messages_ahead(val))
                return WEBHOOK_PRIORITY_AHEAD;
            for (size_t k = 0; k < sizeof ahead / sizeof ahead[0]; k++)
                if (strcmp(field, ahead[k]) == 0)
                    return WEBHOOK_PRIORITY_AHEAD;
        }
    }
    return WEBHOOK_PRIORITY_PLAIN;
}

static int collect_visit(void *ctx, json_object *s, long long account, long long event_id)
{
    return wh_collect_status(ctx, s, account, event_id);
}

int webhook_walk_statuses(json_object *payload, const struct webhook_src *src,
                          struct webhook_stats *st, size_t *collected)
{
    struct batch b;
    memset(&b, 0, sizeof b);
    b.st = st; /* no database: the first pass only reads the payload and src */
    struct webhook_visitor v = {.ctx = &b, .status = collect_visit};
    int rc = webhook_walk(payload, src, 0, 1, &v, st);
    *collected = b.nitems;
    free(b.items);
    return rc;
}
