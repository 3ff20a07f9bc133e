#!/usr/bin/python3
# t/mkbody.py SIZE FILE ...: a message of about SIZE bytes in each FILE,
# seeded by its name, dot-stuffed, each line ending in CR LF: base64,
# 8-bit and NUL bytes, lines of dots, long lines, bare LF
import base64, random, sys
size = int(sys.argv[1])
for name in sys.argv[2:]:
    r = random.Random(name)
    out = bytearray(b'Subject: %s\r\n\r\n' % name.encode())
    while len(out) < size:
        k = r.randrange(8)
        if k < 3:
            l = base64.b64encode(r.randbytes(57))
        elif k == 3:
            l = r.randbytes(r.randrange(1, 200)).replace(b'\n', b'')
        elif k == 4:
            l = b'.' * r.randrange(1, 4) + b' dots'
        elif k == 5:
            l = b'\0' * r.randrange(1, 5) + b'NUL \0 inside'
        elif k == 6:
            l = b'x' * r.randrange(1000, 5000)
        else:
            l = b'bare\n.LF\nDATA\n.'
        out += l + b'\r\n'
    out = out.replace(b'\n.', b'\n..')
    with open(name, 'wb') as f:
        f.write(out)
