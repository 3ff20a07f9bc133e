# Edit conf-cc and conf-ld, not this file.
# Plain POSIX make: no pattern rules, no GNU extensions.

SHELL = /bin/sh
PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
DESTDIR =
CONF_CC = conf-cc
CONF_LD = conf-ld
CLANG = clang
FUZZTIME = 60

it: earlytalker earlytalker-wrap

compile: $(CONF_CC) Makefile
	( echo '#!/bin/sh'; \
	  echo '# generated from $(CONF_CC) by make; edit that file'; \
	  echo 'exec '"`head -n 1 $(CONF_CC)`"' -c "$$@"' ) > compile
	chmod 755 compile

load: $(CONF_LD) Makefile
	( echo '#!/bin/sh'; \
	  echo '# generated from $(CONF_LD) by make; edit that file'; \
	  echo 'main="$$1"; shift'; \
	  echo 'exec '"`head -n 1 $(CONF_LD)`"' -o "$$main" "$$@"' ) > load
	chmod 755 load

version.h: VERSION
	( echo '/* generated from VERSION by make; edit that file */'; \
	  echo '#define VERSION "'"`head -n 1 VERSION`"'"' ) > version.h

earlytalker.o: compile earlytalker.c io.h proxy.h smtp.h version.h
	./compile earlytalker.c

proxy.o: compile proxy.c io.h proxy.h smtp.h
	./compile proxy.c

wrap.o: compile wrap.c io.h smtp.h version.h
	./compile wrap.c

io.o: compile io.c io.h smtp.h
	./compile io.c

smtp.o: compile smtp.c smtp.h
	./compile smtp.c

earlytalker: load earlytalker.o io.o proxy.o smtp.o
	./load earlytalker earlytalker.o io.o proxy.o smtp.o

earlytalker-wrap: load wrap.o io.o smtp.o
	./load earlytalker-wrap wrap.o io.o smtp.o

bench/load.o: compile bench/load.c
	./compile -o bench/load.o bench/load.c

bench/stub.o: compile bench/stub.c
	./compile -o bench/stub.o bench/stub.c

bench/floor.o: compile bench/floor.c
	./compile -o bench/floor.o bench/floor.c

bench/load: load bench/load.o
	./load bench/load bench/load.o

bench/stub: load bench/stub.o
	./load bench/stub bench/stub.o

bench/floor: load bench/floor.o
	./load bench/floor bench/floor.o

check: it
	./test

test: check

install: it
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	cp earlytalker earlytalker-wrap $(DESTDIR)$(BINDIR)/
	chmod 755 $(DESTDIR)$(BINDIR)/earlytalker \
	    $(DESTDIR)$(BINDIR)/earlytalker-wrap
	cp earlytalker.1 $(DESTDIR)$(MANDIR)/man1/earlytalker.1
	cp earlytalker.1 $(DESTDIR)$(MANDIR)/man1/earlytalker-wrap.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/earlytalker.1 \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker-wrap.1
	cp earlytalker-stats $(DESTDIR)$(BINDIR)/earlytalker-stats
	chmod 755 $(DESTDIR)$(BINDIR)/earlytalker-stats

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/earlytalker \
	    $(DESTDIR)$(BINDIR)/earlytalker-wrap \
	    $(DESTDIR)$(BINDIR)/earlytalker-stats \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker.1 \
	    $(DESTDIR)$(MANDIR)/man1/earlytalker-wrap.1

setup: install

# bench/run builds each flavour in its own copy under bench/out/
bench: bench/load
	PEERS='$(PEERS)' BENCH_QUICK='$(BENCH_QUICK)' sh bench/run

fuzz_smtp: fuzz/fuzz_smtp.c smtp.c smtp.h
	$(CLANG) -g -O1 -std=c99 -D_POSIX_C_SOURCE=200809L -I. \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o fuzz_smtp fuzz/fuzz_smtp.c smtp.c

fuzz: fuzz_smtp
	rm -rf fuzz-corpus && mkdir fuzz-corpus && cp fuzz/seeds/* fuzz-corpus/
	./fuzz_smtp -max_total_time=$(FUZZTIME) -max_len=4096 \
	    -timeout=10 fuzz-corpus

lint:
	mandoc -Tlint -Wwarning earlytalker.1
	shellcheck -s sh test bench/run earlytalker-stats
	# variableScope: KNF declares at the top of a function
	cppcheck --std=c99 --enable=warning,style,performance,portability \
	    --suppress=variableScope --error-exitcode=1 --inline-suppr -q \
	    earlytalker.c wrap.c io.c proxy.c smtp.c fuzz/fuzz_smtp.c \
	    bench/load.c bench/stub.c bench/floor.c
	clang-tidy -quiet --warnings-as-errors='*' \
	    -checks='-*,clang-analyzer-*,bugprone-*,cert-*,-cert-err33-c,-bugprone-easily-swappable-parameters' \
	    earlytalker.c wrap.c io.c proxy.c smtp.c bench/load.c \
	    bench/stub.c bench/floor.c -- -std=c99 -D_POSIX_C_SOURCE=200809L

clean:
	rm -f `cat TARGETS`
	rm -rf fuzz-corpus bench/out

.PHONY: it check test install uninstall setup bench fuzz lint clean
