/* Tests of the fake venue's replay for venues other than Binance
 * (tests/tools/fakevenue_replay_test.c): X(name, flags, timeout_seconds), as in tests/test_list.h.
 */
#ifndef MDF_TESTS_TOOLS_FAKEVENUE_REPLAY_LIST_H
#define MDF_TESTS_TOOLS_FAKEVENUE_REPLAY_LIST_H

#define TEST_LIST_FV_REPLAY(X)                                                                     \
    X(fakevenue_replay_bitfinex_answers_subscriptions_and_serves_the_recorded_channels, 0, 30)     \
    X(fakevenue_replay_bitfinex_serves_only_the_subscribed_channel, 0, 30)

#endif /* MDF_TESTS_TOOLS_FAKEVENUE_REPLAY_LIST_H */
