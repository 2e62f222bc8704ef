/* GET /api/health: for monitoring. Whether the database answers, the workers alive and their
 * last heartbeat, how long the oldest due message has waited, the webhook backlog, and whether
 * we only talk to the sandbox, and what keeps the append-only tables so ("triggers" or
 * "application"). 503 when the database is unreachable. */
#include <stdlib.h>

#include "app.h"
#include "campaign_read.h"
#include "db.h"

#define WORKER_ALIVE_S 30

static void add_workers(struct db *db, json_object *o)
{
    struct db_rows r;
    if (db_query(db,
                 "SELECT id, host, pid, DATE_FORMAT(heartbeat_at, '%Y-%m-%dT%H:%i:%s.%fZ'), "
                 "TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(3)) / 1e6 FROM workers "
                 "WHERE stopped_at IS NULL AND heartbeat_at > NOW(3) - INTERVAL ? SECOND "
                 "ORDER BY id",
                 DB_ARGS(DB_INT(WORKER_ALIVE_S)), &r) != DB_OK)
        return;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < r.nrows; i++) {
        json_object *w = json_object_new_object();
        json_object_object_add(w, "id", json_object_new_int64(db_int(&r, i, 0, 0)));
        json_object_object_add(w, "host", json_object_new_string(db_val(&r, i, 1)));
        json_object_object_add(w, "pid", json_object_new_int64(db_int(&r, i, 2, 0)));
        json_object_object_add(w, "last_heartbeat", json_object_new_string(db_val(&r, i, 3)));
        json_object_object_add(w, "heartbeat_age_s",
                               json_object_new_double(atof(db_val(&r, i, 4))));
        json_object_array_add(arr, w);
    }
    json_object_object_add(o, "workers_alive", json_object_new_int64((int64_t)r.nrows));
    json_object_object_add(o, "workers", arr);
    db_rows_free(&r);
}

/* The oldest message that is due and waiting, over running campaigns: read from the claim
 * index (its first entry per campaign), never by scanning recipients. */
static void add_oldest_pending(struct db *db, json_object *o)
{
    double age;
    int known;
    if (campaign_read_oldest_pending_age(db, &age, &known) != DB_OK)
        return;
    json_object_object_add(o, "oldest_pending_age_s", known ? json_object_new_double(age) : NULL);
}

void api_health(struct request *req)
{
    struct db *db = req->app->db;
    json_object *o = json_object_new_object();
    int up = db_ping(db) == DB_OK;
    json_object_object_add(o, "status", json_object_new_string(up ? "ok" : "degraded"));
    json_object_object_add(o, "database", json_object_new_string(up ? "ok" : "unreachable"));
    if (up) {
        struct db_rows rows;
        /* Sandbox mode lasts until a real WhatsApp account is configured. */
        if (db_query(db, "SELECT COUNT(*), COALESCE(SUM(is_sandbox = 0), 0) FROM wa_accounts",
                     DB_NOARGS, &rows) == DB_OK) {
            json_object_object_add(o, "accounts", json_object_new_int64(db_int(&rows, 0, 0, 0)));
            json_object_object_add(o, "sandbox",
                                   json_object_new_boolean(db_int(&rows, 0, 1, 0) == 0));
            db_rows_free(&rows);
        }
        /* Where triggers could not be created (binary logging without SUPER, shared hosts),
         * scripts/migrate.sh recorded that the application alone keeps the append-only
         * tables (send_log, audit_log, opt_out_events, inbound_messages) unchanged. */
        if (db_query(db, "SELECT value FROM schema_settings WHERE name = 'append_only_guard'",
                     DB_NOARGS, &rows) == DB_OK) {
            const char *g = rows.nrows ? db_val(&rows, 0, 0) : NULL;
            json_object_object_add(o, "append_only", json_object_new_string(g ? g : "triggers"));
            db_rows_free(&rows);
        }
        add_workers(db, o);
        add_oldest_pending(db, o);
        if (db_query(db, "SELECT COUNT(*) FROM webhook_events WHERE applied_at IS NULL", DB_NOARGS,
                     &rows) == DB_OK) {
            json_object_object_add(o, "webhook_backlog",
                                   json_object_new_int64(db_int(&rows, 0, 0, 0)));
            db_rows_free(&rows);
        }
    }
    json_object_object_add(o, "auth", json_object_new_string(req->app->cfg.auth_mode));
    http_json(req, up ? 200 : 503, o);
}
