/* The Python package (src/python/mdfeed) run by Debian's /usr/bin/python3 against the real
 * daemon and fake venue (tests/python/python_test.c runs tests/python/test_*.py). */
#ifndef MDF_TESTS_PYTHON_LIST_H
#define MDF_TESTS_PYTHON_LIST_H

#define TEST_LIST_PYTHON(X)                                                                        \
    X(python_layout_matches_the_c_structs_field_for_field, 0, 60)                                  \
    X(python_reads_every_ring_as_mdfeed_cat_and_latest_tables_as_the_c_api, 0, 120)                \
    X(python_lapped_reader_gets_exact_lost_count, 0, 90)                                           \
    X(python_detects_daemon_restart_and_resumes_and_dead_daemon_raises, 0, 120)                    \
    X(python_asyncio_reader_never_blocks_the_loop_and_mapping_is_read_only, 0, 90)                 \
    X(python_ten_million_records_read_leave_rss_flat, 0, 120)                                      \
    X(python_examples_give_the_reference_signals_and_a_chart, 0, 90)                               \
    X(python_bus_topics_deliver_every_ring_record_and_idle_bus_waits_on_the_doorbell, 0, 120)     \
    X(python_help_and_man_page_document_every_public_name, 0, 60)

#endif
