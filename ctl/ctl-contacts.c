/* pregonctl contacts-import: the API's contact import (lib/contacts_import.c) from a file or
 * standard input, for imports too large or too routine for the browser. */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_log.h"
#include "config.h"
#include "contacts_import.h"
#include "ctl.h"
#include "db.h"
#include "e164.h"
#include "msgcat.h"

static void import_usage(void)
{
    fprintf(stderr, "usage: pregonctl contacts-import FILE|- [--tags a,b] [--consent-source S]\n"
                    "       [--country CC] [--dry-run] [--json]\n");
}

/* The default country of the API: the first real account's, else AR. */
static void default_country(struct db *db, char out[3])
{
    struct db_rows r;
    snprintf(out, 3, "AR");
    if (db_query(db, "SELECT default_country FROM wa_accounts ORDER BY is_sandbox, id LIMIT 1",
                 DB_NOARGS, &r) == DB_OK) {
        if (r.nrows && db_val(&r, 0, 0))
            snprintf(out, 3, "%s", db_val(&r, 0, 0));
        db_rows_free(&r);
    }
}

static int audit(struct db *db, json_object *report, const char *file)
{
    char actor[120];
    struct passwd *pw = getpwuid(getuid());
    snprintf(actor, sizeof actor, "pregonctl:%s", pw && pw->pw_name ? pw->pw_name : "?");
    json_object *d = json_object_new_object();
    static const char *const keys[] = {"rows", "stored", "added", "rejected_total"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_object *v;
        if (json_object_object_get_ex(report, keys[i], &v))
            json_object_object_add(d, i == 3 ? "rejected" : keys[i], json_object_get(v));
    }
    json_object_object_add(d, "file", json_object_new_string(file));
    return audit_log_write(db, actor, NULL, "contacts.import", "contact", 0, 0, d);
}

static void print_report(json_object *rep, int dry)
{
    json_object *v;
    long long n[4] = {0};
    static const char *const keys[] = {"rows", "stored", "added", "rejected_total"};
    for (size_t i = 0; i < 4; i++)
        if (json_object_object_get_ex(rep, keys[i], &v))
            n[i] = json_object_get_int64(v);
    printf("%s%lld rows: %lld stored (%lld new contacts), %lld rejected\n",
           dry ? "dry run, nothing stored: " : "", n[0], n[1], n[2], n[3]);
    if (json_object_object_get_ex(rep, "rejected_by_reason", &v)) {
        json_object_object_foreach(v, reason, cnt)
        {
            printf("  %-16s %lld\n", reason, (long long)json_object_get_int64(cnt));
        }
    }
    json_object *rej;
    if (json_object_object_get_ex(rep, "rejected", &rej))
        for (size_t i = 0; i < json_object_array_length(rej); i++) {
            json_object *r = json_object_array_get_idx(rej, i), *l, *why, *msg;
            if (json_object_object_get_ex(r, "line", &l) &&
                json_object_object_get_ex(r, "reason", &why) &&
                json_object_object_get_ex(r, "message", &msg))
                printf("line %lld: %s: %s\n", (long long)json_object_get_int64(l),
                       json_object_get_string(why), json_object_get_string(msg));
        }
    if (n[3] > (long long)json_object_array_length(rej))
        printf("(only the first %zu rejected rows are listed)\n", json_object_array_length(rej));
}

int ctl_contacts_import(const struct config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"tags", required_argument, NULL, 't'},    {"consent-source", required_argument, NULL, 's'},
        {"country", required_argument, NULL, 'c'}, {"dry-run", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},          {NULL, 0, NULL, 0},
    };
    const char *tags = NULL, *source = NULL, *country = NULL;
    int dry = 0, as_json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            tags = optarg;
            break;
        case 's':
            source = optarg;
            break;
        case 'c':
            country = optarg;
            break;
        case 'n':
            dry = 1;
            break;
        case 'j':
            as_json = 1;
            break;
        default:
            import_usage();
            return 2;
        }
    }
    if (optind + 1 != argc) {
        import_usage();
        return 2;
    }
    const char *path = argv[optind];
    if (source && (!*source || strlen(source) > 120)) {
        fprintf(stderr, "pregonctl: --consent-source has 1 to 120 characters\n");
        return 2;
    }
    if (country && e164_country_calling_code(country) == 0) {
        fprintf(stderr, "pregonctl: --country %s is not a country Pregón knows\n", country);
        return 2;
    }
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        perror(path);
        return 1;
    }
    int rc = 1;
    struct contacts_import *u = NULL;
    struct db *db = db_open(cfg);
    if (!db || db_ensure(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db ? db_error(db) : "out of memory");
        goto out;
    }
    char cc[3];
    if (country)
        snprintf(cc, sizeof cc, "%s", country);
    else
        default_country(db, cc);
    struct contacts_import_opts o = {.country = cc, .tags = tags, .consent_source = source};
    if (!(u = contacts_import_new(db, &o))) {
        fprintf(stderr, "pregonctl: out of memory\n");
        goto out;
    }
    /* as the API: a chunked import whose process died is finished or discarded first */
    int st = contacts_import_settle(db);
    if (st == CONTACTS_IMPORT_RUNNING) {
        fprintf(stderr, "pregonctl: contacts are being imported by another import; try again "
                        "when it ends (import_running)\n");
        goto out;
    }
    if (st < 0 || db_begin(db) != DB_OK) {
        fprintf(stderr, "pregonctl: database: %s\n", db_error(db));
        goto out;
    }
    /* a dry run rolls back at the end: its rows must not commit in chunks */
    if (!dry)
        contacts_import_set_chunk(u, cfg->import_chunk_rows);
    static char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, in)) > 0)
        if (contacts_import_feed(u, buf, got) < 0)
            break;
    if (ferror(in))
        contacts_import_fail(u, 400, "read_error", NULL, "could not read the file");
    contacts_import_finish(u);
    const char *code, *field, *msg;
    if (contacts_import_failure(u, &code, &field, &msg)) {
        db_rollback(db);
        contacts_import_close(u);
        fprintf(stderr, "pregonctl: %s: nothing imported: %s (%s)\n", path, msg, code);
        goto out;
    }
    json_object *rep = contacts_import_report(u), *rows;
    /* the rows' reasons in the operator's language, as the API gives them (PREGON_LANG, else
     * LANG; Spanish by default) */
    if (json_object_object_get_ex(rep, "rejected", &rows))
        msgcat_localize_items(rows, "reason", "import.",
                              msgcat_lang(getenv("PREGON_LANG"), getenv("LANG")));
    if (dry) {
        db_rollback(db);
    } else if (audit(db, rep, path) != DB_OK || db_commit(db) != DB_OK) {
        db_rollback(db);
        contacts_import_close(u);
        fprintf(stderr, "pregonctl: database: %s; nothing imported\n", db_error(db));
        json_object_put(rep);
        goto out;
    }
    contacts_import_close(u);
    if (as_json)
        printf("%s\n", json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        print_report(rep, dry);
    long long rejected;
    contacts_import_counts(u, NULL, NULL, NULL, &rejected);
    rc = rejected ? 3 : 0;
    json_object_put(rep);
out:
    contacts_import_free(u);
    db_close(db);
    if (in != stdin)
        fclose(in);
    return rc;
}
