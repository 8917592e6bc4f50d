//! Every relative link of the user and developer pages (README.md, ARCHITECTURE.md, TESTING.md,
//! BENCHMARKS.md, `docs/*.md`) leads somewhere: the file exists and, when the link names a
//! heading (`page.md#anchor`), the page has that heading, spelled as GitHub makes anchors.
//! The README links to the pages that hold each fact, so a moved section must not leave a
//! dead link behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The pages checked, as paths under the workspace root.
fn pages(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut pages: Vec<PathBuf> = [
        "README.md",
        "ARCHITECTURE.md",
        "TESTING.md",
        "BENCHMARKS.md",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    for entry in std::fs::read_dir(root.join("docs"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path.strip_prefix(root)?.to_path_buf());
        }
    }
    Ok(pages)
}

/// The anchors GitHub gives the headings of `text` (outside code blocks): lower case, spaces
/// to dashes, punctuation other than `-` and `_` dropped.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut inside_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            inside_code = !inside_code;
        }
        if inside_code {
            continue;
        }
        if let Some(heading) = line.trim_start_matches('#').strip_prefix(' ')
            && line.starts_with('#')
        {
            let anchor: String = heading
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect();
            out.insert(anchor);
        }
    }
    out
}

/// The targets of the markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let end = rest.find([')', ' ', '\n']).unwrap_or(rest.len());
        out.push(rest[..end].to_owned());
    }
    out
}

#[test]
fn every_relative_link_of_the_docs_resolves() -> anyhow::Result<()> {
    let root = xtask::workspace_root();
    let mut dead = Vec::new();
    for page in pages(&root)? {
        let text = std::fs::read_to_string(root.join(&page))?;
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                root.join(&page)
            } else {
                root.join(page.parent().unwrap_or(Path::new(""))).join(path)
            };
            if !file.exists() {
                dead.push(format!("{}: {target} (no such file)", page.display()));
            } else if !anchor.is_empty()
                && !anchors(&std::fs::read_to_string(&file)?).contains(anchor)
            {
                dead.push(format!("{}: {target} (no such heading)", page.display()));
            }
        }
    }
    assert!(
        dead.is_empty(),
        "dead links in the docs:\n{}",
        dead.join("\n")
    );
    Ok(())
}
