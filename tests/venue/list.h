/* Tests of src/venue/. */
#ifndef MDF_TESTS_VENUE_LIST_H
#define MDF_TESTS_VENUE_LIST_H

#define TEST_LIST_VENUE(X)                                                                         \
    X(venue_profiles_have_the_documented_endpoints_and_limits, 0, 30)                              \
    X(vstream_type_names_equality_and_cadences, 0, 30)                                             \
    X(binance_stream_names_build_and_parse_back_for_every_option, 0, 30)                           \
    X(binance_stream_check_refuses_what_the_venue_does_not_serve, 0, 30)                           \
    X(binance_routes_urls_control_messages_and_rest_weights_are_exact, 0, 30)                      \
    X(binance_decodes_every_spot_fixture_line_exactly, 0, 60)                                      \
    X(binance_decodes_recorded_lines_field_by_field, 0, 30)                                        \
    X(binance_snapshots_from_the_recording_decode_every_level, 0, 60)                              \
    X(binance_decodes_the_documented_spot_examples, 0, 30)                                         \
    X(binance_decodes_the_documented_futures_examples, 0, 30)                                      \
    X(binance_klines_body_keeps_closed_candles_only, 0, 30)                                        \
    X(binance_rest_error_body_gives_code_and_message, 0, 30)                                       \
    X(binance_backends_give_identical_results_on_every_fixture, 0, 60)                             \
    X(binance_backends_both_refuse_a_nul_byte_between_tokens, 0, 10)                               \
    X(binance_backends_agree_on_tricky_messages_and_every_recording, 0, 120)                       \
    X(binance_decoder_refuses_impossible_values_as_range_errors_naming_field_and_value, 0, 30)     \
    X(binance_decoder_keeps_valid_edge_values, 0, 30)                                              \
    X(binance_flags_a_crossed_or_locked_best_bid_and_offer_and_publishes_it, 0, 30)                \
    X(binance_decoder_refuses_every_truncation_of_a_message, 0, 120)                               \
    X(binance_decoder_names_the_field_of_a_wrong_type_or_range, 0, 30)                             \
    X(binance_decoder_survives_junk_depth_and_oversized_input, 0, 240)                             \
    X(json_backends_accept_the_same_grammar, 0, 30)                                                \
    X(json_integers_are_exact_and_fractions_are_refused, 0, 30)                                    \
    X(json_collect_finds_members_past_nested_values_and_the_last_duplicate_wins, 0, 30)            \
    X(json_iterates_arrays_element_by_element, 0, 30)                                              \
    X(json_decimals_strings_and_text_read_exactly, 0, 30)                                          \
    X(json_backends_read_escapes_numbers_and_keys_from_the_text_alike, 0, 30)                      \
    X(json_nesting_limit_is_the_same_on_both_backends, 0, 30)                                      \
    X(json_jsmn_refuses_more_tokens_than_preallocated_and_recovers, 0, 30)                         \
    X(json_jsmn_path_allocates_nothing_per_message, 0, 30)

#endif
