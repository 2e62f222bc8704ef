/* WhatsApp accounts with their secrets decrypted, for the processes that need them (the
 * webhook to verify signatures, the worker to send). Secrets never leave these structs
 * except into an Authorization header or an HMAC. */
#ifndef PREGON_ACCOUNTS_H
#define PREGON_ACCOUNTS_H

#include <stddef.h>

struct db;
struct secret_key;

struct account {
    long long id;
    char waba_id[33];
    char phone_number_id[33];
    char display_phone[33];
    char graph_version[17];
    char *graph_base_url; /* NULL: the configured default */
    char *access_token;   /* decrypted; NULL when missing or undecryptable */
    char *app_secret;     /* decrypted; NULL when missing or undecryptable */
    char verify_token[129];
    char default_country[3];
    int is_sandbox;
    int throughput_mps;
    int campaigns_enabled;
};

struct account_list {
    struct account *v;
    size_t n;
};

/* Loads every account. Returns a db_rc; on success free with accounts_free(). */
int accounts_load(struct db *db, const struct secret_key *key, struct account_list *out);
void accounts_free(struct account_list *l);
const struct account *accounts_find(const struct account_list *l, long long id);

/* The Graph API address of the account's phone number, {base}/{version}/{phone_number_id},
 * with "/{edge}" after it unless edge is NULL; base is the account's graph_base_url, else
 * default_base (the configured one). Returns a string to free(), or NULL (out of memory). */
char *accounts_phone_url(const struct account *acc, const char *default_base, const char *edge);
/* Where the account's messages are sent: POST {base}/{version}/{phone_number_id}/messages. */
char *accounts_messages_url(const struct account *acc, const char *default_base);
/* The sandbox stands for a verified business: no messaging tier. Applied after every insert
 * of an account (migration 020's trigger does the same where triggers exist; shared hosts
 * often cannot create them). Returns a db_rc. */
int accounts_sandbox_tier(struct db *db, long long id);

#endif
