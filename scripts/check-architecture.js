#!/usr/bin/env node
// Two rules of the layout that the compiler cannot see, checked in CI (`npm run lint`):
// 1. Rooms (the folders under src/, and each top-level module) import each other without
//    cycles (value imports: `import type` is erased at run time).
// 2. Only stores (`*.store.ts`) and the database room (`src/db/`) speak Prisma.
'use strict';
const { readdirSync, readFileSync, statSync } = require('node:fs');
const path = require('node:path');

const src = path.resolve(__dirname, '../src');
const files = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'generated' ? [] : files(full);
    return name.endsWith('.ts') ? [full] : [];
  });
/** A file's room: its folder under src/; each top-level module is a room of its own. */
const roomOf = (file) => {
  const parts = path.relative(src, file).split(path.sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
};

const problems = [];
const edges = new Map();
for (const file of files(src)) {
  const text = readFileSync(file, 'utf8');
  const from = roomOf(file);
  // Type-only imports are erased: they describe an interface and couple nothing at run time.
  for (const [, spec] of text.matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms)) {
    const target = path.resolve(path.dirname(file), spec);
    if (target.startsWith(path.join(src, 'generated'))) continue;
    const to = roomOf(`${target}.ts`);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    edges.get(from).set(to, `${path.relative(src, file)} → ${spec}`);
  }
  const store = file.endsWith('.store.ts') || from === 'db';
  if (
    !store &&
    /(\.\$(queryRaw|executeRaw|transaction|queryRawUnsafe|executeRawUnsafe)\b|\bprismaOf\(|\.prisma\b)/.test(text)
  )
    problems.push(`${path.relative(src, file)}: queries the database outside a *.store.ts file`);
}

// Cycles between rooms: a depth-first search that reports each back edge's cycle once.
const seen = new Set();
const reported = new Set();
const visit = (room, trail) => {
  if (trail.includes(room)) {
    const cycle = trail.slice(trail.indexOf(room));
    const key = [...cycle].sort().join(' ');
    if (!reported.has(key)) {
      reported.add(key);
      const steps = cycle.map((r, i) => `  ${edges.get(r).get(cycle[(i + 1) % cycle.length])}`);
      problems.push(`rooms import each other in a cycle: ${[...cycle, room].join(' → ')}\n${steps.join('\n')}`);
    }
    return;
  }
  if (seen.has(room) && !trail.length) return;
  for (const next of edges.get(room)?.keys() ?? []) visit(next, [...trail, room]);
  seen.add(room);
};
for (const room of edges.keys()) visit(room, []);

if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`architecture: ${edges.size} rooms, no cycle between them; Prisma only in stores\n`);
