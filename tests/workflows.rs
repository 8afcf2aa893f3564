//! Workflow files: loading, validation problems with file and line, ordering hazards,
//! and evaluation of triggers, `when`, parameters and `wait_until`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use offboard::event::CloudEvent;
use offboard::workflow::{
    Problem, RetryPolicy, StepKind, Workflow, load_dir, parse, template_context,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/workflows")
        .join(rel)
}

fn parse_file(path: &Path) -> Result<Workflow, Vec<Problem>> {
    let text = std::fs::read_to_string(path).unwrap();
    parse(path, &text)
}

fn problems_of(rel: &str) -> Vec<Problem> {
    parse_file(&fixture(rel)).expect_err("the fixture must be refused")
}

/// 1-based line of the `[[steps]]` header of the step with this id, found in the text.
fn step_line(path: &Path, id: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim() == format!("id = \"{id}\""))
        .unwrap();
    let header = (0..at)
        .rev()
        .find(|i| lines[*i].trim() == "[[steps]]")
        .unwrap();
    header + 1
}

/// 1-based line of the first line containing `needle`.
fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap()
}

fn event(kind: &str, data: Value) -> CloudEvent {
    CloudEvent::from_value(
        json!({"specversion":"1.0","id":"e1","source":"hr","type":kind,
        "subject":"dana.lee@contoso.com","time":"2026-11-01T10:00:00Z","data":data}),
    )
    .unwrap()
}

fn leaver() -> Workflow {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/leaver.toml");
    parse_file(&path).unwrap_or_else(|p| panic!("leaver.toml is invalid: {p:?}"))
}

fn ctx(data: Value) -> Value {
    template_context(&event("hr.leaver", data), &BTreeMap::new(), now())
}

#[test]
fn every_shipped_workflow_loads_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let workflows = load_dir(&dir).unwrap_or_else(|p| {
        panic!(
            "{}",
            p.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(workflows.len(), files);
    assert!(workflows.iter().any(|w| w.name == "leaver"));
}

#[test]
fn leaver_has_the_documented_steps_in_order() {
    let wf = leaver();
    let ids: Vec<&str> = wf.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "last-day", "snapshot", "disable", "revoke", "convert", "backup", "handover",
            "licenses", "delete", "seats"
        ]
    );
    assert_eq!(wf.family, "lifecycle");
    assert_eq!(wf.version, 1);
    assert_eq!(wf.hash.len(), 64);
    let backup = &wf.steps[wf.step_index("backup").unwrap()];
    assert!(backup.timeout >= Duration::from_secs(30 * 60));
    assert!(matches!(wf.steps[0].kind, StepKind::WaitUntil { .. }));
    assert_eq!(wf.step_index("nope"), None);
}

#[test]
fn leaver_steps_follow_the_mailbox_and_onedrive_choices() {
    let wf = leaver();
    let enabled = |data: Value| -> Vec<String> {
        let c = ctx(data);
        wf.steps
            .iter()
            .filter(|s| s.is_enabled(&c).unwrap())
            .map(|s| s.id.to_string())
            .collect()
    };
    let absent = enabled(json!({}));
    assert!(absent.contains(&"convert".to_string()));
    assert!(absent.contains(&"backup".to_string()));
    assert!(absent.contains(&"licenses".to_string()));
    assert!(!absent.contains(&"handover".to_string()));
    assert!(!absent.contains(&"delete".to_string()));

    let delete = enabled(json!({"mailbox": "delete", "onedrive": "manager"}));
    assert!(delete.contains(&"delete".to_string()));
    assert!(delete.contains(&"handover".to_string()));
    assert!(!delete.contains(&"convert".to_string()));
    assert!(!delete.contains(&"backup".to_string()));
    assert!(!delete.contains(&"licenses".to_string()));

    let both = enabled(json!({"mailbox": "shared", "onedrive": "both"}));
    assert!(both.contains(&"backup".to_string()) && both.contains(&"handover".to_string()));
}

fn assert_hazard(rel: &str, rule: &str, first: &str, later: &str) {
    let path = fixture(rel);
    let problems = problems_of(rel);
    let hits: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.message.contains(rule))
        .collect();
    assert_eq!(hits.len(), 1, "{problems:?}");
    let p = hits[0];
    assert_eq!(p.file, path);
    assert_eq!(p.line, step_line(&path, later));
    assert!(p.message.contains(&format!("`{first}`")), "{}", p.message);
    assert!(p.message.contains(&format!("`{later}`")), "{}", p.message);
    assert!(
        p.to_string()
            .starts_with(&format!("{}:{}: ", path.display(), p.line))
    );
}

#[test]
fn r3_licenses_removed_before_convert_is_refused() {
    assert_hazard("hazards/r3.toml", "(R3)", "licenses", "convert");
    let p = &problems_of("hazards/r3.toml")[0];
    assert!(p.message.contains("mailbox=shared"), "{}", p.message);
}

#[test]
fn r4_delete_after_convert_is_refused() {
    assert_hazard("hazards/r4.toml", "(R4)", "convert", "delete");
    let p = &problems_of("hazards/r4.toml")[0];
    assert!(p.message.contains("mailbox is absent"), "{}", p.message);
}

#[test]
fn r6_delete_before_onedrive_grant_is_refused() {
    assert_hazard("hazards/r6.toml", "(R6)", "delete", "handover");
    let p = &problems_of("hazards/r6.toml")[0];
    assert!(p.message.contains("mailbox=delete"), "{}", p.message);
}

#[test]
fn r12_licenses_assigned_before_the_usage_location_is_refused() {
    assert_hazard("hazards/r12.toml", "(R12)", "licenses", "usage-location");
}

#[test]
fn r16_revoke_before_disable_is_refused() {
    assert_hazard("hazards/r16.toml", "(R16)", "revoke", "disable");
}

#[test]
fn r3_mailbox_reverted_before_licenses_restored_is_refused() {
    assert_hazard("hazards/r3-restore.toml", "(R3)", "mailbox", "licenses");
}

#[test]
fn exclusive_conditions_are_not_a_hazard() {
    let wf = parse_file(&fixture("hazards/exclusive.toml"));
    assert!(wf.is_ok(), "{:?}", wf.err());
}

#[test]
fn a_when_over_other_fields_is_assumed_to_run() {
    assert_hazard("hazards/other-field.toml", "(R6)", "delete", "backup");
}

#[test]
fn every_problem_of_a_file_is_reported_with_its_line() {
    let path = fixture("bad/several.toml");
    let problems = problems_of("bad/several.toml");
    let expect = [
        (1, "[a-z0-9-]+"),
        (2, "`version` must be an integer >= 1"),
        (
            3,
            "unknown key `colour` in the workflow; allowed keys: name, version",
        ),
        (
            line_of(&path, "type = \"hr.fired\"") - 1,
            "unknown event type `hr.fired`",
        ),
        (
            line_of(&path, "timeout = \"soon\""),
            "`soon` is not a duration",
        ),
        (line_of(&path, "user.zap"), "unknown action `user.zap`"),
        (
            line_of(&path, "colour = \"red\""),
            "unknown parameter `colour` for `mailbox.convert`",
        ),
        (
            step_line_nth(&path, "snapshot", 1),
            "duplicate step id `snapshot`",
        ),
        (step_line(&path, "pause"), "has `action` and `wait`"),
        (
            step_line(&path, "nothing"),
            "has none of `action`, `wait`, `wait_until`",
        ),
        (step_line(&path, "bad-when"), "not a valid expression"),
        (
            step_line(&path, "bad-template"),
            "parameter `manager` of step `bad-template` is not a valid template",
        ),
        (
            line_of(&path, "attempts = 0"),
            "`attempts` in the `retry` of step `bad-retry` must be >= 1",
        ),
        (line_of(&path, "attempts = 0"), "unknown key `jitter`"),
    ];
    for (line, text) in expect {
        assert!(
            problems
                .iter()
                .any(|p| p.line == line && p.message.contains(text) && p.file == path),
            "expected `{text}` at line {line}; got:\n{}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let unknown_action = problems
        .iter()
        .find(|p| p.message.contains("user.zap"))
        .unwrap();
    assert!(
        unknown_action.message.contains("licenses.remove"),
        "lists known actions"
    );
    let sorted: Vec<usize> = problems.iter().map(|p| p.line).collect();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "sorted by line");
}

/// Line of the `[[steps]]` header of the `nth` (0-based) step with this id.
fn step_line_nth(path: &Path, id: &str, nth: usize) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == format!("id = \"{id}\""))
        .nth(nth)
        .unwrap()
        .0;
    (0..at)
        .rev()
        .find(|i| lines[*i].trim() == "[[steps]]")
        .unwrap()
        + 1
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    let path = fixture("bad/syntax.toml");
    let problems = problems_of("bad/syntax.toml");
    assert!(!problems.is_empty());
    assert!(
        problems[0].message.starts_with("TOML syntax error"),
        "{}",
        problems[0]
    );
    assert_eq!(problems[0].line, line_of(&path, "action = \"user.disable"));
}

#[test]
fn load_dir_reports_all_files_and_duplicate_names() {
    let dir = fixture("dup");
    let problems = load_dir(&dir).expect_err("dup/ must be refused");
    let b = dir.join("b.toml");
    let c = dir.join("c.toml");
    let dup = problems
        .iter()
        .find(|p| p.file == b)
        .expect("duplicate name in b.toml");
    assert!(
        dup.message.contains("`same` is already used by"),
        "{}",
        dup.message
    );
    assert!(dup.message.contains("a.toml"), "{}", dup.message);
    assert_eq!(dup.line, line_of(&b, "name = \"same\""));
    assert!(
        problems
            .iter()
            .any(|p| p.file == c && p.message.contains("missing `[[triggers]]`"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.file == c && p.message.contains("[[steps]]"))
    );
    assert!(problems.iter().all(|p| p.file != dir.join("a.toml")));
}

#[test]
fn load_dir_of_a_missing_directory_is_a_problem() {
    let problems = load_dir(Path::new("/nonexistent/offboard-workflows")).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .message
            .contains("cannot read the workflows directory")
    );
}

#[test]
fn validate_command_fails_on_problems_and_passes_the_shipped_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    offboard::cli::validate::run(&dir).unwrap();
    let err = offboard::cli::validate::run(&fixture("dup")).unwrap_err();
    assert!(err.to_string().contains("problems in 2 files"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    assert!(offboard::cli::validate::run(empty.path()).is_err());
}

const PARAMS_WF: &str = r#"
name = "params"
version = 1

[[triggers]]
type = "hr.leaver"
when = "data.mailbox == 'shared'"

[[triggers]]
type = "hr.mover"

[[steps]]
id = "convert"
action = "mailbox.convert"
when = "steps.snapshot is defined and steps.snapshot.licensed"
params = { manager = "{{ data.manager }}", auto_reply = "Hi, {{ subject }} left on {{ data.lastWorkingDay }}.", hide_from_address_lists = "{{ data.hide }}", grant_manager_full_access = ["{{ data.manager }}", 3, { note = "{{ subject }}" }] }

[[steps]]
id = "wait-a-bit"
wait = "90m"
retry = { attempts = 2 }
timeout = "10s"
approval = true

[[steps]]
id = "until"
wait_until = "{{ data.lastWorkingDay }}"
"#;

fn params_wf() -> Workflow {
    parse(Path::new("params.toml"), PARAMS_WF).unwrap_or_else(|p| panic!("{p:?}"))
}

#[test]
fn params_keep_types_and_drop_nulls() {
    let wf = params_wf();
    let c =
        ctx(json!({"manager": "boss@contoso.com", "hide": true, "lastWorkingDay": "2026-11-30"}));
    let p = wf.steps[0].render_params(&c).unwrap();
    assert_eq!(p["manager"], json!("boss@contoso.com"));
    assert_eq!(p["hide_from_address_lists"], json!(true));
    assert_eq!(
        p["auto_reply"],
        json!("Hi, dana.lee@contoso.com left on 2026-11-30.")
    );
    assert_eq!(
        p["grant_manager_full_access"],
        json!(["boss@contoso.com", 3, {"note": "dana.lee@contoso.com"}])
    );
    let c = ctx(json!({}));
    let p = wf.steps[0].render_params(&c).unwrap();
    assert!(!p.contains_key("manager"), "undefined is dropped: {p:?}");
    assert!(!p.contains_key("hide_from_address_lists"));
    assert_eq!(p["auto_reply"], json!("Hi, dana.lee@contoso.com left on ."));
    assert!(wf.steps[1].render_params(&c).unwrap().is_empty());
}

#[test]
fn when_reads_earlier_step_outputs() {
    let wf = params_wf();
    let event = event("hr.leaver", json!({}));
    let mut outputs = BTreeMap::new();
    let c = template_context(&event, &outputs, now());
    assert!(!wf.steps[0].is_enabled(&c).unwrap());
    outputs.insert("snapshot".to_string(), json!({"licensed": true}));
    let c = template_context(&event, &outputs, now());
    assert!(wf.steps[0].is_enabled(&c).unwrap());
    assert!(
        wf.steps[1].is_enabled(&c).unwrap(),
        "no `when` means enabled"
    );
    assert_eq!(c["now"], json!("2026-11-01T10:00:00Z"));
    assert_eq!(c["event"]["type"], json!("hr.leaver"));
}

#[test]
fn step_settings_override_defaults() {
    let wf = params_wf();
    let wait = &wf.steps[1];
    assert!(
        matches!(wait.kind, StepKind::Wait { duration } if duration == Duration::from_secs(90 * 60))
    );
    assert_eq!(wait.retry.attempts, 2);
    assert_eq!(wait.retry.backoff, Duration::from_secs(2));
    assert_eq!(wait.timeout, Duration::from_secs(10));
    assert!(wait.requires_approval);
    assert_eq!(wf.steps[0].retry, RetryPolicy::default());
    assert_eq!(wf.steps[0].timeout, Duration::from_secs(120));
    assert_eq!(wf.family, "params", "family defaults to the name");
}

#[test]
fn wait_until_accepts_dates_and_date_times_and_names_garbage() {
    let wf = params_wf();
    let step = &wf.steps[2];
    let at = step
        .wait_until(&ctx(json!({"lastWorkingDay": "2026-11-30"})))
        .unwrap();
    assert_eq!(
        at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
    );
    let at = step
        .wait_until(&ctx(json!({"lastWorkingDay": "2026-11-30T17:30:00+01:00"})))
        .unwrap();
    assert_eq!(
        at,
        Some(Utc.with_ymd_and_hms(2026, 11, 30, 16, 30, 0).unwrap())
    );
    assert_eq!(step.wait_until(&ctx(json!({}))).unwrap(), None);
    let mut bad = ctx(json!({}));
    bad["data"]["lastWorkingDay"] = json!("next tuesday");
    let err = step.wait_until(&bad).unwrap_err();
    assert!(err.to_string().contains("next tuesday"), "{err}");
    assert!(err.to_string().contains("`until`"), "{err}");
    assert_eq!(
        wf.steps[0].wait_until(&bad).unwrap(),
        None,
        "not a wait_until step"
    );
}

#[test]
fn triggers_match_type_and_when() {
    let wf = params_wf();
    assert!(
        wf.triggered_by(&event("hr.leaver", json!({"mailbox": "shared"})), now())
            .unwrap()
    );
    assert!(
        !wf.triggered_by(&event("hr.leaver", json!({"mailbox": "delete"})), now())
            .unwrap()
    );
    assert!(
        !wf.triggered_by(&event("hr.leaver", json!({})), now())
            .unwrap()
    );
    assert!(
        wf.triggered_by(&event("hr.mover", json!({})), now())
            .unwrap(),
        "no when"
    );
    assert!(
        !wf.triggered_by(&event("hr.joiner", json!({})), now())
            .unwrap()
    );
    assert!(
        leaver()
            .triggered_by(&event("hr.leaver", Value::Null), now())
            .unwrap()
    );
}

#[test]
fn a_failing_expression_is_a_template_error_naming_the_step() {
    // Lenient undefined: a missing field is empty, but reading through a missing object fails.
    let text = PARAMS_WF.replace(
        "steps.snapshot is defined and steps.snapshot.licensed",
        "steps.snapshot.licensed",
    );
    let wf = parse(Path::new("p.toml"), &text).unwrap();
    let err = wf.steps[0].is_enabled(&ctx(json!({}))).unwrap_err();
    assert!(err.to_string().contains("step `convert`"), "{err}");
}

#[test]
fn workflows_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Workflow>();
}

#[test]
fn trigger_and_wait_problems_name_their_lines() {
    let text = "name = \"t\"\nversion = 1\n\n[[triggers]]\ntype = \"hr.leaver\"\nwhen = \"data.mailbox ==\"\n\n[[steps]]\nid = \"pause\"\nwait = \"forever\"\n\n[[steps]]\nid = \"later\"\nwait = \"1h\"\nparams = { manager = \"x\" }\n";
    let problems = parse(Path::new("t.toml"), text).unwrap_err();
    let at = |line: usize, text: &str| {
        problems
            .iter()
            .any(|p| p.line == line && p.message.contains(text))
    };
    assert!(
        at(4, "the `when` of the `hr.leaver` trigger"),
        "{problems:?}"
    );
    assert!(at(10, "`forever` is not a duration"), "{problems:?}");
    assert!(at(12, "only action steps take parameters"), "{problems:?}");
    assert_eq!(problems.len(), 3, "{problems:?}");
}
