#!/usr/bin/python3
# t/inetd6.py CMD [ARG ...]: an inetd for one connection on ::1: prints
# the port, then runs CMD with the accepted socket on fd 0 and fd 1
import os, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(('::1', 0))
s.listen(5)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
if os.fork() == 0:
    os.dup2(c.fileno(), 0)
    os.dup2(c.fileno(), 1)
    os.execvp(sys.argv[1], sys.argv[1:])
c.close()
os.wait()
