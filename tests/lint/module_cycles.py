#!/usr/bin/env python3
"""Fails when modules of one crate import each other in a circle (directly or through others).

A circle hides which module owns what: each crate's modules must form a one-way graph, leaves
(types, pure rules) below the modules that use them. An edge is any `use crate::…`, `use super::…`
or inline `crate::…`/`super::…` path outside comments and `#[cfg(test)] mod tests`; a path to an
item re-exported at the crate root counts as an edge to the module that defines it.

Usage: python3 tests/lint/module_cycles.py [crates-dir] [-v]
"""
import os
import re
import sys


def module_name(path, src):
    parts = os.path.relpath(path, src)[:-3].split("/")
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts)


def expand(use_tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    text = re.sub(r"\s+", "", use_tree)
    out = []

    def walk(prefix, s):
        i = s.find("{")
        if i < 0:
            out.append(prefix + s)
            return
        head, body = s[:i], s[i + 1 : s.rfind("}")]
        depth, item = 0, ""
        for ch in body + ",":
            depth += ch == "{"
            depth -= ch == "}"
            if ch == "," and depth == 0:
                if item:
                    walk(prefix + head, item)
                item = ""
            else:
                item += ch

    walk("", text)
    return out


def crate_graph(src):
    modules = {}
    for folder, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(folder, f)
                with open(path, encoding="utf-8") as fh:
                    modules[module_name(path, src)] = fh.read()
    names = set(modules)
    reexported = {}
    for tree in re.findall(r"pub use ([^;]+);", modules.get("", ""), re.S):
        for path in expand(tree):
            parts = [p for p in path.split("::") if p != "crate"]
            if parts and parts[0] in names:
                reexported[parts[-1].split(" as ")[-1]] = parts[0]
    graph = {m: set() for m in modules}
    for module, text in modules.items():
        text = re.split(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod tests", text)[0]
        text = re.sub(r"//[^\n]*", "", text)
        base = module.split("::")[:-1] if module else []
        paths = []
        for tree in re.findall(r"\buse\s+((?:crate|super|self)::[^;]+);", text, re.S):
            paths += expand(tree)
        paths += re.findall(r"(?<![:\w])((?:crate|super)(?:::\w+)+)", text)
        for path in paths:
            parts = path.split("::")
            if parts[0] == "crate":
                target = parts[1:]
            elif parts[0] == "super":
                ups = 0
                while parts and parts[0] == "super":
                    parts, ups = parts[1:], ups + 1
                target = (base[: len(base) - (ups - 1)] if ups > 1 else base) + parts
            else:
                target = (module.split("::") if module else []) + parts[1:]
            hit = None
            for i in range(len(target), 0, -1):
                candidate = "::".join(target[:i])
                if candidate in names:
                    hit = candidate
                    break
            if hit is None and target and target[0] in reexported:
                hit = reexported[target[0]]
            if hit and hit != module:
                graph[module].add(hit)
    return graph


def cycles(graph):
    """Tarjan's strongly connected components with more than one module."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    root = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "..", "crates")
    failed = False
    for crate in sorted(os.listdir(root)):
        src = os.path.join(root, crate, "src")
        if not os.path.isdir(src):
            continue
        graph = crate_graph(src)
        for component in cycles(graph):
            failed = True
            print(f"{crate}: modules import each other in a circle: {', '.join(component)}")
            if "-v" in sys.argv:
                for m in component:
                    print(f"    {m} -> {', '.join(sorted(x for x in graph[m] if x in component))}")
    if not failed:
        print("module graph: no circles")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
