/* Tests of src/config/. */
#ifndef MDF_TESTS_CONFIG_LIST_H
#define MDF_TESTS_CONFIG_LIST_H

#define TEST_LIST_CONFIG(X)                                                                        \
    X(config_shipped_file_loads_and_expands_expected_streams, 0, 30)                               \
    X(config_symbols_only_style_uses_venue_defaults, 0, 30)                                        \
    X(config_switches_style_expands_every_switch_per_symbol, 0, 30)                                \
    X(config_explicit_streams_join_symbols_in_file_order_without_duplicates, 0, 30)                \
    X(config_reports_every_error_with_its_line, 0, 30)                                             \
    X(config_reports_missing_venues_and_bad_values_elsewhere, 0, 30)                               \
    X(config_syntax_error_names_the_line, 0, 30)                                                   \
    X(config_syntax_errors_name_the_token_and_line, 0, 30)                                         \
    X(config_duplicate_keys_are_named_with_both_lines, 0, 30)                                      \
    X(config_lower_case_binance_symbol_is_upper_cased_with_a_notice, 0, 30)                        \
    X(config_missing_file_is_enoent_with_message, 0, 30)                                           \
    X(config_venue_overrides_take_key_by_key, 0, 30)                                               \
    X(config_timer_rules_each_reported, 0, 30)                                                     \
    X(config_too_many_symbols_series_or_streams_for_the_tables, 0, 30)                             \
    X(config_every_key_loads_and_is_documented, 0, 30)                                             \
    X(config_needs_restart_detects_each_restart_only_key, 0, 30)                                   \
    X(config_bitfinex_entry_loads_to_exact_vstreams, 0, 30)                                        \
    X(config_bitfinex_refusals_name_their_lines, 0, 30)                                            \
    X(config_bitfinex_book_keys_refused_on_binance_venues, 0, 30)                                  \
    X(config_bitfinex_7d_equals_1w_and_intervals_it_lacks_are_refused, 0, 30)                      \
    X(config_bitfinex_streams_per_connection_at_most_its_25_channels, 0, 30)                       \
    X(config_bitfinex_timer_rules_use_its_heartbeat_period, 0, 30)                                 \
    X(config_bitfinex_book_len_or_prec_change_gives_a_different_stream, 0, 30)                     \
    X(config_shipped_bitfinex_example_loads_when_uncommented, 0, 30)                              \
    X(config_bybit_entries_load_to_exact_topics, 0, 30)                                           \
    X(config_bybit_refusals_name_their_lines, 0, 30)

#endif
