// `npm run generate`: regenerates src/openapi.ts from Studio's served OpenAPI document.
//
//   STUDIO_URL=http://127.0.0.1:7700 [STUDIO_API_TOKEN=…] npm run generate   # a running server
//   npm run generate -- openapi.json                                          # a saved document
//   npm run generate                                                          # neither: starts
//       the workspace's own server binary (STUDIO_BIN, default ../../target/debug/studio; build
//       it first with `cargo build -p studio`) on a throwaway data dir, reads the document, stops it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { fetchDocument, generateTypes } from './openapi.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, '..', 'src', 'openapi.ts');

async function fromLocalServer() {
  const binary = resolve(process.env.STUDIO_BIN ?? join(here, '..', '..', '..', 'target', 'debug', 'studio'));
  const dataDir = mkdtempSync(join(tmpdir(), 'studio-openapi-'));
  const env = { ...process.env };
  delete env.STUDIO_API_TOKEN;
  delete env.DATABASE_URL;
  const server = spawn(binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--renderer-pool', '0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stderr.on('data', (chunk) => { log += chunk; });
  try {
    const base = await new Promise((resolveBase, reject) => {
      const timer = setTimeout(() => reject(new Error(`${binary} did not listen within 30 s:\n${log}`)), 30_000);
      server.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${binary}: ${e.message}`)); });
      server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${binary} exited (${code}):\n${log}`)); });
      createInterface({ input: server.stdout }).on('line', (line) => {
        if (line.startsWith('listening on ')) {
          clearTimeout(timer);
          resolveBase(line.slice('listening on '.length).trim());
        }
      });
    });
    return await fetchDocument(base);
  } finally {
    server.kill('SIGTERM');
    await new Promise((done) => (server.exitCode !== null ? done() : server.once('exit', done)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const file = process.argv[2];
let document;
if (file) {
  document = JSON.parse(readFileSync(file, 'utf8'));
} else if (process.env.STUDIO_URL) {
  document = await fetchDocument(process.env.STUDIO_URL, process.env.STUDIO_API_TOKEN);
} else {
  document = await fromLocalServer();
}
writeFileSync(target, await generateTypes(document));
console.log(`wrote ${target}`);
