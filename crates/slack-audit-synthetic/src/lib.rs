//! Synthetic Slack Enterprise Grid audit events: a believable organization, deterministic for
//! a seed, with random access by time.
//!
//! # Why it exists
//!
//! The real API needs an Enterprise Grid organization and an Org Owner's token, returns what
//! happened to happen, and allows about 50 calls a minute. Developing, testing, benchmarking and
//! demonstrating a collector needs the opposite: any amount of realistic traffic, at any time in
//! the past or future, reproducible to the byte. This crate provides it; the connector's
//! synthetic mode (`slack-audit`'s `source::synthetic`), its tests and `cargo xtask bench` are
//! built on it.
//!
//! # Why it is its own crate
//!
//! It is a product of its own (about a third of the connector's code), with its own
//! dependencies (`fake`, `rand`, `uuid`) that the connector's sync path never touches. As a
//! module of `slack-audit` it sat beside the config checks, which reached into it for the action
//! catalogue. Now the facts both need (the entry model, the action catalogue) live below both
//! in `slack-audit-model`, the connector uses this crate only for its synthetic page source, and
//! the bench generates data sets without going through the connector.
//!
//! # How it is built
//!
//! - **One organization per seed.** [`SyntheticOrg::new`] creates an enterprise, 4–8
//!   workspaces, 150–400 people (names from `fake`; a few Org Owners and admins, some guests
//!   from partner companies, a few app bots), channels, files, apps with their scopes,
//!   workflows, user groups, canvases, lists and more, once. Every object is rendered to JSON
//!   once, through [`slack_audit_model::entry`]'s types.
//! - **Every second stands alone.** The events of unix second `s` are a pure function of
//!   (seed, `s`, rate): their count is Poisson-distributed with mean
//!   `rate / 3600 × activity_factor(s)`, and event `i` of the second is drawn from a generator
//!   seeded by (seed, `s`, `i`). Any window can be generated without generating what came
//!   before it, and raising the rate only adds events to a second, it never changes the
//!   existing ones. Same-second ties happen naturally in busy hours.
//! - **Office rhythm.** Activity follows the working day in the organization's time zone
//!   (fixed offset, no daylight saving): high from 08:00 to 18:00 on weekdays, low at night,
//!   low on weekends. The factor averages 1 over a week, so a rate of `r` events per hour
//!   yields `168 × r` events per week.
//! - **Believable proportions and coherence.** Sign-ins and downloads dominate, channel and
//!   file work is steady, app installs and setting changes are rare, anomalies rarer; every
//!   action is a real Slack action name, its entity type matches it and the location is the
//!   workspace or the organization as appropriate (see `plan.rs`).
//! - **Sessions.** A session is one person, one day (in the organization's time zone), one
//!   device: its `session_id`, user agent and IP address stay the same throughout. People
//!   have a stable desktop client, often a phone, an office and a home address (documentation
//!   IP ranges only, see `population.rs`).
//! - **Ids.** Entry ids are UUID v4-formatted strings derived from (seed, second, index), never
//!   from the operating system's randomness.
//!
//! Determinism covers one build: the organization depends on `fake`'s word lists and `rand`'s
//! algorithms, so upgrading those may change names. The per-second stream uses its own
//! value-stable generator.

#![forbid(unsafe_code)]

mod plan;
mod population;
mod render;
mod rng;
mod vocab;

use std::fmt;

use slack_audit_model::ActionCatalog;

use plan::Plan;
use population::Population;
use render::Renderer;
pub use render::SyntheticEvent;
use rng::{SplitMix64, hash_words};

/// A believable event rate for an organization of about 300 people, in events per hour
/// averaged over a week: about 9,400 events on a weekday (peaking near 900 per hour late in
/// the morning) and 1,600 on a weekend day.
pub const DEFAULT_EVENTS_PER_HOUR: f64 = 300.0;

/// Stream tag for the number of events in a second.
const COUNT_STREAM: u64 = 0x0043_4f55_4e54;
/// Stream tag for the key every other hash starts from.
const KEY_STREAM: u64 = 0x004b_4559;

/// Relative activity per hour of a weekday, local time (normalized at construction).
const WEEKDAY_ACTIVITY: [f64; 24] = [
    0.10, 0.07, 0.06, 0.06, 0.07, 0.12, 0.30, 0.75, 1.50, 2.10, 2.30, 2.20, 1.70, 2.00, 2.20, 2.10,
    1.90, 1.40, 0.80, 0.50, 0.40, 0.35, 0.25, 0.15,
];

/// Relative activity per hour of a Saturday or Sunday, local time.
const WEEKEND_ACTIVITY: [f64; 24] = [
    0.08, 0.06, 0.05, 0.05, 0.05, 0.06, 0.08, 0.12, 0.18, 0.25, 0.30, 0.32, 0.32, 0.30, 0.30, 0.28,
    0.25, 0.22, 0.20, 0.18, 0.16, 0.14, 0.12, 0.10,
];

/// A synthetic Enterprise Grid organization and the audit events it produces.
pub struct SyntheticOrg {
    seed: u64,
    /// Mixed seed every per-event hash starts from.
    key: u64,
    population: Population,
    plan: Plan,
    /// Activity per hour, weekday then weekend, scaled so the weekly mean is 1.
    activity: [[f64; 24]; 2],
}

impl fmt::Debug for SyntheticOrg {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SyntheticOrg")
            .field("seed", &self.seed)
            .field("enterprise", &self.enterprise_name())
            .field("workspaces", &self.workspace_count())
            .field("users", &self.user_count())
            .field("time_zone", &self.time_zone())
            .finish_non_exhaustive()
    }
}

impl SyntheticOrg {
    /// Builds the organization for `seed` (a few milliseconds). The same seed always builds the
    /// same organization.
    pub fn new(seed: u64) -> SyntheticOrg {
        let weekly_total: f64 =
            5.0 * WEEKDAY_ACTIVITY.iter().sum::<f64>() + 2.0 * WEEKEND_ACTIVITY.iter().sum::<f64>();
        let scale = if weekly_total > 0.0 {
            (7.0 * 24.0) / weekly_total
        } else {
            1.0
        };
        SyntheticOrg {
            seed,
            key: hash_words(&[seed, KEY_STREAM]),
            population: Population::build(seed),
            plan: Plan::new(ActionCatalog::bundled()),
            activity: [
                WEEKDAY_ACTIVITY.map(|value| value * scale),
                WEEKEND_ACTIVITY.map(|value| value * scale),
            ],
        }
    }

    /// The seed the organization was built from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The organization's id (`E0…`).
    pub fn enterprise_id(&self) -> &str {
        &self.population.enterprise.id
    }

    /// The organization's name, e.g. `Kuhn Logistics`.
    pub fn enterprise_name(&self) -> &str {
        &self.population.enterprise.name
    }

    /// The organization's Slack domain, e.g. `kuhn-logistics`.
    pub fn enterprise_domain(&self) -> &str {
        &self.population.enterprise.domain
    }

    /// The domain of members' email addresses, e.g. `kuhn-logistics.com`.
    pub fn email_domain(&self) -> &str {
        &self.population.email_domain
    }

    /// The organization's time zone name (its standard offset is used all year).
    pub fn time_zone(&self) -> &str {
        self.population.time_zone
    }

    /// Offset of the organization's local time from UTC, in seconds.
    pub fn utc_offset_seconds(&self) -> i64 {
        self.population.utc_offset_seconds
    }

    /// Number of workspaces.
    pub fn workspace_count(&self) -> usize {
        self.population.workspaces.len()
    }

    /// Number of users, bots included.
    pub fn user_count(&self) -> usize {
        self.population.people.len()
    }

    /// Names of every action this organization can emit (real Slack action names).
    pub fn action_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.plan.actions().iter().map(|spec| spec.name)
    }

    /// How busy the organization is at `second` relative to its weekly average: about 3 late
    /// on a weekday morning, under 0.1 at night and 0.1–0.4 on weekends. Interpolated linearly
    /// between hours.
    pub fn activity_factor(&self, second: i64) -> f64 {
        let local = second.saturating_add(self.population.utc_offset_seconds);
        let day = local.div_euclid(86_400);
        let second_of_day = local.rem_euclid(86_400);
        // 1970-01-01 was a Thursday: day 0 has weekday index 3 (Monday = 0).
        let weekday = (day + 3).rem_euclid(7);
        let hours = &self.activity[usize::from(weekday >= 5)];
        let hour = (second_of_day / 3600) as usize;
        let fraction = (second_of_day % 3600) as f64 / 3600.0;
        let current = hours[hour % 24];
        let next = hours[(hour + 1) % 24];
        current + (next - current) * fraction
    }

    /// Appends the events created during unix second `second` (zero, one or several) for an
    /// organization averaging `events_per_hour` events per hour over a week, before the
    /// working-hours rhythm. A pure function of (seed, `second`, `events_per_hour`): calling it
    /// again gives the same bytes. Ids are unique across seconds.
    pub fn events_in_second(
        &self,
        second: i64,
        events_per_hour: f64,
        out: &mut Vec<SyntheticEvent>,
    ) {
        let mean = events_per_hour / 3600.0 * self.activity_factor(second);
        let mut count_rng = SplitMix64::new(hash_words(&[self.key, second as u64, COUNT_STREAM]));
        let count = count_rng.poisson(mean);
        if count == 0 {
            return;
        }
        out.reserve(count);
        let renderer = Renderer {
            key: self.key,
            population: &self.population,
            plan: &self.plan,
        };
        let mut buffer = Vec::with_capacity(1024);
        for ordinal in 0..count {
            renderer.render_event(second, ordinal, &mut buffer, out);
        }
    }

    /// Appends the events of every second from `oldest` to `latest`, both inclusive, oldest
    /// first (the API itself returns newest first).
    pub fn events_in_range(
        &self,
        oldest: i64,
        latest: i64,
        events_per_hour: f64,
        out: &mut Vec<SyntheticEvent>,
    ) {
        let mut second = oldest;
        while second <= latest {
            self.events_in_second(second, events_per_hour, out);
            second = match second.checked_add(1) {
                Some(next) => next,
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use slack_audit_model::entry::AuditEntry;

    /// Wednesday 2026-08-05 00:00:00 UTC.
    const WEDNESDAY: i64 = 1_785_888_000;

    #[test]
    fn the_organization_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SyntheticOrg>();
        assert_send_sync::<SyntheticEvent>();
    }

    #[test]
    fn activity_factor_averages_one_over_a_week() {
        let org = SyntheticOrg::new(1);
        let total: f64 = (0..7 * 24 * 60)
            .map(|minute| org.activity_factor(WEDNESDAY + minute * 60))
            .sum();
        let mean = total / f64::from(7 * 24 * 60);
        assert!((mean - 1.0).abs() < 0.01, "{mean}");
    }

    #[test]
    fn generated_entries_use_only_modeled_fields() {
        let org = SyntheticOrg::new(11);
        let mut events = Vec::new();
        org.events_in_range(
            WEDNESDAY + 15 * 3600,
            WEDNESDAY + 16 * 3600,
            20_000.0,
            &mut events,
        );
        assert!(events.len() > 1000);
        for event in &events {
            let entry: AuditEntry = serde_json::from_str(&event.json).unwrap();
            assert!(entry.extra.is_empty(), "{}", event.json);
            assert!(entry.actor.extra.is_empty(), "{}", event.json);
            assert!(entry.entity.extra.is_empty(), "{}", event.json);
            assert!(entry.context.extra.is_empty(), "{}", event.json);
            assert_eq!(entry.id, event.id);
            assert_eq!(entry.date_create, event.date_create);
        }
    }
}
