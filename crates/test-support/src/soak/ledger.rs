//! The ledger: every event pushed into the mock and every line the connector instances wrote,
//! shared by the producer, the stdout readers and the judge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// One event as pushed.
pub(super) struct Pushed {
    pub(super) json: Arc<str>,
    pub(super) date_create: i64,
    pub(super) at: Instant,
}

/// One appearance of an id on stdout.
#[derive(Debug, Clone, Copy)]
pub(super) struct Delivery {
    pub(super) instance: usize,
    /// Index of the line in that instance's output.
    pub(super) line: usize,
    pub(super) at: Instant,
}

/// How a connector process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum End {
    Running,
    Killed,
    /// Stopped with SIGTERM at the end.
    Terminated,
    /// Exited on its own.
    Exited(String),
}

#[derive(Default)]
pub(super) struct Ledger {
    pub(super) pushed: HashMap<String, Pushed>,
    pub(super) per_second: HashMap<i64, u64>,
    pub(super) burst_events: u64,
    pub(super) late_events: u64,
    pub(super) deliveries: HashMap<String, Vec<Delivery>>,
    /// Complete lines per instance.
    pub(super) lines: Vec<usize>,
    /// Instances whose output ended with a partial line.
    pub(super) torn: Vec<usize>,
    pub(super) records: u64,
    pub(super) stray_records: u64,
    /// Complete lines that are not a pushed entry, byte for byte.
    pub(super) bad_lines: Vec<String>,
}

pub(super) struct Shared {
    pub(super) ledger: Mutex<Ledger>,
}

impl Shared {
    pub(super) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ids of the mock's random stray entries start with this.
pub(super) const STRAY_PREFIX: &str = "stray-";

pub(super) fn record_line(instance: usize, line: &[u8], at: Instant, shared: &Shared) {
    #[derive(serde::Deserialize)]
    struct Keyed {
        id: String,
    }
    let mut ledger = shared.ledger();
    ledger.records += 1;
    let index = ledger.lines.get(instance).copied().unwrap_or(0);
    if let Some(n) = ledger.lines.get_mut(instance) {
        *n += 1;
    }
    let shown = || String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
    let id = match serde_json::from_slice::<Keyed>(line) {
        Ok(k) => k.id,
        Err(e) => {
            let text = format!(
                "process #{instance} wrote line {index} that is not an entry with an id ({e}): {}",
                shown()
            );
            ledger.bad_lines.push(text);
            return;
        }
    };
    if id.starts_with(STRAY_PREFIX) {
        ledger.stray_records += 1;
        return;
    }
    let problem = match ledger.pushed.get(&id) {
        None => Some("an id the mock was never given"),
        Some(p) if p.json.as_bytes() != line => Some("bytes differ from the entry the mock served"),
        Some(_) => None,
    };
    if let Some(problem) = problem {
        let text = format!("process #{instance} line {index}: {problem}: {}", shown());
        ledger.bad_lines.push(text);
        return;
    }
    ledger.deliveries.entry(id).or_default().push(Delivery {
        instance,
        line: index,
        at,
    });
}
