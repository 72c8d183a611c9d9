/* `make demo` end to end, each mode for MDFEED_TEST_DEMO_SECONDS, and two side by side
 * (tests/e2e/demo_test.c). */
#ifndef MDF_TESTS_E2E_DEMO_LIST_H
#define MDF_TESTS_E2E_DEMO_LIST_H

#define TEST_LIST_DEMO(X)                                                                          \
    X(e2e_make_demo_synthetic_market_runs_clean_and_stops_on_sigint, 0, 200)                       \
    X(e2e_make_demo_bitfinex_runs_clean_and_stops_on_sigint, 0, 200)                               \
    X(e2e_make_demo_replay_runs_clean_and_stops_on_sigint, 0, 200)                                 \
    X(e2e_two_make_demos_run_side_by_side, 0, 200)                                                 \
    X(e2e_make_demo_on_a_terminal_ends_with_exit_0_on_ctrl_c, 0, 90)

#endif
