/* Tests of src/ws/: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_WS_LIST_H
#define MDF_TESTS_WS_LIST_H

#define TEST_LIST_WS(X)                                                                            \
    X(ws_one_byte_feeding_gives_same_messages_as_whole_buffer, 0, 60)                              \
    X(ws_reassembles_fragmented_message_with_interleaved_pings, 0, 30)                             \
    X(ws_answers_ping_with_same_payload_at_once, 0, 30)                                            \
    X(ws_client_masks_every_frame, 0, 30)                                                          \
    X(ws_invalid_utf8_closes_1007, 0, 30)                                                          \
    X(ws_oversized_message_closes_1009, 0, 30)                                                     \
    X(ws_protocol_errors_close_1002, 0, 30)                                                        \
    X(ws_close_handshake_echoes_valid_codes, 0, 30)                                                \
    X(ws_garbage_input_never_crashes, 0, 60)                                                       \
    X(ws_frame_encode_matches_rfc_examples, 0, 30)                                                 \
    X(ws_handshake_accepts_valid_101_split_anywhere, 0, 30)                                        \
    X(ws_handshake_refuses_bad_responses, 0, 30)                                                   \
    X(ws_handshake_key_is_random_and_accept_matches_rfc_example, 0, 30)                            \
    X(ws_handshake_fuzz_never_crashes, 0, 60)                                                      \
    X(ws_request_parser_reads_upgrade_and_plain_get, 0, 30)

#endif /* MDF_TESTS_WS_LIST_H */
