/* Tests of src/net/: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_NET_LIST_H
#define MDF_TESTS_NET_LIST_H

#define TEST_LIST_NET(X)                                                                           \
    X(url_parses_schemes_hosts_ports_and_paths, 0, 30)                                             \
    X(backoff_doubles_to_cap_with_jitter_and_gives_up, 0, 30)                                      \
    X(wsconn_receives_replayed_stream_over_tls, 0, 60)                                             \
    X(wsconn_refuses_bad_certificates_with_clear_errors, 0, 90)                                    \
    X(wsconn_recovers_from_transport_faults_by_backoff_schedule, 0, 180)                           \
    X(wsconn_drip_and_fragments_give_same_messages, 0, 120)                                        \
    X(wsconn_same_fds_and_memory_after_100_reconnects, 0, 180)                                     \
    X(wsconn_gives_up_after_max_attempts, 0, 30)                                                   \
    X(wsconn_reset_of_open_connection_counts_as_loss_not_connect_error, 0, 30)                     \
    X(wsconn_answers_venue_pings_and_pings_itself, 0, 30)                                          \
    X(wsconn_connects_over_ipv6_loopback, 0, 30)                                                   \
    X(wsconn_connect_timeout_ends_a_hanging_connect, 0, 30)                                        \
    X(wsconn_connections_share_one_tls_config, 0, 30)                                              \
    X(conformance_autobahn_groups_1_to_7_9_10, 0, 300)                                             \
    X(conformance_case_reports_fail_when_client_does_not_echo, 0, 60)                              \
    X(conformance_case_reports_fail_when_echo_differs, 0, 60)                                      \
    X(http_get_reads_content_length_and_chunked_bodies, 0, 120)                                    \
    X(http_get_over_tls_verifies_the_server, 0, 60)                                                \
    X(http_get_enforces_body_limit, 0, 60)                                                         \
    X(http_get_times_out_on_silent_server, 0, 30)                                                  \
    X(http_get_exposes_status_and_headers, 0, 120)                                                 \
    X(http_get_refused_connection_reports_error, 0, 30)                                            \
    X(http_get_reuses_struct_for_many_requests_without_leaking, 0, 180)                            \
    X(http_get_over_ipv6_loopback, 0, 30)                                                          \
    X(http_get_sends_request_line_and_headers, 0, 30)                                              \
    X(http_get_assembles_headers_split_across_reads, 0, 60)                                        \
    X(http_get_reports_malformed_and_cut_responses, 0, 60)                                         \
    X(http_get_stop_cancels_request_in_flight, 0, 30)

#endif /* MDF_TESTS_NET_LIST_H */
