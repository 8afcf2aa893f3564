//! [`UserQuery`]: which users a bulk operation selects, as equality conditions on directory
//! attributes (`department=Sales,usageLocation=US`). Never empty, so a query cannot select
//! every user by accident. Renders as a Graph `$filter` (docs/microsoft-365-api.md §2.4) and
//! matches a [`User`] the way Graph compares strings (case-insensitive).

use super::types::User;
use std::fmt;

/// A user attribute a query may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Department,
    JobTitle,
    CompanyName,
    OfficeLocation,
    City,
    Country,
    UsageLocation,
    AccountEnabled,
}

impl UserField {
    pub const ALL: [UserField; 8] = [
        UserField::Department,
        UserField::JobTitle,
        UserField::CompanyName,
        UserField::OfficeLocation,
        UserField::City,
        UserField::Country,
        UserField::UsageLocation,
        UserField::AccountEnabled,
    ];

    /// The Graph property name, which is also the query key (case-sensitive).
    pub fn key(self) -> &'static str {
        match self {
            UserField::Department => "department",
            UserField::JobTitle => "jobTitle",
            UserField::CompanyName => "companyName",
            UserField::OfficeLocation => "officeLocation",
            UserField::City => "city",
            UserField::Country => "country",
            UserField::UsageLocation => "usageLocation",
            UserField::AccountEnabled => "accountEnabled",
        }
    }

    pub fn from_key(key: &str) -> Option<UserField> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// `department, jobTitle, ...` for error messages.
    pub fn supported() -> String {
        Self::ALL.map(UserField::key).join(", ")
    }

    fn text_of(self, u: &User) -> Option<&str> {
        match self {
            UserField::Department => u.department.as_deref(),
            UserField::JobTitle => u.job_title.as_deref(),
            UserField::CompanyName => u.company_name.as_deref(),
            UserField::OfficeLocation => u.office_location.as_deref(),
            UserField::City => u.city.as_deref(),
            UserField::Country => u.country.as_deref(),
            UserField::UsageLocation => u.usage_location.as_deref(),
            UserField::AccountEnabled => None,
        }
    }
}

/// One equality condition. `accountEnabled` takes a boolean, every other field text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCondition {
    /// `field eq 'value'`; never built with `AccountEnabled`.
    Text(UserField, String),
    AccountEnabled(bool),
}

impl UserCondition {
    pub fn field(&self) -> UserField {
        match self {
            UserCondition::Text(f, _) => *f,
            UserCondition::AccountEnabled(_) => UserField::AccountEnabled,
        }
    }

    /// The value as given (`true`/`false` for accountEnabled).
    pub fn value(&self) -> String {
        match self {
            UserCondition::Text(_, v) => v.clone(),
            UserCondition::AccountEnabled(b) => b.to_string(),
        }
    }

    pub fn matches(&self, u: &User) -> bool {
        match self {
            UserCondition::Text(f, v) => f.text_of(u).is_some_and(|t| t.eq_ignore_ascii_case(v)),
            UserCondition::AccountEnabled(b) => u.account_enabled == *b,
        }
    }

    /// The OData clause: strings quoted with `'` doubled, booleans bare.
    pub fn odata(&self) -> String {
        match self {
            UserCondition::Text(f, v) => format!("{} eq '{}'", f.key(), v.replace('\'', "''")),
            UserCondition::AccountEnabled(b) => format!("accountEnabled eq {b}"),
        }
    }
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "no filter condition given; name at least one of: {}",
        UserField::supported()
    )]
    Empty,
    #[error(
        "unknown filter key '{key}'; supported keys (case-sensitive): {}",
        UserField::supported()
    )]
    UnknownKey { key: String },
    #[error("filter condition '{part}' is not key=value (e.g. department=Sales)")]
    Malformed { part: String },
    #[error("filter key '{key}' has an empty value")]
    EmptyValue { key: String },
    #[error("accountEnabled must be true or false, not '{value}'")]
    NotBoolean { value: String },
}

/// A non-empty list of conditions, all of which a user must meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    conditions: Vec<UserCondition>,
}

impl UserQuery {
    /// From `key=value` pairs separated by commas (`department=Sales,usageLocation=US`).
    /// Values cannot contain commas; surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<UserQuery, QueryError> {
        let mut pairs = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| QueryError::Malformed {
                part: part.to_string(),
            })?;
            pairs.push((k.trim().to_string(), v.trim().to_string()));
        }
        Self::from_pairs(pairs)
    }

    /// From (key, value) pairs, e.g. an HTTP query string.
    pub fn from_pairs<K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<UserQuery, QueryError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut conditions = Vec::new();
        for (k, v) in pairs {
            let (key, value) = (k.as_ref(), v.as_ref());
            let field = UserField::from_key(key).ok_or_else(|| QueryError::UnknownKey {
                key: key.to_string(),
            })?;
            if value.is_empty() {
                return Err(QueryError::EmptyValue {
                    key: key.to_string(),
                });
            }
            conditions.push(match field {
                UserField::AccountEnabled => match value {
                    "true" => UserCondition::AccountEnabled(true),
                    "false" => UserCondition::AccountEnabled(false),
                    _ => {
                        return Err(QueryError::NotBoolean {
                            value: value.to_string(),
                        });
                    }
                },
                f => UserCondition::Text(f, value.to_string()),
            });
        }
        if conditions.is_empty() {
            return Err(QueryError::Empty);
        }
        Ok(UserQuery { conditions })
    }

    pub fn conditions(&self) -> &[UserCondition] {
        &self.conditions
    }

    pub fn matches(&self, u: &User) -> bool {
        self.conditions.iter().all(|c| c.matches(u))
    }

    /// The Graph `$filter` expression (not URL-encoded).
    pub fn odata_filter(&self) -> String {
        self.conditions
            .iter()
            .map(UserCondition::odata)
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

impl fmt::Display for UserQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}={}", c.field().key(), c.value())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_text_and_renders_odata() {
        let q =
            UserQuery::parse(" department=Sales , usageLocation=US,accountEnabled=true").unwrap();
        assert_eq!(
            q.odata_filter(),
            "department eq 'Sales' and usageLocation eq 'US' and accountEnabled eq true"
        );
        assert_eq!(
            q.to_string(),
            "department=Sales,usageLocation=US,accountEnabled=true"
        );
        let q = UserQuery::parse("companyName=O'Brien & Sons").unwrap();
        assert_eq!(q.odata_filter(), "companyName eq 'O''Brien & Sons'");
    }

    #[test]
    fn refuses_what_would_select_the_wrong_users() {
        assert_eq!(UserQuery::parse(""), Err(QueryError::Empty));
        assert_eq!(UserQuery::parse(" , "), Err(QueryError::Empty));
        let e = UserQuery::parse("Department=Sales").unwrap_err();
        assert!(matches!(&e, QueryError::UnknownKey { key } if key == "Department"));
        assert!(e.to_string().contains("department, jobTitle"));
        assert!(matches!(
            UserQuery::parse("userType=Member"),
            Err(QueryError::UnknownKey { .. })
        ));
        assert!(matches!(
            UserQuery::parse("department"),
            Err(QueryError::Malformed { .. })
        ));
        assert!(matches!(
            UserQuery::parse("city="),
            Err(QueryError::EmptyValue { .. })
        ));
        assert!(matches!(
            UserQuery::from_pairs([("accountEnabled", "yes")]),
            Err(QueryError::NotBoolean { .. })
        ));
        assert_eq!(
            UserQuery::from_pairs(Vec::<(String, String)>::new()),
            Err(QueryError::Empty)
        );
    }

    #[test]
    fn matches_case_insensitively_and_needs_every_condition() {
        let u: User = serde_json::from_value(serde_json::json!({
            "id": "u1", "userPrincipalName": "a@x", "displayName": "A",
            "accountEnabled": true, "usageLocation": "US", "department": "Sales"
        }))
        .unwrap();
        assert!(
            UserQuery::parse("department=sales,usageLocation=us")
                .unwrap()
                .matches(&u)
        );
        assert!(
            !UserQuery::parse("department=Sales,usageLocation=DE")
                .unwrap()
                .matches(&u)
        );
        assert!(!UserQuery::parse("city=Seattle").unwrap().matches(&u));
        assert!(
            !UserQuery::parse("accountEnabled=false")
                .unwrap()
                .matches(&u)
        );
    }
}
