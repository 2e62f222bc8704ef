/* pregon-sandbox: a local stand-in for Meta's WhatsApp Cloud API (Graph API), with webhooks,
 * error injection and recording for tests. See docs/sandbox.md and
 * docs/cloud-api.md (the shapes it must speak). */
#ifndef PREGON_SANDBOX_H
#define PREGON_SANDBOX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct MHD_Connection;

#define SB_VERSION          "1.0"
#define SB_MAX_PHONES       16
#define SB_ID_MAX           32         /* phone number ids, WABA ids, display numbers */
#define SB_SEND_BODY_MAX    (1u << 20) /* Graph requests */
#define SB_CONTROL_BODY_MAX (8u << 20) /* control API (webhook bodies reach 3 MB at Meta) */
#define SB_CALLBACK_MAX     512        /* biz_opaque_callback_data */
#define SB_WAMID_LEN        29         /* "wamid." + 22 base64url chars + NUL */
#define SB_MAX_STATUSES     3

/* ---- options (main.c): fixed after start-up, read freely by every thread ---------------- */

enum sb_status { SB_ST_SENT, SB_ST_DELIVERED, SB_ST_READ, SB_ST_FAILED };

struct sb_phone {
    char id[SB_ID_MAX];
    char display[SB_ID_MAX];
};

struct sb_opts {
    char *listen; /* "host:port" as given */
    char *webhook_url;
    char *app_secret;
    char *access_token;
    char waba_id[SB_ID_MAX];
    struct sb_phone phones[SB_MAX_PHONES];
    int nphones;
    unsigned threads;
    unsigned latency_ms;
    unsigned rate_limit;
    unsigned webhook_delay_ms;
    uint8_t statuses[SB_MAX_STATUSES];
    int nstatuses;
    unsigned webhook_workers;
    unsigned webhook_queue_max; /* messages with webhooks still to post */
    unsigned webhook_tries;
    bool record_requests;
    bool strict_components;
    char *log_path;
    char *pid_file;
};

extern struct sb_opts sb_opts;
extern uint64_t sb_started_ms; /* monotonic */

/* Index of a configured phone number id, or -1. */
int sb_phone_find(const char *id);

/* ---- util.c ----------------------------------------------------------------------------- */

uint64_t sb_mono_ms(void);
uint64_t sb_wall_ms(void);
void sb_log_open(const char *path); /* NULL = stderr */
void sb_log_close(void);
void sb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a whole decimal unsigned number into *out (<= max). Returns 0 or -1. */
int sb_parse_uint(const char *s, unsigned long long max, unsigned long long *out);
/* Checks Meta's `to` rule (optional '+', then 8-15 digits) and packs the digits as the
 * decimal number "1<digits>" so they fit in 64 bits with leading zeros kept. 0 = invalid. */
uint64_t sb_msisdn_pack(const char *to);
/* Writes the digits packed by sb_msisdn_pack into out (>= 17 bytes). */
void sb_msisdn_unpack(uint64_t packed, char *out, size_t outlen);
/* Random base64url text of n random bytes into out (>= 2n). */
void sb_random_id(char *out, size_t outlen, size_t n);
/* json-c object -> malloc'd compact text (caller frees); puts obj. NULL on OOM. */
char *sb_json_take_text(json_object *obj, size_t *len);
/* Typed getters: NULL / -1 when absent or of another type. */
const char *sb_json_str(json_object *obj, const char *key);
int sb_json_bool(json_object *obj, const char *key, bool *out); /* 0 ok, 1 absent, -1 bad */
int sb_json_uint(json_object *obj, const char *key, unsigned long long max,
                 unsigned long long *out); /* same */

/* ---- server.c: HTTP glue ---------------------------------------------------------------- */

struct sb_req {
    const char *method;
    const char *url;  /* path only, no query */
    const char *body; /* NUL-terminated; body_len excludes the NUL */
    size_t body_len;
    struct MHD_Connection *conn;
    bool loopback;
};

struct sb_reply {
    bool reset; /* no answer: the connection is reset (after delay_ms) */
    unsigned status;
    char *body; /* malloc'd, owned by the reply */
    size_t len;
    const char *ctype;
    unsigned delay_ms; /* answer this much later without holding a thread */
};

const char *sb_req_header(const struct sb_req *rq, const char *name);
const char *sb_req_arg(const struct sb_req *rq, const char *name);
void sb_reply_take(struct sb_reply *rp, unsigned status, char *body, size_t len);
/* Serializes and puts obj. */
void sb_reply_json(struct sb_reply *rp, unsigned status, json_object *obj);
/* {"error":"<msg>"} for the control API. */
void sb_reply_plain_error(struct sb_reply *rp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Meta-shaped error; details NULL = the code's default details. */
void sb_reply_meta_error(struct sb_reply *rp, int code, const char *details);

int sb_server_start(void);
void sb_server_stop(void);

/* ---- errors.c: Meta error codes ------------------------------------------------------- */

struct sb_meta_error {
    int code;
    const char *title;
    const char *details;
};

/* Always returns an entry (a generic one for unknown codes). */
const struct sb_meta_error *sb_error_lookup(int code);
unsigned sb_error_http_status(int code);
/* {"error":{...}} body, malloc'd (caller frees). */
char *sb_error_body(int code, const char *details, size_t *len);
/* One entry of a failed status's errors[] (new object). */
json_object *sb_error_webhook_obj(int code);

/* ---- templates.c: seeded catalogue --------------------------------------------------- */

enum sb_hdr_fmt { SB_HDR_NONE, SB_HDR_TEXT, SB_HDR_IMAGE, SB_HDR_VIDEO, SB_HDR_DOCUMENT };
enum sb_btn_type { SB_BTN_QUICK_REPLY, SB_BTN_URL, SB_BTN_PHONE, SB_BTN_COPY_CODE };

#define SB_TMPL_MAX_PARAMS  8
#define SB_TMPL_MAX_BUTTONS 3

struct sb_button {
    enum sb_btn_type type;
    const char *text;
    const char *value;   /* url / phone number / copy code example */
    const char *example; /* example of the full URL for a dynamic URL */
};

struct sb_template {
    const char *id, *name, *language, *status, *category;
    bool named;
    enum sb_hdr_fmt header;
    const char *header_text;    /* TEXT headers */
    const char *header_example; /* one example value (text param or media handle) */
    const char *body;
    const char *body_examples[SB_TMPL_MAX_PARAMS];
    const char *footer;
    struct sb_button buttons[SB_TMPL_MAX_BUTTONS];
    int nbuttons;
    /* derived from the texts at start-up */
    int header_params;
    int body_params;
    char body_names[SB_TMPL_MAX_PARAMS][32]; /* NAMED: in order of first appearance */
    char header_names[SB_TMPL_MAX_PARAMS][32];
    size_t body_fixed_len; /* characters of the body outside its placeholders */
    bool button_dynamic[SB_TMPL_MAX_BUTTONS];
};

int sb_tmpl_init(void);
int sb_tmpl_count(void);
const struct sb_template *sb_tmpl_get(int idx);
/* Index of name+language, or -1; *name_seen tells whether the name exists in any language. */
int sb_tmpl_find(const char *name, const char *language, bool *name_seen);
/* The template as Meta lists it, restricted to a comma-separated field list (NULL = all). */
json_object *sb_tmpl_json(const struct sb_template *t, const char *fields);

/* ---- config.c: runtime configuration (control API) ----------------------------------- */

struct sb_send_cfg {
    unsigned latency_ms;
    unsigned latency_jitter_ms; /* each send: latency_ms +- up to this, uniformly */
    unsigned rate_limit;
    bool webhooks; /* enabled and a URL is set */
    unsigned webhook_delay_ms;
    uint8_t statuses[SB_MAX_STATUSES];
    int nstatuses;
    bool record_requests;
    bool strict_components;
};

int sb_cfg_init(void);
void sb_cfg_reset(void);
void sb_cfg_free(void);
void sb_cfg_snapshot(struct sb_send_cfg *out);
/* Network faults (config `faults` and errors[].fault): what happens around acceptance. */
enum sb_fault {
    SB_FAULT_NONE,
    SB_FAULT_ACCEPT_RESET, /* accepted, then the connection is reset without an answer */
    SB_FAULT_ACCEPT_502,   /* accepted, then a gateway's HTML 502 */
    SB_FAULT_ACCEPT_LATE,  /* accepted, answered after late_ms */
    SB_FAULT_PRE_502,      /* a gateway's HTML 502, nothing accepted */
    SB_FAULT_PRE_RESET,    /* reset after reading the request, nothing accepted */
};
/* Injected error for this recipient (packed digits), consuming one `times`; 0 = none.
 * *fault: a network fault to apply as well (SB_FAULT_NONE = none), *late_ms its delay. */
int sb_cfg_pick_error(uint64_t to_packed, bool *async, int *fault, unsigned *late_ms);
/* Webhook faults: percent of messages whose statuses are posted twice, the copy shuffled. */
double sb_cfg_webhook_dup_percent(void);
/* Webhook retries: tries per status and the longest backoff (runtime, config). */
void sb_cfg_webhook_retry(unsigned *tries, unsigned *backoff_max_ms);
/* Validates everything first, then applies; -1 with err on bad input (nothing applied). */
int sb_cfg_apply(json_object *in, char *err, size_t errlen);
/* Template pacing (config "pacing"): whether sends of this template are held for a quality
 * assessment, and for how long their first status waits (*hold_ms). */
#define SB_PACING_NAME_MAX 512
bool sb_cfg_pacing(const char *template_name, unsigned *hold_ms);
json_object *sb_cfg_json(void);
/* Current webhook URL and app secret, malloc'd copies (caller frees both). */
void sb_cfg_webhook_target(char **url, char **secret);
const char *sb_status_name(enum sb_status st);
int sb_status_parse(const char *s); /* sent/delivered/read, -1 otherwise */

/* ---- store.c: what was accepted ------------------------------------------------------ */

struct sb_accept {
    uint64_t wamid_ctr;
    int phone_idx;
    int tmpl_idx;
    uint64_t to_packed;
    bool to_plus;         /* `to` was sent with a leading '+' */
    const char *callback; /* NULL = none */
    size_t callback_len;
    const char *request; /* NULL = not recorded */
    size_t request_len;
    int async_error;
};

int sb_store_init(void);
void sb_store_reset(void);
void sb_store_free(void);
uint64_t sb_store_next_wamid(void);
void sb_store_wamid(uint64_t ctr, char out[SB_WAMID_LEN]);
/* Per phone number sliding one-second window: 0 = may send (counted), -1 = over limit. */
int sb_store_rate_take(int phone_idx, unsigned limit);
/* Records an accepted message; returns its seq. */
uint64_t sb_store_accept(const struct sb_accept *a);
void sb_store_count_rejected(void);
void sb_store_count_rate_limited(void);
void sb_store_count_fault(int fault);
void sb_store_stats(json_object *into);
/* {"messages":[...],"next_after":N}; to = recipient digits filter or NULL. */
json_object *sb_store_messages_json(uint64_t after, unsigned limit, const char *to);

/* ---- webhooks.c: status events -------------------------------------------------------- */

struct sb_wh_new {
    uint64_t wamid_ctr;
    int phone_idx;
    uint64_t to_packed;
    const char *callback; /* copied */
    size_t callback_len;
    const char *category; /* template category, for pricing */
    int fail_code;        /* != 0: one `failed` status with this error */
    const uint8_t *statuses;
    int nstatuses;
    unsigned delay_ms;
};

int sb_wh_start(void);
void sb_wh_schedule(const struct sb_wh_new *m);
void sb_wh_reset(void);
/* Posts what is pending (ignoring delays, one try each) for up to flush_ms, then stops. */
void sb_wh_stop(unsigned flush_ms);
void sb_wh_stats(json_object *into);
/* Posts body now (signature NULL = sign with the app secret, "" = no signature header).
 * Returns 0 with *http_status and *answer (malloc'd, caller frees), or -1 with err. */
int sb_wh_post_now(const char *body, size_t len, const char *signature, long *http_status,
                   char **answer, char *err, size_t errlen);

/* ---- graph.c / control.c -------------------------------------------------------------- */

void sb_graph_handle(const struct sb_req *rq, struct sb_reply *rp);
void sb_control_handle(const struct sb_req *rq, struct sb_reply *rp);

#endif
