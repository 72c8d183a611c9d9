/*
 * The OKX v5 module of the fake venue, between its files: okx.c (the connection: paths, ops,
 * acks and errors, keepalive, limits, and the module table fv_proto_okx), okx_market.c (the
 * synthetic market and the messages of every channel) and okx_replay.c (what a line of an OKX
 * recording is to --replay). Private to those files.
 */
#ifndef MDF_FAKEVENUE_OKXV_H
#define MDF_FAKEVENUE_OKXV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fv.h"

/* The channels the module serves. */
enum okxv_ch {
    OKXV_BOOKS,   /* books: snapshot, then updates chained by seqId/prevSeqId */
    OKXV_BOOKS5,  /* books5: top 5 snapshots */
    OKXV_BBO,     /* bbo-tbt: top of book */
    OKXV_TRADES,  /* trades */
    OKXV_TICKERS, /* tickers */
    OKXV_FUNDING, /* funding-rate (SWAP only) */
    OKXV_MARK,    /* mark-price */
    OKXV_CANDLE,  /* candle<bar>, on /ws/v5/business */
};

/* The endpoints. */
enum okxv_route {
    OKXV_PUBLIC,   /* /ws/v5/public */
    OKXV_BUSINESS, /* /ws/v5/business */
};

/* One subscription of a connection. */
struct okxv_sub {
    uint8_t ch;       /* enum okxv_ch */
    uint8_t bar;      /* candles: bar index (okxv_channel()) */
    uint16_t sym;     /* market symbol index (0 under --replay) */
    int32_t sid;      /* under --replay: its key's stream id (in p->subs); -1 otherwise */
    uint64_t updates; /* books: updates sent since the snapshot */
};

/* An OKX connection (p->vstate, from on_open to on_close). */
struct okx_peer {
    uint8_t route;          /* enum okxv_route of its path */
    char conn_id[12];       /* connId of its events */
    uint64_t last_rx_ms;    /* loop time of the client's last message */
    uint64_t *req_times;    /* loop times of the last req_limit requests (a ring) */
    size_t req_n, req_head; /* filled, next slot */
    struct okxv_sub *subs;  /* subscriptions, in order */
    size_t nsubs, cap;      /* used, allocated */
};

/* The OKX state of connection p, or NULL (not upgraded, or closing). */
static inline struct okx_peer *okxv_peer(const struct fv_peer *p)
{
    return p->kind == FV_KIND_VENUE ? p->vstate : NULL;
}

/* The replay key of a subscription arg (fv.h, struct fv_rline): "channel:instId", the same for
 * a live request and the recorded ack and data that answered it. False when it does not fit. */
bool okxv_key(const char *channel, const char *inst, char *out, size_t cap);

/* Parses a channel name: *ch, and for candles *bar. Returns the channel's route, or -1 when
 * the venue has no such channel. */
int okxv_channel(const char *name, uint8_t *ch, uint8_t *bar);

/* The market symbol of instId inst (created on first use), or -1 when the market does not
 * list it. *swap tells whether it is a perpetual swap (funding-rate is served for those). */
int okxv_symbol(struct fv_server *s, const char *inst, bool *swap);

/* Subscription u of p starts: sends its first data (books: the snapshot). */
void okxv_attach(struct fv_server *s, struct fv_peer *p, struct okxv_sub *u);
/* Subscription u of p ends. */
void okxv_detach(struct fv_server *s, const struct okxv_sub *u);

/* Creates the market and its timer (not under --replay). Returns 0. */
int fvokx_init(struct fv_server *s);
void fvokx_stop(struct fv_server *s);
void fvokx_fini(struct fv_server *s);

/* The replay hook (okx_replay.c): says what a recorded line is. */
void okx_replay_line(struct fv_server *s, struct fv_rline *l);

#endif /* MDF_FAKEVENUE_OKXV_H */
