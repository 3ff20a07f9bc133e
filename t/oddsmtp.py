"""oddsmtp.py: an SMTP server on stdin and stdout that does one odd thing,
for the relay's tests of what no real server does on demand.

    oddsmtp.py RAW KIND

RAW: a file that gets every byte read.  KIND:
    twice   answers NOOP twice: a reply to no command
    inbody  answers 250 to the first line of a message body, and reads on
    auth    offers AUTH LOGIN: 334 for the user name, 334 for the
            password, then 235
Otherwise it greets, offers PIPELINING, accepts MAIL, RCPT, DATA and
messages, and answers QUIT with 221.
"""
import os
import sys

from smtpin import Input

raw = open(sys.argv[1], 'ab', buffering=0)
kind = sys.argv[2]
inp = Input(raw)
line = inp.line


def say(text):
    os.write(1, text)


say(b'220 odd ESMTP\r\n')
for _, verb in inp.commands():
    if verb == b'EHLO':
        say(b'250-odd\r\n250-PIPELINING\r\n' +
            (b'250-AUTH LOGIN\r\n' if kind == 'auth' else b'') +
            b'250 8BITMIME\r\n')
    elif verb == b'NOOP':
        say(b'250 ok\r\n250 again\r\n' if kind == 'twice' else b'250 ok\r\n')
    elif verb == b'AUTH' and kind == 'auth':
        say(b'334 VXNlcm5hbWU6\r\n')
        if line() is None:
            sys.exit(0)
        say(b'334 UGFzc3dvcmQ6\r\n')
        if line() is None:
            sys.exit(0)
        say(b'235 2.7.0 ok\r\n')
    elif verb == b'DATA':
        say(b'354 go ahead\r\n')
        first = True
        while True:
            got = line()
            if got is None:
                sys.exit(0)
            if first and kind == 'inbody':
                say(b'250 2.0.0 ok early\r\n')
            first = False
            if got == b'.\r\n':
                break
        say(b'250 2.0.0 queued\r\n')
    elif verb == b'QUIT':
        say(b'221 2.0.0 bye\r\n')
        sys.exit(0)
    else:
        say(b'250 2.0.0 ok\r\n')
