#include "route.h"

#include <string.h>

static int segment_is_id(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
        return 0;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return 0;
    *out = v;
    return 1;
}

static int segment_is_key(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return 0;
    }
    return 1;
}

const char *route_last_segment(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int route_match(const char *pattern, const char *path, long long ids[ROUTE_MAX_IDS], int *nids)
{
    *nids = 0;
    if (!path || path[0] != '/' || strlen(path) > 1024)
        return 0;
    const char *p = pattern, *q = path;
    while (*p == '/' && *q == '/') {
        p++;
        q++;
        size_t pl = strcspn(p, "/"), ql = strcspn(q, "/");
        /* Path tricks never reach a handler. */
        if ((ql == 1 && q[0] == '.') || (ql == 2 && q[0] == '.' && q[1] == '.'))
            return 0;
        if (ql == 0 && pl != 0)
            return 0;
        if (pl >= 3 && p[0] == '{' && p[1] == '*' && p[pl - 1] == '}') {
            if (!segment_is_key(q, ql))
                return 0;
        } else if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            long long v;
            if (*nids >= ROUTE_MAX_IDS || !segment_is_id(q, ql, &v))
                return 0;
            ids[(*nids)++] = v;
        } else if (pl != ql || memcmp(p, q, pl) != 0) {
            return 0;
        }
        p += pl;
        q += ql;
    }
    return *p == '\0' && *q == '\0';
}
