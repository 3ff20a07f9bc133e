"""smtpin.py: what the suite's SMTP servers on stdin and stdout
(t/sink.py, t/oddsmtp.py) share: their input, read in lines and kept
byte for byte in a file, and a command line's verb."""
import os


class Input:
    """Standard input: every byte read is written to RAW (a file open
    unbuffered); buf holds what is read and not yet taken.  With
    resets, a connection reset is the end of input."""

    def __init__(self, raw, resets=False):
        self.raw = raw
        self.resets = resets
        self.buf = bytearray()

    def more(self):
        """Read more into buf; what was read, b'' at the end."""
        try:
            b = os.read(0, 65536)
        except ConnectionResetError:
            if not self.resets:
                raise
            b = b''
        self.raw.write(b)
        self.buf.extend(b)
        return b

    def line(self):
        """The next line, with its LF, or None at the end of input."""
        while b'\n' not in self.buf:
            if not self.more():
                return None
        i = self.buf.index(b'\n') + 1
        got = bytes(self.buf[:i])
        del self.buf[:i]
        return got

    def commands(self):
        """Each line's words and verb (command), to the end of input."""
        while True:
            got = self.line()
            if got is None:
                return
            yield command(got)


def command(line):
    """A command line's words, and its verb in upper case (b'' if none)."""
    words = line.split()
    return words, words[0].upper() if words else b''
