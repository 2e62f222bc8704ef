/* CSV export cells, for every export (log.csv, failed.csv): libcsv's quoting, and OWASP's
 * rule against CSV injection in one place: a cell that starts with =, +, -, @, a tab or a CR
 * gets a leading ' so a spreadsheet shows it as text instead of running it as a formula
 * ("-2+3+cmd|' /C calc'!A0"). Numbers such as +5493875551234 get it too: OWASP makes no
 * exception, and a spreadsheet shows the text unchanged. */
#ifndef PREGON_CSVOUT_H
#define PREGON_CSVOUT_H

#include <stddef.h>

struct csvout {
    char *buf; /* the line being built (no line end), malloc'd */
    size_t len, cap;
    int failed; /* out of memory: a cell was lost; the line must not be sent */
};

/* 1 when a spreadsheet could read the cell as a formula (first byte =, +, -, @, TAB, CR). */
int csvout_formula_risky(const char *s);

/* Appends one cell (NULL: empty), after a ',' unless it is the first of the line. Returns 0,
 * or -1 out of memory (l->failed is then set). */
int csvout_cell(struct csvout *l, const char *s);

/* Starts the next line (keeps the buffer); csvout_free releases it. */
void csvout_clear(struct csvout *l);
void csvout_free(struct csvout *l);

#endif
