/* Tests of tools/mdfeed-fakevenue: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_FAKEVENUE_LIST_H
#define MDF_TESTS_FAKEVENUE_LIST_H

#define TEST_LIST_FAKEVENUE(X)                                                                     \
    X(fakevenue_refuses_non_loopback_address, 0, 30)                                               \
    X(fakevenue_replays_only_subscribed_streams, 0, 60)                                            \
    X(fakevenue_replay_without_loop_sends_each_message_once, 0, 30)                                \
    X(fakevenue_answers_subscribe_unsubscribe_list_and_errors, 0, 30)                              \
    X(fakevenue_refuse_stream_refuses_every_subscribe_naming_it_and_nothing_else, 0, 30)           \
    X(fakevenue_routes_futures_streams_by_path, 0, 30)                                             \
    X(fakevenue_rate_limit_cuts_a_chatty_client, 0, 30)                                            \
    X(fakevenue_pings_and_cuts_a_client_that_never_pongs, 0, 30)                                   \
    X(fakevenue_serves_rest_snapshot_no_earlier_than_recorded_time, 0, 30)                         \
    X(fakevenue_sends_server_shutdown_and_enforces_lifetime, 0, 60)                                \
    X(fakevenue_serves_tls_with_the_given_certificate, 0, 60)                                      \
    X(fakevenue_synthetic_messages_have_the_requested_size, 0, 60)                                 \
    X(fakevenue_faults_do_what_they_say, 0, 60)                                                    \
    X(fakevenue_gap_fault_drops_one_depth_diff, 0, 30)                                             \
    X(fakevenue_loop_shifts_ids_and_times_from_the_second_lap, 0, 60)                              \
    X(fakevenue_live_replay_moves_times_to_now_and_continues_books_across_laps, 0, 60)             \
    X(fakevenue_futures_fixture_chains_and_routes, 0, 30)                                          \
    X(fakevenue_loop_shifts_futures_snapshot_times_and_ids, 0, 30)                                 \
    X(fakevenue_market_sends_identical_messages_to_every_subscriber, 0, 60)                        \
    X(fakevenue_market_streams_have_the_venue_shapes, 0, 60)                                       \
    X(fakevenue_market_depth_diffs_chain_onto_rest_snapshot, 0, 60)                                \
    X(fakevenue_market_klines_close_once_and_match_rest_klines, 0, 60)                             \
    X(fakevenue_market_sparse_symbol_trades_once_a_period_and_its_streams_push_only_after, 0, 60)  \
    X(fakevenue_market_sparse_futures_snapshot_makes_no_book_event_and_next_diff_bridges_it, 0,    \
      30)                                                                                          \
    X(fakevenue_market_quiet_symbol_sends_only_partial_depth_and_mark_price, 0, 60)                \
    X(fakevenue_market_kline_trade_ids_are_the_trade_streams_ids, 0, 60)                           \
    X(fakevenue_market_rate_max_goes_flat_out, 0, 60)                                              \
    X(fakevenue_rest_ban_follows_repeated_429s, 0, 60)                                             \
    X(fakevenue_conn_limit_refuses_upgrades_over_the_limit, 0, 30)

#endif /* MDF_TESTS_FAKEVENUE_LIST_H */
