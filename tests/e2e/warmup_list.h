/* End-to-end tests of the candle history warm-up (tests/e2e/warmup_test.c). */
#ifndef MDF_TESTS_E2E_WARMUP_LIST_H
#define MDF_TESTS_E2E_WARMUP_LIST_H

#define TEST_LIST_WARMUP(X)                                                                        \
    X(e2e_first_start_has_the_last_k_candles_of_every_kline_stream_within_seconds, 0, 60)          \
    X(e2e_restart_adopting_the_state_fetches_only_the_candles_missed, 0, 60)                       \
    X(e2e_kline_stream_added_by_sighup_is_warmed_up_too, 0, 60)                                    \
    X(e2e_candle_warmup_over_a_minute_of_weight_waits_for_the_next_minute, 0, 150)

#endif
