/*
 * Fuzzes the config loader: the input is written to a file in a private temporary directory
 * and read with cfg_load, errors going to /dev/null. Inputs with libconfig's @include are
 * skipped: they would read other files of this machine, which is not our parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "fuzz.h"

static char path[64];
static FILE *errs;

/* Removes the temporary file and its directory at exit. */
static void cleanup(void)
{
    char *slash;

    unlink(path);
    slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        rmdir(path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct md_config *c = NULL;
    FILE *f;

    if (!errs) {
        char dir[] = "/tmp/mdfeed-fuzz-config.XXXXXX";

        FZ_CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
        errs = fopen("/dev/null", "w");
        FZ_CHECK(errs != NULL);
        atexit(cleanup);
    }
    if (memmem(data, size, "@include", 8))
        return 0;
    f = fopen(path, "w");
    FZ_CHECK(f != NULL);
    FZ_CHECK(fwrite(data, 1, size, f) == size);
    FZ_CHECK(fclose(f) == 0);
    if (cfg_load(path, errs, &c) == 0) {
        FZ_CHECK(c != NULL);
        for (size_t i = 0; i < c->n_venues; i++)
            FZ_CHECK(cfg_venue_find(c, c->venues[i].name) != NULL);
    }
    cfg_free(c);
    return 0;
}
