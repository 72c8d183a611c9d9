/*
 * Fault injection on data messages. Every stream message a connection is sent (replayed,
 * synthetic, Bitfinex) passes through fault_send_data(), which counts it and, on a faulted
 * connection (--fault-conns), bends it: drops one depth diff (gap), cuts a frame in half before an
 * RST or FIN, splits it into fragments with a ping among them, or after the N-th message closes
 * with a chosen code, resets, stalls, or sends garbage, invalid UTF-8 or an oversized message.
 *
 * "After N" faults fire right after the N-th data message (N = 0: right after the upgrade);
 * "midframe N" faults cut message N+1. Only the first fault that fires matters: each one ends
 * the data stream of its connection.
 */
#include <stdlib.h>
#include <string.h>

#include "fv.h"
#include "ws/ws_frame.h"

/* True when count N is on and reached exactly. */
static bool at(long n, uint64_t sent)
{
    return n >= 0 && sent == (uint64_t)n;
}

/* Sends a text frame whose payload is not valid UTF-8. */
static void send_bad_utf8(struct fv_peer *p)
{
    static const uint8_t BAD[] =
        "{\"e\":\"trade\",\"s\":\"\xc3\x28\xff\xfe\",\"x\":\"\xed\xa0\x80\"}";

    peer_frame(p, true, 0, 1, BAD, sizeof(BAD) - 1);
}

/* Sends 64 bytes no WebSocket parser can accept: every reserved bit set and a reserved
 * opcode in the first byte. */
static void send_garbage(struct fv_peer *p)
{
    uint8_t g[64];

    for (size_t i = 0; i < sizeof(g); i++)
        g[i] = (uint8_t)(0xF0 | ((i * 7 + 3) & 0x0F));
    g[0] = 0xF3; /* FIN + RSV1..3 + opcode 3 (reserved) */
    peer_append(p, g, sizeof(g));
}

/* Sends one text message of `size` bytes (a JSON object padded with 'x'). */
static void send_oversize(struct fv_peer *p, size_t size)
{
    uint8_t *m = fv_xmalloc(size);

    memset(m, 'x', size);
    if (size >= 10) {
        memcpy(m, "{\"pad\":\"", 8);
        memcpy(m + size - 2, "\"}", 2);
    }
    peer_frame(p, true, 0, 1, m, size);
    free(m);
}

/* The "after N messages" faults; sent is the number of data messages sent so far. */
static void after_n(struct fv_peer *p)
{
    const struct fv_faults *f = &p->srv->o->f;
    uint64_t sent = p->data_sent;

    if (at(f->close_after, sent)) {
        peer_raw_close(p, (uint16_t)f->close_code, "fault-close");
    } else if (at(f->rst_after, sent)) {
        peer_drop(p, "fault-rst", FV_DROP_RST);
    } else if (at(f->stall_after, sent)) {
        peer_freeze(p);
    } else if (at(f->garbage_after, sent)) {
        send_garbage(p);
        peer_await_close(p, "fault-garbage");
    } else if (at(f->bad_utf8_after, sent)) {
        send_bad_utf8(p);
        peer_await_close(p, "fault-bad-utf8");
    } else if (at(f->oversize_after, sent)) {
        send_oversize(p, f->oversize_size);
        peer_await_close(p, "fault-oversize");
    }
}

/* See fv.h. */
void fault_after_upgrade(struct fv_peer *p)
{
    if (p->faulted)
        after_n(p);
}

/* Cuts message N+1: half of its frame (of its TLS record under TLS), then RST or FIN. */
static void send_half(struct fv_peer *p, const uint8_t *msg, size_t len, bool rst,
                      const char *reason)
{
    size_t cap = ws_frame_header_len(len, false) + len;
    uint8_t *fr = fv_xmalloc(cap);
    ssize_t n = ws_frame_encode(fr, cap, true, 0, 1, msg, len, NULL);

    if (n > 0)
        peer_send_half_then(p, fr, (size_t)n, rst, reason);
    free(fr);
}

/* Sends msg as frames of at most fsz payload bytes, with a ping after the first one. */
static void send_fragmented(struct fv_peer *p, const uint8_t *msg, size_t len, size_t fsz,
                            bool ping)
{
    size_t off = 0;

    while (off < len) {
        size_t n = len - off < fsz ? len - off : fsz;
        bool fin = off + n == len;

        peer_frame(p, fin, 0, off == 0 ? 1 : 0, msg + off, n);
        if (off == 0 && ping && !fin)
            peer_frame(p, true, 0, 9, FV_FRAGMENT_PING, strlen(FV_FRAGMENT_PING));
        off += n;
    }
}

/* True if stream sid's name ends with suffix (NULL: never). */
static bool name_ends(const struct fv_peer *p, int sid, const char *suffix)
{
    const char *name;
    size_t n, k;

    if (!suffix || sid < 0)
        return false;
    name = p->srv->streams.v[sid].name;
    n = strlen(name);
    k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

/* Sends msg with every digit after its stream name replaced by 'x': still named, no longer a
 * message any decoder accepts. */
static void send_corrupt(struct fv_peer *p, const uint8_t *msg, size_t len)
{
    uint8_t *c = fv_xmalloc(len);
    const uint8_t *data = len > 8 ? memmem(msg, len, "\"data\"", 6) : NULL;
    size_t from = data ? (size_t)(data - msg) : 0;

    memcpy(c, msg, len);
    for (size_t i = from; i < len; i++)
        if (c[i] >= '0' && c[i] <= '9')
            c[i] = 'x';
    peer_send_text(p, c, len);
    free(c);
}

/* See fv.h. Order: gap, then midframe cuts of message N+1, then the message itself
 * (fragmented or not), then the after-N faults. */
void fault_send_data(struct fv_peer *p, int sid, const uint8_t *msg, size_t len)
{
    const struct fv_faults *f = &p->srv->o->f;

    if (!peer_live(p))
        return;
    if (!p->faulted) {
        peer_send_text(p, msg, len);
        p->data_sent++;
        p->srv->stats.msgs++;
        return;
    }
    /* Counted venue-wide: a connection opened after the mute began is muted from its start. */
    if (f->mute && p->srv->stats.msgs >= (uint64_t)(f->mute_after > 0 ? f->mute_after : 0) &&
        name_ends(p, sid, f->mute)) {
        if (!p->mute_logged)
            fv_log("conn %u fault mute %s", p->id, p->srv->streams.v[sid].name);
        p->mute_logged = true;
        p->srv->stats.faults++;
        return;
    }
    if (f->corrupt && p->data_sent >= (uint64_t)(f->corrupt_after > 0 ? f->corrupt_after : 0) &&
        name_ends(p, sid, f->corrupt)) {
        p->srv->stats.faults++;
        p->srv->stats.msgs++;
        send_corrupt(p, msg, len);
        p->data_sent++;
        return;
    }
    if (sid >= 0 && f->gap_after >= 0 && !p->gap_done && p->data_sent >= (uint64_t)f->gap_after &&
        p->srv->streams.v[sid].depth_diff) {
        p->gap_done = true;
        fv_log("conn %u fault gap %s", p->id, p->srv->streams.v[sid].name);
        p->srv->stats.faults++;
        return;
    }
    p->srv->stats.msgs++;
    if (at(f->rst_midframe, p->data_sent)) {
        send_half(p, msg, len, true, "fault-rst-midframe");
        return;
    }
    if (at(f->fin_midframe, p->data_sent)) {
        send_half(p, msg, len, false, "fault-fin-midframe");
        return;
    }
    if (p->tls_on && at(f->truncate_tls, p->data_sent)) {
        send_half(p, msg, len, false, "fault-truncate-tls");
        return;
    }
    if (f->fragment > 0 && len > f->fragment)
        send_fragmented(p, msg, len, f->fragment, f->ping_in_fragments);
    else
        peer_send_text(p, msg, len);
    p->data_sent++;
    after_n(p);
}
