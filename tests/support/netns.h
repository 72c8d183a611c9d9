/*
 * A private network for a test: the test process moves into new network and mount namespaces
 * (loopback only, brought up), with its own /etc/resolv.conf naming a name server of the test's
 * on 127.0.0.1:53 that either never answers or answers late. Children (fake venues, the daemon)
 * inherit all of it; the machine's network and files are untouched.
 */
#ifndef MDF_TESTS_SUPPORT_NETNS_H
#define MDF_TESTS_SUPPORT_NETNS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Moves the calling process into a private network and mount namespace with lo up and a
 * resolv.conf of "nameserver 127.0.0.1" and glibc's longest waits (30 s, 5 attempts) over
 * /etc/resolv.conf. Skips the test (test_skip) with the reason when that cannot be done. */
void netns_private(void);

/* The test's name server on 127.0.0.1:53. */
struct fake_dns {
    int fd;                     /* UDP socket */
    pthread_t thread;           /* reads queries, answers as told */
    atomic_int answer_after_ms; /* < 0: never answer; else answer each query after this long,
                                   with 127.0.0.1 to an A query and no address to any other
                                   (relaxed: the test may change it; it orders nothing) */
    atomic_bool stop;     /* set by dns_stop, read by the thread (relaxed: it only ends the loop;
                             pthread_join orders the rest) */
    atomic_uint queries;  /* queries read (relaxed: a plain count, ordered with nothing) */
    atomic_uint answered; /* answers sent (relaxed, as queries) */
    atomic_bool named;    /* first_name is set (release by the thread, after writing it; acquire
                             by the test before reading it) */
    char first_name[256]; /* name asked by the first query */
};

/* Starts the server (answer_after_ms as above). Fails the test if it cannot. */
void dns_start(struct fake_dns *d, int answer_after_ms);

/* Queries read and answers sent so far. */
unsigned dns_queries(struct fake_dns *d);
unsigned dns_answered(struct fake_dns *d);

/* Stops it and closes the socket. */
void dns_stop(struct fake_dns *d);

#endif /* MDF_TESTS_SUPPORT_NETNS_H */
