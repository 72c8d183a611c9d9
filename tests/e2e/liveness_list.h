/* End-to-end tests of the reader's liveness rule (tests/e2e/liveness_test.c). T_ALONE: they
 * start busy-spinning processes, which must not slow other tests down. */
#ifndef MDF_TESTS_E2E_LIVENESS_LIST_H
#define MDF_TESTS_E2E_LIVENESS_LIST_H

#define TEST_LIST_LIVENESS(X)                                                                      \
    X(e2e_reader_under_load_beside_a_live_daemon_never_reports_it_dead, T_ALONE, 720)              \
    X(e2e_reader_reports_a_killed_daemon_dead_at_once, T_ALONE, 60)

#endif
