/* placeholder: being written */
typedef int mdf_placeholder_tests_tools_top_test_c;
