// The grammar agrees with kflow's own reading of every kflow text in the
// repository; agree.js says what that means.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { problems, sources } = require('./agree');

const all = sources();

test('there are examples and docs blocks to check', () => {
  assert.ok(all.filter((s) => s.name.startsWith('examples/')).length >= 5);
  assert.ok(all.filter((s) => s.name.startsWith('docs/')).length >= 50);
});

for (const src of all) {
  test(`grammar agrees with kflow: ${src.name}`, async () => {
    assert.deepStrictEqual(await problems(src), []);
  });
}
