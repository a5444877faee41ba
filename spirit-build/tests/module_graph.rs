//! The module graph of `spirit-build`: no module depends on one that depends
//! on it back, and the table in `ARCHITECTURE.md` is the graph as it is.
//!
//! The graph is read from the source with a small reader of `use` trees and
//! `crate::`/`super::`/`self::` paths (unit tests, comments and doc comments
//! are left out, since they do not shape the library). A path that names an
//! item a module only re-exports (`pub use other::Item`) counts as a use of
//! the module that defines it, so a `mod.rs` that declares its children and
//! re-exports their items is not part of a cycle.
//!
//! `SNAPSHOTS=overwrite cargo test -p spirit-build --test module_graph`
//! rewrites the table in `ARCHITECTURE.md`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// A module path from the crate root: `[]` is `lib.rs`, `["sandbox", "host"]`
/// is `sandbox/host.rs` or `sandbox/host/mod.rs`.
type ModPath = Vec<String>;

struct Module {
    /// The source with unit tests and comments removed.
    code: String,
    /// Names this module brings in with `use` (including re-exports), and
    /// the absolute path each stands for.
    uses: BTreeMap<String, ModPathItem>,
}

/// An absolute path: the module part is resolved later.
type ModPathItem = Vec<String>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn read_modules() -> BTreeMap<ModPath, Module> {
    let mut files = Vec::new();
    collect(&src_dir(), &mut files);
    let mut modules = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src_dir()).unwrap();
        let mut path: ModPath = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if path.last().is_some_and(|l| l == "mod" || l == "lib") {
            path.pop();
        }
        let code = strip(&fs::read_to_string(&file).unwrap());
        modules.insert(
            path,
            Module {
                code,
                uses: BTreeMap::new(),
            },
        );
    }
    // The binaries under `src/bin` are not modules of the library.
    modules.retain(|path, _| path.first().is_none_or(|p| p != "bin"));
    let paths: Vec<ModPath> = modules.keys().cloned().collect();
    for path in &paths {
        let code = modules[path].code.clone();
        let mut uses = BTreeMap::new();
        for tree in use_trees(&code) {
            let mut leaves = Vec::new();
            flatten(&tree, &[], &mut leaves);
            for (alias, segments) in leaves {
                if let Some(abs) = absolute(path, &segments, &modules) {
                    // Globs are kept apart, one key each.
                    let alias = if alias == "*" {
                        format!("*{}", abs.join("::"))
                    } else {
                        alias
                    };
                    uses.insert(alias, abs);
                }
            }
        }
        modules.get_mut(path).unwrap().uses = uses;
    }
    modules
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Removes comments, string literals' contents and `#[cfg(test)]` items.
fn strip(source: &str) -> String {
    let mut out = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            // Skip the next item: up to its matching closing brace, or to a
            // `;` for a one-line item such as `mod tests;`.
            let mut depth = 0i32;
            let mut opened = false;
            for next in lines.by_ref() {
                let code = next.split("//").next().unwrap_or("");
                depth += code.matches('{').count() as i32;
                depth -= code.matches('}').count() as i32;
                opened |= code.contains('{');
                if (opened && depth <= 0) || (!opened && code.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let mut kept = String::new();
        let mut in_string = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if in_string {
                if c == '\\' {
                    chars.next();
                } else if c == '"' {
                    in_string = false;
                    kept.push('"');
                }
                continue;
            }
            if c == '/' && chars.peek() == Some(&'/') {
                break;
            }
            if c == '"' {
                in_string = true;
            }
            kept.push(c);
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The text of every `use` declaration, without `use` and `;`.
fn use_trees(code: &str) -> Vec<String> {
    let mut trees = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while let Some(found) = code[at..].find("use ") {
        let start = at + found;
        at = start + 4;
        let before = code[..start].trim_end();
        let item_start = before.is_empty()
            || before.ends_with(';')
            || before.ends_with('}')
            || before.ends_with('{')
            || before.ends_with(']')
            || before.ends_with("pub")
            || before.ends_with(')');
        let word_start =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !item_start || !word_start {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            break;
        };
        trees.push(
            code[at..at + end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        );
        at += end;
    }
    trees
}

/// Expands a use tree into `(name brought in, path)` pairs. A glob gives the
/// name `*`.
fn flatten(tree: &str, prefix: &[String], out: &mut Vec<(String, Vec<String>)>) {
    let tree = tree.trim().trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
        let mut base = prefix.to_vec();
        base.extend(segments(head));
        for part in split_top(inner) {
            flatten(part, &base, out);
        }
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((path, alias)) => (path, Some(alias.trim())),
        None => (tree, None),
    };
    let mut full = prefix.to_vec();
    full.extend(segments(path));
    if full.last().is_some_and(|l| l == "self") {
        full.pop();
    }
    let Some(last) = full.last().cloned() else {
        return;
    };
    out.push((alias.unwrap_or(&last).to_string(), full));
}

fn segments(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Splits `a, b::{c, d}, e` at its top-level commas.
fn split_top(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// A path written in module `here`, made absolute; `None` for a path into
/// another crate.
fn absolute(
    here: &ModPath,
    segments: &[String],
    modules: &BTreeMap<ModPath, Module>,
) -> Option<Vec<String>> {
    let first = segments.first()?;
    let mut base: Vec<String> = match first.as_str() {
        "crate" => Vec::new(),
        "self" => here.clone(),
        "super" => {
            let mut base = here.clone();
            let mut rest = segments;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            return Some(base);
        }
        _ => {
            let mut child = here.clone();
            child.push(first.clone());
            if modules.contains_key(&child) {
                here.clone()
            } else {
                return None;
            }
        }
    };
    let skip = usize::from(matches!(first.as_str(), "crate" | "self"));
    base.extend(segments[skip..].iter().cloned());
    Some(base)
}

/// The module that defines what `path` names, following re-exports.
fn resolve(path: &[String], modules: &BTreeMap<ModPath, Module>, depth: u32) -> Option<ModPath> {
    let mut module = path.to_vec();
    while !modules.contains_key(&module) {
        module.pop()?;
    }
    if depth > 8 {
        return Some(module);
    }
    // `module::Item`: if `module` only re-exports `Item`, go to its origin.
    if let Some(item) = path.get(module.len())
        && let Some(origin) = modules[&module].uses.get(item)
        && origin.as_slice() != path
    {
        let mut target = origin.clone();
        target.extend(path[module.len() + 1..].iter().cloned());
        return resolve(&target, modules, depth + 1);
    }
    // `module::Item` brought in by a glob (`pub use other::*`) and not
    // defined here: the first glob whose module defines it.
    if let Some(item) = path.get(module.len())
        && !defines(&modules[&module].code, item)
    {
        for (alias, origin) in &modules[&module].uses {
            if !alias.starts_with('*') {
                continue;
            }
            let mut target = origin[..origin.len() - 1].to_vec();
            target.push(item.clone());
            if let Some(found) = resolve(&target, modules, depth + 1)
                && found != module
                && defines(&modules[&found].code, item)
            {
                return Some(found);
            }
        }
    }
    Some(module)
}

/// Whether the code defines an item named `name`.
fn defines(code: &str, name: &str) -> bool {
    [
        "fn",
        "struct",
        "enum",
        "const",
        "static",
        "type",
        "trait",
        "mod",
        "union",
        "macro_rules!",
    ]
    .iter()
    .any(|kw| {
        code.match_indices(&format!("{kw} {name}")).any(|(i, m)| {
            let after = code[i + m.len()..].chars().next();
            let before = code[..i].chars().next_back();
            !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// Who uses whom: an edge `a → b` when module `a` names something defined in
/// module `b` (a module's own children and ancestors included).
fn graph(modules: &BTreeMap<ModPath, Module>) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (here, module) in modules {
        let mut targets = Vec::new();
        for path in module.uses.values() {
            targets.push(path.clone());
        }
        // Paths written out in the code: `crate::a::b`, `super::x`,
        // `self::y`, and `name::…` where `name` was brought in by `use` or
        // is a child module.
        for path in inline_paths(&module.code) {
            if path
                .first()
                .is_some_and(|f| f == "crate" || f == "super" || f == "self")
            {
                targets.extend(absolute(here, &path, modules));
            } else if let Some(origin) = module.uses.get(&path[0]) {
                let mut p = origin.clone();
                p.extend(path[1..].iter().cloned());
                targets.push(p);
            } else if let Some(p) = absolute(here, &path, modules) {
                targets.push(p);
            }
        }
        let set = edges.entry(here.clone()).or_default();
        for target in targets {
            if let Some(to) = resolve(&target, modules, 0)
                && &to != here
            {
                set.insert(to);
            }
        }
    }
    edges
}

/// Every `a::b::c` path in the code (outside `use` declarations, which are
/// read as trees).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = code.chars().peekable();
    let flush = |current: &mut String, paths: &mut Vec<Vec<String>>| {
        if current.contains("::") {
            let segs: Vec<String> = current
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if segs.len() >= 2 {
                paths.push(segs);
            }
        }
        current.clear();
    };
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            current.push(c);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            current.push_str("::");
        } else {
            flush(&mut current, &mut paths);
        }
    }
    flush(&mut current, &mut paths);
    paths
}

fn name(path: &ModPath) -> String {
    if path.is_empty() {
        "lib".to_string()
    } else {
        path.join("::")
    }
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct State<'a> {
        edges: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        next: usize,
        found: Vec<Vec<ModPath>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a ModPath) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets {
                let Some((w, _)) = s.edges.get_key_value(w) else {
                    continue;
                };
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_module_depends_on_one_that_depends_on_it() {
    let modules = read_modules();
    let edges = graph(&modules);
    let found = cycles(&edges);
    if !found.is_empty() {
        let mut message = String::from("module cycles in spirit-build:\n");
        for component in &found {
            message.push_str("  cycle among:");
            for m in component {
                let uses: Vec<String> = edges[m]
                    .iter()
                    .filter(|t| component.contains(t))
                    .map(name)
                    .collect();
                message.push_str(&format!("\n    {} → {}", name(m), uses.join(", ")));
            }
            message.push('\n');
        }
        panic!("{message}");
    }
}

/// The graph between the crate's top-level modules (a submodule counts as
/// its top-level module), as the Markdown table `ARCHITECTURE.md` shows.
fn top_level_table(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> String {
    let top = |p: &ModPath| p.first().cloned().unwrap_or_else(|| "lib".to_string());
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in edges {
        let entry = uses.entry(top(from)).or_default();
        for to in targets {
            if top(to) != top(from) {
                entry.insert(top(to));
            }
        }
    }
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &uses {
        for to in targets {
            users.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let mut table = String::from("| module | uses | used by |\n| --- | --- | --- |\n");
    for (module, targets) in &uses {
        let fmt = |set: Option<&BTreeSet<String>>| {
            let list: Vec<String> = set
                .into_iter()
                .flatten()
                .filter(|m| *m != "lib")
                .map(|m| format!("`{m}`"))
                .collect();
            if list.is_empty() {
                "—".to_string()
            } else {
                list.join(", ")
            }
        };
        if module == "lib" {
            continue;
        }
        table.push_str(&format!(
            "| `{module}` | {} | {} |\n",
            fmt(Some(targets)),
            fmt(users.get(module))
        ));
    }
    table
}

#[test]
fn architecture_shows_the_module_graph() {
    const START: &str = "<!-- module-graph: generated by spirit-build/tests/module_graph.rs -->\n";
    const END: &str = "<!-- /module-graph -->";
    let edges = graph(&read_modules());
    let table = top_level_table(&edges);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md");
    let doc = fs::read_to_string(&path).unwrap();
    let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
        panic!("ARCHITECTURE.md has no `{}` … `{END}` block", START.trim());
    };
    let current = &doc[start + START.len()..end];
    if current != table {
        if std::env::var_os("SNAPSHOTS").is_some_and(|v| v == "overwrite") {
            let new = format!("{}{START}{table}{}", &doc[..start], &doc[end..]);
            fs::write(&path, new).unwrap();
        } else {
            panic!(
                "ARCHITECTURE.md's module graph is out of date; rewrite it with \
                 `SNAPSHOTS=overwrite cargo test -p spirit-build --test module_graph`\n\
                 expected:\n{table}"
            );
        }
    }
}

#[test]
fn the_reader_sees_use_trees_and_paths() {
    let mut out = Vec::new();
    flatten("crate::{a::{B, c as d}, e::*, f::self}", &[], &mut out);
    let names: Vec<String> = out
        .iter()
        .map(|(n, p)| format!("{n}={}", p.join("::")))
        .collect();
    assert_eq!(
        names,
        [
            "B=crate::a::B",
            "d=crate::a::c",
            "*=crate::e::*",
            "f=crate::f"
        ]
    );
    let code = strip(
        "use a::b; // crate::x::y\nfn f() { crate::m::n(); \"crate::s\"; }\n#[cfg(test)]\nmod tests {\n use crate::t;\n}\n",
    );
    assert!(code.contains("crate::m::n"));
    assert!(!code.contains("crate::x"), "comments are skipped");
    assert!(!code.contains("crate::s"), "strings are skipped");
    assert!(!code.contains("crate::t"), "unit tests are skipped");
    assert_eq!(use_trees("pub use a::{b, c};\nfn x() {}"), ["a::{b, c}"]);
}
