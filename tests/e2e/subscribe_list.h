/* End-to-end tests of refused subscriptions (tests/e2e/subscribe_test.c). */
#ifndef MDF_TESTS_E2E_SUBSCRIBE_LIST_H
#define MDF_TESTS_E2E_SUBSCRIBE_LIST_H

#define TEST_LIST_SUBSCRIBE(X)                                                                     \
    X(e2e_refused_subscribe_is_split_until_only_the_bad_stream_fails, 0, 60)                       \
    X(e2e_stream_refused_before_is_asked_alone_after_a_reconnect, 0, 60)                           \
    X(e2e_two_refused_streams_in_a_batch_of_40_cost_at_most_the_split_bound, 0, 60)

#endif
