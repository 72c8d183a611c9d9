/* Tests of the Bitfinex decoder (src/venue/bitfinex.c) and book (src/book/bfx_book.c). */
#ifndef MDF_TESTS_VENUE_BFX_LIST_H
#define MDF_TESTS_VENUE_BFX_LIST_H

#define TEST_LIST_BFX(X)                                                                           \
    X(bitfinex_profile_and_stream_checks_match_the_venue, 0, 30)                                   \
    X(bitfinex_keys_and_control_messages_are_exact, 0, 30)                                         \
    X(bitfinex_conf_missing_names_each_lost_flag_once_without_stray_separators, 0, 30)             \
    X(bitfinex_subscribed_echo_gives_the_same_key_as_the_spec, 0, 30)                              \
    X(bitfinex_decodes_the_recorded_lines_exactly, 0, 30)                                          \
    X(bitfinex_events_give_codes_status_and_echoes, 0, 30)                                         \
    X(bitfinex_trades_decode_te_tu_and_snapshots_with_sides, 0, 30)                                \
    X(bitfinex_candles_snapshot_is_oldest_first_with_o_c_h_l_mapped, 0, 30)                        \
    X(bitfinex_candles_and_tickers_follow_the_shared_range_rules, 0, 30)                           \
    X(bitfinex_numbers_and_strings_give_identical_exact_decimals, 0, 30)                           \
    X(bitfinex_trailing_fields_are_read_by_the_confirmed_flags, 0, 30)                             \
    X(bitfinex_decoder_refuses_jansson_and_misuse, 0, 30)                                          \
    X(bitfinex_decoder_refuses_every_truncation_of_a_message, 0, 120)                              \
    X(bitfinex_decoder_survives_random_mutations, 0, 240)                                          \
    X(bfx_js_format_matches_ecmascript_number_to_string, 0, 30)                                    \
    X(bfx_book_checksum_matches_an_independent_crc, 0, 30)                                         \
    X(bfx_book_applies_updates_and_resyncs_on_a_bad_checksum, 0, 30)                               \
    X(bfx_book_random_stream_always_equals_a_reference, 0, 240)

#endif
