# stampd: the daemon, its client, its load generator, and their tests.
#
#   make              build everything under build/
#   make run          build and serve stamp on TCP and UDP port 1937
#   make check        build and run every test (installs missing peers as root)
#   make check-unit   build and run the unit tests alone (no peer, no root)
#   make check CC=clang O=build/clang
#   make check SAN=1 O=build/san      (AddressSanitizer + UBSan)
#   make check STAMP_TIMEOUT_SCALE=3  (a slow machine: every test waits 3x)
#   make bench        measure every model against nginx and a reference
#   make lesson       the lesson's ladder diagrams from captures (docs/img)
#   make soak         mixed load, hostile clients, killed workers (SOAK_SECS)
#   make fuzz         run each libFuzzer target FUZZ_SECS seconds (60)
#   make image        the container image, with podman (IMAGE=stampd:0.1.0)
#   make install      PREFIX=/usr/local DESTDIR=

O	?= build
PREFIX	?= /usr/local
# Where make install puts things; DESTDIR stages them for a package.
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
UNITDIR	?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= $(PREFIX)/etc
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL	?= install
CFLAGS	?= -O2 -g
# Warnings are errors in the project's own builds; a distribution's build
# with a newer compiler sets WERROR= (debian/rules does) so that a new
# warning is reported, not a failed build.
WERROR	?= -Werror
WARN	 = -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wvla
# stampd reads SYSCONFDIR/stampd/stampd.conf, where make install puts it.
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) \
	     -DSTAMP_SYSCONFDIR='"$(SYSCONFDIR)"'
ALL_LDFLAGS = -pthread $(LDFLAGS)
ifneq ($(SAN),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=address,undefined
endif
# Every bound on a test's wait is multiplied by this (tests/it/harness.h,
# tests/lib.sh): a slow or loaded machine sets it higher; the sanitizers
# make the programs a few times slower, so SAN=1 sets 3 unless it is set.
ifneq ($(SAN),)
STAMP_TIMEOUT_SCALE ?= 3
else
STAMP_TIMEOUT_SCALE ?= 1
endif

PROGS	 = stampd stamp stampbench
MAINS	 = $(PROGS:%=src/%.c)
LIBSRC	 = $(filter-out $(MAINS),$(wildcard src/*.c))

# The uring model needs liburing (Debian's liburing-dev), the one library
# beside libc, linked dynamically.  Without it everything else builds, and
# stampd lists the model and refuses it by name; make check installs it
# first (tests/deps.sh).  \043 is the '#', which make would read as a
# comment.
URING	:= $(shell printf '\043include <liburing.h>\n' | \
	    $(CC) -E -x c - > /dev/null 2>&1 && echo 1)
ifeq ($(URING),1)
ALL_CFLAGS += -DSTAMP_URING
LDLIBS	 = -luring
else
LIBSRC	:= $(filter-out src/model_uring.c,$(LIBSRC))
LIBSRC	:= $(filter-out src/bench_uring.c,$(LIBSRC))
LDLIBS	 =
endif

# NTS (RFC 8915) needs GnuTLS (Debian's libgnutls28-dev), as chrony does:
# its TLS 1.3 for key establishment and its AES-SIV-CMAC for cookies and
# authenticators.  Without it the rest builds, and stampd refuses an
# nts-ke listener and stamp -P nts by name; make check installs it first.
GNUTLS	:= $(shell printf '\043include <gnutls/gnutls.h>\n' | \
	    $(CC) -E -x c - > /dev/null 2>&1 && echo 1)
NTSSRC	 = src/siv.c src/nts.c src/ntskey.c src/tls.c src/tls_client.c \
	   src/stamp_nts.c src/bench_nts.c
ifeq ($(GNUTLS),1)
ALL_CFLAGS += -DSTAMP_NTS
LDLIBS	+= -lgnutls
else
LIBSRC	:= $(filter-out $(NTSSRC),$(LIBSRC))
endif

LIBOBJ	 = $(LIBSRC:src/%.c=$(O)/obj/%.o)
LIB	 = $(O)/libstamp.a

UNIT	 = $(patsubst tests/unit/%.c,$(O)/tests/unit/%.t,$(wildcard tests/unit/*.c))
ITSRC	 = $(filter-out tests/it/harness.c,$(wildcard tests/it/*.c))
IT	 = $(patsubst tests/it/%.c,$(O)/tests/it/%.t,$(ITSRC))
SHT	 = $(wildcard tests/sh/*.t)
TESTS	 = $(UNIT) $(IT) $(SHT)
BENCHSRC = $(wildcard bench/*.c)
BENCHBIN = $(BENCHSRC:bench/%.c=$(O)/bench/%)
# The lesson's experiments under a capture (tests/sh/lesson_capture.t).
LESSONSRC = $(wildcard tests/lesson/*.c)
LESSONBIN = $(LESSONSRC:tests/lesson/%.c=$(O)/tests/lesson/%)

all: $(patsubst src/%.c,$(O)/%,$(wildcard $(MAINS)))

# What the build found and was told, kept beside it: liburing or GnuTLS
# come or gone, or another SYSCONFDIR, rebuilds it.
BUILDCONF = URING=$(URING)\nGNUTLS=$(GNUTLS)\nSYSCONFDIR=$(SYSCONFDIR)\n
$(O)/build.conf: FORCE
	@mkdir -p $(@D)
	@printf '$(BUILDCONF)' | cmp -s - $@ || printf '$(BUILDCONF)' > $@

$(O)/obj/%.o: src/%.c $(O)/build.conf
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIBOBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/%: $(O)/obj/%.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/unit/%.t: tests/unit/%.c $(LIB) tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -Itests -MMD -MP $(ALL_LDFLAGS) -o $@ $< \
	    $(LIB) $(LDLIBS)

$(O)/tests/it/harness.o: tests/it/harness.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -Itests -MMD -MP -c -o $@ $<

$(O)/tests/it/%.t: tests/it/%.c $(O)/tests/it/harness.o $(LIB) tests/tap.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -Itests -MMD -MP $(ALL_LDFLAGS) -o $@ $< \
	    $(O)/tests/it/harness.o $(LIB) $(LDLIBS)

$(O)/tests/lesson/%: tests/lesson/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIB) \
	    $(LDLIBS)

$(O)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -MMD -MP $(ALL_LDFLAGS) -o $@ $< $(LIB) \
	    $(LDLIBS)

# The tests find the programs through these, wherever O puts them.
TESTENV	 = STAMPD=$(abspath $(O)/stampd) STAMP=$(abspath $(O)/stamp) \
	   STAMPBENCH=$(abspath $(O)/stampbench) STAMP_BUILD=$(abspath $(O)) \
	   STAMP_TIMEOUT_SCALE=$(STAMP_TIMEOUT_SCALE)

run: all
	./$(O)/stampd -v

# The peers first (as root, tests/deps.sh installs what is missing):
# liburing-dev among them decides what is built, so the build comes after,
# in a make that looks again.
check:
	sh tests/deps.sh
	$(MAKE) check-run

# --failures prints the failed assertions; their reasons and the places of
# the logs kept for them come on the tests' stderr (tests/tap.h, lib.sh).
# Three at once: most tests wait on daemons and clients, not on the CPU,
# and each is written to run beside load; --timer says what each took.
# The uring model's rings are locked memory, counted for all the processes
# of a user together (nobody's, here) against each one's RLIMIT_MEMLOCK:
# the limit is lifted where it can be, so that the rings of the tests run
# beside each other do not add up to Debian's 8 MiB (uring_memlock.t sets
# the limits it tests).
check-run: all $(UNIT) $(IT) $(BENCHBIN) $(LESSONBIN)
	ulimit -l unlimited 2> /dev/null || :; \
	$(TESTENV) prove --exec '' -j3 --timer --failures $(TESTS)

# The unit tests alone: pure code and a temporary directory, no network
# peer, no root, no other program, so that a package build can run them
# (debian/rules' dh_auto_test).  A test's output is shown when it fails.
check-unit: $(UNIT)
	@st=0; for t in $(abspath $(UNIT)); do \
		if STAMP_SRCDIR=$(CURDIR) \
		    STAMP_TIMEOUT_SCALE=$(STAMP_TIMEOUT_SCALE) \
		    "$$t" > "$$t.out" 2>&1; then \
			echo "$${t#$(CURDIR)/}: ok, $$(grep -c '^ok ' "$$t.out") tests"; \
		else \
			cat "$$t.out"; echo "$${t#$(CURDIR)/}: FAILED"; st=1; \
		fi; \
	done; exit $$st

bench: all $(BENCHBIN)
	$(TESTENV) sh bench/run.sh

# The lesson's ladder diagrams, from fresh captures, into docs/img
# (tcpdump and mscgen: sh tests/deps.sh installs them as root).
lesson: all $(LESSONBIN)
	sh tests/deps.sh
	$(TESTENV) LESSON_IMG=$(abspath docs/img) prove -v --exec '' \
	    tests/sh/lesson_capture.t

# The soak: SOAK_SECS seconds a model (60); make soak SAN=1 O=build/san.
SOAK_SECS ?= 60
soak: all $(BENCHBIN)
	$(TESTENV) SOAK_SECS=$(SOAK_SECS) prove -v --exec '' tests/soak/run.sh

# libFuzzer, clang only: FUZZ_SECS a target (60), FUZZ_TARGETS a subset.
fuzz:
	sh tests/fuzz/run.sh

# make image: contrib/docker/Dockerfile built by podman on a Debian base
# that mmdebstrap makes from Debian's packages, no registry pulled
# (contrib/docker/build-image.sh).  IMAGE names it (stampd:VERSION);
# IMAGE_CACHE keeps the base, made once for every O= (build/cache).
IMAGE_CACHE ?= build/cache
image:
	sh contrib/docker/build-image.sh "$(IMAGE)" "$(abspath $(IMAGE_CACHE))"
.PHONY: image

clean:
	rm -rf build

# The units name /usr/sbin/stampd and /etc/default/stampd: other places
# are written in as they are installed.  An example config already there
# is the admin's, kept by install and by uninstall alike, unless unchanged;
# so is stampd.conf, which stampd reads from the SYSCONFDIR it was built
# with (the build is done again for another).
UNITS	 = stampd.socket stampd.service stampd-metrics.socket
EXAMPLE	 = $(DESTDIR)$(SYSCONFDIR)/default/stampd
CONFDIR	 = $(DESTDIR)$(SYSCONFDIR)/stampd

install: all
	$(INSTALL) -d "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(BINDIR)" \
	    "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man8" \
	    "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSCONFDIR)/default" \
	    "$(DESTDIR)$(BASHCOMPDIR)" "$(CONFDIR)/conf.d"
	$(INSTALL) -m 755 $(O)/stampd "$(DESTDIR)$(SBINDIR)"
	$(INSTALL) -m 755 $(O)/stamp $(O)/stampbench "$(DESTDIR)$(BINDIR)"
	$(INSTALL) -m 644 man/stamp.1 man/stampbench.1 \
	    "$(DESTDIR)$(MANDIR)/man1"
	$(INSTALL) -m 644 man/stampd.8 "$(DESTDIR)$(MANDIR)/man8"
	$(INSTALL) -m 644 contrib/completion/stampd contrib/completion/stamp \
	    contrib/completion/stampbench "$(DESTDIR)$(BASHCOMPDIR)"
	for u in $(UNITS); do \
		sed -e 's|/usr/sbin/stampd|$(SBINDIR)/stampd|g' \
		    -e 's|/etc/default/stampd|$(SYSCONFDIR)/default/stampd|g' \
		    contrib/systemd/$$u > "$(DESTDIR)$(UNITDIR)/$$u.new" && \
		chmod 644 "$(DESTDIR)$(UNITDIR)/$$u.new" && \
		mv -f "$(DESTDIR)$(UNITDIR)/$$u.new" \
		    "$(DESTDIR)$(UNITDIR)/$$u" || exit 1; \
	done
	test -e "$(EXAMPLE)" || \
	    $(INSTALL) -m 644 contrib/stampd.default "$(EXAMPLE)"
	test -e "$(CONFDIR)/stampd.conf" || \
	    $(INSTALL) -m 644 contrib/stampd.conf "$(CONFDIR)/stampd.conf"

uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/stampd" "$(DESTDIR)$(BINDIR)/stamp" \
	    "$(DESTDIR)$(BINDIR)/stampbench" \
	    "$(DESTDIR)$(MANDIR)/man1/stamp.1" \
	    "$(DESTDIR)$(MANDIR)/man1/stampbench.1" \
	    "$(DESTDIR)$(MANDIR)/man8/stampd.8" \
	    "$(DESTDIR)$(BASHCOMPDIR)/stampd" "$(DESTDIR)$(BASHCOMPDIR)/stamp" \
	    "$(DESTDIR)$(BASHCOMPDIR)/stampbench" \
	    $(UNITS:%="$(DESTDIR)$(UNITDIR)/%")
	! cmp -s contrib/stampd.default "$(EXAMPLE)" || rm -f "$(EXAMPLE)"
	! cmp -s contrib/stampd.conf "$(CONFDIR)/stampd.conf" || \
	    rm -f "$(CONFDIR)/stampd.conf"
	rmdir "$(CONFDIR)/conf.d" "$(CONFDIR)" 2>/dev/null || :

.PHONY: install uninstall

.PHONY: all run check check-run check-unit bench lesson soak fuzz clean FORCE
.SECONDARY:

-include $(wildcard $(O)/obj/*.d $(O)/tests/*/*.d $(O)/bench/*.d)
