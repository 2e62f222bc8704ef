/* Query strings: httpin_query_param (behind http_query_param, every handler's parameters). */
#include "fuzz.h"
#include "httpin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = fuzz_cstr(data, size);
    /* The names handlers ask for, and the input's own first name. */
    static const char *const names[] = {"limit", "before",   "status",           "action",
                                        "actor", "hub.mode", "hub.verify_token", "hub.challenge",
                                        "q",     ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *v = httpin_query_param(q, names[i]);
        if (v) {
            /* The value is a proper string no longer than what it came from. */
            if (strlen(v) > size)
                abort();
            free(v);
        }
    }
    char name[64];
    size_t n = strcspn(q, "=&");
    if (n < sizeof name) {
        memcpy(name, q, n);
        name[n] = '\0';
        free(httpin_query_param(q, name));
    }
    free(q);
    return 0;
}
