/* GET /api/health: whether the database answers, and whether we only talk to the sandbox. */
#include "app.h"
#include "db.h"

void api_health(struct request *req)
{
    json_object *o = json_object_new_object();
    int up = db_ping(req->app->db) == DB_OK;
    json_object_object_add(o, "status", json_object_new_string(up ? "ok" : "degraded"));
    json_object_object_add(o, "database", json_object_new_string(up ? "ok" : "unreachable"));
    if (up) {
        struct db_rows rows;
        /* Sandbox mode lasts until a real WhatsApp account is configured. */
        if (db_query(req->app->db,
                     "SELECT COUNT(*), COALESCE(SUM(is_sandbox = 0), 0) FROM wa_accounts",
                     DB_NOARGS, &rows) == DB_OK) {
            json_object_object_add(o, "accounts", json_object_new_int64(db_int(&rows, 0, 0, 0)));
            json_object_object_add(o, "sandbox",
                                   json_object_new_boolean(db_int(&rows, 0, 1, 0) == 0));
            db_rows_free(&rows);
        }
    }
    json_object_object_add(o, "auth", json_object_new_string(req->app->cfg.auth_mode));
    http_json(req, up ? 200 : 503, o);
}
