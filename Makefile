# Pregón build. `make help` lists the targets.
#
# Layout: lib/ (shared by every binary) -> build/lib/libpregon.a; each program folder
# (fcgi/, worker/, sandbox/, ctl/) -> one binary in build/bin/; tests/unit/test_*.c ->
# one cmocka binary each in build/tests/.  `make asan` builds the same into build-asan/.

SHELL    := /bin/bash
BUILD    ?= build
CC       ?= cc
SANITIZE ?=
PKGS     := libcurl json-c libsodium libmariadb

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wformat=2 -Wno-format-nonliteral -fno-strict-aliasing -MMD -MP -Ilib $(PKG_CFLAGS)
LDLIBS   := $(PKG_LIBS) -lcsv -lcrack -lpthread -lm
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif
# ThreadSanitizer (`make tsan` -> build-tsan/): the threaded programs (worker, FastCGI app,
# sandbox) under the race detector; run the integration tests against it (docs/hacking.md).
ifeq ($(SANITIZE),thread)
CFLAGS   += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=thread
endif
# libFuzzer targets (tests/fuzz/): `make fuzz-build` sets this with CC=clang BUILD=build-fuzz.
ifeq ($(SANITIZE),fuzz)
CFLAGS   += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

LIB_SRC     := $(wildcard lib/*.c)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBPREGON   := $(BUILD)/lib/libpregon.a

FCGI_SRC    := $(wildcard fcgi/*.c)
WORKER_SRC  := $(wildcard worker/*.c)
SANDBOX_SRC := $(wildcard sandbox/*.c)
CTL_SRC     := $(wildcard ctl/*.c)
HELLO_SRC   := bench/hello-fcgi.c
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 300

BINS := $(BUILD)/bin/pregon-fcgi $(BUILD)/bin/pregon-worker $(BUILD)/bin/pregon-sandbox \
        $(BUILD)/bin/pregonctl
ifneq ($(wildcard $(HELLO_SRC)),)
BINS += $(BUILD)/bin/pregon-hello
endif
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Files generated from the C sources for the admin panel (never edited by hand).
WWW_GEN   := www/js/errcodes.js
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: FORCE all asan tsan deps test test-unit test-integration test-cluster test-asan run start stop bench fmt \
        fmt-check check-rules clean help fuzz fuzz-build fuzzers install

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share/pregon
DOCDIR     ?= $(PREFIX)/share/doc/pregon
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)

all: $(BINS) $(UNIT_BINS) $(WWW_GEN)

help:
	@echo "make            build everything into build/"
	@echo "make asan       build with AddressSanitizer + UBSan into build-asan/"
	@echo "make tsan       build with ThreadSanitizer into build-tsan/"
	@echo "make deps       install the Debian packages Pregón needs (idempotent)"
	@echo "make run        start the whole stack in the foreground (Ctrl-C stops it)"
	@echo "make start/stop the same, in the background"
	@echo "make test       install what is needed, build, run every test"
	@echo "make test-asan  the same tests against the sanitizer build"
	@echo "make bench      run every benchmark in bench/"
	@echo "make fmt        format the C sources with clang-format"
	@echo "make fuzz       run every fuzz target for FUZZ_SECONDS (300) each (tests/fuzz/)"
	@echo "make bundle     the shared-hosting bundle: binaries with their libraries (build/pregon-bundle.tar.gz)"

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBPREGON): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/pregon-fcgi: $(FCGI_SRC:%.c=$(BUILD)/%.o) $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi $(LDLIBS)

$(BUILD)/bin/pregon-worker: $(WORKER_SRC:%.c=$(BUILD)/%.o) $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/pregon-sandbox: $(SANDBOX_SRC:%.c=$(BUILD)/%.o) $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd $(LDLIBS)

$(BUILD)/bin/pregonctl: $(CTL_SRC:%.c=$(BUILD)/%.o) $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/pregon-hello: $(BUILD)/bench/hello-fcgi.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi

# The panel's error-code texts come from lib/errcodes.c (tools/errcodes_js.c).
$(BUILD)/tools/errcodes-js: $(BUILD)/tools/errcodes_js.o $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Written at every make (a hand edit does not survive), replaced only when it changed.
www/js/errcodes.js: $(BUILD)/tools/errcodes-js FORCE
	@$< > $@.tmp && { cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@; }

FORCE:

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcmocka $(LDLIBS)

asan:
	$(MAKE) BUILD=build-asan SANITIZE=1 all

tsan:
	$(MAKE) BUILD=build-tsan SANITIZE=thread all

$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(LIBPREGON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzzers: $(FUZZ_BINS)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SANITIZE=fuzz fuzzers

fuzz: deps fuzz-build
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

# Binaries, the static UI, migrations, nginx/systemd/logrotate/Apache examples and the example
# configuration, in the usual places (PREFIX, DESTDIR as usual). Asset links in index.html get
# the version, so browsers fetch new assets after an upgrade despite long cache lifetimes.
install: $(BINS) $(WWW_GEN)
	$(MAKE) install-files

# The copying alone, for binaries built already (the tests install a sanitizer build as is).
install-files:
	@test -f www/js/errcodes.js || { echo "www/js/errcodes.js is missing: run make first"; exit 1; }
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(DATADIR)/scripts \
	    $(DESTDIR)$(DATADIR)/nginx $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/pregon
	install -m 755 $(BUILD)/bin/pregon-fcgi $(BUILD)/bin/pregon-worker $(BUILD)/bin/pregonctl \
	    $(BUILD)/bin/pregon-sandbox $(DESTDIR)$(BINDIR)/
	cd www && find . -type d -exec install -d $(DESTDIR)$(DATADIR)/www/{} \; && \
	    find . -type f -exec install -m 644 {} $(DESTDIR)$(DATADIR)/www/{} \;
	sed -i 's/?v=dev/?v=$(VERSION)/g' $(DESTDIR)$(DATADIR)/www/index.html
	install -m 644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	install -m 755 scripts/migrate.sh $(DESTDIR)$(DATADIR)/scripts/
	install -m 644 nginx/pregon.conf nginx/security-headers.conf $(DESTDIR)$(DATADIR)/nginx/
	cd deploy && find . -type d -exec install -d $(DESTDIR)$(DATADIR)/deploy/{} \; && \
	    find . -type f -exec install -m 644 {} $(DESTDIR)$(DATADIR)/deploy/{} \;
	chmod 755 $(DESTDIR)$(DATADIR)/deploy/apache/pregon.fcgi
	sed -i -e 's|/usr/local/share/pregon|$(DATADIR)|g' -e 's|/usr/local/bin|$(BINDIR)|g' \
	    -e 's|/usr/local/share/doc/pregon|$(DOCDIR)|g' -e 's|/etc/pregon/|$(SYSCONFDIR)/pregon/|g' \
	    $(DESTDIR)$(DATADIR)/nginx/pregon.conf $(DESTDIR)$(DATADIR)/deploy/systemd/*.service
	install -m 644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	install -m 644 config/pregon.conf.example $(DESTDIR)$(SYSCONFDIR)/pregon/

deps:
	@scripts/deps.sh

# The test driver builds nothing itself: it is handed the build directory.
test: deps
	$(MAKE) all
	@scripts/test.sh $(BUILD)

test-asan: deps
	$(MAKE) asan
	@scripts/test.sh build-asan

test-unit: all
	@scripts/test.sh $(BUILD) unit

test-integration: all
	@scripts/test.sh $(BUILD) integration

# The three-node Galera cluster test (tests/integration/test_galera.py, about 80 s), apart
# from `make test`: docs/operations.md "A database cluster".
test-cluster: deps
	$(MAKE) all
	@PREGON_BUILD=$(abspath $(BUILD)) /usr/bin/python3 tests/integration/run.py test_galera

run: deps all
	@scripts/stack.sh run

start: deps all
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

bench: deps all
	@set -e; for b in bench/*; do [ -x "$$b" ] && [ -f "$$b" ] || continue; \
	    echo "== $$b"; "$$b"; done

fmt:
	clang-format -i $(wildcard lib/*.[ch] fcgi/*.[ch] worker/*.[ch] sandbox/*.[ch] ctl/*.[ch] \
	    tools/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] bench/*.c)

# The layout rules of issue #14 (file and function sizes, SQL on the core tables in lib/ only).
check-rules:
	@python3 scripts/check-rules.py

fmt-check:
	@clang-format --dry-run -Werror $(wildcard lib/*.[ch] fcgi/*.[ch] worker/*.[ch] \
	    sandbox/*.[ch] ctl/*.[ch] tools/*.[ch] tests/unit/*.[ch] bench/*.c)

clean:
	rm -rf build build-asan build-tsan build-fuzz tests/out $(WWW_GEN)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The shared-hosting bundle (scripts/bundle.sh): binaries, their libraries beside them through
# an $ORIGIN run path, the UI, migrations and the Apache files; unpack and run
# scripts/setup-shared.sh (docs/operations.md).
BUNDLE_DIR ?= $(BUILD)/pregon-bundle
.PHONY: bundle
bundle: $(BINS)
	scripts/bundle.sh $(BUILD) $(BUNDLE_DIR)
	tar -C $(dir $(BUNDLE_DIR)) -czf $(BUNDLE_DIR).tar.gz $(notdir $(BUNDLE_DIR))
