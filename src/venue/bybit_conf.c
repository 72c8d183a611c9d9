/*
 * The config rules Bybit declares (venue/vconf.h).
 */
#include "venue/vconf.h"

const struct venue_conf bybit_conf = {
    .refused = NULL,
    .n_refused = 0,
};
