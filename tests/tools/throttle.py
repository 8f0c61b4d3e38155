#!/usr/bin/env python3
"""throttle.py RATE [FILE]: copy lines to stdout at RATE lines per second
(in bursts every 20 ms), for pipelines that must outlast a test's faults."""
import sys
import time

rate = float(sys.argv[1])
src = open(sys.argv[2], "rb") if len(sys.argv) > 2 else sys.stdin.buffer
out = sys.stdout.buffer
start = time.monotonic()
n = 0
try:
    for line in src:
        out.write(line)
        n += 1
        due = start + n / rate
        now = time.monotonic()
        if due - now > 0.02:
            out.flush()
            time.sleep(due - now)
    out.flush()
except BrokenPipeError:
    sys.exit(1)
