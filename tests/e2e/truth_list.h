/* End-to-end health truth: evidence-based alarms, the watchdog once per cause, nothing failing
 * silently (tests/e2e/truth_test.c). */
#ifndef MDF_TESTS_E2E_TRUTH_LIST_H
#define MDF_TESTS_E2E_TRUTH_LIST_H

#define TEST_LIST_TRUTH(X)                                                                         \
    X(e2e_quiet_market_spot_and_futures_raises_no_alarm, 0, 90)                                    \
    X(e2e_stream_missing_data_on_a_live_connection_is_stale_and_one_replacement_cures_it, 0, 90)   \
    X(e2e_stream_missing_data_on_every_connection_gets_one_replacement_then_stays_stale, 0, 90)    \
    X(e2e_connection_giving_up_before_first_connect_is_failed_everywhere_and_keeps_trying, 0, 90)  \
    X(e2e_connection_giving_up_after_it_ran_is_failed_everywhere_and_comes_back, 0, 90)            \
    X(e2e_stream_whose_messages_do_not_decode_is_flagged_not_live, 0, 90)

#endif
