/* The send log: one send_log row per attempt outcome (sent, failed, blocked, retry, unknown).
 * Every writer adds what it really inserted to the campaign's minute (lib/counters.h) in the
 * same transaction, here, so no caller can forget it. Statements in sendlog_statements. */
#ifndef PREGON_SENDLOG_H
#define PREGON_SENDLOG_H

#include <stddef.h>

#include "sqlstmt.h"

struct db;

extern const struct sql_statement sendlog_statements[];

/* One row to write. lead_id, http_status, error_code 0 and NULL strings are SQL NULL. */
struct sendlog_row {
    long long campaign_id, recipient_id, lead_id;
    const char *phone, *template_name, *template_language;
    int attempt;
    const char *outcome; /* sendlog_insert */
    long http_status;
    int error_code;
    const char *error_text, *wamid;
    long long worker_id;
    unsigned long long claim_token;
    int variant; /* the A/B variant sent (lib/abvariant.h); 0: none (SQL NULL) */
};

/* Rows of ONE campaign and ONE outcome (the minute they count in), one bulk statement;
 * IGNORE: a retry after a commit whose answer was lost finds its rows there already
 * (uq_send_log_attempt: recipient, attempt, outcome and claim token, sql/080). *inserted
 * (may be NULL) says how many were new. */
int sendlog_insert(struct db *db, const struct sendlog_row *rows, size_t n,
                   unsigned long long *inserted);
/* Opted-out recipients of one campaign found at claim time: outcome 'blocked' (outcome and
 * the http/error/wamid fields of rows are not used). */
int sendlog_insert_blocked(struct db *db, const struct sendlog_row *rows, size_t n);
/* 'unknown' rows for the given recipients of one campaign, read from their rows: the worker
 * sending them stopped. */
int sendlog_unknown_stopped(struct db *db, long long campaign_id, const long long *ids, size_t n,
                            long long worker_id);
/* The 'retry' row of an in-doubt recipient resent once (text says why). */
int sendlog_retry(struct db *db, long long campaign_id, long long recipient_id, const char *text,
                  long long worker_id);

#endif
