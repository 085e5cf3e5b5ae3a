#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An independent decoder of OTLP profiles requests (ExportProfilesServiceRequest, v1.10+
layout), written from the wire format: it shares no code with the agent's encoder.

usage: otlp.py check FILE...          structure checks (zero entries, indices in range)
       otlp.py folded FILE...         folded stacks summed over all files: SERVICE;...;leaf N
       otlp.py attrs FILE             resource, sample, location and mapping attributes (JSON)
       otlp.py count FILE...          samples per file, then the total
       otlp.py make FILE [KEY=VALUE...]  writes a request of one service, one profile and one
                                      stack (main), for hostile values; keys: service, function
                                      (Python string escapes give raw bytes: service=\\xff),
                                      time, duration, period (ns), values and timestamps
                                      (comma-separated; N*V repeats V N times), type
                                      (samples/count, or cpu/nanoseconds), stack (0: empty)
"""
import collections
import json
import sys


def read_varint(b, i):
    v = shift = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << shift
        if not x & 0x80:
            return v, i
        shift += 7


def fields(b):
    """(number, wiretype, value) for each field of a message."""
    i = 0
    out = []
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 1:
            v = int.from_bytes(b[i:i + 8], "little")
            i += 8
        elif wt == 2:
            n, i = read_varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 5:
            v = int.from_bytes(b[i:i + 4], "little")
            i += 4
        else:
            raise ValueError(f"wire type {wt}")
        out.append((num, wt, v))
    return out


def msg(b):
    d = collections.defaultdict(list)
    for num, wt, v in fields(b):
        d[num].append((wt, v))
    return d


def one(d, n, default=0):
    return d[n][-1][1] if d.get(n) else default


def ints(d, n):
    """A repeated integer field, packed or not."""
    out = []
    for wt, v in d.get(n, []):
        if wt == 2:
            i = 0
            while i < len(v):
                x, i = read_varint(v, i)
                out.append(x)
        else:
            out.append(v)
    return out


def fixed64s(d, n):
    out = []
    for wt, v in d.get(n, []):
        if wt == 2:
            out += [int.from_bytes(v[k:k + 8], "little") for k in range(0, len(v), 8)]
        else:
            out.append(v)
    return out


def signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def anyvalue(b, strings):
    d = msg(b)
    if 1 in d:
        return d[1][-1][1].decode()
    if 3 in d:
        return signed(one(d, 3))
    if 8 in d:
        return strings[one(d, 8)]
    if 2 in d:
        return bool(one(d, 2))
    return None


class Request:
    def __init__(self, data):
        top = msg(data)
        dic = msg(one(top, 2, b""))
        self.strings = [v.decode() for _, v in dic.get(5, [])]
        self.mappings = [msg(v) for _, v in dic.get(1, [])]
        self.locations = [msg(v) for _, v in dic.get(2, [])]
        self.functions = [msg(v) for _, v in dic.get(3, [])]
        self.links = [msg(v) for _, v in dic.get(4, [])]
        self.attributes = [msg(v) for _, v in dic.get(6, [])]
        self.stacks = [ints(msg(v), 1) for _, v in dic.get(7, [])]
        self.resources = []
        for _, rp in top.get(1, []):
            rp = msg(rp)
            res = msg(one(rp, 1, b""))
            rattrs = {}
            for _, kv in res.get(1, []):
                kv = msg(kv)
                rattrs[one(kv, 1, b"").decode()] = anyvalue(one(kv, 2, b""), self.strings)
            profiles = []
            for _, sp in rp.get(2, []):
                for _, pr in msg(sp).get(2, []):
                    profiles.append(msg(pr))
            self.resources.append((rattrs, profiles))

    def attr(self, i):
        a = self.attributes[i]
        return self.strings[one(a, 1)], anyvalue(one(a, 2, b""), self.strings)

    def frames(self, loc_index):
        """Names of a location, caller first (a location's lines are innermost first)."""
        loc = self.locations[loc_index]
        names = []
        for _, ln in loc.get(3, []):
            f = self.functions[one(msg(ln), 1)]
            names.append(self.strings[one(f, 1)])
        if not names:
            m = one(loc, 1)
            mod = self.strings[one(self.mappings[m], 4)] if m else "unknown"
            names = [f"[{mod}+0x{one(loc, 2):x}]"]
        kind = dict(self.attr(i) for i in ints(loc, 4)).get("profile.frame.type")
        if kind == "kernel":
            names = [n + "_[k]" for n in names]
        return list(reversed(names))

    def samples(self):
        """(resource attributes, sample attributes, stack names root first, count)."""
        for rattrs, profiles in self.resources:
            for pr in profiles:
                for _, s in pr.get(2, []):
                    s = msg(s)
                    stack = self.stacks[one(s, 1)]
                    names = []
                    for li in reversed(stack):
                        names += self.frames(li)
                    values = [signed(v) for v in ints(s, 4)]
                    ts = fixed64s(s, 5)
                    count = sum(values) if values else len(ts)
                    sattrs = dict(self.attr(i) for i in ints(s, 2))
                    yield rattrs, sattrs, names, count, ts


def check(path, r):
    errors = []
    tables = {"string": r.strings, "mapping": r.mappings, "location": r.locations,
              "function": r.functions, "link": r.links, "attribute": r.attributes,
              "stack": r.stacks}
    for name, t in tables.items():
        if not t:
            errors.append(f"{name}_table is empty (no zero entry)")
    if r.strings and r.strings[0] != "":
        errors.append("string_table[0] is not \"\"")
    for name in ("mapping", "location", "function", "attribute"):
        t = tables[name]
        if t and any(t[0].values()):
            errors.append(f"{name}_table[0] is not the zero value")
    if r.stacks and r.stacks[0]:
        errors.append("stack_table[0] is not empty")
    if r.links:
        z = r.links[0]
        if one(z, 1, b"") != bytes(16) or one(z, 2, b"") != bytes(8):
            errors.append("link_table[0] is not all-zero trace/span IDs")
    for s in r.stacks:
        if any(i >= len(r.locations) or i <= 0 for i in s):
            errors.append("a stack points outside the location table")
            break
    strings_seen = len(set(r.strings))
    if strings_seen != len(r.strings):
        errors.append(f"{len(r.strings) - strings_seen} duplicate strings")
    for rattrs, profiles in r.resources:
        for pr in profiles:
            for _, s in pr.get(2, []):
                s = msg(s)
                v, ts = ints(s, 4), fixed64s(s, 5)
                if v and ts and len(v) != len(ts):
                    errors.append("values and timestamps of different lengths")
                if one(s, 1) >= len(r.stacks):
                    errors.append("a sample points outside the stack table")
    for e in errors:
        print(f"{path}: {e}")
    return not errors


# ---- encoding: requests with the values a test chooses (hostile ones too) -------------------------
def varint(n):
    n &= (1 << 64) - 1  # negative int64: ten bytes of two's complement, as protobuf has it
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, wt, payload):
    key = varint(num << 3 | wt)
    if wt == 0:
        return key + varint(payload)
    if wt == 1:
        return key + (payload & ((1 << 64) - 1)).to_bytes(8, "little")
    return key + varint(len(payload)) + payload


def packed(num, values, fixed=False):
    body = b"".join((v & ((1 << 64) - 1)).to_bytes(8, "little") if fixed else varint(v) for v in values)
    return field(num, 2, body) if values else b""


def listed(text):
    """1,2,3 or 1000*5 (5 a thousand times), or both mixed."""
    out = []
    for part in filter(None, text.split(",")):
        n, _, v = part.rpartition("*")
        out += [int(v)] * (int(n) if n else 1)
    return out


def make(path, opts):
    raw = lambda k, d: opts.get(k, d).encode("latin-1").decode("unicode_escape").encode("latin-1")
    stype, sunit = opts.get("type", "samples/count").split("/")
    strings = [b"", stype.encode(), sunit.encode(), b"cpu", b"nanoseconds", raw("function", "main")]
    dictionary = (field(1, 2, b"") + field(2, 2, b"") + field(2, 2, field(3, 2, field(1, 0, 1))) +
                  field(3, 2, b"") + field(3, 2, field(1, 0, 5)) +
                  field(4, 2, field(1, 2, bytes(16)) + field(2, 2, bytes(8))) +
                  b"".join(field(5, 2, x) for x in strings) + field(6, 2, b"") +
                  field(7, 2, b"") + field(7, 2, packed(1, [1])))
    sample = (field(1, 0, int(opts.get("stack", "1"))) + packed(4, listed(opts.get("values", "1"))) +
              packed(5, listed(opts.get("timestamps", "")), fixed=True))
    profile = (field(1, 2, field(1, 0, 1) + field(2, 0, 2)) + field(2, 2, sample) +
               field(3, 1, int(opts.get("time", "0"))) + field(4, 0, int(opts.get("duration", "0"))) +
               field(5, 2, field(1, 0, 3) + field(2, 0, 4)) + field(6, 0, int(opts.get("period", "0"))))
    service = field(1, 2, b"service.name") + field(2, 2, field(1, 2, raw("service", "svc")))
    resource = field(1, 2, field(1, 2, service)) + field(2, 2, field(2, 2, profile))
    open(path, "wb").write(field(1, 2, resource) + field(2, 2, dictionary))


def main():
    cmd, files = sys.argv[1], sys.argv[2:]
    if cmd == "make":
        make(files[0], dict(a.split("=", 1) for a in files[1:]))
        return
    if cmd == "check":
        ok = all(check(f, Request(open(f, "rb").read())) for f in files)
        print(f"{len(files)} requests checked, {'ok' if ok else 'FAILED'}")
        sys.exit(0 if ok else 1)
    if cmd == "folded":
        total = collections.Counter()
        for f in files:
            for rattrs, _, names, count, _ in Request(open(f, "rb").read()).samples():
                total[";".join([str(rattrs.get("service.name", "?"))] + names)] += count
        for line, n in sorted(total.items()):
            print(f"{line} {n}")
    elif cmd == "count":
        total = 0
        for f in files:
            n = sum(c for *_, c, _ in Request(open(f, "rb").read()).samples())
            total += n
            print(f"{f} {n}")
        print(f"total {total}")
    elif cmd == "attrs":
        r = Request(open(files[0], "rb").read())
        out = {"resources": [a for a, _ in r.resources], "sample": [], "location": set(),
               "mapping": [], "timestamps_ok": True}
        for _, sattrs, _, count, ts in r.samples():
            out["sample"].append(sattrs)
            if ts and len(ts) != count:
                out["timestamps_ok"] = False
        for loc in r.locations[1:]:
            out["location"].update(str(r.attr(i)) for i in ints(loc, 4))
        for m in r.mappings[1:]:
            out["mapping"].append(dict(r.attr(i) for i in ints(m, 5)))
        out["location"] = sorted(out["location"])
        out["sample"] = out["sample"][:5]
        print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
