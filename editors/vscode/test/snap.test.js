// The snapshot inputs in test/snap/ are exact copies of examples/*.kflow,
// each with its snapshot: an example added or changed without
// `npm run snap:update` fails here rather than going unsnapshotted.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { EXAMPLES, SNAP, examples } = require('./sync-snap');

test('test/snap/ holds every example, unchanged, with a snapshot', () => {
  const inputs = fs.readdirSync(SNAP).filter((f) => f.endsWith('.kflow')).sort();
  assert.deepStrictEqual(inputs, examples(), 'run `npm run snap:update`');
  for (const f of inputs) {
    const copy = fs.readFileSync(path.join(SNAP, f), 'utf8');
    assert.strictEqual(copy, fs.readFileSync(path.join(EXAMPLES, f), 'utf8'), `${f} is stale: run \`npm run snap:update\``);
    assert.ok(fs.existsSync(path.join(SNAP, `${f}.snap`)), `${f} has no snapshot: run \`npm run snap:update\``);
  }
  const snaps = fs.readdirSync(SNAP).filter((f) => f.endsWith('.snap')).sort();
  assert.deepStrictEqual(snaps, inputs.map((f) => `${f}.snap`), 'a snapshot without its example');
});
