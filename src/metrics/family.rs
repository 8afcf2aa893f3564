//! Labelled metric families: [`Counter`], [`Gauge`] and [`Histogram`], each a Mutex'd map
//! from label values to numbers, rendered in label order. Label names are fixed when the
//! family is made; every call passes the values in the same order.

use super::text::{self, Kind};
use std::collections::BTreeMap;
use std::sync::Mutex;

type Series<T> = Mutex<BTreeMap<Vec<String>, T>>;

fn key(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_string()).collect()
}

/// A poisoned lock only means a recording thread panicked between two plain number updates.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn pairs<'a>(names: &'a [&'a str], values: &'a [String]) -> Vec<(&'a str, &'a str)> {
    names
        .iter()
        .copied()
        .zip(values.iter().map(String::as_str))
        .collect()
}

/// Only goes up.
#[derive(Debug)]
pub struct Counter {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Series<f64>,
}

impl Counter {
    pub fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Counter {
            name,
            help,
            labels,
            series: Mutex::default(),
        }
    }

    pub fn inc(&self, values: &[&str]) {
        self.add(values, 1.0);
    }

    pub fn add(&self, values: &[&str], by: f64) {
        *lock(&self.series).entry(key(values)).or_default() += by.max(0.0);
    }

    /// The current value of one series (0 when never recorded).
    pub fn get(&self, values: &[&str]) -> f64 {
        lock(&self.series)
            .get(&key(values))
            .copied()
            .unwrap_or_default()
    }

    pub fn render(&self, out: &mut String) {
        text::header(out, self.name, self.help, Kind::Counter);
        for (values, v) in lock(&self.series).iter() {
            text::sample(out, self.name, &pairs(self.labels, values), *v);
        }
    }
}

/// Goes up and down; [`Gauge::replace`] swaps the whole set (a source that forgets series).
#[derive(Debug)]
pub struct Gauge {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Series<f64>,
}

impl Gauge {
    pub fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Gauge {
            name,
            help,
            labels,
            series: Mutex::default(),
        }
    }

    pub fn set(&self, values: &[&str], v: f64) {
        lock(&self.series).insert(key(values), v);
    }

    pub fn replace(&self, all: impl IntoIterator<Item = (Vec<String>, f64)>) {
        *lock(&self.series) = all.into_iter().collect();
    }

    pub fn get(&self, values: &[&str]) -> Option<f64> {
        lock(&self.series).get(&key(values)).copied()
    }

    pub fn render(&self, out: &mut String) {
        text::header(out, self.name, self.help, Kind::Gauge);
        for (values, v) in lock(&self.series).iter() {
            text::sample(out, self.name, &pairs(self.labels, values), *v);
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Observed {
    /// Per bucket, observations at or below its bound (not yet cumulative).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Observations in fixed buckets; rendered cumulative with `le`, `+Inf`, `_sum`, `_count`.
#[derive(Debug)]
pub struct Histogram {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    /// Upper bounds, ascending, without `+Inf`.
    bounds: Vec<f64>,
    series: Series<Observed>,
}

impl Histogram {
    pub fn new(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
        bounds: &[f64],
    ) -> Self {
        let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        Histogram {
            name,
            help,
            labels,
            bounds,
            series: Mutex::default(),
        }
    }

    pub fn observe(&self, values: &[&str], v: f64) {
        let mut series = lock(&self.series);
        let o = series.entry(key(values)).or_insert_with(|| Observed {
            counts: vec![0; self.bounds.len()],
            ..Observed::default()
        });
        if let Some(i) = self.bounds.iter().position(|b| v <= *b) {
            o.counts[i] += 1;
        }
        o.sum += v;
        o.count += 1;
    }

    /// Observations of one series.
    pub fn count(&self, values: &[&str]) -> u64 {
        lock(&self.series).get(&key(values)).map_or(0, |o| o.count)
    }

    pub fn render(&self, out: &mut String) {
        text::header(out, self.name, self.help, Kind::Histogram);
        let bucket = format!("{}_bucket", self.name);
        for (values, o) in lock(&self.series).iter() {
            let labels = pairs(self.labels, values);
            let mut cumulative = 0;
            for (bound, n) in self.bounds.iter().zip(&o.counts) {
                cumulative += n;
                let le = text::number(*bound);
                let mut with_le = labels.clone();
                with_le.push(("le", &le));
                text::sample(out, &bucket, &with_le, cumulative as f64);
            }
            let mut with_le = labels.clone();
            with_le.push(("le", "+Inf"));
            text::sample(out, &bucket, &with_le, o.count as f64);
            text::sample(out, &format!("{}_sum", self.name), &labels, o.sum);
            text::sample(
                out,
                &format!("{}_count", self.name),
                &labels,
                o.count as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_inf_sum_and_count() {
        let h = Histogram::new("d_seconds", "Durations.", &["step"], &[1.0, 0.1, 10.0]);
        for v in [0.05, 0.5, 0.7, 20.0] {
            h.observe(&["a"], v);
        }
        let mut out = String::new();
        h.render(&mut out);
        assert_eq!(
            out,
            "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n\
             d_seconds_bucket{step=\"a\",le=\"0.1\"} 1\n\
             d_seconds_bucket{step=\"a\",le=\"1\"} 3\n\
             d_seconds_bucket{step=\"a\",le=\"10\"} 3\n\
             d_seconds_bucket{step=\"a\",le=\"+Inf\"} 4\n\
             d_seconds_sum{step=\"a\"} 21.25\n\
             d_seconds_count{step=\"a\"} 4\n"
        );
    }

    #[test]
    fn counters_add_per_label_set_and_never_go_down() {
        let c = Counter::new("c_total", "C.", &["api"]);
        c.inc(&["graph"]);
        c.add(&["graph"], 2.0);
        c.add(&["graph"], -5.0);
        c.inc(&["exchange"]);
        assert_eq!(c.get(&["graph"]), 3.0);
        let mut out = String::new();
        c.render(&mut out);
        assert!(out.ends_with("c_total{api=\"exchange\"} 1\nc_total{api=\"graph\"} 3\n"));
    }

    #[test]
    fn replacing_a_gauge_forgets_series_that_are_gone() {
        let g = Gauge::new("g", "G.", &["sku"]);
        g.set(&["E5"], 3.0);
        g.replace(vec![(vec!["E3".to_string()], -2.0)]);
        assert_eq!(g.get(&["E5"]), None);
        assert_eq!(g.get(&["E3"]), Some(-2.0));
    }
}
