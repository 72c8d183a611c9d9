/*
 * Reader API edges: opening an instance that does not exist yet (at once, with a wait that
 * times out, with a wait that sees it appear), and clear errors for bad arguments.
 */
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mdfeed/mdfeed.h>

#include "core/clock.h"
#include "shm/publisher.h"
#include "test.h"

TEST(reader_open_waits_for_instance_and_times_out)
{
    struct pub_params prm;
    struct publisher p;
    mdf_instance_t *inst = NULL;
    mdf_sub_t *sub;
    int64_t t0;
    int status;
    pid_t w;

    ASSERT_EQ(mdf_open(&inst, test_instance(), 0), -ENOENT);
    ASSERT_CONTAINS(mdf_errmsg(), test_instance());
    ASSERT(inst == NULL);
    t0 = test_now_ns();
    ASSERT_EQ(mdf_open(&inst, test_instance(), 50), -ETIMEDOUT);
    ASSERT_GE(test_now_ns() - t0, INT64_C(50000000));
    ASSERT_EQ(mdf_open(&inst, "bad/name", 0), -EINVAL);
    /* The daemon appears 200 ms later; a waiting open gets it. */
    w = fork();
    ASSERT(w >= 0);
    if (w == 0) {
        clock_sleep_ns(200000000);
        pub_default_params(&prm, test_instance());
        _exit(pub_open(&p, &prm) < 0 ? 3 : 0);
    }
    ASSERT_EQ(mdf_open(&inst, test_instance(), 10000), 0);
    waitpid(w, &status, 0);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_EQ(mdf_subscribe(inst, 99, MDF_START_NOW, 0, &sub), -EINVAL);
    ASSERT_EQ(mdf_subscribe(inst, MDF_RING_BOOKS, 7, 0, &sub), -EINVAL);
    ASSERT_EQ(mdf_next(NULL, NULL, NULL), -EINVAL);
    ASSERT_EQ(mdf_ring_from_name("ticks"), MDF_RING_TICKS);
    ASSERT_EQ(mdf_ring_from_name("nope"), -EINVAL);
    ASSERT_EQ(mdf_interval_from_name("1M"), MDF_IV_1MO);
    ASSERT_EQ(mdf_interval_from_name("1m"), MDF_IV_1M);
    ASSERT_EQ(mdf_interval_ns(MDF_IV_1H), INT64_C(3600000000000));
    ASSERT_STR_EQ(mdf_strerror(MDF_EDEAD), "the daemon is dead");
    ASSERT_STR_EQ(mdf_strerror(-ENOENT), "No such file or directory");
    mdf_close(inst);
    return 0;
}
