//! The repository documents itself: nothing in README.md, docs/, src/, workflows/,
//! examples/ or deploy/ points at files that are not shipped (the developers' shared
//! references), every rule cited as `R<n>` has an entry in docs/rules.md, every `§x.y` has a
//! section in docs/microsoft-365-api.md, and every relative link of README.md and docs/*.md
//! (with its `#anchor`, if any) leads somewhere that exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// What the checks read: the user-facing tree.
const SCANNED: &[&str] = &[
    "README.md",
    "docs",
    "src",
    "workflows",
    "examples",
    "deploy",
];

/// Pointers to files only developers have (`/work/shared/...`), never shipped.
const FORBIDDEN: &[&str] = &[
    "../shared",
    "shared/reference",
    "DESIGN.md",
    "DESIGN §",
    "ms365-api",
    "microsoft-rules.md",
];

const RULES: &str = "docs/rules.md";
const API: &str = "docs/microsoft-365-api.md";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Every text file under the scanned paths (binary files are skipped).
fn scanned_files() -> Vec<(PathBuf, String)> {
    fn walk(p: &Path, out: &mut Vec<(PathBuf, String)>) {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for e in entries {
                walk(&e, out);
            }
        } else if let Ok(text) = fs::read_to_string(p) {
            out.push((p.to_path_buf(), text));
        }
    }
    let mut out = Vec::new();
    for s in SCANNED {
        let p = root().join(s);
        if p.exists() {
            walk(&p, &mut out);
        }
    }
    out
}

fn read(rel_path: &str) -> String {
    fs::read_to_string(root().join(rel_path))
        .unwrap_or_else(|e| panic!("{rel_path} must exist: {e}"))
}

/// A number at `chars[i..]`: digits, optionally `.digits`. Returns it and the index after it.
fn number_at(chars: &[char], mut i: usize, dotted: bool) -> Option<(String, usize)> {
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return None;
    }
    if dotted && i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    Some((chars[start..i].iter().collect(), i))
}

fn is_dash(c: char) -> bool {
    c == '-' || c == '–'
}

/// Rule numbers cited in `text`: `R7`, `(R7)`, `R2/R8`, and ranges `R13-R15`, `R1–R17`,
/// `R13-15` (every number of a range counts). `R` must not follow a letter, digit or `_`,
/// and the number must not run on into one.
fn cited_rules(text: &str) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let boundary = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
            if chars[i] != 'R' || !boundary {
                i += 1;
                continue;
            }
            let Some((first, mut j)) = number_at(&chars, i + 1, false) else {
                i += 1;
                continue;
            };
            if j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                i = j;
                continue;
            }
            let first: u32 = first.parse().unwrap();
            let mut last = first;
            if j + 1 < chars.len() && is_dash(chars[j]) {
                let k = if chars[j + 1] == 'R' { j + 2 } else { j + 1 };
                if let Some((second, end)) = number_at(&chars, k, false) {
                    let at_boundary = end >= chars.len() || !chars[end].is_alphanumeric();
                    let second: u32 = second.parse().unwrap();
                    if at_boundary && second > first {
                        last = second;
                        j = end;
                    }
                }
            }
            for r in first..=last {
                out.push((n + 1, r));
            }
            i = j;
        }
    }
    out
}

/// Section numbers cited in `text` as `§3.2`, `§4`, and both ends of `§3.1–3.6`,
/// `§2.3–§2.4`, `§3–§6`.
fn cited_sections(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '§' {
                i += 1;
                continue;
            }
            let mut k = i + 1;
            if k < chars.len() && chars[k] == ' ' {
                k += 1;
            }
            let Some((first, mut j)) = number_at(&chars, k, true) else {
                i += 1;
                continue;
            };
            out.push((n + 1, first));
            if j + 1 < chars.len() && is_dash(chars[j]) {
                let k = if chars[j + 1] == '§' { j + 2 } else { j + 1 };
                if let Some((second, end)) = number_at(&chars, k, true) {
                    out.push((n + 1, second));
                    j = end;
                }
            }
            i = j;
        }
    }
    out
}

/// The text of a Markdown heading line, without its `#`s and leading HTML anchors.
fn heading_text(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if !t.starts_with('#') {
        return None;
    }
    let mut t = t.trim_start_matches('#').trim_start();
    while let Some(rest) = t.strip_prefix("<a ") {
        t = rest.split_once("</a>").map(|(_, r)| r.trim_start())?;
    }
    Some(t)
}

/// Lines outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((n + 1, line));
        }
    }
    out
}

/// Rule entries of docs/rules.md: headings that carry `<a id="rN"></a>`.
fn rule_entries() -> BTreeSet<u32> {
    let text = read(RULES);
    let mut rules = BTreeSet::new();
    for (_, line) in prose_lines(&text) {
        if !line.trim_start().starts_with('#') {
            continue;
        }
        for part in line.split("id=\"r").skip(1) {
            if let Some((n, _)) = part.split_once('"')
                && let Ok(n) = n.parse::<u32>()
            {
                rules.insert(n);
            }
        }
    }
    rules
}

/// Section numbers of docs/microsoft-365-api.md: headings such as `## §3 Users` or
/// `### §3.2 Update a user`.
fn api_sections() -> BTreeSet<String> {
    let text = read(API);
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(&text) {
        let Some(h) = heading_text(line) else {
            continue;
        };
        let chars: Vec<char> = h.trim_start_matches('§').chars().collect();
        if let Some((n, end)) = number_at(&chars, 0, true)
            && (end == chars.len() || chars[end] == ' ' || chars[end] == '.')
        {
            out.insert(n);
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (but `-` and `_`), spaces
/// to `-`; repeated headings get `-1`, `-2`, ...
fn anchors_of(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (_, line) in prose_lines(text) {
        for attr in ["id=\"", "name=\""] {
            for part in line.split(attr).skip(1) {
                if let Some((id, _)) = part.split_once('"') {
                    out.insert(id.to_string());
                }
            }
        }
        let Some(h) = heading_text(line) else {
            continue;
        };
        let slug: String = h
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                '-' | '_' => Some(c),
                c if c.is_alphanumeric() => Some(c),
                _ => None,
            })
            .collect();
        let count = seen.entry(slug.clone()).or_insert(0);
        if *count == 0 {
            out.insert(slug);
        } else {
            out.insert(format!("{slug}-{count}"));
        }
        *count += 1;
    }
    out
}

/// The targets of inline Markdown links `[text](target)` outside code blocks and spans.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let mut in_code = false;
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '`' {
                in_code = !in_code;
            } else if !in_code
                && chars[i] == ']'
                && chars.get(i + 1) == Some(&'(')
                && let Some(len) = chars[i + 2..].iter().position(|c| *c == ')')
            {
                let target: String = chars[i + 2..i + 2 + len].iter().collect();
                let target = target.split_whitespace().next().unwrap_or("").to_string();
                out.push((n, target));
                i += 2 + len;
            }
            i += 1;
        }
    }
    out
}

#[test]
fn no_pointer_to_unshipped_files() {
    let mut bad = Vec::new();
    for (path, text) in scanned_files() {
        for (n, line) in text.lines().enumerate() {
            for f in FORBIDDEN {
                if line.contains(f) {
                    bad.push(format!(
                        "{}:{}: mentions `{f}`: {}",
                        rel(&path),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "these point at files users do not have; point at docs/rules.md, \
         docs/microsoft-365-api.md or a README section instead:\n{}",
        bad.join("\n")
    );
}

#[test]
fn rules_r1_to_r30_have_an_entry() {
    let rules = rule_entries();
    let expected: BTreeSet<u32> = (1..=30).collect();
    assert_eq!(
        rules, expected,
        "{RULES} must have one entry per rule R1–R30"
    );
}

#[test]
fn every_cited_rule_has_an_entry() {
    let rules = rule_entries();
    let mut bad = Vec::new();
    for (path, text) in scanned_files() {
        for (n, r) in cited_rules(&text) {
            if !rules.contains(&r) {
                bad.push(format!("{}:{n}: R{r}", rel(&path)));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "cited rules without an entry in {RULES}:\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_cited_section_exists() {
    let sections = api_sections();
    let mut bad = Vec::new();
    for (path, text) in scanned_files() {
        for (n, s) in cited_sections(&text) {
            if !sections.contains(&s) {
                bad.push(format!("{}:{n}: §{s}", rel(&path)));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "cited sections without a heading in {API} (sections: {sections:?}):\n{}",
        bad.join("\n")
    );
}

#[test]
fn relative_links_resolve() {
    let mut docs: Vec<PathBuf> = vec![root().join("README.md")];
    if let Ok(dir) = fs::read_dir(root().join("docs")) {
        let mut md: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        md.sort();
        docs.extend(md);
    }
    let mut bad = Vec::new();
    for doc in &docs {
        let text = fs::read_to_string(doc).unwrap();
        for (n, target) in links(&text) {
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((f, frag)) => (f, Some(frag)),
                None => (target.as_str(), None),
            };
            let path = if file.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(file)
            };
            if !path.exists() {
                bad.push(format!("{}:{n}: {target}: no such file", rel(doc)));
                continue;
            }
            if let Some(frag) = fragment
                && path.extension().is_some_and(|e| e == "md")
            {
                let anchors = anchors_of(&fs::read_to_string(&path).unwrap());
                if !anchors.contains(frag) {
                    bad.push(format!("{}:{n}: {target}: no anchor `{frag}`", rel(doc)));
                }
            }
        }
    }
    assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
}

#[test]
fn the_parsers_see_what_they_should() {
    let rules: Vec<u32> = cited_rules("(R7) R13-R15, R1–R3; R2/R8 R13-14 RS256 XR5 R5x R9_")
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(rules, vec![7, 13, 14, 15, 1, 2, 3, 2, 8, 13, 14]);
    let sections: Vec<String> = cited_sections("§3.2, §4. §3.1–3.6 §2.3–§2.4 §3–§6 § 9.2 §x")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        sections,
        vec!["3.2", "4", "3.1", "3.6", "2.3", "2.4", "3", "6", "9.2"]
    );
    let anchors =
        anchors_of("# The simulated tenant over HTTP: `offboard sim-graph`\n## A\n## A\n");
    assert!(anchors.contains("the-simulated-tenant-over-http-offboard-sim-graph"));
    assert!(anchors.contains("a") && anchors.contains("a-1"));
    assert_eq!(
        links("see [x](docs/rules.md#r7) and `[y](not-a-link)`"),
        vec![(1, "docs/rules.md#r7".to_string())]
    );
}
