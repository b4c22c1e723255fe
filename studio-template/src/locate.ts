// Where in the repository an error was thrown: the first stack frame in one of its files, mapped
// back to the source line through the module's inline source map (the served module is transformed:
// types gone, JSX compiled, imports rewritten, so its line numbers are not the file's).

import { inlineMappings, originalLine } from "./sourcemap.ts";

export interface SourceLocation {
  /** Repository-relative, e.g. `src/components/Boom.tsx`. */
  file: string;
  line?: number;
}

/** Served paths that are not repository files: dependencies, Vite's own modules, the page's code. */
const NOT_REPOSITORY = ["/@vite/", "/@id/", "/@fs/", "/@react-refresh", "/.studio/"];

/** A Chrome frame: `at name (url:line:column)` or `at url:line:column` (the message above the frames
 * may hold URLs too, hence the `at`). */
const FRAME = /^\s*at\s.*?\(?(https?:\/\/[^\s()]+):(\d+):(\d+)\)?\s*$/;

interface Frame {
  url: string;
  path: string;
  line: number;
  column: number;
}

function firstRepositoryFrame(stack: string): Frame | null {
  for (const text of stack.split("\n")) {
    const match = FRAME.exec(text);
    if (!match) continue;
    let url: URL;
    try {
      url = new URL(match[1]);
    } catch {
      continue;
    }
    const path = url.pathname;
    if (url.origin !== location.origin || path.includes("/node_modules/")) continue;
    if (NOT_REPOSITORY.some((prefix) => path.startsWith(prefix))) continue;
    return { url: url.href, path, line: Number(match[2]), column: Number(match[3]) };
  }
  return null;
}

/** The source line of a frame, from its module (same origin, already in the browser's cache). */
async function sourceLine(frame: Frame): Promise<number | undefined> {
  try {
    const answer = await fetch(frame.url, { credentials: "same-origin" });
    if (!answer.ok) return undefined;
    const mappings = inlineMappings(await answer.text());
    return (mappings && originalLine(mappings, frame.line, frame.column)) || undefined;
  } catch {
    return undefined; // no map, an unreadable one, or the module is gone: the file alone will do
  }
}

/** The repository file and source line `error` was thrown from; `fallback` (the tile's file, no
 * line) when no frame of its stack is a repository file. Never rejects. */
export async function locate(error: unknown, fallback: string): Promise<SourceLocation> {
  const stack = error instanceof Error ? error.stack ?? "" : "";
  const frame = firstRepositoryFrame(stack);
  if (!frame) return { file: fallback };
  let file = frame.path.slice(1);
  try {
    file = decodeURIComponent(file);
  } catch {
    // A malformed escape: keep the path as served.
  }
  const line = await sourceLine(frame);
  return line ? { file, line } : { file };
}
