/* Tests of the example readers (tools/examples/): X(name, flags, timeout_seconds). */
#ifndef MDF_TESTS_TOOLS_EXAMPLES_LIST_H
#define MDF_TESTS_TOOLS_EXAMPLES_LIST_H

#define TEST_LIST_EXAMPLES(X)                                                                      \
    X(examples_readme_reader_builds_installed_and_in_tree_and_reads_the_daemon, 0, 180)            \
    X(examples_reader_refuses_a_symbol_the_instance_lacks_and_names_those_it_has, 0, 60)           \
    X(examples_ema_rsi_signals_equal_a_reference_computation_on_the_same_candles, 0, 180)          \
    X(examples_spread_prints_each_symbols_published_book_top_and_spread, 0, 60)

#endif /* MDF_TESTS_TOOLS_EXAMPLES_LIST_H */
