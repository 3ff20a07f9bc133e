#!/usr/bin/python3
# t/stamp.py LOG TSLOG READY FIFO: the stamper of serve -s: creates READY
# once it runs, then copies each line that tcpserver writes to FIFO into
# LOG as it is, and into TSLOG after its arrival time (monotonic seconds)
import sys
import time
log, ts = open(sys.argv[1], "a"), open(sys.argv[2], "a")
open(sys.argv[3], "w").close()
for l in open(sys.argv[4]):
    t = time.monotonic()
    log.write(l)
    log.flush()
    ts.write("%.3f %s" % (t, l))
    ts.flush()
