//! The layers the code is built in, checked from the source itself, so a change that breaks
//! them fails here rather than in review:
//!
//! - the pure core (`gs1`, `verify`, `epcis`, `exceptions`) imports only the core, and no
//!   crate that does I/O;
//! - no module, and no file, imports one that imports it back (directly or through others);
//! - only `store` names rusqlite, only `ui` (and the binary's `cli::kiosk`, which starts it)
//!   names egui, and nothing but the front ends imports them.
//!
//! Imports are read from the text: `crate::`, `super::` and `self::` paths outside comments
//! and outside `#[cfg(test)]` modules (tests may reach across layers to build their fixtures).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CORE: &[&str] = &["gs1", "verify", "epcis", "exceptions"];
const FRONT_ENDS: &[&str] = &["ui", "cli"];

/// One source file: its module path (`store::outbox`, `ui`, `lib`) and its code.
struct SourceFile {
    module: Vec<String>,
    code: String,
}

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    assert!(
        files.len() > 20,
        "found only {} source files under {}",
        files.len(),
        root.display()
    );
    files
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under src");
        let mut module: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        if module.last().map(String::as_str) == Some("mod") {
            module.pop();
        }
        let text = std::fs::read_to_string(&path).expect("source is UTF-8");
        out.push(SourceFile {
            module,
            code: code_of(&text),
        });
    }
}

/// The file's code without comments, string literals' contents, and test modules.
fn code_of(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            // Skip the item the attribute applies to: to the end of its braces.
            let mut depth = 0usize;
            let mut opened = false;
            for line in lines.by_ref() {
                for c in line.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
                if (opened && depth == 0) || (!opened && line.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        let without_comment = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        code.push_str(&strip_strings(without_comment));
        code.push('\n');
    }
    code
}

fn strip_strings(line: &str) -> String {
    // A quote as a character literal does not open a string.
    let line = line.replace("'\"'", "' '").replace("'\\\"'", "' '");
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push(c);
            }
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// Every path the code names that starts at `crate`, `super` or `self`, resolved to absolute
/// module paths (segments after the root). A brace group yields one path per first-level name.
fn named_paths(file: &SourceFile) -> Vec<Vec<String>> {
    let tokens = tokenize(&file.code);
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let start = tokens[i].as_str();
        let preceded_by_path = i > 0 && tokens[i - 1] == "::";
        if !preceded_by_path && matches!(start, "crate" | "super" | "self") {
            let mut base: Vec<String> = match start {
                "crate" => Vec::new(),
                "self" => file.module.clone(),
                _ => parent_of(file),
            };
            let mut j = i + 1;
            // Further `super`s climb on.
            while tokens.get(j).map(String::as_str) == Some("::")
                && tokens.get(j + 1).map(String::as_str) == Some("super")
            {
                base.pop();
                j += 2;
            }
            let mut path = base;
            while tokens.get(j).map(String::as_str) == Some("::") {
                match tokens.get(j + 1).map(String::as_str) {
                    Some("{") => {
                        for name in group_names(&tokens, j + 2) {
                            let mut grouped = path.clone();
                            grouped.push(name);
                            paths.push(grouped);
                        }
                        break;
                    }
                    Some(name) if is_ident(name) => {
                        path.push(name.to_owned());
                        j += 2;
                    }
                    _ => break,
                }
            }
            paths.push(path);
            i = j;
        } else {
            i += 1;
        }
    }
    paths
}

/// The module `super` names from this file (a `mod.rs` is its directory's module, so its
/// `super` is the directory's parent, as for any other file).
fn parent_of(file: &SourceFile) -> Vec<String> {
    let mut parent = file.module.clone();
    parent.pop();
    parent
}

/// The first name of each member of a brace group starting at `start` (just after `{`).
fn group_names(tokens: &[String], start: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut expect_name = true;
    for token in tokens.iter().skip(start) {
        match token.as_str() {
            "{" => depth += 1,
            "}" if depth == 0 => break,
            "}" => depth -= 1,
            "," if depth == 0 => expect_name = true,
            name if depth == 0 && expect_name && is_ident(name) => {
                if name != "self" {
                    names.push(name.to_owned());
                }
                expect_name = false;
            }
            _ => {}
        }
    }
    names
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

fn tokenize(code: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            let mut word = String::from(c);
            while let Some(&next) = chars.peek() {
                if next.is_alphanumeric() || next == '_' {
                    word.push(next);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            tokens.push("::".into());
        } else if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    tokens
}

/// The file-level import graph: each file to the files whose items it names (the longest
/// prefix of a named path that is a file of the crate).
fn file_graph(files: &[SourceFile]) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let mut graph = BTreeMap::new();
    for file in files {
        let own = file.module.join("::");
        let mut targets = BTreeSet::new();
        for path in named_paths(file) {
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| modules.contains(prefix));
            if let Some(target) = target
                && target != file.module
            {
                targets.insert(target.join("::"));
            }
        }
        graph.insert(own, targets);
    }
    graph
}

/// Strongly connected components with more than one member.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, v: &'g str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut tarjan = Tarjan {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !tarjan.index.contains_key(v.as_str()) {
            tarjan.visit(v);
        }
    }
    tarjan.found
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

/// The edges of a graph that run inside one component, for a readable failure.
fn edges_within(graph: &BTreeMap<String, BTreeSet<String>>, component: &[String]) -> String {
    let mut lines = Vec::new();
    for from in component {
        for to in graph.get(from).into_iter().flatten() {
            if component.contains(to) {
                lines.push(format!("  {from} -> {to}"));
            }
        }
    }
    lines.join("\n")
}

#[test]
fn the_core_imports_only_the_core() {
    let files = source_files();
    let graph = file_graph(&files);
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        if !CORE.contains(&top(from)) {
            continue;
        }
        for to in targets {
            if !CORE.contains(&top(to)) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "the core imports adapters: {wrong:#?}");
}

#[test]
fn the_core_names_no_io_crate() {
    let banned = [
        "rusqlite",
        "egui",
        "eframe",
        "serialport",
        "reqwest",
        "std::fs",
        "std::net",
        "std::thread",
    ];
    let mut wrong = Vec::new();
    for file in source_files() {
        let module = file.module.join("::");
        if !CORE.contains(&top(&module)) {
            continue;
        }
        let code = tokenize(&file.code).join("");
        for name in banned {
            if code.contains(name) {
                wrong.push(format!("{module} names {name}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let files = source_files();
    let graph = file_graph(&files);
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in &graph {
        let entry = tops.entry(top(from).to_owned()).or_default();
        for to in targets {
            if top(to) != top(from) {
                entry.insert(top(to).to_owned());
            }
        }
    }
    // The crate root and the binary declare every module; they are not layers.
    tops.remove("lib");
    tops.remove("main");
    let found = cycles(&tops);
    let described: Vec<String> = found.iter().map(|c| edges_within(&tops, c)).collect();
    assert!(
        found.is_empty(),
        "import circles:\n{}",
        described.join("\n\n")
    );
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let files = source_files();
    let mut graph = file_graph(&files);
    // A module's `mod.rs` declares and re-exports its files, which name their parent as
    // `super`: that pair is one module, not a circle.
    for (from, targets) in graph.iter_mut() {
        let from_path: Vec<&str> = from.split("::").collect();
        targets.retain(|to| {
            let to_path: Vec<&str> = to.split("::").collect();
            let parent_child = |a: &[&str], b: &[&str]| {
                b.len() == a.len() + 1 && b.starts_with(a) || a == ["lib"] || b == ["lib"]
            };
            !(parent_child(&from_path, &to_path) || parent_child(&to_path, &from_path))
        });
    }
    let found = cycles(&graph);
    let described: Vec<String> = found.iter().map(|c| edges_within(&graph, c)).collect();
    assert!(
        found.is_empty(),
        "import circles:\n{}",
        described.join("\n\n")
    );
}

#[test]
fn only_the_store_names_sqlite_and_only_the_kiosk_names_egui() {
    let mut wrong = Vec::new();
    for file in source_files() {
        let module = file.module.join("::");
        let names = |name: &str| tokenize(&file.code).iter().any(|t| t == name);
        if names("rusqlite") && top(&module) != "store" {
            wrong.push(format!("{module} names rusqlite"));
        }
        let kiosk = top(&module) == "ui" || module == "cli::kiosk";
        if (names("egui") || names("eframe")) && !kiosk {
            wrong.push(format!("{module} names egui"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn only_the_front_ends_import_the_front_ends() {
    let files = source_files();
    let graph = file_graph(&files);
    let mut wrong = Vec::new();
    for (from, targets) in &graph {
        if FRONT_ENDS.contains(&top(from)) || matches!(top(from), "lib" | "main") {
            continue;
        }
        for to in targets {
            if FRONT_ENDS.contains(&top(to)) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_reader_of_imports_sees_grouped_and_nested_paths() {
    let file = SourceFile {
        module: vec!["ui".into(), "app".into()],
        code: code_of(
            "use super::{desk::{self, Desk}, theme};\n\
             use crate::store::Store; // crate::cli in a comment\n\
             let s = \"crate::camera in a string\";\n\
             fn f() { super::super::gs1::parse(); }\n\
             #[cfg(test)]\nmod tests {\n    use crate::sync::x;\n}\n",
        ),
    };
    let paths: BTreeSet<String> = named_paths(&file).iter().map(|p| p.join("::")).collect();
    for expected in ["ui::desk", "ui::theme", "store::Store", "gs1::parse"] {
        assert!(paths.contains(expected), "{expected} not in {paths:?}");
    }
    for unexpected in ["cli", "camera", "sync::x"] {
        assert!(
            !paths.iter().any(|p| p.starts_with(unexpected)),
            "{unexpected} read from a comment, a string or a test: {paths:?}"
        );
    }
}
