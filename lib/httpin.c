#include "httpin.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"

char *httpin_query_param(const char *query, const char *name)
{
    if (!query || !name)
        return NULL;
    size_t nl = strlen(name);
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = seg - nl - 1;
            if (vl > (size_t)1 << 30)
                return NULL; /* curl takes an int length */
            /* '+' means space in query strings; curl unescapes only %XX. */
            char *tmp = strndup(v, vl);
            if (!tmp)
                return NULL;
            for (char *c = tmp; *c; c++)
                if (*c == '+')
                    *c = ' ';
            int outlen = 0;
            char *dec = curl_easy_unescape(NULL, tmp, (int)vl, &outlen);
            free(tmp);
            if (!dec)
                return NULL;
            char *out = NULL;
            /* A NUL inside a parameter is never legitimate. */
            if (memchr(dec, '\0', (size_t)outlen) == NULL)
                out = strndup(dec, (size_t)outlen);
            curl_free(dec);
            return out;
        }
        if (!amp)
            break;
        p = amp + 1;
    }
    return NULL;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

int httpin_cookie(const char *header, const char *name, char *out, size_t outlen)
{
    if (!header || !name || !*name || !out || outlen == 0)
        return -1;
    size_t nl = strlen(name);
    const char *p = header;
    while (*p) {
        while (is_space(*p) || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            const char *ne = eq;
            while (ne > p && is_space(ne[-1]))
                ne--;
            if ((size_t)(ne - p) == nl && memcmp(p, name, nl) == 0) {
                const char *v = eq + 1, *ve = end;
                while (v < ve && is_space(*v))
                    v++;
                while (ve > v && is_space(ve[-1]))
                    ve--;
                if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
                    v++;
                    ve--;
                }
                size_t vl = (size_t)(ve - v);
                if (vl >= outlen)
                    return -1;
                for (const char *c = v; c < ve; c++) {
                    unsigned char u = (unsigned char)*c;
                    if (u < 0x21 || u == 0x7f || u == '"' || u == ',' || u == '\\')
                        return -1;
                }
                memcpy(out, v, vl);
                out[vl] = '\0';
                return (int)vl;
            }
        }
        p = end;
    }
    return -1;
}

/* Splits an http(s) URL into its normalized origin; with exact, nothing may follow the
 * authority (an Origin header). */
static int origin_parse(const char *url, int exact, char *out, size_t outlen)
{
    if (!url || !out || outlen == 0)
        return -1;
    const char *scheme;
    size_t sl;
    const char *defport;
    if (strncasecmp(url, "http://", 7) == 0) {
        scheme = "http";
        sl = 7;
        defport = "80";
    } else if (strncasecmp(url, "https://", 8) == 0) {
        scheme = "https";
        sl = 8;
        defport = "443";
    } else {
        return -1;
    }
    const char *h = url + sl, *e = h;
    while (*e && *e != '/' && *e != '?' && *e != '#')
        e++;
    if (exact && *e)
        return -1;
    /* The authority: host (a name, an IPv4 address or [IPv6]) and an optional port. */
    const char *hostend = e, *port = NULL;
    if (h < e && *h == '[') {
        const char *rb = memchr(h, ']', (size_t)(e - h));
        if (!rb)
            return -1;
        for (const char *c = h + 1; c < rb; c++)
            if (!strchr("0123456789abcdefABCDEF:.", *c))
                return -1;
        hostend = rb + 1;
        if (hostend < e) {
            if (*hostend != ':')
                return -1;
            port = hostend + 1;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(e - h));
        if (colon) {
            hostend = colon;
            port = colon + 1;
        }
        for (const char *c = h; c < hostend; c++) {
            unsigned char u = (unsigned char)*c;
            if (!((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                  u == '.' || u == '-'))
                return -1;
        }
    }
    if (hostend == h || hostend - h > 255)
        return -1;
    size_t portlen = 0;
    if (port) {
        portlen = (size_t)(e - port);
        if (portlen == 0 || portlen > 5)
            return -1;
        for (const char *c = port; c < e; c++)
            if (*c < '0' || *c > '9')
                return -1;
        while (portlen > 1 && *port == '0') {
            port++;
            portlen--;
        }
        if (strlen(defport) == portlen && memcmp(port, defport, portlen) == 0)
            port = NULL;
    }
    size_t hl = (size_t)(hostend - h);
    size_t need = strlen(scheme) + 3 + hl + (port ? 1 + portlen : 0) + 1;
    if (need > outlen)
        return -1;
    size_t n = (size_t)snprintf(out, outlen, "%s://", scheme);
    for (size_t i = 0; i < hl; i++) {
        char c = h[i];
        out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    if (port) {
        out[n++] = ':';
        memcpy(out + n, port, portlen);
        n += portlen;
    }
    out[n] = '\0';
    return 0;
}

int httpin_origin_of(const char *url, char *out, size_t outlen)
{
    return origin_parse(url, 0, out, outlen);
}

int httpin_origin_matches(const char *origin, const char *url)
{
    char a[300], b[300];
    if (origin_parse(origin, 1, a, sizeof a) < 0 || origin_parse(url, 0, b, sizeof b) < 0)
        return 0;
    return strcmp(a, b) == 0;
}

json_object *httpin_json_object(const char *buf, size_t len, char *err, size_t errlen)
{
    return httpin_json_member(buf, len, err, errlen, NULL, 0);
}

json_object *httpin_json_member(const char *buf, size_t len, char *err, size_t errlen, char *member,
                                size_t mlen)
{
    return httpin_json_typed(buf, len, json_type_object, err, errlen, member, mlen);
}

json_object *httpin_json_typed(const char *buf, size_t len, enum json_type want, char *err,
                               size_t errlen, char *member, size_t mlen)
{
    const char *what = want == json_type_array ? "a JSON array" : "a JSON object";
    if (err && errlen)
        err[0] = '\0';
    if (member && mlen)
        member[0] = '\0';
    if (!buf || len == 0) {
        snprintf(err, errlen, "the request body must be %s", what);
        return NULL;
    }
    if (len > (size_t)1 << 30) {
        snprintf(err, errlen, "the request body is too large");
        return NULL;
    }
    /* Strict JSON (no single quotes, trailing commas, ...) in valid UTF-8 only. */
    char name[128], why[256];
    enum jsonparse_rc rc;
    enum json_tokener_error jerr;
    json_object *o =
        jsonparse_whole(buf, len, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, &rc, &jerr);
    if (!o) {
        if (rc == JSONPARSE_NOMEM)
            snprintf(err, errlen, "out of memory");
        else if (rc == JSONPARSE_TRAILING)
            snprintf(err, errlen, "the request body has data after the JSON");
        else if (jerr == json_tokener_error_parse_utf8_string &&
                 jsonparse_text_check(buf, len, name, sizeof name, why, sizeof why) ==
                     JSONTEXT_UTF8) {
            /* the same walk names the member json-c saw bad bytes in */
            snprintf(err, errlen, "the request body is not valid JSON: %s", why);
            if (member && mlen)
                snprintf(member, mlen, "%s", name);
        } else
            snprintf(err, errlen, "the request body is not valid JSON: %s",
                     jsonparse_reason(rc, jerr));
        return NULL;
    }
    if (!json_object_is_type(o, want)) {
        json_object_put(o);
        snprintf(err, errlen, "the request body must be %s", what);
        return NULL;
    }
    /* What json-c lets through: bad UTF-8 it does not see, U+0000, duplicate keys. */
    if (jsonparse_text_check(buf, len, name, sizeof name, why, sizeof why) != JSONTEXT_OK) {
        json_object_put(o);
        snprintf(err, errlen, "the request body is not valid JSON: %s", why);
        if (member && mlen)
            snprintf(member, mlen, "%s", name);
        return NULL;
    }
    return o;
}
