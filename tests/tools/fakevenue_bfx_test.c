/* placeholder: being written */
typedef int mdf_placeholder_tests_tools_fakevenue_bfx_test_c;
