/* End-to-end tests: fake venue -> mdfeedd -> shared memory -> reader. */
#ifndef MDF_TESTS_E2E_LIST_H
#define MDF_TESTS_E2E_LIST_H

#define TEST_LIST_E2E(X)                                                                           \
    X(e2e_spot_replay_every_message_lands_exactly_and_books_match_rebuild, 0, 90)              \
    X(e2e_futures_routed_streams_land_exactly_and_books_follow_pu_chain, 0, 90)                \
    X(e2e_futures_stream_moved_to_other_path_raises_silence_alarm, 0, 90)

#endif
