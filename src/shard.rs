//! Static partition of users across instances (README "Several instances"): how many shards there
//! are, which ones this instance owns (`OFFBOARD_SHARDS`, `OFFBOARD_SHARD`), and the routing key a
//! publisher puts in the `x-offboard-subject` header. Pure, so the rules are unit-tested.

/// Header the consistent-hash exchange hashes: the event's subject, lowercased.
pub const SUBJECT_HEADER: &str = "x-offboard-subject";

/// This instance's part of a sharded deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shards {
    /// All shards of the deployment (at least 2).
    pub total: u32,
    /// The shards this instance consumes, ascending, each below `total`.
    pub mine: Vec<u32>,
}

impl Shards {
    /// Reads `OFFBOARD_SHARDS` (`total`) and `OFFBOARD_SHARD` (`own`). `None` when not sharded
    /// (`total` unset or 1). `own` is a number, a comma-separated list ("0,2"), or a name ending
    /// in `-<n>` such as a StatefulSet pod name (`offboard-2` → shard 2).
    pub fn parse(total: Option<u32>, own: Option<&str>) -> Result<Option<Shards>, String> {
        let own = own.map(str::trim).filter(|s| !s.is_empty());
        let total = total.unwrap_or(1);
        if total == 0 {
            return Err("OFFBOARD_SHARDS is 0; use 1 (or leave it unset) for one instance".into());
        }
        let Some(own) = own else {
            if total == 1 {
                return Ok(None);
            }
            return Err(format!(
                "OFFBOARD_SHARDS is {total} but OFFBOARD_SHARD is not set: name this instance's \
                 shards (\"0\", \"0,2\" or a pod name such as \"offboard-0\")"
            ));
        };
        let mine = own_shards(own)?;
        if let Some(bad) = mine.iter().find(|&&s| s >= total) {
            return Err(format!(
                "OFFBOARD_SHARD names shard {bad}, but OFFBOARD_SHARDS is {total} \
                 (shards are numbered 0 to {})",
                total - 1
            ));
        }
        if total == 1 {
            return Ok(None);
        }
        Ok(Some(Shards { total, mine }))
    }
}

/// "2", "0,2" or "name-2".
fn own_shards(own: &str) -> Result<Vec<u32>, String> {
    let list: Result<Vec<u32>, _> = own.split(',').map(|s| s.trim().parse::<u32>()).collect();
    let mut mine = match list {
        Ok(l) => l,
        Err(_) => {
            let n = own
                .rsplit_once('-')
                .and_then(|(_, n)| n.parse::<u32>().ok())
                .ok_or_else(|| {
                    format!(
                        "OFFBOARD_SHARD `{own}` is neither shard numbers (\"2\", \"0,2\") nor a \
                         name ending in -<number> (\"offboard-2\")"
                    )
                })?;
            vec![n]
        }
    };
    mine.sort_unstable();
    mine.dedup();
    Ok(mine)
}

/// The `x-offboard-subject` value for an event's subject.
pub fn subject_key(subject: &str) -> String {
    subject.to_lowercase()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lists_and_pod_names() {
        let p = |t, o| Shards::parse(t, o);
        assert_eq!(p(None, None).unwrap(), None);
        assert_eq!(p(Some(1), None).unwrap(), None);
        assert_eq!(p(Some(1), Some("offboard-0")).unwrap(), None);
        let s = p(Some(3), Some("2")).unwrap().unwrap();
        assert_eq!((s.total, s.mine), (3, vec![2]));
        assert_eq!(
            p(Some(4), Some("2, 0,2")).unwrap().unwrap().mine,
            vec![0, 2]
        );
        assert_eq!(
            p(Some(4), Some("offboard-3")).unwrap().unwrap().mine,
            vec![3]
        );
        assert_eq!(p(Some(4), Some("my-app-1")).unwrap().unwrap().mine, vec![1]);
    }

    #[test]
    fn bad_assignments_are_named() {
        let e = |t, o| Shards::parse(t, o).unwrap_err();
        assert!(e(Some(2), None).contains("OFFBOARD_SHARD is not set"));
        assert!(e(Some(2), Some("2")).contains("numbered 0 to 1"));
        assert!(e(None, Some("1")).contains("OFFBOARD_SHARDS is 1"));
        assert!(e(Some(0), None).contains("is 0"));
        assert!(e(Some(2), Some("offboard")).contains("neither"));
        assert!(e(Some(2), Some("a,b")).contains("neither"));
    }

    #[test]
    fn the_key_is_the_lowercased_subject() {
        assert_eq!(subject_key("Dana.Lee@Contoso.com"), "dana.lee@contoso.com");
    }
}
