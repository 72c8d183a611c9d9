/* Tests of src/book/. */
#ifndef MDF_TESTS_BOOK_LIST_H
#define MDF_TESTS_BOOK_LIST_H

#define TEST_LIST_BOOK(X)                                                                          \
    X(book_matches_naive_reference_randomized, 0, 60)                                              \
    X(book_removal_of_absent_levels_is_harmless, 0, 30)                                            \
    X(book_full_side_drops_worst_level_and_top_stays_exact, 0, 30)                                 \
    X(book_mixed_exponents_compare_right, 0, 30)                                                   \
    X(bsync_spot_recording_matches_rebuild_after_every_diff, 0, 60)                                \
    X(bsync_gap_resyncs_and_new_snapshot_restores, 0, 60)                                          \
    X(bsync_futures_bridge_and_pu_chain, 0, 30)                                                    \
    X(bsync_bridge_that_does_not_hold_resyncs, 0, 30)                                              \
    X(bsync_snapshot_older_than_buffer_asks_again, 0, 30)                                          \
    X(bsync_buffer_overflow_counts_and_restarts, 0, 30)                                            \
    X(bsync_would_chain_next_duplicate_and_gap, 0, 30)                                             \
    X(bsync_interrupt_marks_stale_and_next_diff_restarts, 0, 30)                                   \
    X(bsync_snapshot_before_first_diff_waits_for_bridge, 0, 30)

#endif
