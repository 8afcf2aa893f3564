//! [`Metrics`]: the service's metrics under their contract names (README "Metrics and
//! logs"). Created once by `offboard serve`, cloned into the parts that record; each
//! recording call is one line at the instrumented spot. [`Metrics::render`] writes a scrape.

use super::family::{Counter, Gauge, Histogram};
use crate::tenant::Sku;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Step attempt buckets, 10 ms … 30 min.
const STEP_BUCKETS: [f64; 16] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Counts kept elsewhere by reason (the AMQP ingress's dead letters), read at scrape time.
pub trait ReasonCounts: Send + Sync {
    fn reason_counts(&self) -> Vec<(&'static str, u64)>;
}

/// What a scrape reads from the store.
#[derive(Debug, Clone, Default)]
pub struct StoreFigures {
    /// (workflow, status, runs).
    pub runs: Vec<(String, &'static str, u64)>,
    pub outbox_backlog: usize,
    pub timers_pending: usize,
    /// The mass-offboarding quarantine: tripped, and people in its window.
    pub quarantine_active: bool,
    pub quarantine_people: u64,
}

/// Cheap to clone; clones record into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    build_info: Gauge,
    runs: Gauge,
    step_duration: Histogram,
    step_retries: Counter,
    throttled: Counter,
    events_consumed: Counter,
    events_duplicate: Counter,
    dead_letters: Mutex<Vec<Arc<dyn ReasonCounts>>>,
    outbox_backlog: Gauge,
    timers_pending: Gauge,
    license_units: Gauge,
    quarantine_active: Gauge,
    quarantine_people: Gauge,
    runs_pruned: Counter,
    /// When the store figures were last read; held while reading, so scrapes share a scan.
    store_read: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let build_info = Gauge::new(
            "offboard_build_info",
            "The running build; always 1.",
            &["version"],
        );
        build_info.set(&[env!("CARGO_PKG_VERSION")], 1.0);
        let runs_pruned = Counter::new(
            "offboard_runs_pruned_total",
            "Ended runs removed by the retention (with their journal) since the start.",
            &[],
        );
        runs_pruned.add(&[], 0.0);
        Metrics {
            inner: Arc::new(Inner {
                build_info,
                runs: Gauge::new(
                    "offboard_runs",
                    "Runs in the store by workflow and status (read at most every few seconds).",
                    &["workflow", "status"],
                ),
                step_duration: Histogram::new(
                    "offboard_step_duration_seconds",
                    "Step attempts by workflow, action and outcome (done, poll, retry, failed, blocked).",
                    &["workflow", "action", "outcome"],
                    &STEP_BUCKETS,
                ),
                step_retries: Counter::new(
                    "offboard_step_retries_total",
                    "Step retries scheduled after a retryable outcome.",
                    &["workflow", "action"],
                ),
                throttled: Counter::new(
                    "offboard_tenant_throttled_total",
                    "Tenant responses 429, or 503 with Retry-After, by API family.",
                    &["api"],
                ),
                events_consumed: Counter::new(
                    "offboard_events_consumed_total",
                    "Events accepted by the engine (new or duplicate) by source (amqp, http).",
                    &["source"],
                ),
                events_duplicate: Counter::new(
                    "offboard_events_duplicate_total",
                    "Events whose id was already known (no new run).",
                    &[],
                ),
                dead_letters: Mutex::default(),
                outbox_backlog: Gauge::new(
                    "offboard_outbox_backlog",
                    "Outcomes in the store not yet handed to the broker or file.",
                    &[],
                ),
                timers_pending: Gauge::new(
                    "offboard_timers_pending",
                    "Durable timers (waits, retry backoffs, polls) not yet due or not yet handled.",
                    &[],
                ),
                license_units: Gauge::new(
                    "offboard_license_units",
                    "License units per SKU: enabled, consumed and free (enabled - consumed; may be negative).",
                    &["sku", "state"],
                ),
                quarantine_active: Gauge::new(
                    "offboard_quarantine_active",
                    "1 while the mass-offboarding quarantine holds leaver runs for an operator.",
                    &[],
                ),
                quarantine_people: Gauge::new(
                    "offboard_quarantine_window_people",
                    "People with a leaver event in the quarantine's sliding window.",
                    &[],
                ),
                runs_pruned,
                store_read: Mutex::new(None),
            }),
        }
    }

    /// One step attempt ended with `outcome` after `seconds`.
    pub fn step_attempt(&self, workflow: &str, action: &str, outcome: &str, seconds: f64) {
        let labels = [workflow, action, outcome];
        self.inner.step_duration.observe(&labels, seconds);
    }

    /// A retryable outcome was scheduled for another attempt.
    pub fn step_retry(&self, workflow: &str, action: &str) {
        self.inner.step_retries.inc(&[workflow, action]);
    }

    /// The tenant answered 429 (or 503 with Retry-After) to a call of API family `api`.
    pub fn tenant_throttled(&self, api: &str) {
        self.inner.throttled.inc(&[api]);
    }

    /// An event from `source` (`amqp`, `http`) was accepted; `duplicate` when already known.
    pub fn event_consumed(&self, source: &str, duplicate: bool) {
        self.inner.events_consumed.inc(&[source]);
        if duplicate {
            self.inner.events_duplicate.inc(&[]);
        }
    }

    /// The retention removed `n` ended runs.
    pub fn runs_pruned(&self, n: u64) {
        self.inner.runs_pruned.add(&[], n as f64);
    }

    /// Dead letters counted by `counts` are exposed from now on.
    pub fn watch_dead_letters(&self, counts: Arc<dyn ReasonCounts>) {
        if let Ok(mut v) = self.inner.dead_letters.lock() {
            v.push(counts);
        }
    }

    /// The tenant's SKUs as last listed (SKUs no longer listed disappear).
    pub fn set_licenses(&self, skus: &[Sku]) {
        let mut all = Vec::with_capacity(skus.len() * 3);
        for s in skus {
            let enabled = s.prepaid_units.enabled;
            for (state, v) in [
                ("enabled", enabled),
                ("consumed", s.consumed_units),
                ("free", s.free_units()),
            ] {
                all.push((vec![s.sku_part_number.clone(), state.into()], v as f64));
            }
        }
        self.inner.license_units.replace(all);
    }

    /// Reads the store figures with `read` unless they are younger than `max_age`. Blocking:
    /// call it off the async threads. Concurrent scrapes wait for one read.
    pub fn refresh_store<E>(
        &self,
        max_age: Duration,
        read: impl FnOnce() -> Result<StoreFigures, E>,
    ) -> Result<(), E> {
        let mut last = self
            .inner
            .store_read
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < max_age) {
            return Ok(());
        }
        let f = read()?;
        let runs = f.runs.into_iter();
        let runs = runs.map(|(w, s, n)| (vec![w, s.to_string()], n as f64));
        self.inner.runs.replace(runs);
        self.inner.outbox_backlog.set(&[], f.outbox_backlog as f64);
        self.inner.timers_pending.set(&[], f.timers_pending as f64);
        let active = if f.quarantine_active { 1.0 } else { 0.0 };
        self.inner.quarantine_active.set(&[], active);
        let people = f.quarantine_people as f64;
        self.inner.quarantine_people.set(&[], people);
        *last = Some(Instant::now());
        Ok(())
    }

    /// Every metric in the text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let i = &self.inner;
        let mut out = String::with_capacity(8 * 1024);
        i.build_info.render(&mut out);
        i.runs.render(&mut out);
        i.step_duration.render(&mut out);
        i.step_retries.render(&mut out);
        i.throttled.render(&mut out);
        i.events_consumed.render(&mut out);
        i.events_duplicate.render(&mut out);
        self.dead_letters().render(&mut out);
        i.outbox_backlog.render(&mut out);
        i.timers_pending.render(&mut out);
        i.license_units.render(&mut out);
        i.quarantine_active.render(&mut out);
        i.quarantine_people.render(&mut out);
        i.runs_pruned.render(&mut out);
        out
    }

    /// The dead-letter counters as a family, summed over the sources by reason.
    fn dead_letters(&self) -> Counter {
        let c = Counter::new(
            "offboard_events_dead_lettered_total",
            "Messages sent to the dead-letter exchange, by reason.",
            &["reason"],
        );
        let sources = self.inner.dead_letters.lock().map(|v| v.clone());
        for source in sources.unwrap_or_default() {
            for (reason, n) in source.reason_counts() {
                c.add(&[reason], n as f64);
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl ReasonCounts for Fixed {
        fn reason_counts(&self) -> Vec<(&'static str, u64)> {
            vec![("invalid-json", 2), ("unsigned", 0)]
        }
    }

    #[test]
    fn a_scrape_has_every_family_and_the_recorded_series() {
        let m = Metrics::new();
        m.step_attempt("leaver", "user.disable", "done", 0.2);
        m.step_retry("leaver", "user.disable");
        m.tenant_throttled("graph");
        m.event_consumed("http", true);
        m.watch_dead_letters(Arc::new(Fixed));
        let out = m.render();
        for family in [
            "offboard_build_info gauge",
            "offboard_runs gauge",
            "offboard_step_duration_seconds histogram",
            "offboard_step_retries_total counter",
            "offboard_tenant_throttled_total counter",
            "offboard_events_consumed_total counter",
            "offboard_events_duplicate_total counter",
            "offboard_events_dead_lettered_total counter",
            "offboard_outbox_backlog gauge",
            "offboard_timers_pending gauge",
            "offboard_license_units gauge",
            "offboard_runs_pruned_total counter",
        ] {
            assert!(out.contains(&format!("# TYPE {family}\n")), "{family}");
        }
        assert!(out.contains(
            "offboard_step_retries_total{workflow=\"leaver\",action=\"user.disable\"} 1\n"
        ));
        assert!(out.contains("offboard_events_dead_lettered_total{reason=\"invalid-json\"} 2\n"));
        assert!(out.contains("offboard_events_duplicate_total 1\n"));
        assert!(out.contains(&format!(
            "offboard_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )));
    }

    #[test]
    fn store_figures_are_read_again_only_after_max_age() {
        let m = Metrics::new();
        let mut reads = 0;
        for _ in 0..3 {
            m.refresh_store(Duration::from_secs(60), || {
                reads += 1;
                Ok::<_, ()>(StoreFigures {
                    runs: vec![("leaver".into(), "waiting", 4)],
                    outbox_backlog: 1,
                    timers_pending: 4,
                    quarantine_active: true,
                    quarantine_people: 7,
                })
            })
            .unwrap();
        }
        assert_eq!(reads, 1);
        assert!(
            m.render()
                .contains("offboard_runs{workflow=\"leaver\",status=\"waiting\"} 4\n")
        );
        let text = m.render();
        assert!(text.contains("offboard_quarantine_active 1\n"), "{text}");
        assert!(
            text.contains("offboard_quarantine_window_people 7\n"),
            "{text}"
        );
        m.refresh_store(Duration::ZERO, || Ok::<_, ()>(StoreFigures::default()))
            .unwrap();
        assert!(!m.render().contains("offboard_runs{"));
    }
}
