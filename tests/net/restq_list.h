/* Tests of src/net/restq.c: X(name, flags, timeout_seconds), as in tests/test_list.h. */
#ifndef MDF_TESTS_NET_RESTQ_LIST_H
#define MDF_TESTS_NET_RESTQ_LIST_H

#define TEST_LIST_RESTQ(X)                                                                         \
    X(restq_completes_burst_of_200_snapshots_within_weight_budget, 0, 150)                         \
    X(restq_defers_when_venue_reports_weight_used_by_another_client, 0, 60)                        \
    X(restq_418_and_429_pause_queue_and_retry_same_request_losing_nothing, 0, 150)                 \
    X(restq_retries_refused_silent_and_5xx_then_reports_them, 0, 60)                               \
    X(restq_sends_in_order_and_reports_400_at_once, 0, 60)                                         \
    X(restq_fetches_snapshot_over_tls, 0, 60)                                                      \
    X(restq_cancel_and_stop_call_back_once_with_ecanceled, 0, 60)                                  \
    X(restq_queues_sharing_a_host_budget_send_within_it_together, 0, 60)                           \
    X(restq_pause_is_the_hosts_and_told_once_per_queue_and_pause, 0, 60)

#endif /* MDF_TESTS_NET_RESTQ_LIST_H */
