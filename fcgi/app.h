/* The FastCGI application: per-process state, the route table and every handler. */
#ifndef PREGON_FCGI_APP_H
#define PREGON_FCGI_APP_H

#include "config.h"
#include "http.h"
#include "secret.h"

struct db;

struct app {
    struct config cfg;
    struct db *db;
    struct secret_key key;
    int have_key;
};

typedef void (*handler_fn)(struct request *req);

struct route {
    const char *method;
    const char *pattern;
    enum role min_role;
    handler_fn handler;
};

extern const struct route app_routes[];
extern const size_t app_nroutes;

/* Routes one request: matching, the access check, the handler. */
void app_dispatch(struct request *req);
/* The one access check every request passes. Returns 1 when the request may go on; otherwise
 * it has answered 401/403 and returns 0. */
int access_check(struct request *req, const struct route *route);

/* Answers 503 when the database is unreachable; returns 0 when it is up. */
int app_need_db(struct request *req);

/* api-health.c */
void api_health(struct request *req);
/* api-campaigns.c */
void api_campaigns_create(struct request *req);
void api_campaigns_list(struct request *req);
void api_campaigns_get(struct request *req);
void api_campaigns_start(struct request *req);
/* api-recipients.c */
void api_recipients_upload(struct request *req);
/* webhook.c */
void webhook_verify(struct request *req);
void webhook_receive(struct request *req);

#endif
