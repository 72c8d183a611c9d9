/* Tests of src/net/: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_NET_LIST_H
#define MDF_TESTS_NET_LIST_H

#define TEST_LIST_NET(X)

#endif /* MDF_TESTS_NET_LIST_H */
