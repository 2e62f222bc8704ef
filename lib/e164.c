/* E.164 normalization: one linear pass to collect digits, then per-country rules.
 *
 * Country rules (both for national input and for "+CC ..." input of that country):
 *   AR +54  WhatsApp mobiles are +54 9 <area><subscriber> (10 digits; area codes of 2, 3 or 4
 *           digits, local numbers of 8, 7 or 6): drop trunk 0 and the "15" after the area code,
 *           insert the 9 (checked against libphonenumber's AR metadata).
 *   MX +52  10 digits; drop the legacy mobile 1 and the old 044/045/01 national prefixes.
 *   CO +57  10 digits: mobiles 3..., landlines 60X...
 *   ES +34  9 digits starting with 6-9.
 *   NANP +1 NXX NXX XXXX.
 *   CL +56, PE +51, UY +598, BR +55: see their functions.
 * Any other country: trunk prefix removal for national input and the E.164 length check. */
#include "e164.h"

#include <stdint.h>
#include <string.h>

/* Digits kept while scanning; anything longer cannot become a valid number even after the
 * longest national prefixes are removed ("00" + 15 digits, or AR 0 + 9 + area + 15 + number). */
#define SCAN_MAX 20

/* ITU-T E.164 assigned country calling codes (geographic and global services), 2024. */
static const uint8_t cc_table[1000] = {
    [1] = 1,   [7] = 1,   [20] = 1,  [27] = 1,  [30] = 1,  [31] = 1,  [32] = 1,  [33] = 1,
    [34] = 1,  [36] = 1,  [39] = 1,  [40] = 1,  [41] = 1,  [43] = 1,  [44] = 1,  [45] = 1,
    [46] = 1,  [47] = 1,  [48] = 1,  [49] = 1,  [51] = 1,  [52] = 1,  [53] = 1,  [54] = 1,
    [55] = 1,  [56] = 1,  [57] = 1,  [58] = 1,  [60] = 1,  [61] = 1,  [62] = 1,  [63] = 1,
    [64] = 1,  [65] = 1,  [66] = 1,  [81] = 1,  [82] = 1,  [84] = 1,  [86] = 1,  [90] = 1,
    [91] = 1,  [92] = 1,  [93] = 1,  [94] = 1,  [95] = 1,  [98] = 1,  [211] = 1, [212] = 1,
    [213] = 1, [216] = 1, [218] = 1, [220] = 1, [221] = 1, [222] = 1, [223] = 1, [224] = 1,
    [225] = 1, [226] = 1, [227] = 1, [228] = 1, [229] = 1, [230] = 1, [231] = 1, [232] = 1,
    [233] = 1, [234] = 1, [235] = 1, [236] = 1, [237] = 1, [238] = 1, [239] = 1, [240] = 1,
    [241] = 1, [242] = 1, [243] = 1, [244] = 1, [245] = 1, [246] = 1, [247] = 1, [248] = 1,
    [249] = 1, [250] = 1, [251] = 1, [252] = 1, [253] = 1, [254] = 1, [255] = 1, [256] = 1,
    [257] = 1, [258] = 1, [260] = 1, [261] = 1, [262] = 1, [263] = 1, [264] = 1, [265] = 1,
    [266] = 1, [267] = 1, [268] = 1, [269] = 1, [290] = 1, [291] = 1, [297] = 1, [298] = 1,
    [299] = 1, [350] = 1, [351] = 1, [352] = 1, [353] = 1, [354] = 1, [355] = 1, [356] = 1,
    [357] = 1, [358] = 1, [359] = 1, [370] = 1, [371] = 1, [372] = 1, [373] = 1, [374] = 1,
    [375] = 1, [376] = 1, [377] = 1, [378] = 1, [379] = 1, [380] = 1, [381] = 1, [382] = 1,
    [383] = 1, [385] = 1, [386] = 1, [387] = 1, [389] = 1, [420] = 1, [421] = 1, [423] = 1,
    [500] = 1, [501] = 1, [502] = 1, [503] = 1, [504] = 1, [505] = 1, [506] = 1, [507] = 1,
    [508] = 1, [509] = 1, [590] = 1, [591] = 1, [592] = 1, [593] = 1, [594] = 1, [595] = 1,
    [596] = 1, [597] = 1, [598] = 1, [599] = 1, [670] = 1, [672] = 1, [673] = 1, [674] = 1,
    [675] = 1, [676] = 1, [677] = 1, [678] = 1, [679] = 1, [680] = 1, [681] = 1, [682] = 1,
    [683] = 1, [685] = 1, [686] = 1, [687] = 1, [688] = 1, [689] = 1, [690] = 1, [691] = 1,
    [692] = 1, [800] = 1, [808] = 1, [850] = 1, [852] = 1, [853] = 1, [855] = 1, [856] = 1,
    [870] = 1, [878] = 1, [880] = 1, [881] = 1, [882] = 1, [883] = 1, [886] = 1, [888] = 1,
    [960] = 1, [961] = 1, [962] = 1, [963] = 1, [964] = 1, [965] = 1, [966] = 1, [967] = 1,
    [968] = 1, [970] = 1, [971] = 1, [972] = 1, [973] = 1, [974] = 1, [975] = 1, [976] = 1,
    [977] = 1, [979] = 1, [991] = 1, [992] = 1, [993] = 1, [994] = 1, [995] = 1, [996] = 1,
    [998] = 1,
};

/* ISO 3166 alpha-2 -> calling code, indexed by (letter1 - 'A') * 26 + (letter2 - 'A'). */
#define ISO(a, b) [((a) - 'A') * 26 + ((b) - 'A')]
static const uint16_t iso_table[26 * 26] = {
    ISO('A', 'C') = 247, ISO('A', 'D') = 376, ISO('A', 'E') = 971, ISO('A', 'F') = 93,
    ISO('A', 'G') = 1,   ISO('A', 'I') = 1,   ISO('A', 'L') = 355, ISO('A', 'M') = 374,
    ISO('A', 'O') = 244, ISO('A', 'Q') = 672, ISO('A', 'R') = 54,  ISO('A', 'S') = 1,
    ISO('A', 'T') = 43,  ISO('A', 'U') = 61,  ISO('A', 'W') = 297, ISO('A', 'X') = 358,
    ISO('A', 'Z') = 994, ISO('B', 'A') = 387, ISO('B', 'B') = 1,   ISO('B', 'D') = 880,
    ISO('B', 'E') = 32,  ISO('B', 'F') = 226, ISO('B', 'G') = 359, ISO('B', 'H') = 973,
    ISO('B', 'I') = 257, ISO('B', 'J') = 229, ISO('B', 'L') = 590, ISO('B', 'M') = 1,
    ISO('B', 'N') = 673, ISO('B', 'O') = 591, ISO('B', 'Q') = 599, ISO('B', 'R') = 55,
    ISO('B', 'S') = 1,   ISO('B', 'T') = 975, ISO('B', 'W') = 267, ISO('B', 'Y') = 375,
    ISO('B', 'Z') = 501, ISO('C', 'A') = 1,   ISO('C', 'C') = 61,  ISO('C', 'D') = 243,
    ISO('C', 'F') = 236, ISO('C', 'G') = 242, ISO('C', 'H') = 41,  ISO('C', 'I') = 225,
    ISO('C', 'K') = 682, ISO('C', 'L') = 56,  ISO('C', 'M') = 237, ISO('C', 'N') = 86,
    ISO('C', 'O') = 57,  ISO('C', 'R') = 506, ISO('C', 'U') = 53,  ISO('C', 'V') = 238,
    ISO('C', 'W') = 599, ISO('C', 'X') = 61,  ISO('C', 'Y') = 357, ISO('C', 'Z') = 420,
    ISO('D', 'E') = 49,  ISO('D', 'J') = 253, ISO('D', 'K') = 45,  ISO('D', 'M') = 1,
    ISO('D', 'O') = 1,   ISO('D', 'Z') = 213, ISO('E', 'C') = 593, ISO('E', 'E') = 372,
    ISO('E', 'G') = 20,  ISO('E', 'H') = 212, ISO('E', 'R') = 291, ISO('E', 'S') = 34,
    ISO('E', 'T') = 251, ISO('F', 'I') = 358, ISO('F', 'J') = 679, ISO('F', 'K') = 500,
    ISO('F', 'M') = 691, ISO('F', 'O') = 298, ISO('F', 'R') = 33,  ISO('G', 'A') = 241,
    ISO('G', 'B') = 44,  ISO('G', 'D') = 1,   ISO('G', 'E') = 995, ISO('G', 'F') = 594,
    ISO('G', 'G') = 44,  ISO('G', 'H') = 233, ISO('G', 'I') = 350, ISO('G', 'L') = 299,
    ISO('G', 'M') = 220, ISO('G', 'N') = 224, ISO('G', 'P') = 590, ISO('G', 'Q') = 240,
    ISO('G', 'R') = 30,  ISO('G', 'S') = 500, ISO('G', 'T') = 502, ISO('G', 'U') = 1,
    ISO('G', 'W') = 245, ISO('G', 'Y') = 592, ISO('H', 'K') = 852, ISO('H', 'N') = 504,
    ISO('H', 'R') = 385, ISO('H', 'T') = 509, ISO('H', 'U') = 36,  ISO('I', 'D') = 62,
    ISO('I', 'E') = 353, ISO('I', 'L') = 972, ISO('I', 'M') = 44,  ISO('I', 'N') = 91,
    ISO('I', 'O') = 246, ISO('I', 'Q') = 964, ISO('I', 'R') = 98,  ISO('I', 'S') = 354,
    ISO('I', 'T') = 39,  ISO('J', 'E') = 44,  ISO('J', 'M') = 1,   ISO('J', 'O') = 962,
    ISO('J', 'P') = 81,  ISO('K', 'E') = 254, ISO('K', 'G') = 996, ISO('K', 'H') = 855,
    ISO('K', 'I') = 686, ISO('K', 'M') = 269, ISO('K', 'N') = 1,   ISO('K', 'P') = 850,
    ISO('K', 'R') = 82,  ISO('K', 'W') = 965, ISO('K', 'Y') = 1,   ISO('K', 'Z') = 7,
    ISO('L', 'A') = 856, ISO('L', 'B') = 961, ISO('L', 'C') = 1,   ISO('L', 'I') = 423,
    ISO('L', 'K') = 94,  ISO('L', 'R') = 231, ISO('L', 'S') = 266, ISO('L', 'T') = 370,
    ISO('L', 'U') = 352, ISO('L', 'V') = 371, ISO('L', 'Y') = 218, ISO('M', 'A') = 212,
    ISO('M', 'C') = 377, ISO('M', 'D') = 373, ISO('M', 'E') = 382, ISO('M', 'F') = 590,
    ISO('M', 'G') = 261, ISO('M', 'H') = 692, ISO('M', 'K') = 389, ISO('M', 'L') = 223,
    ISO('M', 'M') = 95,  ISO('M', 'N') = 976, ISO('M', 'O') = 853, ISO('M', 'P') = 1,
    ISO('M', 'Q') = 596, ISO('M', 'R') = 222, ISO('M', 'S') = 1,   ISO('M', 'T') = 356,
    ISO('M', 'U') = 230, ISO('M', 'V') = 960, ISO('M', 'W') = 265, ISO('M', 'X') = 52,
    ISO('M', 'Y') = 60,  ISO('M', 'Z') = 258, ISO('N', 'A') = 264, ISO('N', 'C') = 687,
    ISO('N', 'E') = 227, ISO('N', 'F') = 672, ISO('N', 'G') = 234, ISO('N', 'I') = 505,
    ISO('N', 'L') = 31,  ISO('N', 'O') = 47,  ISO('N', 'P') = 977, ISO('N', 'R') = 674,
    ISO('N', 'U') = 683, ISO('N', 'Z') = 64,  ISO('O', 'M') = 968, ISO('P', 'A') = 507,
    ISO('P', 'E') = 51,  ISO('P', 'F') = 689, ISO('P', 'G') = 675, ISO('P', 'H') = 63,
    ISO('P', 'K') = 92,  ISO('P', 'L') = 48,  ISO('P', 'M') = 508, ISO('P', 'N') = 64,
    ISO('P', 'R') = 1,   ISO('P', 'S') = 970, ISO('P', 'T') = 351, ISO('P', 'W') = 680,
    ISO('P', 'Y') = 595, ISO('Q', 'A') = 974, ISO('R', 'E') = 262, ISO('R', 'O') = 40,
    ISO('R', 'S') = 381, ISO('R', 'U') = 7,   ISO('R', 'W') = 250, ISO('S', 'A') = 966,
    ISO('S', 'B') = 677, ISO('S', 'C') = 248, ISO('S', 'D') = 249, ISO('S', 'E') = 46,
    ISO('S', 'G') = 65,  ISO('S', 'H') = 290, ISO('S', 'I') = 386, ISO('S', 'J') = 47,
    ISO('S', 'K') = 421, ISO('S', 'L') = 232, ISO('S', 'M') = 378, ISO('S', 'N') = 221,
    ISO('S', 'O') = 252, ISO('S', 'R') = 597, ISO('S', 'S') = 211, ISO('S', 'T') = 239,
    ISO('S', 'V') = 503, ISO('S', 'X') = 1,   ISO('S', 'Y') = 963, ISO('S', 'Z') = 268,
    ISO('T', 'A') = 290, ISO('T', 'C') = 1,   ISO('T', 'D') = 235, ISO('T', 'G') = 228,
    ISO('T', 'H') = 66,  ISO('T', 'J') = 992, ISO('T', 'K') = 690, ISO('T', 'L') = 670,
    ISO('T', 'M') = 993, ISO('T', 'N') = 216, ISO('T', 'O') = 676, ISO('T', 'R') = 90,
    ISO('T', 'T') = 1,   ISO('T', 'V') = 688, ISO('T', 'W') = 886, ISO('T', 'Z') = 255,
    ISO('U', 'A') = 380, ISO('U', 'G') = 256, ISO('U', 'S') = 1,   ISO('U', 'Y') = 598,
    ISO('U', 'Z') = 998, ISO('V', 'A') = 39,  ISO('V', 'C') = 1,   ISO('V', 'E') = 58,
    ISO('V', 'G') = 1,   ISO('V', 'I') = 1,   ISO('V', 'N') = 84,  ISO('V', 'U') = 678,
    ISO('W', 'F') = 681, ISO('W', 'S') = 685, ISO('X', 'K') = 383, ISO('Y', 'E') = 967,
    ISO('Y', 'T') = 262, ISO('Z', 'A') = 27,  ISO('Z', 'M') = 260, ISO('Z', 'W') = 263,
};
#undef ISO

static int upper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

/* Index into iso_table, or -1 when iso2 is not exactly two ASCII letters. */
static int iso_index(const char *iso2)
{
    if (!iso2)
        return -1;
    int a = upper((unsigned char)iso2[0]);
    if (a < 'A' || a > 'Z')
        return -1;
    int b = upper((unsigned char)iso2[1]);
    if (b < 'A' || b > 'Z' || iso2[2] != '\0')
        return -1;
    return (a - 'A') * 26 + (b - 'A');
}

int e164_country_calling_code(const char *iso2)
{
    int i = iso_index(iso2);
    return i < 0 ? 0 : iso_table[i];
}

int e164_cc_assigned(int cc)
{
    return cc > 0 && cc < 1000 && cc_table[cc];
}

const char *e164_strerror(int status)
{
    switch (status) {
    case E164_OK:
        return "ok";
    case E164_EMPTY:
        return "empty";
    case E164_BAD_CHARS:
        return "invalid characters";
    case E164_TOO_SHORT:
        return "too short";
    case E164_TOO_LONG:
        return "too long";
    case E164_BAD_COUNTRY:
        return "unknown country";
    case E164_BAD_NUMBER:
        return "not a valid number for its country";
    }
    return "invalid phone number";
}

const char *e164_reason_code(int status)
{
    switch (status) {
    case E164_OK:
        return "phone_ok";
    case E164_EMPTY:
        return "phone_empty";
    case E164_BAD_CHARS:
        return "phone_bad_chars";
    case E164_TOO_SHORT:
        return "phone_too_short";
    case E164_TOO_LONG:
        return "phone_too_long";
    case E164_BAD_COUNTRY:
        return "phone_bad_country";
    case E164_BAD_NUMBER:
        return "phone_bad_number";
    }
    return "phone_invalid";
}

/* National significant number produced by a country rule. */
struct nsn {
    char d[16];
    size_t n;
};

static int nsn_set(struct nsn *o, const char *d, size_t n)
{
    if (n >= sizeof o->d)
        return E164_TOO_LONG;
    memcpy(o->d, d, n);
    o->n = n;
    return E164_OK;
}

/* E164_TOO_SHORT, E164_TOO_LONG or E164_OK comparing n with the exact length want. */
static int want_len(size_t n, size_t want)
{
    return n < want ? E164_TOO_SHORT : n > want ? E164_TOO_LONG : E164_OK;
}

static int starts(const char *d, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(d, prefix, k) == 0;
}

/* Argentine 3-digit area codes; 11 is the only 2-digit one and the others have 4 digits. The
 * list is the one of libphonenumber's AR metadata (resources/PhoneNumberMetadata.xml, the
 * mobile pattern: 2(?:2[013]|3[067]|49|6[01346]|80|9[147-9])|3(?:36|4[12358]|5[138]|6[24]|
 * 7[069]|8[013578])). Where a 4-digit code begins like one of these (2202, 2972, 3435, ...),
 * its local number is 6 digits and the "15" search below still finds it. */
static const uint8_t ar_area3_table[1000] = {
    [220] = 1, [221] = 1, [223] = 1, [230] = 1, [236] = 1, [237] = 1, [249] = 1, [260] = 1,
    [261] = 1, [263] = 1, [264] = 1, [266] = 1, [280] = 1, [291] = 1, [294] = 1, [297] = 1,
    [298] = 1, [299] = 1, [336] = 1, [341] = 1, [342] = 1, [343] = 1, [345] = 1, [348] = 1,
    [351] = 1, [353] = 1, [358] = 1, [362] = 1, [364] = 1, [370] = 1, [376] = 1, [379] = 1,
    [380] = 1, [381] = 1, [383] = 1, [385] = 1, [387] = 1, [388] = 1,
};

static int ar_area3(const char *d)
{
    return ar_area3_table[(d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0')];
}

/* +54 9 <area><subscriber>, 10 digits after the 9. Input may carry the trunk 0, the mobile 9
 * (in either order) and the "15" mobile prefix after the area code. */
static int rule_ar(const char *d, size_t n, int national, struct nsn *o)
{
    if (national && n >= 10 && d[0] == '5') {
        /* Area codes start with 1-3: a leading 54 is the country code typed without '+'. */
        if (n >= 12 && d[1] == '4')
            return rule_ar(d + 2, n - 2, 0, o);
        return E164_BAD_NUMBER;
    }
    int seen0 = 0, seen9 = 0;
    for (;;) {
        if (n && d[0] == '0' && !seen0) {
            seen0 = 1;
        } else if (n && d[0] == '9' && !seen9) {
            seen9 = 1;
        } else {
            break;
        }
        d++;
        n--;
    }
    if (n < 10)
        return E164_TOO_SHORT;
    if (n > 12)
        return E164_TOO_LONG;
    if (d[0] < '1' || d[0] > '3' || (d[0] == '1' && d[1] != '1'))
        return E164_BAD_NUMBER;

    char buf[10];
    if (n == 10) {
        memcpy(buf, d, 10);
    } else {
        /* Find the "15" right after the area code. Known 3-digit areas first, then the
         * 4-digit default, then an unlisted 3-digit area. */
        size_t at = 0;
        if (d[0] == '1') {
            if (d[2] == '1' && d[3] == '5')
                at = 2;
        } else if (ar_area3(d) && d[3] == '1' && d[4] == '5') {
            at = 3;
        } else if (d[4] == '1' && d[5] == '5') {
            at = 4;
        } else if (d[3] == '1' && d[4] == '5') {
            at = 3;
        }
        if (n == 11)
            return at ? E164_TOO_SHORT : E164_TOO_LONG;
        if (!at)
            return E164_TOO_LONG;
        memcpy(buf, d, at);
        memcpy(buf + at, d + at + 2, 10 - at);
    }
    o->d[0] = '9';
    memcpy(o->d + 1, buf, 10);
    o->n = 11;
    return E164_OK;
}

/* +52 and 10 digits. */
static int rule_mx(const char *d, size_t n, int national, struct nsn *o)
{
    if (national) {
        if (n == 13 && (starts(d, n, "044") || starts(d, n, "045"))) {
            d += 3;
            n -= 3;
        } else if (n == 12 && starts(d, n, "01")) {
            d += 2;
            n -= 2;
        } else if ((n == 12 || n == 13) && starts(d, n, "52")) {
            return rule_mx(d + 2, n - 2, 0, o);
        }
    } else if (n == 11 && d[0] == '1') {
        d++; /* the mobile "1" dropped by Mexico in 2019 */
        n--;
    }
    int r = want_len(n, 10);
    if (r)
        return r;
    if (d[0] < '2')
        return E164_BAD_NUMBER;
    return nsn_set(o, d, n);
}

/* +57 and 10 digits: mobiles 3..., landlines 60X + 7 digits. */
static int rule_co(const char *d, size_t n, int national, struct nsn *o)
{
    if (national && n == 12 && starts(d, n, "57"))
        return rule_co(d + 2, n - 2, 0, o);
    int r = want_len(n, 10);
    if (r)
        return r;
    if (d[0] == '3')
        return nsn_set(o, d, n);
    if (d[0] == '6' && d[1] == '0' && d[2] != '0' && d[2] != '3' && d[2] != '9')
        return nsn_set(o, d, n);
    return E164_BAD_NUMBER;
}

/* +34 and 9 digits starting with 6, 7, 8 or 9. */
static int rule_es(const char *d, size_t n, int national, struct nsn *o)
{
    if (national && n == 11 && starts(d, n, "34"))
        return rule_es(d + 2, n - 2, 0, o);
    int r = want_len(n, 9);
    if (r)
        return r;
    if (d[0] < '6')
        return E164_BAD_NUMBER;
    return nsn_set(o, d, n);
}

/* NANP: NXX NXX XXXX, neither the area code nor the exchange an N11 service code. */
static int rule_nanp(const char *d, size_t n, int national, struct nsn *o)
{
    if (national && n == 11 && d[0] == '1') {
        d++;
        n--;
    }
    int r = want_len(n, 10);
    if (r)
        return r;
    if (d[0] < '2' || (d[1] == '1' && d[2] == '1') || d[3] < '2' || (d[4] == '1' && d[5] == '1'))
        return E164_BAD_NUMBER;
    return nsn_set(o, d, n);
}

/* +56 and 9 digits (mobiles 9 + 8, landlines area + number), no leading 0 or 1. */
static int rule_cl(const char *d, size_t n, int national, struct nsn *o)
{
    if (national) {
        if (n == 11 && starts(d, n, "56"))
            return rule_cl(d + 2, n - 2, 0, o);
        if (n == 10 && d[0] == '0') {
            d++;
            n--;
        }
    }
    int r = want_len(n, 9);
    if (r)
        return r;
    if (d[0] < '2')
        return E164_BAD_NUMBER;
    return nsn_set(o, d, n);
}

/* +51: mobiles 9 + 8 digits; landlines 8 digits (Lima 1 + 7, provinces 4x-8x + 6). */
static int rule_pe(const char *d, size_t n, int national, struct nsn *o)
{
    if (national && (n == 10 || n == 11) && starts(d, n, "51"))
        return rule_pe(d + 2, n - 2, 0, o);
    if (n && d[0] == '0') {
        d++; /* trunk prefix of landlines, also seen as "+51 (01) ..." */
        n--;
    }
    if (n == 0)
        return E164_TOO_SHORT;
    int r;
    if (d[0] == '9')
        r = want_len(n, 9);
    else if (d[0] == '1' || (d[0] >= '4' && d[0] <= '8'))
        r = want_len(n, 8);
    else
        return E164_BAD_NUMBER;
    return r ? r : nsn_set(o, d, n);
}

/* +598 and 8 digits: mobiles 9x (written 09x nationally), landlines 2... and 4.... */
static int rule_uy(const char *d, size_t n, int national, struct nsn *o)
{
    if (national && n == 11 && starts(d, n, "598"))
        return rule_uy(d + 3, n - 3, 0, o);
    if (n == 9 && d[0] == '0') {
        d++;
        n--;
    }
    int r = want_len(n, 8);
    if (r)
        return r;
    if (d[0] != '2' && d[0] != '4' && d[0] != '9')
        return E164_BAD_NUMBER;
    return nsn_set(o, d, n);
}

/* Brazilian area codes (DDD). */
static const uint8_t br_ddd_table[100] = {
    [11] = 1, [12] = 1, [13] = 1, [14] = 1, [15] = 1, [16] = 1, [17] = 1, [18] = 1, [19] = 1,
    [21] = 1, [22] = 1, [24] = 1, [27] = 1, [28] = 1, [31] = 1, [32] = 1, [33] = 1, [34] = 1,
    [35] = 1, [37] = 1, [38] = 1, [41] = 1, [42] = 1, [43] = 1, [44] = 1, [45] = 1, [46] = 1,
    [47] = 1, [48] = 1, [49] = 1, [51] = 1, [53] = 1, [54] = 1, [55] = 1, [61] = 1, [62] = 1,
    [63] = 1, [64] = 1, [65] = 1, [66] = 1, [67] = 1, [68] = 1, [69] = 1, [71] = 1, [73] = 1,
    [74] = 1, [75] = 1, [77] = 1, [79] = 1, [81] = 1, [82] = 1, [83] = 1, [84] = 1, [85] = 1,
    [86] = 1, [87] = 1, [88] = 1, [89] = 1, [91] = 1, [92] = 1, [93] = 1, [94] = 1, [95] = 1,
    [96] = 1, [97] = 1, [98] = 1, [99] = 1,
};

static int br_ddd(const char *d)
{
    return br_ddd_table[(d[0] - '0') * 10 + (d[1] - '0')];
}

/* +55: 2-digit area (DDD) + 9-digit mobile (9...) or 8-digit landline (2-5...). Old 8-digit
 * mobiles (6-9...) get the ninth digit every Brazilian mobile has had since 2016. */
static int rule_br(const char *d, size_t n, int national, struct nsn *o)
{
    if (national) {
        if (n && d[0] == '0') {
            d++;
            n--;
            if (n == 12 || n == 13) {
                d += 2; /* carrier selection code: 0 XX DDD number */
                n -= 2;
            }
        } else if ((n == 12 || n == 13) && starts(d, n, "55")) {
            return rule_br(d + 2, n - 2, 0, o);
        }
    } else if (n && d[0] == '0') {
        d++;
        n--;
    }
    if (n < 10)
        return E164_TOO_SHORT;
    if (n > 11)
        return E164_TOO_LONG;
    if (!br_ddd(d))
        return E164_BAD_NUMBER;
    if (n == 11)
        return d[2] == '9' ? nsn_set(o, d, n) : E164_BAD_NUMBER;
    if (d[2] >= '2' && d[2] <= '5')
        return nsn_set(o, d, n);
    if (d[2] < '6')
        return E164_BAD_NUMBER;
    o->d[0] = d[0];
    o->d[1] = d[1];
    o->d[2] = '9';
    memcpy(o->d + 3, d + 2, 8);
    o->n = 11;
    return E164_OK;
}

/* Countries without specific rules: drop the national trunk prefix, keep the rest. */
static int rule_generic(const char *d, size_t n, int national, int iso, struct nsn *o)
{
#define ISOI(a, b) (((a) - 'A') * 26 + ((b) - 'A'))
    if (national) {
        if (iso == ISOI('I', 'T') || iso == ISOI('S', 'M') || iso == ISOI('V', 'A') ||
            iso == ISOI('C', 'I')) {
            /* the leading 0 is part of the number there */
        } else if ((iso == ISOI('R', 'U') || iso == ISOI('K', 'Z')) && n == 11 && d[0] == '8') {
            d++;
            n--;
        } else if (iso == ISOI('H', 'U') && starts(d, n, "06")) {
            d += 2;
            n -= 2;
        } else if (n && d[0] == '0') {
            d++;
            n--;
        }
    }
#undef ISOI
    if (n == 0)
        return E164_TOO_SHORT;
    return nsn_set(o, d, n);
}

static int apply_rule(int cc, int iso, const char *d, size_t n, int national, struct nsn *o)
{
    switch (cc) {
    case 1:
        return rule_nanp(d, n, national, o);
    case 34:
        return rule_es(d, n, national, o);
    case 51:
        return rule_pe(d, n, national, o);
    case 52:
        return rule_mx(d, n, national, o);
    case 54:
        return rule_ar(d, n, national, o);
    case 55:
        return rule_br(d, n, national, o);
    case 56:
        return rule_cl(d, n, national, o);
    case 57:
        return rule_co(d, n, national, o);
    case 598:
        return rule_uy(d, n, national, o);
    }
    return rule_generic(d, n, national, iso, o);
}

/* Length of an ignorable non-ASCII separator at p (no-break spaces, Unicode dashes), else 0. */
static size_t unicode_sep(const unsigned char *p, const unsigned char *end)
{
    size_t left = (size_t)(end - p);
    if (left >= 2 && p[0] == 0xC2 && p[1] == 0xA0) /* U+00A0 no-break space */
        return 2;
    if (left >= 3 && p[0] == 0xE2 && p[1] == 0x80 &&
        ((p[2] >= 0x90 && p[2] <= 0x95) || p[2] == 0x87 || p[2] == 0xAF))
        return 3; /* U+2010-2015 dashes, U+2007 figure space, U+202F narrow no-break space */
    if (left >= 3 && p[0] == 0xE2 && p[1] == 0x88 && p[2] == 0x92) /* U+2212 minus */
        return 3;
    return 0;
}

/* What the scan of a written number keeps: its digits, a leading '+', and a "(0)" trunk
 * prefix written after the country code. */
struct scan {
    char dig[SCAN_MAX];
    size_t nd;       /* digits seen (may exceed SCAN_MAX) */
    int plus;        /* a '+' before the first digit */
    int trunk_paren; /* "+CC (0) ...": drop that 0 */
    size_t trunk_at;
};

/* Reads the digits of [p, end), skipping the separators people write. Returns 0 or
 * E164_BAD_CHARS. */
static int scan_number(const unsigned char *p, const unsigned char *end, struct scan *sc)
{
    char *dig = sc->dig;
    size_t nd = 0;
    int plus = 0;
    size_t paren_at = 0; /* nd when the current '(' opened */
    int in_paren = 0;
    int trunk_paren = 0;
    size_t trunk_at = 0;
    while (p < end) {
        unsigned c = *p;
        if (c >= '0' && c <= '9') {
            if (nd < SCAN_MAX)
                dig[nd] = (char)c;
            nd++;
            p++;
            continue;
        }
        switch (c) {
        case ' ':
        case '\t':
        case '-':
        case '.':
            break;
        case '(':
            in_paren = 1;
            paren_at = nd;
            break;
        case ')':
            if (in_paren && !trunk_paren && nd == paren_at + 1 && nd <= SCAN_MAX &&
                dig[nd - 1] == '0') {
                trunk_paren = 1;
                trunk_at = nd - 1;
            }
            in_paren = 0;
            break;
        case '+':
            if (plus || nd)
                return E164_BAD_CHARS;
            plus = 1;
            break;
        default: {
            size_t k = c >= 0x80 ? unicode_sep(p, end) : 0;
            if (!k)
                return E164_BAD_CHARS;
            p += k;
            continue;
        }
        }
        p++;
    }

    sc->nd = nd;
    sc->plus = plus;
    sc->trunk_paren = trunk_paren;
    sc->trunk_at = trunk_at;
    return 0;
}

int e164_normalize(const char *in, size_t len, const char *default_country, char out[E164_MAX + 1])
{
    out[0] = '\0';
    if (!in || len == 0)
        return E164_EMPTY;

    const unsigned char *p = (const unsigned char *)in, *end = p + len;
    while (p < end) {
        size_t k = (*p == ' ' || *p == '\t') ? 1 : unicode_sep(p, end);
        if (!k)
            break;
        p += k;
    }
    if (end - p >= 4 && upper(p[0]) == 'T' && upper(p[1]) == 'E' && upper(p[2]) == 'L' &&
        p[3] == ':')
        p += 4;

    struct scan sc;
    if (scan_number(p, end, &sc))
        return E164_BAD_CHARS;
    char *dig = sc.dig;
    size_t nd = sc.nd;
    int plus = sc.plus, trunk_paren = sc.trunk_paren;
    size_t trunk_at = sc.trunk_at;

    if (nd == 0)
        return plus ? E164_TOO_SHORT : E164_EMPTY;
    if (nd > SCAN_MAX)
        return E164_TOO_LONG;
    const char *d = dig;
    size_t n = nd;
    int iso = iso_index(default_country);
    int dcc = iso < 0 ? 0 : iso_table[iso];
    int intl = plus;
    if (!intl && n >= 2 && d[0] == '0' && d[1] == '0') {
        intl = 1;
        d += 2;
        n -= 2;
    } else if (!intl && dcc == 1 && n >= 3 && d[0] == '0' && d[1] == '1' && d[2] == '1') {
        intl = 1; /* NANP international access code */
        d += 3;
        n -= 3;
    }

    int cc;
    struct nsn o;
    int r;
    if (intl) {
        if (n < 8)
            return E164_TOO_SHORT;
        size_t cl = 0;
        cc = 0;
        for (size_t k = 1; k <= 3 && d[0] != '0'; k++) {
            int v = 0;
            for (size_t i = 0; i < k; i++)
                v = v * 10 + (d[i] - '0');
            if (cc_table[v]) {
                cc = v;
                cl = k;
                break;
            }
        }
        if (!cc)
            return E164_BAD_COUNTRY;
        size_t off = (size_t)(d - dig) + cl;
        if (trunk_paren && trunk_at == off && cc != 39 && cc != 378) {
            /* "+44 (0)20 ...": the trunk prefix written for domestic callers (Italy and San
             * Marino keep their 0 in international form) */
            memmove(dig + trunk_at, dig + trunk_at + 1, nd - trunk_at - 1);
            n--;
        }
        r = apply_rule(cc, -1, d + cl, n - cl, 0, &o);
    } else {
        if (!dcc)
            return E164_BAD_COUNTRY;
        cc = dcc;
        r = apply_rule(cc, iso, d, n, 1, &o);
    }
    if (r)
        return r;

    char ccs[4];
    size_t cl = 0;
    if (cc >= 100)
        ccs[cl++] = (char)('0' + cc / 100);
    if (cc >= 10)
        ccs[cl++] = (char)('0' + cc / 10 % 10);
    ccs[cl++] = (char)('0' + cc % 10);
    if (cl + o.n < 8)
        return E164_TOO_SHORT;
    if (cl + o.n > 15)
        return E164_TOO_LONG;
    out[0] = '+';
    memcpy(out + 1, ccs, cl);
    memcpy(out + 1 + cl, o.d, o.n);
    out[1 + cl + o.n] = '\0';
    return E164_OK;
}
