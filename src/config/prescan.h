/*
 * A second look at a configuration file libconfig refused, to say what it does not: libconfig
 * reports "syntax error" without the token and "duplicate setting name" without the name. The
 * pre-scan reads the file with libconfig's grammar (settings, groups, lists, arrays, scalars,
 * comments) and names the first token that does not fit, or the setting set twice in one group,
 * with its line.
 */
#ifndef MDF_CONFIG_PRESCAN_H
#define MDF_CONFIG_PRESCAN_H

#include <stddef.h>

/* Scans text[0..len) (a whole file). On the first syntax error or duplicate setting name,
 * writes its line to *line and a message to msg (cap bytes) such as
 *   syntax error at "1m" (expected a value)
 *   duplicate setting "book_depth" (first set on line 3)
 * and returns 1; returns 0 if it finds nothing wrong, -ENOMEM if out of memory. */
int cfg_prescan(const char *text, size_t len, int *line, char *msg, size_t cap);

#endif /* MDF_CONFIG_PRESCAN_H */
