#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int key_from_hex(struct secret_key *key, const char *hex, size_t len)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_hex2bin(key->k, sizeof key->k, hex, len, " \r\n\t", &bin_len, &end) != 0 ||
        bin_len != sizeof key->k)
        return -1;
    for (; end && end < hex + len; end++)
        if (*end != '\n' && *end != '\r' && *end != ' ' && *end != '\t')
            return -1;
    return 0;
}

int secret_key_load(struct secret_key *key, const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    const char *env = getenv("PREGON_SECRETS_KEY");
    if (env && *env) {
        if (key_from_hex(key, env, strlen(env)) < 0) {
            snprintf(err, errlen, "PREGON_SECRETS_KEY must be 64 hex characters");
            return -1;
        }
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "secrets key %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char buf[256];
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077) == 0)
        n = read(fd, buf, sizeof buf);
    else
        snprintf(err, errlen, "secrets key %s must not be readable by group or others (chmod 600)",
                 path);
    close(fd);
    if (n < 0) {
        if (!*err)
            snprintf(err, errlen, "secrets key %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = key_from_hex(key, buf, (size_t)n);
    sodium_memzero(buf, sizeof buf);
    if (rc < 0) {
        snprintf(err, errlen, "secrets key %s must hold 64 hex characters", path);
        return -1;
    }
    return 0;
}

int secret_key_create(const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    unsigned char k[crypto_secretbox_KEYBYTES];
    char hex[sizeof k * 2 + 2];
    crypto_secretbox_keygen(k);
    sodium_bin2hex(hex, sizeof hex, k, sizeof k);
    sodium_memzero(k, sizeof k);
    size_t len = strlen(hex);
    hex[len++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        sodium_memzero(hex, sizeof hex);
        return -1;
    }
    ssize_t w = write(fd, hex, len);
    sodium_memzero(hex, sizeof hex);
    if (w != (ssize_t)len || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    if (close(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void secret_key_wipe(struct secret_key *key)
{
    sodium_memzero(key->k, sizeof key->k);
}

unsigned char *secret_seal(const struct secret_key *key, const void *plain, size_t len,
                           size_t *outlen)
{
    size_t n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    unsigned char *out = malloc(n);
    if (!out)
        return NULL;
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, plain, len, out, key->k);
    *outlen = n;
    return out;
}

char *secret_open(const struct secret_key *key, const unsigned char *blob, size_t len)
{
    if (!blob || len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return NULL;
    size_t plen = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *out = malloc(plen + 1);
    if (!out)
        return NULL;
    if (crypto_secretbox_open_easy((unsigned char *)out, blob + crypto_secretbox_NONCEBYTES,
                                   len - crypto_secretbox_NONCEBYTES, blob, key->k) != 0) {
        free(out);
        return NULL;
    }
    out[plen] = '\0';
    return out;
}

void secret_free(char *plain)
{
    if (!plain)
        return;
    sodium_memzero(plain, strlen(plain));
    free(plain);
}

void secret_mask(const char *plain, char *out, size_t outlen)
{
    size_t n = plain ? strlen(plain) : 0;
    if (n == 0) {
        snprintf(out, outlen, "%s", "");
        return;
    }
    snprintf(out, outlen, "••••%s", n > 8 ? plain + n - 4 : "");
}
