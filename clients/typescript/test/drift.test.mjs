// The committed generated files must be what they would be generated as now:
// - src/openapi.ts from the OpenAPI document the real server serves (same generator, same options
//   as `npm run generate`, scripts/openapi.mjs);
// - dist/ from src/ (the server embeds dist/index.js and serves it to its dashboard).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { fetchDocument, generateTypes } from '../scripts/openapi.mjs';
import { STUDIO_API_TOKEN, STUDIO_URL } from './support.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The first line where two texts differ, for a readable failure. */
function firstDifference(actual, expected) {
  const a = actual.split('\n');
  const b = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `line ${i + 1}:\n  committed: ${a[i] ?? '(end of file)'}\n  expected:  ${b[i] ?? '(end of file)'}`;
  }
  return 'none';
}

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

test('src/openapi.ts is what the served OpenAPI document generates', async () => {
  const document = await fetchDocument(STUDIO_URL, STUDIO_API_TOKEN);
  const expected = await generateTypes(document);
  const committed = readFileSync(join(root, 'src', 'openapi.ts'), 'utf8');
  assert.ok(
    committed === expected,
    `src/openapi.ts differs from what the served OpenAPI document generates: run \`npm run generate\` ` +
      `in clients/typescript (then \`npm run build\`). First difference at ${firstDifference(committed, expected)}`,
  );
});

test('dist/ is what tsc builds from src/ now', () => {
  const fresh = mkdtempSync(join(tmpdir(), 'studio-client-dist-'));
  try {
    try {
      execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root, '--outDir', fresh], {
        cwd: root,
        stdio: 'pipe',
      });
    } catch (e) {
      assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
    }
    const committedDir = join(root, 'dist');
    const stale = 'dist/ is stale: run `npm run build` in clients/typescript';
    assert.deepEqual(filesUnder(committedDir), filesUnder(fresh), `${stale} (the files differ)`);
    for (const file of filesUnder(fresh)) {
      const committed = readFileSync(join(committedDir, file), 'utf8');
      const built = readFileSync(join(fresh, file), 'utf8');
      assert.ok(committed === built, `${stale}: dist/${file} differs at ${firstDifference(committed, built)}`);
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
});
