/* Each venue's recording replayed through the daemon (tests/e2e/replay_test.c). */
#ifndef MDF_TESTS_E2E_REPLAY_LIST_H
#define MDF_TESTS_E2E_REPLAY_LIST_H

#define TEST_LIST_REPLAY_E2E(X)                                                                    \
    X(e2e_replay_bitfinex_recording_lands_exactly, 0, 60)                                          \
    X(e2e_replay_okx_recording_lands_exactly, 0, 60)                                               \
    X(e2e_replay_bybit_recording_lands_exactly, 0, 60)

#endif
