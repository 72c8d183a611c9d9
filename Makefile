# mdfeed: one non-recursive GNU Makefile.
#
#   make                 build the library, tools and tests into build/
#   make test            run every test, again under ASan+UBSan, and the ring/thread tests
#                        under TSan; ends with "N passed, N failed"
#   make bench           print benchmark figures (the C benchmarks, then the Python reader)
#   make fuzz            build the libFuzzer harnesses (clang) and fuzz each for FUZZ_SECONDS
#   make examples        build the example readers of tools/examples/ into build/examples/
#   make install         PREFIX=/usr/local DESTDIR=
#   make uninstall       the same PREFIX and DESTDIR: removes it again (not the configuration)
#   make deps            apt-get install the Debian packages the build needs (if missing)
#   make format          clang-format every source file
#   make clean
#   SANITIZER=address|undefined|thread|address,undefined   build with sanitizers into build/san-*/
#   V=1                  show the commands

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
PKGDIR ?= $(LIBDIR)/pkgconfig
# The Python package goes where Debian's python3 looks: /usr/lib/python3/dist-packages for
# PREFIX=/usr, else $(PREFIX)/lib/python3.X/dist-packages (what Debian's site.py adds for
# /usr/local).
PYTHON ?= /usr/bin/python3
PYDIR ?= $(if $(filter /usr,$(PREFIX)),$(PREFIX)/lib/python3/dist-packages,$(PREFIX)/lib/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)/dist-packages)
DOCDIR ?= $(PREFIX)/share/doc/mdfeed
DESTDIR ?=

VERSION := 0.1.0
SOMAJOR := 2
SONAME := libmdfeed.so.$(SOMAJOR)
REALNAME := libmdfeed.so.$(SOMAJOR).0.0

CC ?= gcc
OPT ?= -O2
SANITIZER ?=
TEST_JOBS ?= 8
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

comma := ,
ifeq ($(SANITIZER),)
B := build
SANFLAGS :=
else
B := build/san-$(subst $(comma),-,$(SANITIZER))
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WARN := -Wall -Wextra -Wstrict-prototypes -Wshadow -Wno-unused-parameter -Werror
CPPFLAGS += -D_GNU_SOURCE -Iinclude -Isrc -DMDFEED_VERSION=\"$(VERSION)\"
CFLAGS += -std=gnu11 $(OPT) -g $(WARN) -fPIC -fvisibility=hidden -MMD -MP $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS += -lpthread -lm

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Debian packages the build, tests and tools need; `make deps` installs the missing ones.
# libhttp-parser-dev parses HTTP responses (the WebSocket upgrade and REST snapshots): a
# well-kept, fuzzed parser instead of one of our own. libjsmn-dev is a JSON tokenizer that works
# in place with no allocation: the venue decoders' fast path (jansson stays as the alternative).
# zlib1g-dev gives the CRC-32 of Bitfinex book checksums; libncurses-dev draws mdfeed-top; tmux
# drives mdfeed-top in its test; systemd gives systemd-analyze for the unit's tests; libfaketime
# steps the daemon's wall clock in the watchdog's clock-step test; strace checks that the daemon
# stays inside the systemd unit's sandbox. clang builds the libFuzzer harnesses of tests/fuzz/.
# python3-numpy is the Python package's one dependency (src/python/mdfeed: records as numpy
# arrays) and python3-pandas its optional DataFrame helpers; the Python tests run Debian's
# /usr/bin/python3 with both.
DEB_PKGS := gcc make pkg-config ca-certificates libuv1-dev libwslay-dev libmbedtls-dev libjansson-dev \
	libconfig-dev libhttp-parser-dev libjsmn-dev zlib1g-dev libncurses-dev tmux systemd libfaketime \
	strace clang python3-numpy python3-pandas \
	libasan8 libubsan1 libtsan2

# ---- objects, per module -------------------------------------------------------------------

CORE_SRC := src/core/decimal.c src/core/err.c src/core/clock.c src/core/names.c
SHM_SRC := src/shm/segment.c src/shm/ring.c src/shm/state.c src/shm/doorbell.c
READER_SRC := src/reader/reader.c src/reader/health.c
PUB_SRC := src/shm/publisher.c src/shm/synth.c src/shm/remove.c
TLS_SRC := src/tls/tls_session.c
WS_SRC := src/ws/ws.c src/ws/ws_handshake.c src/ws/ws_frame.c
NET_SRC := src/net/url.c src/net/backoff.c src/net/resolve.c src/net/conn.c src/net/conn_tcp.c src/net/conn_tls.c \
	src/net/wsconn.c src/net/http.c src/net/restq.c
VENUE_SRC := src/venue/venue.c src/venue/json.c src/venue/binance.c src/venue/bitfinex.c \
	src/venue/binance_conf.c src/venue/bitfinex_conf.c src/venue/bybit_conf.c src/venue/okx_conf.c \
	src/venue/vconf.c \
	src/venue/vfield.c src/venue/bybit.c src/venue/bybit_ticker.c src/venue/okx.c
BOOK_SRC := src/book/book.c src/book/book_sync.c src/book/bfx_book.c \
	src/book/bybit_book.c src/book/okx_book.c
CONFIG_SRC := src/config/config.c src/config/prescan.c
HEALTH_SRC := src/health/health.c src/health/watchdog.c
# The daemon's own modules; main.c is kept apart so the tests can link the rest.
DAEMON_SRC := src/daemon/log.c src/daemon/feed.c src/daemon/shard.c src/daemon/stream.c \
	src/daemon/candles.c src/daemon/events.c src/daemon/daemon.c src/daemon/notify.c \
	src/daemon/health_pub.c src/daemon/bitfinex_feed.c src/daemon/budget.c src/daemon/adapter.c \
	src/daemon/binance_feed.c src/daemon/bybit_feed.c src/daemon/okx_feed.c
DAEMON_MAIN := src/daemon/main.c

# The daemon side (everything but the reader library) and the libraries it needs.
XPORT_SRC := $(TLS_SRC) $(WS_SRC) $(NET_SRC)
XPORT_OBJ := $(XPORT_SRC:%.c=$(B)/%.o)
XPORT_LIBS := -luv -lwslay -lmbedtls -lmbedx509 -lmbedcrypto -lhttp_parser -ljansson
DMN_SRC := $(VENUE_SRC) $(BOOK_SRC) $(CONFIG_SRC) $(HEALTH_SRC) $(DAEMON_SRC)
DMN_OBJ := $(DMN_SRC:%.c=$(B)/%.o)
DMN_LIBS := $(XPORT_LIBS) -lconfig -lz

LIB_SRC := $(CORE_SRC) $(SHM_SRC) $(READER_SRC)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
PUB_OBJ := $(PUB_SRC:%.c=$(B)/%.o)

CAT_SRC := tools/mdfeed-cat/main.c
TOP_SRC := tools/mdfeed-top/main.c tools/mdfeed-top/snapshot.c tools/mdfeed-top/screen.c \
	tools/mdfeed-top/text.c
SYNTH_SRC := tools/mdfeed-synth/main.c
FAKEVENUE_SRC := tools/mdfeed-fakevenue/main.c tools/mdfeed-fakevenue/server.c tools/mdfeed-fakevenue/binance.c tools/mdfeed-fakevenue/streams.c tools/mdfeed-fakevenue/faults.c tools/mdfeed-fakevenue/replay.c tools/mdfeed-fakevenue/rest.c tools/mdfeed-fakevenue/synth.c tools/mdfeed-fakevenue/cases.c tools/mdfeed-fakevenue/market.c tools/mdfeed-fakevenue/candle.c tools/mdfeed-fakevenue/shift.c \
	tools/mdfeed-fakevenue/replay_live.c \
	tools/mdfeed-fakevenue/bitfinex.c tools/mdfeed-fakevenue/bfx_market.c tools/mdfeed-fakevenue/bfx_replay.c \
	tools/mdfeed-fakevenue/proto.c tools/mdfeed-fakevenue/binance_replay.c \
	tools/mdfeed-fakevenue/okx.c tools/mdfeed-fakevenue/okx_market.c tools/mdfeed-fakevenue/okx_replay.c \
	tools/mdfeed-fakevenue/bybit.c tools/mdfeed-fakevenue/bybit_market.c tools/mdfeed-fakevenue/bybit_replay.c

# Example readers (README, tools/examples/README.md): the public API only; installed as
# documentation into $(DOCDIR)/examples.
EX_SRC := tools/examples/reader.c tools/examples/ema_rsi.c tools/examples/spread.c
# The Python examples, installed beside the C ones (mdfeed-python(3) names them).
EX_PY := tools/examples/ema_rsi_signals.py tools/examples/candles_png.py
EXAMPLES := $(EX_SRC:tools/examples/%.c=$(B)/examples/%)
.SECONDARY: $(EX_SRC:%.c=$(B)/%.o)

TEST_SUPPORT_SRC := tests/support/certs.c tests/support/fakevenue.c tests/support/wsclient.c \
	tests/support/daemon.c tests/support/netns.c
TEST_TLS_SRC := tests/tls/tls_session_test.c
TEST_WS_SRC := tests/ws/ws_test.c tests/ws/ws_handshake_test.c
TEST_NET_SRC := tests/net/url_test.c tests/net/backoff_test.c tests/net/wsconn_test.c tests/net/conformance_test.c tests/net/http_test.c \
	tests/net/resolve_test.c
TEST_FV_SRC := tests/tools/fakevenue_test.c tests/tools/fakevenue_bfx_test.c \
	tests/tools/fakevenue_replay_test.c \
	tests/tools/fakevenue_okx_test.c tests/tools/fakevenue_bybit_test.c
TEST_RESTQ_SRC := tests/net/restq_test.c
TEST_VENUE_SRC := tests/venue/binance_test.c tests/venue/json_test.c tests/venue/bitfinex_test.c \
	tests/venue/bybit_test.c tests/venue/okx_test.c
TEST_BOOK_SRC := tests/book/book_test.c tests/book/book_sync_test.c \
	tests/book/bybit_book_test.c tests/book/okx_book_test.c
TEST_CONFIG_SRC := tests/config/config_test.c
TEST_DAEMON_SRC := tests/daemon/cli_test.c tests/daemon/notify_test.c tests/daemon/health_test.c \
	tests/daemon/watchdog_test.c tests/tools/systemd_test.c tests/tools/top_test.c \
	tests/daemon/budget_test.c tests/daemon/remove_test.c
TEST_E2E_SRC := tests/e2e/e2e.c tests/e2e/spot_test.c tests/e2e/futures_test.c tests/e2e/feed_test.c \
	tests/e2e/multi_test.c tests/e2e/bfx_test.c tests/e2e/truth_test.c tests/e2e/demo_test.c \
	tests/e2e/reliability_test.c tests/e2e/budget_test.c tests/e2e/subscribe_test.c \
	tests/e2e/liveness_test.c tests/e2e/dns_test.c tests/e2e/shmfull_test.c \
	tests/e2e/warmup_test.c tests/e2e/okx_test.c tests/e2e/replay_test.c tests/e2e/bybit_test.c
TEST_SRC := tests/runner.c \
	tests/core/decimal_test.c \
	tests/shm/ring_test.c tests/shm/ring_threads_test.c tests/shm/segment_test.c \
	tests/shm/kill_test.c tests/shm/state_test.c \
	tests/reader/reader_test.c tests/reader/batch_test.c tests/python/python_test.c \
	tests/tools/cat_test.c tests/tools/install_test.c tests/tools/examples_test.c \
	$(TEST_SUPPORT_SRC) $(TEST_TLS_SRC) $(TEST_WS_SRC) $(TEST_NET_SRC) $(TEST_FV_SRC) \
	$(TEST_RESTQ_SRC) $(TEST_VENUE_SRC) $(TEST_BOOK_SRC) $(TEST_CONFIG_SRC) $(TEST_DAEMON_SRC) \
	$(TEST_E2E_SRC)
BENCH_SRC := tests/bench/bench.c tests/bench/bench_transport.c tests/bench/bench_decode.c \
	tests/bench/bench_book.c tests/bench/bench_e2e.c tests/support/certs.c

PY_SRC := $(wildcard src/python/mdfeed/*.py)

TOOLS := $(B)/bin/mdfeed-cat $(B)/bin/mdfeed-synth $(B)/bin/mdfeed-fakevenue $(B)/bin/mdfeed-top
DAEMON := $(B)/bin/mdfeedd
MANS := tools/mdfeed-cat/mdfeed-cat.1 tools/mdfeed-synth/mdfeed-synth.1 \
	tools/mdfeed-fakevenue/mdfeed-fakevenue.1 tools/mdfeed-top/mdfeed-top.1 src/reader/libmdfeed.3 src/daemon/mdfeedd.8 \
	src/python/mdfeed-python.3 \
	src/config/mdfeed.conf.5
# `man mdf_open` (and every public function of mdfeed.h) lands in libmdfeed(3): make install puts
# one ".so man3/libmdfeed.3" page per function, make uninstall removes them.
lparen := (
MAN3_LINKS := $(shell sed -n 's/^MDF_API .*[ *]\(mdf_[a-z0-9_]*\)$(lparen).*/\1/p' include/mdfeed/mdfeed.h)

ALL_SRC := $(LIB_SRC) $(PUB_SRC) $(XPORT_SRC) $(DMN_SRC) $(DAEMON_MAIN) $(CAT_SRC) $(TOP_SRC) $(SYNTH_SRC) $(FAKEVENUE_SRC) \
	$(TEST_SRC) $(BENCH_SRC) $(EX_SRC)

.PHONY: all test test-suite bench install uninstall deps format clean run demo fuzz fuzz-build \
	fuzz-regress examples
.DEFAULT_GOAL := all

all: $(B)/lib/libmdfeed.a $(B)/lib/$(SONAME) $(TOOLS) $(DAEMON) $(B)/tests/run $(EXAMPLES)

examples: $(EXAMPLES)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/tests/%.o: CPPFLAGS += -Itests

$(B)/lib/libmdfeed.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/lib/$(SONAME): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $(B)/lib/$(REALNAME) $^ $(LDLIBS)
	$(Q)ln -sf $(REALNAME) $@ && ln -sf $(SONAME) $(B)/lib/libmdfeed.so

# mdfeed-cat uses the public API only.
$(B)/bin/mdfeed-cat: $(CAT_SRC:%.c=$(B)/%.o) $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# mdfeed-top uses the public API only, ncurses for the screen and jansson for --json.
$(B)/bin/mdfeed-top: $(TOP_SRC:%.c=$(B)/%.o) $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lncursesw -ljansson $(LDLIBS)

# The examples link the static library, so they run from the source tree with nothing installed.
$(B)/examples/%: $(B)/tools/examples/%.o $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/mdfeed-synth: $(SYNTH_SRC:%.c=$(B)/%.o) $(PUB_OBJ) $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The fake venue runs on the same tls/ and ws/ code as the daemon.
$(B)/bin/mdfeed-fakevenue: $(FAKEVENUE_SRC:%.c=$(B)/%.o) $(XPORT_OBJ) $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(XPORT_LIBS) -lz $(LDLIBS)

$(DAEMON): $(DAEMON_MAIN:%.c=$(B)/%.o) $(DMN_OBJ) $(PUB_OBJ) $(XPORT_OBJ) $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DMN_LIBS) $(LDLIBS)

$(B)/tests/run: $(TEST_SRC:%.c=$(B)/%.o) $(DMN_OBJ) $(PUB_OBJ) $(XPORT_OBJ) $(B)/lib/libmdfeed.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(DMN_LIBS) $(LDLIBS)

$(B)/tests/run-bench: $(BENCH_SRC:%.c=$(B)/%.o) $(DMN_OBJ) $(PUB_OBJ) $(XPORT_OBJ) \
		$(B)/lib/libmdfeed.a $(B)/bin/mdfeed-fakevenue $(DAEMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(DMN_LIBS) $(LDLIBS)

# ---- test, bench ---------------------------------------------------------------------------

# One suite: build this configuration and run its tests (TESTARGS selects), appending the
# runner's summary to $(B)/summary.
test-suite: all
	$(Q)rm -f $(B)/summary; $(B)/tests/run -j $(TEST_JOBS) $(TESTARGS) | tee $(B)/test.log; \
	  tail -n 1 $(B)/test.log > $(B)/summary

# The sanitizer suite runs the same cases with shorter soaks (the plain suite keeps the full
# two-minute demo, 60 s load, 200 start-up signals, 150 s of restart notices on Binance and on
# Bitfinex, and 500 reloads), so that make test stays under 15 min.
# Each tree builds with one job per CPU; the tests run TEST_JOBS at a time (the sanitizer suite,
# slower per test, six).
test: deps
	$(Q)rm -f $(FZ)/summary; $(MAKE) --no-print-directory -j$(BUILD_JOBS) fuzz-regress; \
	$(MAKE) --no-print-directory -j$(BUILD_JOBS) test-suite; \
	MDFEED_TEST_DEMO_SECONDS=40 MDF_TEST_LOAD_SECONDS=20 MDFEED_TEST_SIGNAL_ROUNDS=80 \
	  MDFEED_TEST_NOTICE_SECONDS=40 MDFEED_TEST_RELOAD_ROUNDS=100 \
	  $(MAKE) --no-print-directory -j$(BUILD_JOBS) SANITIZER=address,undefined TEST_JOBS=6 test-suite; \
	$(MAKE) --no-print-directory -j$(BUILD_JOBS) SANITIZER=thread TESTARGS="-g tsan" test-suite; \
	p=0; f=0; for s in build/fuzz/summary build/summary build/san-address-undefined/summary \
	  build/san-thread/summary; do \
	  if [ -f $$s ] && grep -q 'passed,' $$s; then \
	    p=$$((p + $$(sed 's/ passed.*//' $$s))); f=$$((f + $$(sed 's/.*passed, \([0-9]*\) failed/\1/' $$s))); \
	  else f=$$((f + 1)); echo "suite $$s did not run"; fi; done; \
	echo "$$p passed, $$f failed"; [ $$f -eq 0 ]

# ---- fuzz ----------------------------------------------------------------------------------

# libFuzzer harnesses (tests/fuzz/*.c, one per parser of untrusted input), built by clang in
# their own tree: the code under test with -fsanitize=fuzzer-no-link,address,undefined into
# build/fuzz/obj/, each harness linked with -fsanitize=fuzzer into build/fuzz/<name>.
# `make fuzz` runs a campaign of FUZZ_SECONDS per harness on a writable copy of its corpus
# (build/fuzz/corpus/<name>, seeded from tests/fuzz/corpus/<name>), saving crashes in
# build/fuzz/crashes/ and printing executions and coverage; FUZZ_TARGETS picks harnesses.
# `make test` runs fuzz-regress first: each harness once over its checked-in corpus (-runs=0),
# one passed/failed item per harness in build/fuzz/summary.
FZ := build/fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ALL := binance binance_diff bitfinex book_sync bfx_book ws_frame ws_handshake http config \
	bybit okx bybit_book okx_book \
	decimal reader
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Warnings are errors for the harnesses too; clang's GNU-extension warning is off because
# struct vmsg (venue.h) holds a union with a flexible member, which gcc accepts silently.
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Wstrict-prototypes -Wshadow -Wno-unused-parameter \
	-Wno-gnu-variable-sized-type-not-at-end \
	-Werror -MMD -MP $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# The code under test has its -Werror gate in the gcc build; here clang also drops the warnings
# gcc does not give on it (partial positional initializers of the config table).
$(FZ)/obj/src/%.o: FUZZ_CFLAGS += -Wno-missing-field-initializers
FUZZ_SRC := $(LIB_SRC) $(PUB_SRC) $(XPORT_SRC) $(DMN_SRC)
FUZZ_BINS := $(FUZZ_ALL:%=$(FZ)/%)
# Leaks of libraries we do not own are suppressed (tests/fuzz/lsan.supp says which and why).
FUZZ_ENV := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp

$(FZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -Itests $(FUZZ_CFLAGS) -c $< -o $@

$(FZ)/libtarget.a: $(FUZZ_SRC:%.c=$(FZ)/obj/%.o)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FZ)/%: $(FZ)/obj/tests/fuzz/%.o $(FZ)/libtarget.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(DMN_LIBS) $(LDLIBS) -lrt

.SECONDARY: $(FUZZ_ALL:%=$(FZ)/obj/tests/fuzz/%.o)

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	$(Q)mkdir -p $(FZ)/crashes $(FZ)/logs; for h in $(FUZZ_TARGETS); do \
	  mkdir -p $(FZ)/corpus/$$h; cp -n tests/fuzz/corpus/$$h/* $(FZ)/corpus/$$h/ 2>/dev/null; \
	  $(FUZZ_ENV) $(FZ)/$$h $(FZ)/corpus/$$h -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FZ)/crashes/$$h- -close_fd_mask=3 > $(FZ)/logs/$$h.log 2>&1; rc=$$?; \
	  ex=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FZ)/logs/$$h.log); \
	  cov=$$(grep -o 'cov: [0-9]*' $(FZ)/logs/$$h.log | tail -n 1); \
	  printf '%-14s %s execs, %s%s\n' $$h "$$ex" "$$cov" \
	    "$$([ $$rc -eq 0 ] || echo ", CRASH (exit $$rc, see $(FZ)/logs/$$h.log)")"; \
	done

# Each harness over its checked-in corpus only: catches again a crash seen once (a few seconds).
fuzz-regress: fuzz-build
	$(Q)rm -f $(FZ)/summary; p=0; f=0; mkdir -p $(FZ)/logs; for h in $(FUZZ_ALL); do \
	  if $(FUZZ_ENV) $(FZ)/$$h -runs=0 -close_fd_mask=3 tests/fuzz/corpus/$$h > $(FZ)/logs/$$h-regress.log 2>&1; \
	  then p=$$((p + 1)); else f=$$((f + 1)); echo "fuzz $$h: FAILED (see $(FZ)/logs/$$h-regress.log)"; fi; \
	done; echo "fuzz regression: $$p passed, $$f failed"; echo "$$p passed, $$f failed" > $(FZ)/summary

# Benchmarks build in their own tree at -O3 (objects do not track compiler flags).
bench: deps
	$(Q)$(MAKE) --no-print-directory B=build/bench OPT=-O3 build/bench/tests/run-bench
	$(Q)build/bench/tests/run-bench
	@# The Python reader's figures, on the plain build's library and mdfeed-synth.
	$(Q)$(MAKE) --no-print-directory all
	$(Q)PYTHONPATH=src/python MDFEED_LIB=$(CURDIR)/build/lib/$(SONAME) MDFEED_TEST_BIN=build/bin \
	  $(PYTHON) tests/bench/bench_python.py

# The daemon on the shipped config, against the real venues (needs internet access).
run: deps all
	$(DAEMON) -c conf/mdfeed.conf

# Offline, on loopback: the fake venue, the daemon and mdfeed-cat printing what readers see
# (tools/demo/demo.sh). A synthetic Binance spot market by default; VENUE=bitfinex for the
# Bitfinex one; REPLAY=1 for the recorded spot traffic, looped with times moved to now.
# DEMO_PORT and DEMO_INSTANCE pick the port and instance (two demos can run side by side);
# LEVELS=N prints N book levels a side instead of best bid/ask and spread. Ctrl-C stops all
# three (the daemon ends STOPPED; on a terminal make exits 0). Logs in $(B)/demo-<instance>-*.log.
DEMO_PORT ?= 19443
DEMO_INSTANCE ?= demo
demo: deps $(B)/bin/mdfeed-fakevenue $(DAEMON) $(B)/bin/mdfeed-cat $(B)/bin/mdfeed-top
	@B='$(B)' VENUE='$(VENUE)' REPLAY='$(REPLAY)' LEVELS='$(LEVELS)' DEMO_PORT='$(DEMO_PORT)' \
	  DEMO_INSTANCE='$(DEMO_INSTANCE)' sh tools/demo/demo.sh

# ---- install -------------------------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR)/mdfeed \
	  $(DESTDIR)$(PKGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	  $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/mdfeed \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)/examples
	install -m 0755 $(TOOLS) $(DAEMON) $(DESTDIR)$(BINDIR)/
	[ -e $(DESTDIR)$(SYSCONFDIR)/mdfeed/mdfeed.conf ] || \
	  install -m 0644 conf/mdfeed.conf $(DESTDIR)$(SYSCONFDIR)/mdfeed/mdfeed.conf
	install -m 0644 $(B)/lib/libmdfeed.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(B)/lib/$(REALNAME) $(DESTDIR)$(LIBDIR)/
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libmdfeed.so
	install -m 0644 include/mdfeed/mdfeed.h include/mdfeed/layout.h include/mdfeed/health.h \
	  $(DESTDIR)$(INCDIR)/mdfeed/
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/mdfeedd.service.in \
	  > $(DESTDIR)$(UNITDIR)/mdfeedd.service && chmod 0644 $(DESTDIR)$(UNITDIR)/mdfeedd.service
	install -m 0644 systemd/mdfeed.sysusers $(DESTDIR)$(SYSUSERSDIR)/mdfeed.conf
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$(INCDIR)' 'libdir=$(LIBDIR)' '' \
	  'Name: mdfeed' 'Description: reader library for mdfeed shared-memory market data' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -lmdfeed' \
	  'Libs.private: -lpthread -lm' > $(DESTDIR)$(PKGDIR)/mdfeed.pc
	chmod 0644 $(DESTDIR)$(PKGDIR)/mdfeed.pc
	install -m 0644 $(filter %.1,$(MANS)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.3,$(MANS)) $(DESTDIR)$(MANDIR)/man3/
	for f in $(MAN3_LINKS); do echo '.so man3/libmdfeed.3' > $(DESTDIR)$(MANDIR)/man3/$$f.3 && \
	  chmod 0644 $(DESTDIR)$(MANDIR)/man3/$$f.3 || exit 1; done
	install -m 0644 $(filter %.5,$(MANS)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MANS)) $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(PYDIR)/mdfeed
	install -m 0644 $(PY_SRC) $(DESTDIR)$(PYDIR)/mdfeed/
	install -m 0644 $(EX_SRC) $(EX_PY) tools/examples/README.md $(DESTDIR)$(DOCDIR)/examples/
	@# Into the running system (no DESTDIR) as root: refresh the linker cache so that programs
	@# find libmdfeed.so.N at once.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then \
	  ldconfig; fi

# Removes what install put, except the configuration in $(SYSCONFDIR)/mdfeed (the operator's).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOLS) $(DAEMON)))
	rm -f $(DESTDIR)$(LIBDIR)/libmdfeed.a $(DESTDIR)$(LIBDIR)/$(REALNAME) \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libmdfeed.so $(DESTDIR)$(PKGDIR)/mdfeed.pc
	rm -f $(DESTDIR)$(INCDIR)/mdfeed/mdfeed.h $(DESTDIR)$(INCDIR)/mdfeed/layout.h \
	  $(DESTDIR)$(INCDIR)/mdfeed/health.h
	-rmdir $(DESTDIR)$(INCDIR)/mdfeed 2>/dev/null
	rm -f $(DESTDIR)$(UNITDIR)/mdfeedd.service $(DESTDIR)$(SYSUSERSDIR)/mdfeed.conf
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(filter %.1,$(MANS)))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(filter %.3,$(MANS))) $(MAN3_LINKS:=.3)) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MANS)))) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(filter %.8,$(MANS))))
	rm -rf $(DESTDIR)$(PYDIR)/mdfeed
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(EX_SRC) $(EX_PY)) README.md)
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then \
	  ldconfig; fi
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/mdfeed/ (the configuration): remove it by hand if unwanted"

# ---- housekeeping --------------------------------------------------------------------------

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -ne 0 ]; then \
	    echo "missing Debian packages:$$missing (run 'make deps' as root)"; exit 1; fi; \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

format:
	clang-format -i $(ALL_SRC) $(wildcard tests/fuzz/*.c src/*/*.h tests/*.h tests/*/*.h include/mdfeed/*.h)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
