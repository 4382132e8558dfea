//! The source tree's layering rules, read from `src/` as text: which layer
//! folder each file's `crate::` paths reach, that only `lib.rs` and
//! `main.rs` sit beside the folders, and that README's Layout section
//! lists every folder with the first sentence of its module doc.

use crate::common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The layer each crate-root name belongs to: the folders and the types
/// `lib.rs` re-exports. A name missing here fails the test, so a new
/// re-export must be placed.
const ROOT_NAMES: &[(&str, &[&str])] = &[
    (
        "format",
        &[
            "format",
            "ByteSource",
            "FileSource",
            "Dtype",
            "Error",
            "Finding",
            "Severity",
            "read_header",
            "Header",
            "TensorInfo",
            "MAX_HEADER_BYTES",
            "MAX_TENSORS",
            "ShardIndex",
            "Model",
            "NamedSource",
        ],
    ),
    ("stored", &["stored"]),
    (
        "quant",
        &[
            "quant",
            "Decision",
            "KeepReason",
            "Policy",
            "PolicyKind",
            "Scheme",
        ],
    ),
    ("checks", &["checks"]),
    (
        "report",
        &["report", "Action", "LayerRow", "Report", "Summary"],
    ),
    (
        "pipeline",
        &[
            "pipeline",
            "Inspection",
            "InspectOptions",
            "ModelInput",
            "Pipeline",
        ],
    ),
    ("verify", &["verify", "Verification"]),
    ("convert", &["convert"]),
    ("outputs", &["outputs"]),
    ("web", &["web"]),
    ("cli", &["cli"]),
];

/// What each layer folder may use besides itself, as its module doc says.
const MAY_USE: &[(&str, &[&str])] = &[
    ("format", &[]),
    ("stored", &["format"]),
    ("quant", &["format", "stored"]),
    ("checks", &["format", "quant"]),
    ("report", &["format", "stored", "quant"]),
    (
        "pipeline",
        &["format", "stored", "quant", "checks", "report"],
    ),
    ("verify", &["format", "stored", "quant", "checks", "report"]),
    ("convert", &["format", "stored", "quant"]),
    (
        "outputs",
        &[
            "format", "stored", "quant", "checks", "report", "pipeline", "verify", "convert",
        ],
    ),
    (
        "web",
        &[
            "format", "stored", "quant", "checks", "report", "pipeline", "verify", "convert",
            "outputs",
        ],
    ),
];

fn src() -> PathBuf {
    common::root().join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The crate-root names a text reaches through `crate::`: `crate::a::b`
/// gives `a`, `crate::{a::b, C}` gives `a` and `C`.
fn crate_roots(text: &str) -> Vec<String> {
    let mut roots = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        roots.push(leading_ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
        } else {
            roots.push(leading_ident(rest));
        }
    }
    roots.retain(|r| !r.is_empty());
    roots
}

fn leading_ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn layer_of(root: &str) -> Option<&'static str> {
    ROOT_NAMES
        .iter()
        .find(|(_, names)| names.contains(&root))
        .map(|(layer, _)| *layer)
}

/// Every use of a layer a file's folder may not use, as `file: root`.
fn violations() -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = MAY_USE.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut bad = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Some((folder, _)) = rel.split_once('/') else {
            continue;
        };
        if folder == "cli" {
            continue;
        }
        let may = allowed
            .get(folder)
            .unwrap_or_else(|| panic!("src/{folder}/ has no entry in MAY_USE"));
        for root in crate_roots(&fs::read_to_string(&f).unwrap()) {
            let layer = layer_of(&root)
                .unwrap_or_else(|| panic!("src/{rel}: crate::{root} is in no layer (ROOT_NAMES)"));
            if layer != folder && !may.contains(&layer) {
                bad.push(format!("src/{rel}: crate::{root} ({layer}/)"));
            }
        }
    }
    bad
}

#[test]
fn paths_are_read_from_plain_and_grouped_uses() {
    let text = "use crate::format::header::{read_header, Header};\n\
                use crate::{Error, quant::stats::{ErrorStats, ValueStats}, web};\n\
                /// See [`crate::Model`].";
    assert_eq!(
        crate_roots(text),
        ["format", "Error", "quant", "web", "Model"]
    );
}

#[test]
fn every_layer_uses_only_what_its_module_doc_allows() {
    let bad = violations();
    assert!(bad.is_empty(), "layering rules broken:\n{}", bad.join("\n"));
}

#[test]
fn the_core_never_names_the_web_or_cli_layers() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let src = src();
    let core = files.iter().filter(|f| {
        let top = f.strip_prefix(&src).unwrap().components().next().unwrap();
        f.parent() != Some(src.as_path()) && !["web", "cli"].iter().any(|l| top.as_os_str() == *l)
    });
    for f in core {
        let text = fs::read_to_string(f).unwrap();
        for banned in [
            "crate::web",
            "crate::cli",
            "quantlens::web",
            "quantlens::cli",
        ] {
            assert!(!text.contains(banned), "{} names {banned}", f.display());
        }
    }
}

#[test]
fn only_lib_and_main_sit_beside_the_layer_folders() {
    let mut loose: Vec<String> = fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n != "lib.rs" && n != "main.rs")
        .collect();
    loose.sort();
    assert!(loose.is_empty(), "files outside a layer folder: {loose:?}");
}

/// The first sentence of a folder's module doc, on one line.
fn first_sentence(mod_rs: &Path) -> String {
    let doc: Vec<String> = fs::read_to_string(mod_rs)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("//!") && l.trim() != "//!")
        .map(|l| l.trim_start_matches("//!").trim().to_string())
        .collect();
    let doc = doc.join(" ");
    match doc.find(". ") {
        Some(i) => doc[..=i].to_string(),
        None => doc,
    }
}

#[test]
fn readme_layout_lists_every_folder_with_its_module_doc() {
    let readme = fs::read_to_string(common::root().join("README.md")).unwrap();
    let start = readme
        .find("\n## Layout")
        .expect("README has a Layout section");
    let section = &readme[start + 1..];
    let section = section[3..]
        .find("\n## ")
        .map_or(section, |e| &section[..e + 3]);
    let section = section.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut folders: Vec<String> = fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    for f in &folders {
        let want = format!(
            "`src/{f}/` — {}",
            first_sentence(&src().join(f).join("mod.rs"))
        );
        assert!(
            section.contains(&want),
            "README's Layout section lacks:\n{want}"
        );
    }
    for listed in section.split("`src/").skip(1) {
        let name = listed.split(['/', '`', ' ']).next().unwrap();
        if listed[name.len()..].starts_with("/`") {
            assert!(
                folders.iter().any(|f| f == name),
                "README lists src/{name}/, which is not a folder"
            );
        }
    }
}
