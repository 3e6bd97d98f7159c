# SPDX-License-Identifier: BSD-2-Clause
# dnsgate — one non-recursive Makefile: every target is here, no sub-makes.
#
#   make            build build/dnsgate
#   make run        install missing Debian packages, build, run on etc/dnsgate.conf
#   make check      install missing Debian packages, build, run every test
#   make fuzz       build the libFuzzer targets with clang
#   make format     clang-format every C file
#   make SANITIZE=address,undefined check
#   make soak       minutes of load and faults (not in check)
#   make deb        the Debian package, in build/deb/ (checked by lintian)
#   make install    PREFIX=/usr/local DESTDIR= (and SBINDIR, MANDIR, DOCDIR,
#                   UNITDIR, SYSCONFDIR); make uninstall with the same

comma    := ,
CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
# Where `make install` puts things; every path of the installed unit and
# files follows them.
SBINDIR  ?= $(PREFIX)/sbin
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/dnsgate
UNITDIR  ?= $(PREFIX)/lib/systemd/system
# dnsgate reads /etc/dnsgate/dnsgate.conf by default, whatever PREFIX is.
SYSCONFDIR ?= /etc
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
# Libraries with a pkg-config file (quiet before `make deps` installs them):
# libfstrm for dnstap, libsystemd for sd_notify(3) (the unit's Type=notify),
# libidn2 for names written in UTF-8 (dns/idn.h); libcurl (the OpenSSL
# flavour) for lists named by URL; OpenSSL 3 for DNS over TLS and HTTPS
# (tls/).
PKGS     := libfstrm libsystemd libidn2 libcurl libssl libcrypto libnghttp2
CPPFLAGS += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += -lev -linih -lmaxminddb -luring \
            $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

# Debian packages the build, the tests and the benchmark need. `make deps`
# installs whichever are missing, so a fresh machine needs nothing by hand.
DEPS_BUILD := gcc make pkg-config libev-dev libmaxminddb-dev libinih-dev \
              liburing-dev libsystemd-dev libfstrm-dev libidn2-dev \
              libcurl4-openssl-dev libssl-dev libnghttp2-dev
DEPS_TEST  := libcmocka-dev python3-dnspython python3-pytest nsd \
              bind9-dnsutils knot-dnsutils clang libclang-rt-14-dev \
              libmaxmind-db-writer-perl fstrm-bin python3-prometheus-client \
              logrotate systemd nftables iproute2 \
              openssl curl python3-httpx python3-h2
DEPS_BENCH := dnsperf dnsdist nftables unbound nghttp2-client openssl
DEPS_DEB   := dpkg-dev debhelper lintian

LIB_SRC  := $(wildcard dns/*.c views/*.c policy/*.c ratelimit/*.c obs/*.c cache/*.c \
              conf/*.c proxy/*.c tls/*.c) \
            $(filter-out cli/main.c,$(wildcard cli/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB      := $(BUILD)/libdnsgate.a
BIN      := $(BUILD)/dnsgate

UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
# Helpers every unit test links: keys and certificates (testcert.h).
UNIT_LIB_OBJ := $(BUILD)/obj/tests/unit/testcert.o
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all run check deps deps-build deps-test deps-bench unit fuzz-replay \
        system configs fuzz format install uninstall clean bench bench-tls soak \
        deb deps-deb

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(BUILD)/obj/cli/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_LIB_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LIB_OBJ) $(LIB) \
		$(LDLIBS) -lcmocka

# The fuzz targets name files of the source tree (lists in their
# configurations and corpora): they find them through FUZZ_SRCDIR, so they
# run from any directory.
FUZZ_DEFS := -DFUZZ_SRCDIR='"$(CURDIR)"'
$(BUILD)/tests/replay/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(FUZZ_DEFS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LDLIBS)

-include $(LIB_OBJ:.o=.d) $(UNIT_LIB_OBJ:.o=.d) $(BUILD)/obj/cli/main.d

deps: deps-build deps-test
deps-build:
	@sh tests/install-deps.sh $(DEPS_BUILD)
deps-test:
	@sh tests/install-deps.sh $(DEPS_TEST)
	@sh tests/tools/get-promtool.sh build/tools
deps-bench:
	@sh tests/install-deps.sh $(DEPS_BENCH) $(DEPS_TEST)
deps-deb:
	@sh tests/install-deps.sh $(DEPS_DEB)

run: deps-build
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) -c etc/dnsgate.conf

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

# Replayed from / (not the top of the tree), so that a target that
# depends on its working directory fails here.
fuzz-replay: $(FUZZ_REPLAY)
	@fail=0; for t in $(abspath $(FUZZ_REPLAY)); do \
		n=$$(basename $$t); \
		(cd / && $$t "$(CURDIR)/tests/fuzz/corpus/$$n") || fail=1; \
	done; exit $$fail

configs: $(BIN)
	@fail=0; for f in etc/dnsgate.conf etc/examples/*.conf \
		packaging/dnsgate.conf; do \
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

# The Debian package is built before the system tests, which install it
# (tests/system/test_package.py): about 20 s more.
check: deps
	@$(MAKE) --no-print-directory all unit fuzz-replay configs
	@$(MAKE) --no-print-directory deb
	@$(MAKE) --no-print-directory system

# libFuzzer builds: clang only.
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
               $(FUZZ_DEFS)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)
fuzz: $(FUZZ_BIN)

bench: deps-bench $(BIN)
	bench/run.sh

# DoT and DoH next to dnsdist and Unbound (bench/README.md, "Encrypted
# transports"); options through BENCH_TLS_ARGS, e.g. "--rounds 2 --seconds 10".
bench-tls: deps-bench $(BIN)
	bench/encrypted.sh $(BENCH_TLS_ARGS)

# Not in `make check`: minutes of load and faults (tests/soak/soak.py).
soak: deps-bench $(BIN)
	DNSGATE_BIN=$(abspath $(BIN)) $(PYTHON) tests/soak/soak.py

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# What `make install` puts under $(DESTDIR), and `make uninstall` removes:
# the binary, the man pages, the unit (made from its template with these
# paths), the examples, and the configuration and logrotate snippet in
# $(SYSCONFDIR), those two only when there is none yet (and removed only
# when unchanged). Shared directories (sbin, man8...) are left in place;
# dnsgate's own (DOCDIR, SYSCONFDIR/dnsgate) go when empty.
EXAMPLES      := etc/examples/active-directory.conf \
                 etc/examples/enterprise-gateway.conf \
                 etc/examples/firewall.conf etc/examples/split-horizon.conf \
                 etc/examples/zone-file.conf etc/examples/encrypted.conf
EXAMPLE_LISTS := $(wildcard etc/examples/lists/*)
EXAMPLE_ZONES := $(wildcard etc/examples/zones/*)
EXAMPLE_TLS   := $(wildcard etc/examples/tls/*)
# Operators' documents: the RCODE/EDE table, alerting rules, a dashboard.
DOCS          := docs/troubleshooting.md packaging/prometheus/dnsgate-alerts.yml \
                 packaging/grafana/dnsgate-dashboard.json
ETC_FILES     := packaging/dnsgate.conf:dnsgate/dnsgate.conf \
                 packaging/dnsgate.logrotate:logrotate.d/dnsgate
install: $(BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR)/examples/lists \
		$(DESTDIR)$(DOCDIR)/examples/zones \
		$(DESTDIR)$(DOCDIR)/examples/tls \
		$(DESTDIR)$(SYSCONFDIR)/dnsgate $(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 755 $(BIN) $(DESTDIR)$(SBINDIR)/dnsgate
	install -m 644 packaging/dnsgate.8 $(DESTDIR)$(MANDIR)/man8/dnsgate.8
	install -m 644 packaging/dnsgate.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/dnsgate.conf.5
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		packaging/dnsgate.service.in > $(DESTDIR)$(UNITDIR)/dnsgate.service
	chmod 644 $(DESTDIR)$(UNITDIR)/dnsgate.service
	install -m 644 etc/dnsgate.conf $(DESTDIR)$(DOCDIR)/examples/demo.conf
	install -m 644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 $(EXAMPLE_LISTS) $(DESTDIR)$(DOCDIR)/examples/lists/
	install -m 644 $(EXAMPLE_ZONES) $(DESTDIR)$(DOCDIR)/examples/zones/
	install -m 644 $(EXAMPLE_TLS) $(DESTDIR)$(DOCDIR)/examples/tls/
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	@for pair in $(ETC_FILES); do \
		src=$${pair%%:*}; dst=$(DESTDIR)$(SYSCONFDIR)/$${pair#*:}; \
		if [ -e "$$dst" ]; then echo "keeping $$dst"; \
		else echo "install -m 644 $$src $$dst"; \
			install -m 644 "$$src" "$$dst" || exit 1; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/dnsgate $(DESTDIR)$(MANDIR)/man8/dnsgate.8 \
		$(DESTDIR)$(MANDIR)/man5/dnsgate.conf.5 \
		$(DESTDIR)$(UNITDIR)/dnsgate.service \
		$(DESTDIR)$(DOCDIR)/examples/demo.conf \
		$(EXAMPLES:etc/examples/%=$(DESTDIR)$(DOCDIR)/examples/%) \
		$(EXAMPLE_LISTS:etc/examples/%=$(DESTDIR)$(DOCDIR)/examples/%) \
		$(EXAMPLE_ZONES:etc/examples/%=$(DESTDIR)$(DOCDIR)/examples/%) \
		$(EXAMPLE_TLS:etc/examples/%=$(DESTDIR)$(DOCDIR)/examples/%) \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS)))
	@for pair in $(ETC_FILES); do \
		src=$${pair%%:*}; dst=$(DESTDIR)$(SYSCONFDIR)/$${pair#*:}; \
		if cmp -s "$$src" "$$dst"; then echo "rm -f $$dst"; rm -f "$$dst"; \
		elif [ -e "$$dst" ]; then echo "keeping $$dst: changed"; fi; \
	done
	@for d in $(DOCDIR)/examples/lists $(DOCDIR)/examples/zones \
		$(DOCDIR)/examples/tls \
		$(DOCDIR)/examples $(DOCDIR) $(SYSCONFDIR)/dnsgate; do \
		[ ! -d "$(DESTDIR)$$d" ] || rmdir "$(DESTDIR)$$d" 2>/dev/null || \
			echo "keeping $(DESTDIR)$$d: not empty"; \
	done

# The Debian package (debian/), built by dpkg-buildpackage from a copy of
# the tree (git's files, committed or not, ignored ones left out) in
# $(DEB_DIR)/src: its clean step never touches this tree, and the .deb
# it writes to the parent directory lands in $(DEB_DIR), where
# tests/system/test_package.py finds it. lintian fails it on any error or
# warning, and lists the info tags.
# dpkg-buildpackage runs without this make's MAKEFLAGS (debian/rules also
# sets SANITIZE= itself): the package is built as debian/rules says, even
# from make SANITIZE=... check.
DEB_DIR := $(BUILD)/deb
deb: deps-build deps-deb
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
		tar --null --ignore-failed-read -T - -cf -; \
	else \
		tar --exclude='./build*' --exclude=./.git -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -us -uc -b -J
	lintian --fail-on error,warning --display-info $(DEB_DIR)/*.changes
	@ls $(DEB_DIR)/*.deb

clean:
	rm -rf $(BUILD)
