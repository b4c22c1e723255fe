// The files of the manifest: matching the page's globs, reading them within limits, and a cache
// of each file's analysis keyed by its content's git blob id.

import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { glob } from "tinyglobby";

/** A larger file is no hand-written component: skipped, with an error entry. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Reads are synchronous (small files: several times faster than through libuv's thread pool,
 * which Vite needs too); the server gets a turn after this many files, and after each parse. */
const FILES_PER_TURN = 100;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const readOrNull = (path) => {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
};

/** git's blob id of a content: an unchanged file has the same one whatever its mtime. */
export function blobId(content) {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** The repository-relative files the globs match, sorted as the page sorts them. Options as
 * Vite's `import.meta.glob` (no dotfiles, no extglobs, case-sensitive), never inside a
 * `node_modules` or Studio's own directory. */
export async function matchFiles(root, studioDir, globs) {
  if (!globs.some((pattern) => !pattern.startsWith("!"))) return [];
  const files = await glob(globs, {
    cwd: root,
    dot: false,
    expandDirectories: false,
    extglob: false,
    caseSensitiveMatch: true,
    onlyFiles: true,
    ignore: ["**/node_modules/**", `${studioDir}/**`],
  });
  return files.sort();
}

/** The content of a file the analysis follows into (an import), with its blob id; `null` if it
 * is absent or too large. */
export function readDependency(path) {
  const content = readOrNull(path);
  return content === null || content.length > MAX_FILE_BYTES ? null : { content, hash: blobId(content) };
}

function unchanged(deps) {
  return deps.every(([path, hash]) => {
    const content = readOrNull(path);
    return content !== null && blobId(content) === hash;
  });
}

/**
 * Each file's last analysis, `absolute path → {kind, hash, deps, result}`: a file whose content
 * (and whose followed imports, `deps`) did not change is never analysed again.
 */
export class AnalysisCache {
  constructor() {
    this.entries = new Map();
    this.reads = 0;
  }

  /**
   * The analysis of `path` as `kind`: `{result, good}` (`good`: the last analysis without an
   * error, if any), `{skipped: message}` for a file over the size
   * limit or `{gone: true}` for one deleted meanwhile. `analyse(content)` returns
   * `{result, deps: Map<path, hash>}`; `onParse` is called when it runs.
   */
  async get(path, kind, analyse, onParse) {
    this.reads += 1;
    if (this.reads % FILES_PER_TURN === 0) await nextTurn();
    let size;
    try {
      size = statSync(path).size;
    } catch {
      return { gone: true };
    }
    if (size > MAX_FILE_BYTES) return { skipped: `${size} bytes: larger than ${MAX_FILE_BYTES}, not read` };
    const content = readOrNull(path);
    if (!content) return { gone: true };
    const hash = blobId(content);
    const cached = this.entries.get(path);
    if (cached?.kind === kind && cached.hash === hash && unchanged(cached.deps)) {
      return { result: cached.result, good: cached.good };
    }
    onParse();
    const { result, deps } = analyse(content.toString("utf8"));
    // A file that stops parsing keeps its last good analysis, as the page keeps showing its last
    // good version: its components stay listed (with the page's error), not vanish.
    const good = result?.error ? (cached?.kind === kind ? cached.good : undefined) : result;
    this.entries.set(path, { kind, hash, deps: [...deps], result, good });
    // Parsing is synchronous: let the server answer other requests between files.
    await nextTurn();
    return { result, good };
  }

  /** Drops the entries of files no longer matched, so the cache stays as large as the file set. */
  retain(paths) {
    for (const path of this.entries.keys()) if (!paths.has(path)) this.entries.delete(path);
  }
}
