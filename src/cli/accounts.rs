//! Who a bulk submission is for: the lines of an accounts file (UPNs or object ids) or a
//! `--filter k=v,k=v` for the tenant's user search.

use crate::event::{is_object_id, is_upn};
use anyhow::bail;
use std::collections::HashSet;

/// The accounts of a file, in order, and the notes about dropped duplicates.
#[derive(Debug, PartialEq, Eq)]
pub struct Accounts {
    pub subjects: Vec<String>,
    pub notes: Vec<String>,
}

/// One account per line; blank lines and `#` comments ignored, whitespace trimmed,
/// duplicates (case-insensitive) dropped with a note. A line that is neither a UPN
/// (`x@y`) nor a GUID refuses the whole file, naming every such line.
pub fn parse_accounts(text: &str, file: &str) -> anyhow::Result<Accounts> {
    let mut seen: HashSet<String> = HashSet::new();
    let (mut subjects, mut notes, mut bad) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_upn(line) && !is_object_id(line) {
            bad.push(format!("{} (`{line}`)", i + 1));
            continue;
        }
        if seen.insert(line.to_lowercase()) {
            subjects.push(line.to_string());
        } else {
            notes.push(format!(
                "{file}:{}: `{line}` is a duplicate; dropped",
                i + 1
            ));
        }
    }
    if !bad.is_empty() {
        bail!(
            "{file}: line {} {} neither a user principal name (name@domain) nor an object id (GUID); fix the file, nothing was submitted",
            bad.join(", "),
            if bad.len() == 1 { "is" } else { "are" }
        );
    }
    Ok(Accounts { subjects, notes })
}

/// `department=Sales,usageLocation=US` → pairs; every part needs a key and a value.
pub fn parse_filter(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                out.push((k.trim().to_string(), v.trim().to_string()))
            }
            _ => bail!(
                "--filter part `{part}` is not key=value; write e.g. --filter department=Sales,usageLocation=US"
            ),
        }
    }
    if out.is_empty() {
        bail!("--filter is empty; write e.g. --filter department=Sales,usageLocation=US");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn comments_blanks_and_duplicates_are_dropped() {
        let text = "# leavers\n\nAnn@Contoso.com  \n0e5f5b4c-5b3a-4b1e-9a7e-2f1d3c4b5a69\nann@contoso.com\n";
        let a = parse_accounts(text, "f.txt").unwrap();
        assert_eq!(
            a.subjects,
            vec!["Ann@Contoso.com", "0e5f5b4c-5b3a-4b1e-9a7e-2f1d3c4b5a69"]
        );
        assert_eq!(a.notes.len(), 1);
        assert!(a.notes[0].contains("f.txt:5"), "{:?}", a.notes);
    }

    #[test]
    fn a_bad_line_refuses_the_file_naming_every_bad_line() {
        let e = parse_accounts("a@b\nann smith\n@x\nc@d\n", "f.txt").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("line 2 (`ann smith`), 3 (`@x`) are"), "{msg}");
    }

    #[test]
    fn filters_need_keys_and_values() {
        assert_eq!(
            parse_filter("department=Sales, usageLocation=US").unwrap(),
            vec![
                ("department".into(), "Sales".into()),
                ("usageLocation".into(), "US".into())
            ]
        );
        assert!(parse_filter("department").is_err());
        assert!(parse_filter(" , ").is_err());
    }
}
