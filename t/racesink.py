#!/usr/bin/python3
# t/racesink.py DIR: a next program for the wake-up race: answers DATA
# with 354 only once the client has sent its message (the file DIR/sent),
# then notes it (the file DIR/354); every byte it reads in DIR/raw, the
# message in DIR/body
import os, sys, time
d = sys.argv[1]
buf = b''
raw = open(d + '/raw', 'wb', buffering=0)
def line():
    global buf
    while b'\n' not in buf:
        b = os.read(0, 65536)
        if not b:
            sys.exit(0)
        raw.write(b)
        buf += b
    i = buf.index(b'\n') + 1
    l, buf = buf[:i], buf[i:]
    return l
os.write(1, b'220 sink ESMTP\r\n')
while True:
    v = line()[:4].upper()
    if v == b'EHLO':
        os.write(1, b'250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n')
    elif v == b'DATA':
        for i in range(3000):
            if os.path.exists(d + '/sent'):
                break
            time.sleep(0.01)
        os.write(1, b'354 go ahead\r\n')
        open(d + '/354', 'w').close()
        body = b''
        while True:
            l = line()
            if l == b'.\r\n':
                break
            body += l
        with open(d + '/body', 'wb') as f:
            f.write(body)
        os.write(1, b'250 2.0.0 queued\r\n')
    elif v == b'QUIT':
        os.write(1, b'221 2.0.0 bye\r\n')
        sys.exit(0)
    else:
        os.write(1, b'250 2.0.0 ok\r\n')
