/* End-to-end tests: fake venue -> mdfeedd -> shared memory -> reader. */
#ifndef MDF_TESTS_E2E_LIST_H
#define MDF_TESTS_E2E_LIST_H

#define TEST_LIST_E2E(X)                                                                           \
    X(e2e_spot_replay_every_message_lands_exactly_and_books_match_rebuild, 0, 90)

#endif
