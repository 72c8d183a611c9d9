/* Tests of src/ws/: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_WS_LIST_H
#define MDF_TESTS_WS_LIST_H

#define TEST_LIST_WS(X)

#endif /* MDF_TESTS_WS_LIST_H */
