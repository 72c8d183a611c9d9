/*
 * The venues' adapters, by protocol name (daemon/adapter.h): one line per venue.
 */
#include "daemon/adapter.h"

#include <errno.h>
#include <string.h>

#include "core/err.h"

static const struct feed_adapter *const adapters[] = {
    &binance_adapter,
    &bitfinex_adapter,
    &bybit_adapter,
    &okx_adapter,
};

const struct feed_adapter *adapter_find(const struct venue_profile *p)
{
    for (size_t i = 0; i < sizeof(adapters) / sizeof(adapters[0]); i++)
        if (strcmp(adapters[i]->name, p->proto->name) == 0)
            return adapters[i];
    err_set(-ENOENT, "venue %s: no adapter for its protocol %s", p->name, p->proto->name);
    return NULL;
}
