/*
 * Fuzzes the reader's attach path with hostile segment files. At start-up a real publisher and
 * health writer build a small valid instance (a few records in every ring), whose segments are
 * kept as images and unlinked. Each input then damages one segment's image (first byte: state,
 * doorbell, one of the rings or health; the second picks the ring to subscribe to; then an
 * optional cut to a length, then patches of [u16 offset][u8 length][bytes]) and every segment
 * is written under a uniquely named instance, /dev/shm/mdfeed.fz<pid>.<segment>; mdf_open with
 * its tables, mdf_subscribe + mdf_next, and mdf_health_open with every table are tried, and the
 * segments are unlinked. Only memory and UB errors count: any return code is fine.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include <mdfeed/health.h>
#include <mdfeed/mdfeed.h>

#include "fuzz.h"
#include "health/health.h"
#include "shm/publisher.h"

#define N_SEG (3 + MDF_RING_COUNT) /* state, doorbell, health, the rings */

/* A segment's name and its valid image. */
struct image {
    const char *seg; /* segment name */
    uint8_t *p;      /* its bytes (new, kept for the process's life) */
    size_t len;      /* their count */
};

static struct image img[N_SEG];
static void drop_segment(const char *seg);
static char inst_name[32];
static uint8_t *work; /* the damaged copy */

/* Reads /dev/shm/mdfeed.<inst>.<seg> into im. */
static void load_image(const char *inst, struct image *im)
{
    char path[128];
    struct stat st;
    int fd;

    snprintf(path, sizeof(path), "/dev/shm%s%s.%s", MDF_SHM_PREFIX, inst, im->seg);
    fd = open(path, O_RDONLY);
    FZ_CHECK(fd >= 0 && fstat(fd, &st) == 0);
    im->len = (size_t)st.st_size;
    im->p = malloc(im->len);
    FZ_CHECK(im->p && read(fd, im->p, im->len) == (ssize_t)im->len);
    close(fd);
}

/* Unlinks every segment of the instance: each run's end, at exit, and when a sanitizer reports
 * (a crash must not leave segments in /dev/shm). */
static void drop_all(void)
{
    for (int i = 0; i < N_SEG; i++)
        drop_segment(img[i].seg);
}

/* Builds the valid instance and keeps its images. */
static void setup(void)
{
    static union mdf_record r;
    char src[32];
    struct pub_params prm;
    struct publisher pub;
    struct health_params hp = {0};
    struct health h;
    size_t max = 0;

    snprintf(inst_name, sizeof(inst_name), "fz%d", (int)getpid());
    snprintf(src, sizeof(src), "fzsrc%d", (int)getpid());
    pub_default_params(&prm, src);
    for (int i = 0; i < MDF_RING_COUNT; i++)
        prm.ring_capacity[i] = 8;
    prm.state = (struct state_params){.max_venues = 2,
                                      .max_symbols = 4,
                                      .book_depth = 5,
                                      .candle_k = 4,
                                      .max_series = 4,
                                      .max_streams = 4};
    FZ_CHECK(pub_open(&pub, &prm) == 0);
    FZ_CHECK(state_tx_venue(&pub.st, "binance-spot") == 0);
    FZ_CHECK(state_tx_symbol(&pub.st, 0, "BTCUSDT", "BTC/USDT") == 0);
    for (int k = 0; k < 11; k++) {
        memset(&r, 0, sizeof(r));
        r.trade.h = (struct mdf_rec_hdr){.type = MDF_REC_TRADE, .size = sizeof(struct mdf_trade)};
        r.trade.trade_id = k;
        for (int i = 0; i < MDF_RING_COUNT; i++)
            pub_publish(&pub, i, &r);
    }
    hp.instance = src;
    hp.mode = 0600;
    hp.gid = (gid_t)-1;
    hp.max_venues = hp.max_conns = hp.max_streams = 2;
    hp.publish_ns = hp.hb_interval_ns = 100000000;
    FZ_CHECK(health_open(&h, &hp) == 0);
    health_slot_alloc(&h, MDF_HT_VENUE);
    health_slot_alloc(&h, MDF_HT_CONN);
    health_beat(&h, 1);
    img[0].seg = "state";
    img[1].seg = "doorbell";
    img[2].seg = MDF_HEALTH_SEGMENT;
    for (int i = 0; i < MDF_RING_COUNT; i++)
        img[3 + i].seg = mdf_ring_name(i);
    for (int i = 0; i < N_SEG; i++) {
        load_image(src, &img[i]);
        if (img[i].len > max)
            max = img[i].len;
    }
    work = malloc(max);
    FZ_CHECK(work != NULL);
    atexit(drop_all);
    __sanitizer_set_death_callback(drop_all);
    health_close(&h, true);
    pub_close(&pub, true);
}

/* Writes len bytes as /mdfeed.<instance>.<seg>. */
static void put_segment(const char *seg, const uint8_t *p, size_t len)
{
    char name[96];
    int fd;

    snprintf(name, sizeof(name), "%s%s.%s", MDF_SHM_PREFIX, inst_name, seg);
    shm_unlink(name);
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    FZ_CHECK(fd >= 0);
    FZ_CHECK(write(fd, p, len) == (ssize_t)len);
    close(fd);
}

/* Unlinks /mdfeed.<instance>.<seg>. */
static void drop_segment(const char *seg)
{
    char name[96];

    snprintf(name, sizeof(name), "%s%s.%s", MDF_SHM_PREFIX, inst_name, seg);
    shm_unlink(name);
}

/* Reads what an instance offers, as mdfeed-cat would. */
static void read_instance(mdf_instance_t *inst, int ring)
{
    struct mdf_status st;
    struct mdf_stats stats;
    struct mdf_symbol_entry sym;
    struct mdf_stream_entry str;
    mdf_record_t rec;
    mdf_sub_t *sub;
    uint64_t lost;

    mdf_status(inst, &st);
    mdf_stats(inst, &stats);
    for (uint32_t i = 0; i < mdf_venue_count(inst) && i < 8; i++)
        (void)mdf_venue_name(inst, i);
    for (uint32_t i = 0; i < mdf_symbol_count(inst) && i < 8; i++)
        mdf_symbol_info(inst, i, &sym);
    for (uint32_t i = 0; i < mdf_stream_count(inst) && i < 8; i++)
        mdf_stream_info(inst, i, &str);
    (void)mdf_symbol_lookup(inst, "binance-spot:BTCUSDT");
    if (mdf_subscribe(inst, ring, MDF_START_OLDEST, 0, &sub) == 0) {
        for (int i = 0; i < 16 && mdf_next(sub, &rec, &lost) > 0; i++)
            ;
        mdf_unsubscribe(sub);
    }
}

/* Reads every table of a health segment. */
static void read_health(mdf_health_t *h)
{
    struct mdf_status st;
    struct mdf_health_desc desc;
    struct mdf_health_daemon d;
    struct mdf_health_venue v;
    struct mdf_health_conn c;
    struct mdf_health_stream s;
    struct mdf_health_ring r;

    mdf_health_status(h, &st);
    mdf_health_desc(h, &desc);
    mdf_health_daemon(h, &d);
    for (int t = 0; t < 8; t++)
        for (uint32_t i = 0; i < mdf_health_count(h, t) && i < 4; i++) {
            mdf_health_venue(h, i, &v);
            mdf_health_conn(h, i, &c);
            mdf_health_stream(h, i, &s);
            mdf_health_ring(h, i, &r);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    mdf_instance_t *inst;
    mdf_health_t *h;
    struct image *t;
    size_t len;
    int ring;

    if (!work)
        setup();
    t = &img[fz_u8(&f) % N_SEG];
    ring = fz_u8(&f) % MDF_RING_COUNT;
    memcpy(work, t->p, t->len);
    len = t->len;
    if (fz_u8(&f) & 1)
        len = fz_u16(&f) % (t->len + 1);
    while (f.n > 0 && len > 0) {
        size_t off = fz_u16(&f) % len, n = fz_u8(&f);

        for (size_t i = 0; i < n && off + i < len; i++)
            work[off + i] = fz_u8(&f);
    }
    for (int i = 0; i < N_SEG; i++)
        put_segment(img[i].seg, &img[i] == t ? work : img[i].p, &img[i] == t ? len : img[i].len);

    if (mdf_open(&inst, inst_name, 0) == 0) {
        read_instance(inst, ring);
        mdf_close(inst);
    }
    if (mdf_health_open(&h, inst_name) == 0) {
        read_health(h);
        mdf_health_close(h);
    }
    drop_all();
    return 0;
}
