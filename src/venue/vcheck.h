/*
 * Range checks of decoded values, shared by the venue decoders (venue.h promises that every
 * field's range is checked): whether a decimal is positive or not negative, an integer at least
 * a minimum, a candle consistent in itself, a best bid and offer crossed.
 *
 * Design: a check only says what is wrong (the caller's name for the field and why, with the
 * value); each decoder turns that into its own err_set() message with its context, so every
 * venue names fields its own way ("kline.k.h", "bitfinex candles: candle 3: high") from the
 * same rules. A value out of range is -ERANGE, which the daemon counts as a range error and
 * does not publish.
 */
#ifndef MDF_VENUE_VCHECK_H
#define MDF_VENUE_VCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include <mdfeed/layout.h>

/* What a decimal may be. */
enum vbound {
    VB_ANY = 0,    /* any sign: a price change, a funding rate */
    VB_NONNEG = 1, /* >= 0: a volume, a count, a book quantity (0 deletes the level), a price
                      the venue sends as 0 for "none" (a ticker's bid with an empty book) */
    VB_POS = 2,    /* > 0: a trade's price and quantity, a candle's prices, a level's price */
};

/* What a check found out of range. */
struct vbad {
    const char *field; /* the field, as the caller named it (borrowed) */
    char why[240];     /* why, with the value: "-1.5 is negative", "0.5 is below low 1" */
};

/* A candle's fields in a venue's spelling, for vcheck_candle(). */
struct vcandle_names {
    const char *open, *high, *low, *close; /* the prices */
    const char *volume;                    /* base volume */
    const char *quote_volume;              /* quote volume; NULL if the venue sends none */
    const char *taker_buy_base;            /* taker buy base volume; NULL if none */
    const char *taker_buy_quote;           /* taker buy quote volume; NULL if none */
    const char *trades;                    /* trade count; NULL if none */
    const char *first_id;                  /* first trade id; NULL if the venue gives no ids */
    const char *last_id;                   /* last trade id; NULL if none */
};

/* True if v is within b. */
bool vcheck_in(struct mdf_dec v, enum vbound b);

/* Checks decimal v, called field, against b. Returns 0, or -ERANGE with *bad filled. */
int vcheck_dec(const char *field, struct mdf_dec v, enum vbound b, struct vbad *bad);

/* Checks that integer v, called field, is at least min. Returns 0, or -ERANGE with *bad. */
int vcheck_int(const char *field, int64_t v, int64_t min, struct vbad *bad);

/* Checks that high (field hf) is not below low (field lf); either 0 ("none") passes. Returns 0,
 * or -ERANGE with *bad naming hf. */
int vcheck_high_low(const char *hf, struct mdf_dec high, const char *lf, struct mdf_dec low,
                    struct vbad *bad);

/* Checks that trade id first (field ff) is not above last (field lf). Returns 0, or -ERANGE
 * with *bad naming ff. */
int vcheck_id_order(const char *ff, int64_t first, const char *lf, int64_t last, struct vbad *bad);

/* Checks a decoded candle: open, high, low, close > 0 with low <= open, close <= high; the
 * volumes >= 0; the trade count >= 0; and, where the venue gives ids, first and last both -1 (no
 * trade in the interval) or 0 <= first <= last. Fields named NULL are not checked. Returns 0,
 * or -ERANGE with *bad naming the first field found wrong. */
int vcheck_candle(const struct mdf_candle *k, const struct vcandle_names *nm, struct vbad *bad);

/* True if a best bid and offer are crossed or locked: bid >= ask with both > 0 (0 stands for
 * "no bid" or "no ask", which crosses nothing). */
bool vcheck_crossed(struct mdf_dec bid, struct mdf_dec ask);

#endif /* MDF_VENUE_VCHECK_H */
