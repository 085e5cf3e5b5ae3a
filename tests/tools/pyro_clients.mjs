// SPDX-License-Identifier: Apache-2.0
// Real clients of the Pyroscope API against a Sonde collector, each check failing with a reason:
//   connect GEN URL TENANT FROM_MS TO_MS TOTAL_NS SHARE  every query method, in the binary and
//       the JSON codec, with the Connect client generated from proto/ by protoc-gen-es (GEN):
//       the flame graph of the split workload (service "split") has TOTAL_NS and hot_a's SHARE.
//   push GEN URL TENANT  pprof profiles of a known content pushed with push.v1.PusherService/Push
//       (both codecs), then read back.
//   sdk GEN URL TENANT APP  what @pyroscope/nodejs sent for the app tests/workloads/node runs.
//   perses URL TENANT SERVICE FROM_S UNTIL_S  @perses-dev/pyroscope-plugin's own client.
//   errors GEN URL TENANT  bad requests get the right Connect codes, through the client.
import { createRequire } from 'node:module';
import { strict as assert } from 'node:assert';
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import * as pf from 'pprof-format';

const require = createRequire(import.meta.url);
const [cmd, ...args] = process.argv.slice(2);
const CPU = 'process_cpu:cpu:nanoseconds:cpu:nanoseconds';

async function services(gen, url, binary) {
  const { QuerierService } = await import(`${gen}/querier/v1/querier_pb.js`);
  const { PusherService } = await import(`${gen}/push/v1/push_pb.js`);
  const { SettingsService } = await import(`${gen}/settings/v1/setting_pb.js`);
  const transport = createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat: binary });
  return {
    q: createClient(QuerierService, transport),
    push: createClient(PusherService, transport),
    settings: createClient(SettingsService, transport),
  };
}

// The nodes of a flame graph in levels, checked: x ascending, inside the parent, self <= total.
function nodesOf(fg) {
  assert.equal(fg.names[0], 'total');
  const total = BigInt(fg.total);
  const lv = fg.levels.map((l) => l.values.map(BigInt));
  assert.deepEqual(lv[0], [0n, total, 0n, 0n]);
  const nodes = [];
  let parents = [{ x: 0n, total, self: 0n }];
  let maxSelf = 0n;
  let selfSum = 0n;
  for (let d = 0; d < lv.length; d++) {
    const row = [];
    let end = 0n;
    assert.equal(lv[d].length % 4, 0, `level ${d}: not 4-tuples`);
    for (let i = 0; i < lv[d].length; i += 4) {
      const [dx, t, s, name] = lv[d].slice(i, i + 4);
      const x = end + dx;
      assert.ok(dx >= 0n && s >= 0n && s <= t, `level ${d}: a bad node ${lv[d].slice(i, i + 4)}`);
      const parent = d === 0 ? null : parents.find((p) => x >= p.x && x + t <= p.x + p.total);
      assert.ok(d === 0 || parent, `level ${d}: node ${fg.names[name]} is outside every parent`);
      end = x + t;
      const n = { depth: d, name: fg.names[Number(name)], x, total: t, self: s };
      row.push(n);
      nodes.push(n);
      if (s > maxSelf) maxSelf = s;
      selfSum += s;
    }
    parents = row;
  }
  assert.equal(selfSum, total, 'the selfs do not add up to the total');
  assert.equal(BigInt(fg.maxSelf), maxSelf);
  return nodes;
}

function sumBy(nodes, name) {
  return nodes.filter((n) => n.name === name).reduce((a, n) => a + n.total, 0n);
}

async function expectCode(p, code, what) {
  try {
    await p;
  } catch (e) {
    const ce = ConnectError.from(e);
    assert.equal(ce.code, code, `${what}: ${Code[ce.code]} (${ce.rawMessage}), not ${Code[code]}`);
    return ce.rawMessage;
  }
  assert.fail(`${what}: no error`);
}

async function connectChecks(gen, url, tenant, fromMs, toMs, wantTotal, wantShare) {
  const h = { headers: { 'X-Scope-OrgID': tenant } };
  const start = BigInt(fromMs);
  const end = BigInt(toMs);
  const sel = '{service_name="split"}';
  for (const binary of [true, false]) {
    const codec = binary ? 'proto' : 'json';
    const { q, settings } = await services(gen, url, binary);
    const types = await q.profileTypes({ start, end }, h);
    const cpu = types.profileTypes.find((t) => t.ID === CPU);
    assert.ok(cpu, `${codec}: ProfileTypes has no ${CPU}: ${JSON.stringify(types.profileTypes.map((t) => t.ID))}`);
    assert.deepEqual([cpu.name, cpu.sampleType, cpu.sampleUnit, cpu.periodType, cpu.periodUnit],
      ['process_cpu', 'cpu', 'nanoseconds', 'cpu', 'nanoseconds']);
    const names = await q.labelNames({ matchers: [sel], start, end }, h);
    for (const n of ['service_name', 'process_executable_name', '__profile_type__', '__name__'])
      assert.ok(names.names.includes(n), `${codec}: LabelNames lacks ${n}: ${names.names}`);
    assert.deepEqual([...names.names].sort(), names.names, 'LabelNames is not sorted');
    const values = await q.labelValues({ name: 'service_name', start, end }, h);
    assert.ok(values.names.includes('split'), `${codec}: LabelValues: ${values.names}`);
    const series = await q.series({ labelNames: ['service_name', '__profile_type__'], start, end }, h);
    assert.ok(series.labelsSet.some((s) => s.labels.length === 2 &&
      s.labels.some((l) => l.name === 'service_name' && l.value === 'split') &&
      s.labels.some((l) => l.name === '__profile_type__' && l.value === CPU)),
      `${codec}: Series: ${JSON.stringify(series.labelsSet)}`);
    // the flame graph: Sonde's total in ns, the workload's split
    const fgr = await q.selectMergeStacktraces({ profileTypeID: CPU, labelSelector: sel, start, end, maxNodes: 16384n }, h);
    assert.ok(fgr.flamegraph, `${codec}: no flame graph`);
    const nodes = nodesOf(fgr.flamegraph);
    assert.equal(BigInt(fgr.flamegraph.total), BigInt(wantTotal), `${codec}: the total in ns`);
    assert.ok(!nodes.some((n) => n.depth === 1 && n.name === 'split'), 'the process is a frame');
    const a = sumBy(nodes, 'hot_a');
    const b = sumBy(nodes, 'hot_b');
    const share = Number(a) / Number(a + b);
    assert.ok(Math.abs(share - wantShare) < 1e-9, `${codec}: hot_a's share ${share}, not ${wantShare}`);
    // the same through a matcher on the type (as Drilldown selects)
    const fg2 = await q.selectMergeStacktraces({ profileTypeID: CPU,
      labelSelector: `{service_name="split",__profile_type__="${CPU}"}`, start, end }, h);
    assert.equal(BigInt(fg2.flamegraph.total), BigInt(wantTotal));
    // a few nodes only: the smallest folded into "other", the total kept
    const small = await q.selectMergeStacktraces({ profileTypeID: CPU, labelSelector: sel, start, end, maxNodes: 4n }, h);
    const sn = nodesOf(small.flamegraph);
    assert.ok(sn.length <= 4 + 2, `${codec}: maxNodes 4 gave ${sn.length} nodes`);
    assert.equal(BigInt(small.flamegraph.total), BigInt(wantTotal));
    // time series: steps of 1 s add up to the same total, grouped and not
    for (const groupBy of [[], ['service_name']]) {
      const ss = await q.selectSeries({ profileTypeID: CPU, labelSelector: sel, start, end, step: 1, groupBy }, h);
      assert.equal(ss.series.length, 1, `${codec}: SelectSeries by ${groupBy}: ${ss.series.length} series`);
      const sum = ss.series[0].points.reduce((x, p) => x + p.value, 0);
      assert.equal(sum, Number(wantTotal), `${codec}: SelectSeries sums to ${sum}`);
      if (groupBy.length) assert.deepEqual(ss.series[0].labels.map((l) => [l.name, l.value]), [['service_name', 'split']]);
      const ts = ss.series[0].points.map((p) => Number(p.timestamp));
      assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]) && ts[0] >= fromMs && ts.at(-1) <= toMs + 1000, `${codec}: timestamps ${ts}`);
    }
    // the heatmap: one slot per step with data (as SelectSeries has points), value ranges
    // ascending, and as many profiles (a series in a step) as Sonde's own /api/v1/heatmap counts
    const hm = await q.selectHeatmap({ profileTypeID: CPU, labelSelector: sel, start, end, step: 1, groupBy: ['service_name'] }, h);
    assert.equal(hm.series.length, 1, `${codec}: SelectHeatmap series`);
    assert.deepEqual(hm.series[0].labels.map((l) => [l.name, l.value]), [['service_name', 'split']]);
    const pts = (await q.selectSeries({ profileTypeID: CPU, labelSelector: sel, start, end, step: 1 }, h)).series[0].points;
    assert.deepEqual(hm.series[0].slots.map((sl) => Number(sl.timestamp)), pts.map((p) => Number(p.timestamp)), `${codec}: heatmap slots`);
    let profiles = 0;
    for (const sl of hm.series[0].slots) {
      assert.ok(sl.yMin.length === sl.counts.length && sl.counts.every((c) => c > 0) &&
        sl.yMin.every((y, i) => i === 0 || y > sl.yMin[i - 1]), `${codec}: a heatmap slot ${JSON.stringify(sl, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
      profiles += sl.counts.reduce((a, c) => a + c, 0);
    }
    const own = await (await fetch(`${url}/api/v1/heatmap?query=${encodeURIComponent(sel)}&from=${fromMs / 1000}&to=${toMs / 1000}&step=1s&buckets=20`,
      { headers: { 'X-Scope-OrgID': tenant } })).json();
    const ownProfiles = own.counts.flat().reduce((a, c) => a + c, 0);
    assert.equal(profiles, ownProfiles, `${codec}: SelectHeatmap has ${profiles} profiles, /api/v1/heatmap ${ownProfiles}`);
    const avg = await q.selectSeries({ profileTypeID: CPU, labelSelector: sel, start, end, step: 1, aggregation: 1 }, h);
    assert.ok(avg.series[0].points.length > 0);
    // the merged pprof: its cpu/nanoseconds column adds up to the total
    const prof = await q.selectMergeProfile({ profileTypeID: CPU, labelSelector: sel, start, end }, h);
    const st = prof.stringTable;
    const col = prof.sampleType.findIndex((t) => st[Number(t.type)] === 'cpu' && st[Number(t.unit)] === 'nanoseconds');
    assert.ok(col >= 0, `${codec}: the pprof has no cpu/nanoseconds column`);
    const ptotal = prof.sample.reduce((x, s) => x + BigInt(s.value[col]), 0n);
    assert.equal(ptotal, BigInt(wantTotal), `${codec}: the pprof's total`);
    // a diff of the range with itself: both sides the total
    const d = await q.diff({ left: { profileTypeID: CPU, labelSelector: sel, start, end },
      right: { profileTypeID: CPU, labelSelector: sel, start, end } }, h);
    assert.equal(BigInt(d.flamegraph.leftTicks), BigInt(wantTotal));
    assert.equal(BigInt(d.flamegraph.rightTicks), BigInt(wantTotal));
    assert.equal(d.flamegraph.levels[0].values.length, 7);
    const stats = await q.getProfileStats({}, h);
    assert.ok(stats.dataIngested && Number(stats.oldestProfileTime) >= fromMs &&
      Number(stats.oldestProfileTime) <= Number(stats.newestProfileTime) &&
      Number(stats.newestProfileTime) <= toMs + 1000, `${codec}: GetProfileStats ${JSON.stringify(stats, (k, v) => typeof v === 'bigint' ? String(v) : v)}`);
    await settings.get({}, h);
    // another tenant sees none of it
    const other = { headers: { 'X-Scope-OrgID': `${tenant}-other` } };
    assert.equal((await q.profileTypes({ start, end }, other)).profileTypes.length, 0);
    assert.equal((await q.selectMergeStacktraces({ profileTypeID: CPU, labelSelector: sel, start, end }, other)).flamegraph, undefined);
    assert.equal((await q.getProfileStats({}, other)).dataIngested, false);
    console.log(`${codec}: every method agrees: ${nodes.length} nodes, total ${fgr.flamegraph.total} ns, hot_a ${share.toFixed(3)}`);
  }
}

async function errorChecks(gen, url, tenant) {
  const h = { headers: { 'X-Scope-OrgID': tenant } };
  for (const binary of [true, false]) {
    const { q } = await services(gen, url, binary);
    await expectCode(q.selectMergeStacktraces({ profileTypeID: CPU, labelSelector: '{service_name=' }, h),
      Code.InvalidArgument, 'a broken selector');
    await expectCode(q.selectMergeStacktraces({ profileTypeID: 'cpu' }, h), Code.InvalidArgument, 'a type of one field');
    await expectCode(q.selectSeries({ profileTypeID: CPU, step: -1 }, h), Code.InvalidArgument, 'a negative step');
    await expectCode(q.labelValues({}, h), Code.InvalidArgument, 'LabelValues without a name');
    await expectCode(q.selectMergeStacktraces({ profileTypeID: CPU, start: 10n, end: 5n }, h), Code.InvalidArgument, 'an inverted range');
    await expectCode(q.profileTypes({}, { headers: { 'X-Scope-OrgID': 'bad tenant!' } }), Code.InvalidArgument, 'a bad tenant');
    // a type nobody sent: no data, not an error (what Grafana shows as an empty panel)
    const none = await q.selectMergeStacktraces({ profileTypeID: 'memory:alloc_space:bytes::', labelSelector: '{}' }, h);
    assert.equal(none.flamegraph, undefined);
  }
  console.log('errors: the client gets invalid_argument for bad selectors, types, steps, ranges and tenants');
}

function pprofOf(stacks, type, unit, timeNs) {
  const st = new pf.StringTable();
  const fns = new Map();
  const locs = new Map();
  const fn = (name) => {
    if (!fns.has(name)) fns.set(name, new pf.Function({ id: fns.size + 1, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup('push.go') }));
    return fns.get(name);
  };
  const loc = (name) => {
    if (!locs.has(name)) locs.set(name, new pf.Location({ id: locs.size + 1, line: [new pf.Line({ functionId: fn(name).id, line: 1 })] }));
    return locs.get(name);
  };
  const sample = stacks.map(([frames, v]) => new pf.Sample({
    locationId: frames.split(';').reverse().map((f) => loc(f).id), value: [v], label: [] }));
  return new pf.Profile({
    sampleType: [new pf.ValueType({ type: st.dedup(type), unit: st.dedup(unit) })],
    periodType: new pf.ValueType({ type: st.dedup(type), unit: st.dedup(unit) }),
    period: 1, timeNanos: timeNs, sample, location: [...locs.values()], function: [...fns.values()], stringTable: st,
  }).encode();
}

async function pushChecks(gen, url, tenant) {
  const h = { headers: { 'X-Scope-OrgID': tenant } };
  const now = BigInt(Date.now());
  for (const binary of [true, false]) {
    const codec = binary ? 'proto' : 'json';
    const { q, push } = await services(gen, url, binary);
    const app = `pushed-${codec}`;
    const cpu = pprofOf([['main;work;hotPush', 3000000000], ['main;work;coldPush', 1000000000]], 'cpu', 'nanoseconds', now * 1000000n);
    const mem = pprofOf([['main;alloc;bigAlloc', 1 << 20]], 'alloc_space', 'bytes', now * 1000000n);
    const labels = (name) => [{ name: '__name__', value: name }, { name: 'service_name', value: app },
      { name: 'env', value: 'test' }, { name: '__delta__', value: 'false' }];
    await push.push({ series: [
      { labels: labels('process_cpu'), samples: [{ rawProfile: cpu, ID: 'a' }] },
      { labels: labels('memory'), samples: [{ rawProfile: mem, ID: 'b' }] },
    ] }, h);
    const start = now - 60000n;
    const end = now + 60000n;
    const fg = await q.selectMergeStacktraces({ profileTypeID: CPU, labelSelector: `{service_name="${app}",env="test"}`, start, end }, h);
    const nodes = nodesOf(fg.flamegraph);
    assert.equal(BigInt(fg.flamegraph.total), 4000000000n, `${codec}: pushed cpu total`);
    assert.equal(sumBy(nodes, 'hotPush'), 3000000000n);
    const m = await q.selectMergeStacktraces({ profileTypeID: 'memory:alloc_space:bytes:alloc_space:bytes', labelSelector: `{service_name="${app}"}`, start, end }, h);
    assert.equal(BigInt(m.flamegraph.total), BigInt(1 << 20), `${codec}: pushed memory total`);
    const ln = await q.labelNames({ matchers: [`{service_name="${app}"}`], start, end }, h);
    assert.ok(!ln.names.includes('__delta__'), 'the private __delta__ label was kept');
    await expectCode(push.push({ series: [{ labels: labels('process_cpu'), samples: [{ rawProfile: new Uint8Array([1, 2, 3, 4]) }] }] }, h),
      Code.InvalidArgument, `${codec}: a broken pprof`);
    // cumulative allocations without __delta__="false": the server keeps the previous profile
    // and stores the difference (the first is only the baseline), as Pyroscope does
    const cum = (n, v) => pprofOf([['main;alloc;growing', v]], 'alloc_space', 'bytes', (now + BigInt(n)) * 1000000n);
    const cumLabels = [{ name: '__name__', value: 'memory' }, { name: 'service_name', value: `${app}-cum` }];
    for (const [n, v] of [[0, 1000], [1, 1600], [2, 2100]])
      await push.push({ series: [{ labels: cumLabels, samples: [{ rawProfile: cum(n, v) }] }] }, h);
    const c = await q.selectMergeStacktraces({ profileTypeID: 'memory:alloc_space:bytes:alloc_space:bytes', labelSelector: `{service_name="${app}-cum"}`, start, end }, h);
    assert.equal(BigInt(c.flamegraph.total), 1100n, `${codec}: cumulative pushes as deltas: ${c.flamegraph.total}, not 600 + 500`);
    console.log(`${codec}: pushed profiles read back: cpu 4000000000 ns (hotPush 3/4), alloc_space 1 MiB; cumulative ones as deltas`);
  }
}

async function sdkChecks(gen, url, tenant, app) {
  const h = { headers: { 'X-Scope-OrgID': tenant } };
  const { q } = await services(gen, url, false);
  const end = BigInt(Date.now());
  const start = end - 600000n;
  const types = (await q.profileTypes({ start, end }, h)).profileTypes.map((t) => t.ID);
  for (const want of ['wall:wall:nanoseconds:wall:nanoseconds', 'memory:inuse_space:bytes:inuse_space:bytes',
    'memory:inuse_objects:count:inuse_space:bytes'])
    assert.ok(types.includes(want), `the SDK's ${want} is missing: ${types}`);
  const sel = `{service_name="${app}"}`;
  const series = await q.series({ matchers: [sel], start, end }, h);
  const labels = Object.fromEntries(series.labelsSet[0].labels.map((l) => [l.name, l.value]));
  assert.equal(labels.team, 'sonde', `the SDK's tags: ${JSON.stringify(labels)}`);
  assert.equal(labels.workload, 'known');
  assert.equal(labels.pyroscope_spy, 'nodespy');
  const wall = await q.selectMergeStacktraces({ profileTypeID: 'wall:wall:nanoseconds:wall:nanoseconds', labelSelector: sel, start, end }, h);
  const wn = nodesOf(wall.flamegraph);
  const top = wn.reduce((a, n) => (n.self > a.self ? n : a));
  assert.match(top.name, /hotFn/, `the wall profile's top is ${top.name}`);
  const share = Number(top.self) / Number(wall.flamegraph.total);
  assert.ok(share > 0.5, `hotFn has ${share} of the wall time`);
  const heap = await q.selectMergeStacktraces({ profileTypeID: 'memory:inuse_space:bytes:inuse_space:bytes', labelSelector: sel, start, end }, h);
  const hn = nodesOf(heap.flamegraph);
  const retained = sumBy(hn, hn.find((n) => /retainMemory/.test(n.name))?.name ?? 'none');
  assert.ok(retained >= 32n << 20n, `retainMemory holds ${retained} bytes`);
  console.log(`sdk: wall ${wall.flamegraph.total} ns with ${top.name} on top (${(share * 100).toFixed(0)}%), heap ${heap.flamegraph.total} bytes (retainMemory ${retained})`);
}

async function persesChecks(url, tenant, service, from, until) {
  // the plugin's client module (its datasource module pulls in the React editor: not headless)
  const pc = require('@perses-dev/pyroscope-plugin/lib/cjs/model/pyroscope-client.js');
  const { getProfileData } = require('@perses-dev/pyroscope-plugin/lib/cjs/plugins/pyroscope-profile-query/get-profile-data.js');
  const headers = { 'X-Scope-OrgID': tenant, 'content-type': 'application/json' };
  const o = { datasourceUrl: url, headers };
  const client = {
    searchProfiles: (params) => pc.searchProfiles(params, o),
    searchProfileTypes: (params, h, body) => pc.searchProfileTypes(params, o, body),
    searchLabelNames: (params, h, body) => pc.searchLabelNames(params, o, body),
    searchLabelValues: (params, h, body) => pc.searchLabelValues(params, o, body),
    searchServices: (params) => pc.searchServices(params, o),
  };
  const types = await client.searchProfileTypes(undefined, headers, {});
  assert.ok(types.profileTypes.some((t) => t.ID === CPU), JSON.stringify(types));
  const names = await client.searchLabelNames(undefined, headers, {});
  assert.ok(names.names.includes('service_name'));
  const values = await client.searchLabelValues(undefined, headers, { name: 'process_executable_name' });
  assert.ok(values.names.includes(service), JSON.stringify(values));
  const svcs = await client.searchServices(undefined, headers);
  assert.ok(svcs.names.includes(service));
  const ctx = {
    datasourceStore: { getDatasourceClient: async () => client },
    absoluteTimeRange: { start: new Date(from * 1000), end: new Date(until * 1000) },
  };
  const data = await getProfileData({ profileType: CPU, service }, ctx);
  assert.ok(data.numTicks > 0 && data.profile.stackTrace, JSON.stringify(data).slice(0, 300));
  const names2 = [];
  const walk = (n) => { if (n.name) names2.push(n.name); (n.children || []).forEach(walk); };
  walk(data.profile.stackTrace);
  for (const f of ['main', 'hot_a', 'hot_b']) assert.ok(names2.includes(f), `the Perses tree lacks ${f}`);
  assert.equal(data.metadata.units, 'samples');
  console.log(`perses: ${types.profileTypes.length} types, ${svcs.names.length} services, a tree of ${names2.length} frames and ${data.numTicks} ticks`);
}

try {
  if (cmd === 'connect') await connectChecks(args[0], args[1], args[2], Number(args[3]), Number(args[4]), args[5], Number(args[6]));
  else if (cmd === 'errors') await errorChecks(args[0], args[1], args[2]);
  else if (cmd === 'push') await pushChecks(args[0], args[1], args[2]);
  else if (cmd === 'sdk') await sdkChecks(args[0], args[1], args[2], args[3]);
  else if (cmd === 'perses') await persesChecks(args[0], args[1], args[2], Number(args[3]), Number(args[4]));
  else throw new Error(`unknown command ${cmd}`);
} catch (e) {
  console.error(`FAIL ${cmd}: ${e.stack || e}`);
  process.exit(1);
}
