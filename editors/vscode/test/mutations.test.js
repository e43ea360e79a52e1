// The agreement check must fail on the regressions it exists for: each
// mutation below breaks the grammar the way a careless edit could, and the
// check must report it on the real examples and docs.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { problems, sources } = require('./agree');

const GRAMMAR = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'syntaxes', 'kflow.tmLanguage.json'), 'utf8'));
const real = sources().filter((s) => s.expect !== 'syntax-test');

function mutate(change) {
  const g = structuredClone(GRAMMAR);
  change(g.repository, g);
  return JSON.stringify(g);
}

const MUTATIONS = {
  // `\"` no longer skipped: the string ends at the escaped quote.
  'strings without escapes': (r) => {
    r.string.patterns = r.string.patterns.filter((p) => p.include !== '#escape');
  },
  // A string that stops at the end of its line, as in most languages.
  'strings end at the line end': (r) => {
    r.string.end = '"|$';
  },
  // A comment whose end is lost runs on over the next lines.
  'comments that do not end': (r) => {
    r.comment.end = '(?=>)';
  },
  // `#` no longer read as a comment inside a message's fields.
  'no comments in fields': (r) => {
    r.fields.patterns = r.fields.patterns.filter((p) => p.include !== '#comment');
  },
  // `{{variables}}` no longer seen.
  'no interpolation': (r) => {
    r.string.patterns = r.string.patterns.filter((p) => p.include !== '#interpolation');
  },
  // A message block that never ends (its `>` not recognised).
  'fields never close': (r) => {
    r.fields.end = '(?!)';
  },
  // Field names and values confused.
  'field pairs swapped': (r) => {
    const pair = r.fields.patterns.find((p) => p.captures);
    pair.captures = { 1: pair.captures[2], 2: pair.captures[1] };
  },
  // Durations no longer constants.
  'no durations': (r, g) => {
    g.patterns = g.patterns.filter((p) => p.include !== '#duration');
    r.fields.patterns = r.fields.patterns.filter((p) => p.include !== '#duration');
  },
  // Guardrails not known: their words unscoped, their times and counts
  // marked as broken durations.
  'no guardrails': (r, g) => {
    g.patterns = g.patterns.filter((p) => p.include !== '#guardrail');
  },
  // A template's `button 0 url` read as a broken duration.
  'no template button indexes': (r) => {
    r.fields.patterns = r.fields.patterns.filter((p) => !(p.captures && p.captures[3]));
  },
  // Escapes all marked invalid.
  'every escape invalid': (r) => {
    r.escape.patterns = r.escape.patterns.slice(1);
  },
};

for (const [name, change] of Object.entries(MUTATIONS)) {
  test(`the agreement check catches: ${name}`, async () => {
    const raw = mutate(change);
    let caught = 0;
    for (const src of real) {
      if ((await problems(src, raw)).length > 0) caught++;
    }
    assert.ok(caught > 0, `no example or docs block noticed "${name}"`);
  });
}
