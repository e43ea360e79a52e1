// The client, run against a stand-in `vscode` module: it reads the
// kflow.server.* settings, starts the server over stdio for kflow files,
// and says what to do when kflowc is missing instead of failing silently.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const ROOT = path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** A stand-in for the API VS Code gives extensions: what the client uses. */
function fakeVscode(settings) {
  const shown = [];
  const disposable = { dispose() {} };
  const emitter = () => disposable;
  const api = new Proxy(
    {
      shown,
      workspace: {
        getConfiguration: () => ({ get: (key, fallback) => (key in settings ? settings[key] : fallback) }),
        createFileSystemWatcher: () => ({ ...disposable, onDidCreate: emitter, onDidChange: emitter, onDidDelete: emitter }),
        onDidChangeConfiguration: emitter,
        workspaceFolders: undefined,
        textDocuments: [],
        onDidOpenTextDocument: emitter,
        onDidChangeTextDocument: emitter,
        onDidCloseTextDocument: emitter,
        onDidSaveTextDocument: emitter,
      },
      window: {
        createOutputChannel: () => ({ ...disposable, append() {}, appendLine() {}, show() {}, replace() {}, clear() {} }),
        showErrorMessage: async (message) => {
          shown.push(message);
          return undefined;
        },
      },
      commands: { registerCommand: () => disposable, executeCommand: async () => undefined },
      Disposable: class {
        constructor(f) {
          this.dispose = f;
        }
        static from() {
          return disposable;
        }
      },
    },
    // Anything else the language client touches: a harmless class.
    { get: (target, key) => (key in target ? target[key] : class {}) },
  );
  return api;
}

/**
 * A stand-in for vscode-languageclient's LanguageClient that records how it
 * was made; `start` fails the way spawning a missing program does when
 * `fail` is set.
 */
function fakeClientLibrary({ fail }) {
  const made = [];
  const real = require('vscode-languageclient/node');
  class LanguageClient {
    constructor(id, name, server, client) {
      made.push({ id, name, server, client, started: false, stopped: false });
    }
    async start() {
      if (fail) {
        const err = new Error('spawn no-such-kflowc ENOENT');
        err.code = 'ENOENT';
        throw err;
      }
      made[made.length - 1].started = true;
    }
    async stop() {
      made[made.length - 1].stopped = true;
    }
    async dispose() {}
  }
  return { made, library: { ...real, LanguageClient } };
}

function loadExtension(vscode, client) {
  const resolve = Module._resolveFilename;
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return vscode;
    if (client && request === 'vscode-languageclient/node') return client;
    return load.call(this, request, ...rest);
  };
  try {
    const file = require.resolve(path.join(ROOT, 'extension.js'));
    delete require.cache[file];
    return require(file);
  } finally {
    Module._load = load;
    Module._resolveFilename = resolve;
  }
}

test('the server is kflowc lsp over stdio by default', () => {
  const ext = loadExtension(fakeVscode({}));
  const options = ext.serverOptions({ get: (_key, fallback) => fallback });
  assert.strictEqual(options.run.command, 'kflowc');
  assert.deepStrictEqual(options.run.args, ['lsp']);
  assert.strictEqual(options.run.transport, 0 /* TransportKind.stdio */);
  assert.deepStrictEqual(options.debug, options.run);
});

test('kflow.server.path and kflow.server.args choose the server', () => {
  const ext = loadExtension(fakeVscode({}));
  const settings = { 'server.path': '/opt/kflow/bin/kflowc', 'server.args': ['lsp', '--log', 'debug'] };
  const options = ext.serverOptions({ get: (key, fallback) => (key in settings ? settings[key] : fallback) });
  assert.strictEqual(options.run.command, '/opt/kflow/bin/kflowc');
  assert.deepStrictEqual(options.run.args, ['lsp', '--log', 'debug']);
  // A blank path falls back to kflowc rather than spawning "".
  const blank = ext.serverOptions({ get: (key, fallback) => (key === 'server.path' ? '  ' : fallback) });
  assert.strictEqual(blank.run.command, 'kflowc');
});

test('the settings the client reads are the ones package.json declares', () => {
  const props = manifest.contributes.configuration.properties;
  assert.strictEqual(props['kflow.server.path'].default, 'kflowc');
  assert.deepStrictEqual(props['kflow.server.args'].default, ['lsp']);
  assert.ok(props['kflow.trace.server'], 'vscode-languageclient traces through <id>.trace.server');
});

test('activation starts the client for kflow documents', async () => {
  const vscode = fakeVscode({});
  const { made, library } = fakeClientLibrary({ fail: false });
  const ext = loadExtension(vscode, library);
  await ext.activate({ subscriptions: [] });
  assert.strictEqual(made.length, 1);
  const [client] = made;
  assert.strictEqual(client.id, 'kflow');
  assert.ok(client.started);
  assert.strictEqual(client.server.run.command, 'kflowc');
  assert.deepStrictEqual(client.server.run.args, ['lsp']);
  assert.ok(client.client.documentSelector.every((d) => d.language === 'kflow'));
  assert.deepStrictEqual(vscode.shown, []);
  await ext.deactivate();
  assert.ok(client.stopped);
});

test('a missing kflowc is reported with what to do, and activation still succeeds', async () => {
  const vscode = fakeVscode({ 'server.path': 'no-such-kflowc' });
  const { made, library } = fakeClientLibrary({ fail: true });
  const ext = loadExtension(vscode, library);
  const context = { subscriptions: [] };
  await ext.activate(context);
  assert.strictEqual(made.length, 1);
  assert.strictEqual(vscode.shown.length, 1, 'one error message');
  assert.match(vscode.shown[0], /`no-such-kflowc lsp`/);
  assert.match(vscode.shown[0], /ENOENT/);
  assert.match(vscode.shown[0], /kflow\.server\.path/);
  assert.ok(context.subscriptions.length >= 3);
  await ext.deactivate();
});

test('package.json: activation, language, grammar and engines fit together', () => {
  assert.deepStrictEqual(manifest.activationEvents, ['onLanguage:kflow']);
  const [language] = manifest.contributes.languages;
  assert.strictEqual(language.id, 'kflow');
  assert.deepStrictEqual(language.extensions, ['.kflow']);
  assert.ok(fs.existsSync(path.join(ROOT, language.configuration)));
  const [grammar] = manifest.contributes.grammars;
  assert.strictEqual(grammar.scopeName, 'source.kflow');
  const raw = JSON.parse(fs.readFileSync(path.join(ROOT, grammar.path), 'utf8'));
  assert.strictEqual(raw.scopeName, 'source.kflow');
  assert.ok(fs.existsSync(path.join(ROOT, manifest.main)));
  // The client library states the oldest VS Code it runs in; ours must not be older.
  const client = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'node_modules', 'vscode-languageclient', 'package.json'), 'utf8'),
  );
  assert.strictEqual(manifest.dependencies['vscode-languageclient'], client.version);
  assert.strictEqual(manifest.engines.vscode, client.engines.vscode);
  for (const command of manifest.contributes.commands) {
    assert.match(fs.readFileSync(path.join(ROOT, 'extension.js'), 'utf8'), new RegExp(`'${command.command}'`));
  }
});
