// Adopts a seed of Vite's pre-bundled dependencies planted by Studio (`<cacheDir>/deps-seed/`): the
// `deps/` of an earlier sandbox with the same packages and template, made for another root.
//
// Vite accepts a dependency cache only if its `configHash` matches the current config, and the
// hash covers the absolute root. We re-stamp the seed for this root, using a replica of Vite 8's
// `getConfigHash` — and only after the replica reproduces the seed's own stamp for the root it
// was made for. Any doubt (another Vite version, another config) drops the seed, and Vite bundles
// as usual. Runs in `configureServer`, which Vite calls before its optimizer reads the cache.
//
// The cache is also stamped with a lockfile hash: the content of npm's `node_modules/.package-lock.json`
// (the same for every checkout of one dependency store) plus, if the repository has a `patches/`
// directory, that directory's mtime, which differs in every checkout. So every start records the
// mtime part it sees (`studio-lockfile.json`, copied into the seed's `origin.json` by Studio), and
// the seed is adopted only if the lockfile content here reproduces the seed's stamp with the
// origin's mtime part; then it is re-stamped with this checkout's.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

const hash = (text) => createHash("sha256").update(text).digest("hex").substring(0, 8);
const unique = (items) => Array.from(new Set(items));

/** Vite 8.3's `getConfigHash(environment)`, for `environment.config` with `root` replaced. */
function configHash(config, root) {
  const { optimizeDeps } = config;
  const rolldownOptions = optimizeDeps.rolldownOptions;
  const hashed = {
    define: !config.keepProcessEnv ? process.env.NODE_ENV || config.mode : null,
    root,
    resolve: config.resolve,
    assetsInclude: config.assetsInclude,
    plugins: config.plugins.map((plugin) => plugin.name),
    optimizeDeps: {
      include: optimizeDeps.include ? unique(optimizeDeps.include).sort() : undefined,
      exclude: optimizeDeps.exclude ? unique(optimizeDeps.exclude).sort() : undefined,
      rolldownOptions: {
        ...rolldownOptions,
        plugins: undefined,
        onLog: undefined,
        onwarn: undefined,
        checks: undefined,
        output: { ...rolldownOptions?.output, plugins: undefined },
      },
    },
    optimizeDepsPluginNames: config.optimizeDepsPluginNames,
  };
  return hash(
    JSON.stringify(hashed, (_, value) => (typeof value === "function" || value instanceof RegExp ? value.toString() : value)),
  );
}

/** Vite 8.3's `lockfileFormats`, sorted the same way (the order decides which file wins). */
const lockfileFormats = [
  { path: "node_modules/.pnpm/lock.yaml", checkPatchesDir: false, manager: "pnpm" },
  { path: "node_modules/.package-lock.json", checkPatchesDir: "patches", manager: "npm" },
  { path: "node_modules/.yarn-state.yml", checkPatchesDir: false, manager: "yarn" },
  { path: "bun.lock", checkPatchesDir: "patches", manager: "bun" },
  { path: ".rush/temp/shrinkwrap-deps.json", checkPatchesDir: false, manager: "pnpm" },
  { path: "aube-lock.yaml", checkPatchesDir: false, manager: "aube" },
  { path: "nub.lock", checkPatchesDir: false, manager: "nub" },
  { path: ".pnp.cjs", checkPatchesDir: ".yarn/patches", manager: "yarn" },
  { path: ".pnp.js", checkPatchesDir: ".yarn/patches", manager: "yarn" },
  { path: "node_modules/.yarn-integrity", checkPatchesDir: "patches", manager: "yarn" },
  { path: "bun.lockb", checkPatchesDir: "patches", manager: "bun" },
].sort((_, { manager }) => (process.env.npm_config_user_agent?.startsWith(manager) ? 1 : -1));
const fallbackLockfileFormats = [{ path: "yarn.lock", checkPatchesDir: false, manager: "yarn" }];

const isFile = (file) => statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
function lookupFile(dir, fileNames) {
  for (;;) {
    for (const name of fileNames) {
      if (isFile(path.join(dir, name))) return path.join(dir, name);
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Vite 8.3's `getLockfileHash(root)` in two parts: the lockfile's content, which a seed shares
 * with every checkout of its dependencies, and the `patches/` mtime, which is this checkout's. */
export function lockfileInputs(root) {
  const lockfilePath =
    lookupFile(root, lockfileFormats.map((f) => f.path)) ??
    lookupFile(root, fallbackLockfileFormats.map((f) => f.path));
  if (!lockfilePath) return { content: "", suffix: "" };
  const content = readFileSync(lockfilePath, "utf-8");
  const format = [...lockfileFormats, ...fallbackLockfileFormats].find((f) =>
    lockfilePath.replaceAll("\\", "/").endsWith(f.path),
  );
  let suffix = "";
  if (format?.checkPatchesDir) {
    const baseDir = lockfilePath.slice(0, -format.path.length);
    const stat = statSync(path.join(baseDir, format.checkPatchesDir), { throwIfNoEntry: false });
    if (stat?.isDirectory()) suffix = stat.mtimeMs.toString();
  }
  return { content, suffix };
}

export function depsSeed(cacheDir) {
  return {
    name: "studio:deps-seed",
    configureServer(server) {
      const seed = path.join(cacheDir, "deps-seed");
      const deps = path.join(cacheDir, "deps");
      const config = server.environments.client.config;
      let lockfile;
      try {
        lockfile = lockfileInputs(config.root);
        // What this start's cache is stamped with, for the seed Studio may publish from it.
        mkdirSync(cacheDir, { recursive: true });
        writeFileSync(path.join(cacheDir, "studio-lockfile.json"), JSON.stringify({ suffix: lockfile.suffix }));
      } catch (error) {
        server.config.logger.warn(`studio: lockfile not read: ${error.message}`);
      }
      if (!existsSync(seed)) return;
      try {
        if (existsSync(path.join(deps, "_metadata.json"))) return; // this sandbox has its own cache
        const origin = JSON.parse(readFileSync(path.join(seed, "origin.json"), "utf8"));
        const metadataPath = path.join(seed, "_metadata.json");
        const metadata = JSON.parse(readFileSync(metadataPath, "utf8"));
        if (configHash(config, origin.root) !== metadata.configHash) {
          server.config.logger.info("studio: dependency seed does not match this Vite; bundling afresh");
          return;
        }
        if (!lockfile || hash(lockfile.content + (origin.lockfileSuffix ?? "")) !== metadata.lockfileHash) {
          server.config.logger.info("studio: dependency seed does not match this lockfile; bundling afresh");
          return;
        }
        metadata.lockfileHash = hash(lockfile.content + lockfile.suffix);
        metadata.configHash = configHash(config, config.root);
        metadata.hash = hash(metadata.lockfileHash + metadata.configHash);
        writeFileSync(metadataPath, JSON.stringify(metadata, null, 2));
        rmSync(path.join(seed, "origin.json"));
        rmSync(deps, { recursive: true, force: true });
        renameSync(seed, deps);
      } catch (error) {
        server.config.logger.warn(`studio: dependency seed not used: ${error.message}`);
      } finally {
        rmSync(seed, { recursive: true, force: true });
      }
    },
  };
}
