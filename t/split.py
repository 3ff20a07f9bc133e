#!/usr/bin/python3
# t/split.py: a next program whose reply to the first command comes in
# two pieces, "25" and, 0.5 s later, "0 ok"; it exits 1 s after that
import os, time
os.write(1, b'220 split\r\n')
b = b'x'
while b and b'\n' not in b:
    b = os.read(0, 100)
os.write(1, b'25')
time.sleep(0.5)
os.write(1, b'0 ok\r\n')
time.sleep(1)
