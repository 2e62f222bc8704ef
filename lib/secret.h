/* Secrets at rest (access tokens, app secrets): libsodium secretbox under a key kept outside
 * the database, in a 0600 file (64 hex characters) or $PREGON_SECRETS_KEY. */
#ifndef PREGON_SECRET_H
#define PREGON_SECRET_H

#include <sodium.h>
#include <stddef.h>

struct secret_key {
    unsigned char k[crypto_secretbox_KEYBYTES];
};

/* Loads the key from $PREGON_SECRETS_KEY (hex) or the file. Refuses a file readable by group
 * or others. Returns 0 or -1 with err set. */
int secret_key_load(struct secret_key *key, const char *path, char *err, size_t errlen);
/* Creates a new random key file with mode 0600; fails if it exists. */
int secret_key_create(const char *path, char *err, size_t errlen);
void secret_key_wipe(struct secret_key *key);

/* Encrypts plain into a newly malloc'd blob (nonce || box) of *outlen bytes; caller frees. */
unsigned char *secret_seal(const struct secret_key *key, const void *plain, size_t len,
                           size_t *outlen);
/* Decrypts a blob into a newly malloc'd NUL-terminated string (caller frees with
 * secret_free, which wipes it). NULL when the blob is damaged or the key is wrong. */
char *secret_open(const struct secret_key *key, const unsigned char *blob, size_t len);
void secret_free(char *plain);
/* "••••" plus the last four characters, for showing a secret without revealing it. */
void secret_mask(const char *plain, char *out, size_t outlen);

#endif
