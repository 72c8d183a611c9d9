/* Tests of the Bybit and OKX book rules (src/book/bybit_book.c, src/book/okx_book.c). */
#ifndef MDF_TESTS_BOOK_VENUES_LIST_H
#define MDF_TESTS_BOOK_VENUES_LIST_H

#define TEST_LIST_BOOK_VENUES(X)                                                                   \
    X(bybit_book_snapshot_resets_deltas_apply_and_u1_overwrites, 0, 30)                            \
    X(bybit_book_gap_resyncs_and_depth_one_is_snapshots_only, 0, 30)                               \
    X(okx_book_checksum_matches_an_independent_crc, 0, 30)                                         \
    X(okx_book_follows_the_seq_chain_and_resyncs_on_a_gap, 0, 30)                                  \
    X(okx_book_random_stream_verifies_every_checksum_against_a_reference, 0, 60)

#endif
