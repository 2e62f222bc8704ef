/* Replies (replies.h). */
#include "replies.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "send_explain.h"

#define RTS(col) "DATE_FORMAT(" col ", '%Y-%m-%dT%H:%i:%s.%fZ')"

/* The person's last message to the same number: the window's start (the one rule). */
#define LAST_IN                                                                                    \
    "(SELECT MAX(l.sent_at) FROM inbound_messages l WHERE l.phone = m.phone AND "                  \
    "l.account_id <=> m.account_id)"
#define WINDOW_OPEN  "(" LAST_IN " > NOW(3) - INTERVAL 24 HOUR)"
#define WINDOW_CLOSE "(" LAST_IN " + INTERVAL 24 HOUR)"

#define REPLIES_SQL                                                                                \
    "SELECT m.id, m.wamid, m.type, m.body, m.payload, m.phone, m.user_id, "                        \
    "COALESCE(m.account_id, cp.account_id), m.campaign_id, cp.name, m.recipient_id, "              \
    "m.context_wamid, (SELECT s.id FROM send_log s WHERE s.recipient_id = "                        \
    "m.recipient_id AND s.wamid = m.context_wamid AND s.outcome = 'sent' ORDER BY s.id "           \
    "LIMIT 1), IF(m.recipient_id IS NULL, NULL, cp.template_name), " RTS("m.sent_at") ", " RTS(    \
        "m.received_at") ", m.opt_out, " WINDOW_OPEN                                               \
                         ", " RTS(                                                                 \
                             WINDOW_CLOSE) ", "                                                    \
                                           "h.handled_by, " RTS(                                   \
                                               "h.handled_at") ", ct.id, ct.name, ct.lead_id, "    \
                                                               "(SELECT COUNT(*) FROM "            \
                                                               "reply_answers a WHERE "            \
                                                               "a.inbound_id = m.id AND "          \
                                                               "a.outcome = "                      \
                                                               "'sent') FROM inbound_messages m "  \
                                                               "LEFT JOIN campaigns cp ON cp.id "  \
                                                               "= m.campaign_id "                  \
                                                               "LEFT JOIN reply_handled h ON "     \
                                                               "h.inbound_id = m.id LEFT JOIN "    \
                                                               "contacts ct ON "                   \
                                                               "ct.phone = m.phone WHERE m.type "  \
                                                               "<> 'system' AND (? = 0 OR m.id = " \
                                                               "?) AND "                           \
                                                               "(? = 0 OR m.campaign_id = ?) AND " \
                                                               "(? = 0 OR m.id > ?) AND (? = 0 "   \
                                                               "OR m.id < ?) AND "                 \
                                                               "(? < 0 OR (h.inbound_id IS NOT "   \
                                                               "NULL) = ?) AND (? < 0 "            \
                                                               "OR " WINDOW_OPEN " = ?) "          \
                                                               "ORDER BY m.id "

int replies_page(struct db *db, const struct replies_query *q, long long id, struct db_rows *rows)
{
    int asc = q && q->after != 0 && !id; /* after < 0: every row, oldest first */
    const char *sql = asc ? REPLIES_SQL "ASC LIMIT ?" : REPLIES_SQL "DESC LIMIT ?";
    struct replies_query none = {0, 0, 0, -1, -1, 1};
    if (!q || id)
        q = &none;
    return db_query(db, sql,
                    DB_ARGS(DB_INT(id), DB_INT(id), DB_INT(q->campaign_id), DB_INT(q->campaign_id),
                            DB_INT(q->after), DB_INT(q->after), DB_INT(q->before),
                            DB_INT(q->before), DB_INT(q->handled), DB_INT(q->handled),
                            DB_INT(q->window_open), DB_INT(q->window_open),
                            DB_INT(id ? 1 : q->limit)),
                    rows);
}

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *id_or_null(const struct db_rows *r, size_t i, size_t c)
{
    return db_val(r, i, c) ? json_object_new_int64(db_int(r, i, c, 0)) : NULL;
}

/* What kind of message: the types Meta sends, media ones given as a reference (the media id
 * the applier keeps in payload; the file itself stays with Meta). */
static int is_media(const char *type)
{
    static const char *const media[] = {"image", "video", "audio", "document", "sticker", NULL};
    for (size_t k = 0; type && media[k]; k++)
        if (strcmp(type, media[k]) == 0)
            return 1;
    return 0;
}

json_object *replies_row_json(const struct db_rows *r, size_t i)
{
    json_object *o = json_object_new_object();
    const char *type = db_val(r, i, RPL_TYPE);
    json_object_object_add(o, "id", json_object_new_int64(db_int(r, i, RPL_ID, 0)));
    json_object_object_add(o, "wamid", str_or_null(db_val(r, i, RPL_WAMID)));
    json_object_object_add(o, "type", str_or_null(type));
    json_object_object_add(o, "text", str_or_null(db_val(r, i, RPL_TEXT)));
    int button = type && (strcmp(type, "button") == 0 || strcmp(type, "interactive") == 0);
    json_object *b = NULL, *media = NULL;
    if (button) {
        b = json_object_new_object();
        json_object_object_add(b, "payload", str_or_null(db_val(r, i, RPL_PAYLOAD)));
        json_object_object_add(b, "text", str_or_null(db_val(r, i, RPL_TEXT)));
    } else if (is_media(type)) {
        media = json_object_new_object();
        json_object_object_add(media, "id", str_or_null(db_val(r, i, RPL_PAYLOAD)));
        json_object_object_add(media, "caption", str_or_null(db_val(r, i, RPL_TEXT)));
    }
    json_object_object_add(o, "button", b);
    json_object_object_add(o, "media", media);
    json_object *c = json_object_new_object();
    json_object_object_add(c, "phone", str_or_null(db_val(r, i, RPL_PHONE)));
    json_object_object_add(c, "user_id", str_or_null(db_val(r, i, RPL_USER_ID)));
    json_object_object_add(c, "contact_id", id_or_null(r, i, RPL_CONTACT_ID));
    json_object_object_add(c, "name", str_or_null(db_val(r, i, RPL_CONTACT_NAME)));
    json_object_object_add(c, "lead_id", str_or_null(db_val(r, i, RPL_LEAD_ID)));
    json_object_object_add(o, "contact", c);
    json_object_object_add(o, "account_id", id_or_null(r, i, RPL_ACCOUNT_ID));
    json_object_object_add(o, "campaign_id", id_or_null(r, i, RPL_CAMPAIGN_ID));
    json_object_object_add(o, "campaign_name", str_or_null(db_val(r, i, RPL_CAMPAIGN_NAME)));
    json_object *ctx = NULL;
    if (db_val(r, i, RPL_CONTEXT_WAMID)) {
        ctx = json_object_new_object();
        json_object_object_add(ctx, "wamid", str_or_null(db_val(r, i, RPL_CONTEXT_WAMID)));
        json_object_object_add(ctx, "recipient_id", id_or_null(r, i, RPL_RECIPIENT_ID));
        json_object_object_add(ctx, "send_log_id", id_or_null(r, i, RPL_SEND_LOG_ID));
        json_object_object_add(ctx, "template_name", str_or_null(db_val(r, i, RPL_TEMPLATE)));
    }
    json_object_object_add(o, "in_reply_to", ctx);
    json_object_object_add(o, "sent_at", str_or_null(db_val(r, i, RPL_SENT_AT)));
    json_object_object_add(o, "received_at", str_or_null(db_val(r, i, RPL_RECEIVED_AT)));
    json_object_object_add(o, "opt_out", json_object_new_boolean(db_int(r, i, RPL_OPT_OUT, 0)));
    json_object_object_add(o, "window_open",
                           json_object_new_boolean(db_int(r, i, RPL_WINDOW_OPEN, 0)));
    json_object_object_add(o, "window_closes_at", str_or_null(db_val(r, i, RPL_WINDOW_CLOSES_AT)));
    json_object_object_add(o, "handled",
                           json_object_new_boolean(db_val(r, i, RPL_HANDLED_BY) != NULL));
    json_object_object_add(o, "handled_by", str_or_null(db_val(r, i, RPL_HANDLED_BY)));
    json_object_object_add(o, "handled_at", str_or_null(db_val(r, i, RPL_HANDLED_AT)));
    json_object_object_add(o, "answers", json_object_new_int64(db_int(r, i, RPL_ANSWERS, 0)));
    return o;
}

int replies_set_handled(struct db *db, long long id, int handled, const char *who, int *found)
{
    struct db_rows r;
    *found = 0;
    int rc = db_query(db, "SELECT id FROM inbound_messages WHERE id = ?", DB_ARGS(DB_INT(id)), &r);
    if (rc != DB_OK)
        return rc;
    *found = r.nrows == 1;
    db_rows_free(&r);
    if (!*found)
        return DB_OK;
    if (!handled)
        return db_exec(db, "DELETE FROM reply_handled WHERE inbound_id = ?", DB_ARGS(DB_INT(id)),
                       NULL);
    return db_exec(db,
                   "INSERT INTO reply_handled (inbound_id, handled_by) VALUES (?, ?) "
                   "ON DUPLICATE KEY UPDATE inbound_id = inbound_id",
                   DB_ARGS(DB_INT(id), DB_STR(who)), NULL);
}

int replies_answer_record(struct db *db, const struct replies_answer *a, long long *id)
{
    struct db_res res;
    int rc = db_exec(db,
                     "INSERT INTO reply_answers (inbound_id, account_id, phone, body, outcome, "
                     "http_status, error_code, error_text, wamid, created_by) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     DB_ARGS(DB_INT(a->inbound_id), a->account_id ? DB_INT(a->account_id) : DB_NULL,
                             DB_STR(a->phone), DB_STR(a->body), DB_STR(a->outcome),
                             a->http_status ? DB_INT(a->http_status) : DB_NULL,
                             a->error_code ? DB_INT(a->error_code) : DB_NULL, DB_STR(a->error_text),
                             DB_STR(a->wamid), DB_STR(a->created_by)),
                     &res);
    if (rc == DB_OK && id)
        *id = (long long)res.insert_id;
    return rc;
}

int replies_answers_json(struct db *db, long long inbound_id, const char *lang, json_object **out)
{
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT id, body, outcome, wamid, http_status, error_code, error_text, "
                      "created_by, " RTS("created_at") " FROM reply_answers WHERE inbound_id = ? "
                                                       "ORDER BY id LIMIT 100",
                      DB_ARGS(DB_INT(inbound_id)), &r);
    if (rc != DB_OK)
        return rc;
    static const char *const names[] = {"id",         "text",        "outcome",
                                        "wamid",      "http_status", "error_code",
                                        "error_text", "created_by",  "created_at"};
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        for (size_t c = 0; c < sizeof names / sizeof names[0]; c++) {
            int number = c == 0 || c == 4 || c == 5;
            json_object_object_add(o, names[c],
                                   number ? id_or_null(&r, i, c) : str_or_null(db_val(&r, i, c)));
        }
        /* the stored (English) error beside, in the language asked */
        json_object_object_add(o, "error",
                               send_explain_json(db_val(&r, i, 5) != NULL, (int)db_int(&r, i, 5, 0),
                                                 db_val(&r, i, 6), db_val(&r, i, 2), lang));
        json_object_array_add(a, o);
    }
    db_rows_free(&r);
    *out = a;
    return DB_OK;
}

int replies_button_counts_json(struct db *db, long long campaign_id, json_object **out)
{
    struct db_rows r;
    int rc = db_query(db,
                      "SELECT payload, body, COUNT(*) FROM inbound_messages WHERE campaign_id = ? "
                      "AND type IN ('button', 'interactive') GROUP BY payload, body "
                      "ORDER BY COUNT(*) DESC, payload LIMIT 100",
                      DB_ARGS(DB_INT(campaign_id)), &r);
    if (rc != DB_OK)
        return rc;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "payload", str_or_null(db_val(&r, i, 0)));
        json_object_object_add(o, "text", str_or_null(db_val(&r, i, 1)));
        json_object_object_add(o, "count", json_object_new_int64(db_int(&r, i, 2, 0)));
        json_object_array_add(a, o);
    }
    db_rows_free(&r);
    *out = a;
    return DB_OK;
}
