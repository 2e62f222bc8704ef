/* Outbound events: names, the SSRF rule, the signature, the outbox (lib/hooks.h). */
#include "hooks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

const char *const hooks_event_names[] = {"campaign.started",   "campaign.paused",
                                         "campaign.resumed",   "campaign.completed",
                                         "campaign.cancelled", "recipient.status",
                                         "optout.created",     "optout.lifted",
                                         "reply.received",     NULL};

int hooks_event_valid(const char *name)
{
    for (size_t i = 0; name && hooks_event_names[i]; i++)
        if (strcmp(hooks_event_names[i], name) == 0)
            return 1;
    return 0;
}

const char *hooks_campaign_event(enum campaign_status from, enum campaign_status to)
{
    if (from == to)
        return NULL;
    switch (to) {
    case CAMP_RUNNING:
        return from == CAMP_PAUSED ? "campaign.resumed" : "campaign.started";
    case CAMP_PAUSED:
        return "campaign.paused";
    case CAMP_COMPLETED:
        return "campaign.completed";
    case CAMP_CANCELLED:
        return "campaign.cancelled";
    default:
        return NULL;
    }
}

int hooks_targets_parse(const char *s)
{
    if (!s || !*s || strcmp(s, "public") == 0)
        return HOOKS_TARGETS_PUBLIC;
    if (strcmp(s, "loopback") == 0)
        return HOOKS_TARGETS_LOOPBACK;
    if (strcmp(s, "private") == 0)
        return HOOKS_TARGETS_PRIVATE;
    return -1;
}

static enum hooks_addr_class classify_v4(uint32_t a)
{
    static const struct {
        uint32_t net, mask;
    } priv[] = {
        {0x00000000, 0xff000000}, /* 0/8 "this network" */
        {0x0a000000, 0xff000000}, /* 10/8 */
        {0x64400000, 0xffc00000}, /* 100.64/10 CGNAT */
        {0xa9fe0000, 0xffff0000}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 0xfff00000}, /* 172.16/12 */
        {0xc0000000, 0xffffff00}, /* 192.0.0/24 */
        {0xc0000200, 0xffffff00}, /* 192.0.2/24 documentation */
        {0xc0a80000, 0xffff0000}, /* 192.168/16 */
        {0xc6120000, 0xfffe0000}, /* 198.18/15 benchmarking */
        {0xc6336400, 0xffffff00}, /* 198.51.100/24 documentation */
        {0xcb007100, 0xffffff00}, /* 203.0.113/24 documentation */
        {0xe0000000, 0xe0000000}, /* 224/4 multicast, 240/4 reserved, broadcast */
    };
    if ((a & 0xff000000) == 0x7f000000)
        return HOOKS_ADDR_LOOPBACK;
    for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++)
        if ((a & priv[i].mask) == priv[i].net)
            return HOOKS_ADDR_PRIVATE;
    return HOOKS_ADDR_PUBLIC;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static enum hooks_addr_class classify_v6(const unsigned char *b)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0 && b[15] == 1)
        return HOOKS_ADDR_LOOPBACK; /* ::1 */
    if (memcmp(b, zero, 12) == 0)
        return HOOKS_ADDR_PRIVATE; /* ::, and the old IPv4-compatible ::a.b.c.d */
    /* an IPv4 address inside: it is where the packets go */
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return classify_v4(v4_at(b + 12));
    if (b[0] == 0x20 && b[1] == 0x02) /* 2002::/16 6to4 */
        return classify_v4(v4_at(b + 2));
    if ((b[0] & 0xfe) == 0xfc)
        return HOOKS_ADDR_PRIVATE; /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0x80) == 0x80)
        return HOOKS_ADDR_PRIVATE; /* fe80::/10 link-local, fec0::/10 site-local */
    if (b[0] == 0xff)
        return HOOKS_ADDR_PRIVATE; /* multicast */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return HOOKS_ADDR_PRIVATE; /* 2001:db8::/32 documentation */
    if (b[0] == 0x01 && b[1] == 0 && memcmp(b + 2, zero, 6) == 0)
        return HOOKS_ADDR_PRIVATE; /* 100::/64 discard */
    return HOOKS_ADDR_PUBLIC;
}

enum hooks_addr_class hooks_addr_classify(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return classify_v4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return classify_v6(in6->sin6_addr.s6_addr);
    }
    return HOOKS_ADDR_PRIVATE; /* anything else is no public internet address */
}

int hooks_addr_classify_text(const char *s)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, s, &in.sin_addr) == 1)
        return (int)hooks_addr_classify((const struct sockaddr *)&in);
    if (inet_pton(AF_INET6, s, &in6.sin6_addr) == 1)
        return (int)hooks_addr_classify((const struct sockaddr *)&in6);
    return -1;
}

int hooks_addr_allowed(enum hooks_addr_class c, enum hooks_targets policy)
{
    switch (c) {
    case HOOKS_ADDR_PUBLIC:
        return 1;
    case HOOKS_ADDR_LOOPBACK:
        return policy >= HOOKS_TARGETS_LOOPBACK;
    case HOOKS_ADDR_PRIVATE:
        return policy >= HOOKS_TARGETS_PRIVATE;
    }
    return 0;
}

static const char *class_name(enum hooks_addr_class c)
{
    return c == HOOKS_ADDR_LOOPBACK  ? "a loopback"
           : c == HOOKS_ADDR_PRIVATE ? "a private"
                                     : "a public";
}

/* Scheme, host (brackets of an IPv6 literal removed) and port of url. 0 or -1 with err. */
static int url_parts(const char *url, char *host, size_t hostlen, long *port, char *err,
                     size_t errlen)
{
    if (!url || !*url || strlen(url) > HOOKS_URL_MAX) {
        snprintf(err, errlen, "url is an http or https address of at most %d characters",
                 HOOKS_URL_MAX);
        return -1;
    }
    CURLU *u = curl_url();
    char *scheme = NULL, *h = NULL, *p = NULL, *user = NULL, *pass = NULL;
    int rc = -1;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "url is not a valid absolute address");
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "url must be http or https");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        snprintf(err, errlen, "url may not hold a user or password (sign with the secret)");
        goto out;
    }
    size_t n = strlen(h);
    const char *hs = h;
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        hs = h + 1;
        n -= 2;
    }
    if (n == 0 || n >= hostlen || memchr(hs, '%', n)) {
        snprintf(err, errlen, "url has no usable host");
        goto out;
    }
    memcpy(host, hs, n);
    host[n] = '\0';
    *port = strtol(p, NULL, 10);
    rc = 0;
out:
    curl_free(scheme);
    curl_free(h);
    curl_free(p);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return rc;
}

int hooks_url_check(const char *url, enum hooks_targets policy, char *pin, size_t pinlen, char *err,
                    size_t errlen)
{
    char host[256];
    long port = 0;
    if (url_parts(url, host, sizeof host, &port, err, errlen) < 0)
        return -1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0 || !res) {
        snprintf(err, errlen, "url's host %s does not resolve (%s)", host, gai_strerror(gai));
        return -2;
    }
    char first[INET6_ADDRSTRLEN] = "";
    int first_v6 = 0, rc = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        char txt[INET6_ADDRSTRLEN] = "?";
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            inet_ntop(ai->ai_family, a, txt, sizeof txt);
        enum hooks_addr_class c = hooks_addr_classify(ai->ai_addr);
        if (!hooks_addr_allowed(c, policy)) {
            snprintf(err, errlen,
                     "url's host %s is %s address (%s); the operator allows only %s targets "
                     "(hooks_allow_targets)",
                     host, class_name(c), txt,
                     policy == HOOKS_TARGETS_LOOPBACK ? "public and loopback" : "public");
            rc = -2;
            break;
        }
        if (!first[0]) {
            memcpy(first, txt, sizeof first);
            first_v6 = ai->ai_family == AF_INET6;
        }
    }
    freeaddrinfo(res);
    if (rc == 0 && pin && pinlen) {
        /* An address literal is never resolved again; a name is pinned to what we checked. */
        if (hooks_addr_classify_text(host) >= 0)
            pin[0] = '\0';
        else
            snprintf(pin, pinlen, first_v6 ? "%s:%ld:[%s]" : "%s:%ld:%s", host, port, first);
    }
    return rc;
}

int hooks_sign(const char *secret, const char *body, size_t len, char out[HOOKS_SIG_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    if (crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret)) != 0 ||
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len) != 0 ||
        crypto_auth_hmacsha256_final(&st, mac) != 0)
        return -1;
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, HOOKS_SIG_LEN - 7, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
    return 0;
}

/* ---- the outbox ---- */

int hooks_emit(struct db *db, const char *type, long long campaign_id, json_object *data)
{
    const char *txt = json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN);
    return db_exec(db,
                   "INSERT INTO hook_outbox (hook_id, event, campaign_id, data) "
                   "SELECT id, ?, ?, ? FROM hooks WHERE enabled = 1 AND FIND_IN_SET(?, events) "
                   "ORDER BY id",
                   DB_ARGS(DB_STR(type), campaign_id > 0 ? DB_INT(campaign_id) : DB_NULL,
                           DB_STR(txt), DB_STR(type)),
                   NULL);
}

int hooks_emit_many(struct db *db, const char *type, json_object *events)
{
    if (!events || json_object_array_length(events) == 0)
        return DB_OK;
    /* Each data travels as a JSON string inside the array, so JSON_TABLE hands it back as
     * the object's text; ORDER BY keeps the ids in the events' order. */
    json_object *wire = json_object_new_array();
    if (!wire)
        return DB_ERR;
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        json_object *e = json_object_array_get_idx(events, i), *cid, *data;
        json_object *w = json_object_new_object();
        json_object_object_get_ex(e, "campaign_id", &cid);
        json_object_object_get_ex(e, "data", &data);
        json_object_object_add(w, "c", json_object_get(cid));
        json_object_object_add(
            w, "d",
            json_object_new_string(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN)));
        json_object_array_add(wire, w);
    }
    const char *txt = json_object_to_json_string_ext(wire, JSON_C_TO_STRING_PLAIN);
    int rc = db_exec(db,
                     "INSERT INTO hook_outbox (hook_id, event, campaign_id, data) "
                     "SELECT h.id, ?, IF(j.c > 0, j.c, NULL), j.d FROM JSON_TABLE(?, '$[*]' "
                     "COLUMNS (n FOR ORDINALITY, c BIGINT PATH '$.c', d LONGTEXT PATH '$.d')) j "
                     "JOIN hooks h ON h.enabled = 1 AND FIND_IN_SET(?, h.events) "
                     "ORDER BY j.n, h.id",
                     DB_ARGS(DB_STR(type), DB_STR(txt), DB_STR(type)), NULL);
    json_object_put(wire);
    return rc;
}

int hooks_wanted(struct db *db, const char *prefix, int *yes)
{
    struct db_rows r;
    *yes = 0;
    int rc = db_query(db,
                      "SELECT 1 FROM hooks WHERE enabled = 1 AND "
                      "CONCAT(',', events) LIKE CONCAT('%,', ?, '%') LIMIT 1",
                      DB_ARGS(DB_STR(prefix)), &r);
    if (rc == DB_OK)
        *yes = r.nrows > 0;
    db_rows_free(&r);
    return rc;
}
