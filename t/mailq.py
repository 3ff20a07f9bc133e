#!/usr/bin/python3
"""mailq.py: the messages that a test server kept, in one normalized form.

    mailq.py KIND QDIR count         how many messages it has kept
    mailq.py KIND QDIR show N        the Nth message (from 1), normalized
    mailq.py KIND QDIR json          one JSON object a line, in the order
                                     kept: {"from", "to", "msg" (hex)}

KIND is the server: qsmtpd (notqmail's qmail-smtpd: kept by a
qmail-queue that writes QDIR/new/*, the envelope, then the message; see
t/servers.sh) and mfront (mailfront: its queuedir back-end writes the
same, the envelope without qmail-queue's F and T); postfix (smtpd in its
stand-alone mode: postdrop's files in QDIR/maildrop, record format, only
those that postdrop finished, mode 0700); exim (its spool, QDIR/input:
the -H file, its headers with their lengths, and the -D file, the body);
qpsmtpd (its queue/maildir plugin: QDIR/new/*).

Normalized: the message as the client sent it after dot-unstuffing and
CR LF made LF, without what the server added in front of it (Received,
Return-Path, Delivered-To, qpsmtpd's Authentication-Results).  Each server still keeps what it kept: a bare
CR or LF, a NUL, a long line as that server stores it.
"""

import json
import os
import re
import sys


def files(d):
    """Regular files in d, oldest first (then by name)."""
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    out = []
    for n in names:
        p = os.path.join(d, n)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            continue
        if os.path.isfile(p):
            out.append((st.st_mtime_ns, n, p, st))
    out.sort()
    return out


# qmail-smtpd's own Received header, two lines
QMAIL_RECEIVED = re.compile(
    rb'Received: from [^\n]*\n  by [^ \n]* with SMTP; [^\n]*\n')


def qq(qdir, qmail=True):
    """qmail-queue's stand-in: the envelope (F..\\0T..\\0\\0), the message;
    or mailfront's queuedir (not qmail): the envelope without F and T."""
    for _, _, p, _ in files(os.path.join(qdir, 'new')):
        with open(p, 'rb') as f:
            m = f.read()
        i = m.find(b'\0\0')
        env, m = m[:i], m[i + 2:]
        fields = env.split(b'\0')
        if qmail:
            frm = fields[0][1:] if fields[0][:1] == b'F' else b''
            to = [x[1:] for x in fields[1:] if x[:1] == b'T']
        else:
            frm, to = fields[0], fields[1:]
        r = QMAIL_RECEIVED.match(m)
        if r:
            m = m[r.end():]
        yield [p], frm, to, m


def records(d):
    """Postfix's queue file records: (type, data)."""
    i = 0
    while i < len(d):
        t = d[i]
        i += 1
        n = shift = 0
        while True:
            b = d[i]
            i += 1
            n |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        yield chr(t), d[i:i + n]
        i += n


def postfix(qdir):
    """postdrop's files; only those finished (the owner's x bit)."""
    for _, _, p, st in files(os.path.join(qdir, 'maildrop')):
        if not st.st_mode & 0o100:
            continue
        with open(p, 'rb') as f:
            d = f.read()
        frm, to, lines, cont, inmsg = b'', [], [], False, False
        for t, v in records(d):
            if t == 'S':
                frm = v
            elif t == 'R':
                to.append(v)
            elif t == 'M':
                inmsg = True
            elif t == 'X' or t == 'E':
                inmsg = False
            elif inmsg and t in 'NL':
                if cont:
                    lines[-1] += v
                else:
                    lines.append(v)
                cont = t == 'L'
        # smtpd's Received header: "Received: from" and the lines that
        # continue it, the last one naming the time
        if lines and lines[0].startswith(b'Received: from '):
            k = 1
            while k < len(lines) and lines[k][:1] in (b'\t', b' '):
                k += 1
            lines = lines[k:]
        yield [p], frm, to, b''.join(l + b'\n' for l in lines)


def exim(qdir):
    """Exim's spool: the -H file (envelope; headers as NNNc text), -D."""
    d = os.path.join(qdir, 'input')
    for _, n, p, _ in files(d):
        if not n.endswith('-H'):
            continue
        try:
            with open(p, 'rb') as f:
                h = f.read()
            with open(p[:-2] + '-D', 'rb') as f:
                body = f.read()
        except FileNotFoundError:
            continue
        body = body[body.index(b'\n') + 1:]
        lines = h.split(b'\n')
        # line 1 the name, 2 the user, 3 the sender <...>
        frm = lines[2].strip()[1:-1] if len(lines) > 2 else b''
        # the recipients follow a line with their count, after the
        # options (lines starting with "-"); then a blank line, headers
        i = 3
        while i < len(lines) and lines[i][:1] == b'-':
            i += 1
        # the non-recipients tree: "XX" or nodes; then the count
        while i < len(lines) and not re.fullmatch(rb'\d+', lines[i]):
            i += 1
        count = int(lines[i]) if i < len(lines) else 0
        to = [l.split(b' ')[0] for l in lines[i + 1:i + 1 + count]]
        rest = b'\n'.join(lines[i + 1 + count:])
        rest = rest[1:] if rest.startswith(b'\n') else rest
        hdrs = b''
        j = 0
        while j < len(rest):
            m = re.match(rb'(\d+)(.)', rest[j:])
            if not m:
                break
            k = int(m.group(1))
            text = rest[j + m.end() + 1:j + m.end() + 1 + k]
            if m.group(2) != b'*':
                hdrs += text
            j += m.end() + 1 + k
        msglog = os.path.join(qdir, 'msglog', n[:-2])
        yield ([p, p[:-2] + '-D', msglog], frm, to,
               (hdrs + b'\n' + body) if hdrs else body)


# qpsmtpd's Received header (Mail::Header may fold it)
QP_RECEIVED = re.compile(
    rb'Received: from [^\n]*(\n[ \t][^\n]*)*?\(qpsmtpd/[^\n]*'
    rb'(\n[ \t][^\n]*)*\n')


QP_AUTH = re.compile(rb'Authentication-Results: mx\.example\.net; auth=none\n')


def qpsmtpd(qdir):
    """queue/maildir: Return-Path and Delivered-To, then the message."""
    for _, _, p, _ in files(os.path.join(qdir, 'new')):
        with open(p, 'rb') as f:
            m = f.read()
        frm, to = b'', []
        while True:
            r = re.match(rb'(Return-Path|Delivered-To): ([^\n]*)\n', m)
            if not r:
                break
            if r.group(1) == b'Return-Path':
                frm = r.group(2).strip(b'<>')
            else:
                to.append(r.group(2))
            m = m[r.end():]
        r = QP_RECEIVED.match(m)
        if r:
            m = m[r.end():]
        r = QP_AUTH.match(m)
        if r:
            m = m[r.end():]
        yield [p], frm, to, m


KINDS = {'qsmtpd': qq, 'mfront': lambda q: qq(q, False), 'postfix': postfix,
         'exim': exim, 'qpsmtpd': qpsmtpd}


def entries(kind, qdir):
    """(files, sender, recipients, message) of each message kept."""
    return list(KINDS[kind](qdir))


def messages(kind, qdir):
    """(sender, recipients, message) of each message kept."""
    return [e[1:] for e in entries(kind, qdir)]


def main(argv):
    if len(argv) < 4 or argv[1] not in KINDS:
        sys.stderr.write('usage: mailq.py %s QDIR count|show N|json\n' %
                         '|'.join(sorted(KINDS)))
        return 100
    ms = messages(argv[1], argv[2])
    out = sys.stdout.buffer
    if argv[3] == 'count':
        out.write(b'%d\n' % len(ms))
    elif argv[3] == 'show' and len(argv) == 5:
        n = int(argv[4])
        if n < 1 or n > len(ms):
            sys.stderr.write('mailq.py: no message %d of %d\n' % (n, len(ms)))
            return 1
        out.write(ms[n - 1][2])
    elif argv[3] == 'json':
        for frm, to, m in ms:
            out.write(json.dumps({
                'from': frm.decode('latin-1'),
                'to': [x.decode('latin-1') for x in to],
                'msg': m.hex()}).encode() + b'\n')
    else:
        sys.stderr.write('mailq.py: unknown request %s\n' % argv[3])
        return 100
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
