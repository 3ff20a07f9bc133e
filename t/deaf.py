#!/usr/bin/python3
# t/deaf.py PORT T0FILE: a client that reads nothing (a 4 KiB receive
# buffer): writes the time just before it connects to T0FILE, sends 100
# HELP, DATA and a byte of the message in one write, then sleeps 30 s
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
t0 = time.time()
s.connect(('127.0.0.1', int(sys.argv[1])))
with open(sys.argv[2], 'w') as f:
    f.write('%.3f\n' % t0)
s.sendall(b'HELP\r\n' * 100 + b'DATA\r\nX')
time.sleep(30)
