// Copies examples/*.kflow into test/snap/, where vscode-tmgrammar-snap keeps
// a .snap of each beside it (it cannot write them elsewhere, and examples/
// belongs to the Rust tests). `npm run snap:update` runs this, then
// rewrites the snapshots; snap.test.js fails when a copy is stale.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
const SNAP = path.join(__dirname, 'snap');

function examples() {
  return fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.kflow')).sort();
}

function sync() {
  fs.mkdirSync(SNAP, { recursive: true });
  const keep = new Set(examples());
  for (const f of fs.readdirSync(SNAP)) {
    const base = f.replace(/\.snap$/, '');
    if (base.endsWith('.kflow') && !keep.has(base)) fs.rmSync(path.join(SNAP, f));
  }
  for (const f of keep) fs.copyFileSync(path.join(EXAMPLES, f), path.join(SNAP, f));
}

if (require.main === module) sync();

module.exports = { EXAMPLES, SNAP, examples };
