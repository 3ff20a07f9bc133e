# Edit conf-cc and conf-ld, not this file.
# Plain POSIX make: no pattern rules, no GNU extensions.
# make builds with conf-cc and conf-ld, as they are: the default is musl,
# static-pie.  One exception, said when make builds: while conf-cc names
# musl-gcc and there is no musl-gcc, make builds with conf-cc.glibc and
# conf-ld.glibc (glibc static-pie) instead.  Another pair by name:
# make CONF_CC=conf-cc.glibc CONF_LD=conf-ld.dynamic

SHELL = /bin/sh
PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
DOCDIR = $(PREFIX)/share/doc/earlytalker
EXAMPLEDIR = $(DOCDIR)/examples
DESTDIR =
CONF_CC = conf-cc
CONF_LD = conf-ld
CLANG = clang
FUZZTIME = 60
# make fuzz-servers: seconds (after the fixed cases, which always run),
# streams (0: as many as the time allows), sessions at once
SERVERTIME = 120
SERVERSTREAMS = 0
SERVERJOBS = 24
PYTHON3 = python3

it: earlytalker earlytalker-wrap

# flavour: the two conf files this tree is built with, one a line; make
# says which, and why, when it writes it
flavour: $(CONF_CC) $(CONF_LD) conf-cc.glibc conf-ld.glibc Makefile
	@cc='$(CONF_CC)'; ld='$(CONF_LD)'; \
	if [ "$$cc $$ld" != 'conf-cc conf-ld' ]; then \
	  echo "make: building with $$cc and $$ld, as named"; \
	elif head -n 1 conf-cc | grep -q '^musl-gcc' && \
	    ! command -v musl-gcc > /dev/null 2>&1; then \
	  cc=conf-cc.glibc ld=conf-ld.glibc; \
	  echo 'make: building with conf-cc.glibc and conf-ld.glibc (glibc static-pie), not conf-cc and conf-ld: conf-cc names musl-gcc, which is not installed (sh deps build installs it; then make clean; make)'; \
	else \
	  echo 'make: building with conf-cc and conf-ld'; \
	fi; \
	case `head -n 1 $$cc` in musl-gcc*) m=musl ;; *) m=glibc ;; esac; \
	case `head -n 1 $$ld` in *musl*) n=musl ;; *) n=glibc ;; esac; \
	if [ $$m != $$n ]; then \
	  echo "make: $$cc compiles for $$m, $$ld links with $$n: make them agree (edit both, or name a pair: make CONF_CC=conf-cc.glibc CONF_LD=conf-ld.dynamic)" >&2; \
	  exit 1; \
	fi; \
	printf '%s\n' "$$cc" "$$ld" > flavour

compile: flavour
	c=`sed -n 1p flavour`; \
	( echo '#!/bin/sh'; \
	  echo "# generated from $$c by make; edit that file"; \
	  echo "exec `head -n 1 $$c`"' -c "$$@"' ) > compile
	chmod 755 compile

load: flavour
	c=`sed -n 2p flavour`; \
	( echo '#!/bin/sh'; \
	  echo "# generated from $$c by make; edit that file"; \
	  echo 'main="$$1"; shift'; \
	  echo "exec `head -n 1 $$c`"' -o "$$main" "$$@"' ) > load
	chmod 755 load

version.h: VERSION
	( echo '/* generated from VERSION by make; edit that file */'; \
	  echo '#define VERSION "'"`head -n 1 VERSION`"'"' ) > version.h

earlytalker.o: compile earlytalker.c cache.h greet.h io.h log.h proxy.h \
    rules.h settings.h smtp.h version.h wait.h
	./compile earlytalker.c

cache.o: compile cache.c cache.h io.h log.h smtp.h
	./compile cache.c

greet.o: compile greet.c greet.h io.h log.h smtp.h
	./compile greet.c

proxy.o: compile proxy.c io.h log.h proxy.h smtp.h
	./compile proxy.c

settings.o: compile settings.c cache.h io.h log.h rules.h settings.h \
    smtp.h wait.h
	./compile settings.c

wait.o: compile wait.c io.h log.h smtp.h wait.h
	./compile wait.c

rules.o: compile rules.c io.h log.h rules.h smtp.h
	./compile rules.c

wrap.o: compile wrap.c drive.h io.h log.h respond.h smtp.h version.h
	./compile wrap.c

respond.o: compile respond.c io.h log.h respond.h smtp.h
	./compile respond.c

drive.o: compile drive.c drive.h io.h log.h relay.h scan.h smtp.h
	./compile drive.c

relay.o: compile relay.c relay.h scan.h smtp.h
	./compile relay.c

ends.o: compile ends.c relay.h scan.h smtp.h
	./compile ends.c

scan.o: compile scan.c scan.h smtp.h
	./compile scan.c

io.o: compile io.c io.h log.h smtp.h
	./compile io.c

log.o: compile log.c io.h log.h smtp.h
	./compile log.c

smtp.o: compile smtp.c smtp.h
	./compile smtp.c

earlytalker: load earlytalker.o cache.o greet.o io.o log.o proxy.o \
    rules.o settings.o smtp.o wait.o
	./load earlytalker earlytalker.o cache.o greet.o io.o log.o proxy.o \
	    rules.o settings.o smtp.o wait.o

earlytalker-wrap: load wrap.o respond.o drive.o io.o log.o relay.o \
    ends.o scan.o smtp.o
	./load earlytalker-wrap wrap.o respond.o drive.o io.o log.o relay.o \
	    ends.o scan.o smtp.o

bench/load.o: compile bench/load.c
	./compile -o bench/load.o bench/load.c

bench/stub.o: compile bench/stub.c
	./compile -o bench/stub.o bench/stub.c

bench/floor.o: compile bench/floor.c
	./compile -o bench/floor.o bench/floor.c

bench/copy.o: compile bench/copy.c io.h log.h smtp.h
	./compile -o bench/copy.o bench/copy.c

bench/load: load bench/load.o
	./load bench/load bench/load.o

bench/stub: load bench/stub.o
	./load bench/stub bench/stub.o

bench/floor: load bench/floor.o
	./load bench/floor bench/floor.o

bench/copy: load bench/copy.o io.o log.o smtp.o
	./load bench/copy bench/copy.o io.o log.o smtp.o

fuzz/client.o: compile fuzz/client.c fuzz/client.h
	./compile -o fuzz/client.o fuzz/client.c

fuzz/streams.o: compile fuzz/streams.c fuzz/client.h
	./compile -o fuzz/streams.o fuzz/streams.c

fuzz/streams: load fuzz/streams.o fuzz/client.o
	./load fuzz/streams fuzz/streams.o fuzz/client.o

check: it
	./test

# hardening: the programs are position-independent (Type DYN), with no
# interpreter and no shared library when linked statically, and compiled
# with the stack protector.  glibc builds also have a read-only
# relocation table (GNU_RELRO, BIND_NOW), which glibc applies at start;
# musl's static-pie start does not, so the musl build does without it
# (see conf-ld).  CI checks every build it tests.
hardening: it
	@grep -q -e -fstack-protector-strong compile || \
	  { echo 'hardening: no -fstack-protector-strong in compile'; exit 1; }
	@if grep -q -e -static load; then s=static; else s=dynamic; fi; \
	if grep -q -e norelro load; then r=; else r='GNU_RELRO, BIND_NOW, '; fi; \
	for p in earlytalker earlytalker-wrap; do \
	  readelf -h $$p | grep -q 'Type: *DYN' || \
	    { echo "hardening: $$p is not PIE"; exit 1; }; \
	  [ -z "$$r" ] || readelf -lW $$p | grep -q GNU_RELRO || \
	    { echo "hardening: $$p has no GNU_RELRO"; exit 1; }; \
	  [ -z "$$r" ] || readelf -d $$p | grep -q BIND_NOW || \
	    { echo "hardening: $$p has no BIND_NOW"; exit 1; }; \
	  if [ $$s = static ] && readelf -lW $$p | grep -q INTERP; then \
	    echo "hardening: $$p is linked statically but has an INTERP"; \
	    exit 1; \
	  fi; \
	  if [ $$s = static ] && readelf -d $$p | grep -q NEEDED; then \
	    echo "hardening: $$p is linked statically but needs a library"; \
	    exit 1; \
	  fi; \
	done; \
	echo "hardening: `sed -n 1p flavour` + `sed -n 2p flavour`:" \
	    "PIE, $$r$$s, -fstack-protector-strong"

test: check

# the examples of etc/, installed under EXAMPLEDIR with BINDIR in place
# of /usr/local/bin; the executable ones first
EXAMPLES_X = daemontools/run daemontools/log/run xinetd/earlytalker-smtpd
EXAMPLES = $(EXAMPLES_X) xinetd.d/smtp systemd/earlytalker-smtp.socket \
    systemd/earlytalker-smtp@.service tcp.smtp \
    fail2ban/filter.d/earlytalker.conf fail2ban/jail.d/earlytalker.conf
INSTALL_DIRS = $(BINDIR) $(MANDIR)/man1 $(EXAMPLEDIR)/daemontools/log \
    $(EXAMPLEDIR)/xinetd $(EXAMPLEDIR)/xinetd.d $(EXAMPLEDIR)/systemd \
    $(EXAMPLEDIR)/fail2ban/filter.d $(EXAMPLEDIR)/fail2ban/jail.d

# install makes the directories it needs, one at a time, and writes the
# ones it made (without DESTDIR) to DOCDIR/install-dirs, which uninstall
# reads: it removes those when empty, and no other (DESTDIR itself is
# made when missing, and never removed)
install: it
	@[ -z "$(DESTDIR)" ] || mkdir -p "$(DESTDIR)" || exit 1; \
	made=; \
	for d in $(INSTALL_DIRS); do \
	  case $$d in /*) ;; *) echo "install: $$d: not an absolute path" >&2; \
	    exit 1 ;; esac; \
	  p=; \
	  for c in `echo "$$d" | tr / ' '`; do \
	    p=$$p/$$c; \
	    [ -d "$(DESTDIR)$$p" ] && continue; \
	    mkdir -m 755 "$(DESTDIR)$$p" || exit 1; \
	    echo "mkdir $(DESTDIR)$$p"; \
	    made="$$made $$p"; \
	  done; \
	done; \
	for p in $$made; do echo "$$p"; done >> "$(DESTDIR)$(DOCDIR)/install-dirs"
	chmod 644 "$(DESTDIR)$(DOCDIR)/install-dirs"
	cp earlytalker earlytalker-wrap $(DESTDIR)$(BINDIR)/
	chmod 755 $(DESTDIR)$(BINDIR)/earlytalker \
	    $(DESTDIR)$(BINDIR)/earlytalker-wrap
	cp earlytalker.1 $(DESTDIR)$(MANDIR)/man1/earlytalker.1
	cp earlytalker.1 $(DESTDIR)$(MANDIR)/man1/earlytalker-wrap.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/earlytalker.1 \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker-wrap.1
	cp earlytalker-stats $(DESTDIR)$(BINDIR)/earlytalker-stats
	chmod 755 $(DESTDIR)$(BINDIR)/earlytalker-stats
	cp earlytalker-stats.1 $(DESTDIR)$(MANDIR)/man1/earlytalker-stats.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/earlytalker-stats.1
	@for f in $(EXAMPLES); do \
	  sed 's|/usr/local/bin|$(BINDIR)|g' "etc/$$f" \
	      > "$(DESTDIR)$(EXAMPLEDIR)/$$f" || exit 1; \
	  chmod 644 "$(DESTDIR)$(EXAMPLEDIR)/$$f"; \
	done; \
	for f in $(EXAMPLES_X); do \
	  chmod 755 "$(DESTDIR)$(EXAMPLEDIR)/$$f"; \
	done; \
	echo "examples: $(DESTDIR)$(EXAMPLEDIR), with $(BINDIR)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/earlytalker \
	    $(DESTDIR)$(BINDIR)/earlytalker-wrap \
	    $(DESTDIR)$(BINDIR)/earlytalker-stats \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker.1 \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker-wrap.1 \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker-stats.1
	@for f in $(EXAMPLES); do \
	  rm -f "$(DESTDIR)$(EXAMPLEDIR)/$$f" || exit 1; \
	done; \
	list="$(DESTDIR)$(DOCDIR)/install-dirs"; \
	[ -f "$$list" ] || exit 0; \
	dirs=`LC_ALL=C sort -r -u "$$list"` && rm -f "$$list" || exit 1; \
	for d in $$dirs; do \
	  if [ -d "$(DESTDIR)$$d" ] && ! rmdir "$(DESTDIR)$$d" 2> /dev/null; \
	  then echo "uninstall: kept $(DESTDIR)$$d: not empty"; fi; \
	done

setup: install

# bench/run builds each flavour in its own copy under bench/out/
bench: bench/load
	PEERS='$(PEERS)' BENCH_QUICK='$(BENCH_QUICK)' sh bench/run

fuzz_smtp: fuzz/fuzz_smtp.c scan.c scan.h smtp.c smtp.h proxy.c proxy.h \
    io.c io.h log.c log.h
	$(CLANG) -g -O1 -std=c99 -D_POSIX_C_SOURCE=200809L -I. -Ifuzz \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o fuzz_smtp fuzz/fuzz_smtp.c scan.c smtp.c proxy.c io.c log.c

fuzz_relay: fuzz/fuzz_relay.c fuzz/client.c fuzz/client.h relay.c relay.h \
    ends.c scan.c scan.h smtp.c smtp.h
	$(CLANG) -g -O1 -std=c99 -D_POSIX_C_SOURCE=200809L -I. -Ifuzz \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o fuzz_relay fuzz/fuzz_relay.c fuzz/client.c relay.c ends.c \
	    scan.c smtp.c

# each harness gets FUZZTIME seconds
fuzz: fuzz_smtp fuzz_relay
	rm -rf fuzz-corpus && mkdir fuzz-corpus && cp fuzz/seeds/* fuzz-corpus/
	./fuzz_smtp -max_total_time=$(FUZZTIME) -max_len=8192 \
	    -timeout=10 fuzz-corpus
	rm -rf fuzz-relay-corpus && mkdir fuzz-relay-corpus
	./fuzz_relay -max_total_time=$(FUZZTIME) -max_len=512 \
	    -timeout=10 -print_final_stats=1 fuzz-relay-corpus

# the relay in front of real servers (t/servers.sh), differential: see
# t/fuzz_servers.py; as root, after sh deps test (and sh deps exim)
fuzz-servers: it fuzz/streams
	rm -rf fuzz-servers-work
	$(PYTHON3) t/fuzz_servers.py --time $(SERVERTIME) \
	    --streams $(SERVERSTREAMS) --jobs $(SERVERJOBS) \
	    --findings fuzz-servers-findings fuzz-servers-work

lint:
	mandoc -Tlint -Wwarning earlytalker.1 earlytalker-stats.1
	shellcheck -s sh -x test t/*.sh bench/run earlytalker-stats \
	    etc/daemontools/run etc/daemontools/log/run \
	    etc/xinetd/earlytalker-smtpd
	pyflakes3 t/*.py
	perl -c t/qpsmtpd
	# variableScope: KNF declares at the top of a function
	cppcheck --std=c99 --enable=warning,style,performance,portability \
	    --suppress=variableScope --error-exitcode=1 --inline-suppr -q \
	    earlytalker.c greet.c wrap.c respond.c drive.c cache.c io.c log.c \
	    proxy.c rules.c relay.c ends.c scan.c settings.c smtp.c wait.c \
	    fuzz/fuzz_smtp.c fuzz/fuzz_relay.c fuzz/client.c fuzz/streams.c \
	    bench/load.c bench/stub.c bench/floor.c bench/copy.c
	clang-tidy -quiet --warnings-as-errors='*' \
	    -checks='-*,clang-analyzer-*,bugprone-*,cert-*,-cert-err33-c,-bugprone-easily-swappable-parameters' \
	    earlytalker.c greet.c wrap.c respond.c drive.c cache.c io.c log.c \
	    proxy.c rules.c relay.c ends.c scan.c settings.c smtp.c wait.c \
	    bench/load.c bench/stub.c bench/floor.c bench/copy.c fuzz/client.c \
	    fuzz/streams.c \
	    -- -std=c99 -D_POSIX_C_SOURCE=200809L

clean:
	rm -f `cat TARGETS`
	rm -rf fuzz-corpus fuzz-relay-corpus bench/out fuzz-servers-work \
	    fuzz-servers-findings

.PHONY: it check test hardening install uninstall setup bench fuzz \
	fuzz-servers lint clean
