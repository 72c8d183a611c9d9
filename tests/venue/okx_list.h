/* Tests of the OKX v5 decoder, channels, routes and builders (src/venue/okx.c). */
#ifndef MDF_TESTS_VENUE_OKX_LIST_H
#define MDF_TESTS_VENUE_OKX_LIST_H

#define TEST_LIST_OKX(X)                                                                           \
    X(okx_channels_routes_and_control_messages_are_exact, 0, 30)                                   \
    X(okx_decodes_the_recorded_and_documented_messages_exactly, 0, 30)                             \
    X(okx_numbers_and_strings_give_identical_exact_decimals, 0, 30)                                \
    X(okx_decoder_refuses_hostile_input_with_codes_naming_the_field, 0, 30)                        \
    X(okx_decoder_refuses_every_truncation_and_survives_mutations, 0, 240)                         \
    X(okx_liveness_follows_the_documented_push_frequencies, 0, 30)                                 \
    X(okx_profiles_name_route_and_reach_their_channels_through_the_venue_interface, 0, 30)         \
    X(okx_common_symbols_tell_spot_swaps_futures_and_options_apart, 0, 30)                         \
    X(okx_messages_carry_the_key_their_stream_is_named_by, 0, 30)

#endif
