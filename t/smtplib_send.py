#!/usr/bin/python3
# t/smtplib_send.py HOST PORT MSG RCPT TIMEOUT: Python's smtplib sends
# the message in the file MSG from smtplib@client.example to RCPT,
# saying hello as smtplib.example; TIMEOUT seconds for each reply
import smtplib
import sys
host, port, msg, rcpt, timeout = sys.argv[1:6]
with smtplib.SMTP(host, int(port), 'smtplib.example', int(timeout)) as s:
    s.sendmail('smtplib@client.example', [rcpt], open(msg, 'rb').read())
