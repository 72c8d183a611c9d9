/* Tests of the OKX side of tools/mdfeed-fakevenue: X(name, flags, timeout_seconds), as in
 * tests/test_list.h. */
#ifndef MDF_TESTS_TOOLS_FAKEVENUE_OKX_LIST_H
#define MDF_TESTS_TOOLS_FAKEVENUE_OKX_LIST_H

#define TEST_LIST_FV_OKX(X)                                                                        \
    X(fakevenue_okx_acks_per_arg_refuses_wrong_path_and_answers_ping, 0, 30)                       \
    X(fakevenue_okx_every_channel_decodes_and_books_verify_their_checksums, 0, 60)                 \
    X(fakevenue_okx_checksum_zero_books_chain_on_the_sequence_alone, 0, 60)                        \
    X(fakevenue_okx_candle_bars_open_at_the_venues_times, 0, 30)                                   \
    X(fakevenue_okx_seq_break_fault_is_a_gap_the_book_rule_catches, 0, 60)                         \
    X(fakevenue_okx_bad_checksum_fault_is_a_mismatch_the_book_rule_catches, 0, 60)                 \
    X(fakevenue_okx_two_subscribers_end_on_the_same_market, 0, 30)                                 \
    X(fakevenue_okx_notice_64008_then_close_after_the_grace, 0, 30)                                \
    X(fakevenue_okx_idle_client_is_cut_and_ping_keeps_it, 0, 30)                                   \
    X(fakevenue_okx_request_limit_gives_60014, 0, 30)                                              \
    X(fakevenue_okx_connection_faults_and_lifetime_apply, 0, 30)                                   \
    X(fakevenue_okx_conn_limit_and_unknown_path, 0, 30)                                            \
    X(fakevenue_okx_replay_answers_subscribe_args_and_serves_the_recorded_channels, 0, 30)         \
    X(fakevenue_okx_replay_serves_only_the_subscribed_channel, 0, 30)

#endif /* MDF_TESTS_TOOLS_FAKEVENUE_OKX_LIST_H */
