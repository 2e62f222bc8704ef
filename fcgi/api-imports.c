/* Chunked CSV uploads: a large CSV sent in pieces small enough for any request limit
 * (mod_fcgid refuses bodies over 128 KiB unless the host raised FcgidMaxRequestLen, which
 * .htaccess cannot). The pieces are appended to one file under import_dir; finishing feeds
 * that file to the session's target, the one-shot import of that kind, so the checks,
 * duplicates, rejections and records are exactly those of a single upload. Two targets:
 *
 *   a campaign's audience (api_recipients_upload):
 *   POST /api/campaigns/{id}/uploads                 -> 201 {"upload": token, "chunk_bytes"}
 *   POST /api/campaigns/{id}/uploads/chunk?upload=T&offset=N   (body: the next bytes)
 *                                                    -> 200 {"received": bytes so far}
 *   POST /api/campaigns/{id}/uploads/finish?upload=T[&filename=F]
 *                                                    -> the answer of the recipients upload
 *
 *   the contacts book (api_contacts_import):
 *   POST /api/contacts/uploads, /api/contacts/uploads/chunk?upload=T&offset=N, and
 *   POST /api/contacts/uploads/finish?upload=T[&tags=..&country=..&consent_source=..]
 *        -> the answer of POST /api/contacts/import with those parameters
 *
 * A piece sent again (the answer was lost) is recognised by its offset and not appended twice.
 * Sessions not finished within a day are removed when the next one starts. The pieces live on
 * the host that received them: with several FastCGI hosts, route a campaign's uploads to one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "log.h"

#define IMPORT_CHUNK_BYTES (64 * 1024) /* what the panel sends */
#define IMPORT_CHUNK_MAX   (96 * 1024) /* the most one piece may carry */
#define IMPORT_TOKEN_BYTES 16
#define IMPORT_STALE_S     (24 * 3600)

/* What a session's assembled file is fed to. The file name says the target, so a token
 * issued for one target is not found under another. */
enum imports_target { IMPORTS_CAMPAIGN, IMPORTS_CONTACTS };

/* The session file of token tok for target t. Returns 0, or -1 when it does not fit. */
static int imports_file(struct request *req, enum imports_target t, const char *tok, char *out,
                        size_t len)
{
    const char *dir = req->app->cfg.import_dir;
    int n = t == IMPORTS_CAMPAIGN ? snprintf(out, len, "%s/c%lld-%s.csv", dir, req->ids[0], tok)
                                  : snprintf(out, len, "%s/contacts-%s.csv", dir, tok);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* Creates dir and its parents (mode 0700). Returns 0 or -1 with errno. */
static int imports_mkdirs(const char *dir)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* Removes sessions nobody finished within IMPORT_STALE_S. */
static void imports_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        /* c<id>-T.csv (a campaign's) and contacts-T.csv, with .run while being imported */
        if (e->d_name[0] != 'c' || !strstr(e->d_name, ".csv"))
            continue;
        char path[1280];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && now - st.st_mtime > IMPORT_STALE_S && unlink(path) == 0)
            log_info("upload session %s removed: not finished within a day", e->d_name);
    }
    closedir(d);
}

/* The session file of ?upload=TOKEN for target t. Returns 0, or answers 400 and returns
 * -1 when the token is missing or not one we issue (32 lowercase hex digits). */
static int imports_path(struct request *req, enum imports_target t, char *out, size_t len)
{
    char *tok = http_query_param(req->query, "upload");
    int ok = tok && strlen(tok) == 2 * IMPORT_TOKEN_BYTES;
    for (const char *p = tok; ok && *p; p++)
        ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
    if (ok)
        ok = imports_file(req, t, tok, out, len) == 0;
    free(tok);
    if (!ok)
        http_error(req, 400, "invalid_upload", "upload must name a session from POST .../uploads",
                   "upload");
    return ok ? 0 : -1;
}

static void imports_create(struct request *req, enum imports_target t)
{
    if (app_need_db(req) < 0 || (t == IMPORTS_CAMPAIGN && !api_campaign_exists(req)))
        return;
    const char *dir = req->app->cfg.import_dir;
    if (imports_mkdirs(dir) < 0) {
        log_error("upload sessions: cannot create %s: %s", dir, strerror(errno));
        http_error(req, 500, "internal", "could not start the upload", NULL);
        return;
    }
    imports_sweep(dir);
    unsigned char raw[IMPORT_TOKEN_BYTES];
    char tok[2 * IMPORT_TOKEN_BYTES + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(tok, sizeof tok, raw, sizeof raw);
    char path[1280];
    if (imports_file(req, t, tok, path, sizeof path) < 0) {
        log_error("upload sessions: import_dir %s is too long", dir);
        http_error(req, 500, "internal", "could not start the upload", NULL);
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("upload sessions: cannot create %s: %s", path, strerror(errno));
        http_error(req, 500, "internal", "could not start the upload", NULL);
        return;
    }
    close(fd);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "upload", json_object_new_string(tok));
    json_object_object_add(o, "chunk_bytes", json_object_new_int(IMPORT_CHUNK_BYTES));
    json_object_object_add(o, "chunk_max", json_object_new_int(IMPORT_CHUNK_MAX));
    http_json(req, 201, o);
}

static void imports_chunk(struct request *req, enum imports_target t)
{
    char path[1280];
    if (imports_path(req, t, path, sizeof path) < 0)
        return;
    char *off_s = http_query_param(req->query, "offset");
    char *end = NULL;
    long long offset = off_s ? strtoll(off_s, &end, 10) : -1;
    int off_ok = off_s && *off_s && end && !*end && offset >= 0;
    free(off_s);
    if (!off_ok) {
        http_error(req, 400, "invalid_offset", "offset must be the bytes sent so far", "offset");
        return;
    }
    if (http_read_body(req, IMPORT_CHUNK_MAX) < 0)
        return;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        http_fail(req, 404, "not_found", "upload", "upload.gone", NULL,
                  "no such upload session (finished or expired)");
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        http_error(req, 500, "internal", "could not read the upload session", NULL);
        return;
    }
    long long have = (long long)st.st_size, len = (long long)req->body_len;
    if (offset == have) {
        if ((size_t)(have + len) > req->app->cfg.body_limit) {
            close(fd);
            http_errorf(req, 413, "body_too_large", "body", "the upload is over %zu bytes",
                        req->app->cfg.body_limit);
            return;
        }
        ssize_t w = len ? pwrite(fd, req->body, (size_t)len, (off_t)offset) : 0;
        if (w != (ssize_t)len) {
            /* Nothing half-written stays: the piece is cut off so it can be sent again. */
            if (ftruncate(fd, (off_t)have) < 0)
                log_error("upload session %s: cannot undo a short write", path);
            close(fd);
            log_error("upload session %s: write failed: %s", path, strerror(errno));
            http_error(req, 500, "internal", "could not store the piece", NULL);
            return;
        }
        have += len;
    } else if (offset + len != have) {
        close(fd);
        http_errorf(req, 409, "offset_mismatch", "offset", "the session has %lld bytes", have);
        return;
    } /* else: the last piece again (its answer was lost); already stored */
    close(fd);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "received", json_object_new_int64(have));
    http_json(req, 200, o);
}

static int imports_read(void *ctx, char *buf, size_t len)
{
    size_t n = fread(buf, 1, len, ctx);
    return n > 0 ? (int)n : 0;
}

static void imports_finish(struct request *req, enum imports_target t)
{
    char path[1280], running[1300];
    if (imports_path(req, t, path, sizeof path) < 0)
        return;
    /* Taken out of the session first, so two finishes never import the same file twice. */
    snprintf(running, sizeof running, "%s.run", path);
    if (rename(path, running) < 0) {
        http_fail(req, 404, "not_found", "upload", "upload.gone", NULL,
                  "no such upload session (finished or expired)");
        return;
    }
    FILE *f = fopen(running, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) < 0) {
        if (f)
            fclose(f);
        if (rename(running, path) < 0)
            log_error("upload session %s: lost: %s", path, strerror(errno));
        http_error(req, 500, "internal", "could not read the upload session", NULL);
        return;
    }
    req->content_length = (long long)st.st_size;
    req->body_read = imports_read;
    req->body_ctx = f;
    if (t == IMPORTS_CAMPAIGN)
        api_recipients_upload(req);
    else
        api_contacts_import(req);
    req->body_read = NULL;
    req->body_ctx = NULL;
    fclose(f);
    /* A server-side failure leaves the session to be finished again; otherwise it is done. */
    if (req->status >= 500) {
        if (rename(running, path) < 0)
            log_error("upload session %s: lost: %s", path, strerror(errno));
    } else if (unlink(running) < 0) {
        log_warn("upload session %s: cannot remove: %s", running, strerror(errno));
    }
}

void api_imports_create(struct request *req)
{
    imports_create(req, IMPORTS_CAMPAIGN);
}

void api_imports_chunk(struct request *req)
{
    imports_chunk(req, IMPORTS_CAMPAIGN);
}

void api_imports_finish(struct request *req)
{
    imports_finish(req, IMPORTS_CAMPAIGN);
}

void api_contacts_uploads_create(struct request *req)
{
    imports_create(req, IMPORTS_CONTACTS);
}

void api_contacts_uploads_chunk(struct request *req)
{
    imports_chunk(req, IMPORTS_CONTACTS);
}

void api_contacts_uploads_finish(struct request *req)
{
    imports_finish(req, IMPORTS_CONTACTS);
}
