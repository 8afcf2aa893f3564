//! `offboard validate [DIR]`: loads every workflow file and reports each problem as
//! `file:line: message` on stdout, with a summary on stderr.

use crate::workflow::load_dir;
use std::collections::BTreeSet;
use std::path::Path;

/// Validates the workflows of `dir`. Errors (one line) when any file has a problem.
pub fn run(dir: &Path) -> anyhow::Result<()> {
    match load_dir(dir) {
        Ok(workflows) if workflows.is_empty() => anyhow::bail!(
            "no workflow files (*.toml) in {}; point `offboard validate` at the workflows directory",
            dir.display()
        ),
        Ok(workflows) => {
            let n = workflows.len();
            eprintln!("{n} workflow{} valid", if n == 1 { "" } else { "s" });
            Ok(())
        }
        Err(problems) => {
            for p in &problems {
                println!("{p}");
            }
            let files: BTreeSet<_> = problems.iter().map(|p| &p.file).collect();
            let summary = format!(
                "{} problem{} in {} file{}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            );
            eprintln!("{summary}");
            anyhow::bail!("workflows in {} are not valid: {summary}", dir.display())
        }
    }
}
