/* End-to-end tests: fake venue -> mdfeedd -> shared memory -> reader. */
#ifndef MDF_TESTS_E2E_LIST_H
#define MDF_TESTS_E2E_LIST_H

#define TEST_LIST_E2E(X)                                                                           \
    X(e2e_spot_replay_every_message_lands_exactly_and_books_match_rebuild, 0, 90)                  \
    X(e2e_futures_routed_streams_land_exactly_and_books_follow_pu_chain, 0, 90)                    \
    X(e2e_futures_stream_moved_to_other_path_raises_silence_alarm, 0, 90)                          \
    X(e2e_gap_in_one_book_resyncs_that_symbol_only, 0, 90)                                         \
    X(e2e_rotation_by_age_loses_nothing_and_publishes_nothing_twice, 0, 90)                        \
    X(e2e_rotation_on_server_shutdown_loses_nothing_and_publishes_nothing_twice, 0, 120)           \
    X(e2e_shutdown_notices_on_every_connection_replacements_included_lose_nothing, 0, 300)         \
    X(e2e_more_streams_than_one_connection_takes_spread_within_venue_limits, 0, 90)                \
    X(e2e_sighup_adds_and_removes_streams_live_untouched_streams_never_blink, 0, 60)               \
    X(e2e_candles_missed_in_an_outage_are_backfilled_without_holes, 0, 90)                         \
    X(e2e_quiet_symbol_is_not_flagged_stale_or_silent, 0, 60)                                      \
    X(e2e_stalled_venue_streams_are_flagged_stale_then_watchdog_replaces_connection, 0, 90)        \
    X(e2e_depth5_depth20_diff_and_ticker_mini_of_one_symbol_are_read_apart, 0, 90)

#endif
