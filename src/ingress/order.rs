//! Per-subject order among messages processed side by side: a message waits for the one
//! before it for the same person (case-insensitive subject), so the engine admits one
//! person's events in the order the broker delivered them while different people's events
//! are admitted concurrently (and share each group commit).

use std::collections::HashMap;
use tokio::sync::oneshot;

/// Entries are pruned once this many subjects are tracked.
const PRUNE_AT: usize = 4096;

#[derive(Default)]
pub struct SubjectOrder {
    tails: HashMap<String, oneshot::Receiver<()>>,
}

/// A message's place: wait for `before` (if any), then drop `done` when finished.
pub struct Place {
    pub before: Option<oneshot::Receiver<()>>,
    /// Held until the message is settled; dropping it lets the next one go.
    #[allow(dead_code)]
    pub done: oneshot::Sender<()>,
}

impl Place {
    /// Waits until the previous message of the same subject has been settled (or its task
    /// ended in any way).
    pub async fn wait_turn(&mut self) {
        if let Some(rx) = self.before.take() {
            let _ = rx.await;
        }
    }
}

impl SubjectOrder {
    /// Takes the next place in `subject`'s line.
    pub fn enter(&mut self, subject: &str) -> Place {
        if self.tails.len() >= PRUNE_AT {
            // Finished (sent or dropped) tails are no longer needed.
            self.tails
                .retain(|_, rx| matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        }
        let (done, rx) = oneshot::channel();
        let before = self.tails.insert(subject.to_ascii_lowercase(), rx);
        Place { before, done }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn same_subject_in_order_other_subjects_independent() {
        let mut order = SubjectOrder::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, subject) in ["A@x", "b@x", "a@X", "a@x"].iter().enumerate() {
            let mut place = order.enter(subject);
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                place.wait_turn().await;
                // The first message of `a` is the slowest.
                if i == 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                }
                log.lock().unwrap().push(i);
                drop(place.done);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let log = log.lock().unwrap().clone();
        let a: Vec<usize> = log.iter().copied().filter(|i| *i != 1).collect();
        assert_eq!(a, vec![0, 2, 3]);
        assert_eq!(log[0], 1, "b did not wait for a: {log:?}");
    }

    #[test]
    fn finished_tails_are_pruned() {
        let mut order = SubjectOrder::default();
        for i in 0..PRUNE_AT + 10 {
            drop(order.enter(&format!("u{i}")).done);
        }
        assert!(order.tails.len() < PRUNE_AT);
    }
}
