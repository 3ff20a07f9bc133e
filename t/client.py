#!/usr/bin/python3
# t/client.py HOST PORT OP ...: the suite's client (see client in t/lib.sh):
# connects (from $CLIENT_SOURCE if set), runs the ops in order and
# writes what it receives to stdout, the times to $CLIENT_TIMES
import codecs, os, select, socket, sys, time
host, port, ops = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
fam = socket.AF_INET6 if ':' in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
if os.environ.get('CLIENT_SOURCE'):
    s.bind((os.environ['CLIENT_SOURCE'], 0))
t0 = time.monotonic()
s.connect((host, port))
tc = time.monotonic()
times = open(os.environ.get('CLIENT_TIMES', os.devnull), 'a')
out = sys.stdout.buffer
got = b''
def mark(what, t=None):
    times.write('%s %.3f\n' % (what, (t or time.monotonic()) - t0))
    times.flush()
mark('connect', tc)
def esc(a):
    return codecs.escape_decode(a.encode())[0]
def recv(deadline):
    global got
    r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
    if not r:
        mark('timeout')
        sys.exit(2)
    try:
        d = s.recv(65536)
    except ConnectionResetError:
        mark('reset')
        return None
    if d and not got:
        mark('first')
    got += d
    out.write(d)
    out.flush()
    return d
for op in ops:
    name, _, arg = op.partition(':')
    deadline = time.monotonic() + 30
    if name == 'send':
        s.sendall(esc(arg))
    elif name == 'bulk':
        n, _, a = arg.partition(':')
        s.sendall(esc(a) * int(n))
    elif name == 'file':
        with open(arg, 'rb') as f:
            s.sendall(f.read())
    elif name == 'sleep':
        time.sleep(float(arg))
    elif name == 'shut':
        s.shutdown(socket.SHUT_WR)
    elif name == 'rst':
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\1\0\0\0\0\0\0\0')
        s.close()
        sys.exit(0)
    elif name == 'until':
        want = esc(arg)
        while want not in got:
            if not recv(deadline):
                mark('eof')
                sys.exit(3)
        mark('until')
    elif name == 'untiln':
        n, _, a = arg.partition(':')
        want = esc(a)
        while got.count(want) < int(n):
            if not recv(deadline):
                mark('eof')
                sys.exit(3)
        mark('until')
    elif name == 'read':
        while recv(deadline):
            pass
        mark('eof')
