#!/usr/bin/python3
# t/raceclient.py PORT DIR: the client of the wake-up race: sends its
# message after DATA once the relay is stopped (the file DIR/stopped),
# then notes it (the file DIR/sent); what it received on stdout
import os, socket, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
d = sys.argv[2]
s.settimeout(30)
got = b''
def until(w):
    global got
    while w not in got:
        b = s.recv(65536)
        if not b:
            break
        got += b
until(b'220 sink ESMTP\r\n')
s.sendall(b'EHLO c\r\n')
until(b'8BITMIME\r\n')
s.sendall(b'MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n')
until(b'250 2.0.0 ok\r\n250 2.0.0 ok\r\n')
s.sendall(b'DATA\r\n')
for i in range(3000):
    if os.path.exists(d + '/stopped'):
        break
    time.sleep(0.01)
s.sendall(b'Subject: race\r\n\r\nbody\r\n.\r\nQUIT\r\n')
open(d + '/sent', 'w').close()
until(b'\0')
sys.stdout.buffer.write(got)
