/* Tests of tools/mdfeed-fakevenue: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_FAKEVENUE_LIST_H
#define MDF_TESTS_FAKEVENUE_LIST_H

#define TEST_LIST_FAKEVENUE(X)

#endif /* MDF_TESTS_FAKEVENUE_LIST_H */
