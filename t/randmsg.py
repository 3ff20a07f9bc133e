#!/usr/bin/python3
# t/randmsg.py KIND MSG [STUFFED]: a message, the same every run, in MSG,
# and dot-stuffed in STUFFED when given.  KIND 8bit: 1 MiB, every byte
# value, CR and LF only as CR LF, lines under 1000 bytes, many of them
# starting with a dot.  KIND real: 64 KiB, lines ending in LF: 8-bit
# text, lines of dots, command lines, a dot alone
import random
import sys

kind, msg = sys.argv[1], sys.argv[2]
if kind == '8bit':
    r = random.Random(10)
    vals = bytes(b for b in range(256) if b not in b'\r\n')
    size, longest, eol = 1 << 20, 998, b'\r\n'
    def special():
        return vals
else:
    r = random.Random(17)
    vals = bytes(b for b in range(32, 256) if b != 127)
    size, longest, eol = 1 << 16, 900, b'\n'
    def special():
        return r.choice([b'DATA', b'.', b'QUIT', b'MAIL FROM:<x@y>'])
out = bytearray(b'Subject: ' + kind.encode() + eol + eol)
while len(out) < size:
    k = r.randrange(6)
    if k == 0:
        line = b'.' * r.randrange(1, 4) + bytes(
            r.choice(vals) for _ in range(r.randrange(0, 40)))
    elif k == 1:
        line = special()
    else:
        line = bytes(r.choice(vals) for _ in range(r.randrange(0, longest)))
    out += line + eol
with open(msg, 'wb') as f:
    f.write(out)
if len(sys.argv) > 3:
    with open(sys.argv[3], 'wb') as f:
        f.write(out.replace(b'\r\n.', b'\r\n..'))
