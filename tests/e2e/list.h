/* End-to-end tests: fake venue -> mdfeedd -> shared memory -> reader. */
#ifndef MDF_TESTS_E2E_LIST_H
#define MDF_TESTS_E2E_LIST_H

#define TEST_LIST_E2E(X)

#endif
