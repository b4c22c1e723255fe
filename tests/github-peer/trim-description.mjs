// Writes the GitHub API description that the test peer (Prism) serves:
//
//     node tests/github-peer/trim-description.mjs OUTPUT.json
//
// Input: GitHub's own OpenAPI description, `@octokit/openapi/generated/api.github.com.deref.json`
// (pinned in package.json). Two changes, both needed for Prism to be a faithful peer:
//
// 1. Trim to the pull-request paths (`/repos/{owner}/{repo}/pulls...`). The full description makes
//    Prism start in 7-9 s and use ~300 MB; the pulls paths alone start in ~2 s.
// 2. Repair GitHub's examples. With `--errors` Prism validates its own responses too, and GitHub's
//    create-pull-request example omits properties its schema requires (`requested_teams[].type`),
//    so Prism would answer 500. We fill every missing required property of every example from the
//    schema (its example, default or first enum value), leaving everything else exactly as GitHub
//    wrote it. The repairs are printed, so a new description that needs more is visible.
//
// The output is written to a temporary file and renamed, so concurrent test processes that find
// the file missing and generate it at the same time never read a half-written description.

import { createRequire } from "node:module";
import { readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";

const output = process.argv[2];
if (!output) {
  console.error("usage: node trim-description.mjs OUTPUT.json");
  process.exit(2);
}

const require = createRequire(import.meta.url);
const source = require.resolve("@octokit/openapi/generated/api.github.com.deref.json");
const full = JSON.parse(readFileSync(source, "utf8"));

const PULLS = "/repos/{owner}/{repo}/pulls";
const paths = Object.fromEntries(
  Object.entries(full.paths).filter(([path]) => path === PULLS || path.startsWith(`${PULLS}/`)),
);
if (!paths[PULLS]?.post || !paths[PULLS]?.get) {
  throw new Error(`${source} has no create/list pull request operations at ${PULLS}`);
}

const repairs = [];

// A value for a required property the example lacks, following the schema.
function placeholder(schema) {
  if (schema.example !== undefined) return structuredClone(schema.example);
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (schema.enum?.length) return schema.enum[0];
  if (schema.nullable) return null;
  const branch = schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (branch) return placeholder(branch);
  switch (schema.type) {
    case "string":
      return "";
    case "integer":
    case "number":
      return 0;
    case "boolean":
      return false;
    case "array":
      return [];
    default: {
      const value = {};
      fill(schema, value, "(placeholder)");
      return value;
    }
  }
}

// Adds the required properties `value` lacks, recursively. `oneOf`/`anyOf` are skipped: which
// branch an example means is ambiguous, and none of GitHub's pulls examples need it.
function fill(schema, value, where) {
  if (!schema || value === null || typeof value !== "object") return;
  for (const part of schema.allOf ?? []) fill(part, value, where);
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => fill(schema.items, item, `${where}[${i}]`));
    return;
  }
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (!(name in value) && properties[name]) {
      value[name] = placeholder(properties[name]);
      repairs.push(`${where}.${name} = ${JSON.stringify(value[name])}`);
    }
  }
  for (const [name, child] of Object.entries(value)) {
    if (properties[name]) fill(properties[name], child, `${where}.${name}`);
  }
}

for (const [path, item] of Object.entries(paths)) {
  for (const [method, operation] of Object.entries(item)) {
    for (const [status, response] of Object.entries(operation.responses ?? {})) {
      for (const media of Object.values(response.content ?? {})) {
        for (const [name, example] of Object.entries(media.examples ?? {})) {
          fill(media.schema, example.value, `${method.toUpperCase()} ${path} ${status} ${name}`);
        }
      }
    }
  }
}

// The tests rely on the static answer of create-pull-request: fail here, clearly, if it changes.
const created = paths[PULLS].post.responses["201"]?.content?.["application/json"]?.examples?.default?.value;
if (typeof created?.number !== "number" || typeof created?.html_url !== "string") {
  throw new Error("create-pull-request example has no number/html_url any more");
}

const trimmed = {
  openapi: full.openapi,
  info: { ...full.info, title: `${full.info.title} (pulls paths, examples repaired for Prism)` },
  servers: full.servers,
  paths,
};
mkdirSync(dirname(resolve(output)), { recursive: true });
const temporary = `${output}.${process.pid}.tmp`;
writeFileSync(temporary, JSON.stringify(trimmed));
renameSync(temporary, output);

console.error(
  `github-peer: ${Object.keys(paths).length} pulls paths -> ${output}; ` +
    `repaired ${repairs.length} example properties:\n  ${repairs.join("\n  ")}`,
);
