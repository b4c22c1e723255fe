// Adopts a seed of Vite's pre-bundled dependencies planted by Studio (`<cacheDir>/deps-seed/`): the
// `deps/` of an earlier sandbox with the same packages and template, made for another root.
//
// Vite accepts a dependency cache only if its `configHash` matches the current config, and the
// hash covers the absolute root. We re-stamp the seed for this root, using a replica of Vite 8's
// `getConfigHash` — and only after the replica reproduces the seed's own stamp for the root it
// was made for. Any doubt (another Vite version, another config) drops the seed, and Vite bundles
// as usual. Runs in `configureServer`, which Vite calls before its optimizer reads the cache.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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

export function depsSeed(cacheDir) {
  return {
    name: "studio:deps-seed",
    configureServer(server) {
      const seed = path.join(cacheDir, "deps-seed");
      const deps = path.join(cacheDir, "deps");
      if (!existsSync(seed)) return;
      try {
        if (existsSync(path.join(deps, "_metadata.json"))) return; // this sandbox has its own cache
        const config = server.environments.client.config;
        const origin = JSON.parse(readFileSync(path.join(seed, "origin.json"), "utf8"));
        const metadataPath = path.join(seed, "_metadata.json");
        const metadata = JSON.parse(readFileSync(metadataPath, "utf8"));
        if (configHash(config, origin.root) !== metadata.configHash) {
          server.config.logger.info("studio: dependency seed does not match this Vite; bundling afresh");
          return;
        }
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
