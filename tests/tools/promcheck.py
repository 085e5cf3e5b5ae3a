#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validates the Prometheus text exposition format and prints the samples as JSON.

usage: promcheck.py FILE   -> {"metric{labels}": value, ...}; exit 1 on a format error
"""
import json
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL}(?:,{LABEL})*)?\}})? (\S+)$")
types, helps, samples, errors = {}, {}, {}, []
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if not line:
        continue
    if line.startswith("# HELP "):
        name = line.split(" ", 3)[2]
        if not re.fullmatch(NAME, name):
            errors.append(f"{n}: bad metric name in HELP")
        helps[name] = True
        continue
    if line.startswith("# TYPE "):
        parts = line.split(" ")
        if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
            errors.append(f"{n}: bad TYPE line")
        elif parts[2] in types:
            errors.append(f"{n}: TYPE {parts[2]} declared twice")
        types[parts[2]] = parts[3]
        continue
    if line.startswith("#"):
        continue
    m = SAMPLE.match(line)
    if not m:
        errors.append(f"{n}: not a sample line: {line!r}")
        continue
    name, labels, value = m.group(1), m.group(2) or "", m.group(3)
    if name not in types:
        errors.append(f"{n}: {name} has no TYPE before its samples")
    try:
        v = float(value)
    except ValueError:
        errors.append(f"{n}: bad value {value!r}")
        continue
    if types.get(name) == "counter" and v < 0:
        errors.append(f"{n}: negative counter {name}")
    key = name + labels
    if key in samples:
        errors.append(f"{n}: duplicate sample {key}")
    samples[key] = v
for e in errors:
    print(e, file=sys.stderr)
print(json.dumps(samples, indent=1, sort_keys=True))
sys.exit(1 if errors or not samples else 0)
