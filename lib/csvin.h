/* Streaming CSV input for spreadsheet uploads, on top of libcsv.
 *
 * Accepts what Excel, LibreOffice and Google Sheets write in Spanish and English locales: a
 * header row; ',' ';' or tab separators (detected from the first non-blank line, outside
 * quotes); quoted fields with embedded separators, doubled quotes and newlines; UTF-8 with or
 * without BOM; CRLF, LF or CR line ends. Blank lines, and rows whose fields are all empty (what
 * spreadsheets write for empty rows: ";;;"), are skipped. As libcsv does, spaces and tabs
 * around unquoted fields are dropped; quoted fields are kept verbatim. Bytes are passed through
 * unchanged: use csvin_utf8_valid() on fields that must be text.
 *
 * Memory is bounded by the limits given to csvin_new(), whatever the input size, and reused
 * from row to row. One object per stream; objects are independent (thread-safe apart). */
#ifndef PREGON_CSVIN_H
#define PREGON_CSVIN_H

#include <stddef.h>

#define CSVIN_DEFAULT_MAX_FIELD  65536
#define CSVIN_DEFAULT_MAX_FIELDS 256

enum csvin_status {
    CSVIN_OK = 0,
    CSVIN_ENOMEM = -1,        /* allocation failed */
    CSVIN_EFIELD_LONG = -2,   /* a field is longer than max_field */
    CSVIN_ETOO_MANY = -3,     /* a row has more than max_fields fields */
    CSVIN_EQUOTE = -4,        /* malformed quoting: `a"b`, `"a"b` */
    CSVIN_EUNTERMINATED = -5, /* the input ends inside a quoted field */
    CSVIN_EENCODING = -6,     /* UTF-16/UTF-32 input */
    CSVIN_EUSAGE = -7,        /* csvin_feed after csvin_finish */
};

struct csvin; /* opaque */

/* Returns NULL on allocation failure. max_field: longest field accepted (bytes); max_fields:
 * most fields per row; 0 selects CSVIN_DEFAULT_MAX_FIELD / CSVIN_DEFAULT_MAX_FIELDS.
 * Free with csvin_free(). */
struct csvin *csvin_new(size_t max_field, size_t max_fields);
void csvin_free(struct csvin *c);

/* Called once per non-blank record. line = physical line number where the record starts
 * (1 = first line of the input). fields are NUL-terminated copies (fields[nfields] is NULL),
 * writable and valid only during the call; lens their lengths (fields may hold NUL bytes).
 * Return 0 to go on, non-zero to stop parsing (csvin_feed then returns that value). */
typedef int (*csvin_row_fn)(void *ctx, size_t line, size_t nfields, char **fields,
                            const size_t *lens);

/* Called instead of the row callback for a record that breaks a limit: a field longer than
 * max_field (status CSVIN_EFIELD_LONG) or more than max_fields fields (CSVIN_ETOO_MANY). line
 * = where the record starts; what = the reason in English ("field longer than 65536 bytes").
 * The record's content is dropped as it streams by, so memory stays bounded. Return 0 to go
 * on, non-zero to stop as the row callback does. */
typedef int (*csvin_skip_fn)(void *ctx, size_t line, int status, const char *what);

/* Installs fn (NULL: none, the default). Without it, a record that breaks a limit stops the
 * parse with that status. Call before the first csvin_feed(). */
void csvin_on_skip(struct csvin *c, csvin_skip_fn fn);

/* Parses the next chunk of the input, of any size, calling fn for each complete record.
 * Returns 0, a negative enum csvin_status (see csvin_error()), or the non-zero value fn
 * returned. Errors and stops are sticky: later calls return the same value. */
int csvin_feed(struct csvin *c, const char *buf, size_t len, csvin_row_fn fn, void *ctx);

/* Ends the input: flushes the last record (one without a final newline) and reports an
 * unterminated quoted field. Same return values as csvin_feed(). */
int csvin_finish(struct csvin *c, csvin_row_fn fn, void *ctx);

/* Why the last csvin_feed/csvin_finish failed, naming the line, e.g.
 * "line 17: field longer than 65536 bytes"; "" when nothing failed. Valid until the next call. */
const char *csvin_error(const struct csvin *c);

/* Current physical line (1-based): the line the parser is on. */
size_t csvin_line(const struct csvin *c);

/* Detected delimiter (',', ';' or '\t'); 0 before the header line has been seen. */
char csvin_delimiter(const struct csvin *c);

/* Bytes of buffers held (libcsv's field buffer, the row, the header sniffing buffer). */
size_t csvin_memory(const struct csvin *c);

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or code points above
 * U+10FFFF), 0 otherwise. */
int csvin_utf8_valid(const char *s, size_t len);

/* Index of the header field equal to name, ignoring spaces and tabs around the field and case
 * (ASCII letters and the accented Latin-1 letters: "TELÉFONO" matches "teléfono"); -1 when no
 * field matches. */
int csvin_header_index(char **fields, size_t n, const char *name);

/* Whether a header row is text one can name columns with: every name valid UTF-8, with no NUL
 * or other control byte (a spreadsheet, an image or a zip renamed .csv fails here, rather
 * than showing binary garbage as column names). Returns 0, or -1 with the reason, naming
 * the line and column, in msg. One rule for the audience and the contacts imports. */
int csvin_header_check(char **fields, const size_t *lens, size_t n, size_t line, char *msg,
                       size_t msglen);

#endif
