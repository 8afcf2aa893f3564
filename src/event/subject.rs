//! What a subject may be. A lifecycle event (`hr.*`) names a person: a user principal name or
//! an Entra object id (a GUID). An operations event (`ops.*`) names what it is about with a
//! short name (the sweep's `tenant`). Anything else is refused where it enters, so no two
//! subjects can look alike to a reader of keys, logs or queues.

/// Entra ID's limit for a user principal name: 64 characters before the `@`, 113 in all.
pub const MAX_UPN_CHARS: usize = 113;
const MAX_UPN_LOCAL_CHARS: usize = 64;
/// An operations event's subject name.
const MAX_NAME_CHARS: usize = 64;

/// The shapes a subject can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// `name@domain`.
    Upn,
    /// A GUID in its 36-character form.
    ObjectId,
    /// Letters, digits and `.`, `_`, `-`, `:` (only for `ops.*` events).
    Name,
}

/// A user principal name: `local@domain`, at most 113 characters (64 before the `@`). The
/// local part takes the characters of an RFC 5322 atom and dots (Entra's guest accounts use
/// `#EXT#`); the domain is dot-separated labels of letters, digits and hyphens.
pub fn is_upn(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    let label = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.len() <= MAX_UPN_CHARS
        && !local.is_empty()
        && local.len() <= MAX_UPN_LOCAL_CHARS
        && local.chars().all(atext)
        && domain.split('.').all(label)
}

/// An Entra object id: a GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn is_object_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

/// The shape of `subject` for an event of type `event_type`, or why it is refused.
pub fn subject_kind(event_type: &str, subject: &str) -> Result<SubjectKind, String> {
    if is_object_id(subject) {
        return Ok(SubjectKind::ObjectId);
    }
    if is_upn(subject) {
        return Ok(SubjectKind::Upn);
    }
    if event_type.starts_with("ops.") {
        return if is_name(subject) {
            Ok(SubjectKind::Name)
        } else {
            Err(format!(
                "an operations event's subject is a user principal name, an object id, or a name of at most {MAX_NAME_CHARS} letters, digits, `.`, `_`, `-`, `:` (e.g. `tenant`)"
            ))
        };
    }
    Err(format!(
        "the subject must be the person's user principal name (name@domain, at most {MAX_UPN_CHARS} characters) or their Entra object id (a GUID)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upns_and_object_ids_are_recognised() {
        for ok in [
            "dana.lee@contoso.com",
            "a@b.c",
            "u@x",
            "O'Brien+hr@sub.contoso-eu.com",
            "ext_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        ] {
            assert!(is_upn(ok), "{ok}");
        }
        for bad in [
            "bo.nilsen@contoso.com\u{0}x",
            "bo nilsen@contoso.com",
            "@contoso.com",
            "bo@",
            "bo@contoso..com",
            "bo@-contoso.com",
            "bo@contoso.com@x",
            "bø@contoso.com",
            "dana",
        ] {
            assert!(!is_upn(bad), "{bad:?}");
        }
        let long_local = format!("{}@contoso.com", "a".repeat(65));
        assert!(!is_upn(&long_local));
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(50));
        assert!(long.len() > MAX_UPN_CHARS && !is_upn(&long));
        assert!(is_object_id("0b5e1c2a-8f0e-4c7b-9a51-6d2f3e4a5b6c"));
        assert!(!is_object_id("0b5e1c2a8f0e4c7b9a516d2f3e4a5b6c"));
    }

    #[test]
    fn operations_events_may_name_a_thing() {
        assert_eq!(
            subject_kind("ops.retention-sweep", "tenant"),
            Ok(SubjectKind::Name)
        );
        assert!(subject_kind("hr.leaver", "tenant").is_err());
        assert!(subject_kind("ops.run.cancel", "a b").is_err());
        assert_eq!(
            subject_kind("hr.leaver", "dana@contoso.com"),
            Ok(SubjectKind::Upn)
        );
    }
}
