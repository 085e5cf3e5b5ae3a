// SPDX-License-Identifier: Apache-2.0
// Decodes a pprof file (gzipped or not; "-" or /dev/stdin reads a pipe) with pprof-format, an
// independent JavaScript decoder, and prints its content in a form that ignores ids and order,
// for comparing two profiles exactly: line 1 the sample types and period, then one line per
// distinct (labels, stack) with its values summed column by column, sorted. A frame is
// "function|system name|file:line" per line (callers first), or "[FILE+0xADDR]" (FILE: the
// base name of its mapping's file) when the location has no lines.
// usage: node tests/tools/pprof_content.js FILE [--locations]
// --locations: one line per location instead, "0xADDR<TAB>MAPPING<TAB>frames" with frames
// "name|file:line" joined by ';', inlined callee first (MAPPING: its file's base name).
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');
const { Profile } = require(path.join(__dirname, '..', 'node_modules', 'pprof-format'));

const file = process.argv[2] === '-' ? '/dev/stdin' : process.argv[2];
let data = fs.readFileSync(file);
if (data[0] === 0x1f && data[1] === 0x8b) data = zlib.gunzipSync(data);
const p = Profile.decode(new Uint8Array(data));
const str = (i) => p.stringTable.strings[Number(i)];
const vt = (t) => `${str(t.type)}/${str(t.unit)}`;
const fn = new Map(p.function.map((f) => [Number(f.id), f]));
const loc = new Map(p.location.map((l) => [Number(l.id), l]));
const map = new Map(p.mapping.map((m) => [Number(m.id), m]));
if (process.argv[3] === '--locations') {
  for (const l of p.location) {
    const m = map.get(Number(l.mappingId));
    const frames = l.line.map((ln) => {
      const f = fn.get(Number(ln.functionId));
      return `${str(f.name)}|${str(f.filename)}:${ln.line}`;
    });
    console.log(`0x${BigInt(l.address).toString(16)}\t${m ? path.basename(str(m.filename)) : ''}\t${frames.join(';')}`);
  }
  process.exit(0);
}
const out = new Map();
for (const s of p.sample) {
  const frames = [];
  for (let i = s.locationId.length - 1; i >= 0; i--) {
    const l = loc.get(Number(s.locationId[i]));
    if (!l.line.length) {
      const m = map.get(Number(l.mappingId));
      const file = m ? path.basename(str(m.filename)) : 'unknown';
      frames.push(`[${file}+0x${BigInt(l.address).toString(16)}]`);
    }
    for (let k = l.line.length - 1; k >= 0; k--) {
      const f = fn.get(Number(l.line[k].functionId));
      frames.push(`${str(f.name)}|${str(f.systemName)}|${str(f.filename)}:${l.line[k].line}`);
    }
  }
  const labels = s.label.map((x) => `${str(x.key)}=${x.str ? str(x.str) : String(x.num)}`).sort();
  const key = `${labels.join(',')} ${frames.join(';')}`;
  const v = out.get(key) || s.value.map(() => 0n);
  s.value.forEach((x, i) => { v[i] += BigInt(x); });
  out.set(key, v);
}
console.log(`types ${p.sampleType.map(vt).join(' ')} period ${p.periodType ? vt(p.periodType) : '-'} ${p.period}`);
for (const k of [...out.keys()].sort()) console.log(`${k} ${out.get(k).join(' ')}`);
