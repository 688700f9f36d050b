#!/usr/bin/env node
// Feeds three reference collectors (www/collector.mjs, each on 127.0.0.1 with its own temporary
// log) different, overlapping subsets of the same simulated viewers over HTTP, and writes what a
// platform would ship downstream plus what the console itself computes from it:
//   OUT/collector-<k>.ndjson   each collector's export (rows per room / region / minute)
//   OUT/ids.tsv                 room, region, session id (32 hex) of every simulated viewer
//   OUT/console.json            mergeExports() of the three exports: per room, per room × region
//                               and over all rooms: distinct viewers, counters, KLL n/min/max
// Usage: node tests/oracle/collectors_export.mjs OUT [viewers-scale]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCollectorServer } from '../../www/collector.mjs';
import { mergeExports } from '../../pkg/console/node.js';
import { TestViewer, rng } from '../js/support/summaries.mjs';

const out = resolve(process.argv[2] ?? 'target/spark');
const scale = Number(process.argv[3] ?? 1);
mkdirSync(out, { recursive: true });
const T0 = Date.UTC(2026, 0, 6, 12, 0, 0);
const ROOMS = [['big', Math.round(4000 * scale)], ['mid', Math.round(600 * scale)], ['small', 40]];
const REGIONS = ['cn-north', 'cn-east', 'cn-south', 'sg'];

const random = rng(20260106);
const viewers = [];
for (const [room, n] of ROOMS) {
  for (let i = 0; i < n; i++) {
    const t0 = T0 + Math.floor(random() * 10 * 60_000); // arrivals over 10 minutes
    const v = new TestViewer({ random, room, t0, summaries: 2 + Math.floor(random() * 4) });
    v.region = REGIONS[Math.floor(random() * REGIONS.length)];
    // Routing: a home collector; a third of the viewers switch collector mid-view (reconnect,
    // failover), so the collectors' viewer sets overlap.
    v.home = Math.floor(random() * 3);
    v.switchAt = random() < 1 / 3 ? 1 + Math.floor(random() * (v.total - 1)) : Infinity;
    viewers.push(v);
  }
}

const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'livekpi-spark-collector-')));
const servers = await Promise.all(dirs.map((logDir, k) => startCollectorServer({ logDir, collectorId: `collector-${k}` })));
try {
  const t = performance.now();
  let next = 0;
  const send = async () => {
    while (next < viewers.length) {
      const v = viewers[next++];
      while (!v.done) {
        const k = v.seq >= v.switchAt ? (v.home + 1) % 3 : v.home;
        const bytes = v.next();
        const res = await fetch(`${servers[k].url}/api/summary?room=${v.room}`, {
          method: 'POST', body: bytes, headers: { 'x-region': v.region },
        });
        const body = await res.json();
        if (res.status !== 200) throw new Error(`collector ${k}: ${res.status} ${JSON.stringify(body)}`);
        v.ack(body.seq);
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, send));
  const summaries = viewers.reduce((s, v) => s + v.total, 0);
  const exports = [];
  for (const [k, s] of servers.entries()) {
    const text = await (await fetch(`${s.url}/api/collector/export?format=ndjson`)).text();
    writeFileSync(join(out, `collector-${k}.ndjson`), text);
    exports.push(text);
  }
  writeFileSync(join(out, 'ids.tsv'), viewers.map((v) => `${v.room}\t${v.region}\t${v.id}\n`).join(''));
  const all = exports.join('');
  const pick = (a) => ({
    distinct_viewers: a.distinct_viewers,
    counters: a.counters,
    kll: Object.fromEntries(Object.entries(a.quantiles).map(([k, q]) => [k, { n: q.n, min: q.min, max: q.max }])),
  });
  const rooms = {};
  for (const r of mergeExports(all)) {
    rooms[r.room] = { total: pick(r.total), regions: Object.fromEntries(r.regions.map((g) => [g.region, pick(g.aggregate)])) };
  }
  // Over all rooms: the same rows with one room name.
  const one = all.trimEnd().split('\n').map((l) => JSON.stringify({ ...JSON.parse(l), room: '*' })).join('\n');
  const [everything] = mergeExports(one);
  const truth = Object.fromEntries(ROOMS.map(([room]) => [room, viewers.filter((v) => v.room === room).length]));
  const sessionsPerCollector = await Promise.all(servers.map(async (s) => (await (await fetch(`${s.url}/api/collector/stats`)).json()).merger.sessions));
  writeFileSync(join(out, 'console.json'), JSON.stringify({
    rooms, all: pick(everything.total), truth, summaries, sessions_per_collector: sessionsPerCollector,
    watch_ms_truth: Object.fromEntries(ROOMS.map(([room]) => [room, viewers.filter((v) => v.room === room).reduce((s, v) => s + v.cum.watch_ms, 0)])),
  }, null, 1));
  console.log(`collectors_export: ${viewers.length} viewers, ${summaries} summaries over HTTP to 3 collectors ` +
    `(sessions per collector ${sessionsPerCollector.join(' / ')}) in ${((performance.now() - t) / 1000).toFixed(1)} s; ` +
    `${all.trimEnd().split('\n').length} export rows → ${out}`);
} finally {
  await Promise.all(servers.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
