/* The whole audience upload: api_recipients_upload() itself (fcgi/api-recipients.c, compiled
 * in), the function POST /api/campaigns/{id}/recipients runs, driving the real import pipeline
 * (lib/recipients_import.c, recipients_csv.c, recipients_stream.c, linked from libpregon) with
 * its header and row checks, the batch lookups, the LOAD DATA stream and the multi-row INSERT
 * path. The FastCGI request and MariaDB are replaced at their boundary (http_read_chunk,
 * http_json/http_error, db_*): the fake database answers the pipeline's queries from a small
 * fixed world and checks what reaches it, as the server would (every streamed line has four
 * tab-separated fields, escaped for LOAD DATA; every vars is a JSON object; every phone is
 * E.164).
 *
 * Input: byte 0 chooses the world (bit 0: the server accepts LOAD DATA LOCAL, else INSERT;
 * bit 1: contacts exist; bit 2: the campaign has recipients; bit 3: the mapping needs a column
 * without a fallback; bit 4: the import commits every 3 rows, lib/recipients_chunks.c), byte 1
 * the body's chunk size, the rest is the uploaded body.
 *
 * Invariants: an answer is always given, never a 5xx; a refused upload (4xx) keeps nothing (its
 * committed chunks are undone); an accepted one keeps exactly the rows its report counts as
 * accepted, and leaves the campaign unmarked. */
#include "../../fcgi/api-recipients.c"

#include "csvin.h"
#include "e164.h"

#include "fuzz.h"

static struct fake {
    const uint8_t *body;
    size_t body_len, body_pos, chunk;
    int local_infile, have_contacts, had_rows, strict_map;
    int in_tx, committed;
    long long stored; /* rows written in the transaction */
    long long kept;   /* rows committed, less those an undo deleted */
    long long token;  /* campaigns.import_token (0: NULL) */
    long long answered_accepted;
} F;

/* ---- the FastCGI side --------------------------------------------------------------------- */

int app_need_db(struct request *req)
{
    (void)req;
    return 0;
}

int api_campaign_exists(struct request *req)
{
    (void)req;
    return 1;
}

int http_read_chunk(struct request *req, char *buf, size_t len)
{
    (void)req;
    size_t n = F.body_len - F.body_pos;
    if (n > F.chunk)
        n = F.chunk;
    if (n > len)
        n = len;
    memcpy(buf, F.body + F.body_pos, n);
    F.body_pos += n;
    return (int)n;
}

void http_json(struct request *req, int status, json_object *o)
{
    if (req->status)
        abort(); /* answered twice */
    req->status = status;
    json_object *a;
    if (status == 200 && json_object_object_get_ex(o, "accepted", &a))
        F.answered_accepted = json_object_get_int64(a);
    (void)json_object_to_json_string(o); /* the answer serializes */
    json_object_put(o);
}

void http_error(struct request *req, int status, const char *code, const char *message,
                const char *field)
{
    (void)field;
    if (req->status || !code || !message || !*message)
        abort();
    req->status = status;
}

void http_errorf(struct request *req, int status, const char *code, const char *field,
                 const char *fmt, ...)
{
    (void)fmt;
    http_error(req, status, code, "formatted", field);
}

void http_db_error(struct request *req, const char *what)
{
    http_error(req, 500, "database_error", what, NULL);
}

void http_fail(struct request *req, int status, const char *code, const char *field,
               const char *key, json_object *params, const char *detail)
{
    (void)key;
    json_object_put(params);
    http_error(req, status, code, detail ? detail : "failed", field);
}

void api_campaign_fail_import_running(struct request *req)
{
    http_error(req, 409, "import_running", "an import runs", NULL);
}

void http_localize_items(struct request *req, json_object *arr, const char *code_member,
                         const char *prefix)
{
    (void)req;
    (void)arr;
    (void)code_member;
    (void)prefix;
}

char *http_query_param(const char *query, const char *name)
{
    (void)query;
    (void)name;
    return NULL;
}

int http_query_ll(struct request *req, const char *name, long long dflt, long long min,
                  long long max, long long *out)
{
    (void)req;
    (void)name;
    (void)min;
    (void)max;
    *out = dflt;
    return 0;
}

json_object *http_json_body(struct request *req, size_t limit)
{
    (void)req;
    (void)limit;
    return NULL;
}

const char *json_str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

json_object *json_str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

int audit_write(struct request *req, const char *action, const char *target_type,
                long long target_id, long long campaign_id, json_object *detail)
{
    (void)req;
    (void)action;
    (void)target_type;
    (void)target_id;
    (void)campaign_id;
    json_object_put(detail);
    return DB_OK;
}

/* ---- the database side -------------------------------------------------------------------- */

/* The world: contacts (phone, id, consent) and the campaign's numbers. */
static const char *const contacts[][3] = {
    {"+5493875550001", "11", "1"}, {"+5493875550002", "12", "0"}, {"+5493875550004", "14", "1"}};
static const char *const existing[] = {"+5493875550003", "+5493875550005"};

static void rows_init(struct db_rows *r, size_t ncols)
{
    memset(r, 0, sizeof *r);
    r->ncols = ncols;
}

static void rows_add(struct db_rows *r, const char *const *vals)
{
    char **v = realloc(r->v, (r->nrows + 1) * r->ncols * sizeof *v);
    if (!v)
        abort();
    r->v = v;
    for (size_t c = 0; c < r->ncols; c++) {
        v[r->nrows * r->ncols + c] = vals[c] ? strdup(vals[c]) : NULL;
        if (vals[c] && !v[r->nrows * r->ncols + c])
            abort();
    }
    r->nrows++;
}

void db_rows_free(struct db_rows *r)
{
    for (size_t i = 0; i < r->nrows * r->ncols; i++)
        free(r->v[i]);
    free(r->v);
    memset(r, 0, sizeof *r);
}

const char *db_val(const struct db_rows *r, size_t row, size_t c)
{
    if (row >= r->nrows || c >= r->ncols)
        abort();
    return r->v[row * r->ncols + c];
}

long long db_int(const struct db_rows *r, size_t row, size_t c, long long dflt)
{
    const char *s = db_val(r, row, c);
    return s ? strtoll(s, NULL, 10) : dflt;
}

const char *db_error(const struct db *db)
{
    (void)db;
    return "fake database";
}

int db_begin(struct db *db)
{
    (void)db;
    if (F.in_tx)
        abort();
    F.in_tx = 1;
    F.stored = 0;
    return DB_OK;
}

int db_commit(struct db *db)
{
    (void)db;
    if (!F.in_tx)
        abort();
    F.in_tx = 0;
    F.committed = 1;
    F.kept += F.stored;
    F.stored = 0;
    return DB_OK;
}

int db_rollback(struct db *db)
{
    (void)db;
    F.in_tx = 0;
    F.stored = 0;
    return DB_OK;
}

int db_simple(struct db *db, const char *sql)
{
    (void)db;
    (void)sql;
    return DB_OK;
}

int db_writer_slot(const struct db *db)
{
    (void)db;
    return 0; /* one writer: the counters' slot rows are the fake's concern only */
}

int db_local_infile(struct db *db)
{
    (void)db;
    return F.local_infile;
}

static int arg_is(const db_arg *a, const char *s)
{
    return a->t == DB_T_STR && a->n == strlen(s) && memcmp(a->s, s, a->n) == 0;
}

/* A value the handler stores: a phone in E.164 and a vars JSON object of valid UTF-8. */
static void check_row(const char *phone, size_t plen, const char *vars, size_t vlen)
{
    if (plen < 8 || plen > E164_MAX || phone[0] != '+')
        abort();
    for (size_t i = 1; i < plen; i++)
        if (phone[i] < '0' || phone[i] > '9')
            abort();
    if (!csvin_utf8_valid(vars, vlen) || memchr(vars, 0, vlen))
        abort();
    json_tokener *tok = json_tokener_new();
    if (!tok)
        abort();
    json_object *o = json_tokener_parse_ex(tok, vars, (int)vlen);
    if (!o || !json_object_is_type(o, json_type_object) || json_tokener_get_parse_end(tok) != vlen)
        abort();
    json_object_put(o);
    json_tokener_free(tok);
}

int db_query(struct db *db, const char *sql, const db_arg *args, size_t nargs, struct db_rows *rows)
{
    (void)db;
    if (strstr(sql, "import_lease_until < NOW(3), import_floor_id")) {
        rows_init(rows, 3); /* the settle before the transaction: no import holds it */
        rows_add(rows, (const char *[]){F.token ? "1" : "0", "0", NULL});
        return DB_OK;
    }
    if (!F.in_tx)
        abort(); /* every other read of an upload is inside its transaction */
    if (strstr(sql, "SELECT import_token FROM campaigns")) {
        char t[24];
        snprintf(t, sizeof t, "%lld", F.token);
        rows_init(rows, 1);
        rows_add(rows, (const char *[]){F.token ? t : NULL});
    } else if (strstr(sql, "MAX(id)")) {
        rows_init(rows, 1);
        rows_add(rows, (const char *[]){F.had_rows ? "7" : "0"});
    } else if (strstr(sql, "FROM campaigns c")) {
        rows_init(rows, 6);
        const char *map = F.strict_map ? "[{\"column\":\"name\"},{\"column\":\"day\","
                                         "\"fallback\":\"lunes\"}]"
                                       : "[\"fijo\",{\"column\":\"day\",\"fallback\":\"x\"}]";
        rows_add(rows, (const char *[]){"draft", "AR", map, F.had_rows ? "2" : "0",
                                        F.have_contacts ? "1" : "0", F.token ? "1" : "0"});
    } else if (strstr(sql, "FROM opt_outs")) {
        rows_init(rows, 1);
        rows_add(rows, (const char *[]){"+5493875550006"});
    } else if (strstr(sql, "FROM contacts LIMIT ?")) {
        rows_init(rows, 3);
        for (size_t i = 0; i < sizeof contacts / sizeof contacts[0]; i++)
            rows_add(rows, contacts[i]);
    } else if (strstr(sql, "FROM contacts WHERE phone IN")) {
        rows_init(rows, 6);
        for (size_t i = 0; i < sizeof contacts / sizeof contacts[0]; i++)
            for (size_t a = 0; a < nargs; a++)
                if (arg_is(&args[a], contacts[i][0])) {
                    rows_add(rows, (const char *[]){contacts[i][0], contacts[i][1], contacts[i][2],
                                                    "Nombre", NULL, "{\"plan\":\"oro\"}"});
                    break;
                }
    } else if (strstr(sql, "FROM recipients WHERE campaign_id = ?")) {
        int in = strstr(sql, "phone IN") != NULL;
        rows_init(rows, 1);
        for (size_t i = 0; i < sizeof existing / sizeof existing[0]; i++) {
            int hit = !in;
            for (size_t a = 1; in && a < nargs; a++)
                hit |= arg_is(&args[a], existing[i]);
            if (hit)
                rows_add(rows, &existing[i]);
        }
    } else {
        abort(); /* a query the fake does not know: teach it */
    }
    return DB_OK;
}

int db_exec(struct db *db, const char *sql, const db_arg *args, size_t nargs, struct db_res *res)
{
    (void)db;
    if (!F.in_tx)
        abort();
    struct db_res r = {0, 1};
    if (strncmp(sql, "INSERT INTO recipients", 22) == 0) {
        if (nargs == 0 || nargs % 4)
            abort();
        for (size_t i = 0; i < nargs; i += 4) {
            if (args[i + 1].t != DB_T_STR || args[i + 3].t != DB_T_STR)
                abort();
            check_row(args[i + 1].s, args[i + 1].n, args[i + 3].s, args[i + 3].n);
        }
        r.affected = nargs / 4;
        F.stored += (long long)r.affected;
    } else if (strncmp(sql, "UPDATE campaigns SET import_token = ?", 37) == 0) {
        if (args[0].t != DB_T_INT || args[0].i <= 0)
            abort();
        F.token = args[0].i;
        r.affected = 1;
    } else if (strncmp(sql, "UPDATE campaigns SET import_token = NULL", 40) == 0) {
        F.token = 0;
        r.affected = 1;
    } else if (strncmp(sql, "DELETE FROM recipients", 22) == 0) {
        if (!F.token || nargs != 3)
            abort(); /* an undo runs only under its marker */
        r.affected =
            (unsigned long long)(F.kept + F.stored < args[2].i ? F.kept + F.stored : args[2].i);
        F.stored -= (long long)r.affected; /* counted against what the commit adds */
    } else if (strncmp(sql, "UPDATE campaigns", 16) == 0 ||
               strncmp(sql, "INSERT INTO audience_imports", 28) == 0) {
        r.affected = 1;
    } else {
        abort();
    }
    if (res)
        *res = r;
    return DB_OK;
}

/* One LOAD DATA line: campaign id, phone, contact id or \N, vars; escaped with '\'. */
static void check_stream_line(const char *s, size_t len)
{
    char *u = malloc(len + 1);
    if (!u)
        abort();
    size_t f = 0, k = 0, start[4] = {0};
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\t') {
            if (++f > 3)
                abort();
            u[k++] = '\0';
            start[f] = k;
        } else if (s[i] == '\\') {
            if (++i == len)
                abort();
            const char *from = "\\tnr0N", *to = "\\\t\n\r\0N";
            const char *p = memchr(from, s[i], 6);
            if (!p)
                abort();
            u[k++] = to[p - from];
        } else {
            u[k++] = s[i];
        }
    }
    u[k] = '\0';
    if (f != 3 || strcmp(u, "1") != 0)
        abort();
    check_row(u + start[1], start[2] - start[1] - 1, u + start[3], k - start[3]);
    free(u);
}

int db_load_stream(struct db *db, const char *sql, const char *name, db_stream_fn fn, void *ctx,
                   struct db_res *res, unsigned int *warnings, int *started)
{
    (void)db;
    if (!F.in_tx || strstr(sql, name) == NULL)
        abort();
    *started = 1;
    *warnings = 0;
    char *line = NULL;
    size_t llen = 0, lcap = 0;
    long long n = 0;
    char buf[4096];
    int got;
    unsigned int len = 1 + (unsigned)(F.chunk % sizeof buf);
    while ((got = fn(ctx, buf, len)) > 0) {
        if ((unsigned)got > len)
            abort();
        for (int i = 0; i < got; i++) {
            if (buf[i] == '\n') {
                check_stream_line(line ? line : "", llen);
                llen = 0;
                n++;
                continue;
            }
            if (llen == lcap) {
                lcap = lcap ? lcap * 2 : 256;
                char *l = realloc(line, lcap);
                if (!l)
                    abort();
                line = l;
            }
            line[llen++] = buf[i];
        }
    }
    free(line);
    if (got < 0)
        return DB_ERR; /* the handler cut the stream short: the statement fails */
    if (llen)
        abort(); /* every line ends with '\n' */
    F.stored += n;
    res->affected = (unsigned long long)n;
    res->insert_id = 0;
    return DB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static struct app app;
    if (!app.cfg.body_limit) {
        app.cfg.body_limit = 1 << 20;
        if (log_init("fuzz", "error", NULL) < 0) /* no log line per upload */
            abort();
    }
    memset(&F, 0, sizeof F);
    F.local_infile = data[0] & 1;
    F.have_contacts = (data[0] >> 1) & 1;
    F.had_rows = (data[0] >> 2) & 1;
    F.strict_map = (data[0] >> 3) & 1;
    F.chunk = data[1] < 128 ? (size_t)data[1] + 1 : 65536;
    app.cfg.import_chunk_rows = (data[0] >> 4) & 1 ? 3 : 0;
    F.body = data + 2;
    F.body_len = size - 2;
    struct request req;
    memset(&req, 0, sizeof req);
    req.app = &app;
    req.ids[0] = 1;
    req.nids = 1;
    req.user = "fuzz@pregon.test";
    req.content_length = (long long)F.body_len;
    api_recipients_upload(&req);
    if (req.status == 0 || req.status >= 500 || F.in_tx)
        abort(); /* always answered, never a server error, never a transaction left open */
    if (req.status == 200) {
        if (!F.committed || F.kept != F.answered_accepted || F.token)
            abort();
    } else if (F.kept != 0 || F.token) {
        abort(); /* a refused upload keeps nothing */
    }
    return 0;
}
