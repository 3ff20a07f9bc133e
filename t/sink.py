#!/usr/bin/python3
# t/sink.py DIR: a recording SMTP server, a next program for the relay:
# greets, answers every command, and writes every byte it reads to
# DIR/raw.PID, each message to DIR/body.PID.N and its pid to DIR/pids.
# SINK_EXT adds EHLO keywords (CHUNKING, STARTTLS); after its 220 to
# STARTTLS it records blind until EOF; SINK_QUIT_EXIT is its exit code
# after QUIT.
import os, sys
from smtpin import Input
d = sys.argv[1]
ext = os.environ.get('SINK_EXT', '').split()
pid = os.getpid()
raw = open('%s/raw.%d' % (d, pid), 'wb', buffering=0)
with open(d + '/pids', 'a') as f:
    f.write('%d\n' % pid)
inp = Input(raw, resets=True)
buf, more = inp.buf, inp.more
def out(b):
    os.write(1, b)
def keep(n, b):
    with open('%s/body.%d.%d' % (d, pid, n), 'wb') as f:
        f.write(b)
out(b'220 sink ESMTP\r\n')
n = 0
for w, v in inp.commands():
    if v == b'EHLO':
        out(b'250-sink\r\n250-PIPELINING\r\n' + b''.join(b'250-%s\r\n' %
            e.encode() for e in ext) + b'250 8BITMIME\r\n')
    elif v == b'MAIL':
        out(b'250 2.1.0 sender ok\r\n')
    elif v == b'RCPT':
        out(b'250 2.1.5 recipient ok\r\n')
    elif v == b'DATA':
        out(b'354 go ahead\r\n')
        k = 0
        while True:
            if buf.startswith(b'.\r\n'):
                i = 0
                break
            i = buf.find(b'\r\n.\r\n', k)
            if i != -1:
                i += 2
                break
            k = max(0, len(buf) - 4)
            if not more():
                sys.exit(1)
        n += 1
        keep(n, buf[:i])
        del buf[:i + 3]
        out(b'250 2.0.0 queued as %d\r\n' % n)
    elif v == b'BDAT':
        size = int(w[1])
        while len(buf) < size:
            if not more():
                sys.exit(1)
        n += 1
        keep(n, buf[:size])
        del buf[:size]
        out(b'250 2.0.0 %d octets\r\n' % size)
    elif v == b'STARTTLS':
        out(b'220 2.0.0 ready to start TLS\r\n')
        while more():
            pass
        sys.exit(0)
    elif v == b'QUIT':
        out(b'221 2.0.0 bye\r\n')
        sys.exit(int(os.environ.get('SINK_QUIT_EXIT', '0')))
    else:
        out(b'250 2.0.0 ok\r\n')
