/* A full /dev/shm end to end (tests/e2e/shmfull_test.c). */
#ifndef MDF_TESTS_E2E_SHMFULL_LIST_H
#define MDF_TESTS_E2E_SHMFULL_LIST_H

#define TEST_LIST_SHMFULL(X)                                                                       \
    X(daemon_refuses_to_start_clearly_when_dev_shm_cannot_back_its_rings, 0, 30)                   \
    X(daemon_on_full_dev_shm_refuses_new_streams_and_keeps_serving_the_others, 0, 60)              \
    X(daemon_restarted_on_full_dev_shm_adopts_its_segments_and_keeps_publishing, 0, 30)            \
    X(readers_on_full_dev_shm_get_data_or_an_error_never_sigbus, 0, 30)                            \
    X(reader_refuses_an_unbacked_or_truncated_ring_with_an_error_not_sigbus, 0, 30)

#endif
