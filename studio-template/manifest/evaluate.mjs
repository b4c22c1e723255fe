// A static evaluator of the literal parts of a module: what stories' `args`, `name`, `tags` and
// meta's `includeStories` hold, without running the module.
//
// Literals, arrays, objects (with spreads), template literals without expressions, negative
// numbers and RegExp literals evaluate to themselves; `as const`, `satisfies` and type assertions
// are looked through; a top-level `const` of the module is followed, with the `Name.prop = value`
// statements that annotate it (CSF 2 stories); `obj.prop` reads a property of an evaluated value.
// Functions (arrows, function expressions, `fn()` spies, `Template.bind({})`) evaluate to a
// `FunctionValue`; anything else (JSX, imported values, other calls) to `UNKNOWN`. Never throws.

import { unwrap } from "./parse.mjs";

/** A value that is only known at run time. */
export const UNKNOWN = Symbol("unknown");
const MAX_DEPTH = 64;
/** Calls that create a spy function (Storybook's `fn()`, its old `action("name")`, Vitest's and Jest's). */
const SPY_CALLS = new Set(["fn", "action"]);

/** A function; `props` are the properties assigned to it (a CSF 2 story's `args`, `storyName`). */
export class FunctionValue {
  constructor(props = {}) {
    this.props = props;
  }
}

export const isPlainObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof RegExp);

function propertyKey(property) {
  if (!property.computed) {
    if (property.key.type === "Identifier") return property.key.name;
    if (property.key.type === "StringLiteral" || property.key.type === "NumericLiteral") return String(property.key.value);
    return null;
  }
  return property.key.type === "StringLiteral" ? property.key.value : null;
}

/** Whether a call makes a spy: `fn()`, `fn().mockReturnValue(…)`, `vi.fn()`, `action("clicked")`. */
function isSpyCall(node) {
  const callee = unwrap(node.callee);
  if (callee.type === "Identifier") return SPY_CALLS.has(callee.name);
  if (callee.type !== "MemberExpression" || callee.computed) return false;
  if (callee.property.type === "Identifier" && callee.property.name === "fn") return true;
  const object = unwrap(callee.object);
  return object.type === "CallExpression" && isSpyCall(object);
}

export class Evaluator {
  /** `scope` is the module's `moduleScope`. */
  constructor(scope) {
    this.scope = scope;
    this.bindings = new Map();
    this.evaluating = new Set();
  }

  evaluate(node, depth = 0) {
    const value = unwrap(node);
    if (!value) return undefined;
    if (depth > MAX_DEPTH) return UNKNOWN;
    switch (value.type) {
      case "StringLiteral":
      case "NumericLiteral":
      case "BooleanLiteral":
        return value.value;
      case "NullLiteral":
        return null;
      case "TemplateLiteral":
        return value.expressions.length === 0 ? value.quasis.map((quasi) => quasi.value.cooked).join("") : UNKNOWN;
      case "RegExpLiteral":
        try {
          return new RegExp(value.pattern, value.flags);
        } catch {
          return UNKNOWN;
        }
      case "UnaryExpression":
        return this.unary(value, depth);
      case "ArrayExpression":
        return this.array(value, depth);
      case "ObjectExpression":
        return this.object(value, depth);
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "ClassExpression":
        return new FunctionValue();
      case "CallExpression":
        return this.call(value);
      case "Identifier":
        return this.identifier(value.name, depth);
      case "MemberExpression":
        return this.member(value, depth);
      default:
        return UNKNOWN;
    }
  }

  unary(node, depth) {
    const argument = this.evaluate(node.argument, depth + 1);
    const primitive = argument === null || ["string", "number", "boolean"].includes(typeof argument);
    switch (node.operator) {
      case "-":
        return typeof argument === "number" ? -argument : UNKNOWN;
      case "+":
        return typeof argument === "number" ? argument : UNKNOWN;
      case "!":
        return primitive ? !argument : UNKNOWN;
      case "void":
        return undefined;
      default:
        return UNKNOWN;
    }
  }

  array(node, depth) {
    const out = [];
    for (const element of node.elements) {
      if (element?.type === "SpreadElement") {
        const spread = this.evaluate(element.argument, depth + 1);
        if (Array.isArray(spread)) out.push(...spread);
        else out.push(UNKNOWN);
      } else {
        out.push(element ? this.evaluate(element, depth + 1) : undefined);
      }
    }
    return out;
  }

  object(node, depth) {
    const out = {};
    for (const property of node.properties) {
      if (property.type === "SpreadElement") {
        const spread = this.evaluate(property.argument, depth + 1);
        // Spreading a function copies its assigned properties (a CSF 2 story's `args`).
        if (spread instanceof FunctionValue) Object.assign(out, spread.props);
        else if (isPlainObject(spread)) Object.assign(out, spread);
        continue;
      }
      const key = propertyKey(property);
      // `__proto__` would set the prototype of the result instead of a key.
      if (key === null || key === "__proto__") continue;
      out[key] = property.type === "ObjectMethod" ? new FunctionValue() : this.evaluate(property.value, depth + 1);
    }
    return out;
  }

  call(node) {
    if (isSpyCall(node)) return new FunctionValue();
    const callee = unwrap(node.callee);
    // `Template.bind({})`: a new function, annotated by the assignments to its own name.
    if (callee.type === "MemberExpression" && !callee.computed && callee.property.name === "bind") return new FunctionValue();
    return UNKNOWN;
  }

  member(node, depth) {
    const object = this.evaluate(node.object, depth + 1);
    const key = node.computed ? this.evaluate(node.property, depth + 1) : node.property.name;
    if (typeof key !== "string" && typeof key !== "number") return UNKNOWN;
    const source = object instanceof FunctionValue ? object.props : object;
    if (!isPlainObject(source) && !Array.isArray(source)) return UNKNOWN;
    return Object.hasOwn(source, key) ? source[key] : undefined;
  }

  /** A top-level name: its declaration's value, with the properties assigned to it later. */
  identifier(name, depth) {
    if (name === "undefined" && !this.scope.bindings.has(name)) return undefined;
    if (this.bindings.has(name)) return this.bindings.get(name);
    const binding = this.scope.bindings.get(name);
    if (!binding || this.evaluating.has(name)) return UNKNOWN;
    this.evaluating.add(name);
    let value = UNKNOWN;
    if (binding.kind === "var") value = binding.init ? this.evaluate(binding.init, depth + 1) : undefined;
    else if (binding.kind === "function" || binding.kind === "class") value = new FunctionValue();
    else if (binding.kind === "object") value = {};
    for (const { property, value: assigned } of this.scope.assignments.get(name) ?? []) {
      if (value instanceof FunctionValue) value = new FunctionValue({ ...value.props, [property]: this.evaluate(assigned, depth + 1) });
      else if (isPlainObject(value)) value = { ...value, [property]: this.evaluate(assigned, depth + 1) };
    }
    this.evaluating.delete(name);
    this.bindings.set(name, value);
    return value;
  }

  /** The value of export `name`, or `UNKNOWN` (re-exported from another module, or absent). */
  exported(name) {
    const entry = this.scope.exports.get(name);
    if (entry?.kind === "local") return this.identifier(entry.local, 0);
    if (entry?.kind === "value") {
      const node = unwrap(entry.node);
      return node.type === "FunctionDeclaration" || node.type === "ClassDeclaration" ? new FunctionValue() : this.evaluate(node);
    }
    return UNKNOWN;
  }
}

/** JSON of an evaluated value: functions as `"[function]"`, what is not known as `"[unknown]"`. */
export function toJson(value, depth = 0) {
  if (value instanceof FunctionValue) return "[function]";
  if (value === UNKNOWN || value instanceof RegExp || depth > MAX_DEPTH) return "[unknown]";
  if (typeof value === "number" && !Number.isFinite(value)) return "[unknown]";
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : toJson(item, depth + 1)));
  if (isPlainObject(value)) {
    const out = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toJson(item, depth + 1);
    return out;
  }
  return value;
}
