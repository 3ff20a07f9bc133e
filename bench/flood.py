#!/usr/bin/env python3
# bench/flood.py: the flood section of make bench.
#
#   flood.py [-a 127.N] [-k KINDS] [-p PID] RATE SECS POLITE WAIT \
#       -- TCPSERVER-COMMAND ...
#   flood.py [-a 127.N] [-k KINDS] [-p PID] RATE SECS POLITE WAIT PORT
#
# In the first form it runs the tcpserver command given (it must print
# its port on stdout, as with -1, and log with -v on stderr); in the
# second a server already listens on 127.0.0.1:PORT (a peer: qpsmtpd,
# postscreen).  Then for SECS seconds it opens RATE connections a second
# of early-talking bots, of the KINDS given in turn (-k, default
# quiet,talker,deaf):
#
#   quiet   sends EHLO before the greeting, reads until the server
#           closes, then closes: it goes quiet after its refusal
#   talker  sends EHLO, then NOOP every 0.1 s until the server closes
#   deaf    sends EHLO, never reads, never closes until the run ends
#           (SECS, or later, until the server has closed every deaf
#           bot's connection, at most 60 s later)
#
# and POLITE connections a second of polite clients, which wait for the
# greeting (WAIT seconds late, the server's wait), send QUIT and read
# until the close.  With -a 127.N each connection comes from an address
# of its own, 127.N.0.1, 127.N.0.2, ... (up to 65535 of them): a server
# that remembers a client's address (postscreen) tests each afresh.
# Talks to 127.0.0.1 only.  Prints one line:
#
#   polite=N greeted=N refused=N greet_p50_ms=X greet_p99_ms=X \
#   greet_max_ms=X bots=N held_n=N held_p50_s=X held_p99_s=X \
#   quiet_held_p50_s=X talker_held_p50_s=X deaf_held_p50_s=X \
#   measured=N slot_p50_s=X slot_p99_s=X quiet_p50_s=X talker_p50_s=X \
#   deaf_p50_s=X cpu_ms=X
#
# All times from the client's connect().  greet: to the last line of the
# 220 greeting (a 220- teaser line does not count), less WAIT: the time
# it waited in the listen queue for a slot, and the server's delay;
# refused: a polite client whose first reply was not a 220.  held: a
# bot's connect() to the server's close as the bot saw it (end of file
# or a reset; for a deaf bot, which reads nothing, the FIN or reset
# that came in).  slot (the first form only): a refused bot's tcpserver
# slot, from tcpserver's log lines "pid N" (the fork) and "end N" (the
# reap), stamped as they come.  cpu_ms: the CPU time of the server's
# process tree over the run (-p PID, by default the tcpserver's; from
# /proc: each process's own, and that of the children it reaped), from
# before the first connection to when the server has settled after the
# last (its CPU time grows by less than 1 ms in 0.3 s).

import getopt, os, select, selectors, socket, subprocess, sys, threading, \
    time

opts, args = getopt.getopt(sys.argv[1:], 'a:k:p:')
opts = dict(opts)
rate, secs, polite_rate, wait = (float(a) for a in args[:4])
net = opts.get('-a')
kinds = tuple(opts.get('-k', 'quiet,talker,deaf').split(','))
tick_ns = 10 ** 9 // os.sysconf('SC_CLK_TCK')

srv = None
start = {}      # pid: fork time
life = {}       # pid: slot seconds
pidaddr = {}    # (client address, port): pid
lock = threading.Lock()
if '--' in sys.argv:
    cmd = sys.argv[sys.argv.index('--') + 1:]
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    port = int(srv.stdout.readline())
    root = int(opts.get('-p', srv.pid))
else:
    port = int(args[4])
    root = int(opts['-p']) if '-p' in opts else None


def stamp():
    for raw in srv.stderr:
        t = time.monotonic()
        w = raw.split()
        if len(w) < 3 or w[0] != b'tcpserver:':
            continue
        with lock:
            if w[1] == b'pid':
                start[w[2]] = t
            elif w[1] == b'ok' and len(w) >= 5:
                # remotehost:remoteip:remoteinfo:remoteport
                r = w[4].split(b':')
                pidaddr[(r[1].decode(), int(r[-1]))] = w[2]
            elif w[1] == b'end' and w[2] in start:
                life[w[2]] = t - start[w[2]]


def cpu_ns():
    """the CPU time of root and its descendants, and of the children
    they reaped: /proc/PID/schedstat (to the nanosecond) for a process,
    cutime and cstime of /proc/PID/stat for its reaped children"""
    if root is None:
        return None
    kids, own = {}, {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                s = f.read()
            f = s[s.rindex(')') + 2:].split()
            t = (int(f[13]) + int(f[14])) * tick_ns
            try:
                with open('/proc/%s/schedstat' % d) as g:
                    t += int(g.read().split()[0])
            except OSError:
                t += (int(f[11]) + int(f[12])) * tick_ns
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(int(f[1]), []).append(int(d))
        own[int(d)] = t
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += own.get(p, 0)
        todo.extend(kids.get(p, []))
    return total


if srv is not None:
    threading.Thread(target=stamp, daemon=True).start()
sel = selectors.DefaultSelector()
deafpoll = select.epoll()       # deaf bots: the server's close, unread
sel.register(deafpoll, selectors.EVENT_READ, None)     # wakes the select
deaf = {}       # fd: the deaf bot's connection
conns = []      # every connection: dict
talkers = []    # talkers still open


def dial(kind, n):
    s = socket.socket()
    s.setblocking(False)
    c = {'s': s, 'kind': kind, 'greet': None, 'end': None, 'buf': b'',
         'open': True, 'sent': False, 'refused': False, 'addr': '127.0.0.1'}
    conns.append(c)
    try:
        if net is not None:
            c['addr'] = '%s.%d.%d' % (net, n >> 8 & 255, n & 255)
            s.bind((c['addr'], 0))
        c['t0'] = time.monotonic()
        try:
            s.connect(('127.0.0.1', port))
        except BlockingIOError:
            pass
        c['port'] = s.getsockname()[1]
    except OSError:
        s.close()
        c['open'] = False
        return
    sel.register(s, selectors.EVENT_WRITE, c)


def close(c):
    if c['open'] is True:
        sel.unregister(c['s'])
    if c['open']:
        c['s'].close()
        c['open'] = False


def gone(c, now):
    """the server closed: the bot's session ends"""
    if c['end'] is None:
        c['end'] = now - c['t0']
    close(c)


def ready(c, ev, now):
    s = c['s']
    if ev & selectors.EVENT_WRITE and not c['sent']:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            close(c)
            return
        c['sent'] = True
        if c['kind'] != 'polite':
            try:
                s.send(b'EHLO bot.invalid\r\n')
            except OSError:
                gone(c, now)
                return
        if c['kind'] == 'deaf':     # held open, never read
            sel.unregister(s)
            c['open'] = 'deaf'
            deaf[s.fileno()] = c
            deafpoll.register(s.fileno(), select.EPOLLRDHUP)
            return
        if c['kind'] == 'talker':
            c['next'] = now + 0.1
            talkers.append(c)
        sel.modify(s, selectors.EVENT_READ, c)
        return
    if ev & selectors.EVENT_READ:
        try:
            d = s.recv(65536)
        except OSError:
            d = b''
        if not d:
            gone(c, now)
            return
        if c['kind'] != 'polite' or c['greet'] is not None or \
                c['refused']:
            return
        c['buf'] += d
        while b'\n' in c['buf']:
            line, c['buf'] = c['buf'].split(b'\n', 1)
            if line[3:4] == b'-':       # a line of a longer reply
                continue
            if line[:4] != b'220 ':
                c['refused'] = True
                return
            c['greet'] = now - c['t0']
            try:
                s.send(b'QUIT\r\n')
            except OSError:
                gone(c, now)
            return


cpu0 = cpu_ns()
t0 = time.monotonic()
nbot = npolite = 0
end = t0 + secs
while True:
    now = time.monotonic()
    if now < end:
        while nbot < rate * (now - t0):
            dial(kinds[nbot % len(kinds)], 1 + nbot + npolite)
            nbot += 1
        while npolite < polite_rate * (now - t0):
            dial('polite', 1 + nbot + npolite)
            npolite += 1
    for c in talkers:
        if c['open'] is True and now >= c['next']:
            c['next'] = now + 0.1
            try:
                c['s'].send(b'NOOP\r\n')
            except OSError:
                gone(c, now)
    talkers = [c for c in talkers if c['open'] is True]
    if now >= end and not any(c['open'] is True or c['open'] == 'deaf'
                              for c in conns):
        break
    if now >= end + 60:
        break
    for key, ev in sel.select(0.02):
        if key.data is not None:
            ready(key.data, ev, time.monotonic())
    for fd, ev in deafpoll.poll(0):
        deafpoll.unregister(fd)
        c = deaf.pop(fd)
        c['end'] = time.monotonic() - c['t0']
        c['open'] = 'closed by the server'     # and still not read
# the deaf bots close now; what is still open is given up on
for c in conns:
    if c['open'] == 'deaf':
        deafpoll.unregister(c['s'].fileno())
    close(c)
if srv is not None:
    # every session gets time to end, and tcpserver to log it
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if len(life) >= len(start) and len(start) >= nbot + npolite:
                break
        time.sleep(0.05)
# the server settles: its CPU time stops growing (qpsmtpd reaps its
# children once a second)
cpu1 = cpu_ns()
deadline = time.monotonic() + 10
while cpu1 is not None and time.monotonic() < deadline:
    time.sleep(0.3)
    c = cpu_ns()
    if c - cpu1 < 10 ** 6:     # under 1 ms in 0.3 s: idle
        break
    cpu1 = c
if srv is not None:
    srv.terminate()
    srv.wait()


def pct(v, p):
    if not v:
        return '-'
    v = sorted(v)
    return '%.4f' % v[min(len(v) - 1, max(0, int(len(v) * p / 100.0 +
                                                 0.999) - 1))]


pol = [c for c in conns if c['kind'] == 'polite']
greet = [(c['greet'] - wait) * 1000 for c in pol if c['greet'] is not None]
held = {k: [] for k in ('quiet', 'talker', 'deaf')}
slots = {k: [] for k in ('quiet', 'talker', 'deaf')}
with lock:
    for c in conns:
        if c['kind'] not in held:
            continue
        if c['end'] is not None:
            held[c['kind']].append(c['end'])
        pid = pidaddr.get((c['addr'], c.get('port')))
        if pid in life:
            slots[c['kind']].append(life[pid])
allheld = held['quiet'] + held['talker'] + held['deaf']
allbots = slots['quiet'] + slots['talker'] + slots['deaf']
cpu = '-'
if cpu0 is not None and cpu1 is not None:
    cpu = '%.1f' % ((cpu1 - cpu0) / 1e6)
print('polite=%d greeted=%d refused=%d greet_p50_ms=%s greet_p99_ms=%s '
      'greet_max_ms=%s bots=%d held_n=%d held_p50_s=%s held_p99_s=%s '
      'quiet_held_p50_s=%s talker_held_p50_s=%s deaf_held_p50_s=%s '
      'measured=%d slot_p50_s=%s slot_p99_s=%s quiet_p50_s=%s '
      'talker_p50_s=%s deaf_p50_s=%s cpu_ms=%s' % (
          len(pol), len(greet), sum(1 for c in pol if c['refused']),
          pct(greet, 50), pct(greet, 99), pct(greet, 100), nbot,
          len(allheld), pct(allheld, 50), pct(allheld, 99),
          pct(held['quiet'], 50), pct(held['talker'], 50),
          pct(held['deaf'], 50), len(allbots), pct(allbots, 50),
          pct(allbots, 99), pct(slots['quiet'], 50),
          pct(slots['talker'], 50), pct(slots['deaf'], 50), cpu))
