//! Tidy checks over the workspace's own source, in the manner of rust-analyzer's `tidy` test:
//! fast, pure Rust, reading files as text, run by `cargo test --workspace`.
//!
//! - [`every_module_has_a_module_doc`]: every `.rs` file under `crates/*/src` and `xtask/src`
//!   starts (blank lines aside) with a `//!` doc saying what the module is for.
//! - [`no_unwrap_expect_or_print_outside_tests_and_edges`]: no `.unwrap()`, `.expect(`,
//!   `println!`, `eprintln!` or `dbg!` in library code. Comments and string literals are not
//!   code; `#[cfg(test)]` items (inline `mod tests { … }` or a `#[cfg(test)] mod x;` file) are
//!   tests; the edges may print and fail loudly: all of `xtask/`, any `main.rs`, `src/bin/` and
//!   `build.rs`. What remains must be in [`ALLOWED`] with its reason, and every entry of
//!   [`ALLOWED`] must still match (a stale entry fails too).
//! - [`no_module_cycles`]: the modules of each crate form no cycle (how it decides: its doc).
//! - [`the_sdk_layers_import_only_downwards_and_the_contract_names_no_metrics_library_or_source`]:
//!   `connector-sdk`'s contract imports nothing of its runtime, the runtime nothing of the front
//!   ends, and the contract's text names no metrics or HTTP library and no source.
//! - [`no_module_file_name_repeats_within_a_crate`]: no two module files of one crate share a
//!   name (or the pair is in [`REPEATED_MODULE_NAMES`] with its reason).
//! - [`the_contract_opens_no_file_and_reads_no_environment`]: `connector-sdk`'s contract uses
//!   no `std::fs`, `std::env`, `std::process`, `tokio::fs` or `tokio::sync` (the host's
//!   channels).
//! - [`every_public_sdk_item_has_one_path`]: no `pub use` in `connector-sdk` re-exports the
//!   crate's own public items under a second path (or it is in [`SDK_REEXPORTS`]).
//!
//! The files are found when the test runs (no list of them here), so files moved or added by
//! anyone are judged as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Uses that stay, with the reason: `(folder or file under the workspace root, text on the
/// line, why)`. A folder (a crate's `src/`) rather than a file where the code may move inside
/// the crate.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "crates/connector-sdk/src/",
        r#"eprintln!("cannot write to stdout: {e}");"#,
        "the Airbyte front end's last word when stdout (its only channel) is gone: stderr is \
         all that is left, and the process exits with the fatal code right after",
    ),
    (
        "crates/connector-sdk/src/",
        r#"eprintln!("{message} (and stdout failed: {e})");"#,
        "the Airbyte front end failing to write its error TRACE because stdout is gone: the \
         (already redacted) message goes to stderr, the only channel left",
    ),
];

/// One Rust source file of the workspace.
struct Source {
    /// Relative to the workspace root, `/`-separated.
    path: String,
    /// The file as written.
    text: String,
}

/// Every `.rs` file under `crates/*/src` and `xtask/src`, sorted by path.
fn sources() -> Vec<Source> {
    let root = xtask::workspace_root();
    let mut dirs = vec![root.join("xtask").join("src")];
    if let Ok(crates) = std::fs::read_dir(root.join("crates")) {
        for entry in crates.flatten() {
            dirs.push(entry.path().join("src"));
        }
    }
    let mut files = Vec::new();
    for dir in dirs {
        collect_rs(&dir, &mut files);
    }
    let mut sources: Vec<Source> = files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            let path = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            Source { path, text }
        })
        .collect();
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(
        sources.len() > 20,
        "found only {} source files: is the workspace root right?",
        sources.len()
    );
    sources
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Lexing: code without its comments and literals, and without its test items.

/// `text` with the insides of comments, string and char literals replaced by spaces (newlines
/// kept, so line numbers and byte offsets stay), so that what is left is code.
fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if !prev_ident
            && (c == 'r' || (c == 'b' && next == Some('r')))
            && let Some((start, hashes)) = raw_string_hashes(&chars, i)
        {
            // r"…", r#"…"#, br#"…"#
            for &ch in &chars[i..=start] {
                out.push(ch);
            }
            i = start + 1;
            let closes =
                |j: usize| chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#'));
            while i < chars.len() && !closes(i) {
                out.push(blank(chars[i]));
                i += 1;
            }
            for _ in 0..=hashes {
                if i < chars.len() {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            if i < chars.len() {
                out.push('"');
                i += 1;
            }
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{1F600}', '\'') or a lifetime ('a, 'static).
            let end = if next == Some('\\') {
                (i + 2..chars.len()).find(|&j| chars[j] == '\'' && j > i + 2)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push('\'');
                    for &ch in &chars[i + 1..end] {
                        out.push(blank(ch));
                    }
                    out.push('\'');
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At `chars[i]` starting `r"`, `r#"`, `br"`…: the index of the opening quote and the number
/// of hashes.
fn raw_string_hashes(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = if chars[i] == 'b' { i + 2 } else { i + 1 };
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some((j, hashes))
}

/// The index of the `}` closing the `{` at `open` (in blanked code), or the end.
fn matching_brace(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (j, &b) in code.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// A file's code: comments and literals blanked, `#[cfg(test)]` items blanked too. Also the
/// names of the modules declared `#[cfg(test)] mod name;` (test files).
fn library_code(text: &str) -> (String, Vec<String>) {
    let mut code = blank_comments_and_literals(text).into_bytes();
    let mut test_modules = Vec::new();
    let mut from = 0;
    while let Some(at) = find_from(&code, b"#[cfg(test)]", from) {
        let after = at + b"#[cfg(test)]".len();
        let brace = code[after..].iter().position(|&b| b == b'{');
        let semi = code[after..].iter().position(|&b| b == b';');
        let end = match (brace, semi) {
            (Some(brace), semi) if semi.is_none_or(|semi| brace < semi) => {
                (matching_brace(&code, after + brace) + 1).min(code.len())
            }
            (_, Some(semi)) => {
                let item = String::from_utf8_lossy(&code[after..after + semi]).into_owned();
                let words: Vec<&str> = item.split_whitespace().collect();
                if let Some(pos) = words.iter().position(|w| *w == "mod")
                    && let Some(name) = words.get(pos + 1)
                {
                    test_modules.push((*name).to_owned());
                }
                after + semi + 1
            }
            _ => code.len(),
        };
        for b in &mut code[at..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = end;
    }
    // Only ASCII bytes were replaced by ASCII spaces, so this is still UTF-8.
    (String::from_utf8_lossy(&code).into_owned(), test_modules)
}

fn find_from(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The files declared `#[cfg(test)] mod x;` anywhere: test code as a whole.
fn test_files(sources: &[Source]) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    for source in sources {
        let (_, modules) = library_code(&source.text);
        let dir = module_dir(&source.path);
        for name in modules {
            files.insert(format!("{dir}/{name}.rs"));
            files.insert(format!("{dir}/{name}/mod.rs"));
        }
    }
    files
}

/// The folder holding the files of `path`'s child modules.
fn module_dir(path: &str) -> String {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    match file {
        "mod.rs" | "lib.rs" | "main.rs" => dir.to_owned(),
        _ => format!("{dir}/{}", file.trim_end_matches(".rs")),
    }
}

// ---------------------------------------------------------------------------------------------
// Module docs.

#[test]
fn every_module_has_a_module_doc() {
    let missing: Vec<String> = sources()
        .iter()
        .filter(|s| {
            let first = s.text.lines().map(str::trim).find(|l| !l.is_empty());
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .map(|s| s.path.clone())
        .collect();
    assert!(
        missing.is_empty(),
        "these modules do not start with a `//!` doc saying what they are for and why:\n  {}",
        missing.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// unwrap, expect, printing.

/// Test code, or an edge, where unwrap/expect/printing are fine.
fn is_edge(path: &str) -> bool {
    path.starts_with("xtask/")
        || path.ends_with("/main.rs")
        || path.contains("/src/bin/")
        || path.ends_with("/build.rs")
}

/// The places in `code` (blanked) that unwrap, expect or print: `(line number, what)`.
fn violations(code: &str) -> Vec<(usize, &'static str)> {
    const NEEDLES: &[(&str, &str)] = &[
        (".unwrap()", "unwrap"),
        (".expect(", "expect"),
        ("println!", "println!"),
        ("eprintln!", "eprintln!"),
        ("dbg!", "dbg!"),
    ];
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for &(needle, what) in NEEDLES {
            let mut from = 0;
            while let Some(at) = line[from..].find(needle).map(|p| p + from) {
                let before = line[..at].chars().next_back();
                let word_start = needle.starts_with('.')
                    || !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if word_start {
                    found.push((n + 1, what));
                }
                from = at + needle.len();
            }
        }
    }
    found
}

#[test]
fn no_unwrap_expect_or_print_outside_tests_and_edges() {
    let sources = sources();
    let tests = test_files(&sources);
    let mut unexplained = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    for source in &sources {
        if is_edge(&source.path) || tests.contains(&source.path) {
            continue;
        }
        let (code, _) = library_code(&source.text);
        let lines: Vec<&str> = source.text.lines().collect();
        for (line, what) in violations(&code) {
            let written = lines.get(line - 1).copied().unwrap_or_default();
            let allowed = ALLOWED.iter().position(|(path, text, _)| {
                source.path.starts_with(path) && written.contains(text)
            });
            match allowed {
                Some(i) => used[i] = true,
                None => unexplained.push(format!(
                    "{}:{line}: {what}: {}",
                    source.path,
                    written.trim()
                )),
            }
        }
    }
    let stale: Vec<String> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((path, text, _), _)| format!("{path}: {text:?}"))
        .collect();
    assert!(
        unexplained.is_empty(),
        "unwrap/expect/printing outside tests and edges (return an error, log with tracing, or \
         add the line to ALLOWED in xtask/tests/tidy.rs with the reason it cannot fail):\n  {}",
        unexplained.join("\n  ")
    );
    assert!(
        stale.is_empty(),
        "entries of ALLOWED that match nothing any more (remove them):\n  {}",
        stale.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Module cycles.

/// A token of blanked code: an identifier or keyword, `::`, or one other character.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    line: usize,
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                text: chars[start..i].iter().collect(),
                line,
            });
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token {
                text: "::".to_owned(),
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    out
}

fn is_ident(text: &str) -> bool {
    text.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// The paths of a use tree or path expression starting at `tokens[*i]`, each prefixed by
/// `prefix`. `use a::{b, c::{d, self}, e::*}` gives `a::b`, `a::c::d`, `a::c`, `a::e`.
fn path_tree(tokens: &[Token], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
    match tokens.get(*i).map(|t| t.text.as_str()) {
        Some("{") => {
            *i += 1;
            while let Some(t) = tokens.get(*i) {
                match t.text.as_str() {
                    "}" => {
                        *i += 1;
                        return;
                    }
                    "," => *i += 1,
                    _ => {
                        let before = *i;
                        path_tree(tokens, i, prefix, out);
                        if *i == before {
                            *i += 1;
                        }
                    }
                }
            }
        }
        Some("self") | Some("*") => {
            *i += 1;
            out.push(prefix.to_vec());
        }
        Some(text) if is_ident(text) => {
            let mut path = prefix.to_vec();
            path.push(text.to_owned());
            *i += 1;
            if tokens.get(*i).is_some_and(|t| t.text == "::") {
                *i += 1;
                let before = out.len();
                path_tree(tokens, i, &path, out);
                if out.len() == before {
                    out.push(path);
                }
            } else {
                out.push(path);
            }
        }
        _ => out.push(prefix.to_vec()),
    }
}

/// One arrow of the module graph, with where it was written.
#[derive(Debug, Clone)]
struct Arrow {
    from: String,
    to: String,
    at: String,
}

/// The module path (`a::b`, or `crate` for the root) of a file under `src/`, or `None` for a
/// file that is a crate of its own (`main.rs`, `bin/`).
fn module_of(relative: &str) -> Option<Vec<String>> {
    if relative == "main.rs" || relative.starts_with("bin/") {
        return None;
    }
    let trimmed = relative.trim_end_matches(".rs");
    let mut segments: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
    if segments.last().is_some_and(|s| s == "mod" || s == "lib") {
        segments.pop();
    }
    Some(segments)
}

fn module_name(segments: &[String]) -> String {
    if segments.is_empty() {
        "crate".to_owned()
    } else {
        segments.join("::")
    }
}

/// The arrows of one crate: its files under `src` (`path` relative to the workspace root).
fn crate_arrows(src: &str, files: &[&Source], tests: &BTreeSet<String>) -> Vec<Arrow> {
    let mut modules: BTreeMap<Vec<String>, &Source> = BTreeMap::new();
    for file in files {
        if tests.contains(&file.path) {
            continue;
        }
        let relative = &file.path[src.len() + 1..];
        if let Some(module) = module_of(relative) {
            modules.insert(module, file);
        }
    }
    let known: BTreeSet<Vec<String>> = modules.keys().cloned().collect();
    // The module a path names: its longest prefix that is a module of a file.
    let owner = |path: &[String]| -> Vec<String> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| known.contains(p))
            .unwrap_or_default()
    };
    let mut arrows = Vec::new();
    for (module, file) in &modules {
        let (code, _) = library_code(&file.text);
        let tokens = tokens(&code);
        // Inline modules (`mod name { … }`) nest the path `super::` starts from.
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            let text = tokens[i].text.as_str();
            let previous = i.checked_sub(1).map(|p| tokens[p].text.as_str());
            let starts_path = !matches!(previous, Some("::") | Some("$"));
            let next_is_path = tokens.get(i + 1).is_some_and(|t| t.text == "::");
            match text {
                "{" => depth += 1,
                "}" => {
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                "mod" if tokens.get(i + 2).is_some_and(|t| t.text == "{") => {
                    inline.push((tokens[i + 1].text.clone(), depth + 1));
                }
                "crate" | "super" if starts_path && next_is_path => {
                    let line = tokens[i].line;
                    let mut base: Vec<String> = if text == "crate" {
                        i += 2;
                        Vec::new()
                    } else {
                        let mut here: Vec<String> = module.clone();
                        here.extend(inline.iter().map(|(name, _)| name.clone()));
                        while tokens.get(i).is_some_and(|t| t.text == "super")
                            && tokens.get(i + 1).is_some_and(|t| t.text == "::")
                        {
                            here.pop();
                            i += 2;
                        }
                        here
                    };
                    let mut paths = Vec::new();
                    path_tree(&tokens, &mut i, &base, &mut paths);
                    base.clear();
                    for path in paths {
                        let to = owner(&path);
                        if &to != module {
                            arrows.push(Arrow {
                                from: module_name(module),
                                to: module_name(&to),
                                at: format!("{}:{line}", file.path),
                            });
                        }
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
    arrows
}

/// The strongly connected components of more than one module (Tarjan's algorithm): each is a
/// set of modules that reach each other, so holds at least one cycle.
fn cycles(arrows: &[Arrow]) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for arrow in arrows {
        graph
            .entry(&arrow.from)
            .or_default()
            .insert(arrow.to.as_str());
        graph.entry(&arrow.to).or_default();
    }
    struct Tarjan<'a> {
        graph: &'a BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for &w in &self.graph[v] {
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
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for &v in graph.keys() {
        if !tarjan.index.contains_key(v) {
            tarjan.visit(v);
        }
    }
    tarjan.found.sort();
    tarjan.found
}

/// The module cycles of every crate, each as its modules and the arrows between them.
fn module_cycles() -> Vec<String> {
    let sources = sources();
    let tests = test_files(&sources);
    let mut srcs: BTreeSet<String> = BTreeSet::new();
    for source in &sources {
        if let Some(at) = source.path.find("/src/") {
            srcs.insert(source.path[..at + 4].to_owned());
        }
    }
    let mut report = Vec::new();
    for src in &srcs {
        let files: Vec<&Source> = sources
            .iter()
            .filter(|s| s.path.starts_with(&format!("{src}/")))
            .collect();
        let arrows = crate_arrows(src, &files, &tests);
        for component in cycles(&arrows) {
            let mut lines = vec![format!("{src}: {}", component.join(" <-> "))];
            let mut seen = BTreeSet::new();
            for arrow in &arrows {
                if component.contains(&arrow.from)
                    && component.contains(&arrow.to)
                    && seen.insert((arrow.from.clone(), arrow.to.clone()))
                {
                    lines.push(format!("    {} -> {} ({})", arrow.from, arrow.to, arrow.at));
                }
            }
            report.push(lines.join("\n"));
        }
    }
    report
}

/// No crate's modules depend on each other in a circle.
///
/// How it decides: every crate's `src/` is read as text (comments, literals and
/// `#[cfg(test)]` items left out; `main.rs` and `src/bin/` are crates of their own and left
/// out). A module is a file: `a.rs` or `a/mod.rs` is `a`, `a/b.rs` is `a::b`, `lib.rs` is
/// `crate`; an inline `mod x { … }` belongs to its file. Every path that starts with `crate::`
/// or `super::` (in `use` trees, including `{…}` groups, and in code) is an arrow from the
/// module it is written in to the module it names: the longest prefix of the path that is a
/// module, so `crate::a::Item` points at `a` and `super::Item` in `a/b.rs` at `a` (a child
/// using its parent's own items counts). Declaring `mod child;` and relative paths (`child::x`,
/// `self::x`) are not arrows: a parent owns its children. A cycle is a strongly connected
/// component of more than one module; the failure lists each with the arrows inside it and
/// where they are written.
#[test]
fn no_module_cycles() {
    let cycles = module_cycles();
    assert!(
        cycles.is_empty(),
        "module cycles (modules that depend on each other in a circle):\n{}",
        cycles.join("\n")
    );
}

/// The checker itself finds a cycle and only a cycle, on a crate made up here.
#[test]
fn the_cycle_check_finds_a_cycle_through_a_parent() {
    let file = |path: &str, text: &str| Source {
        path: path.to_owned(),
        text: text.to_owned(),
    };
    let files = [
        file("c/src/lib.rs", "//! root\nmod a;\nmod b;\nmod d;\n"),
        file(
            "c/src/a/mod.rs",
            "//! a\nmod inner;\nuse crate::b::{X, self as bee};\npub struct Y;\n",
        ),
        file("c/src/a/inner.rs", "//! a::inner\nuse super::Y;\n"),
        file(
            "c/src/b.rs",
            "//! b\nfn f() { crate::a::inner::g(); } // crate::d::Z\n#[cfg(test)]\nmod tests { use crate::d::Z; }\n",
        ),
        file(
            "c/src/d.rs",
            "//! d\nuse crate::b::X; // only d -> b\nconst S: &str = \"crate::a::Y\";\n",
        ),
    ];
    let refs: Vec<&Source> = files.iter().collect();
    let arrows = crate_arrows("c/src", &refs, &BTreeSet::new());
    assert_eq!(
        cycles(&arrows),
        vec![vec!["a".to_owned(), "a::inner".to_owned(), "b".to_owned()]]
    );
}

/// What the lexer leaves as code: not comments, strings (raw ones too) or chars; lifetimes and
/// code after them stay.
#[test]
fn only_code_is_judged() {
    let text = concat!(
        "fn f<'a>(x: &'a str) -> char { let _ = r#\"a\" b.unwrap() \"#; '\"' }\n",
        "/* outer /* inner */ dbg!(1) */ // println!(\"no\")\n",
        "fn g() { let c = '\\''; h().unwrap(); eprintln!(\"{c}\"); }\n",
    );
    let code = blank_comments_and_literals(text);
    assert_eq!(code.lines().count(), 3);
    assert_eq!(violations(&code), vec![(3, "unwrap"), (3, "eprintln!")]);
    assert!(code.contains("fn f<'a>(x: &'a str)"), "{code}");
    let (code, test_modules) = library_code(
        "fn f() {}\n#[cfg(test)]\nmod tests { fn t() { x.unwrap(); } }\n#[cfg(test)]\nmod more;\n",
    );
    assert!(violations(&code).is_empty(), "{code}");
    assert_eq!(test_modules, vec!["more".to_owned()]);
}

/// The layer of a `connector-sdk` module: the contract at the bottom, the runtime on it, the
/// front ends on top (the crate root, which only re-exports, above them all).
fn sdk_layer(module: &str) -> Option<(usize, &'static str)> {
    let top = module.split("::").next().unwrap_or(module);
    match top {
        "contract" => Some((0, "contract")),
        "runtime" => Some((1, "runtime")),
        "front" => Some((2, "front")),
        "crate" => Some((3, "the crate root")),
        _ => None,
    }
}

/// `connector-sdk` is three layers in one crate, each importing only those below it: the
/// contract (what a connector implements) names nothing of the runtime or the front ends, and
/// nothing of Prometheus, HTTP or Slack, so that a second connector can be written on it and a
/// new front end or exposition added without touching it.
#[test]
fn the_sdk_layers_import_only_downwards_and_the_contract_names_no_metrics_library_or_source() {
    let sources = sources();
    let tests = test_files(&sources);
    let src = "crates/connector-sdk/src";
    let files: Vec<&Source> = sources
        .iter()
        .filter(|s| s.path.starts_with(&format!("{src}/")))
        .collect();
    assert!(
        files.iter().any(|f| f.path.contains("/contract/")),
        "no contract layer under {src}"
    );
    let mut wrong = Vec::new();
    for arrow in crate_arrows(src, &files, &tests) {
        match (sdk_layer(&arrow.from), sdk_layer(&arrow.to)) {
            (Some((from, from_name)), Some((to, to_name))) if to > from => wrong.push(format!(
                "{} ({from_name}) -> {} ({to_name}) at {}",
                arrow.from, arrow.to, arrow.at
            )),
            (None, _) | (_, None) => wrong.push(format!(
                "{} -> {}: a module outside contract/, runtime/ and front/ ({})",
                arrow.from, arrow.to, arrow.at
            )),
            _ => {}
        }
    }
    for file in files.iter().filter(|f| f.path.contains("/contract/")) {
        let lower = file.text.to_lowercase();
        for word in ["prometheus", "hyper", "reqwest", "slack"] {
            if lower.contains(word) {
                wrong.push(format!("{} mentions {word}", file.path));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "connector-sdk's layers (contract < runtime < front):\n{}",
        wrong.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Module names, the contract's reach, and one path per SDK item.

/// Module names used twice within one crate, with the reason: `(the crate's src folder, module
/// name, why)`. Every entry must still match (a stale entry fails too).
const REPEATED_MODULE_NAMES: &[(&str, &str, &str)] = &[];

/// The module name a file under a crate's `src` declares: its stem, or its folder's name for a
/// `mod.rs`; `None` for a crate root (`lib.rs`, `main.rs`) and for binaries under `src/bin/`.
fn declared_module_name(relative: &str) -> Option<String> {
    if relative.starts_with("bin/") {
        return None;
    }
    let (dir, file) = relative.rsplit_once('/').unwrap_or(("", relative));
    match file {
        "lib.rs" | "main.rs" => None,
        "mod.rs" => dir.rsplit('/').next().map(str::to_owned),
        _ => Some(file.trim_end_matches(".rs").to_owned()),
    }
}

/// The `src` folder of the crate `path` belongs to (`crates/NAME/src`, `xtask/src`).
fn crate_src(path: &str) -> Option<&str> {
    let at = path.find("/src/")?;
    Some(&path[..at + "/src".len()])
}

/// Two files of one crate with the same name (`runtime/state.rs` and `front/airbyte/state.rs`)
/// make every search, stack trace and review comment ambiguous: within a crate, each module
/// file's name is its own.
#[test]
fn no_module_file_name_repeats_within_a_crate() {
    let mut seen: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for source in sources() {
        let Some(src) = crate_src(&source.path) else {
            continue;
        };
        let relative = &source.path[src.len() + 1..];
        if let Some(name) = declared_module_name(relative) {
            seen.entry((src.to_owned(), name))
                .or_default()
                .push(source.path.clone());
        }
    }
    let mut wrong = Vec::new();
    for ((src, name), files) in &seen {
        let allowed = REPEATED_MODULE_NAMES
            .iter()
            .any(|(s, n, _)| s.trim_end_matches('/') == src && n == name);
        if files.len() > 1 && !allowed {
            wrong.push(format!("`{name}` in {src}: {}", files.join(", ")));
        }
    }
    for (src, name, _) in REPEATED_MODULE_NAMES {
        let key = (src.trim_end_matches('/').to_owned(), (*name).to_owned());
        if seen.get(&key).is_none_or(|files| files.len() < 2) {
            wrong.push(format!(
                "stale entry in REPEATED_MODULE_NAMES: `{name}` in {src}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "module file names repeated within a crate (rename one, or give a reason in \
         REPEATED_MODULE_NAMES):\n{}",
        wrong.join("\n")
    );
}

/// What the contract may not reach for: files, the environment, processes, and the host's
/// channels (`tokio::sync`: the runtime's wiring, which `runtime::host_side` keeps behind
/// `ReadContext`).
const OUTSIDE_THE_CONTRACT: &[&str] = &[
    "std::fs",
    "std::env",
    "std::process",
    "tokio::fs",
    "tokio::sync",
];

/// The uses of [`OUTSIDE_THE_CONTRACT`] in `code` (comments and literals already blanked), as
/// `(line, what)`: written out (`std::fs::read`) or in a group (`use std::{env, fs}`).
fn reaches_outside_the_contract(code: &str) -> Vec<(usize, String)> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    // Whitespace goes, but for one space between two words (`use std`), so that a path's start
    // is still told from the end of the word before it.
    let chars: Vec<(usize, char)> = code
        .lines()
        .enumerate()
        .flat_map(|(n, line)| line.chars().chain(['\n']).map(move |c| (n + 1, c)))
        .collect();
    let mut squeezed: Vec<(usize, char)> = Vec::with_capacity(chars.len());
    for (i, &(n, c)) in chars.iter().enumerate() {
        if !c.is_whitespace() {
            squeezed.push((n, c));
            continue;
        }
        let after_word = squeezed.last().is_some_and(|&(_, p)| word(p));
        let before_word = chars[i + 1..]
            .iter()
            .find(|(_, c)| !c.is_whitespace())
            .is_some_and(|&(_, c)| word(c));
        if after_word && before_word {
            squeezed.push((n, ' '));
        }
    }
    let text: String = squeezed.iter().map(|(_, c)| *c).collect();
    let line_at = |byte: usize| {
        let chars = text[..byte].chars().count();
        squeezed.get(chars).map_or(0, |(n, _)| *n)
    };
    let mut found = Vec::new();
    for path in OUTSIDE_THE_CONTRACT {
        let (krate, module) = path.split_once("::").unwrap_or((path, ""));
        for (at, _) in text.match_indices(path) {
            let before = text[..at].chars().next_back();
            let after = text[at + path.len()..].chars().next();
            let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if !ident(before) && !ident(after) {
                found.push((line_at(at), (*path).to_owned()));
            }
        }
        let group = format!("{krate}::{{");
        for (at, _) in text.match_indices(&group) {
            let inner = &text[at + group.len()..];
            let mut depth = 1;
            let end = inner
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(inner.len(), |(i, _)| i);
            let names = inner[..end].split([',', '{', '}', ':']);
            if names.into_iter().any(|name| name == module) {
                found.push((line_at(at), (*path).to_owned()));
            }
        }
    }
    found.sort();
    found
}

/// The contract is what an input implements and touches: it opens no file, reads no
/// environment variable and starts no process (the host's loaders, in the runtime, do), so an
/// author can read it without wondering what it does to the machine.
#[test]
fn the_contract_opens_no_file_and_reads_no_environment() {
    let sources = sources();
    let contract: Vec<&Source> = sources
        .iter()
        .filter(|s| s.path.starts_with("crates/connector-sdk/src/contract/"))
        .collect();
    assert!(!contract.is_empty(), "no contract layer in connector-sdk");
    let mut wrong = Vec::new();
    for file in contract {
        for (line, what) in reaches_outside_the_contract(&blank_comments_and_literals(&file.text)) {
            wrong.push(format!("{}:{line}: {what}", file.path));
        }
    }
    assert!(
        wrong.is_empty(),
        "connector-sdk's contract reaches outside itself:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_reach_check_sees_a_path_right_after_a_keyword() {
    let code = "use std::fs;\nuse tokio::sync::mpsc;\nuse my_std::fs;\n";
    assert_eq!(
        reaches_outside_the_contract(code),
        vec![(1, "std::fs".to_owned()), (2, "tokio::sync".to_owned())]
    );
}

#[test]
fn the_reach_check_sees_written_out_and_grouped_uses() {
    let code = "use std::{env, sync::Arc};\nfn f() { std::fs::read(p); }\nuse std::environment;\n";
    assert_eq!(
        reaches_outside_the_contract(code),
        vec![(1, "std::env".to_owned()), (2, "std::fs".to_owned())]
    );
}

/// `pub use` re-exports in connector-sdk that stay, with the reason: `(file, the re-exported
/// path, why)`. Every entry must still match.
const SDK_REEXPORTS: &[(&str, &str, &str)] = &[];

/// The paths `code` re-exports with `pub use` (comments and literals blanked), as written,
/// whitespace removed, with the line of each.
fn pub_uses(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("pub use ").map(|i| i + from) {
        let end = code[at..].find(';').map_or(code.len(), |i| i + at);
        let path: String = code[at + "pub use ".len()..end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        found.push((code[..at].matches('\n').count() + 1, path));
        from = end;
    }
    found
}

/// Every public item of connector-sdk has one path, the layered one
/// (`connector_sdk::contract::input::Input`): a `pub use` of the crate's own items
/// (`crate::…`, `super::…`, or a public module of the same file) would give it a second one.
/// Re-exports from a private module (`metrics`' `mod registry;`) and of other crates
/// (`secrecy`) are the only path there is.
#[test]
fn every_public_sdk_item_has_one_path() {
    let src = "crates/connector-sdk/src/";
    let mut wrong = Vec::new();
    let mut used = BTreeSet::new();
    for source in sources().iter().filter(|s| s.path.starts_with(src)) {
        let code = blank_comments_and_literals(&source.text);
        let public_modules: BTreeSet<String> = code
            .lines()
            .filter_map(|line| line.trim().strip_prefix("pub mod "))
            .map(|rest| rest.trim_end_matches(';').trim().to_owned())
            .collect();
        for (line, path) in pub_uses(&code) {
            let first = path.split("::").next().unwrap_or(&path);
            let first = first.trim_start_matches('{');
            let own = matches!(first, "crate" | "super")
                || public_modules.contains(first)
                || (first == "self"
                    && path
                        .split("::")
                        .nth(1)
                        .is_some_and(|m| public_modules.contains(m.trim_start_matches('{'))));
            if !own {
                continue;
            }
            if SDK_REEXPORTS
                .iter()
                .any(|(file, p, _)| *file == source.path && *p == path)
            {
                used.insert((source.path.clone(), path));
                continue;
            }
            wrong.push(format!("{}:{line}: pub use {path}", source.path));
        }
    }
    for (file, path, _) in SDK_REEXPORTS {
        if !used.contains(&((*file).to_owned(), (*path).to_owned())) {
            wrong.push(format!("stale entry in SDK_REEXPORTS: {file}: {path}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "connector-sdk items re-exported under a second path (import them by their layered \
         path instead, or give a reason in SDK_REEXPORTS):\n{}",
        wrong.join("\n")
    );
}
