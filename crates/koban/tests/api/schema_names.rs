//! utoipa files schemas under their bare type name and keeps only the last
//! of two types with the same name, so a second `Added` silently replaces
//! the first in the API document (it happened twice). This reads the
//! sources and refuses two schema types of one name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder readable") {
        let path = entry.expect("entry readable").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The name a schema type is filed under: the `#[schema(as = …)]` name if
/// it has one, else the name of the struct or enum that follows the derive.
fn schema_names(source: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let mut names = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !(line.contains("derive(") && line.contains("ToSchema")) {
            continue;
        }
        let mut renamed = None;
        for next in &lines[i + 1..] {
            let next = next.trim();
            if let Some(rest) = next.strip_prefix("#[schema(as = ") {
                renamed = rest.split([')', ',']).next().map(str::to_string);
            }
            let declared = [
                "pub struct ",
                "pub enum ",
                "struct ",
                "enum ",
                "pub(crate) struct ",
            ]
            .iter()
            .find_map(|p| next.strip_prefix(p));
            if let Some(rest) = declared {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
                    .collect();
                // `choices!` declares `pub enum $name`: its invocations are
                // counted where they are written, below.
                if !name.starts_with('$') {
                    names.push(renamed.unwrap_or(name));
                }
                break;
            }
        }
    }
    // Enums declared through `choices! { pub enum Name { … } }`.
    let mut in_choices = false;
    for line in &lines {
        let trimmed = line.trim();
        if trimmed.starts_with("choices!") {
            in_choices = true;
        } else if in_choices {
            if let Some(rest) = trimmed.strip_prefix("pub enum ") {
                names.push(
                    rest.split([' ', '{'])
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
                in_choices = false;
            }
        }
    }
    names
}

#[test]
fn no_two_schema_types_share_a_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let source = std::fs::read_to_string(file).expect("source readable");
        for name in schema_names(&source) {
            let place = file
                .strip_prefix(&root)
                .unwrap_or(file)
                .display()
                .to_string();
            seen.entry(name).or_default().push(place);
        }
    }
    assert!(
        seen.len() > 40,
        "the scan found too few schema types: {seen:?}"
    );
    let clashes: Vec<_> = seen.iter().filter(|(_, places)| places.len() > 1).collect();
    assert!(
        clashes.is_empty(),
        "schema names used twice (utoipa keeps only one): {clashes:?}"
    );
}

#[test]
fn the_scan_sees_a_clash() {
    let source = "#[derive(Debug, utoipa::ToSchema)]\npub struct Added {}\n\
                  #[derive(utoipa::ToSchema)]\n#[schema(as = Problem)]\npub struct ProblemDoc;\n\
                  choices! {\n    /// x\n    pub enum ViewName {\n";
    assert_eq!(schema_names(source), vec!["Added", "Problem", "ViewName"]);
}
