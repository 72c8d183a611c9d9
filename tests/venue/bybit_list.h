/* Tests of the Bybit v5 decoder, topics, builders and ticker merge (src/venue/bybit*.c). */
#ifndef MDF_TESTS_VENUE_BYBIT_LIST_H
#define MDF_TESTS_VENUE_BYBIT_LIST_H

#define TEST_LIST_BYBIT(X)                                                                         \
    X(bybit_topics_urls_and_control_messages_are_exact, 0, 30)                                     \
    X(bybit_decodes_the_documented_messages_exactly, 0, 30)                                        \
    X(bybit_numbers_and_strings_give_identical_exact_decimals, 0, 30)                              \
    X(bybit_decoder_refuses_hostile_input_with_codes_naming_the_field, 0, 30)                      \
    X(bybit_decoder_refuses_every_truncation_and_survives_mutations, 0, 240)                       \
    X(bybit_ticker_merge_keeps_fields_across_deltas, 0, 30)                                        \
    X(bybit_liveness_follows_the_documented_push_frequencies, 0, 30)                              \
    X(bybit_profiles_name_route_and_reach_their_topics_through_the_venue_interface, 0, 30)

#endif
