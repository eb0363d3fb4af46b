// The partition strip's arithmetic (`npm test`, run by `make ui`): segments in
// proportion to the counts, in status order, filling the strip exactly, a lone stale
// partition among many still visible, and the counts text as `sheer status` prints it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countsText, stripSegments } from '../src/partitions.js';

const total = (segments) => segments.reduce((n, s) => n + s.width, 0);

test('the counts read as sheer status prints them, absent statuses as 0', () => {
  assert.equal(countsText({ FRESH: 362, STALE: 3, MISSING: 0 }), 'fresh 362 / stale 3 / missing 0');
  assert.equal(countsText({ STALE: 1 }), 'fresh 0 / stale 1 / missing 0');
});

test('segments are in proportion, fresh then stale then missing, and fill the strip', () => {
  const segments = stripSegments({ FRESH: 50, STALE: 25, MISSING: 25 }, 200);
  assert.deepEqual(segments, [
    { status: 'FRESH', x: 0, width: 100 },
    { status: 'STALE', x: 100, width: 50 },
    { status: 'MISSING', x: 150, width: 50 },
  ]);
});

test('a status without partitions has no segment', () => {
  const segments = stripSegments({ FRESH: 3, STALE: 0, MISSING: 1 }, 100);
  assert.deepEqual(segments.map((s) => s.status), ['FRESH', 'MISSING']);
  assert.deepEqual(segments.map((s) => s.width), [75, 25]);
});

test('one stale partition of a thousand is still visible, and the strip still fills', () => {
  const segments = stripSegments({ FRESH: 999, STALE: 1, MISSING: 0 }, 190);
  const stale = segments.find((s) => s.status === 'STALE');
  assert.equal(stale.width, 2);
  assert.ok(Math.abs(total(segments) - 190) < 1e-9);
  assert.equal(stale.x, segments[0].width); // right after the fresh one
});

test('no partitions at all draw no segment', () => {
  assert.deepEqual(stripSegments({ FRESH: 0, STALE: 0, MISSING: 0 }, 190), []);
  assert.deepEqual(stripSegments({}, 190), []);
});
