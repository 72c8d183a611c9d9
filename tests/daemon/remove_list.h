/* Tests of mdfeedd --remove-segments (tests/daemon/remove_test.c). */
#ifndef MDF_TESTS_DAEMON_REMOVE_LIST_H
#define MDF_TESTS_DAEMON_REMOVE_LIST_H

#define TEST_LIST_REMOVE(X)                                                                        \
    X(daemon_remove_segments_refused_while_running_then_removes_only_its_instance, 0, 60)

#endif
