#!/usr/bin/python3
# t/tunnel.py: two TUN devices joined with a delay, for the tests of
# earlytalker with a far client (testFar* in t/refusal.sh).
#
#   tunnel.py DELAY_MS LIFE_S NAME_A NAME_B
#
# Makes the TUN devices NAME_A and NAME_B (IFF_TUN | IFF_NO_PI: each read
# is one IP packet, each write injects one) in the network namespace it
# runs in, prints "ready", then carries every packet read from one device
# to the other DELAY_MS milliseconds later, both ways, in order.  The
# test moves each device into a namespace of its own and gives it an
# address: the two namespaces then talk through this program only, with
# DELAY_MS each way in the kernel's view (TCP_INFO measures it).  It
# stops on SIGTERM or after LIFE_S seconds, and the devices go with it.
# Standard library only.

import fcntl, heapq, os, select, signal, struct, sys, time

TUNSETIFF = 0x400454ca
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF,
                struct.pack('16sH22x', name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main():
    delay = float(sys.argv[1]) / 1000
    end = time.monotonic() + float(sys.argv[2])
    a, b = tun(sys.argv[3]), tun(sys.argv[4])
    other = {a: b, b: a}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print('ready', flush=True)
    due = []        # (time, seq, fd to write, packet): a FIFO by time
    seq = 0
    while time.monotonic() < end:
        now = time.monotonic()
        while due and due[0][0] <= now:
            _, _, fd, pkt = heapq.heappop(due)
            try:
                os.write(fd, pkt)
            except OSError:     # a device not up yet: the packet is lost
                pass
        wait = min(due[0][0] - now if due else 1.0, end - now)
        r, _, _ = select.select([a, b], [], [], max(0.0, wait))
        for fd in r:
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                seq += 1
                heapq.heappush(due, (time.monotonic() + delay, seq,
                                     other[fd], pkt))


main()
