/* End-to-end tests with OKX v5 public (tests/e2e/okx_test.c). */
#ifndef MDF_TESTS_E2E_OKX_LIST_H
#define MDF_TESTS_E2E_OKX_LIST_H

#define TEST_LIST_OKX_E2E(X)                                                                       \
    X(e2e_okx_every_channel_equals_what_the_venue_sent, 0, 90)                                     \
    X(e2e_okx_seq_break_and_bad_checksum_resync_only_that_book, 0, 90)                             \
    X(e2e_okx_refused_arg_fails_only_its_own_streams, 0, 90)                                       \
    X(e2e_okx_request_limit_reached_replaces_the_connection_for_a_resync, 0, 90)                   \
    X(e2e_okx_upgrade_notice_64008_replaces_the_connection_losing_nothing, 0, 90)                  \
    X(e2e_okx_text_ping_keeps_the_connection_past_the_venue_idle_cut, 0, 90)                       \
    X(e2e_okx_funding_true_fills_funding_records_from_mark_price_and_funding_rate, 0, 60)          \
    X(e2e_okx_checksum_zero_books_chain_on_seqid_alone, 0, 60)                                     \
    X(e2e_okx_streams_spread_over_connections_of_streams_per_connection, 0, 60)                    \
    X(e2e_okx_reconnect_storm_keeps_to_the_connection_limit, 0, 90)                                \
    X(e2e_okx_undecodable_channel_is_counted_and_the_others_go_on, 0, 60)                          \
    X(e2e_okx_connection_cut_publishes_no_trade_twice_and_books_end_equal, 0, 60)

#endif
