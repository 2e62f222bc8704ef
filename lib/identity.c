#include "identity.h"

#include <string.h>

int identity_from_wa(const char *wa_id, char out[E164_MAX + 1])
{
    char buf[24];
    size_t n = 0;
    out[0] = '\0';
    if (!wa_id)
        return E164_EMPTY;
    const char *p = wa_id[0] == '+' ? wa_id + 1 : wa_id;
    buf[n++] = '+';
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return *p ? E164_BAD_CHARS : E164_EMPTY;
        if (n >= 16)
            return E164_TOO_LONG;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    if (n == 1)
        return E164_EMPTY;
    int st = e164_normalize(buf, n, NULL, out);
    if (st == E164_OK)
        return st;
    if (n - 1 < 8)
        return E164_TOO_SHORT;
    /* WhatsApp knows the number: a rule of ours that is stricter than the network must not
     * drop an opt-out. Keep the digits as they came when the country code is assigned. */
    int cc = 0;
    for (size_t k = 1; k <= 3; k++) {
        cc = cc * 10 + (buf[k] - '0');
        if (buf[1] != '0' && e164_cc_assigned(cc)) {
            memcpy(out, buf, n + 1);
            return E164_OK;
        }
    }
    return st;
}

int identity_user_id_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= IDENTITY_USER_ID_MAX || c <= ' ' || c >= 0x7F || c == '"' || c == '\'' ||
            c == '\\')
            return 0;
    }
    return 1;
}
