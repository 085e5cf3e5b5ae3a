# Sonde: build, test and run.
#   make deps        install the Debian packages the build and the tests need (idempotent)
#   make             build everything into build/
#   make test        deps + build + every test (needs root for the BPF and end-to-end tiers)
#   make run         deps + build + profile this whole machine and show the result
#   make SANITIZE=1  build (and test) with ASan and UBSan
#   make V=1         show every command (quiet otherwise)
#   make fuzz-long   every fuzz target for FUZZ_RUNS executions (default 10,000,000)
#   make check-format  fail if any source differs from clang-format's (make test runs it)
.SUFFIXES:
.DELETE_ON_ERROR:

# quiet unless V=1: one short line per step
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2)
endif

BUILD    ?= build
# the kernel's name for this machine's architecture (vmlinux/<ARCH>, __TARGET_ARCH_<ARCH>)
MACHINE  := $(shell uname -m)
ARCH     := $(or $(patsubst x86_64,x86,$(patsubst aarch64,arm64,$(filter x86_64 aarch64,$(MACHINE)))),$(MACHINE))
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PROTOC_C ?= protoc-c
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral \
            -Wimplicit-fallthrough -Wvla -Wno-format-zero-length
CPPFLAGS := -D_GNU_SOURCE -DSONDE_VERSION='"$(VERSION)"' -I$(BUILD)/bpf -I$(BUILD)/proto -Ibpf
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -fno-omit-frame-pointer -pthread $(SAN_FLAGS)
LDLIBS   := -lbpf -ldw -lelf -ldebuginfod -liberty -llzma -lzstd -lz -lprotobuf-c -lcurl -lcrypto -lm \
            -lmicrohttpd -lgnutls -lyaml -pthread
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
endif
LDFLAGS  += $(SAN_FLAGS)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Ivmlinux/$(ARCH) -Ibpf

COMMON_SRCS     := $(wildcard common/*.c)
SYMBOLIZER_SRCS := $(wildcard symbolizer/*.c)
AGENT_SRCS      := $(wildcard agent/*.c)
COLLECTOR_SRCS  := $(wildcard collector/*.c)
PROFILE_SRCS    := $(wildcard profile/*.c)
CLI_SRCS        := $(wildcard cli/*.c)
PROTOS          := $(shell find proto -name "*.proto" | sort)
PROTO_C         := $(PROTOS:proto/%.proto=$(BUILD)/proto/%.pb-c.c)
PROTO_H         := $(PROTO_C:.c=.h)
PROTO_OBJS      := $(PROTO_C:.c=.o)
BPF_OBJS        := $(BUILD)/bpf/sampler.bpf.o
SKELS           := $(BPF_OBJS:.bpf.o=.skel.h)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_COMMON     := $(BUILD)/libsonde-common.a
LIB_SYMBOLIZER := $(BUILD)/libsonde-symbolizer.a
LIB_PROTO      := $(BUILD)/libsonde-proto.a
LIB_COLLECTOR  := $(BUILD)/libsonde-collector.a
# the one in-memory profile and its formats (folded, pprof): agent, collector and cli
LIB_PROFILE    := $(BUILD)/libsonde-profile.a
# every module except the programs' main() files
LIB_COLLECTOR_SRCS := $(filter-out collector/main.c,$(COLLECTOR_SRCS))

BINS := $(BUILD)/sonde-agent $(BUILD)/sonde-collector $(BUILD)/sonde

all: $(BINS)

# Rebuild everything when the compiler flags change (e.g. SANITIZE=1 and back).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW   := $(CC) $(ALL_CFLAGS) $(CPPFLAGS) $(LDFLAGS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FLAGS_NOW)' ]; then echo '$(FLAGS_NOW)' > $@; fi
FORCE:

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%_shared.h vmlinux/$(ARCH)/vmlinux.h
	@mkdir -p $(@D)
	$(call say,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call say,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<))_bpf > $@

$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/proto
	$(call say,PROTOC,$<)
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(FLAGS_STAMP)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP) | $(SKELS) $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(LIB_COMMON): $(call obj,$(COMMON_SRCS))
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_SYMBOLIZER): $(call obj,$(SYMBOLIZER_SRCS))
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_PROFILE): $(call obj,$(PROFILE_SRCS))
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_PROTO): $(PROTO_OBJS)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_COLLECTOR): $(call obj,$(LIB_COLLECTOR_SRCS)) $(BUILD)/gen/ui_assets.o
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# the web UI, embedded in the collector
UI_FILES := $(sort $(wildcard collector/ui/*))
$(BUILD)/gen/ui_assets.c: $(UI_FILES) scripts/embed.sh
	@mkdir -p $(@D)
	$(call say,EMBED,$@)
	$(Q)scripts/embed.sh $@ $(UI_FILES)
$(BUILD)/gen/ui_assets.o: $(BUILD)/gen/ui_assets.c $(FLAGS_STAMP)
	$(call say,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(CPPFLAGS) -Icollector -c $< -o $@

$(BUILD)/sonde-agent: $(call obj,$(AGENT_SRCS)) $(LIB_PROFILE) $(LIB_SYMBOLIZER) $(LIB_PROTO) $(LIB_COMMON)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/sonde-collector: $(BUILD)/obj/collector/main.o $(LIB_COLLECTOR) $(LIB_PROFILE) $(LIB_SYMBOLIZER) $(LIB_PROTO) $(LIB_COMMON)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/sonde: $(call obj,$(CLI_SRCS)) $(LIB_COLLECTOR) $(LIB_PROFILE) $(LIB_SYMBOLIZER) $(LIB_PROTO) $(LIB_COMMON)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- tests ----------------------------------------------------------------------------------
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
LIB_AGENT_OBJS := $(call obj,$(filter-out agent/main.c,$(AGENT_SRCS)))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(LIB_AGENT_OBJS) $(LIB_COLLECTOR) $(LIB_PROFILE) $(LIB_SYMBOLIZER) $(LIB_PROTO) $(LIB_COMMON)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Fuzz targets: clang and libFuzzer, with the code under test built for coverage.
FUZZ_SRCS    := $(COMMON_SRCS) $(SYMBOLIZER_SRCS) $(PROFILE_SRCS) $(filter-out collector/api.c collector/debuginfo_api.c collector/pyro_query.c collector/api_runner.c collector/server.c collector/server_query.c,$(LIB_COLLECTOR_SRCS)) \
                agent/cfi.c agent/unwind_table.c agent/pod_store.c agent/relabel.c
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_SRCS))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -fno-omit-frame-pointer -Wall -Werror -Wno-unused-parameter \
                -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(CPPFLAGS)
# rebuild the fuzz objects when these flags change (as FLAGS_STAMP does for the others)
FUZZ_STAMP := $(BUILD)/fuzz/.flags
$(FUZZ_STAMP): FORCE
	@mkdir -p $(@D)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(FUZZ_CFLAGS)' ]; then echo '$(FUZZ_CFLAGS)' > $@; fi
$(BUILD)/fuzz/obj/%.o: %.c $(FUZZ_STAMP) | $(SKELS) $(PROTO_H)
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) $(PROTO_OBJS)
	@mkdir -p $(@D)
	$(call say,FUZZLD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

BENCH_BINS := $(BUILD)/bench/unwind_tables $(BUILD)/bench/symbolize_bench $(BUILD)/bench/otlp_load \
              $(BUILD)/bench/query_gen $(BUILD)/bench/k8s_bench $(BUILD)/bench/otlp_gen
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB_AGENT_OBJS) $(LIB_COLLECTOR) $(LIB_PROFILE) $(LIB_SYMBOLIZER) $(LIB_PROTO) $(LIB_COMMON)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

WORKLOADS := $(BUILD)/workloads/.stamp
$(WORKLOADS): $(wildcard tests/workloads/*) tests/workloads/build.sh
	$(call say,BUILD,$(BUILD)/workloads)
	$(Q)tests/workloads/build.sh $(BUILD)/workloads
	@touch $@

tests: all $(UNIT_BINS) $(WORKLOADS) $(BENCH_BINS) $(FUZZ_TARGETS)

# every object and generated file is kept: make must not delete them as intermediates
# (that would rebuild the unit tests, benchmarks and fuzzers on every run)
.SECONDARY: $(PROTO_C) $(PROTO_H) $(BPF_OBJS) $(SKELS) $(FUZZ_OBJS) \
            $(UNIT_BINS:$(BUILD)/tests/unit/%=$(BUILD)/obj/tests/unit/%.o) \
            $(BENCH_BINS:$(BUILD)/bench/%=$(BUILD)/obj/bench/%.o)

# The long fuzz run: every target for FUZZ_RUNS executions (FUZZ_ONLY="NAME...": only those;
# FUZZ_MAX_SECONDS: a cap on each target's time; FUZZ_JOBS: targets run at once, default one a
# CPU) from the seed corpora of the smoke run; prints each target's executions and executions
# per second. Artifacts in $(BUILD)/fuzz-long/.
FUZZ_RUNS ?= 10000000
FUZZ_JOBS ?= $(shell nproc)
fuzz-long: $(FUZZ_TARGETS) $(BINS) $(WORKLOADS)
	rm -rf $(BUILD)/fuzz-long/*/crash-* $(BUILD)/fuzz-long/*/leak-* $(BUILD)/fuzz-long/*/timeout-*
	BUILD=$(BUILD) ARTIFACTS=$(BUILD)/fuzz-long FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_ONLY="$(FUZZ_ONLY)" \
		FUZZ_MAX_SECONDS=$(FUZZ_MAX_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) tests/fuzz/test_fuzz.sh

test: deps
	$(MAKE) check-format
	$(MAKE) tests
	BUILD=$(BUILD) tests/run.sh

# ---- setup and running ----------------------------------------------------------------------
deps:
	scripts/deps.sh

run: deps
	$(MAKE) all
	scripts/run.sh $(BUILD)

# ---- installing ----------------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMDDIR=...]: the binaries,
# default configuration (never over an existing one) and the systemd units. It installs what
# `make` built and builds nothing itself (so it is safe to run as root after a user's build).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR     ?= $(PREFIX)/share/doc/sonde
install:
	@for b in $(BINS); do [ -x $$b ] || { echo "install: $$b is not built: run make first" >&2; exit 1; }; done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/sonde $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)/
	for f in agent.yaml collector.yaml agent.env collector.env; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/sonde/$$f ] || install -m 600 deploy/config/$$f $(DESTDIR)$(SYSCONFDIR)/sonde/$$f; \
	done
	for u in sonde-agent sonde-collector; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' deploy/systemd/$$u.service.in \
			> $(DESTDIR)$(SYSTEMDDIR)/$$u.service && chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$$u.service; \
	done
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	@echo "installed; then: systemctl daemon-reload && systemctl enable --now sonde-collector sonde-agent"

# the project's C sources, new files too (the generated kernel headers are not ours to format)
FORMAT_SRCS = $$(git ls-files --cached --others --exclude-standard '*.c' '*.h' | grep -v '^vmlinux/')
format:
	clang-format -i $(FORMAT_SRCS)
check-format:
	@out=$$(clang-format --dry-run $(FORMAT_SRCS) 2>&1); \
	if [ -n "$$out" ]; then \
		printf '%s\n' "$$out" | grep -E '^[^ ]+: (warning|error)' | cut -d: -f1 | sort | uniq -c >&2; \
		echo "check-format: the files above differ from .clang-format's layout: run make format" >&2; \
		exit 1; \
	fi; echo "check-format: clean"

clean:
	rm -rf $(BUILD)

.PHONY: all deps test tests run clean format check-format install fuzz-long FORCE

-include $(shell find $(BUILD)/obj $(BUILD)/proto $(BUILD)/fuzz -name '*.d' 2>/dev/null)
