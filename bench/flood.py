#!/usr/bin/env python3
# bench/flood.py: the flood section of make bench.
#
#   flood.py RATE SECS POLITE WAIT -- TCPSERVER-COMMAND ...
#
# Runs the tcpserver command given (it must print its port on stdout,
# as with -1, and log with -v on stderr), then for SECS seconds opens
# RATE connections a second of early-talking bots, three kinds in turn:
#
#   quiet   sends EHLO before the greeting, reads until the server
#           closes, then closes: it goes quiet after its refusal
#   talker  sends EHLO, then NOOP every 0.1 s until the server closes
#   deaf    sends EHLO, never reads, never closes until the run ends
#
# and POLITE connections a second of polite clients, which wait for the
# greeting (WAIT seconds late, the server's -w), send QUIT and read
# until the close.  Talks to 127.0.0.1 only.  Prints one line:
#
#   polite=N greeted=N greet_p50_ms=X greet_p99_ms=X \
#   slot_p50_s=X slot_p99_s=X quiet_p50_s=X talker_p50_s=X deaf_p50_s=X
#
# greet: a polite client's connect to its greeting, less WAIT (the time
# it waited in the listen queue for a slot, and the server's delay).
# slot: a refused bot's tcpserver slot time, from tcpserver's log lines
# "pid N" (the fork) and "end N" (the reap), stamped as they come.

import selectors, socket, subprocess, sys, threading, time

rate, secs, polite_rate, wait = (float(a) for a in sys.argv[1:5])
cmd = sys.argv[sys.argv.index('--') + 1:]

srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
port = int(srv.stdout.readline())
start = {}      # pid: fork time
life = {}       # pid: slot seconds
pidport = {}    # client port: pid
lock = threading.Lock()


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
                pidport[int(w[4].rsplit(b':', 1)[1])] = w[2]
            elif w[1] == b'end' and w[2] in start:
                life[w[2]] = t - start[w[2]]


threading.Thread(target=stamp, daemon=True).start()
sel = selectors.DefaultSelector()
conns = []      # every connection: dict


def dial(kind):
    s = socket.socket()
    s.setblocking(False)
    c = {'s': s, 'kind': kind, 't0': time.monotonic(), 'greet': None,
         'next': 0.0, 'open': True, 'sent': False}
    try:
        s.connect(('127.0.0.1', port))
    except BlockingIOError:
        pass
    c['port'] = s.getsockname()[1]
    conns.append(c)
    sel.register(s, selectors.EVENT_WRITE, c)


def close(c):
    if c['open']:
        sel.unregister(c['s'])
        c['s'].close()
        c['open'] = False


def ready(c, ev):
    s = c['s']
    if ev & selectors.EVENT_WRITE and not c['sent']:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            close(c)
            return
        c['sent'] = True
        c['tc'] = time.monotonic()
        if c['kind'] != 'polite':
            try:
                s.send(b'EHLO bot.invalid\r\n')
            except OSError:
                close(c)
                return
            c['next'] = time.monotonic() + 0.1
        if c['kind'] == 'deaf':     # held open, never read
            sel.unregister(s)
            c['open'] = 'deaf'
            return
        sel.modify(s, selectors.EVENT_READ, c)
        return
    if ev & selectors.EVENT_READ:
        try:
            d = s.recv(65536)
        except OSError:
            d = b''
        if not d:
            close(c)
            return
        if c['kind'] == 'polite' and c['greet'] is None:
            c['buf'] = c.get('buf', b'') + d
            if b'\n' in c['buf']:
                c['greet'] = time.monotonic() - c['tc']
                try:
                    s.send(b'QUIT\r\n')
                except OSError:
                    close(c)


t0 = time.monotonic()
nbot = npolite = 0
kinds = ('quiet', 'talker', 'deaf')
end = t0 + secs
while True:
    now = time.monotonic()
    if now < end:
        while nbot < rate * (now - t0):
            dial(kinds[nbot % 3])
            nbot += 1
        while npolite < polite_rate * (now - t0):
            dial('polite')
            npolite += 1
    for c in conns:
        if c['kind'] == 'talker' and c['open'] is True and c['sent'] and \
                now >= c['next']:
            c['next'] = now + 0.1
            try:
                c['s'].send(b'NOOP\r\n')
            except OSError:
                close(c)
    live = [c for c in conns if c['open'] is True]
    if now >= end and not live:
        break
    if now >= end + 60:
        break
    for key, ev in sel.select(0.02):
        ready(key.data, ev)
    if now >= end and all(c['kind'] == 'deaf' or c['open'] is not True
                          for c in conns):
        if now >= end + 1:
            break
# the deaf bots close now; every session gets time to end
for c in conns:
    if c['open'] == 'deaf':
        c['s'].close()
        c['open'] = False
    elif c['open']:
        close(c)
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    with lock:
        if len(life) >= len(start) and len(start) >= nbot + npolite:
            break
    time.sleep(0.05)
srv.terminate()
srv.wait()


def pct(v, p):
    if not v:
        return '-'
    v = sorted(v)
    return '%.3f' % v[min(len(v) - 1, max(0, int(len(v) * p / 100.0 +
                                                 0.999) - 1))]


pol = [c for c in conns if c['kind'] == 'polite']
greet = [(c['greet'] - wait) * 1000 for c in pol if c['greet'] is not None]
slots = {'quiet': [], 'talker': [], 'deaf': []}
with lock:
    for c in conns:
        pid = pidport.get(c['port'])
        if c['kind'] in slots and pid in life:
            slots[c['kind']].append(life[pid])
allbots = slots['quiet'] + slots['talker'] + slots['deaf']
print('polite=%d greeted=%d greet_p50_ms=%s greet_p99_ms=%s bots=%d '
      'measured=%d slot_p50_s=%s slot_p99_s=%s quiet_p50_s=%s '
      'talker_p50_s=%s deaf_p50_s=%s' % (
          len(pol), len(greet), pct(greet, 50), pct(greet, 99), nbot,
          len(allbots), pct(allbots, 50), pct(allbots, 99),
          pct(slots['quiet'], 50), pct(slots['talker'], 50),
          pct(slots['deaf'], 50)))
