# shoal: one Makefile (GNU make) for the libraries, binaries, tests and tools.
#
#   make            build everything into build/
#   make check      install missing packages, build, run every test (also under
#                   ASan+UBSan and valgrind); ends with "N passed, N failed"
#   make asan       ASan+UBSan build (build/asan/) and its unit tests
#   make tsan       libshoal's test driver and the CLI under ThreadSanitizer (build/tsan/)
#   make fuzz       libFuzzer targets (clang) in build/fuzz/; make fuzz-run FUZZ_TIME=S
#   make bench      benchmarks (tests/bench/), figures as ratios to references
#   make soak       the long tests: 64 nodes at 10% UDP loss for 10 minutes; 20 kill -9
#                   events under continuous reads (figures in build/soak.txt)
#   make demo       the README's demo
#   make install    PREFIX=/usr/local DESTDIR=
#   make deps       install missing Debian packages (no-op when present)
#   make clean

PREFIX ?= /usr/local
# where `make install` puts the shoal:// module (Debian's python3 looks there)
PYDIR ?= $(PREFIX)/lib/python3/dist-packages
DESTDIR ?=
BUILD ?= build
CC ?= cc
SAN ?=
OPT ?= -O2

PKGS := libevent libevent_pthreads libevent_openssl libcurl msgpack yaml-0.1 libssl libcrypto expat libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2
CFLAGS ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -pthread $(WARN) $(CFLAGS) -I. $(PKG_CFLAGS)
ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif
ifeq ($(SAN),thread)
ALL_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=thread
endif
ALL_LDFLAGS := -pthread $(SAN_LDFLAGS) $(LDFLAGS)
LIBS := $(PKG_LIBS) -lhttp_parser -lm

RING_SRC := $(wildcard ring/*.c)
UFS_SRC := $(wildcard ufs/*.c)
CLIENT_SRC := $(filter-out client/cli%, $(wildcard client/*.c))
CLI_SRC := $(wildcard client/cli*.c)
DAEMON_SRC := $(filter-out daemon/main.c, $(wildcard daemon/*.c daemon/*/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
BENCH_SRC := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBRING := $(BUILD)/libshoalring.a
LIBUFS := $(BUILD)/libshoalufs.a
LIBSHD := $(BUILD)/libshd.a
LIBSHOAL_A := $(BUILD)/libshoal.a
LIBSHOAL_SO := $(BUILD)/libshoal.so
SHOALD := $(BUILD)/shoald
SHOAL := $(BUILD)/shoal
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all check asan tsan bench demo install clean deps unit fmt soak
.SECONDARY:
CLIENT_CHECK := $(BUILD)/tools/client_check
all: $(SHOALD) $(SHOAL) $(LIBSHOAL_A) $(LIBSHOAL_SO) $(UNIT_BINS) $(BENCH_BINS) $(CLIENT_CHECK)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# xxhash.h's XXH3 for CPUs with AVX2 (client/xxh.c calls it only on those)
$(BUILD)/obj/client/xxh_avx2.o: ALL_CFLAGS += $(if $(filter x86_64,$(shell uname -m)),-mavx2)


$(LIBRING): $(call obj,$(RING_SRC))
$(LIBUFS): $(call obj,$(UFS_SRC))
$(LIBSHD): $(call obj,$(DAEMON_SRC))
$(LIBSHOAL_A): $(call obj,$(CLIENT_SRC) $(RING_SRC))
$(LIBRING) $(LIBUFS) $(LIBSHD) $(LIBSHOAL_A):
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBSHOAL_SO): $(call obj,$(CLIENT_SRC) $(RING_SRC))
	$(CC) -shared -Wl,-soname,libshoal.so.0 $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(SHOALD): $(call obj,daemon/main.c) $(LIBSHD) $(LIBUFS) $(LIBSHOAL_A) $(LIBRING)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# the CLI alone reads JSON (shoal ring): jansson
$(SHOAL): $(call obj,$(CLI_SRC)) $(LIBSHOAL_A)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs jansson 2>/dev/null)

# Unit tests may #include the .c under test; archives supply the rest.
$(BUILD)/tests/%: $(call obj,tests/unit/%.c) $(LIBSHD) $(LIBUFS) $(LIBSHOAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# libshoal's public API against a real cluster (tests/integration/test_client.sh): shoal.h only
$(CLIENT_CHECK): $(call obj,tests/integration/client_check.c) $(LIBSHOAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/bench/%: $(call obj,tests/bench/%.c) $(LIBSHD) $(LIBUFS) $(LIBSHOAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

deps:
	@deploy/deps.sh all

# Unit tests only (the harness prints one summary per binary).
unit: $(UNIT_BINS)
	@tests/run.sh unit $(BUILD)

asan:
	@deploy/deps.sh build
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 unit

# libshoal, its test driver and the shoal CLI under ThreadSanitizer (build/tsan/), run by
# tests/integration/test_client.sh and test_client_io.sh when present (make check builds it)
tsan:
	@deploy/deps.sh build
	$(MAKE) BUILD=build/tsan SAN=thread OPT=-O1 build/tsan/tools/client_check build/tsan/shoal

check:
	@deploy/deps.sh test
	$(MAKE) all
	$(MAKE) BUILD=build/asan SAN=1 OPT=-O1 all
	$(MAKE) BUILD=build/tsan SAN=thread OPT=-O1 build/tsan/tools/client_check build/tsan/shoal
	@tests/run.sh check build

# the long tests (not in check): membership with 64 nodes at 10% UDP loss
# for 10 min; nodes coming and going with 20 kill -9 events under reads
soak:
	@deploy/deps.sh test
	$(MAKE) all
	LOSS_ONLY=1 LOSS_NODES=64 LOSS_SECONDS=600 SHOAL_BUILD=$(BUILD) bash tests/integration/test_cluster_net.sh
	rm -f $(BUILD)/soak.txt
	KILLS=20 FIGURES=$(CURDIR)/$(BUILD)/soak.txt SHOAL_BUILD=$(BUILD) bash tests/integration/test_cluster_churn.sh
	@cat $(BUILD)/soak.txt

bench:
	@deploy/deps.sh bench
	$(MAKE) all
	@tests/bench/run.sh build

demo:
	@deploy/deps.sh test
	$(MAKE) all
	@deploy/demo.sh build

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(SHOALD) $(SHOAL) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBSHOAL_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBSHOAL_SO) $(DESTDIR)$(PREFIX)/lib/libshoal.so.0
	ln -sf libshoal.so.0 $(DESTDIR)$(PREFIX)/lib/libshoal.so
	install -m 644 client/shoal.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|g' client/shoal.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/shoal.pc
	install -d $(DESTDIR)$(PYDIR)
	install -m 644 client/python/shoalfs.py $(DESTDIR)$(PYDIR)/

# libFuzzer targets (make fuzz, make fuzz-run) and their corpus replays (in `all`)
include tests/fuzz/fuzz.mk

fmt:
	clang-format -i $(wildcard */*.c */*.h tests/*/*.c tests/*/*.h)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
