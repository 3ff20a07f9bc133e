# shellcheck shell=sh
# t/servers.sh: real SMTP servers as next programs, for the suites
# (t/lib.sh sources it) and for the servers' harness (t/fuzz_servers.py).
# Sourced, not run.
#
# The caller sets T (a temp directory of its own), and may set top (the
# repository; by default the parent of this file's directory, as $top of
# t/lib.sh), PY (the Python that runs t/mailq.py; by default python3) and
# EXIM (Exim's program; by default the one that sh deps exim unpacks).
# It may define fail and skip_for (t/lib.sh's); when it does not, a failure
# is said on fd 2 and the function returns 1.
#
# Each server is a "rig": a directory that holds its configuration, the
# next program that runs it on fd 0 and fd 1 (DIR/smtpd), the queue in
# which it keeps each message it accepts (DIR/q), and three one-line
# files: DIR/kind (qsmtpd, mfront, postfix, exim, qpsmtpd: the KIND of
# t/mailq.py), DIR/version (for an "exercised:" line) and DIR/ext (the
# EHLO keywords it offers of PIPELINING and CHUNKING).
#
#   rig KIND DIR        set a rig up in DIR (made; once per run is enough:
#                       rig_reset empties its queue); returns 1 when the
#                       server is missing (skip_for has said so) or fails
#   rig_reset DIR       no message kept
#   rig_count DIR       how many messages the server has kept
#   rig_show DIR N      the Nth message kept, normalized (t/mailq.py)
#   rig_json DIR        every message kept, one JSON object a line
#
# The servers: notqmail's qmail-smtpd (vendor/notqmail.tar.gz, built
# once), mailfront's SMTP front end, Postfix's smtpd in its stand-alone
# mode (smtpd -S, a private instance: its messages stay in the maildrop
# queue, none is delivered), Exim (exim4 -bs with its own configuration,
# queue-only) and qpsmtpd (Debian's modules, run by t/qpsmtpd, with the
# queue/maildir plugin).  None of them starts a daemon: each session is
# one process of the server and what it runs, ended with the session.
#
# The older interface, kept for t/relay-servers.sh: qmail_build,
# qqreset, delivered, qmessage, unstuff, tap_setup (see each).

: "${top:=$(cd "$(dirname "${0:-.}")" && pwd)}"
: "${PY:=python3}"

if ! command -v fail > /dev/null 2>&1; then
	fail() { echo "servers.sh: $*" >&2; return 1; }
fi
if ! command -v skip_for > /dev/null 2>&1; then
	skip_for() {
		command -v "$1" > /dev/null 2>&1 && return 1
		echo "servers.sh: $1 is not installed" >&2
		return 0
	}
fi

# --- notqmail's qmail-smtpd and mailfront ---

# qq_queue FILE QDIR: qmail-queue's stand-in, in FILE: the message on
# fd 0, then the envelope on fd 1, kept in one file in QDIR/new, as
# mailfront's queuedir writes them; as qmail-queue, it keeps nothing
# unless the envelope is whole (it ends in two NULs: qmail-smtpd died
# in the message otherwise)
qq_queue() {
	cat > "$1" <<EOT
#!/bin/sh
t=$2/tmp/\$\$
cat > "\$t.msg" && cat <&1 > "\$t" || exit 71
if [ "\$(tail -c 2 "\$t" | od -An -tx1 | tr -d ' ')" != 0000 ]; then
	rm -f "\$t" "\$t.msg"
	exit 81
fi
cat "\$t.msg" >> "\$t" && rm -f "\$t.msg" && mv "\$t" "$2/new/\$\$" ||
    exit 71
EOT
	chmod 755 "$1"
}

# qmail_build: qmail-smtpd from vendor/notqmail.tar.gz, built once per
# run of the suite (about 10 s) into $T/notqmail, its home $T/qroot
# (control/me mx.example.net, control/rcpthosts example.net); then the
# next programs $T/qsmtpd (qmail-smtpd, its qmail-queue a stand-in that
# keeps the message in $T/qq/new) and $T/mfront (mailfront's smtp
# protocol, the accept plugin, the queuedir back-end into $T/qq), each
# noting its pid in $T/qq/pids.  Skips the test when cc or make is
# missing, fails it when the build fails.
qmail_build() {
	skip_for cc && return 1
	skip_for make && return 1
	if [ ! -x "$T/notqmail/qmail-smtpd" ]; then
		rm -rf "$T/notqmail" "$T/qroot"
		tar -xzf "$top/vendor/notqmail.tar.gz" -C "$T" ||
		    { fail "cannot unpack vendor/notqmail.tar.gz"; return 1; }
		echo "$T/qroot" > "$T/notqmail/conf-qmail"
		mkdir -p "$T/qroot/control"
		echo mx.example.net > "$T/qroot/control/me"
		echo example.net > "$T/qroot/control/rcpthosts"
		# not the flags of a make that runs this suite
		if ! (unset MAKEFLAGS MFLAGS MAKELEVEL && cd "$T/notqmail" &&
		    make qmail-smtpd) > "$T/notqmail.log" 2>&1; then
			fail "building qmail-smtpd: $(tail -n 20 "$T/notqmail.log")"
			rm -f "$T/notqmail/qmail-smtpd"
			return 1
		fi
	fi
	qq_queue "$T/qqueue" "$T/qq"
	cat > "$T/qsmtpd" <<EOT
#!/bin/sh
echo \$\$ >> "$T/qq/pids"
exec env QMAILQUEUE="$T/qqueue" "$T/notqmail/qmail-smtpd"
EOT
	cat > "$T/mfront" <<EOT
#!/bin/sh
echo \$\$ >> "$T/qq/pids"
exec env PLUGINS=accept QUEUEDIR="$T/qq" QUEUEDIR_NOSYNC=1 \\
    mailfront smtp queuedir
EOT
	chmod 755 "$T/qsmtpd" "$T/mfront"
	qqreset
}

# qqreset: no message kept, no pid noted
qqreset() {
	rm -rf "$T/qq"
	mkdir -p "$T/qq/tmp" "$T/qq/new"
	: > "$T/qq/pids"
}

# delivered: the number of messages the server accepted
delivered() {
	find "$T/qq/new" -type f | wc -l
}

# qmessage FILE: the message kept in FILE, without its envelope (up to
# the first NUL NUL) and without the Received header that qmail-smtpd
# puts in front of it (two lines); lines end in LF, as both servers
# keep them
qmessage() {
	"$PY" -c 'import re, sys
m = open(sys.argv[1], "rb").read()
m = m[m.index(b"\0\0") + 2:]
r = re.match(rb"Received: from [^\n]*\n  by [^ \n]* with SMTP; [^\n]*\n", m)
sys.stdout.buffer.write(m[r.end():] if r else m)' "$1"
}

# unstuff: stdin as a server keeps it: CR LF to LF, a line's first dot
# removed
unstuff() {
	"$PY" -c 'import sys
m = sys.stdin.buffer.read().replace(b"\r\n", b"\n")
sys.stdout.buffer.write(b"\n".join(l[1:] if l.startswith(b".") else l
    for l in m.split(b"\n")))'
}

# tap PROG [ARG ...], as the next program: PROG, with every byte that it
# reads kept in $T/qq/raw; the relay's socket is its fd 0 and fd 1, so
# the copier is stopped as soon as PROG ends, and the tap exits with
# PROG's status.  $T/tap lives outside $T/qq, which qqreset empties.
tap_setup() {
	rig_tap "$T/qq" "$T/tap"
}

# rig_tap DIR [TAP]: TAP (by default DIR/tap), the tap above, keeping
# what the server reads in DIR/raw (emptied by rig_reset), its fifo in DIR
rig_tap() {
	cat > "${2:-$1/tap}" <<EOT
#!/bin/sh
f=$1/fifo.\$\$
mkfifo "\$f" || exit 111
exec 3<&0
tee -a "$1/raw" <&3 > "\$f" 3<&- &
t=\$!
"\$@" < "\$f" 3<&-
s=\$?
kill "\$t" 2> /dev/null
rm -f "\$f"
exit "\$s"
EOT
	chmod 755 "${2:-$1/tap}"
}

# --- the rigs ---

# rig_files DIR KIND VERSION EXT: the three one-line files, a tap
rig_files() {
	echo "$2" > "$1/kind"
	echo "$3" > "$1/version"
	echo "$4" > "$1/ext"
	rig_tap "$1"
}

# rig_qsmtpd DIR: notqmail's qmail-smtpd (built by qmail_build), its
# qmail-queue the stand-in, into DIR/q
rig_qsmtpd() {
	qmail_build || return 1
	mkdir -p "$1"
	qq_queue "$1/qqueue" "$1/q"
	cat > "$1/smtpd" <<EOT
#!/bin/sh
exec env QMAILQUEUE="$1/qqueue" "$T/notqmail/qmail-smtpd"
EOT
	chmod 755 "$1/smtpd"
	v=$(sed -n 's/.* version: notqmail \([0-9][0-9.]*[0-9]\).*/\1/p' \
	    "$T/notqmail/CHANGES.md" 2> /dev/null | head -n 1)
	rig_files "$1" qsmtpd "notqmail qmail-smtpd ${v:-(vendor)}" PIPELINING
}

# rig_mfront DIR: mailfront's smtp front end, the accept plugin, the
# queuedir back-end into DIR/q
rig_mfront() {
	skip_for mailfront && return 1
	mkdir -p "$1"
	cat > "$1/smtpd" <<EOT
#!/bin/sh
exec env PLUGINS=accept QUEUEDIR="$1/q" QUEUEDIR_NOSYNC=1 \\
    $(command -v mailfront) smtp queuedir
EOT
	chmod 755 "$1/smtpd"
	rig_files "$1" mfront \
	    "mailfront $(dpkg-query -W -f '${Version}' mailfront 2> /dev/null)" \
	    PIPELINING
}

# postfix_dirs DIR HOST DOMAIN: the first lines of the main.cf of a
# private Postfix instance in DIR: its queue DIR/q, its data, its
# commands DIR/bin; the system's daemons, libraries and meta files; its
# owner and group; its names, HOST in DOMAIN, and no local domain
postfix_dirs() {
	cat <<EOT
compatibility_level = 3.6
queue_directory = $1/q
data_directory = $1/data
command_directory = $1/bin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = $2
mydomain = $3
myorigin = $3
mydestination =
EOT
}

# rig_postfix DIR: Postfix's smtpd in its stand-alone mode (smtpd -S),
# a private instance in DIR (its main.cf, an empty master.cf, its queue
# directory DIR/q): it hands each message to postdrop, which leaves it
# in DIR/q/maildrop; no master, pickup or qmgr runs, so nothing is ever
# delivered.  postdrop is a copy without its set-group-id bit, so that
# it takes DIR as its configuration.  Accepts mail for example.net only.
# Run by root, stand-alone smtpd takes no mail on a network socket: its
# fd 0 must be a pipe or a socketpair, as the relay's (or t/delay.py's).
rig_postfix() {
	sbin=/usr/lib/postfix/sbin
	if [ ! -x "$sbin/smtpd" ] || [ ! -x /usr/sbin/postdrop ]; then
		skip_for postfix-smtpd
		return 1
	fi
	mkdir -p "$1/bin" "$1/q/maildrop" "$1/q/public" "$1/q/pid" \
	    "$1/data"
	if ! cp /usr/sbin/postdrop "$1/bin/postdrop" ||
	    ! chmod 755 "$1/bin/postdrop"; then
		fail "postfix: cannot copy postdrop"
		return 1
	fi
	{
		echo '# a private instance for the tests: smtpd -S only, nothing delivered'
		postfix_dirs "$1" mx.example.net example.net
		cat <<EOT
relay_domains = example.net
local_recipient_maps =
relay_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
biff = no
EOT
	} > "$1/main.cf"
	: > "$1/master.cf"
	cat > "$1/smtpd" <<EOT
#!/bin/sh
exec env MAIL_CONFIG="$1" $sbin/smtpd -S
EOT
	chmod 755 "$1/smtpd"
	rig_files "$1" postfix \
	    "Postfix $(postconf -c "$1" -h mail_version 2> /dev/null)" \
	    'PIPELINING CHUNKING'
}

# exim_path: Exim's program: $EXIM, or where sh deps exim unpacks it
exim_path() {
	e=${EXIM:-${EXIM_DIR:-/var/cache/earlytalker-exim}/usr/sbin/exim4}
	[ -x "$e" ] || return 1
	echo "$e"
}

# rig_exim DIR: Exim (exim4 -bs, as for a host at $TCPREMOTEIP, its
# configuration DIR/exim.conf, its spool DIR/q), queue-only: it keeps
# each message in DIR/q/input and delivers none.  No Received header
# and no header of its own (suppress_local_fixups), so that the message
# it keeps is the client's.  Accepts mail for example.net only.
rig_exim() {
	e=$(exim_path) || {
		echo "SKIPPED: exim4 is not unpacked; sh deps exim does it," \
		    ".ci/run runs it"
		skip_for exim4-from-sh-deps-exim
		return 1
	}
	mkdir -p "$1/q" "$1/log"
	cat > "$1/exim.conf" <<EOT
# a private configuration for the tests: queue-only, nothing delivered
exim_user = root
exim_group = root
spool_directory = $1/q
log_file_path = $1/log/%slog
primary_hostname = mx.example.net
domainlist local_domains = example.net
acl_smtp_rcpt = acl_rcpt
queue_only = true
pipelining_advertise_hosts = *
chunking_advertise_hosts = *
tls_advertise_hosts =
received_header_text =
keep_environment =
host_lookup =
rfc1413_hosts =

begin acl
acl_rcpt:
  accept domains = +local_domains
         control = suppress_local_fixups
  deny   message = relay not permitted

begin routers
begin transports
EOT
	cat > "$1/smtpd" <<EOT
#!/bin/sh
exec $e -C "$1/exim.conf" -bs -oMa "\${TCPREMOTEIP:-127.0.0.1}"
EOT
	chmod 755 "$1/smtpd"
	v=$("$e" -C "$1/exim.conf" -bV 2> /dev/null |
	    sed -n 's/^Exim version \([^ ]*\).*/\1/p')
	[ -n "$v" ] || { fail "exim: $e -bV: $("$e" -C "$1/exim.conf" -bV 2>&1 |
	    head -n 3)"; return 1; }
	rig_files "$1" exim "Exim $v" 'PIPELINING CHUNKING'
}

# rig_qpsmtpd DIR: Debian's qpsmtpd, one process a session (t/qpsmtpd,
# as qpsmtpd's own script for tcpserver), its configuration DIR/config,
# the plugins rcpt_ok and queue/maildir into DIR/q.  Accepts mail for
# example.net only.  It runs in DIR: qpsmtpd asks git for its version
# when it runs in a git work tree.
rig_qpsmtpd() {
	if [ ! -f /usr/share/perl5/Qpsmtpd.pm ]; then
		skip_for qpsmtpd
		return 1
	fi
	mkdir -p "$1/config" "$1/q/new" "$1/q/cur" "$1/q/tmp" "$1/spool"
	chmod 700 "$1/spool"
	echo mx.example.net > "$1/config/me"
	echo example.net > "$1/config/rcpthosts"
	echo "$1/spool" > "$1/config/spool_dir"
	echo /usr/share/qpsmtpd/plugins > "$1/config/plugin_dirs"
	echo 1 > "$1/config/loglevel"
	echo 'logging/warn 1' > "$1/config/logging"
	printf '%s\n' rcpt_ok "queue/maildir $1/q" > "$1/config/plugins"
	cat > "$1/smtpd" <<EOT
#!/bin/sh
cd "$1" || exit 111
exec env QPSMTPD_CONFIG="$1/config" perl "$top/t/qpsmtpd"
EOT
	chmod 755 "$1/smtpd"
	rig_files "$1" qpsmtpd \
	    "qpsmtpd $(dpkg-query -W -f '${Version}' qpsmtpd 2> /dev/null)" \
	    PIPELINING
}

# rig KIND DIR
rig() {
	case $1 in
	qsmtpd|mfront|postfix|exim|qpsmtpd) "rig_$1" "$2" && rig_reset "$2" ;;
	*) fail "rig: no server $1"; return 1 ;;
	esac
}

# rig_reset DIR: no message kept; nothing read (DIR/raw)
rig_reset() {
	case $(cat "$1/kind") in
	qsmtpd|mfront)
		rm -rf "$1/q" && mkdir -p "$1/q/tmp" "$1/q/new" ;;
	postfix)
		rm -rf "$1/q/maildrop" && mkdir -p "$1/q/maildrop" ;;
	exim)
		rm -rf "$1/q/input" "$1/q/msglog" ;;
	qpsmtpd)
		rm -rf "$1/q" && mkdir -p "$1/q/new" "$1/q/cur" "$1/q/tmp" ;;
	esac
	: > "$1/raw"
}

rig_count() {
	"$PY" "$top/t/mailq.py" "$(cat "$1/kind")" "$1/q" count
}

rig_show() {
	"$PY" "$top/t/mailq.py" "$(cat "$1/kind")" "$1/q" show "$2"
}

rig_json() {
	"$PY" "$top/t/mailq.py" "$(cat "$1/kind")" "$1/q" json
}
