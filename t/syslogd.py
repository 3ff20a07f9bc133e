#!/usr/bin/python3
# t/syslogd.py PATH OUT: a stand-in for syslogd on the datagram socket
# PATH (logger -u PATH, or /dev/log through devlog_ns), which writes
# each message to OUT as a syslog daemon writes its files: "Mmm dd
# hh:mm:ss HOST TAG: TEXT", HOST being mx; says "ready" once it listens
import os, re, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
print('ready', flush=True)
with open(out, 'a') as f:
    while True:
        d = s.recv(65536).decode('utf-8', 'replace').rstrip('\n')
        m = re.match(r'<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) (.*)', d, re.S)
        if m:
            f.write('%s mx %s\n' % (m.group(1), m.group(2)))
            f.flush()
