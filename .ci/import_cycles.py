#!/usr/bin/env python3
"""Fails when a Rust module imports a module that imports it back, directly or around a circle.

The rule of the house: no module uses a module that uses it back, inside folders too, and
`super::` counts. This walks every crate of the workspace from its roots (`src/lib.rs`,
`src/main.rs`, `crates/*/src/lib.rs`) along `mod name;` declarations, reads every `crate::`,
`super::` and `self::` path in the code (in `use` trees and inline), resolves each to the
deepest module it names, and reports every strongly connected group of modules.

A module's inline children (`mod tests { … }`) count as the module itself, so `use super::*`
in a unit test module is not a circle. `mod` declarations are not uses: a parent declaring a
child is the tree, not an import. Plain python3, no dependencies; run from anywhere.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

MOD_DECLARATION = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
INLINE_MOD = re.compile(r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{\s*$")
USE_START = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+")
INLINE_PATH = re.compile(r"(?<![\w:])((?:crate|super|self)(?:::(?:r#)?\w+)+)")


def crate_roots():
    roots = [ROOT / "src" / "lib.rs", ROOT / "src" / "main.rs"]
    roots += sorted((ROOT / "crates").glob("*/src/lib.rs"))
    roots += sorted((ROOT / "crates").glob("*/src/main.rs"))
    return [root for root in roots if root.exists()]


def child_file(parent_file, name):
    """Where `mod name;` in `parent_file` lives, as rustc looks for it."""
    if parent_file.name in ("lib.rs", "main.rs", "mod.rs"):
        folder = parent_file.parent
    else:
        folder = parent_file.parent / parent_file.stem
    for candidate in (folder / f"{name}.rs", folder / name / "mod.rs"):
        if candidate.exists():
            return candidate
    return None


def code_lines(path):
    """The file's lines with comments blanked, so doc examples and prose are not read as code."""
    lines = []
    in_block = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if in_block:
            if "*/" in line:
                in_block = False
            lines.append("")
            continue
        stripped = line.strip()
        if stripped.startswith("//"):
            lines.append("")
            continue
        if stripped.startswith("/*"):
            in_block = "*/" not in stripped
            lines.append("")
            continue
        lines.append(re.sub(r"\s//\s.*$", "", line))
    return lines


def expand_use_tree(tree):
    """`crate::a::{b, c::{d, e}}` -> [`crate::a::b`, `crate::a::c::d`, `crate::a::c::e`]."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for index, char in enumerate(tree):
        if char == "{":
            if depth == 0:
                prefix, inner = tree[:index], tree[index + 1 : tree.rindex("}")]
                parts, depth_inner, start = [], 0, 0
                for position, item in enumerate(inner):
                    if item == "{":
                        depth_inner += 1
                    elif item == "}":
                        depth_inner -= 1
                    elif item == "," and depth_inner == 0:
                        parts.append(inner[start:position])
                        start = position + 1
                parts.append(inner[start:])
                paths = []
                for part in filter(None, parts):
                    paths += expand_use_tree(prefix + part)
                return paths
            depth += 1
    return [tree]


class Crate:
    def __init__(self, root_file):
        self.files = {}  # module path (tuple) -> file
        self.load(root_file, ())

    def load(self, path, module):
        self.files[module] = path
        for line in code_lines(path):
            declared = MOD_DECLARATION.match(line)
            if declared:
                child = child_file(path, declared.group(1))
                if child is not None:
                    self.load(child, module + (declared.group(1),))

    def resolve(self, module, inline, path):
        """The deepest known module `path` names, seen from `module` nested `inline` deep."""
        segments = path.split("::")
        # Inline modules count as their file's module: going up out of them stays in the file.
        here, depth, position = list(module), inline, 0
        if segments[0] == "crate":
            here, depth, position = [], 0, 1
        while position < len(segments) and segments[position] in ("super", "self"):
            if segments[position] == "super":
                if depth > 0:
                    depth -= 1
                elif here:
                    here.pop()
            position += 1
        rest = segments[position:]
        if depth > 0:
            return tuple(module)
        target = tuple(here)
        for segment in rest:
            if segment in ("super", "self", "crate"):
                break
            candidate = target + (segment,)
            if candidate not in self.files:
                break
            target = candidate
        return target

    def edges(self):
        """module -> {imported module -> first line that imports it}."""
        graph = {module: {} for module in self.files}
        for module, path in self.files.items():
            lines = code_lines(path)
            inline_stack = []  # indentation of each open inline module
            statement, statement_line = None, 0
            for number, line in enumerate(lines, start=1):
                while inline_stack and re.match(rf"^{inline_stack[-1]}\}}", line):
                    inline_stack.pop()
                opened = INLINE_MOD.match(line)
                if opened:
                    inline_stack.append(opened.group(1))
                    continue
                if statement is None and USE_START.match(line):
                    statement, statement_line = "", number
                if statement is not None:
                    statement += " " + line.strip()
                    if ";" not in line:
                        continue
                    body = USE_START.sub("", statement.strip()).rstrip(";")
                    found = expand_use_tree(body)
                    statement = None
                else:
                    found = INLINE_PATH.findall(line)
                    statement_line = number
                for used in found:
                    if not used.startswith(("crate::", "super::", "self::")):
                        continue  # an external crate or the standard library
                    target = self.resolve(module, len(inline_stack), used)
                    if target != module:
                        where = f"{path.relative_to(ROOT)}:{statement_line}"
                        graph[module].setdefault(target, where)
        return graph


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the groups of modules that reach each other."""
    index_of, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index_of:
            continue
        work = [(start, iter(graph[start]))]
        index_of[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index_of[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def name(module):
    return "crate::" + "::".join(module) if module else "crate"


def main():
    circles = 0
    for root in crate_roots():
        crate = Crate(root)
        graph = crate.edges()
        for group in strongly_connected(graph):
            circles += 1
            members = set(group)
            print(f"import circle in {root.relative_to(ROOT)}:")
            for module in sorted(group):
                for target, where in sorted(graph[module].items()):
                    if target in members:
                        print(f"  {name(module)} -> {name(target)}  ({where})")
        print(
            f"{root.relative_to(ROOT)}: {len(crate.files)} modules",
            file=sys.stderr,
        )
    if circles:
        print(f"{circles} import circle(s)")
        return 1
    print("no import circles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
