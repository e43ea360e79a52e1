// The kflow extension's client: starts `kflowc lsp` (the language server,
// part of kflowc) over stdio for .kflow files. Highlighting needs no server:
// it is the TextMate grammar in syntaxes/.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let output;
/** @type {vscode.FileSystemWatcher | undefined} */
let watcher;

/**
 * How to start the server, from the `kflow.server.*` settings: `path`
 * (default `kflowc`, looked up on PATH) and `args` (default `["lsp"]`).
 * @param {{ get<T>(key: string, fallback: T): T }} config
 */
function serverOptions(config) {
  const command = String(config.get('server.path', 'kflowc') || 'kflowc').trim() || 'kflowc';
  const raw = config.get('server.args', ['lsp']);
  const args = Array.isArray(raw) ? raw.map(String) : ['lsp'];
  const executable = { command, args, transport: TransportKind.stdio };
  return { run: executable, debug: executable };
}

function clientOptions() {
  return {
    documentSelector: [
      { scheme: 'file', language: 'kflow' },
      { scheme: 'untitled', language: 'kflow' },
    ],
    outputChannel: output,
    synchronize: {
      fileEvents: watcher,
    },
  };
}

async function start() {
  const config = vscode.workspace.getConfiguration('kflow');
  const server = serverOptions(config);
  client = new LanguageClient('kflow', 'kflow language server', server, clientOptions());
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const failed = client;
    client = undefined;
    // A client that never started may still hold a child process.
    await failed.dispose().catch(() => undefined);
    const open = 'Open Settings';
    const choice = await vscode.window.showErrorMessage(
      `kflow: could not start the language server \`${server.run.command} ${server.run.args.join(' ')}\`: ${message}. ` +
        'Install kflowc on PATH, or set kflow.server.path. Highlighting works without it.',
      open,
    );
    if (choice === open) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'kflow.server');
    }
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop().catch(() => undefined);
  }
}

async function restart() {
  await stop();
  await start();
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  output = vscode.window.createOutputChannel('kflow');
  // One watcher for the extension's life, shared by every restart.
  watcher = vscode.workspace.createFileSystemWatcher('**/*.kflow');
  context.subscriptions.push(
    output,
    watcher,
    vscode.commands.registerCommand('kflow.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('kflow.server')) {
        return restart();
      }
      return undefined;
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, serverOptions };
