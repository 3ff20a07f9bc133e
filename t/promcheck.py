"""promcheck.py: check Prometheus text format on stdin, as a scraper
would read it, and print each sample as 'name{labels} value', sorted.

Fails (exit 1, the reason on stderr) unless the text parses with
prometheus_client's parser, every family has its HELP and TYPE lines
before its samples, every name starts with earlytalker_, counters end in
_total, no series appears twice, and each histogram's buckets rise with
le, end with +Inf and +Inf equals its _count.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families


def fail(why):
    sys.stderr.write('promcheck: %s\n' % why)
    sys.exit(1)


def main():
    text = sys.stdin.read()
    if not text.endswith('\n'):
        fail('the text does not end with a newline')
    helped, typed = set(), {}
    for line in text.splitlines():
        w = line.split()
        if line.startswith('# HELP '):
            helped.add(w[2])
        elif line.startswith('# TYPE '):
            typed[w[2]] = w[3]
        elif line.startswith('#') or not line:
            fail('a stray line: %r' % line)
        else:
            name = w[0].split('{')[0]
            base = name
            for suffix in ('_bucket', '_sum', '_count'):
                if name.endswith(suffix) and name[:-len(suffix)] in typed:
                    base = name[:-len(suffix)]
            if base not in helped or base not in typed:
                fail('%s: a sample before its HELP and TYPE' % name)
    out, seen = [], set()
    for fam in text_string_to_metric_families(text):
        if not fam.name.startswith('earlytalker_'):
            fail('%s: not named earlytalker_' % fam.name)
        if fam.type == 'counter' and typed.get(fam.name + '_total') != 'counter':
            fail('%s: a counter not named _total' % fam.name)
        buckets = []
        for s in fam.samples:
            labels = ','.join('%s="%s"' % kv for kv in sorted(s.labels.items()))
            key = '%s{%s}' % (s.name, labels) if labels else s.name
            if key in seen:
                fail('%s: twice' % key)
            seen.add(key)
            out.append('%s %s' % (key, repr(s.value) if s.value % 1 else int(s.value)))
            if s.name.endswith('_bucket'):
                buckets.append((float(s.labels['le']), s.value))
            if s.name.endswith('_count') and fam.type == 'histogram':
                count = s.value
        if fam.type == 'histogram':
            if [b for b, _ in buckets] != sorted(b for b, _ in buckets) or \
                    buckets[-1][0] != float('inf'):
                fail('%s: buckets out of order' % fam.name)
            if any(a[1] > b[1] for a, b in zip(buckets, buckets[1:])):
                fail('%s: buckets that fall' % fam.name)
            if buckets[-1][1] != count:
                fail('%s: +Inf is not the count' % fam.name)
    sys.stdout.write(''.join(line + '\n' for line in sorted(out)))


main()
