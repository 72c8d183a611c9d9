/*
 * Names of the layout's enumerations (rings, record types, intervals, book states, event codes)
 * and their parsers: one table per enumeration, shared by the reader library and the tools.
 */
#include <errno.h>
#include <string.h>

#include <mdfeed/mdfeed.h>

static const char *const ring_names[MDF_RING_COUNT] = {
    [MDF_RING_TICKS] = "ticks",     [MDF_RING_CANDLES] = "candles", [MDF_RING_BOOKS] = "books",
    [MDF_RING_FUNDING] = "funding", [MDF_RING_EVENTS] = "events",
};

static const char *const type_names[MDF_REC_TYPE_COUNT] = {
    [MDF_REC_NONE] = "none",
    [MDF_REC_TRADE] = "trade",
    [MDF_REC_BBO] = "bbo",
    [MDF_REC_TICKER] = "ticker",
    [MDF_REC_LIQUIDATION] = "liquidation",
    [MDF_REC_CANDLE] = "candle",
    [MDF_REC_BOOK] = "book",
    [MDF_REC_FUNDING] = "funding",
    [MDF_REC_EVENT] = "event",
};

/* Interval names follow Binance ("1M" is a month, "1m" a minute). */
static const struct {
    const char *name; /* canonical name */
    int64_t secs;     /* length; 0 for months */
} intervals[MDF_IV_COUNT] = {
    [MDF_IV_NONE] = {"none", 0},  [MDF_IV_1S] = {"1s", 1},       [MDF_IV_1M] = {"1m", 60},
    [MDF_IV_3M] = {"3m", 180},    [MDF_IV_5M] = {"5m", 300},     [MDF_IV_15M] = {"15m", 900},
    [MDF_IV_30M] = {"30m", 1800}, [MDF_IV_1H] = {"1h", 3600},    [MDF_IV_2H] = {"2h", 7200},
    [MDF_IV_3H] = {"3h", 10800},  [MDF_IV_4H] = {"4h", 14400},   [MDF_IV_6H] = {"6h", 21600},
    [MDF_IV_8H] = {"8h", 28800},  [MDF_IV_12H] = {"12h", 43200}, [MDF_IV_1D] = {"1d", 86400},
    [MDF_IV_3D] = {"3d", 259200}, [MDF_IV_1W] = {"1w", 604800},  [MDF_IV_14D] = {"14d", 1209600},
    [MDF_IV_1MO] = {"1M", 0},
};

static const char *const state_names[] = {
    [MDF_BOOK_EMPTY] = "EMPTY",         [MDF_BOOK_SYNCING] = "SYNCING", [MDF_BOOK_LIVE] = "LIVE",
    [MDF_BOOK_RESYNCING] = "RESYNCING", [MDF_BOOK_STALE] = "STALE",
};

static const char *const event_names[MDF_EV_COUNT] = {
    [MDF_EV_NONE] = "NONE",
    [MDF_EV_FEED_STARTED] = "FEED_STARTED",
    [MDF_EV_FEED_STOPPING] = "FEED_STOPPING",
    [MDF_EV_FEED_START_FAILED] = "FEED_START_FAILED",
    [MDF_EV_CONNECTION_ESTABLISHED] = "CONNECTION_ESTABLISHED",
    [MDF_EV_CONNECTION_RECONNECTING] = "CONNECTION_RECONNECTING",
    [MDF_EV_CONNECTION_DISCONNECTED] = "CONNECTION_DISCONNECTED",
    [MDF_EV_CONNECTION_ERROR] = "CONNECTION_ERROR",
    [MDF_EV_FEED_STALE] = "FEED_STALE",
    [MDF_EV_BOOK_RESYNC] = "BOOK_RESYNC",
    [MDF_EV_SUBSCRIPTION_SILENT] = "SUBSCRIPTION_SILENT",
    [MDF_EV_WATCHDOG_TRIGGERED] = "WATCHDOG_TRIGGERED",
    [MDF_EV_CONFIG_RELOADED] = "CONFIG_RELOADED",
    [MDF_EV_CONNECTION_ROTATING] = "CONNECTION_ROTATING",
    [MDF_EV_SUBSCRIPTION_FAILED] = "SUBSCRIPTION_FAILED",
    [MDF_EV_REST_THROTTLED] = "REST_THROTTLED",
    [MDF_EV_CANDLES_BACKFILLED] = "CANDLES_BACKFILLED",
    [MDF_EV_FEED_RECOVERED] = "FEED_RECOVERED",
    [MDF_EV_BOOK_LIVE] = "BOOK_LIVE",
    [MDF_EV_VENUE_MAINTENANCE] = "VENUE_MAINTENANCE",
    [MDF_EV_SEQUENCE_GAP] = "SEQUENCE_GAP",
    [MDF_EV_DECODE_FAILING] = "DECODE_FAILING",
    [MDF_EV_STREAM_DOWN] = "STREAM_DOWN",
};

MDF_API const char *mdf_ring_name(int ring)
{
    return ring >= 0 && ring < MDF_RING_COUNT ? ring_names[ring] : NULL;
}

MDF_API int mdf_ring_from_name(const char *name)
{
    for (int i = 0; name && i < MDF_RING_COUNT; i++)
        if (strcmp(name, ring_names[i]) == 0)
            return i;
    return -EINVAL;
}

MDF_API const char *mdf_rec_type_name(int type)
{
    return type >= 0 && type < MDF_REC_TYPE_COUNT ? type_names[type] : "?";
}

MDF_API size_t mdf_rec_type_size(int type, uint32_t book_depth)
{
    switch (type) {
    case MDF_REC_TRADE:
        return sizeof(struct mdf_trade);
    case MDF_REC_BBO:
        return sizeof(struct mdf_bbo);
    case MDF_REC_TICKER:
        return sizeof(struct mdf_ticker);
    case MDF_REC_LIQUIDATION:
        return sizeof(struct mdf_liquidation);
    case MDF_REC_CANDLE:
        return sizeof(struct mdf_candle);
    case MDF_REC_BOOK:
        return MDF_BOOK_SIZE(book_depth);
    case MDF_REC_FUNDING:
        return sizeof(struct mdf_funding);
    case MDF_REC_EVENT:
        return sizeof(struct mdf_event);
    default:
        return 0;
    }
}

MDF_API int mdf_rec_type_ring(int type)
{
    switch (type) {
    case MDF_REC_TRADE:
    case MDF_REC_BBO:
    case MDF_REC_TICKER:
    case MDF_REC_LIQUIDATION:
        return MDF_RING_TICKS;
    case MDF_REC_CANDLE:
        return MDF_RING_CANDLES;
    case MDF_REC_BOOK:
        return MDF_RING_BOOKS;
    case MDF_REC_FUNDING:
        return MDF_RING_FUNDING;
    case MDF_REC_EVENT:
        return MDF_RING_EVENTS;
    default:
        return -EINVAL;
    }
}

MDF_API const char *mdf_interval_name(int interval)
{
    return interval > 0 && interval < MDF_IV_COUNT ? intervals[interval].name : "?";
}

MDF_API int mdf_interval_from_name(const char *name)
{
    for (int i = 1; name && i < MDF_IV_COUNT; i++)
        if (strcmp(name, intervals[i].name) == 0)
            return i;
    return -EINVAL;
}

MDF_API int64_t mdf_interval_ns(int interval)
{
    return interval > 0 && interval < MDF_IV_COUNT ? intervals[interval].secs * 1000000000 : 0;
}

MDF_API const char *mdf_book_state_name(int state)
{
    return state >= 0 && state <= MDF_BOOK_STALE ? state_names[state] : "?";
}

MDF_API const char *mdf_book_kind_name(int kind)
{
    static const char *const names[] = {"none", "full", "partial"};

    return kind >= 0 && kind <= MDF_BOOK_KIND_PARTIAL ? names[kind] : "?";
}

MDF_API const char *mdf_event_code_name(int code)
{
    return code >= 0 && code < MDF_EV_COUNT ? event_names[code] : "?";
}
