/* Tests of src/tls/: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_TLS_LIST_H
#define MDF_TESTS_TLS_LIST_H

#define TEST_LIST_TLS(X)                                                                           \
    X(tls_handshake_and_data_both_ways_in_memory, 0, 60)                                           \
    X(tls_fed_one_byte_at_a_time_gives_same_plaintext, 0, 60)                                      \
    X(tls_refuses_wrong_host, 0, 30)                                                               \
    X(tls_refuses_expired_certificate, 0, 30)                                                      \
    X(tls_refuses_not_yet_valid_certificate, 0, 30)                                                \
    X(tls_refuses_self_signed_certificate, 0, 30)                                                  \
    X(tls_refuses_untrusted_ca, 0, 30)                                                             \
    X(tls_refuses_tls11_only_server, 0, 30)                                                        \
    X(tls_client_requires_hostname, 0, 30)                                                         \
    X(tls_refuses_missing_or_garbage_ca_file, 0, 30)                                               \
    X(tls_close_notify_reported_as_closed, 0, 30)                                                  \
    X(tls_garbage_ciphertext_fails_cleanly, 0, 60)                                                 \
    X(tls_drains_all_plaintext_after_one_feed, 0, 30)

#endif /* MDF_TESTS_TLS_LIST_H */
