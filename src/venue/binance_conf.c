/*
 * The config rules binance declares (venue/vconf.h).
 */
#include "venue/vconf.h"

const struct venue_conf binance_conf = {
    .refused = NULL,
    .n_refused = 0,
};
