// SPDX-License-Identifier: Apache-2.0
// A Node program profiled by the real Pyroscope SDK (@pyroscope/nodejs), with a known answer:
// almost all of its time is in hotFn (a busy loop), and it keeps about 32 MiB alive in
// retainMemory's arrays. usage: node pyro_sdk_app.js URL APP SECONDS [TENANT]
'use strict';
const Pyroscope = require('@pyroscope/nodejs');

const [url, app, seconds, tenant] = process.argv.slice(2);
const kept = [];

function retainMemory() {
  for (let i = 0; i < 64; i++) kept.push(new Array(64 * 1024).fill(i)); // 64 x 512 KiB
}

function hotFn(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 10000; i++) x += Math.sqrt(i * x + 1);
  return x;
}

Pyroscope.init({
  serverAddress: url,
  appName: app,
  tags: { team: 'sonde', workload: 'known' },
  flushIntervalMs: 2000,
  ...(tenant ? { tenantID: tenant } : {}),
});
Pyroscope.start();
retainMemory();
const stopAt = Date.now() + Number(seconds) * 1000;
(function loop() {
  hotFn(50);
  if (Date.now() < stopAt) setImmediate(loop);
  else Pyroscope.stop().then(() => process.exit(0));
})();
