// Loads syntaxes/kflow.tmLanguage.json with the same engine VS Code uses
// (vscode-textmate over the Oniguruma WebAssembly build) and tokenizes text.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const GRAMMAR = path.join(__dirname, '..', 'syntaxes', 'kflow.tmLanguage.json');

let onig;
const loaded = new Map();

/**
 * The kflow grammar, loaded once; or, for the mutation tests, the grammar
 * given as JSON text in `raw`.
 */
function grammar(raw = fs.readFileSync(GRAMMAR, 'utf8')) {
  if (!loaded.has(raw)) {
    loaded.set(raw, load(raw));
  }
  return loaded.get(raw);
}

function load(raw) {
  if (!onig) {
    const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    const onigLib = oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength)).then(() => ({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }));
    onig = onigLib;
  }
  const registry = new vsctm.Registry({
    onigLib: onig,
    loadGrammar: async (scopeName) =>
      scopeName === 'source.kflow' ? vsctm.parseRawGrammar(raw, GRAMMAR) : null,
  });
  return registry.loadGrammar('source.kflow');
}

/**
 * Tokenizes `text` line by line, as an editor does. Returns one entry per
 * line: its text, its tokens ({start, end, scopes}) and `after`, the scopes
 * in force at the end of the line (what the next line starts inside).
 */
async function tokenize(text, raw) {
  const g = await grammar(raw);
  let state = vsctm.INITIAL;
  const lines = text.split(/\r?\n/);
  return lines.map((line) => {
    const r = g.tokenizeLine(line, state);
    state = r.ruleStack;
    const tokens = r.tokens.map((t) => ({
      start: t.startIndex,
      end: Math.min(t.endIndex, line.length),
      scopes: t.scopes,
    }));
    // Tokenizing an empty line from the end state shows which rules are
    // still open there, without changing the state.
    const after = g.tokenizeLine('', state).tokens[0].scopes;
    return { line, tokens, after };
  });
}

module.exports = { grammar, tokenize };
