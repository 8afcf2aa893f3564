//! Loads every `*.toml` workflow of a directory, reporting all problems of all files and
//! workflow names used twice.

use super::{Problem, Workflow, parse};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Loads and validates every `*.toml` file of `dir` (sorted by file name).
pub fn load_dir(dir: &Path) -> Result<Vec<Workflow>, Vec<Problem>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![Problem::new(
            dir,
            0,
            format!("cannot read the workflows directory: {e}; check the path and its permissions"),
        )]
    })?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "toml") && path.is_file() {
                    files.push(path);
                }
            }
            Err(e) => problems.push(Problem::new(
                dir,
                0,
                format!("cannot list the directory: {e}"),
            )),
        }
    }
    files.sort();

    let mut workflows = Vec::new();
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem::new(&path, 0, format!("cannot read the file: {e}")));
                continue;
            }
        };
        match parse(&path, &text) {
            Ok(wf) => {
                if let Some(first) = names.get(&wf.name) {
                    problems.push(Problem::new(
                        &path,
                        name_line(&text),
                        format!(
                            "workflow name `{}` is already used by {}; names must be unique",
                            wf.name,
                            first.display()
                        ),
                    ));
                    continue;
                }
                names.insert(wf.name.clone(), path.clone());
                workflows.push(wf);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    check_cancels(&workflows, &mut problems);
    if problems.is_empty() {
        Ok(workflows)
    } else {
        Err(problems)
    }
}

/// Line of the top-level `name = ...` key (1 when not found).
fn name_line(text: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with("name") && l[4..].trim_start().starts_with('=')
        })
        .map_or(1, |i| i + 1)
}

/// `cancels` must name loaded workflows of the same family: only runs of one family are
/// ordered per person, so only those can be cancelled at a step boundary before the new run.
fn check_cancels(workflows: &[Workflow], problems: &mut Vec<Problem>) {
    for wf in workflows {
        for name in &wf.cancels {
            let line = cancels_line(&wf.source);
            match workflows.iter().find(|w| &w.name == name) {
                None => problems.push(Problem::new(
                    &wf.path,
                    line,
                    format!("`cancels` names the workflow `{name}`, which is not in this directory"),
                )),
                Some(other) if other.family != wf.family => problems.push(Problem::new(
                    &wf.path,
                    line,
                    format!(
                        "`cancels` names `{name}` of family `{}`, but this workflow is of family `{}`: both must be in one family",
                        other.family, wf.family
                    ),
                )),
                Some(_) => {}
            }
        }
    }
}

fn cancels_line(text: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with("cancels"))
        .map_or(1, |i| i + 1)
}
