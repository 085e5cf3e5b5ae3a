// SPDX-License-Identifier: Apache-2.0
// Decodes a pprof file (gzipped or not) with pprof-format, an independent JavaScript decoder,
// and prints its folded stacks (root first; each location's lines caller first), summing the
// first sample value. Line 1 is a JSON summary: sample types, period, counts.
// usage: node tests/tools/pprof_folded.js FILE [LABEL_FOR_PROCESS]
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');
const { Profile } = require(path.join(__dirname, '..', 'node_modules', 'pprof-format'));

let data = fs.readFileSync(process.argv[2]);
if (data[0] === 0x1f && data[1] === 0x8b) data = zlib.gunzipSync(data);
const p = Profile.decode(new Uint8Array(data));
const str = (i) => p.stringTable.strings[Number(i)];
const procLabel = process.argv[3] || 'process.executable.name';
const fn = new Map(p.function.map((f) => [Number(f.id), f]));
const loc = new Map(p.location.map((l) => [Number(l.id), l]));
const folded = new Map();
let total = 0n;
for (const s of p.sample) {
  const names = [];
  for (let i = s.locationId.length - 1; i >= 0; i--) {
    const l = loc.get(Number(s.locationId[i]));
    for (let k = l.line.length - 1; k >= 0; k--) names.push(str(fn.get(Number(l.line[k].functionId)).name));
  }
  const lab = s.label.find((x) => str(x.key) === procLabel);
  const key = [lab ? str(lab.str) : '?', ...names].join(';');
  const v = BigInt(s.value[0]);
  total += v;
  folded.set(key, (folded.get(key) || 0n) + v);
}
console.log(JSON.stringify({
  sampleTypes: p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
  periodType: p.periodType ? `${str(p.periodType.type)}/${str(p.periodType.unit)}` : null,
  period: Number(p.period),
  samples: p.sample.length,
  locations: p.location.length,
  functions: p.function.length,
  mappings: p.mapping.length,
  total: Number(total),
}));
for (const k of [...folded.keys()].sort()) console.log(`${k} ${folded.get(k)}`);
