/* Reliability end to end (tests/e2e/reliability_test.c). */
#ifndef MDF_TESTS_E2E_RELIABILITY_LIST_H
#define MDF_TESTS_E2E_RELIABILITY_LIST_H

#define TEST_LIST_RELIABILITY(X)                                                                   \
    X(daemon_sighup_and_sigterm_at_random_moments_of_start_up_never_kill_it, 0, 300)               \
    X(daemon_replacing_a_corrupt_segment_says_so, 0, 30)                                           \
    X(daemon_500_reloads_leave_its_private_memory_where_it_was, 0, 180)

#endif
