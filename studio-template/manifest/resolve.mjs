// Resolving a repository module's relative import to a file, the way Vite does for the page.
//
// Only relative (`./`, `../`) and root-absolute (`/src/…`, Vite's root is the checkout) specifiers
// are followed: packages and tsconfig aliases are outside what the manifest reads.

import { statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

/** Vite's default `resolve.extensions`, in its order (JSON is no module the manifest reads). */
const EXTENSIONS = [".mjs", ".js", ".mts", ".ts", ".jsx", ".tsx"];
/** TypeScript's ESM style imports `./Button.js` for `./Button.tsx`; Vite resolves it too. */
const TS_TWINS = { ".js": [".ts", ".tsx"], ".jsx": [".tsx"], ".mjs": [".mts"], ".cjs": [".cts"] };

const isFile = (path) => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** Whether `path` is a repository file the manifest may read: inside the root, not a package's. */
export function insideRepository(root, path) {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith("..") && !rel.split(sep).includes("node_modules");
}

/** The absolute file `specifier` names from the file `from`, or `null`. */
export function resolveImport(root, from, specifier) {
  let base;
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
    base = join(dirname(from), specifier);
  } else if (specifier.startsWith("/")) {
    base = join(root, specifier);
  } else {
    return null;
  }
  const dot = base.lastIndexOf(".");
  const ext = dot > base.lastIndexOf("/") ? base.slice(dot) : "";
  const candidates = [
    base,
    ...(TS_TWINS[ext] ?? []).map((twin) => base.slice(0, -ext.length) + twin),
    ...EXTENSIONS.map((extension) => base + extension),
    ...EXTENSIONS.map((extension) => join(base, `index${extension}`)),
  ];
  return candidates.find((candidate) => insideRepository(root, candidate) && isFile(candidate)) ?? null;
}
