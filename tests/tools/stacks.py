#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Stack statistics from Sonde's folded output or `perf script` output, computed the same way
for both so the two can be compared.

usage: stacks.py folded|perf FILE --comm NAME --a RE --b RE --entry RE [--leaf RE --caller RE]

Prints one JSON object: samples of the process, samples under A and under B (a frame matching
the regex anywhere in the user stack), A's share, samples whose user stack reaches the entry
frame, and, for samples whose leaf function matches --leaf (the innermost frame, or one of the
next three when frames were inlined into it), how many have a direct caller matching --caller
(a frameless leaf's caller is the frame that naive unwinding loses). Kernel frames are
left out of every figure.
"""
import argparse
import json
import re
import sys


def folded_samples(path, comm):
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if frames[0] != comm:
                continue
            user = [fr for fr in frames[1:] if not fr.endswith("_[k]")]
            yield list(reversed(user)), int(count)  # leaf first


def perf_samples(path, comm):
    """perf script -F comm,tid,ip,sym,dso: a header line, then one line per frame, leaf first."""
    cur_comm, frames = None, []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur_comm == comm:
                    yield frames, 1
                cur_comm, frames = None, []
                continue
            if not line[0].isspace():
                cur_comm, frames = line.split()[0], []
                continue
            parts = line.split(None, 1)
            if len(parts) < 2:
                continue
            rest = parts[1]
            if "[kernel.kallsyms]" in rest or "([kernel" in rest:
                continue
            sym = re.sub(r"\s*\(.*\)\s*$", "", rest)  # drop " (dso)"
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            frames.append(sym)
        if cur_comm == comm:
            yield frames, 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["folded", "perf"])
    ap.add_argument("file")
    ap.add_argument("--comm", required=True)
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--entry", required=True)
    ap.add_argument("--leaf")
    ap.add_argument("--caller")
    args = ap.parse_args()
    ra, rb, rentry = re.compile(args.a), re.compile(args.b), re.compile(args.entry)
    rleaf = re.compile(args.leaf) if args.leaf else None
    rcaller = re.compile(args.caller) if args.caller else None
    gen = folded_samples if args.kind == "folded" else perf_samples
    total = a = b = entry = leaf = leaf_ok = 0
    for frames, n in gen(args.file, args.comm):
        total += n
        if any(ra.search(f) for f in frames):
            a += n
        elif any(rb.search(f) for f in frames):
            b += n
        if any(rentry.fullmatch(f) for f in frames):
            entry += n
        # the leaf function may have inlined frames below it: look among the innermost few
        k = next((i for i, f in enumerate(frames[:4]) if rleaf and rleaf.search(f)), None)
        if k is not None:
            leaf += n
            if len(frames) > k + 1 and rcaller.search(frames[k + 1]):
                leaf_ok += n
    out = {
        "samples": total, "a": a, "b": b,
        "share_a": round(a / (a + b), 4) if a + b else 0,
        "entry": entry, "entry_share": round(entry / total, 4) if total else 0,
        "leaf": leaf, "leaf_with_caller": leaf_ok,
        "leaf_caller_share": round(leaf_ok / leaf, 4) if leaf else 0,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
