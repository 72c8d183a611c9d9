/* End-to-end tests with Bitfinex (tests/e2e/bfx_test.c). */
#ifndef MDF_TESTS_E2E_BFX_LIST_H
#define MDF_TESTS_E2E_BFX_LIST_H

#define TEST_LIST_BFX_E2E(X)                                                                       \
    X(e2e_bfx_books_trades_candles_and_tickers_equal_what_the_venue_sent, 0, 90)                   \
    X(e2e_bfx_bad_level_is_caught_by_the_checksum_and_only_that_book_resyncs, 0, 90)               \
    X(e2e_bfx_sequence_gap_resyncs_books_and_resubscribes_on_a_new_connection, 0, 90)              \
    X(e2e_bfx_restart_notice_20051_replaces_the_connection_losing_nothing, 0, 90)                  \
    X(e2e_bfx_restart_notices_on_every_connection_replacements_included_lose_nothing, 0, 300)      \
    X(e2e_bfx_maintenance_pauses_then_every_channel_is_resubscribed_and_books_rebuilt, 0, 60)      \
    X(e2e_bfx_platform_status_0_on_connect_holds_subscriptions_until_maintenance_ends, 0, 60)      \
    X(e2e_bfx_more_channels_than_one_connection_allows_spread_over_several, 0, 60)                 \
    X(e2e_bfx_books_of_one_pair_at_p0_and_p2_are_read_apart, 0, 90)                                \
    X(e2e_bfx_same_channel_id_for_every_subscription_fails_all_but_the_first, 0, 60)

#endif
