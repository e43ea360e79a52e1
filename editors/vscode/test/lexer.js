// A reference lexer for kflow, written from grammar/kflow.pest and
// src/syntax/text.rs rather than from the TextMate grammar, so the two can be
// compared character by character. It knows only what highlighting must
// agree with the real parser on: where strings and comments start and end,
// escapes, `{{variables}}`, brackets, keywords and durations.
'use strict';

const KEYWORDS = new Set([
  'workflow', 'field', 'on', 'reply', 'if', 'else', 'cta', 'whatsapp', 'template', 'sms',
  'email', 'wait', 'await', 'tag', 'untag', 'stop', 'link', 'opened', 'not', 'delivered',
  'timeout', 'or', 'and', 'contains', 'has', 'quiet', 'timezone', 'default', 'at', 'most', 'per',
  'goal',
]);

const IDENT_CHAR = /[A-Za-z0-9_]/;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Lexes `text` (LF line breaks). Returns:
 * - `kind[i]`: 'code', 'comment' or 'string' for every character;
 * - `escapes`: {start, end, valid} for each backslash escape in a string;
 * - `variables`: {start, end} of each well-formed `{{...}}` (braces included)
 *   and `names`: {start, end} of the dotted name inside it;
 * - `words`: {start, end, text} of each identifier or number in code;
 * - `itemStarts`: offsets where a top-level item starts (`workflow`, `field`,
 *   `quiet`, `at`, `goal` or `on` outside any block, as src/syntax/split.rs
 *   cuts a file);
 * - `brackets`: offsets of `<`, `>`, `(`, `)` in code.
 */
function lex(text) {
  const kind = new Array(text.length).fill('code');
  const escapes = [];
  const variables = [];
  const names = [];
  const words = [];
  const itemStarts = [];
  const brackets = [];
  const fields = [];
  // Code tokens in order, to find the fields blocks of messages.
  const tokens = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        j += text[j] === '\\' && j + 1 < text.length ? 2 : 1;
      }
      // An unterminated string runs to the end of the file.
      const end = Math.min(j + 1, text.length);
      kind.fill('string', start, end);
      body(text, start + 1, Math.min(j, text.length), escapes, variables, names);
      tokens.push({ start, end, text: '"' });
      i = end;
    } else if (c === '#') {
      let j = text.indexOf('\n', i);
      if (j < 0) j = text.length;
      kind.fill('comment', i, j);
      i = j;
    } else if (/[A-Za-z_0-9]/.test(c)) {
      let j = i;
      while (j < text.length && IDENT_CHAR.test(text[j])) j++;
      const word = text.slice(i, j);
      if (depth === 0 && ['workflow', 'field', 'on', 'quiet', 'at', 'goal'].includes(word)) {
        itemStarts.push(i);
      }
      words.push({ start: i, end: j, text: word });
      tokens.push({ start: i, end: j, text: word });
      i = j;
    } else {
      if ('<>()'.includes(c)) {
        brackets.push(i);
        tokens.push({ start: i, end: i + 1, text: c });
        if (c === '<' || c === '(') depth++;
        else depth = Math.max(0, depth - 1);
      }
      i++;
    }
  }
  fieldsOf(tokens, fields);
  return { kind, escapes, variables, names, words, itemStarts, brackets, fields };
}

const MESSAGES = new Set(['cta', 'template', 'sms', 'email']);
const DURATION = /^([0-9]+[dhms])+$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Words no message has as a field. Where pest would read one as a field
// name (a fields block missing its `>`), the grammar deliberately ends the
// block there instead, and so does this reference.
const STATEMENT = new Set([
  'on', 'if', 'else', 'cta', 'whatsapp', 'template', 'sms', 'email', 'wait', 'await', 'tag',
  'untag', 'stop', 'workflow', 'field', 'quiet', 'goal',
]);

/**
 * The fields of each message (`cta "name"? <`, `template "name" <`,
 * `sms <`, `email <`), read as the pest rule `field = { ident ~ (string |
 * duration | number ~ ident ~ string? | ident ~ string?) }` reads them:
 * pushes {start, end, role} with role 'name' or 'value' for each word.
 */
function fieldsOf(tokens, out) {
  for (let t = 0; t < tokens.length; t++) {
    if (tokens[t].text !== '<') continue;
    const before = tokens[t - 1];
    const message =
      (before && MESSAGES.has(before.text) && tokens[t - 2]?.text !== 'reply') ||
      (before?.text === '"' && (tokens[t - 2]?.text === 'cta' || tokens[t - 2]?.text === 'template'));
    if (!message) continue;
    let u = t + 1;
    while (u < tokens.length && IDENT.test(tokens[u].text) && !STATEMENT.has(tokens[u].text)) {
      out.push({ ...tokens[u], role: 'name' });
      u++;
      const value = tokens[u];
      if (!value) break;
      if (value.text === '"' || DURATION.test(value.text)) {
        u++;
      } else if (/^[0-9]+$/.test(value.text) && IDENT.test(tokens[u + 1]?.text ?? '')) {
        // A template's `button 0 url "..."`: the kind is the value.
        out.push({ ...tokens[u + 1], role: 'value' });
        u += 2;
        if (tokens[u]?.text === '"') u++;
      } else if (IDENT.test(value.text)) {
        out.push({ ...value, role: 'value' });
        u++;
        if (tokens[u]?.text === '"') u++;
      } else {
        break;
      }
    }
  }
}

/** The body of a string, `text[from..to]`, as src/syntax/text.rs decodes it. */
function body(text, from, to, escapes, variables, names) {
  let i = from;
  while (i < to) {
    if (text[i] === '\\' && i + 1 < to) {
      escapes.push({ start: i, end: i + 2, valid: '"\\n'.includes(text[i + 1]) });
      i += 2;
    } else if (text[i] === '{' && text[i + 1] === '{' && i + 1 < to) {
      const close = text.indexOf('}}', i + 2);
      if (close < 0 || close + 2 > to) return;
      const inner = text.slice(i + 2, close);
      // `{{path | fallback}}`: the path before the first bar; a bar needs a
      // fallback that is not only spaces.
      const bar = inner.indexOf('|');
      const pathPart = bar < 0 ? inner : inner.slice(0, bar);
      const path = pathPart.trim();
      const fallbackOk = bar < 0 || inner.slice(bar + 1).trim() !== '';
      if (PATH.test(path) && fallbackOk) {
        const nameStart = i + 2 + (pathPart.length - pathPart.trimStart().length);
        variables.push({ start: i, end: close + 2 });
        names.push({ start: nameStart, end: nameStart + path.length });
      }
      i = close + 2;
    } else {
      i++;
    }
  }
}

module.exports = { lex, KEYWORDS };
