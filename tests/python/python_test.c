/*
 * The Python package, tested by Debian's /usr/bin/python3 running tests/python/test_*.py with
 * the in-tree package (PYTHONPATH=src/python) and this build's programs. Each script starts its
 * own fake venue and daemon (tests/python/harness.py) and exits 0 (pass), 77 (skip) or
 * otherwise (fail, its output shown).
 *
 * Under AddressSanitizer the scripts load the sanitizer build's libmdfeed: CPython is not
 * built with ASan, so the runtime this test runner uses (libasan, found in /proc/self/maps) is
 * preloaded into it and its children, with leak checking off (the interpreter keeps its own
 * objects until exit). ThreadSanitizer builds skip (that suite runs only the ring and thread
 * tests anyway).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define PYTHON "/usr/bin/python3"

#if defined(__SANITIZE_ADDRESS__)
/* Preloads the ASan runtime this process runs on into the Python children. */
static void preload_asan(void)
{
    char line[PATH_MAX + 256], opts[512];
    const char *old = getenv("ASAN_OPTIONS");
    FILE *f = fopen("/proc/self/maps", "r");
    char *path;

    if (!f)
        test_fail(__FILE__, __LINE__, "cannot read /proc/self/maps");
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, "/libasan.so") || !(path = strchr(line, '/')))
            continue;
        path[strcspn(path, "\n")] = '\0';
        setenv("LD_PRELOAD", path, 1);
        break;
    }
    fclose(f);
    if (!getenv("LD_PRELOAD"))
        test_skip("AddressSanitizer linked statically: cannot preload it into CPython");
    snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", old ? old : "", old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
}
#endif

static int run_script(const char *script)
{
    char root[PATH_MAX], build[PATH_MAX], path[PATH_MAX + 64], env[PATH_MAX + 64];
    char *argv[] = {PYTHON, path, NULL};
    char *out = NULL, *err = NULL;
    char *p;
    int rc;

#if defined(__SANITIZE_THREAD__)
    test_skip("ThreadSanitizer build: CPython cannot load a TSan libmdfeed");
#endif
#if defined(__SANITIZE_ADDRESS__)
    preload_asan();
#endif
    if (access(PYTHON, X_OK) != 0)
        test_fail(__FILE__, __LINE__, "%s is missing: run make deps", PYTHON);
    /* <root>/build/bin/x -> <root>/build and <root> */
    snprintf(build, sizeof(build), "%s", test_bin("x"));
    if ((p = strrchr(build, '/')))
        *p = '\0';
    if ((p = strrchr(build, '/')))
        *p = '\0';
    snprintf(root, sizeof(root), "%s", build);
    if ((p = strstr(root, "/build")))
        *p = '\0';
    snprintf(path, sizeof(path), "%s/tests/python/%s", root, script);
    snprintf(env, sizeof(env), "%s/src/python", root);
    setenv("PYTHONPATH", env, 1);
    snprintf(env, sizeof(env), "%s/lib/libmdfeed.so.2", build);
    setenv("MDFEED_LIB", env, 1);
    snprintf(env, sizeof(env), "%s/bin", build);
    setenv("MDFEED_TEST_BIN", env, 1);
    setenv("MDFEED_TEST_INSTANCE", test_instance(), 1);
    setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
    rc = test_run_capture(argv, &out, &err);
    if (rc == 77) {
        fprintf(stderr, "%s", out ? out : "");
        test_skip("the script skipped");
    }
    if (rc != 0)
        fprintf(stderr, "%s exited %d\n--- stdout\n%s--- stderr\n%s", script, rc, out ? out : "",
                err ? err : "");
    free(out);
    free(err);
    return rc;
}

TEST(python_layout_matches_the_c_structs_field_for_field)
{
    ASSERT_EQ(run_script("test_layout.py"), 0);
    return 0;
}

TEST(python_reads_every_ring_as_mdfeed_cat_and_latest_tables_as_the_c_api)
{
    ASSERT_EQ(run_script("test_truth.py"), 0);
    return 0;
}

TEST(python_lapped_reader_gets_exact_lost_count)
{
    ASSERT_EQ(run_script("test_lapped.py"), 0);
    return 0;
}

TEST(python_detects_daemon_restart_and_resumes_and_dead_daemon_raises)
{
    ASSERT_EQ(run_script("test_restart.py"), 0);
    return 0;
}

TEST(python_asyncio_reader_never_blocks_the_loop_and_mapping_is_read_only)
{
    ASSERT_EQ(run_script("test_async.py"), 0);
    return 0;
}

TEST(python_ten_million_records_read_leave_rss_flat)
{
    ASSERT_EQ(run_script("test_rss.py"), 0);
    return 0;
}

TEST(python_examples_give_the_reference_signals_and_a_chart)
{
    ASSERT_EQ(run_script("test_examples.py"), 0);
    return 0;
}

TEST(python_bus_topics_deliver_every_ring_record_and_idle_bus_waits_on_the_doorbell)
{
    ASSERT_EQ(run_script("test_bus.py"), 0);
    return 0;
}

TEST(python_help_and_man_page_document_every_public_name)
{
    ASSERT_EQ(run_script("test_docs.py"), 0);
    return 0;
}
