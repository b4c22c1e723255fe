// Props of a component file's components, from react-docgen (TypeScript and Flow types,
// propTypes, defaults, JSDoc descriptions), run in this Node process.

import { builtinResolvers, makeFsImporter, parse } from "react-docgen";
import { resolveImport } from "./resolve.mjs";

/**
 * The local name a component definition is declared under (`<file>#<name>`, the origin
 * `components.mjs` gives exports), so each documentation goes to the export(s) of that value:
 * a declaration's own name, else the variable or assignment it is the value of (through
 * `memo(…)`/`forwardRef(…)`), else `default` for an anonymous default export.
 */
function originOf(path) {
  const filename = path.hub?.file?.opts?.filename;
  const origin = (name) => `${filename}#${name}`;
  if ((path.isFunctionDeclaration() || path.isClassDeclaration()) && path.node.id) return origin(path.node.id.name);
  for (let current = path; current.parentPath; current = current.parentPath) {
    const parent = current.parentPath;
    if (parent.isVariableDeclarator() && parent.node.id.type === "Identifier") return origin(parent.node.id.name);
    if (parent.isAssignmentExpression() && parent.node.left.type === "Identifier") return origin(parent.node.left.name);
    if (parent.isExportDefaultDeclaration()) return origin("default");
    if (parent.isProgram()) break;
  }
  return null;
}

/** A readable type: the source text of unions and signatures, else the type's name. */
function typeText(type) {
  if (!type) return "unknown";
  if (type.raw) return type.raw;
  // propTypes: `oneOf([…])` and `oneOfType([…])` list their members.
  if (type.name === "enum" && Array.isArray(type.value)) return type.value.map((member) => member.value).join(" | ");
  if (type.name === "union" && Array.isArray(type.value)) return type.value.map(typeText).join(" | ");
  if (type.name === "arrayOf" && type.value) return `${typeText(type.value)}[]`;
  return type.name ?? "unknown";
}

function propsOf(doc) {
  return Object.entries(doc.props ?? {}).map(([name, prop]) => {
    const entry = { name, type: typeText(prop.tsType ?? prop.flowType ?? prop.type), required: Boolean(prop.required) };
    if (prop.defaultValue?.value !== undefined) entry.default = prop.defaultValue.value;
    if (prop.description) entry.description = prop.description;
    return entry;
  });
}

/**
 * `{docs: [{origin, displayName, props}], deps: [absolute paths]}` for one file; `deps` are the
 * repository files react-docgen read to follow imported types (a cached answer is current only
 * while they are unchanged). A file react-docgen cannot analyse has no docs.
 */
export function documentFile(root, filename, code) {
  const deps = new Set();
  // Only the repository's own files: packages hold no prop types of the repository's components.
  const lookup = (specifier, basedir) => {
    const resolved = resolveImport(root, `${basedir}/_`, specifier);
    if (!resolved) throw Object.assign(new Error(`not followed: ${specifier}`), { code: "MODULE_NOT_FOUND" });
    deps.add(resolved);
    return resolved;
  };
  const finder = new builtinResolvers.FindExportedDefinitionsResolver();
  let origins = [];
  const resolver = {
    resolve(file) {
      const definitions = finder.resolve(file);
      origins = definitions.map(originOf);
      return definitions;
    },
  };
  try {
    const docs = parse(code, {
      filename,
      resolver,
      // Fresh caches per file: the default importer's are global and never see a file change.
      importer: makeFsImporter(lookup, { parseCache: new Map(), resolveCache: new Map() }),
      // The repository's Babel configuration may name plugins that are not installed here.
      babelOptions: { babelrc: false, configFile: false, browserslistConfigFile: false },
    });
    return { docs: docs.map((doc, index) => ({ origin: origins[index], displayName: doc.displayName ?? null, props: propsOf(doc) })), deps: [...deps] };
  } catch {
    return { docs: [], deps: [...deps] };
  }
}

/** The props of a component: the docs of its origin, else those with its name. */
export function propsFor(docs, component) {
  const doc = docs.find((d) => d.origin === component.origin) ?? docs.find((d) => d.displayName === component.name);
  return doc?.props ?? [];
}
