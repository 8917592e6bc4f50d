//! The judge: the ledger checked against the run (lost events, records not as served,
//! repeats no kill explains, requests the mock refused, the token in the log), and the report.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use slack_mock::MockStats;

use super::context::Soak;
use super::drive::RunOutcome;
use super::ledger::{Delivery, End, Ledger, Pushed};
use super::process::log_contains;
use super::report::SoakReport;

/// Most lost ids quoted in a violation.
pub(super) const SAMPLE: usize = 10;

impl Soak<'_> {
    /// Checks the ledger against the run.
    pub(super) fn judge(&self, run: RunOutcome) -> SoakReport {
        let o = self.options;
        let stats = self.mock.stats();
        let mut violations = run.violations;
        let ledger = self.shared.ledger();

        let lost = lost_events(&ledger);
        if !lost.is_empty() {
            violations.push(self.lost_violation(&lost, run.started, run.caught_up));
        }
        violations.extend(record_violations(&ledger, &run.ends));

        // Duplicates: each repeat must follow a delivery by a killed instance, in its last page.
        let largest_tie = ledger.per_second.values().copied().max().unwrap_or(0);
        let bound = u64::from(o.page_size) + largest_tie;
        let Repeats {
            total: duplicates,
            per_kill,
            problems: dup_problems,
        } = judge_repeats(&ledger.deliveries, &ledger.lines, &run.ends, bound);
        let worst_kill_duplicates = per_kill.values().copied().max().unwrap_or(0);
        violations.extend(repeat_violations(
            &dup_problems,
            worst_kill_duplicates,
            bound,
            run.kills,
            duplicates,
        ));

        violations.extend(self.request_violations(&stats));
        let delays = DeliveryDelays::of(&ledger);

        SoakReport {
            seed: o.seed,
            elapsed: run.elapsed,
            events: ledger.pushed.len() as u64,
            burst_events: ledger.burst_events,
            late_events: ledger.late_events,
            largest_tie,
            delivered: ledger.deliveries.len() as u64,
            records: ledger.records,
            stray_records: ledger.stray_records,
            faults: stats.faults,
            rate_limited: stats.rate_limited,
            early_retries: stats.early_retries,
            requests: stats.requests,
            instances: run.ends.len() as u64,
            kills: run.kills,
            kills_on_output: run.kills_on_output,
            kills_with_repeats: per_kill.len() as u64,
            lost: lost.len() as u64,
            duplicates,
            worst_kill_duplicates,
            duplicate_bound_per_kill: bound,
            torn_lines: ledger.torn.len() as u64,
            worst_delay: delays.worst,
            median_delay: delays.median,
            p99_delay: delays.p99,
            term_exit_code: run.term_exit_code,
            term_wait: run.term_wait,
            violations,
            work_dir: self.work_dir.clone(),
            log_tail: None,
        }
    }

    /// The violation of `lost` events (not empty): how many, and the first ones, each said
    /// served by the mock or not.
    pub(super) fn lost_violation(
        &self,
        lost: &[(&String, &Pushed)],
        started: Instant,
        caught_up: bool,
    ) -> String {
        let served: std::collections::HashSet<String> =
            self.mock.served_ids().into_iter().collect();
        let sample: Vec<String> = lost
            .iter()
            .take(SAMPLE)
            .map(|(id, p)| {
                format!(
                    "{id} (date_create {}, pushed at +{:.1} s, {})",
                    p.date_create,
                    p.at.saturating_duration_since(started).as_secs_f64(),
                    if served.contains(id.as_str()) {
                        "served by the mock"
                    } else {
                        "never served by the mock"
                    }
                )
            })
            .collect();
        format!(
            "{} events lost (caught up: {}); first ones: {}",
            lost.len(),
            caught_up,
            sample.join(", ")
        )
    }

    /// The violations the mock saw in the requests (early retries, no token, invalid ones,
    /// no window bounds), and the token in the connector's log.
    pub(super) fn request_violations(&self, stats: &MockStats) -> Vec<String> {
        let mut violations = Vec::new();
        if stats.early_retries > 0 {
            violations.push(format!(
                "{} requests came before the Retry-After of a 429 had elapsed",
                stats.early_retries
            ));
        }
        if stats.unauthorized > 0 {
            violations.push(format!(
                "{} requests did not carry the configured token",
                stats.unauthorized
            ));
        }
        if stats.bad_requests + stats.not_found > 0 {
            violations.push(format!(
                "the mock refused {} requests as invalid (bad parameters, path or method)",
                stats.bad_requests + stats.not_found
            ));
        }
        // The cursor is only a position: every page must resend the window's bounds.
        let unbounded = self
            .mock
            .requests()
            .iter()
            .filter(|r| r.param("oldest").is_none() || r.param("latest").is_none())
            .count();
        if unbounded > 0 {
            violations.push(format!(
                "{unbounded} requests did not send both `oldest` and `latest`"
            ));
        }
        if log_contains(&self.log_path, &self.token) {
            violations.push("the token appears in the connector's log".into());
        }
        violations
    }
}

/// Lost: pushed, never delivered; oldest first.
pub(super) fn lost_events(ledger: &Ledger) -> Vec<(&String, &Pushed)> {
    let mut lost: Vec<(&String, &Pushed)> = ledger
        .pushed
        .iter()
        .filter(|(id, _)| !ledger.deliveries.contains_key(*id))
        .collect();
    lost.sort_by_key(|(id, p)| (p.date_create, (*id).clone()));
    lost
}

/// Records that are not what the mock was given, and torn lines not at the end of a killed
/// process.
pub(super) fn record_violations(ledger: &Ledger, ends: &[End]) -> Vec<String> {
    let mut violations = Vec::new();
    // Records that are not what the mock was given.
    for bad in ledger.bad_lines.iter().take(SAMPLE) {
        violations.push(bad.clone());
    }
    if ledger.bad_lines.len() > SAMPLE {
        violations.push(format!(
            "… and {} more bad records",
            ledger.bad_lines.len() - SAMPLE
        ));
    }

    // Torn lines only at the end of a killed process.
    for &i in &ledger.torn {
        if ends.get(i) != Some(&End::Killed) {
            violations.push(format!(
                "connector process #{i} left a partial line on stdout without being killed"
            ));
        }
    }
    violations
}

/// Repeats no kill explains, a kill followed by more than a page of repeats, repeats without a
/// kill.
pub(super) fn repeat_violations(
    problems: &[String],
    worst_kill_duplicates: u64,
    bound: u64,
    kills: u64,
    duplicates: u64,
) -> Vec<String> {
    let mut violations = Vec::new();
    if !problems.is_empty() {
        violations.push(format!(
            "{} repeats not explained by a kill; first ones: {}",
            problems.len(),
            problems
                .iter()
                .take(SAMPLE)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if worst_kill_duplicates > bound {
        violations.push(format!(
            "one kill caused {worst_kill_duplicates} repeats, more than one page ({bound})"
        ));
    }
    if kills == 0 && duplicates > 0 {
        violations.push(format!("{duplicates} repeats without any kill"));
    }
    violations
}

/// Delays from push to first delivery.
pub(super) struct DeliveryDelays {
    pub(super) worst: Duration,
    pub(super) median: Duration,
    pub(super) p99: Duration,
}

impl DeliveryDelays {
    pub(super) fn of(ledger: &Ledger) -> Self {
        let mut delays: Vec<Duration> = ledger
            .pushed
            .iter()
            .filter_map(|(id, p)| {
                let first = ledger.deliveries.get(id)?.first()?;
                Some(first.at.saturating_duration_since(p.at))
            })
            .collect();
        delays.sort();
        let quantile = |q: f64| -> Duration {
            if delays.is_empty() {
                return Duration::ZERO;
            }
            let i = ((delays.len() - 1) as f64 * q).round() as usize;
            delays[i.min(delays.len() - 1)]
        };
        Self {
            worst: delays.last().copied().unwrap_or(Duration::ZERO),
            median: quantile(0.5),
            p99: quantile(0.99),
        }
    }
}

/// The repeats found in a ledger.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Repeats {
    /// Extra deliveries.
    pub(super) total: u64,
    /// Explained repeats by the killed instance that delivered them first.
    pub(super) per_kill: BTreeMap<usize, u64>,
    /// Repeats no kill explains.
    pub(super) problems: Vec<String>,
}

/// Every delivery after an id's first must follow one by a process that was SIGKILLed, among
/// the last `bound` lines it wrote (the batch in flight: written, checkpoint not yet saved).
/// `deliveries` of an id are in instance order, then line order; `lines[i]` counts the
/// complete lines of instance `i`.
pub(super) fn judge_repeats(
    deliveries: &HashMap<String, Vec<Delivery>>,
    lines: &[usize],
    ends: &[End],
    bound: u64,
) -> Repeats {
    let mut repeats = Repeats::default();
    for (id, deliveries) in deliveries {
        for pair in deliveries.windows(2) {
            let (prev, cur) = (pair[0], pair[1]);
            repeats.total += 1;
            let written = lines.get(prev.instance).copied().unwrap_or(0);
            let from_end = written.saturating_sub(prev.line);
            let problem = if prev.instance == cur.instance {
                Some(format!(
                    "{id} delivered twice by process #{} (lines {} and {})",
                    cur.instance, prev.line, cur.line
                ))
            } else if ends.get(prev.instance) != Some(&End::Killed) {
                Some(format!(
                    "{id} delivered by process #{} ({:?}) and again by #{}: a repeat not caused by a kill",
                    prev.instance,
                    ends.get(prev.instance),
                    cur.instance
                ))
            } else if from_end as u64 > bound {
                Some(format!(
                    "{id} delivered by killed process #{} at line {} of {written} and again by #{}: not in the batch in flight (more than {bound} lines before its end)",
                    prev.instance, prev.line, cur.instance
                ))
            } else {
                None
            };
            match problem {
                Some(p) => repeats.problems.push(p),
                None => *repeats.per_kill.entry(prev.instance).or_default() += 1,
            }
        }
    }
    repeats.problems.sort();
    repeats
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// `(id, instance, line)` deliveries, in the order the readers saw them.
    fn ledger(rows: &[(&str, usize, usize)]) -> HashMap<String, Vec<Delivery>> {
        let at = Instant::now();
        let mut map: HashMap<String, Vec<Delivery>> = HashMap::new();
        for (id, instance, line) in rows {
            map.entry((*id).to_owned()).or_default().push(Delivery {
                instance: *instance,
                line: *line,
                at,
            });
        }
        map
    }

    #[test]
    fn a_repeat_of_the_batch_in_flight_at_a_kill_is_explained() {
        // Process #0 wrote 10 lines and was killed; its last 2 came again from #1.
        let d = ledger(&[("a", 0, 8), ("b", 0, 9), ("a", 1, 0), ("b", 1, 1)]);
        let r = judge_repeats(&d, &[10, 2], &[End::Killed, End::Terminated], 3);
        assert_eq!(r.total, 2);
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.per_kill, BTreeMap::from([(0, 2)]));
        // Killed again before its checkpoint: a third delivery is explained too.
        let d = ledger(&[("a", 0, 9), ("a", 1, 0), ("a", 2, 0)]);
        let r = judge_repeats(
            &d,
            &[10, 1, 1],
            &[End::Killed, End::Killed, End::Terminated],
            3,
        );
        assert_eq!((r.total, r.problems.len()), (2, 0));
    }

    #[test]
    fn repeats_no_kill_explains_are_reported() {
        let ends = [End::Killed, End::Terminated];
        // Twice by one process.
        let r = judge_repeats(&ledger(&[("a", 1, 0), ("a", 1, 5)]), &[0, 6], &ends, 3);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        // After a process that was not killed.
        let ends2 = [End::Exited("exit status: 1".into()), End::Terminated];
        let r = judge_repeats(&ledger(&[("a", 0, 9), ("a", 1, 0)]), &[10, 1], &ends2, 3);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        // Killed, but the id was written long before the batch in flight.
        let r = judge_repeats(&ledger(&[("a", 0, 2), ("a", 1, 0)]), &[10, 1], &ends, 3);
        assert_eq!(r.problems.len(), 1, "{r:?}");
        assert!(r.per_kill.is_empty());
    }
}
