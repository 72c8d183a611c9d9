/*
 * The OKX v5 book rule (see okx_book.h): snapshot, prevSeqId chain, keepalive updates and the
 * CRC-32 checksum whenever one is given.
 */
#include <errno.h>
#include <string.h>

#include <zlib.h>

#include <mdfeed/mdfeed.h>

#include "book/okx_book.h"
#include "core/err.h"

int okx_book_init(struct okx_book *b, uint32_t depth)
{
    memset(b, 0, sizeof(*b));
    b->depth = depth ? depth : OKX_BOOKS_DEPTH;
    b->state = MDF_BOOK_EMPTY;
    return book_init(&b->book, b->depth) < 0 ? -ENOMEM : 0;
}

void okx_book_fini(struct okx_book *b)
{
    book_fini(&b->book);
}

/* Discards the book: RESYNCING, generation bumped. */
static int resync(struct okx_book *b)
{
    book_clear(&b->book);
    b->state = MDF_BOOK_RESYNCING;
    b->have_seq = false;
    b->generation++;
    b->stats.resyncs++;
    return OKBK_RESYNC;
}

/* Appends "<sep>px:sz" of level l to buf. Returns 0 or -ENOSPC. */
static int put_level(const struct book_level *l, char *buf, size_t cap, size_t *len)
{
    int n;

    if (*len && *len + 1 < cap)
        buf[(*len)++] = ':';
    else if (*len)
        return -ENOSPC;
    n = mdf_dec_format(l->px, buf + *len, cap - *len);
    if (n < 0 || *len + (size_t)n + 1 >= cap)
        return -ENOSPC;
    *len += (size_t)n;
    buf[(*len)++] = ':';
    n = mdf_dec_format(l->qty, buf + *len, cap - *len);
    if (n < 0)
        return -ENOSPC;
    *len += (size_t)n;
    return 0;
}

int okx_book_checksum_text(const struct okx_book *b, char *buf, size_t cap)
{
    const struct book_side *bid = &b->book.side[BOOK_BID], *ask = &b->book.side[BOOK_ASK];
    size_t len = 0;

    if (cap == 0)
        return -ENOSPC;
    buf[0] = '\0';
    /* Best last in each side's array: the i-th best is lv[n - 1 - i]. */
    for (uint32_t i = 0; i < OKX_CHECKSUM_LEVELS; i++) {
        if (i < bid->n && put_level(&bid->lv[bid->n - 1 - i], buf, cap, &len) < 0)
            goto nospc;
        if (i < ask->n && put_level(&ask->lv[ask->n - 1 - i], buf, cap, &len) < 0)
            goto nospc;
    }
    buf[len] = '\0';
    return (int)len;
nospc:
    buf[0] = '\0';
    return -ENOSPC;
}

int32_t okx_book_checksum(const struct okx_book *b)
{
    char text[4 * OKX_CHECKSUM_LEVELS * MDF_DEC_STR_MAX];
    int n = okx_book_checksum_text(b, text, sizeof(text));

    if (n < 0)
        n = 0;
    return (int32_t)(uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text, (uInt)n);
}

/* Sets the message's levels; a refused level counts. Returns 0 or -ERANGE. */
static int set_levels(struct okx_book *b, const struct okx_msg *m)
{
    for (uint32_t i = 0; i < m->n_bids; i++)
        if (book_set(&b->book, BOOK_BID, &m->bids[i]) < 0)
            goto refused;
    for (uint32_t i = 0; i < m->n_asks; i++)
        if (book_set(&b->book, BOOK_ASK, &m->asks[i]) < 0)
            goto refused;
    return 0;
refused:
    b->stats.level_errors++;
    return -ERANGE;
}

/* Checks a non-zero checksum against the book. Returns OKBK_APPLIED or OKBK_RESYNC. */
static int verify(struct okx_book *b, const struct okx_msg *m)
{
    int32_t mine;

    if (m->checksum == 0)
        return OKBK_APPLIED;
    mine = okx_book_checksum(b);
    if (mine == m->checksum) {
        b->stats.checksums++;
        return OKBK_APPLIED;
    }
    b->stats.mismatches++;
    err_set(-EBADMSG, "okx book: checksum %d, the book gives %d", (int)m->checksum, (int)mine);
    return resync(b);
}

/* Keeps the ids and times of an applied message. */
static void keep(struct okx_book *b, const struct okx_msg *m, int64_t recv_ns)
{
    b->have_seq = m->have_seq;
    b->seq_id = m->have_seq ? m->seq_id : 0;
    b->exch_time_ns = m->ts_ns;
    b->recv_time_ns = recv_ns;
}

int okx_book_apply(struct okx_book *b, const struct okx_msg *m, int64_t recv_ns)
{
    if (m->kind != OKX_BOOK)
        return err_set(-EINVAL, "okx book: not a book message");
    if (m->snapshot) {
        if (b->state == MDF_BOOK_LIVE || b->state == MDF_BOOK_STALE)
            b->generation++; /* readers saw a book this one does not continue */
        book_clear(&b->book);
        b->stats.snapshots++;
        if (set_levels(b, m) < 0)
            return resync(b);
        b->state = MDF_BOOK_LIVE;
        keep(b, m, recv_ns);
        b->first_seq = b->seq_id;
        return verify(b, m);
    }
    if (b->state != MDF_BOOK_LIVE) {
        b->stats.ignored++;
        return OKBK_NOTHING;
    }
    if (m->have_seq && b->have_seq && m->prev_seq_id != b->seq_id) {
        b->stats.gaps++;
        err_set(-EBADMSG, "okx book: prevSeqId %lld after seqId %lld", (long long)m->prev_seq_id,
                (long long)b->seq_id);
        return resync(b);
    }
    if (m->n_bids == 0 && m->n_asks == 0) {
        b->stats.keepalives++;
        keep(b, m, recv_ns);
        return verify(b, m) == OKBK_RESYNC ? OKBK_RESYNC : OKBK_NOTHING;
    }
    if (set_levels(b, m) < 0)
        return resync(b);
    b->stats.updates++;
    keep(b, m, recv_ns);
    return verify(b, m);
}

void okx_book_interrupt(struct okx_book *b)
{
    if (b->state == MDF_BOOK_LIVE)
        b->state = MDF_BOOK_STALE;
}

void okx_book_record(const struct okx_book *b, struct mdf_book *rec, uint32_t depth)
{
    memset(rec, 0, sizeof(*rec));
    book_top(&b->book, rec, depth);
    rec->h.type = MDF_REC_BOOK;
    rec->h.exch_time_ns = b->exch_time_ns;
    rec->h.recv_time_ns = b->recv_time_ns;
    rec->h.venue_seq = b->seq_id > 0 ? (uint64_t)b->seq_id : 0;
    rec->state = b->state;
    rec->kind = MDF_BOOK_KIND_FULL;
    rec->generation = b->generation;
    rec->first_update_id = b->first_seq;
    rec->last_update_id = b->seq_id;
    rec->levels_asked = (uint16_t)b->depth;
}
