// Which exports of a component file are components, statically: the rules of the page's
// `src/discover.ts` (`componentsOf`), which looks at the imported values instead.
//
// The page takes named exports starting with a capital letter whose value is a function, a class
// or a `memo`/`forwardRef`/`lazy` object, in the module namespace's (alphabetical) order, then the
// default export, named after its file, unless it is one of those named exports again. Here a
// value is a component if its expression is a function, class, arrow, call (`memo(…)`,
// `forwardRef(…)`, `styled.div(…)`; not `createContext(…)`) or tagged template; an identifier is
// followed to its declaration, an import or re-export into the repository's file (the page sees
// the same value through both). A value imported from a package is taken for a component when
// its name is capitalised, as nothing here can look inside packages.
//
// Each component also gets an `origin` (`<absolute file>#<local name>` where its value is
// declared): two exports with the same origin are the same value, which is how the page matches
// a stories file's `meta.component` to a component (by identity).

import { resolveImport } from "./resolve.mjs";
import { unwrap } from "./parse.mjs";

/** Calls whose result is React data, not a component. */
const NOT_COMPONENT_CALLS = new Set(["createContext", "createElement", "cloneElement", "freeze", "Symbol"]);
/** Following identifiers and re-exports further than this gives up (cycles end here too). */
const MAX_DEPTH = 24;

const calleeName = (callee) => {
  const node = unwrap(callee);
  if (node?.type === "Identifier") return node.name;
  if (node?.type === "MemberExpression" && !node.computed) return node.property.name;
  return null;
};

/** `/^[A-Z]/`: the page's filter on export names. */
export const capitalised = (name) => /^[A-Z]/.test(name);

/** `Button.tsx` → `Button`; `Badge/index.tsx` → `Badge` (the page's `nameFromFile`). */
export function nameFromFile(file) {
  const parts = file.split("/").filter(Boolean);
  const base = (parts.at(-1) ?? file).replace(/\.[^.]+$/, "");
  return base === "index" && parts.length > 1 ? parts[parts.length - 2] : base;
}

/**
 * Follows values across the repository's modules. `load(absolutePath)` gives a module's scope
 * (from `moduleScope`) or `null`.
 */
export class ValueResolver {
  constructor(root, load) {
    this.root = root;
    this.load = load;
  }

  /** `{component, origin}` of an expression in `scope`. */
  expression(scope, node, depth) {
    const value = unwrap(node);
    const here = { component: false, origin: null };
    if (!value || depth > MAX_DEPTH) return here;
    switch (value.type) {
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "ClassExpression":
      case "FunctionDeclaration":
      case "ClassDeclaration":
      case "TaggedTemplateExpression":
        return { component: true, origin: null };
      case "CallExpression":
        return { component: !NOT_COMPONENT_CALLS.has(calleeName(value.callee)), origin: null };
      case "Identifier":
        return this.binding(scope, value.name, depth + 1);
      case "MemberExpression":
        // `List.Item`: a compound component's part, by the usual naming.
        return { component: !value.computed && value.property.type === "Identifier" && capitalised(value.property.name), origin: null };
      case "ConditionalExpression":
        return {
          component: this.expression(scope, value.consequent, depth + 1).component && this.expression(scope, value.alternate, depth + 1).component,
          origin: null,
        };
      case "SequenceExpression":
        return this.expression(scope, value.expressions.at(-1), depth + 1);
      case "AssignmentExpression":
        return this.expression(scope, value.right, depth + 1);
      default:
        return here;
    }
  }

  /** `{component, origin}` of a top-level name of `scope`. */
  binding(scope, name, depth) {
    const binding = scope.bindings.get(name);
    const origin = `${scope.file}#${name}`;
    if (!binding || depth > MAX_DEPTH) return { component: false, origin: null };
    switch (binding.kind) {
      case "function":
      case "class":
        return { component: true, origin };
      case "object":
        return { component: false, origin };
      case "var": {
        const init = unwrap(binding.init);
        // `const B = Button` is the same value as `Button`.
        if (init?.type === "Identifier") return this.binding(scope, init.name, depth + 1);
        return { component: this.expression(scope, init, depth + 1).component, origin };
      }
      case "import":
        return this.imported(scope, binding.source, binding.imported, name, depth + 1);
      default:
        return { component: false, origin: null };
    }
  }

  /** An imported (or re-exported) value: followed into a repository file, else judged by name. */
  imported(scope, source, imported, localName, depth) {
    if (imported === "*") return { component: false, origin: null };
    const file = resolveImport(this.root, scope.file, source);
    const target = file ? this.load(file) : null;
    if (!target) {
      return { component: capitalised(imported === "default" ? localName : imported), origin: `${source}#${imported}` };
    }
    return this.exported(target, imported, depth + 1) ?? { component: false, origin: null };
  }

  /** `{component, origin}` of export `name` of `scope`, or `null` if it has none. */
  exported(scope, name, depth) {
    if (depth > MAX_DEPTH) return null;
    const entry = scope.exports.get(name);
    if (entry?.kind === "local") return this.binding(scope, entry.local, depth + 1);
    if (entry?.kind === "value") return { ...this.expression(scope, entry.node, depth + 1), origin: `${scope.file}#default` };
    if (entry?.kind === "reexport") return this.imported(scope, entry.source, entry.imported, name, depth + 1);
    if (name === "default") return null;
    for (const source of scope.stars) {
      const file = resolveImport(this.root, scope.file, source);
      const target = file ? this.load(file) : null;
      const found = target ? this.exported(target, name, depth + 1) : null;
      if (found) return found;
    }
    return null;
  }

  /** Every export name of `scope`, with those of `export *` from repository files. */
  exportNames(scope, depth = 0) {
    const names = new Set([...scope.exports.keys()]);
    if (depth > MAX_DEPTH) return names;
    for (const source of scope.stars) {
      const file = resolveImport(this.root, scope.file, source);
      const target = file ? this.load(file) : null;
      if (!target) continue;
      for (const name of this.exportNames(target, depth + 1)) if (name !== "default") names.add(name);
    }
    return names;
  }
}

/**
 * The components of one file, in the page's order: `[{name, export, origin}]`, plus `origins`
 * (export name → origin) for every component-valued export, including a default export left out
 * as a duplicate of a named one (a stories file may import either).
 */
export function componentsOfModule(resolver, scope, file) {
  const components = [];
  const origins = {};
  const seen = new Set();
  const names = [...resolver.exportNames(scope)].filter((name) => name !== "default").sort();
  for (const name of names) {
    if (!capitalised(name)) continue;
    const value = resolver.exported(scope, name, 0);
    if (!value?.component) continue;
    const origin = value.origin ?? `${scope.file}#export:${name}`;
    origins[name] = origin;
    seen.add(origin);
    components.push({ name, export: name, origin });
  }
  const fallback = scope.exports.has("default") ? resolver.exported(scope, "default", 0) : null;
  if (fallback?.component) {
    const origin = fallback.origin ?? `${scope.file}#default`;
    origins.default = origin;
    if (!seen.has(origin)) components.push({ name: nameFromFile(file), export: "default", origin });
  }
  return { components, origins };
}
