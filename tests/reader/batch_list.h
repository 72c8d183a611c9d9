/* The batch read of libmdfeed (tests/reader/batch_test.c). */
#ifndef MDF_TESTS_READER_BATCH_LIST_H
#define MDF_TESTS_READER_BATCH_LIST_H

#define TEST_LIST_READER_BATCH(X)                                                                  \
    X(reader_read_batch_matches_next_and_counts_lost_exactly, 0, 30)                               \
    X(reader_wait_in_short_calls_reports_a_dead_daemon, 0, 30)

#endif
