/* The send log (lib/sendlog.h). */
#include "sendlog.h"

#include <stdlib.h>

#include "counters.h"
#include "db.h"
#include "idlist.h"

#define SQL_INSERT                                                                                 \
    "INSERT IGNORE INTO send_log (campaign_id, recipient_id, phone, lead_id, "                     \
    "template_name, template_language, attempt, outcome, http_status, "                            \
    "error_code, error_text, wamid, worker_id, claim_token, variant) "                             \
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
/* The template a row r of campaign c is sent with: its A/B variant's (lib/abvariant.h), else
 * the campaign's. */
#define SQL_VARIANT_OF_ROW                                                                         \
    "LEFT JOIN campaign_variants v ON v.campaign_id = r.campaign_id AND v.variant = r.variant"
#define SQL_TEMPLATE_OF_ROW                                                                        \
    "COALESCE(v.template_name, c.template_name), COALESCE(v.template_language, "                   \
    "c.template_language)"
#define SQL_INSERT_BLOCKED                                                                         \
    "INSERT INTO send_log (campaign_id, recipient_id, phone, lead_id, "                            \
    "template_name, template_language, attempt, outcome, error_text, "                             \
    "worker_id, claim_token) VALUES (?, ?, ?, ?, ?, ?, ?, 'blocked', ?, ?, ?)"
#define SQL_UNKNOWN_STOPPED                                                                        \
    "INSERT IGNORE INTO send_log (campaign_id, recipient_id, phone, lead_id, "                     \
    "template_name, template_language, attempt, outcome, error_text, "                             \
    "worker_id, claim_token, variant) SELECT r.campaign_id, r.id, r.phone, "                       \
    "r.contact_id, " SQL_TEMPLATE_OF_ROW ", r.attempts, "                                          \
    "'unknown', 'the worker sending it stopped', ?, r.claim_token, r.variant "                     \
    "FROM recipients r JOIN campaigns c ON c.id = r.campaign_id " SQL_VARIANT_OF_ROW               \
    " WHERE r.id IN (%s)"
#define SQL_RETRY                                                                                  \
    "INSERT INTO send_log (campaign_id, recipient_id, phone, lead_id, "                            \
    "template_name, template_language, attempt, outcome, error_text, "                             \
    "worker_id, variant) SELECT r.campaign_id, r.id, r.phone, r.contact_id, " SQL_TEMPLATE_OF_ROW  \
    ", r.attempts, 'retry', ?, ?, r.variant "                                                      \
    "FROM recipients r JOIN campaigns c ON c.id = r.campaign_id " SQL_VARIANT_OF_ROW               \
    " WHERE r.id = ?"

const struct sql_statement sendlog_statements[] = {
    {"sendlog.insert", SQL_INSERT, "iisissisiissiii"},
    {"sendlog.insert_blocked", SQL_INSERT_BLOCKED, "iisissisii"},
    {"sendlog.unknown_stopped", SQL_UNKNOWN_STOPPED, "iL"},
    {"sendlog.retry", SQL_RETRY, "sii"},
    {NULL, NULL, NULL},
};

#define OPT_INT(x) ((x) ? DB_INT(x) : DB_NULL)

int sendlog_insert(struct db *db, const struct sendlog_row *rows, size_t n,
                   unsigned long long *inserted)
{
    enum { NCOL = 15 };
    if (inserted)
        *inserted = 0;
    if (n == 0)
        return DB_OK;
    db_arg *args = calloc(n * NCOL, sizeof *args);
    if (!args)
        return DB_ERR;
    size_t a = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sendlog_row *r = &rows[i];
        args[a++] = DB_INT(r->campaign_id);
        args[a++] = DB_INT(r->recipient_id);
        args[a++] = DB_STR(r->phone);
        args[a++] = OPT_INT(r->lead_id);
        args[a++] = DB_STR(r->template_name);
        args[a++] = DB_STR(r->template_language);
        args[a++] = DB_INT(r->attempt);
        args[a++] = DB_STR(r->outcome);
        args[a++] = OPT_INT(r->http_status);
        args[a++] = OPT_INT(r->error_code);
        args[a++] = r->error_text && r->error_text[0] ? DB_STR(r->error_text) : DB_NULL;
        args[a++] = DB_STR(r->wamid);
        args[a++] = DB_INT(r->worker_id);
        args[a++] = DB_INT((long long)r->claim_token);
        args[a++] = r->variant > 0 ? DB_INT(r->variant) : DB_NULL;
    }
    struct db_res res;
    int rc = db_exec_bulk(db, SQL_INSERT, args, NCOL, n, &res);
    free(args);
    if (rc == DB_OK)
        rc = counters_add_minute(db, rows[0].campaign_id, rows[0].outcome, (long long)res.affected);
    if (rc == DB_OK && inserted)
        *inserted = res.affected;
    return rc;
}

int sendlog_insert_blocked(struct db *db, const struct sendlog_row *rows, size_t n)
{
    enum { NCOL = 10 };
    if (n == 0)
        return DB_OK;
    db_arg *args = calloc(n * NCOL, sizeof *args);
    if (!args)
        return DB_ERR;
    size_t a = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sendlog_row *r = &rows[i];
        args[a++] = DB_INT(r->campaign_id);
        args[a++] = DB_INT(r->recipient_id);
        args[a++] = DB_STR(r->phone);
        args[a++] = OPT_INT(r->lead_id);
        args[a++] = DB_STR(r->template_name);
        args[a++] = DB_STR(r->template_language);
        args[a++] = DB_INT(r->attempt);
        args[a++] = DB_STR(r->error_text);
        args[a++] = DB_INT(r->worker_id);
        args[a++] = DB_INT((long long)r->claim_token);
    }
    struct db_res res;
    int rc = db_exec_bulk(db, SQL_INSERT_BLOCKED, args, NCOL, n, &res);
    free(args);
    if (rc == DB_OK)
        rc = counters_add_minute(db, rows[0].campaign_id, "blocked", (long long)res.affected);
    return rc;
}

int sendlog_unknown_stopped(struct db *db, long long campaign_id, const long long *ids, size_t n,
                            long long worker_id)
{
    struct db_res ins;
    int rc = idlist_exec(db, SQL_UNKNOWN_STOPPED, DB_ARGS(DB_INT(worker_id)), ids, n, NULL, 0, &ins,
                         NULL);
    if (rc == DB_OK)
        rc = counters_add_minute(db, campaign_id, "unknown", (long long)ins.affected);
    return rc;
}

int sendlog_retry(struct db *db, long long campaign_id, long long recipient_id, const char *text,
                  long long worker_id)
{
    int rc = db_exec(db, SQL_RETRY, DB_ARGS(DB_STR(text), DB_INT(worker_id), DB_INT(recipient_id)),
                     NULL);
    if (rc == DB_OK)
        rc = counters_add_minute(db, campaign_id, "retry", 1);
    return rc;
}
