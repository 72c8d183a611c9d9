/*
 * The config rules a venue declares (struct venue_proto's `conf`): how its symbols and intervals
 * are spelt, which of the loader's keys it has no use for (refused with the venue's reason), and
 * the options only it has. The loader's generic part (config/config.c) asks these tables and
 * never which venue it reads.
 */
#ifndef MDF_VENUE_VCONF_H
#define MDF_VENUE_VCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "venue/venue.h"

/* A config key the venue has no use for: setting it is an error giving the reason. */
struct venue_refusal {
    const char *key; /* the key as the config spells it ("rest_url") */
    bool only_true;  /* a switch refused only when set to true */
    const char *why; /* the reason, after "key: " */
};

struct venue_conf {
    const struct venue_refusal *refused; /* keys refused */
    size_t n_refused;                    /* their count */
};

extern const struct venue_conf binance_conf;  /* venue/binance_conf.c */
extern const struct venue_conf bitfinex_conf; /* venue/bitfinex_conf.c */
extern const struct venue_conf bybit_conf;    /* venue/bybit_conf.c */
extern const struct venue_conf okx_conf;      /* venue/okx_conf.c */

#endif /* MDF_VENUE_VCONF_H */
