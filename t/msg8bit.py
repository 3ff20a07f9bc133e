#!/usr/bin/python3
# t/msg8bit.py MSG STUFFED: a message of 1 MiB in MSG, and dot-stuffed
# in STUFFED: every byte value, CR and LF only as CR LF, lines under
# 1000 bytes, many of them starting with a dot; the same every run
import random, sys
r = random.Random(10)
vals = bytes(b for b in range(256) if b not in b'\r\n')
out = bytearray(b'Subject: 8bit\r\n\r\n')
while len(out) < 1 << 20:
    k = r.randrange(6)
    if k == 0:
        l = b'.' * r.randrange(1, 4) + bytes(r.choice(vals) for _ in range(r.randrange(0, 40)))
    elif k == 1:
        l = vals
    else:
        l = bytes(r.choice(vals) for _ in range(r.randrange(0, 998)))
    out += l + b'\r\n'
open(sys.argv[1], 'wb').write(out)
open(sys.argv[2], 'wb').write(out.replace(b'\r\n.', b'\r\n..'))
