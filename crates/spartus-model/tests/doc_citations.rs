//! The project's specification lives in `docs/`: every citation of it resolves, and nothing
//! cites documents outside the repository.
//!
//! The scan covers the text files under `crates/`, `docs/`, `scripts/`, `formal/`,
//! `testbenches/`, `fuzz/`, `configs/`, `constraints/`, `reports/`, `.ci/` and the top-level
//! `README.md` / `Cargo.toml`:
//!
//! - every `§n` (or `§n.m`) must belong to one of the spec documents `arithmetic.md`,
//!   `architecture.md`, `rust-hdl.md`: the nearest of those names before it on the same line, or
//!   on up to three lines above it in the same paragraph; inside one of these documents a `§`
//!   without a name refers to the document itself. That document must have a heading
//!   `## §n ...` (any level) for it;
//! - the names of the old out-of-repository documents and paths (spelled out in
//!   [`forbidden`]) must not appear at all; `scripts/fix-citations.sh` rewrites old citations.
//!
//! The scanner's own tests plant bad citations and check that they are reported. The table of
//! LUT checksums in docs/arithmetic.md §4 is recomputed from the code.

use spartus_model::lut::Lut;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The spec documents under `docs/` that code may cite by section.
const SPEC_DOCS: [&str; 3] = ["arithmetic.md", "architecture.md", "rust-hdl.md"];
/// Folders scanned (relative to the repository root).
const SCAN_DIRS: [&str; 10] = [
    "crates",
    "docs",
    "scripts",
    "formal",
    "testbenches",
    "fuzz",
    "configs",
    "constraints",
    "reports",
    ".ci",
];
/// Top-level files scanned.
const SCAN_FILES: [&str; 2] = ["README.md", "Cargo.toml"];
/// Folder names never entered (build output, generated designs, fuzzing corpora).
const SKIP_DIRS: [&str; 6] = [
    "target",
    ".git",
    "hdl_out",
    "corpus",
    "artifacts",
    "coverage",
];
/// Files larger than this are not text we write by hand.
const MAX_BYTES: u64 = 4 << 20;
/// How many lines above a `§` its document name may be.
const LOOKBACK_LINES: usize = 3;

/// Old documents and paths outside the repository (assembled here so that this file does not
/// contain them itself). Each entry: (text, what to use instead).
fn forbidden() -> Vec<(String, &'static str)> {
    vec![
        (["SP", "EC §"].concat(), "docs/arithmetic.md §n"),
        (["SP", "EC.md"].concat(), "docs/arithmetic.md"),
        (["DES", "IGN.md"].concat(), "docs/architecture.md"),
        (["RUST_", "HDL_NOTES"].concat(), "docs/rust-hdl.md"),
        (
            ["FLOW_", "NOTES"].concat(),
            "formal/README.md or docs/targets.md",
        ),
        (["FPGA_", "BUDGETS"].concat(), "docs/targets.md"),
        (["../", "shared"].concat(), "a file in the repository"),
        (["/work/", "shared"].concat(), "a file in the repository"),
    ]
}

/// The old spec's name as a word of its own (not part of an identifier such as `X_SPEC`).
fn old_spec_word() -> String {
    ["SP", "EC"].concat()
}

/// One problem found by the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    file: String,
    line: usize,
    what: String,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Section headings of a spec document: `#... §n title` → "n".
fn headings(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix('#')?;
            let rest = rest.trim_start_matches('#').trim_start();
            let num = rest.strip_prefix('§')?;
            let num: String = num
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let num = num.trim_end_matches('.').to_string();
            (!num.is_empty()).then_some(num)
        })
        .collect()
}

/// The spec document named last in `text` (the one nearest to its end), if any.
fn last_doc_name(text: &str) -> Option<&'static str> {
    SPEC_DOCS
        .iter()
        .filter_map(|d| text.rfind(d).map(|i| (i, *d)))
        .max_by_key(|(i, _)| *i)
        .map(|(_, d)| d)
}

/// Scan one file's text. `own_doc`: the spec document this file is, if it is one.
/// `sections`: headings per spec document.
fn scan_text(
    file: &str,
    text: &str,
    own_doc: Option<&str>,
    sections: &BTreeMap<&str, BTreeSet<String>>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let forbidden = forbidden();
    let word = old_spec_word();
    let lines: Vec<&str> = text.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let mut report = |what: String| {
            problems.push(Problem {
                file: file.to_string(),
                line: n + 1,
                what,
            })
        };
        for (bad, instead) in &forbidden {
            if line.contains(bad.as_str()) {
                report(format!(
                    "mentions `{bad}` (outside the repository): use {instead}"
                ));
            }
        }
        for (i, _) in line.match_indices(word.as_str()) {
            let before = line[..i].chars().next_back();
            let after = line[i + word.len()..].chars().next();
            if !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char) {
                report(format!(
                    "mentions the old `{word}` (outside the repository): cite docs/arithmetic.md"
                ));
            }
        }
        for (i, _) in line.match_indices('§') {
            let num: String = line[i + '§'.len_utf8()..]
                .trim_start_matches(' ')
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let num = num.trim_end_matches('.').to_string();
            if num.is_empty() {
                continue;
            }
            // the document: named before it on this line, or on the lines above (same
            // paragraph); in a spec document, only this line, else the document itself
            let mut doc = last_doc_name(&line[..i]);
            if doc.is_none() && own_doc.is_none() {
                for k in 1..=LOOKBACK_LINES.min(n) {
                    let above = lines[n - k];
                    if above.trim().is_empty() {
                        break;
                    }
                    doc = last_doc_name(above);
                    if doc.is_some() {
                        break;
                    }
                }
            }
            let Some(doc) = doc.or(own_doc) else {
                report(format!(
                    "§{num} does not name its document (arithmetic.md, architecture.md or \
                     rust-hdl.md)"
                ));
                continue;
            };
            if !sections.get(doc).is_some_and(|s| s.contains(&num)) {
                report(format!(
                    "cites {doc} §{num}, which has no such section heading"
                ));
            }
        }
    }
    problems
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        let name = e.file_name().to_string_lossy().to_string();
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                collect(&path, out);
            }
        } else if ft.is_file() && e.metadata().is_ok_and(|m| m.len() <= MAX_BYTES) {
            out.push(path);
        }
    }
}

fn spec_sections(root: &Path) -> BTreeMap<&'static str, BTreeSet<String>> {
    SPEC_DOCS
        .iter()
        .map(|d| {
            let text = fs::read_to_string(root.join("docs").join(d))
                .unwrap_or_else(|e| panic!("docs/{d}: {e}"));
            (*d, headings(&text))
        })
        .collect()
}

#[test]
fn every_citation_resolves_and_nothing_points_outside_the_repository() {
    let root = repo_root();
    let sections = spec_sections(&root);
    for (d, s) in &sections {
        assert!(!s.is_empty(), "docs/{d} has no § headings");
    }
    let mut files = Vec::new();
    for d in SCAN_DIRS {
        collect(&root.join(d), &mut files);
    }
    for f in SCAN_FILES {
        files.push(root.join(f));
    }
    let mut problems = Vec::new();
    let mut scanned = 0;
    let mut citations = 0;
    for path in &files {
        let Ok(text) = fs::read_to_string(path) else {
            continue; // not UTF-8: not a text file
        };
        scanned += 1;
        citations += text.matches('§').count();
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .to_string_lossy()
            .to_string();
        let own = SPEC_DOCS
            .iter()
            .find(|d| rel == format!("docs/{d}"))
            .copied();
        problems.extend(scan_text(&rel, &text, own, &sections));
    }
    println!("{scanned} text files, {citations} § marks");
    assert!(scanned > 100, "only {scanned} files scanned: wrong root?");
    assert!(citations > 100, "only {citations} § marks found");
    let list: Vec<String> = problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.file, p.line, p.what))
        .collect();
    assert!(
        problems.is_empty(),
        "{} citation problem(s) (scripts/fix-citations.sh rewrites old citations):\n{}",
        problems.len(),
        list.join("\n")
    );
}

#[test]
fn the_readme_links_the_spec_documents() {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    for d in SPEC_DOCS {
        assert!(
            readme.contains(&format!("](docs/{d})")),
            "README.md does not link docs/{d}"
        );
    }
}

/// docs/arithmetic.md §4 lists table checksums; every row must be what `Lut` computes.
#[test]
fn the_lut_checksum_table_of_arithmetic_4_is_the_codes() {
    let text = fs::read_to_string(repo_root().join("docs/arithmetic.md")).unwrap();
    let mut rows = 0;
    for line in text.lines() {
        // | s | q | entries | `checksum` | Σ SIG | Σ TANH |
        let cells: Vec<String> = line
            .split('|')
            .map(|c| c.trim().replace('−', "-"))
            .collect();
        if cells.len() != 8 || !cells[4].starts_with('`') {
            continue;
        }
        let num = |i: usize| -> i64 {
            cells[i]
                .parse()
                .unwrap_or_else(|_| panic!("bad number in {line}"))
        };
        let lut = Lut::new(num(1) as u32, num(2) as u32);
        assert_eq!(lut.len() as i64, num(3), "{line}");
        assert_eq!(format!("`{}`", lut.checksum()), cells[4], "{line}");
        let sum = |t: &[i16]| t.iter().map(|&v| v as i64).sum::<i64>();
        assert_eq!(sum(lut.sig_table()), num(5), "{line}");
        assert_eq!(sum(lut.tanh_table()), num(6), "{line}");
        rows += 1;
    }
    assert!(
        rows >= 2,
        "found {rows} checksum rows in docs/arithmetic.md"
    );
}

// ---- the scanner itself ----
// The planted texts are assembled with `S` so that this file does not cite anything itself.

/// The section sign.
const S: char = '\u{a7}';

fn test_sections() -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut m = BTreeMap::new();
    m.insert(
        "arithmetic.md",
        headings(&format!(
            "# title\n## {S}0 notation\n## {S}3 step\n### {S}3.8 statistics\n"
        )),
    );
    m.insert(
        "architecture.md",
        headings(&format!("## {S}1 flow\n## {S}5 cycles\n")),
    );
    m.insert("rust-hdl.md", headings(&format!("## {S}3 signed\n")));
    m
}

fn problems_in(text: &str) -> Vec<Problem> {
    scan_text("planted.rs", text, None, &test_sections())
}

#[test]
fn scanner_reads_headings() {
    let s = test_sections();
    assert_eq!(
        s["arithmetic.md"],
        ["0", "3", "3.8"].iter().map(|s| s.to_string()).collect()
    );
    assert!(headings(&format!("## 3 no section sign\ntext {S} 4\n")).is_empty());
}

#[test]
fn scanner_accepts_good_citations() {
    let good = format!(
        "// docs/arithmetic.md {S}0, {S}3 steps 4, 6, 7 and {S}3.8\n\
         // (docs/architecture.md {S}1\u{2013}{S}5; docs/rust-hdl.md {S}3)\n\
         // see docs/arithmetic.md\n\
         //   {S}3 on the next line\n\
         // YOWASP_ECP5_{}EC is an identifier\n",
        "SP"
    );
    assert_eq!(problems_in(&good), vec![]);
    // inside a spec document, a bare section sign is the document's own
    let own = scan_text(
        "docs/arithmetic.md",
        &format!("as {S}3.8 says; architecture.md {S}5"),
        Some("arithmetic.md"),
        &test_sections(),
    );
    assert_eq!(own, vec![]);
}

#[test]
fn scanner_reports_planted_bad_citations() {
    let cases: Vec<(String, String)> = vec![
        (
            format!("// docs/arithmetic.md {S}99"),
            "no such section".into(),
        ),
        (
            format!("// docs/arithmetic.md {S}3.9"),
            "no such section".into(),
        ),
        (
            format!("// docs/architecture.md {S}1\u{2013}{S}7"),
            format!("{S}7"),
        ),
        (
            format!("// docs/rust-hdl.md {S}4"),
            format!("rust-hdl.md {S}4"),
        ),
        (
            format!("// as {S}3 says"),
            "does not name its document".into(),
        ),
        (
            format!("// {} {S}3", old_spec_word()),
            "outside the repository".into(),
        ),
        (format!("// the {} formulas", old_spec_word()), "old".into()),
        (
            format!("// {}", ["DES", "IGN.md"].concat()),
            "docs/architecture.md".into(),
        ),
        (
            format!("// {} {S}4", ["RUST_", "HDL_NOTES"].concat()),
            "docs/rust-hdl.md".into(),
        ),
        (
            format!("cat {}/x", ["../", "shared"].concat()),
            "outside".into(),
        ),
    ];
    for (text, expect) in cases {
        let p = problems_in(&text);
        assert!(
            p.iter().any(|p| p.what.contains(&expect) && p.line == 1),
            "{text:?}: expected a problem containing {expect:?}, got {p:?}"
        );
    }
    // the document named on a line above, but across a blank line, does not count
    let p = problems_in(&format!("// docs/arithmetic.md\n\n// {S}3\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line, 3);
    // a spec document citing another one's missing section
    let p = scan_text(
        "docs/arithmetic.md",
        &format!("see architecture.md {S}9"),
        Some("arithmetic.md"),
        &test_sections(),
    );
    assert_eq!(p.len(), 1, "{p:?}");
}
