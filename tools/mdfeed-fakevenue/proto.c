/*
 * The table of venue modules (struct fv_proto in fv.h): --venue NAME picks one line of it.
 * Adding a venue is one line here and the module's own files (README.md, "Adding a venue").
 */
#include <stdio.h>
#include <string.h>

#include "fv.h"

/* Every module, one line each, in the order the usage error lists them. */
static const struct fv_proto *const MODULES[] = {
    &fv_proto_binance_spot, &fv_proto_binance_futures, &fv_proto_bitfinex,
    &fv_proto_bybit_spot,   &fv_proto_bybit_linear,    &fv_proto_okx,
};

#define N_MODULES (sizeof(MODULES) / sizeof(MODULES[0]))

/* See fv.h. */
const struct fv_proto *fv_proto_find(const char *name)
{
    for (size_t i = 0; i < N_MODULES; i++)
        if (strcmp(MODULES[i]->name, name) == 0)
            return MODULES[i];
    return NULL;
}

/* See fv.h: built once into a static buffer. */
const char *fv_proto_names(void)
{
    static char buf[512];
    size_t n = 0;

    if (buf[0])
        return buf;
    for (size_t i = 0; i < N_MODULES && n < sizeof(buf); i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
                              i == 0               ? ""
                              : i + 1 == N_MODULES ? " or "
                                                   : ", ",
                              MODULES[i]->name);
    return buf;
}

/* See fv.h. */
const char *fv_opts_binance_only(const struct fv_opts *o)
{
    if (o->rest_file)
        return "--rest";
    if (o->synth)
        return "--synthetic";
    if (o->market)
        return "--market";
    if (o->market_quiet)
        return "--market-quiet";
    if (o->market_sparse)
        return "--market-sparse";
    if (o->n_refuse)
        return "--refuse-stream";
    return NULL;
}

/* See fv.h. */
bool fv_binance_spot(const struct fv_opts *o)
{
    return o->proto->variant == FV_BINANCE_SPOT;
}
