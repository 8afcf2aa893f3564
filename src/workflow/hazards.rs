//! Static ordering hazards (docs/rules.md R3, R4, R6, R12, R16; R3 also for a
//! restore), decided over every case of the enum payload fields `data.mailbox` ×
//! `data.onedrive` (including absent).

use super::definition::StepDef;
use super::reader::Reader;
use super::template::{eval_truthy, expr_variables};
use crate::steps::Action;
use serde_json::{Map, Value};

const MAILBOX: &[Option<&str>] = &[Some("shared"), Some("delete"), None];
const ONEDRIVE: &[Option<&str>] = &[
    Some("backup"),
    Some("manager"),
    Some("both"),
    Some("none"),
    None,
];
const FIELDS: &[&str] = &["data.mailbox", "data.onedrive"];

/// A forbidden order: a step of `first` that can run before a step of `then`.
struct Rule {
    first: &'static [Action],
    then: &'static [Action],
    what: &'static str,
    fix: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        first: &[Action::LicensesRemove],
        then: &[Action::MailboxConvert],
        what: "licenses are removed before the mailbox is converted to shared (R3)",
        fix: "convert first: removing the license starts deprovisioning the mailbox",
    },
    Rule {
        first: &[Action::MailboxConvert],
        then: &[Action::UserDelete],
        what: "the account of a shared mailbox is deleted (R4)",
        fix: "the account behind a shared mailbox must stay; make the two `when`s exclusive",
    },
    Rule {
        first: &[Action::UserDelete],
        then: &[Action::OnedriveBackup, Action::OnedriveGrant],
        what: "the account is deleted before its OneDrive is backed up or handed over (R6)",
        fix: "back up or hand over OneDrive before deleting the account",
    },
    Rule {
        first: &[Action::MailboxRevert],
        then: &[Action::LicensesRestore],
        what: "the mailbox is converted back to a regular mailbox before its licenses are given back (R3)",
        fix: "give the licenses back first: a regular mailbox needs an Exchange license",
    },
    Rule {
        first: &[Action::LicensesAssign],
        then: &[Action::UsageSet],
        what: "licenses are assigned before the usage location is set (R12)",
        fix: "run usage.set first: a license can only be assigned to a user with a usage location",
    },
    Rule {
        first: &[Action::SessionsRevoke],
        then: &[Action::UserDisable],
        what: "sessions are revoked before sign-in is disabled (R16)",
        fix: "disable sign-in first, then revoke sessions",
    },
];

/// One case of the payload domain.
#[derive(Clone, Copy)]
struct Case {
    mailbox: Option<&'static str>,
    onedrive: Option<&'static str>,
}

impl Case {
    fn all() -> impl Iterator<Item = Case> {
        MAILBOX.iter().flat_map(|m| {
            ONEDRIVE.iter().map(|o| Case {
                mailbox: *m,
                onedrive: *o,
            })
        })
    }

    fn context(self) -> Value {
        let mut data = Map::new();
        if let Some(m) = self.mailbox {
            data.insert("mailbox".into(), Value::from(m));
        }
        if let Some(o) = self.onedrive {
            data.insert("onedrive".into(), Value::from(o));
        }
        let mut ctx = Map::new();
        ctx.insert("data".into(), Value::Object(data));
        Value::Object(ctx)
    }

    /// "mailbox=shared, onedrive absent", limited to the fields that matter.
    fn describe(self, mailbox: bool, onedrive: bool) -> String {
        let show = |name: &str, v: Option<&str>| match v {
            Some(v) => format!("{name}={v}"),
            None => format!("{name} is absent"),
        };
        let mut parts = Vec::new();
        if mailbox {
            parts.push(show("mailbox", self.mailbox));
        }
        if onedrive {
            parts.push(show("onedrive", self.onedrive));
        }
        if parts.is_empty() {
            "in every case".to_string()
        } else {
            format!("when {}", parts.join(" and "))
        }
    }
}

/// How a step's `when` depends on the payload.
enum Guard<'a> {
    /// No `when`, or one that reads other fields: assume it may run.
    Always,
    /// Decided by `data.mailbox` / `data.onedrive` only.
    Decided(&'a str),
}

impl Guard<'_> {
    fn can_run(&self, case: Case) -> bool {
        match self {
            Guard::Always => true,
            Guard::Decided(expr) => eval_truthy(expr, &case.context()).unwrap_or(true),
        }
    }
}

fn guard(step: &StepDef) -> (Guard<'_>, bool, bool) {
    let Some(when) = &step.when else {
        return (Guard::Always, false, false);
    };
    match expr_variables(when) {
        Ok(vars) if vars.iter().all(|v| FIELDS.contains(&v.as_str())) => (
            Guard::Decided(when),
            vars.contains(FIELDS[0]),
            vars.contains(FIELDS[1]),
        ),
        _ => (Guard::Always, false, false),
    }
}

/// Reports every hazardous pair at the line of its later step.
pub(crate) fn check(r: &mut Reader<'_>, steps: &[StepDef]) {
    for rule in RULES {
        for (i, a) in steps.iter().enumerate() {
            if !a.action().is_some_and(|x| rule.first.contains(&x)) {
                continue;
            }
            for b in &steps[i + 1..] {
                if !b.action().is_some_and(|x| rule.then.contains(&x)) {
                    continue;
                }
                let (ga, ma, oa) = guard(a);
                let (gb, mb, ob) = guard(b);
                if let Some(case) = Case::all().find(|c| ga.can_run(*c) && gb.can_run(*c)) {
                    r.at_line(
                        b.line,
                        format!(
                            "{}: step `{}` (line {}) can run before step `{}` {}; {} (see docs/rules.md)",
                            rule.what,
                            a.id,
                            a.line,
                            b.id,
                            case.describe(ma || mb, oa || ob),
                            rule.fix
                        ),
                    );
                }
            }
        }
    }
}
