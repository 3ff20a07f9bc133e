#!/usr/bin/python3
# t/bigreply.py KIB: a next program whose reply to HELP is KIB KiB long
# (214 lines); 250 to every other command, 221 to QUIT
import sys
kib = int(sys.argv[1])
out = sys.stdout.buffer
out.write(b'220 big ESMTP\r\n')
out.flush()
line = b'214-' + b'h' * 1018 + b'\r\n'
for l in sys.stdin.buffer:
    v = l.split()[0].upper() if l.split() else b''
    if v == b'HELP':
        out.write(line * kib + b'214 end of help\r\n')
    elif v == b'QUIT':
        out.write(b'221 bye\r\n')
        out.flush()
        sys.exit(0)
    else:
        out.write(b'250 ok\r\n')
    out.flush()
