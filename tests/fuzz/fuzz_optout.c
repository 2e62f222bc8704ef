/* Inbound texts and ids: optout_classify (folding and word-boundary phrase matching) and
 * identity_from_wa, on hostile bytes (invalid UTF-8, NULs, huge messages). */
#include "fuzz.h"
#include "identity.h"
#include "optout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    static const struct optout_rule rules[] = {
        {"STOP", OPTOUT_KEYWORD, OPTOUT_STOP},
        {"NO MÁS", OPTOUT_KEYWORD, OPTOUT_STOP},
        {"no quiero recibir", OPTOUT_PHRASE, OPTOUT_STOP},
        {"ß", OPTOUT_PHRASE, OPTOUT_STOP},
        {"START", OPTOUT_KEYWORD, OPTOUT_RESUME},
    };
    long which;
    enum optout_action a = optout_classify(s, rules, sizeof rules / sizeof rules[0], &which);
    if ((a == OPTOUT_NONE) != (which == -1))
        abort();
    char out[OPTOUT_TEXT_MAX * 2 + 2];
    int n = optout_normalize(s, out, sizeof out);
    /* folding never grows a text more than twice (ß -> ss) and leaves no edge spaces */
    if (n >= 0 && ((size_t)n > 2 * strlen(s) || (n > 0 && (out[0] == ' ' || out[n - 1] == ' '))))
        abort();
    char folded[OPTOUT_RULE_MAX + 1];
    const char *why;
    if (strlen(s) <= OPTOUT_RULE_MAX && optout_rule_check(s, folded, &why) == 0 &&
        strlen(folded) > OPTOUT_RULE_MAX)
        abort();
    char phone[E164_MAX + 1], again[E164_MAX + 1];
    if (identity_from_wa(s, phone) == E164_OK &&
        (identity_from_wa(phone, again) != E164_OK || strcmp(phone, again) != 0))
        abort(); /* the canonical form is a fixed point */
    free(s);
    return 0;
}
