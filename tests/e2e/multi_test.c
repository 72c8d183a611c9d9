/* placeholder: being written */
typedef int mdf_placeholder_tests_e2e_multi_test_c;
