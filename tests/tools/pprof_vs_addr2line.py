#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compares the locations of one binary in a pprof profile (as `go tool pprof -raw` prints
them) with `eu-addr2line -i -f` on the same addresses: the chain of functions (inlined callees
first) and each frame's file:line must be the same.

usage: pprof_vs_addr2line.py RAW_TXT|PPROF_GZ BINARY [MAPPING]
RAW_TXT: `go tool pprof -raw` output; PPROF_GZ: the profile itself, read with pprof_content.js.
MAPPING: the file name of the binary's mapping in the profile, when not BINARY (a stripped
copy profiled, say, with BINARY its unstripped original: the same build ID).
Prints a summary; exits 1 when a location differs (the first differences are shown).
"""
import re
import subprocess
import sys

raw, binary = sys.argv[1], sys.argv[2]
mapped = sys.argv[3] if len(sys.argv) > 3 else binary
demangle = []
locs = {}  # address -> [(function, file, line)]
if open(raw, "rb").read(2) == b"\x1f\x8b":
    # a pprof file itself: its names exactly as stored (pprof_content.js), where `go tool pprof`
    # would simplify C++ names; eu-addr2line then demangles (-C) as Sonde does
    demangle = ["-C"]
    listing = subprocess.run(["node", __file__.rsplit("/", 1)[0] + "/pprof_content.js", raw,
                              "--locations"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        addr, mfile, frames = line.split("\t")
        if mfile != mapped:
            continue
        for fr in filter(None, frames.split(";")):
            name, _, pos = fr.rpartition("|")
            f, _, ln = pos.rpartition(":")
            locs.setdefault(int(addr, 16), []).append((name, f, int(ln)))
    if not locs:
        sys.exit(f"no location of {mapped} in the profile")
else:
    text = open(raw).read()
    mappings = {}
    for m in re.finditer(r"^(\d+): 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (\S+)", text, re.M):
        mappings[m.group(1)] = m.group(2)
    ids = {k for k, v in mappings.items() if v == mapped}
    if not ids:
        sys.exit(f"no mapping of {mapped} in the profile")

    cur = None
    in_locs = False
    for line in text.splitlines():
        if line.startswith("Locations"):
            in_locs = True
            continue
        if line.startswith("Mappings"):
            break
        if not in_locs:
            continue
        m = re.match(r"\s*\d+: (0x[0-9a-f]+) M=(\d+) (.*) (\S*):(\d+) s=\d+(?:\(.*\))?$", line)
        if m:
            cur = None
            if m.group(2) in ids:
                cur = locs.setdefault(int(m.group(1), 16), [])
                cur.append((m.group(3), m.group(4), int(m.group(5))))
            continue
        if re.match(r"\s*\d+: 0x", line):  # a location of no mapping of ours (kernel, say)
            cur = None
            continue
        m = re.match(r"\s+(.*) (\S*):(\d+) s=\d+(?:\(.*\))?$", line)
        if m and cur is not None:
            cur.append((m.group(1), m.group(2), int(m.group(3))))

addrs = sorted(locs)
out = subprocess.run(["eu-addr2line", "-a", "-i", "-f"] + demangle + ["-e", binary] + [hex(a) for a in addrs],
                     capture_output=True, text=True, check=True).stdout.splitlines()
# -a: each address on a line of its own, then a name line and a FILE:LINE[:COL] line per frame
expected, cur = {}, None
i = 0
while i < len(out):
    if re.fullmatch(r"0x[0-9a-f]+", out[i]):
        cur = expected.setdefault(int(out[i], 16), [])
        i += 1
        continue
    name, pos = out[i].split(" inlined at ")[0], out[i + 1]
    i += 2
    f, _, rest = pos.partition(":")
    ln = rest.split(":")[0]
    cur.append((name, "" if f == "??" else f, int(ln) if ln.isdigit() else 0))

bad = [a for a in addrs if locs[a] != expected[a]]
inline_locs = sum(1 for a in addrs if len(locs[a]) > 1)
print(f"{len(addrs)} locations of {binary}, {inline_locs} with inline chains, {len(bad)} differ from eu-addr2line")
for a in bad[:5]:
    print(f"  {hex(a)}: sonde {locs[a]}\n  {'':{len(hex(a))}}  eu-addr2line {expected[a]}")
sys.exit(1 if bad or inline_locs == 0 else 0)
