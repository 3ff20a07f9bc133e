#!/usr/bin/python3
"""delay.py SECONDS CMD [ARG ...]: CMD as a next program, SECONDS away.

Runs CMD with its fd 0 and fd 1 on a socketpair, and carries the bytes
each way SECONDS after they came, in order: what reaches delay.py's fd 0
goes to CMD, what CMD writes goes to delay.py's fd 1.  An end of file is
carried as late as the bytes before it, as a half-close (shutdown of the
writing side), so that each side sees the other's end when it would over
a link with that latency.  Exits with CMD's status once CMD has ended and
all it wrote has gone on (111 if delay.py itself fails).
"""

import os
import select
import signal
import socket
import subprocess
import sys
import time


def shut(fd):
    try:
        socket.socket(fileno=os.dup(fd)).shutdown(socket.SHUT_WR)
    except OSError:
        os.close(fd)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write('usage: delay.py SECONDS CMD [ARG ...]\n')
        return 100
    delay = float(argv[1])
    mine, theirs = socket.socketpair()
    child = subprocess.Popen(argv[2:], stdin=theirs, stdout=theirs)
    theirs.close()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ours = mine.fileno()
    # each way: (source fd, destination fd, queue of (due, bytes or
    # None for the end), open for reading, ended)
    ways = [[0, ours, [], True, False], [ours, 1, [], True, False]]
    while not ways[1][4]:
        now = time.monotonic()
        for w in ways:
            while w[2] and w[2][0][0] <= now and not w[4]:
                _, b = w[2].pop(0)
                if b is None:
                    if w[1] == ours:
                        mine.shutdown(socket.SHUT_WR)
                    else:
                        shut(w[1])
                    w[4] = True
                    break
                try:
                    view = memoryview(b)
                    while view:
                        view = view[os.write(w[1], view):]
                except (BrokenPipeError, ConnectionResetError):
                    w[2].clear()
                    w[3] = False
                    w[4] = True
        rd = [w[0] for w in ways if w[3]]
        due = [w[2][0][0] for w in ways if w[2] and not w[4]]
        timeout = max(0.0, min(due) - time.monotonic()) if due else None
        if not rd and timeout is None:
            break
        r, _, _ = select.select(rd, [], [], timeout)
        for w in ways:
            if w[0] in r:
                try:
                    b = os.read(w[0], 65536)
                except (ConnectionResetError, OSError):
                    b = b''
                w[2].append((time.monotonic() + delay, b or None))
                if not b:
                    w[3] = False
    code = child.wait()
    return code if code >= 0 else 111


if __name__ == '__main__':
    sys.exit(main(sys.argv))
