// Compares the grammar's scopes with the reference lexer in lexer.js,
// character by character, over every real kflow text in the repository
// (examples/, each ```kflow block of docs/language.md, and the syntax
// tests). The regressions this catches are the ones that hurt in an
// editor: a string or comment that does not end where kflow ends it (and so
// recolours the rest of the file), a `{{variable}}` or escape not seen, a
// begin/end rule left open past its item, a keyword or bracket swallowed by
// another rule, and `invalid` marks on correct code.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { tokenize } = require('./grammar');
const { lex, KEYWORDS } = require('./lexer');

const ROOT = path.join(__dirname, '..', '..', '..');

// Codes whose examples are meant to hold text the grammar marks invalid.
const LEXICAL_ERRORS = new Set([
  'kflow::syntax::escape',
  'kflow::syntax::control_character',
  'kflow::var::malformed',
]);

/** Every kflow text to check: {name, text, firstLine, expect}. */
function sources() {
  const out = [];
  const examples = path.join(ROOT, 'examples');
  for (const file of fs.readdirSync(examples).sort()) {
    if (file.endsWith('.kflow')) {
      const text = fs.readFileSync(path.join(examples, file), 'utf8');
      out.push({ name: `examples/${file}`, text, firstLine: 1, expect: expectOf(text) });
    }
  }
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'language.md'), 'utf8').split('\n');
  for (let i = 0; i < doc.length; i++) {
    if (doc[i].trim() !== '```kflow') continue;
    const start = i + 1;
    let end = start;
    while (end < doc.length && doc[end].trim() !== '```') end++;
    const text = doc.slice(start, end).join('\n') + '\n';
    out.push({ name: `docs/language.md:${start + 1}`, text, firstLine: start + 1, expect: expectOf(text) });
    i = end;
  }
  const syntax = path.join(__dirname, 'syntax');
  for (const file of fs.readdirSync(syntax).sort()) {
    if (file.endsWith('.kflow')) {
      const text = fs.readFileSync(path.join(syntax, file), 'utf8');
      // Syntax tests mark invalid text on purpose; they are checked for
      // agreement with the lexer only.
      out.push({ name: `editors/vscode/test/syntax/${file}`, text, firstLine: 1, expect: 'syntax-test' });
    }
  }
  return out;
}

/** The code a docs block says it produces (`# expect: CODE` first line), if any. */
function expectOf(text) {
  const m = /^# expect: (\S+)/.exec(text);
  return m ? m[1] : null;
}

/** Scopes of every character, and the scopes in force at each line end. */
async function scopesOf(text, raw) {
  const lines = await tokenize(text, raw);
  const at = new Array(text.length);
  const lineEnd = [];
  let offset = 0;
  for (const { line, tokens, after } of lines) {
    for (const t of tokens) {
      for (let c = t.start; c < t.end; c++) at[offset + c] = t.scopes;
    }
    offset += line.length;
    lineEnd.push({ offset, after });
    offset += 1; // the line break
  }
  return { at, lineEnd };
}

function has(scopes, prefix) {
  return scopes.some((s) => s === prefix || s.startsWith(prefix + '.'));
}

function where(src, text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  const lineText = text.split('\n')[line - 1];
  return `${src.name.replace(/:\d+$/, '')}:${src.firstLine + line - 1}:${col}: ${JSON.stringify(lineText)}`;
}

/** Every disagreement between the grammar and the lexer on `src`. */
async function problems(src, raw) {
  const text = src.text.replace(/\r\n/g, '\n');
  const ref = lex(text);
  const { at, lineEnd } = await scopesOf(text, raw);
  const found = [];
  const report = (offset, what) => {
    if (found.length < 20) found.push(`${where(src, text, offset)}: ${what}`);
  };

  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n') continue;
    const scopes = at[i] || [];
    const k = ref.kind[i];
    const inString = has(scopes, 'string.quoted.double');
    const inComment = has(scopes, 'comment.line.number-sign');
    if ((k === 'string') !== inString) {
      report(i, `${JSON.stringify(text[i])} is ${k} in kflow but the grammar says [${scopes.join(' ')}]`);
    } else if ((k === 'comment') !== inComment) {
      report(i, `${JSON.stringify(text[i])} is ${k} in kflow but the grammar says [${scopes.join(' ')}]`);
    }
  }

  // Line ends: a string may go on to the next line (kflow strings span
  // lines), a comment never does, and a string open in the grammar must be
  // open in kflow too.
  for (const { offset, after } of lineEnd) {
    if (offset >= text.length) break;
    const refOpen = ref.kind[offset] === 'string';
    if (has(after, 'comment.line.number-sign')) report(offset, 'a comment goes on past the end of its line');
    if (has(after, 'string.quoted.double') !== refOpen) {
      report(offset, `at the end of this line kflow is ${refOpen ? '' : 'not '}inside a string, the grammar [${after.join(' ')}]`);
    }
  }

  // Each top-level item starts with every grammar rule closed: nothing from
  // the item before it leaks in.
  for (const start of ref.itemStarts) {
    const lineStart = text.lastIndexOf('\n', start - 1) + 1;
    if (text.slice(lineStart, start).trim() !== '') continue;
    const prev = lineEnd.find((e) => e.offset === lineStart - 1);
    if (prev && prev.after.length !== 1) {
      report(start, `an item starts inside [${prev.after.join(' ')}]`);
    }
  }
  const last = lineEnd[lineEnd.length - 1];
  if (ref.kind[text.length - 1] !== 'string' && !src.expect?.startsWith('kflow::syntax::') && last.after.length !== 1) {
    report(text.length - 1, `the file ends inside [${last.after.join(' ')}]`);
  }

  for (const e of ref.escapes) {
    const want = e.valid ? 'constant.character.escape' : 'invalid.illegal.escape';
    for (let c = e.start; c < e.end; c++) {
      if (text[c] !== '\n' && !has(at[c] || [], want)) report(c, `escape ${JSON.stringify(text.slice(e.start, e.end))} is not ${want}`);
    }
  }
  const named = new Set();
  for (const n of ref.names) {
    if (text.slice(n.start, n.end).includes('\n')) continue;
    for (let c = n.start; c < n.end; c++) {
      named.add(c);
      const s = at[c] || [];
      if (!has(s, 'meta.interpolation') || !(has(s, 'variable.other') || has(s, 'punctuation.accessor'))) {
        report(c, `variable ${JSON.stringify(text.slice(n.start, n.end))} is not scoped as one: [${s.join(' ')}]`);
      }
    }
  }
  const inVariable = (c) => ref.variables.some((v) => v.start <= c && c < v.end);
  for (let c = 0; c < text.length; c++) {
    if (at[c] && has(at[c], 'meta.interpolation') && !inVariable(c)) {
      report(c, 'scoped as a variable, but kflow reads no variable here');
    }
  }

  for (const b of ref.brackets) {
    const want = '<>'.includes(text[b]) ? 'punctuation.section.block' : 'punctuation.section.parens';
    const s = at[b] || [];
    if (!has(s, want) && !has(s, 'invalid.illegal')) report(b, `${text[b]} is not ${want}: [${s.join(' ')}]`);
  }
  for (const w of ref.words) {
    const s = at[w.start] || [];
    const own = s.filter((x) => x !== 'source.kflow' && !x.startsWith('meta.'));
    if (KEYWORDS.has(w.text) && own.length === 0) report(w.start, `keyword ${w.text} has no scope`);
    if (/^(\d+[dhms])+$/.test(w.text) && text[w.start - 1] !== '.' && !has(s, 'constant.numeric.duration')) {
      report(w.start, `duration ${w.text} is not constant.numeric.duration: [${s.join(' ')}]`);
    }
  }

  for (const f of ref.fields) {
    const want = f.role === 'name' ? 'entity.other.attribute-name' : 'constant.language.value';
    const s = at[f.start] || [];
    if (!has(s, want)) report(f.start, `field ${f.role} ${f.text} is not ${want}: [${s.join(' ')}]`);
  }

  if (src.expect !== 'syntax-test') {
    const invalid = [];
    for (let c = 0; c < text.length; c++) {
      if (at[c] && has(at[c], 'invalid')) invalid.push(c);
    }
    if (LEXICAL_ERRORS.has(src.expect)) {
      if (invalid.length === 0) report(0, `this example of ${src.expect} has nothing marked invalid`);
    } else {
      for (const c of invalid.slice(0, 3)) report(c, `marked invalid: [${at[c].join(' ')}]`);
    }
  }
  return found;
}

module.exports = { problems, sources };
