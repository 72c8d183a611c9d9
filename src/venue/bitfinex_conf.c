/*
 * The config rules bitfinex declares (venue/vconf.h).
 */
#include "venue/vconf.h"

const struct venue_conf bitfinex_conf = {
    .refused = NULL,
    .n_refused = 0,
};
