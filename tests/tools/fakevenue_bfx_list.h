/* Tests of the Bitfinex side of tools/mdfeed-fakevenue: X(name, flags, timeout_seconds), as in
 * tests/test_list.h. */
#ifndef MDF_TESTS_TOOLS_FAKEVENUE_BFX_LIST_H
#define MDF_TESTS_TOOLS_FAKEVENUE_BFX_LIST_H

#define TEST_LIST_FV_BFX(X)                                                                        \
    X(fakevenue_bfx_js_format_matches_known_values, 0, 10)                                         \
    X(fakevenue_bfx_sends_info_answers_conf_ping_and_unknown_events, 0, 30)                        \
    X(fakevenue_bfx_subscribe_unsubscribe_and_error_codes, 0, 30)                                  \
    X(fakevenue_bfx_channel_limit_gives_10305, 0, 30)                                              \
    X(fakevenue_bfx_dec_s_sends_the_same_decimals_as_strings, 0, 60)                               \
    X(fakevenue_bfx_seq_all_and_timestamp_trail_every_message, 0, 60)                              \
    X(fakevenue_bfx_book_checksums_match_a_rebuilt_book, 0, 90)                                    \
    X(fakevenue_bfx_bad_checksum_fault_sends_one_wrong_value, 0, 60)                               \
    X(fakevenue_bfx_bad_level_is_caught_by_the_checksum_and_a_resubscribe_heals, 0, 60)            \
    X(fakevenue_bfx_gap_fault_skips_one_sequence_number, 0, 60)                                    \
    X(fakevenue_bfx_info_20051_then_close_after_the_grace, 0, 30)                                  \
    X(fakevenue_bfx_maintenance_pauses_data_between_20060_and_20061, 0, 30)                        \
    X(fakevenue_bfx_candles_snapshot_newest_first_then_updates_and_next_candle, 0, 60)             \
    X(fakevenue_bfx_trades_te_then_tu_with_the_same_ids, 0, 60)                                    \
    X(fakevenue_bfx_conn_limit_refuses_upgrades_and_counts_them, 0, 60)                            \
    X(fakevenue_bfx_serves_wss_with_the_given_certificate, 0, 30)

#endif /* MDF_TESTS_TOOLS_FAKEVENUE_BFX_LIST_H */
