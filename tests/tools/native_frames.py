#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes profiles of a native binary's addresses with no names, as other profilers send them,
for the collector to name:

  otlp   an OTLP request shaped as the OpenTelemetry eBPF profiler sends it: native frames as
         mapping + ELF virtual address (return addresses minus one), frame type `native`, the
         mapping in the file's address space with `process.executable.build_id.gnu` and
         `...htlhash` attributes and the file's base name; a kernel frame (type `kernel`)
         already named; timestamps only (each = 1 sample), period 50 ms (20 Hz)
  pprof  a pprof profile as a native SDK sends it: process addresses of a PIE loaded at
         0x555555554000, mappings with start, limit, file offset and build ID, no functions

usage: native_frames.py otlp|pprof OUT BINARY NAME [SERVICE [SPREAD]]
  BINARY is the unstripped file (its symbols choose the addresses), NAME the file name the
  profile gives the mapping. Stacks: leaf addresses inside Engine::heavy (3 of 4 samples) and
  Engine::light, called from main. Prints the number of samples, then of those in heavy and in
  light. With SPREAD (the benchmark's large binaries): SPREAD leaf addresses spread over every
  function of BINARY (its .dynsym when it has no .symtab), one sample each; OUT.expected then
  lists "0xADDR FUNCTION" for each leaf.
"""
import re
import subprocess
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from otlp import field, packed  # noqa: E402

BIAS = 0x555555554000


def symbols(binary, dynamic=False):
    out = subprocess.run(["nm", "-S", "--defined-only"] + (["-D"] if dynamic else []) + [binary],
                         capture_output=True, text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            syms[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
    return syms


def text_segment(binary):
    """(file offset, vaddr, memsz) of the executable PT_LOAD segment."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if p and p[0] == "LOAD" and "E" in p[6:-1]:
            return int(p[1], 16), int(p[2], 16), int(p[5], 16)
    sys.exit("no executable segment")


def build_id(binary):
    out = subprocess.run(["readelf", "-n", binary], capture_output=True, text=True, check=True)
    return re.search(r"Build ID: ([0-9a-f]+)", out.stdout).group(1)


SPREAD = 0
EXPECTED = []  # with SPREAD: (leaf address, the function holding it)


def stacks(binary):
    """[(leaf-first ELF addresses, count, in heavy)]"""
    if SPREAD:
        syms = symbols(binary) or symbols(binary, dynamic=True)
        funcs = sorted(v for v in syms.values() if v[1] > 0)
        names = {v: k for k, v in syms.items()}
        pick = [funcs[i * len(funcs) // SPREAD] for i in range(SPREAD)]
        root = funcs[0][0]
        out = [([a + (i % max(1, size)), root], 1, False) for i, (a, size) in enumerate(pick)]
        EXPECTED.extend((a + (i % max(1, size)), names[(a, size)]) for i, (a, size) in enumerate(pick))
        return out
    syms = symbols(binary)
    heavy = next(v for k, v in syms.items() if "Engine5heavy" in k)
    light = next(v for k, v in syms.items() if "Engine5light" in k)
    main, start = syms["main"], syms["_start"]
    # a return address in main and in _start, minus one as the profiler sends them
    caller, root = main[0] + main[1] // 2 - 1, start[0] + 4 - 1
    out = []
    for fn, weight in ((heavy, 3), (light, 1)):
        for off in range(0, fn[1], 7):
            out.append(([fn[0] + off, caller, root], weight, fn is heavy))
    return out


def otlp(path, binary, name, service):
    off, vaddr, memsz = text_segment(binary)
    strings = ["", "samples", "count", "cpu", "nanoseconds", name, "profile.frame.type",
               "native", "kernel", "process.executable.build_id.gnu",
               "process.executable.build_id.htlhash", build_id(binary), "0" * 32,
               "vmlinux", "do_syscall_64", "service.name", service]
    s = {v: i for i, v in enumerate(strings)}
    attr = lambda k, v: field(1, 0, s[k]) + field(2, 2, field(1, 2, v.encode()))
    attrs = [b"", attr("profile.frame.type", "native"), attr("profile.frame.type", "kernel"),
             attr("process.executable.build_id.gnu", strings[11]),
             attr("process.executable.build_id.htlhash", strings[12])]
    mapping = (field(1, 0, vaddr) + field(2, 0, vaddr + memsz) + field(3, 0, off) +
               field(4, 0, s[name]) + packed(5, [3, 4]))
    kmapping = field(4, 0, s["vmlinux"])
    locations, stack_table, samples, total = [b""], [b""], [], 0
    functions = [b"", field(1, 0, s["do_syscall_64"])]
    # the kernel frame, named by the agent: a Line of its own
    locations.append(field(1, 0, 2) + field(2, 0, 0x1234) + field(3, 2, field(1, 0, 1)) +
                     packed(4, [2]))
    loc_of = {}
    now = time.time_ns()
    for i, (addrs, count, _) in enumerate(stacks(binary)):
        ids = []
        for a in addrs:
            if a not in loc_of:
                loc_of[a] = len(locations)
                locations.append(field(1, 0, 1) + field(2, 0, a) + packed(4, [1]))
            ids.append(loc_of[a])
        if i % 5 == 0:
            ids = [1] + ids  # in a system call
        stack_table.append(packed(1, ids))
        samples.append(field(1, 0, len(stack_table) - 1) +
                       packed(5, [now - 10**9 + j * 1000 for j in range(count)], fixed=True))
        total += count
    dictionary = (b"".join(field(1, 2, m) for m in [b"", mapping, kmapping]) +
                  b"".join(field(2, 2, x) for x in locations) +
                  b"".join(field(3, 2, x) for x in functions) +
                  field(4, 2, field(1, 2, bytes(16)) + field(2, 2, bytes(8))) +
                  b"".join(field(5, 2, x.encode()) for x in strings) +
                  b"".join(field(6, 2, x) for x in attrs) +
                  b"".join(field(7, 2, x) for x in stack_table))
    profile = (field(1, 2, field(1, 0, s["samples"]) + field(2, 0, s["count"])) +
               b"".join(field(2, 2, x) for x in samples) + field(3, 1, now - 10**9) +
               field(4, 0, 10**9) + field(5, 2, field(1, 0, s["cpu"]) + field(2, 0, s["nanoseconds"])) +
               field(6, 0, 50000000))
    resource = field(1, 2, field(1, 2, field(1, 2, b"service.name") +
                                  field(2, 2, field(1, 2, service.encode()))))
    request = field(1, 2, resource + field(2, 2, field(2, 2, profile))) + field(2, 2, dictionary)
    open(path, "wb").write(request)
    return total


def pprof(path, binary, name, service):
    off, vaddr, memsz = text_segment(binary)
    strings = ["", "cpu", "nanoseconds", name, build_id(binary)]
    mapping = (field(1, 0, 1) + field(2, 0, BIAS + vaddr) + field(3, 0, BIAS + vaddr + memsz) +
               field(4, 0, off) + field(5, 0, 3) + field(6, 0, 4))
    locations, samples, loc_of, total = [], [], {}, 0
    for addrs, count, _ in stacks(binary):
        ids = []
        for a in addrs:
            if a not in loc_of:
                loc_of[a] = len(locations) + 1
                locations.append(field(1, 0, loc_of[a]) + field(2, 0, 1) + field(3, 0, BIAS + a))
            ids.append(loc_of[a])
        samples.append(packed(1, ids) + packed(2, [count * 10000000]))
        total += count
    profile = (field(1, 2, field(1, 0, 1) + field(2, 0, 2)) +
               b"".join(field(2, 2, x) for x in samples) + field(3, 2, mapping) +
               b"".join(field(4, 2, x) for x in locations) +
               b"".join(field(6, 2, x.encode()) for x in strings) +
               field(9, 0, time.time_ns() - 10**9) + field(10, 0, 10**9) +
               field(11, 2, field(1, 0, 1) + field(2, 0, 2)) + field(12, 0, 10000000))
    open(path, "wb").write(profile)
    return total


if __name__ == "__main__":
    kind, out, binary, name = sys.argv[1:5]
    service = sys.argv[5] if len(sys.argv) > 5 else "native-app"
    SPREAD = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    total = (otlp if kind == "otlp" else pprof)(out, binary, name, service)
    st = stacks(binary)
    print(total, sum(c for _, c, h in st if h), sum(c for _, c, h in st if not h))
    if SPREAD:
        with open(out + ".expected", "w") as f:
            for a, name in sorted(set(EXPECTED[:SPREAD])):
                f.write(f"0x{a:x} {name}\n")
