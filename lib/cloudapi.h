/* WhatsApp Cloud API: send requests, send answers, error handling, template listings and
   previews (docs: docs/cloud-api.md). JSON through json-c; no I/O here. One header for the
   parts: cloudapi_request.c, cloudapi_answer.c, cloudapi_errors.c, cloudapi_template.c (and
   cloudapi.c, their shared helpers). */
#ifndef PREGON_CLOUDAPI_H
#define PREGON_CLOUDAPI_H

#include <stddef.h>
#include <stdint.h>

/* ---- Send request (spec §1) ---------------------------------------------------------- */

enum cloudapi_ptype {
    CLOUDAPI_P_TEXT,     /* {"type":"text","text":v}: header/body text, URL button suffix */
    CLOUDAPI_P_IMAGE,    /* {"type":"image","image":{"link":v}}: media header */
    CLOUDAPI_P_DOCUMENT, /* {"type":"document","document":{"link":v}} */
    CLOUDAPI_P_VIDEO,    /* {"type":"video","video":{"link":v}} */
    CLOUDAPI_P_PAYLOAD,  /* {"type":"payload","payload":v}: quick_reply button */
    CLOUDAPI_P_COUPON    /* {"type":"coupon_code","coupon_code":v}: copy_code button */
};
struct cloudapi_param {
    enum cloudapi_ptype type;
    const char *name; /* NULL = positional; else adds "parameter_name" (text params only) */
    const char *value;
};

enum cloudapi_ctype { CLOUDAPI_C_HEADER, CLOUDAPI_C_BODY, CLOUDAPI_C_BUTTON };
struct cloudapi_component {
    enum cloudapi_ctype type;
    const char *sub_type; /* buttons only: "url", "quick_reply" or "copy_code" */
    int index;            /* buttons only: position of the button in the template, 0..9 */
    const struct cloudapi_param *params;
    size_t nparams;
};

struct cloudapi_message {
    const char *to;            /* E.164 with '+', e.g. "+5493875551234" */
    const char *template_name; /* e.g. "promo_marzo" */
    const char *language;      /* e.g. "es_AR" */
    const struct cloudapi_component *components;
    size_t ncomponents;
    const char *callback_data; /* biz_opaque_callback_data, NULL/"" = none; <= 512 bytes */
};

#define CLOUDAPI_CALLBACK_MAX 512

/* Builds the POST /{phone-number-id}/messages body for a template message. Checks what
   would certainly be rejected (malformed `to`, name or language, a parameter type that does
   not fit its component, empty or non-UTF-8 values, duplicate components, mixed named and
   positional parameters, callback data over 512 bytes) and then returns NULL with a message
   in err. On success returns a malloc'd NUL-terminated JSON text the caller frees, and its
   length in *len (len may be NULL). */
char *cloudapi_message_json(const struct cloudapi_message *m, size_t *len, char *err,
                            size_t errlen);

/* Builds the body of a free-form text message (a customer-service answer, allowed only while
   the person's 24-hour window is open): to as above, body 1 to 4096 characters of UTF-8,
   reply_to the wamid it answers (shown quoted) or NULL. Returns a malloc'd JSON text the
   caller frees (its length in *len, may be NULL), or NULL with a message in err. */
#define CLOUDAPI_TEXT_MAX 4096
char *cloudapi_text_json(const char *to, const char *body, const char *reply_to, size_t *len,
                         char *err, size_t errlen);

/* ---- Error actions (spec §2) --------------------------------------------------------- */

enum cloudapi_action {
    CLOUDAPI_ACT_NONE,              /* accepted: nothing to do */
    CLOUDAPI_ACT_RETRY,             /* transient: retry with backoff, bounded attempts */
    CLOUDAPI_ACT_RETRY_THROTTLE,    /* 130429: retry and slow the phone number down */
    CLOUDAPI_ACT_RETRY_PAIR,        /* 131056: retry this recipient after 4^n s */
    CLOUDAPI_ACT_RETRY_24H,         /* 131049: retry no sooner than 24 h */
    CLOUDAPI_ACT_RETRY_MAINTENANCE, /* 131057: retry in minutes */
    CLOUDAPI_ACT_FAIL,              /* permanent for this recipient */
    CLOUDAPI_ACT_OPTOUT,            /* 131050: record the opt-out, never retry */
    CLOUDAPI_ACT_INVALID_NUMBER,    /* 131026: mark the number invalid */
    CLOUDAPI_ACT_FAIL_PARAM,        /* 100, 132000, 132012: fail; pause campaign if repeating */
    CLOUDAPI_ACT_PAUSE_CAMPAIGN,    /* template problem: 132001/5/7, 132015, 131064 */
    CLOUDAPI_ACT_STOP_CAMPAIGN,     /* 132016: template disabled for good */
    CLOUDAPI_ACT_PAUSE_NUMBER,      /* 131048: pause every campaign of the phone number */
    CLOUDAPI_ACT_STOP_ACCOUNT,      /* 190, 0, 3, 10, 200-299, 368, 131031, 131042 */
    CLOUDAPI_ACT_STOP_NUMBER        /* 133010, 131045 */
};

/* Codes Meta never uses, for answers that carry no Graph API error (Meta's own code 0 is an
   authentication error, so 0 cannot mean "no code"). Both classify as RETRY. */
enum {
    CLOUDAPI_CODE_NO_ANSWER = -1,  /* http_status 0: network failure, timeout, refused */
    CLOUDAPI_CODE_BAD_ANSWER = -2, /* an HTTP answer that is not a Graph API answer */
};
/* http_status to pass to cloudapi_classify() for codes from failed status webhooks. */
#define CLOUDAPI_HTTP_WEBHOOK (-1L)

/* What a bulk sender does about error `code` received with `http_status` (spec §2; decided
   on the code, never the text). Unknown codes: RETRY when http_status is 0, 408, 429 or
   5xx, FAIL otherwise (including CLOUDAPI_HTTP_WEBHOOK). Code 0 is Meta's auth error
   (STOP_ACCOUNT) except with http_status 0 or 5xx, where it can only be a missing code. */
enum cloudapi_action cloudapi_classify(int code, long http_status);

/* Whether a recipient that failed with `code` (from a status webhook or the last answer) may
 * be sent again by "retry failed": not opt-outs, numbers not on WhatsApp, templates disabled
 * for good or other permanent failures. One rule for the retry action, the campaign's
 * "retryable" count the panel offers the action on, and failed.csv's can_retry. */
int cloudapi_retryable(int code);

/* Stable lowercase name ("retry_throttle", "stop_account", ...) for logs and the database;
   "unknown" for values outside the enum. Never NULL, static storage. */
const char *cloudapi_action_name(enum cloudapi_action a);

/* Plain-language explanation of `code` and what the operator should do, in Spanish (lang
   NULL, "es", anything else) or English (lang starting with "en"). Never NULL, static. */
const char *cloudapi_explain(int code, const char *lang);

/* Milliseconds to wait before retry attempt `attempt` (1-based; < 1 counts as 1) for a
   retry action; `random` is any uniform 32-bit value (randombytes_random()). RETRY and
   RETRY_THROTTLE: exponential with full jitter and a floor, capped (30 min / 5 min);
   RETRY_MAINTENANCE: from 1 min, capped at 30 min; RETRY_PAIR: 4^attempt s (exponent
   capped at 7) plus up to 25% more; RETRY_24H: 24 h plus up to 1 h. Returns -1 for
   actions that must not be retried. */
long cloudapi_retry_delay_ms(enum cloudapi_action a, int attempt, uint32_t random);

/* ---- Send answer --------------------------------------------------------------------- */

struct cloudapi_result {
    int accepted;                /* 1: Meta took the message (not yet delivered) */
    int held;                    /* accepted with message_status held_for_quality_assessment */
    long http_status;            /* as given; 0 = no HTTP answer */
    int code;                    /* Graph API error code; CLOUDAPI_CODE_* when there was none */
    enum cloudapi_action action; /* cloudapi_classify(code, http_status); NONE if accepted */
    char wamid[160];             /* messages[0].id when accepted */
    char wa_id[32];              /* contacts[0].wa_id, may be "" */
    char message[256];           /* error.message, for logs */
    char details[512];           /* error.error_data.details, or our description of a bad answer */
    char fbtrace_id[64];
};

/* Interprets the answer to a send: HTTP status plus raw body (need not be NUL-terminated;
   body may be NULL when len is 0). For a network failure pass http_status 0 and, if you
   like, curl's error text as body: it goes into details. Always fills *r (strings are
   truncated on a UTF-8 boundary). Returns 0 when the body was a Graph API answer (success
   or error), -1 when r was synthesized (no answer, empty, not JSON, unexpected shape,
   over 1 MiB), with code CLOUDAPI_CODE_NO_ANSWER/BAD_ANSWER and action RETRY. */
int cloudapi_parse_send(long http_status, const char *body, size_t len, struct cloudapi_result *r);

/* ---- Templates (spec §5) ------------------------------------------------------------- */

struct cloudapi_template {
    char *id, *name, *language, *status, *category; /* status/category "" when absent */
    int named;        /* parameter_format NAMED (absent = POSITIONAL) */
    char *components; /* the components array as compact JSON text, "[]" when absent */
};
struct cloudapi_template_page {
    struct cloudapi_template *items;
    size_t n;
    size_t skipped; /* entries left out: missing/invalid id, name or language, wrong types */
    char *next;     /* paging.next, or NULL on the last page. Untrusted: check it starts with
                       the configured Graph API base before sending the token there. */
};

/* Parses one page of GET /{waba}/message_templates. Returns 0 and fills *page (free with
   cloudapi_template_page_free even if n is 0), or -1 with err set and *page empty when the
   body is not such a page (not JSON, no "data" array, an "error" answer, over 32 MiB). */
int cloudapi_parse_templates(const char *body, size_t len, struct cloudapi_template_page *page,
                             char *err, size_t errlen);
void cloudapi_template_page_free(struct cloudapi_template_page *page);

/* One value a template needs when sent: a placeholder ({{1}}, {{first_name}}) in HEADER or
   BODY text or at the end of a URL button, a media header link, or a copy_code coupon. */
struct cloudapi_slot {
    enum cloudapi_ctype component; /* HEADER, BODY or BUTTON */
    int index;                     /* position among the template's buttons, else 0 */
    enum cloudapi_ptype type;      /* TEXT, IMAGE, DOCUMENT, VIDEO or COUPON */
    char name[64];                 /* "1", "2"... or "first_name"; "" for media and coupons */
};
struct cloudapi_slots {
    struct cloudapi_slot *v; /* header slots, then body (in number order or order of first
                                appearance), then buttons in index order */
    size_t n;
    int named; /* the text placeholders are named (URL buttons are always {{1}}) */
};

/* Lists the values a template's components (JSON text as stored) need. Checks that every
   placeholder is well-formed ("{{" digits-without-leading-zero or [a-z_][a-z0-9_]{0,62}
   "}}"), positional ones are 1..k without gaps in each component, named and positional are
   not mixed, URL buttons have at most one placeholder at the very end; unsupported
   components/formats (CAROUSEL, LOCATION header, OTP/FLOW buttons...) are errors. Returns 0
   (free out with cloudapi_slots_free) or -1 with err set and *out empty. */
int cloudapi_template_slots(const char *components_json, struct cloudapi_slots *out, char *err,
                            size_t errlen);
void cloudapi_slots_free(struct cloudapi_slots *s);

/* Builds the send request for a template from its slots and values[i] for slot v[i]
   (m->components, if any, are appended after them, e.g. quick_reply payloads). Same
   checks and ownership as cloudapi_message_json; a missing value names its slot. */
char *cloudapi_slots_message_json(const struct cloudapi_message *m, const struct cloudapi_slots *s,
                                  const char *const *values, size_t nvalues, size_t *len, char *err,
                                  size_t errlen);

/* ---- Prepared send requests ----------------------------------------------------------- */

/* A send request laid out once (a campaign's template, language and parameters) and filled
   in for each recipient: the same JSON as cloudapi_message_json builds, made of the fixed
   text between the values and each value escaped into place, with no JSON tree per
   message. Fill it from one thread at a time (it keeps a scratch string for escaping). */
struct cloudapi_cut {
    size_t at, end; /* text[at, end) is the placeholder of ... */
    size_t what;    /* 0: to, 1: callback data, 2 + i: value i */
};
struct cloudapi_prepared {
    char *text; /* the message as built with placeholders */
    size_t text_len;
    struct cloudapi_cut *cuts; /* nvalues + 2, in the order they appear in text */
    enum cloudapi_ptype *type; /* of each value, for its checks */
    size_t nvalues;
    void *scratch; /* json-c string object reused for escaping */
};

/* Lays out m (its to, callback_data and parameter values are ignored: m->callback_data must
   be non-NULL and non-empty, as every request then carries one) with the checks of
   cloudapi_message_json that depend on the layout alone. Values are numbered in component
   order, then parameter order. Returns 0 (free p with cloudapi_prepared_free) or -1 with err
   set and *p empty. */
int cloudapi_prepare(const struct cloudapi_message *m, struct cloudapi_prepared *p, char *err,
                     size_t errlen);
/* The same for a template's slots (values numbered as the slots), as
   cloudapi_slots_message_json lays them out; m->components (quick_reply payloads, say) are
   kept with the values they have. */
int cloudapi_prepare_slots(const struct cloudapi_message *m, const struct cloudapi_slots *s,
                           struct cloudapi_prepared *p, char *err, size_t errlen);
/* The request for one recipient: the per-value checks of cloudapi_message_json (to is E.164,
   the callback data at most 512 bytes of UTF-8, each value non-empty valid UTF-8, media links
   http(s)); a missing value names its position. Returns a malloc'd NUL-terminated JSON text
   the caller frees (its length in *len, may be NULL), or NULL with err set. */
char *cloudapi_prepared_json(struct cloudapi_prepared *p, const char *to, const char *callback_data,
                             const char *const *values, size_t nvalues, size_t *len, char *err,
                             size_t errlen);
void cloudapi_prepared_free(struct cloudapi_prepared *p);

/* Replaces every {{x}} in text with its value: names NULL = positional ({{k}} takes
   values[k-1]), else {{x}} takes values[i] where names[i] is "x". A placeholder without a
   non-empty value, or a malformed one, is an error naming it. Values are inserted as they
   are (never expanded again). Returns a malloc'd string the caller frees, or NULL with err
   set. */
char *cloudapi_render_text(const char *text, const char *const *values, const char *const *names,
                           size_t n, char *err, size_t errlen);

/* What the recipient reads. All strings malloc'd, NULL when the part does not exist. */
struct cloudapi_preview_button {
    char *text; /* the label */
    char *url;  /* URL buttons: the URL with its suffix filled in; else NULL */
};
struct cloudapi_preview {
    const char *header_format; /* NULL (no header), "text", "image", "document", "video" */
    char *header;              /* rendered header text, or the media link */
    char *body;
    char *footer;
    struct cloudapi_preview_button *buttons;
    size_t nbuttons;
};

/* Renders a template (components JSON text as stored) with values[i] for slot i of
   cloudapi_template_slots() of the same JSON. Returns 0 (free p with cloudapi_preview_free)
   or -1 with err set and *p empty. */
int cloudapi_render_preview(const char *components_json, const char *const *values, size_t nvalues,
                            struct cloudapi_preview *p, char *err, size_t errlen);
void cloudapi_preview_free(struct cloudapi_preview *p);

#endif
