/* Replies (issue 20): the inbound messages people send (stored by the webhook applier,
 * lib/webhook_inbound.c), as operators read and answer them. One place for the rules: the
 * 24-hour customer-service window (open while the person's last message to that number is
 * younger than 24 h, judged by the time WhatsApp gives the message), what a reply answers
 * (its context id: the recipient and the send_log row of that wamid), handled marks, the
 * record of free-form answers (reply_answers) and the button counts of a campaign. */
#ifndef PREGON_REPLIES_H
#define PREGON_REPLIES_H

#include <json-c/json.h>

struct db;
struct db_rows;

#define REPLIES_WINDOW_HOURS 24

struct replies_query {
    long long campaign_id; /* 0: every reply */
    long long after;       /* > 0: replies with a larger id, oldest first (polling) */
    long long before;      /* > 0: replies with a smaller id (newest first, the default) */
    int handled;           /* -1 any, 0 not handled, 1 handled */
    int window_open;       /* -1 any, 1 open, 0 closed */
    long long limit;
};

/* The columns of replies_page, in order. */
enum {
    RPL_ID,
    RPL_WAMID,
    RPL_TYPE,
    RPL_TEXT,
    RPL_PAYLOAD,
    RPL_PHONE,
    RPL_USER_ID,
    RPL_ACCOUNT_ID,
    RPL_CAMPAIGN_ID,
    RPL_CAMPAIGN_NAME,
    RPL_RECIPIENT_ID,
    RPL_CONTEXT_WAMID,
    RPL_SEND_LOG_ID,
    RPL_TEMPLATE,
    RPL_SENT_AT,
    RPL_RECEIVED_AT,
    RPL_OPT_OUT,
    RPL_WINDOW_OPEN,
    RPL_WINDOW_CLOSES_AT,
    RPL_HANDLED_BY,
    RPL_HANDLED_AT,
    RPL_CONTACT_ID,
    RPL_CONTACT_NAME,
    RPL_LEAD_ID,
    RPL_ANSWERS,
    RPL_NCOLS
};

/* One page of replies (q->limit rows at most; q->after or q->before as cursors; id > 0
 * alone: that reply). Returns a db_rc; free rows with db_rows_free. */
int replies_page(struct db *db, const struct replies_query *q, long long id, struct db_rows *rows);
/* Row i as the API shows it. Caller owns the result. */
json_object *replies_row_json(const struct db_rows *rows, size_t i);

/* Marks reply id handled (handled 1, by names who) or not (0). *found = 0 when no such
 * reply. Returns a db_rc. */
int replies_set_handled(struct db *db, long long id, int handled, const char *who, int *found);

/* Records one free-form answer to reply inbound_id (outcome "sent", "failed" or "unknown";
 * wamid, error_text NULL and http_status, error_code 0 when none). Returns a db_rc. */
struct replies_answer {
    long long inbound_id, account_id;
    const char *phone, *body, *outcome, *wamid, *error_text, *created_by;
    long http_status;
    int error_code;
};
int replies_answer_record(struct db *db, const struct replies_answer *a, long long *id);

/* The answers to reply inbound_id, oldest first: [{"id", "text", "outcome", "wamid",
 * "http_status", "error_code", "error_text", "error" (lib/send_explain in lang, or null),
 * "created_by", "created_at"}]. Returns a db_rc;
 * *out is the caller's on DB_OK. */
int replies_answers_json(struct db *db, long long inbound_id, const char *lang, json_object **out);

/* The campaign's button replies counted per button: [{"payload", "text", "count"}], most
 * pressed first. Returns a db_rc; *out is the caller's on DB_OK. */
int replies_button_counts_json(struct db *db, long long campaign_id, json_object **out);

#endif
