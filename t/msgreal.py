#!/usr/bin/python3
# t/msgreal.py MSG: a message of 64 KiB in MSG, lines ending in LF:
# 8-bit text, lines of dots, command lines, a dot alone; the same every
# run
import random, sys
r = random.Random(17)
vals = bytes(b for b in range(32, 256) if b != 127)
out = bytearray(b'Subject: real\n\n')
while len(out) < 1 << 16:
    k = r.randrange(6)
    if k == 0:
        l = b'.' * r.randrange(1, 4) + bytes(r.choice(vals) for _ in range(r.randrange(0, 40)))
    elif k == 1:
        l = r.choice([b'DATA', b'.', b'QUIT', b'MAIL FROM:<x@y>'])
    else:
        l = bytes(r.choice(vals) for _ in range(r.randrange(0, 900)))
    out += l + b'\n'
open(sys.argv[1], 'wb').write(out)
