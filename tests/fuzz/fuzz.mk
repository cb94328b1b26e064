# tests/fuzz/fuzz.mk: the libFuzzer targets and their corpus replays
# (included by the Makefile; GNU make).
#
# Every tests/fuzz/fuzz_NAME.c is one target, with its seed corpus in
# tests/fuzz/corpus/NAME/ (docs/testing.md lists them). It is built twice:
#
#   $(BUILD)/tests/test_fuzz_NAME   the target's LLVMFuzzerTestOneInput with
#                                   tests/fuzz/replay.c's main(), built with
#                                   the ordinary compiler and flags like the
#                                   unit tests (part of `make all`), so
#                                   tests/run.sh replays every corpus plain,
#                                   under ASan+UBSan (build/asan) and valgrind
#   build/fuzz/fuzz_NAME            the libFuzzer binary (clang; `make fuzz`)
#
# The libFuzzer binaries link archives of the daemon, ufs and ring sources
# compiled once with clang and coverage instrumentation
# (-fsanitize=fuzzer-no-link) plus ASan and UBSan, in build/fuzz/obj/. A
# target that #includes a .c file to reach its statics still links: the
# archive member of that file is not pulled when its symbols are defined.
#
#   make fuzz                                  every libFuzzer binary
#   make fuzz-run FUZZ_TIME=60 [FUZZ_TARGETS="http chunked"] [FUZZ_JOBS=2]
#                                              tests/fuzz/run.sh (see there)

FUZZ_CC ?= clang
FUZZ_DIR := build/fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_REPLAY_BINS := $(patsubst %,$(BUILD)/tests/test_fuzz_%,$(FUZZ_NAMES))
FUZZ_TIME ?= 60
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?=

FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(WARN) -I. \
	$(PKG_CFLAGS)
FUZZ_LIB_SRC := $(DAEMON_SRC) $(UFS_SRC) $(RING_SRC) $(CLIENT_SRC)
fuzz_obj = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))

# The replays are unit-test binaries: `make all`, `make unit` and the asan
# build make them, tests/run.sh runs them.
UNIT_BINS += $(FUZZ_REPLAY_BINS)
all unit: $(FUZZ_REPLAY_BINS)

$(BUILD)/tests/test_fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay.o \
		$(LIBSHD) $(LIBUFS) $(LIBSHOAL_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libshd.a: $(call fuzz_obj,$(DAEMON_SRC))
$(FUZZ_DIR)/libshoalufs.a: $(call fuzz_obj,$(UFS_SRC))
$(FUZZ_DIR)/libshoalring.a: $(call fuzz_obj,$(RING_SRC))
$(FUZZ_DIR)/libshoalclient.a: $(call fuzz_obj,$(CLIENT_SRC))
$(FUZZ_DIR)/libshd.a $(FUZZ_DIR)/libshoalufs.a $(FUZZ_DIR)/libshoalring.a \
		$(FUZZ_DIR)/libshoalclient.a:
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/libshd.a \
		$(FUZZ_DIR)/libshoalufs.a $(FUZZ_DIR)/libshoalclient.a $(FUZZ_DIR)/libshoalring.a
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -pthread -o $@ $^ $(LIBS)

.PHONY: fuzz fuzz-run
fuzz: $(FUZZ_BINS)

fuzz-run: fuzz
	tests/fuzz/run.sh -j $(FUZZ_JOBS) $(FUZZ_TIME) $(FUZZ_TARGETS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
