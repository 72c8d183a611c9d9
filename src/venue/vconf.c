/*
 * Readers several venues' config rules share (venue/vconf.h).
 */
#include "venue/vconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

#include "core/err.h"

int vconf_upper_symbol(const char *text, bool underscore, const char *venue, char *out, char *note,
                       size_t note_cap)
{
    size_t n = strlen(text);

    note[0] = '\0';
    if (n == 0 || n >= MDF_SYMBOL_MAX)
        goto err_bad;
    for (size_t i = 0; i < n; i++) {
        char ch = text[i];

        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                   (underscore && ch == '_')))
            goto err_bad;
        out[i] = ch;
    }
    out[n] = '\0';
    if (strcmp(text, out) != 0)
        snprintf(note, note_cap, "\"%s\" read as \"%s\" (%s symbols are upper case)", text, out,
                 venue);
    return 0;
err_bad:
    return err_set(-EINVAL, "\"%s\" is not a symbol (1..%u letters%s)", text, MDF_SYMBOL_MAX - 1,
                   underscore ? ", digits or '_'" : " or digits");
}
