#!/usr/bin/python3
"""fuzz_servers.py: the relay in front of real SMTP servers, differential.

    fuzz_servers.py [--time S] [--streams N] [--servers A,B,...] [--jobs J]
                    [--seed N] [--findings DIR] [--corpus DIR] WORKDIR

--time: seconds of generated streams, after the fixed cases (which
always run whole); --streams: at most so many generated streams (0: no
bound but the time); --jobs: sessions at once.

Each stream (the fixed cases in --corpus, fuzz/servers/*.json, first;
then the relay fuzzer's clients, fuzz/streams, from --seed on) is played
against each server twice: directly (tcpserver SERVER) and through the
relay (tcpserver earlytalker-wrap ARGS SERVER, ARGS rotating over -D 0,
-D 0.3, -S, -D 0.3 -S, and -D 1 and -D 1 -S with the server 150 ms
away through t/delay.py), as its client kind says: polite (waits for
every reply), pipelining (waits where RFC 2920 says), a bot (never
waits, writes in random pieces).  The servers are t/servers.sh's rigs,
set up in WORKDIR: two of each, one for the direct runs and one for the
relay's.  When each reply arrived is the kernel's receive time of its
last segment (SO_TIMESTAMPNS); when each byte was written, the time
just before its write.  Checked on the wire, for each message that the
server kept through the relay (found by the token that starts it):

  (a) its body was written after a 354 that arrived after its DATA line
      was written (or: the client could have seen that 354);
  (b) under -S, when the server reads the stream as the client means it
      (see in_step): no command that the client must wait for (RFC 2920:
      all but MAIL, RCPT, RSET, BDAT) came before it without a reply
      between its write and the next byte's;
  (d) after a 421 of the server's (it closes), the client gets no
      other reply;
  (c) and for each polite stream (not a bot, and in step with the server
      when played directly: as many replies as commands, a 354 to each
      DATA line that the client follows with a message, no message kept
      that the client did not mean as one): through the
      relay it is never refused, gets the same reply codes, and the
      server keeps the same messages, byte for byte (t/mailq.py's
      normalized form), as directly.

A violation is saved under --findings (the stream, both transcripts, the
messages kept, the relay's log lines) and said in one line; the run ends
with "fuzz-servers: N streams, M sessions, servers: ..., violations: K"
and a line for each server; it exits 1 when it found a violation, 0 when
not, 111 when it could not run.  Needs tcpserver, the built
earlytalker-wrap and fuzz/streams, and root for Postfix, Exim and
qpsmtpd (their private queues).
"""

import argparse
import glob
import json
import os
import random
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailq  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EW = os.path.join(TOP, 'earlytalker-wrap')
STREAMS = os.path.join(TOP, 'fuzz', 'streams')
ALL = ['qsmtpd', 'postfix', 'exim', 'qpsmtpd', 'mfront']
# the relay's arguments; "@S": the server S seconds away (t/delay.py)
CONFIGS = [['-D', '0'], ['-D', '0.3'], ['-S'], ['-D', '0.3', '-S'],
           ['-D', '1', '@0.15'], ['-D', '1', '-S', '@0.15']]
WAIT = 6.0          # s a client waits for a reply (the relay may hold 5 s)
WAIT_DIRECT = 2.0   # s without the relay
TAIL = 6.0          # s it waits for the end after its last byte
SLACK = 0.001       # s: a reply this close after a write may be seen
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
SYNC_FREE = (b'MAIL', b'RCPT', b'RSET', b'BDAT')
RELAY_REPLY = re.compile(rb'^(554 5\.5\.1 Client sent data before |'
                         rb'421 4\.5\.[01] )')


def die(msg):
    sys.stderr.write('fuzz-servers: %s\n' % msg)
    sys.exit(111)


# --- the servers ---

class Server:
    """A tcpserver on 127.0.0.1 running CMD; its port and log."""

    def __init__(self, name, cmd, log):
        self.log = log
        self.proc = subprocess.Popen(
            ['tcpserver', '-v', '-1', '-HR', '-l', 'localhost', '-c', '200',
             '127.0.0.1', '0'] + cmd,
            stdout=subprocess.PIPE, stderr=open(log, 'ab'))
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            die('tcpserver for %s did not start: %s' % (name, line))
        self.port = int(line)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Rig:
    """A server of t/servers.sh, set up in DIR."""

    def __init__(self, kind, d, work):
        self.kind = kind
        self.dir = d
        self.lock = threading.Lock()
        env = dict(os.environ, T=work, top=TOP, PY=sys.executable)
        r = subprocess.run(
            ['sh', '-c', '. "$top/t/servers.sh" && rig "$1" "$2"', 'sh',
             kind, d], env=env, capture_output=True)
        self.ok = r.returncode == 0
        self.why = (r.stdout + r.stderr).decode(errors='replace').strip()
        if self.ok:
            with open(os.path.join(d, 'version')) as f:
                self.version = f.read().strip()
            with open(os.path.join(d, 'ext')) as f:
                self.ext = f.read().split()

    def take(self, tag):
        """The messages of the stream TAG (its senders TAG, TAG.s),
        removed from the queue: [(sender, recipients, message)]."""
        out = []
        with self.lock:
            for files, frm, to, m in mailq.entries(
                    self.kind, os.path.join(self.dir, 'q')):
                local = frm.split(b'@')[0]
                if local not in (tag.encode(), tag.encode() + b'.s'):
                    continue
                out.append((frm, to, m))
                for f in files:
                    try:
                        os.unlink(f)
                    except FileNotFoundError:
                        pass
        return out


# --- the streams ---

def from_generator(seed, count, pl, ch):
    r = subprocess.run([STREAMS, str(seed), str(count), str(pl), str(ch)],
                       capture_output=True, check=True)
    out = []
    for line in r.stdout.decode().splitlines():
        s = json.loads(line)
        s['bytes'] = bytes.fromhex(s.pop('stream'))
        s['tag'] = 's%d' % s['seed']
        s['name'] = 'seed %d' % s['seed']
        out.append(s)
    return out


def from_corpus(path, tag):
    """A fixed case: {"kind", "parts": [[op, text], ...]}, kind polite
    or pipelining (checked as polite when in step), or early (never
    polite); ops: cmd (one command, one reply), raw (bytes with no reply
    of their own), msg (a message's first bytes: its token is put in
    front), smuggled (the same, for a message inside another's body),
    end (bytes that end a message: one reply), bdat (BDAT n LAST and a
    chunk of n bytes, its token and the text: one reply; with a third
    item, smuggled), rep (text, count: the text so many times, no
    reply), wait (for every reply owed), sleep (seconds).  TAG is put
    where a text says {tag}."""
    with open(path) as f:
        c = json.load(f)
    s = {'name': os.path.basename(path)[:-5], 'kind': c['kind'],
         'tag': tag, 'waits': [], 'cends': [], 'msgs': [], 'sleeps': [],
         'pipelining': 1, 'chunking': 1, 'seed': None}
    b = b''
    n = 0
    for part in c['parts']:
        op = part[0]
        text = part[1].replace('{tag}', tag).encode('latin-1') \
            if len(part) > 1 and isinstance(part[1], str) else b''
        if op in ('msg', 'smuggled', 'bdat'):
            n += 1
            tok = '%s.%d' % (tag, n)
            chunk = b'X-Token: ' + tok.encode() + b'\r\n' + text
            if op == 'bdat':
                b += b'BDAT %d LAST\r\n' % len(chunk)
            s['msgs'].append({'start': len(b), 'bdat': int(op == 'bdat'),
                              'smuggled': int(op == 'smuggled' or
                                              len(part) > 2),
                              'token': tok})
            b += chunk
            if op == 'bdat' and len(part) == 2:
                s['cends'].append(len(b))
        elif op == 'rep':
            b += text * int(part[2])
        elif op == 'cmd' or op == 'end':
            b += text
            s['cends'].append(len(b))
        elif op == 'raw':
            b += text
        elif op == 'wait':
            s['waits'].append([len(b), len(s['cends']) + 1])
        elif op == 'sleep':
            s['sleeps'].append([len(b), float(part[1])])
        else:
            die('%s: no op %s' % (path, op))
    s['bytes'] = b
    return s


def actions(s, rnd):
    """What the client does: [('send', from, to) | ('wait', replies) |
    ('sleep', s)]."""
    b = s['bytes']
    if s['kind'] == 'bot' and not s.get('sleeps') and s['seed'] is not None:
        out, i = [], 0
        while i < len(b):
            k = len(b) - i if rnd.random() < 0.3 else rnd.randint(1, 200)
            out.append(('send', i, min(len(b), i + k)))
            i += k
            if rnd.random() < 0.5:
                out.append(('sleep', rnd.random() * 0.02))
        return out
    points = sorted(set([w[0] for w in s['waits']] +
                        [x[0] for x in s.get('sleeps', [])] + [len(b)]))
    waits = {}
    for at, n in s['waits'] if s['kind'] != 'bot' else []:
        waits[at] = max(waits.get(at, 0), n)
    sleeps = dict((at, t) for at, t in s.get('sleeps', []))
    out, i = [], 0
    for p in points:
        if p > i:
            out.append(('send', i, p))
            i = p
        if p in waits:
            out.append(('wait', waits[p]))
        if p in sleeps:
            out.append(('sleep', sleeps[p]))
    return out


# --- a session ---

def stamp(anc):
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack('qq', data[:16])
            return sec + nsec / 1e9
    return time.time()


class Session:
    """One client's session: its writes, the replies, when."""

    def __init__(self, port, s, acts, wait=WAIT):
        self.wait = wait
        self.writes = []        # (from, to, time before the write)
        self.replies = []       # (code, text, arrival)
        self.got = b''
        self.stalled = False
        self.eof = False
        self.line = b''
        self.first = []         # lines of a reply so far
        sock = socket.create_connection(('127.0.0.1', port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock = sock
        try:
            self.play(s['bytes'], acts)
        finally:
            sock.close()

    def feed(self, d, t):
        self.got += d
        self.line += d
        while b'\n' in self.line:
            i = self.line.index(b'\n') + 1
            l, self.line = self.line[:i], self.line[i:]
            self.first.append(l)
            if len(l) >= 4 and l[3:4] == b'-':
                continue
            text = b''.join(self.first)
            self.first = []
            self.replies.append((l[:3], text, t))

    def recv(self, timeout):
        """Read what has come, waiting at most TIMEOUT; False at EOF."""
        if self.eof:
            return False
        r, _, _ = select.select([self.sock], [], [], max(0, timeout))
        if not r:
            return True
        try:
            d, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        except (ConnectionResetError, OSError):
            d, anc = b'', []
        if not d:
            self.eof = True
            return False
        self.feed(d, stamp(anc))
        return True

    def play(self, b, acts):
        for a in acts:
            if a[0] == 'send':
                t = time.time()
                try:
                    self.sock.sendall(b[a[1]:a[2]])
                except OSError:
                    break
                self.writes.append((a[1], a[2], t))
            elif a[0] == 'wait':
                end = time.monotonic() + self.wait
                while len(self.replies) < a[1]:
                    left = end - time.monotonic()
                    if left <= 0:
                        self.stalled = True
                        break
                    if not self.recv(left):
                        break
            elif a[0] == 'sleep':
                end = time.monotonic() + a[1]
                while time.monotonic() < end and self.recv(
                        end - time.monotonic()):
                    pass
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        end = time.monotonic() + TAIL
        while time.monotonic() < end and self.recv(end - time.monotonic()):
            pass
        if not self.eof:
            self.stalled = True

    def written(self, off):
        """When byte OFF was written (None: never)."""
        for a, z, t in self.writes:
            if a <= off < z:
                return t
        return None

    def transcript(self):
        out = []
        for a, z, t in self.writes:
            out.append('%.6f > %d..%d\n' % (t, a, z))
        for code, text, t in self.replies:
            out.append('%.6f < %r\n' % (t, text))
        return ''.join(out)


# --- the checks ---

def commands(s):
    """(start, end, text) of each of the client's commands, message
    bodies and chunks included."""
    out, prev = [], 0
    for e in s['cends']:
        out.append((prev, e, s['bytes'][prev:e]))
        prev = e
    return out


def tokens(s, deliv):
    """The token of each message kept, None where it has none of s."""
    msgs = set(m['token'] for m in s['msgs'])
    out = []
    for frm, to, m in deliv:
        r = re.match(rb'X-Token: ([^\r\n]*)\r?\n', m)
        t = r.group(1).decode('latin-1') if r else None
        out.append(t if t in msgs else None)
    return out


def in_step(s, direct, ddeliv):
    """Did the server, played to directly, read the stream as its client
    meant it: one reply a command, the last a 221 to its QUIT, a 354 to
    each DATA line that the client follows with a message, no message
    kept that the client did not mean as one (smuggled, or not starting
    at a message)?"""
    if direct.stalled or len(direct.replies) != len(s['cends']) + 1:
        return False
    # and the last reply the one to its QUIT (as many replies may come
    # by chance from a server that closes on errors: Exim's "Too many
    # syntax or protocol errors", Postfix's "I can break rules, too")
    if not s['bytes'].endswith(b'QUIT\r\n') or \
            direct.replies[-1][0] != b'221' or b'Error' in direct.replies[-1][1]:
        return False
    for m in s['msgs']:
        if not m['bdat'] and not m['smuggled'] and m['start'] in s['cends']:
            if direct.replies[s['cends'].index(m['start']) + 1][0] != b'354':
                return False
    smuggled = set(m['token'] for m in s['msgs'] if m['smuggled'])
    return all(t is not None and t not in smuggled
               for t in tokens(s, ddeliv))


def check(s, srv, config, direct, relay, ddeliv, rdeliv):
    """The violations: [one-line reason]; and whether s is polite."""
    bad = []
    msgs = dict((m['token'], m) for m in s['msgs'])
    bodies = set(m['start'] for m in s['msgs'] if not m['smuggled'])
    toks = tokens(s, rdeliv)
    step = in_step(s, direct, ddeliv)
    # (a) each DATA message kept: a 354 came between its DATA line's
    # write and its body's
    for tok in toks:
        if tok is None:
            continue
        m = msgs[tok]
        if m['bdat']:
            if m['smuggled']:
                bad.append('(a) chunk %s kept: a BDAT smuggled in another '
                           'chunk' % tok)
            continue
        tb = relay.written(m['start'])
        td = relay.written(m['start'] - 1)
        if tb is None or td is None:
            continue
        if not any(c == b'354' and td <= t <= tb + SLACK
                   for c, _, t in relay.replies):
            bad.append('(a) message %s%s kept: its body was written before '
                       'any 354 after its DATA' %
                       (tok, ' (smuggled)' if m['smuggled'] else ''))
    # (b) under -S, a stream that the server reads as the client means
    # it: every message kept came after the client waited at each sync
    # point before it
    if '-S' in config and step:
        first = None
        for a, z, text in commands(s):
            if a in bodies or z >= len(s['bytes']):
                continue
            verb = text.split(b' ')[0].split(b'\r')[0].upper()
            if verb in SYNC_FREE:
                continue
            tc = relay.written(z - 1)
            tn = relay.written(z)
            if tc is None or tn is None:
                continue
            if not any(tc <= t <= tn + SLACK for _, _, t in relay.replies):
                first = (z, text)
                break
        if first is not None:
            for tok in toks:
                if tok is not None and msgs[tok]['start'] > first[0]:
                    bad.append('(b) under -S, message %s kept: the client '
                               'did not wait after %r' % (tok, first[1][:40]))
    # (d) after the server's 421 (it closes), no reply: the relay adds
    # none of its own
    for i, (c, t, _) in enumerate(relay.replies[:-1]):
        if c == b'421' and not RELAY_REPLY.match(t):
            bad.append('(d) a reply after the server\'s 421: %r' %
                       relay.replies[i + 1][1].strip())
            break
    # (c) a polite stream: as directly
    polite = s['kind'] in ('polite', 'pipelining') and step and \
        not s.get('rude')
    if polite:
        refused = [t for _, t, _ in relay.replies if RELAY_REPLY.match(t)]
        if refused:
            bad.append('(c) a polite stream was refused: %r' %
                       refused[0].strip())
        dc = [c for c, _, _ in direct.replies]
        rc = [c for c, _, _ in relay.replies]
        if not refused and dc != rc:
            bad.append('(c) a polite stream got other replies: %s, '
                       'directly %s' % (b' '.join(rc).decode(),
                                        b' '.join(dc).decode()))
        if sorted(ddeliv) != sorted(rdeliv):
            bad.append('(c) a polite stream: %d messages kept, directly %d%s'
                       % (len(rdeliv), len(ddeliv),
                          '' if len(rdeliv) != len(ddeliv) else
                          ', not the same bytes'))
    return bad, polite


# --- the run ---

def relay_args(c):
    out = [x for x in c if not x.startswith('@')]
    for x in c:
        if x.startswith('@'):
            out += [sys.executable, os.path.join(TOP, 't', 'delay.py'),
                    x[1:]]
    return out


class Run:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.lock = threading.Lock()
        self.sessions = 0
        self.streams = 0
        self.violations = []
        self.per = {}
        self.kinds = {}
        self.findings = args.findings

    def note(self, srv, key, k=1):
        with self.lock:
            d = self.per.setdefault(srv, {})
            d[key] = d.get(key, 0) + k

    def one(self, srv, s, k):
        rnd = random.Random('%s/%s' % (s['tag'], srv))
        config = CONFIGS[k % len(CONFIGS)]
        acts = actions(s, rnd)
        t0 = time.monotonic()
        try:
            direct = Session(self.direct[srv].port, s, acts, WAIT_DIRECT)
            relay = Session(self.relays[srv][k % len(CONFIGS)].port, s,
                            acts)
        except OSError as e:
            self.note(srv, 'errors')
            sys.stderr.write('fuzz-servers: %s %s: %s\n' %
                             (srv, s['name'], e))
            return
        ddeliv = self.rigs[srv][0].take(s['tag'])
        rdeliv = self.rigs[srv][1].take(s['tag'])
        bad, polite = check(s, srv, config, direct, relay, ddeliv, rdeliv)
        self.note(srv, 'sessions', 2)
        self.note(srv, 'streams')
        self.note(srv, 'seconds', time.monotonic() - t0)
        self.note(srv, 'polite', int(polite))
        self.note(srv, 'kept', len(rdeliv))
        self.note(srv, 'refused', int(any(
            RELAY_REPLY.match(t) for _, t, _ in relay.replies)))
        with self.lock:
            self.sessions += 2
        for why in bad:
            self.found(srv, s, config, why, direct, relay, ddeliv, rdeliv)

    def found(self, srv, s, config, why, direct, relay, ddeliv, rdeliv):
        kind = re.sub(r'[0-9a-z]+\.[0-9]+', 'TOKEN', why)
        kind = re.sub(r"'.*'|\".*\"", '...', kind)
        with self.lock:
            self.violations.append((srv, s['name'], config, why))
            first = (srv, kind) not in self.kinds
            self.kinds[(srv, kind)] = self.kinds.get((srv, kind), 0) + 1
            n = len(self.violations)
        self.note(srv, 'violations')
        line = 'fuzz-servers: violation: %s, %s, %s (%s): %s' % (
            srv, s['name'], ' '.join(config), s['kind'], why)
        if first or self.args.verbose:
            print(line, flush=True)
        if n > 200:
            return
        d = os.path.join(self.findings, '%s-%s-%d' % (
            srv, re.sub(r'[^A-Za-z0-9.-]', '_', s['name']), n))
        os.makedirs(d, exist_ok=True)
        st = dict((k, v) for k, v in s.items() if k != 'bytes')
        st['stream'] = s['bytes'].hex()
        st['server'] = srv
        st['config'] = config
        st['why'] = why
        with open(os.path.join(d, 'stream.json'), 'w') as f:
            json.dump(st, f)
        with open(os.path.join(d, 'stream.txt'), 'wb') as f:
            f.write(s['bytes'])
        for name, sess in (('direct', direct), ('relay', relay)):
            with open(os.path.join(d, name + '.txt'), 'w') as f:
                f.write(sess.transcript())
            with open(os.path.join(d, name + '.got'), 'wb') as f:
                f.write(sess.got)
        for name, dl in (('direct', ddeliv), ('relay', rdeliv)):
            for i, (frm, to, m) in enumerate(dl):
                with open(os.path.join(d, '%s.kept.%d' % (name, i + 1)),
                          'wb') as f:
                    f.write(m)
        with open(os.path.join(d, 'why'), 'w') as f:
            f.write(line + '\n')

    def start(self):
        a = self.args
        self.rigs = {}
        self.direct = {}
        self.relays = {}
        for srv in a.servers:
            rd = Rig(srv, os.path.join(self.work, 'rig.%s.direct' % srv),
                     self.work)
            rr = Rig(srv, os.path.join(self.work, 'rig.%s.relay' % srv),
                     self.work) if rd.ok else rd
            if not rd.ok or not rr.ok:
                print('fuzz-servers: %s: not run: %s' % (srv, rd.why or
                                                         rr.why))
                continue
            self.rigs[srv] = (rd, rr)
            log = os.path.join(self.work, 'log.%s' % srv)
            # directly, but on a socketpair as behind the relay (Postfix's
            # smtpd -S takes no mail from a network socket)
            self.direct[srv] = Server(srv, [sys.executable, os.path.join(
                TOP, 't', 'delay.py'), '0', rd.dir + '/smtpd'], log)
            self.relays[srv] = [Server(srv, [EW] + relay_args(c) +
                                       [rr.dir + '/smtpd'], log)
                                for c in CONFIGS]
            print('exercised: %s' % rd.version, flush=True)

    def stop(self):
        for srv in self.rigs:
            self.direct[srv].stop()
            for r in self.relays[srv]:
                r.stop()

    def main(self):
        a = self.args
        self.start()
        if not self.rigs:
            die('no server could be set up')
        servers = list(self.rigs)
        corpus = sorted(glob.glob(os.path.join(a.corpus, '*.json')))
        t0 = time.monotonic()
        with ThreadPoolExecutor(a.jobs) as pool:
            futs = []
            for i, path in enumerate(corpus):
                for srv in servers:
                    for j in range(len(CONFIGS)):
                        s = from_corpus(path, 'c%dk%d' % (i, j))
                        futs.append(pool.submit(self.one, srv, s, j))
            for f in futs:
                f.result()
            self.streams += len(corpus)
            # then the generator's, the pool kept full, until the time is
            # up (counted from here): each seed for each server
            deadline = time.monotonic() + a.time
            seed = a.seed
            pending = set()
            while time.monotonic() < deadline and (
                    a.streams == 0 or self.streams < a.streams):
                batch = 20
                for srv in servers:
                    ext = self.rigs[srv][0].ext
                    for s in from_generator(seed, batch,
                                            int('PIPELINING' in ext),
                                            int('CHUNKING' in ext)):
                        while len(pending) >= 2 * a.jobs:
                            done = [f for f in pending if f.done()]
                            if not done:
                                time.sleep(0.01)
                            for f in done:
                                pending.discard(f)
                                f.result()
                        pending.add(pool.submit(self.one, srv, s,
                                                s['seed']))
                seed += batch
                self.streams += batch
            for f in pending:
                f.result()
        elapsed = time.monotonic() - t0
        self.stop()
        kinds = {}
        for (srv, kind), n in self.kinds.items():
            kinds.setdefault(kind, []).append('%s %d' % (srv, n))
        for kind, where in sorted(kinds.items()):
            print('fuzz-servers: kind: %s: %s' % (kind, ', '.join(where)))
        for srv in servers:
            d = self.per.get(srv, {})
            n = d.get('sessions', 0)
            print('fuzz-servers: %s (%s): %d streams, %d sessions, '
                  '%.1f sessions/s, %d polite, %d refused, %d kept through '
                  'the relay, %d violations' % (
                      srv, self.rigs[srv][0].version, d.get('streams', 0), n,
                      n / elapsed if elapsed else 0, d.get('polite', 0),
                      d.get('refused', 0), d.get('kept', 0),
                      d.get('violations', 0)))
        print('fuzz-servers: %d streams, %d sessions, servers: %s, '
              'violations: %d' % (self.streams, self.sessions,
                                  ', '.join(servers), len(self.violations)))
        if self.violations:
            srv, name, config, why = self.violations[0]
            print('fuzz-servers: first: %s, %s, %s: %s (findings in %s)' %
                  (srv, name, ' '.join(config), why, self.findings))
            return 1
        return 0


def main():
    p = argparse.ArgumentParser(description='the relay against real servers')
    p.add_argument('--time', type=float, default=120)
    p.add_argument('--streams', type=int, default=0)
    p.add_argument('--servers', default=','.join(ALL))
    p.add_argument('--jobs', type=int, default=8)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--findings', default='fuzz-servers-findings')
    p.add_argument('--corpus', default=os.path.join(TOP, 'fuzz', 'servers'))
    p.add_argument('--verbose', action='store_true')
    p.add_argument('work')
    a = p.parse_args()
    a.servers = [x for x in a.servers.split(',') if x]
    for x in a.servers:
        if x not in ALL:
            die('no server %s (%s)' % (x, ', '.join(ALL)))
    for f in (EW, STREAMS):
        if not os.access(f, os.X_OK):
            die('missing %s: make it first' % f)
    if shutil.which('tcpserver') is None:
        die('no tcpserver: sh deps test installs it')
    a.findings = os.path.abspath(a.findings)
    shutil.rmtree(a.findings, ignore_errors=True)
    os.makedirs(a.work, exist_ok=True)
    return Run(a, os.path.abspath(a.work)).main()


if __name__ == '__main__':
    sys.exit(main())
