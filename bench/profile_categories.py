#!/usr/bin/env python3
"""Sums a flat profile by category (used by bench/profile.sh).

    profile_categories.py perf      SYM.txt  US_PER_CALL   (perf report --sort dso,sym --stdio)
    profile_categories.py callgrind ANNOTATE IR_PER_CALL   (callgrind_annotate --inclusive=no)

Prints each category's share of the samples (or instructions) and that share of the per-call
figure. The first matching rule wins.
"""
import re
import sys

# (category, object pattern, symbol pattern)
RULES = [
    ("kernel: scheduling, wake-ups, futex, epoll", r"kernel", r"finish_task_switch|schedul|wake|futex|_raw_spin|ep_poll|enqueue|dequeue|update_curr|pick_next|select_task|hrtimer"),
    ("kernel: syscalls, TCP, copies", r"kernel", r"."),
    ("malloc / free", r"libc|jemalloc|malloc", r"malloc|free|_int_|realloc|unlink_chunk|consolidate|tcache|je_|arena"),
    ("libc: memcpy / memcmp / other", r"libc|libm|string", r"."),
    ("clock (vdso)", r"vdso", r"."),
    ("redis-rs: RESP parsing (combine)", r".", r"combine::|redis::parser"),
    ("redis-rs: commands, pipeline, connection", r".", r"redis::"),
    ("serde_json / float formatting", r".", r"serde|zmij|ryu|itoa"),
    ("async-nats / tonic / hyper / h2", r".", r"async_nats|tonic|hyper|h2::|http"),
    ("tokio, futures (scheduler, timers, channels)", r".", r"tokio|mio::|futures|parking_lot"),
    ("uuid / rand", r".", r"uuid|rand|getrandom|chacha"),
    ("bench harness", r".", r"clamator_bench"),
    ("clamator (core, redis transport, generated code)", r".", r"clamator_|clamator::|arith"),
    ("Rust std / core / alloc (inlined or generic code)", r".", r"core::|alloc::|std::|hashbrown|memchr"),
    ("redis-server itself", r"redis", r"."),
    ("other", r".", r"."),
]


def rows(kind, path):
    for line in open(path, encoding="utf-8", errors="replace"):
        if kind == "perf":
            m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[.\]\s+(.*)", line)
            if m:
                yield float(m.group(1)), m.group(2), m.group(3)
        else:
            m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?):(.*?)(?: \[(.*)\])?$", line)
            if m and "PROGRAM TOTALS" not in line:
                yield float(m.group(1).replace(",", "")), (m.group(4) or m.group(2)), m.group(3)


def main():
    kind, path = sys.argv[1], sys.argv[2]
    per_call = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] not in ("", "None") else 0.0
    totals = {}
    for weight, obj, sym in rows(kind, path):
        for name, obj_re, sym_re in RULES:
            if re.search(obj_re, obj) and re.search(sym_re, sym):
                totals[name] = totals.get(name, 0.0) + weight
                break
    whole = sum(totals.values()) or 1.0
    unit = "µs" if kind == "perf" else "instructions"
    print(f"# share of this process's {'samples' if kind == 'perf' else 'instructions'}, and of its {per_call:.1f} {unit} per call")
    for name, w in sorted(totals.items(), key=lambda kv: -kv[1]):
        share = w / whole
        print(f"{share * 100:6.1f}%  {share * per_call:9.1f} {unit}  {name}")


if __name__ == "__main__":
    main()
