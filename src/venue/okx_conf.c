/*
 * The config rules OKX declares (venue/vconf.h).
 */
#include "venue/vconf.h"

const struct venue_conf okx_conf = {
    .refused = NULL,
    .n_refused = 0,
};
