// Parsing one repository module and indexing its top level: what it declares, imports and
// exports, and the `X.prop = value` statements that annotate CSF 2 stories.

import { parse } from "@babel/parser";

/** `.ts` files cannot hold JSX (`<T>value` is a type assertion there). */
const TYPESCRIPT_ONLY = /\.[mc]?ts$/;
/** Plain JavaScript may be Flow-typed, which the TypeScript plugin does not read. */
const MAYBE_FLOW = /\.[mc]?jsx?$/;

/** A parse error as the manifest reports it. */
export class ParseError extends Error {
  constructor(message, line) {
    super(message);
    this.line = line;
  }
}

function parseWith(code, plugins) {
  return parse(code, { sourceType: "module", plugins, errorRecovery: false });
}

/** The module's AST; throws `ParseError` with the parser's message and line. */
export function parseModule(file, code) {
  const plugins = TYPESCRIPT_ONLY.test(file) ? ["typescript"] : ["typescript", "jsx"];
  try {
    return parseWith(code, plugins);
  } catch (error) {
    if (MAYBE_FLOW.test(file)) {
      try {
        return parseWith(code, ["jsx", "flow"]);
      } catch {
        // Report the first error: most JavaScript is not Flow.
      }
    }
    throw new ParseError(error?.message ?? String(error), error?.loc?.line ?? null);
  }
}

/** Strips what only types add around an expression (`x as const`, `x satisfies T`, `(x)`, `x!`). */
export function unwrap(node) {
  let current = node;
  while (
    current &&
    ["TSAsExpression", "TSSatisfiesExpression", "TSTypeAssertion", "TSNonNullExpression", "ParenthesizedExpression", "TypeCastExpression"].includes(
      current.type,
    )
  ) {
    current = current.expression;
  }
  return current;
}

const nameOf = (node) => (node.type === "StringLiteral" ? node.value : node.name);

/** Identifiers a destructuring pattern declares. */
function patternNames(pattern, out = []) {
  if (!pattern) return out;
  switch (pattern.type) {
    case "Identifier":
      out.push(pattern.name);
      break;
    case "ObjectPattern":
      for (const property of pattern.properties) patternNames(property.type === "RestElement" ? property.argument : property.value, out);
      break;
    case "ArrayPattern":
      for (const element of pattern.elements) patternNames(element, out);
      break;
    case "AssignmentPattern":
      patternNames(pattern.left, out);
      break;
    case "RestElement":
      patternNames(pattern.argument, out);
      break;
  }
  return out;
}

/**
 * The top level of a module.
 * - `bindings`: name → `{kind: "var", init}` | `{kind: "function"|"class"|"object", node}` |
 *   `{kind: "import", source, imported}` (`imported` is `"default"`, `"*"` or the name)
 * - `exports`: name → `{kind: "local", local}` | `{kind: "value", node}` (an anonymous default)
 *   | `{kind: "reexport", source, imported}`; `stars`: sources of `export * from`
 * - `assignments`: name → `[{property, value}]`, from `Name.property = value;`
 */
export function moduleScope(file, ast) {
  const scope = { file, bindings: new Map(), exports: new Map(), stars: [], assignments: new Map() };
  const declare = (node) => {
    if (!node || node.declare) return [];
    switch (node.type) {
      case "FunctionDeclaration":
      case "ClassDeclaration":
        if (!node.id) return [];
        scope.bindings.set(node.id.name, { kind: node.type === "ClassDeclaration" ? "class" : "function", node });
        return [node.id.name];
      case "VariableDeclaration":
        return node.declarations.flatMap((declarator) => {
          if (declarator.id.type === "Identifier") {
            scope.bindings.set(declarator.id.name, { kind: "var", init: declarator.init });
            return [declarator.id.name];
          }
          // Destructured: the values are not statically known.
          const names = patternNames(declarator.id);
          for (const name of names) scope.bindings.set(name, { kind: "var", init: null });
          return names;
        });
      // Enums and namespaces are objects at run time.
      case "TSEnumDeclaration":
      case "TSModuleDeclaration":
        if (node.id?.type !== "Identifier") return [];
        scope.bindings.set(node.id.name, { kind: "object", node });
        return [node.id.name];
      default:
        // Interfaces, type aliases, `declare …`: nothing at run time.
        return [];
    }
  };
  for (const statement of ast.program.body) {
    switch (statement.type) {
      case "ImportDeclaration":
        if (statement.importKind === "type" || statement.importKind === "typeof") break;
        for (const specifier of statement.specifiers) {
          if (specifier.importKind === "type" || specifier.importKind === "typeof") continue;
          const imported =
            specifier.type === "ImportDefaultSpecifier" ? "default" : specifier.type === "ImportNamespaceSpecifier" ? "*" : nameOf(specifier.imported);
          scope.bindings.set(specifier.local.name, { kind: "import", source: statement.source.value, imported });
        }
        break;
      case "ExportNamedDeclaration":
        if (statement.exportKind === "type") break;
        for (const name of declare(statement.declaration)) scope.exports.set(name, { kind: "local", local: name });
        for (const specifier of statement.specifiers) {
          if (specifier.exportKind === "type") continue;
          const exported = nameOf(specifier.exported);
          if (statement.source) {
            const imported = specifier.type === "ExportNamespaceSpecifier" ? "*" : nameOf(specifier.local ?? specifier.exported);
            scope.exports.set(exported, { kind: "reexport", source: statement.source.value, imported });
          } else {
            scope.exports.set(exported, { kind: "local", local: nameOf(specifier.local) });
          }
        }
        break;
      case "ExportAllDeclaration":
        if (statement.exportKind !== "type") scope.stars.push(statement.source.value);
        break;
      case "ExportDefaultDeclaration": {
        const declaration = statement.declaration;
        if (declaration.type.startsWith("TSInterface") || declaration.type === "TSDeclareFunction") break;
        const [local] = declare(declaration);
        if (local) scope.exports.set("default", { kind: "local", local });
        else if (unwrap(declaration).type === "Identifier") scope.exports.set("default", { kind: "local", local: unwrap(declaration).name });
        else scope.exports.set("default", { kind: "value", node: declaration });
        break;
      }
      case "ExpressionStatement": {
        const expression = statement.expression;
        const target = expression.type === "AssignmentExpression" && expression.operator === "=" ? expression.left : null;
        if (target?.type === "MemberExpression" && target.object.type === "Identifier" && !target.computed && target.property.type === "Identifier") {
          const list = scope.assignments.get(target.object.name) ?? [];
          list.push({ property: target.property.name, value: expression.right });
          scope.assignments.set(target.object.name, list);
        }
        break;
      }
      default:
        declare(statement);
    }
  }
  return scope;
}
