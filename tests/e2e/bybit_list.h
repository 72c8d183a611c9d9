/* End-to-end tests with Bybit v5 public (tests/e2e/bybit_test.c). */
#ifndef MDF_TESTS_E2E_BYBIT_LIST_H
#define MDF_TESTS_E2E_BYBIT_LIST_H

#define TEST_LIST_BYBIT_E2E(X)                                                                     \
    X(e2e_bybit_linear_every_topic_lands_exactly, 0, 90)                                           \
    X(e2e_bybit_spot_trades_books_candles_and_tickers_land_exactly, 0, 90)                         \
    X(e2e_bybit_book_gap_resyncs_that_book_only, 0, 90)                                            \
    X(e2e_bybit_restart_u1_overwrites_the_book_without_a_resync, 0, 90)                            \
    X(e2e_bybit_connection_cut_publishes_no_trade_twice_and_books_end_equal, 0, 90)                \
    X(e2e_bybit_topics_spread_over_connections_of_streams_per_connection, 0, 60)                   \
    X(e2e_bybit_spot_subscribes_at_most_10_topics_a_request, 0, 60)                                \
    X(e2e_bybit_reconnect_storm_keeps_to_the_connection_limit, 0, 60)                              \
    X(e2e_bybit_garbage_frames_are_counted_and_the_feed_recovers, 0, 90)                           \
    X(e2e_bybit_undecodable_topic_is_counted_and_the_others_go_on, 0, 90)                          \
    X(e2e_bybit_rotation_by_age_hands_over_losing_and_doubling_nothing, 0, 90)                     \
    X(e2e_bybit_ping_op_keeps_the_connection_from_the_idle_cut, 0, 90)

#endif
