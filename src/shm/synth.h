/*
 * Synthetic records for tests and benchmarks: deterministic functions of an index, each
 * carrying a checksum over its own words, so that any record mixed from two writes (torn) or
 * damaged is detected by synth_check. Also a paced loop that publishes at a rate or flat out.
 */
#ifndef MDF_SHM_SYNTH_H
#define MDF_SHM_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include <mdfeed/layout.h>

#include "shm/publisher.h"

/* Fills out with record number i of `type` (trade, bbo, ticker, candle, book of `depth`,
 * funding, event, liquidation) for symbol sym of venue venue, with checksum. Its stream id is
 * sym too (synth_run registers one mixed stream per symbol). */
void synth_record(union mdf_record *out, int type, uint64_t i, uint32_t venue, uint32_t sym,
                  uint32_t depth);

/* True if rec's checksum matches its contents. */
bool synth_check(const union mdf_record *rec);

/* The index i that rec was made from. */
uint64_t synth_index(const union mdf_record *rec);

struct synth_opts {
    double rate;         /* records per second; 0 = flat out */
    uint64_t count;      /* records to publish; 0 = until *stop */
    uint32_t n_symbols;  /* symbols to spread over (registered as SYNTH<n>) */
    int types[8];        /* record types to cycle through, 0-terminated */
    bool update_latest;  /* also update the latest-state tables */
    int64_t hb_every_ns; /* heartbeat period */
};

/* Registers venue "synth", symbols SYNTH0.. and one stream per symbol ("SYNTH<n>", of every
 * type) in p, then publishes per opts until count or *stop (may be NULL) is set. The latest
 * tables are updated only if the stream ids came out equal to the symbol ids. Returns the
 * number published. */
uint64_t synth_run(struct publisher *p, const struct synth_opts *o, volatile int *stop);

#endif /* MDF_SHM_SYNTH_H */
