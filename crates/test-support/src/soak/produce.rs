//! The producer: steady events stamped now, some of them late, and bursts sharing one second,
//! pushed into the mock and into the ledger; and the seeded draws of the soak.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use slack_mock::{MockEntry, SplitMix64, unix_now};

use super::context::Soak;
use super::ledger::Pushed;

/// How often the producer pushes and the orchestrator looks at the connector.
pub(super) const TICK: Duration = Duration::from_millis(100);

pub(super) const ACTIONS: [&str; 8] = [
    "user_login",
    "user_logout",
    "file_downloaded",
    "public_channel_created",
    "user_channel_join",
    "role_change_to_admin",
    "pref.sso_setting_changed",
    "app_installed",
];

impl Soak<'_> {
    /// The producer thread: steady events (some late), and bursts sharing one second.
    pub(super) fn produce(&self, stop: &AtomicBool) {
        let o = self.options;
        let mut rng = SplitMix64::new(o.seed);
        let mut counter = 0u64;
        let per_tick = o.events_per_second * TICK.as_secs_f64();
        while !stop.load(Ordering::SeqCst) {
            let tick_started = Instant::now();
            let now = unix_now();
            let mut batch: Vec<(MockEntry, Kind)> = Vec::new();
            let steady = per_tick.floor() as u64 + u64::from(rng.next_f64() < per_tick.fract());
            for _ in 0..steady {
                let late = rng.next_f64() < o.late_fraction;
                let date = if late {
                    now - uniform_int(&mut rng, o.late_by_secs) as i64
                } else {
                    now
                };
                let kind = if late { Kind::Late } else { Kind::Steady };
                batch.push((entry(&mut rng, &mut counter, date), kind));
            }
            if rng.next_f64() < o.burst_probability {
                let size = uniform_int(
                    &mut rng,
                    (u64::from(o.burst_size.0), u64::from(o.burst_size.1)),
                );
                for _ in 0..size {
                    batch.push((entry(&mut rng, &mut counter, now), Kind::Burst));
                }
            }
            if !batch.is_empty() {
                // Into the ledger first: the mock may serve an entry as soon as it has it.
                {
                    let mut ledger = self.shared.ledger();
                    let at = Instant::now();
                    for (e, kind) in &batch {
                        match kind {
                            Kind::Late => ledger.late_events += 1,
                            Kind::Burst => ledger.burst_events += 1,
                            Kind::Steady => {}
                        }
                        *ledger.per_second.entry(e.date_create).or_default() += 1;
                        ledger.pushed.insert(
                            e.id.clone(),
                            Pushed {
                                json: Arc::clone(&e.json),
                                date_create: e.date_create,
                                at,
                            },
                        );
                    }
                }
                self.mock.push_entries(batch.into_iter().map(|(e, _)| e));
            }
            thread::sleep(TICK.saturating_sub(tick_started.elapsed()));
        }
    }
}

#[derive(Clone, Copy)]
pub(super) enum Kind {
    Steady,
    Late,
    Burst,
}

pub(super) fn entry(rng: &mut SplitMix64, counter: &mut u64, date_create: i64) -> MockEntry {
    *counter += 1;
    let r = rng.next_u64();
    // UUID-shaped: random high bits (so ids of one second sort randomly), a counter in the
    // low bits (so they are unique by construction).
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        r >> 32,
        (r >> 16) & 0xffff,
        (r >> 4) & 0xfff,
        rng.next_u64() & 0xfff,
        *counter
    );
    let action = ACTIONS[(rng.next_u64() % ACTIONS.len() as u64) as usize];
    let actor = format!("W{:08X}", rng.next_u64() % 0x1_0000_0000);
    let entity = format!("W{:08X}", rng.next_u64() % 0x1_0000_0000);
    MockEntry::synthetic(&id, date_create, action, &actor, &entity)
}

/// The run's token: the mock requires it, and it must never show up in the connector's log.
pub(super) fn soak_token(seed: u64) -> String {
    let mut rng = SplitMix64::new(seed ^ 0x70_6b_65_6e);
    format!(
        "xoxp-0000000000-0000000000-000000000000-{:016x}{:016x}",
        rng.next_u64(),
        rng.next_u64()
    )
}

pub(super) fn uniform(rng: &mut SplitMix64, (lo, hi): (Duration, Duration)) -> Duration {
    lo + (hi - lo).mul_f64(rng.next_f64())
}

pub(super) fn uniform_int(rng: &mut SplitMix64, (lo, hi): (u64, u64)) -> u64 {
    lo + rng.next_u64() % (hi - lo + 1)
}
