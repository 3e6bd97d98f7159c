# dnsgate — one non-recursive Makefile: every target is here, no sub-makes.
#
#   make            build build/dnsgate
#   make run        install missing Debian packages, build, run on etc/dnsgate.conf
#   make check      install missing Debian packages, build, run every test
#   make fuzz       build the libFuzzer targets with clang
#   make format     clang-format every C file
#   make SANITIZE=address,undefined check
#   make soak       minutes of load and faults (not in check)

comma    := ,
CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
# Sanitizer builds get their own directory: objects must not mix.
BUILD    ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))
PYTHON   ?= /usr/bin/python3

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wundef -Wno-unused-parameter
ifneq ($(CI)$(WERROR),)
WARN     += -Werror
endif
OPT      ?= -O2 -g
CPPFLAGS += -I. -D_GNU_SOURCE
CFLAGS   += -std=c11 $(OPT) $(WARN) -pthread
# Libraries with a pkg-config file (quiet before `make deps` installs them).
PKGS     := libfstrm
CPPFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += -lev -linih -lmaxminddb -luring \
            $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# Debian packages the build, the tests and the benchmark need. `make deps`
# installs whichever are missing, so a fresh machine needs nothing by hand.
DEPS_BUILD := gcc make pkg-config libev-dev libmaxminddb-dev libinih-dev liburing-dev \
              libfstrm-dev
DEPS_TEST  := libcmocka-dev python3-dnspython python3-pytest nsd \
              bind9-dnsutils knot-dnsutils clang libclang-rt-14-dev \
              libmaxmind-db-writer-perl fstrm-bin
DEPS_BENCH := dnsperf dnsdist nftables unbound

LIB_SRC  := $(wildcard dns/*.c views/*.c policy/*.c ratelimit/*.c obs/*.c cache/*.c \
              conf/*.c proxy/*.c) \
            $(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libdnsgate.a
BIN      := $(BUILD)/dnsgate

UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all run check deps deps-build deps-test deps-bench unit fuzz-replay \
        system configs fuzz format install clean bench soak

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/cli/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/tests/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(BUILD)/obj/cli/main.d

deps: deps-build deps-test
deps-build:
	@sh tests/install-deps.sh $(DEPS_BUILD)
deps-test:
	@sh tests/install-deps.sh $(DEPS_TEST)
deps-bench:
	@sh tests/install-deps.sh $(DEPS_BENCH) $(DEPS_TEST)

run: deps-build
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) -c etc/dnsgate.conf

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

fuzz-replay: $(FUZZ_REPLAY)
	@fail=0; for t in $(FUZZ_REPLAY); do \
		n=$$(basename $$t); $$t tests/fuzz/corpus/$$n || fail=1; \
	done; exit $$fail

configs: $(BIN)
	@fail=0; for f in etc/dnsgate.conf etc/examples/*.conf; do \
		[ -f "$$f" ] || continue; \
		$(BIN) -t -c $$f || fail=1; \
	done; exit $$fail

# The upstream-facing suites run a second time with pooled upstream sockets,
# and the per-attempt socket suites a third time with plain sendto() (no
# io_uring, as on a kernel that refuses it).
POOLED_SUITES := test_forwarding test_retry test_antispoof test_truncation \
                 test_edns test_tcp
SENDTO_SUITES := test_upstream_sockets test_retry test_antispoof
system: $(BIN)
	DNSGATE_BIN=$(abspath $(BIN)) DNSGATE_TEST_UDP_SOCKETS=4 \
		$(PYTHON) -m pytest -q -p no:cacheprovider \
		$(POOLED_SUITES:%=tests/system/%.py)
	DNSGATE_BIN=$(abspath $(BIN)) DNSGATE_TEST_IO_URING=no \
		$(PYTHON) -m pytest -q -p no:cacheprovider \
		$(SENDTO_SUITES:%=tests/system/%.py)
	DNSGATE_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/system

check: deps
	@$(MAKE) --no-print-directory all unit fuzz-replay configs
	@$(MAKE) --no-print-directory system

# libFuzzer builds: clang only.
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)
fuzz: $(FUZZ_BIN)

bench: deps-bench $(BIN)
	bench/run.sh

# Not in `make check`: minutes of load and faults (tests/soak/soak.py).
soak: deps-bench $(BIN)
	DNSGATE_BIN=$(abspath $(BIN)) $(PYTHON) tests/soak/soak.py

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)/etc/dnsgate
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/dnsgate
	install -m 644 packaging/dnsgate.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 packaging/dnsgate.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 packaging/dnsgate.service \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/
	[ -f $(DESTDIR)/etc/dnsgate/dnsgate.conf ] || \
		install -m 644 etc/dnsgate.conf $(DESTDIR)/etc/dnsgate/dnsgate.conf

clean:
	rm -rf $(BUILD)
