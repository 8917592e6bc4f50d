//! The host's one promise, tested where it is kept: a checkpoint becomes durable only after the
//! records it covers were delivered, never before and never for records the sink refused, and
//! each commit replaces the state file whole.
//!
//! A small input emits numbered batches (batch `k` carries records `k.0 …` and checkpoint `k`);
//! the sinks below look at the state file *while* a batch is being delivered, which is the seam
//! between delivery and commit: if the host committed first, they would see it.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connector_sdk::host::{self, ReadOptions};
use connector_sdk::output::RecordSink;
use connector_sdk::{
    Batch, Config, ConfigError, HostError, Input, InputError, ReadContext, RecordBuf,
};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Deserialize, JsonSchema)]
struct NoSettings {}
impl connector_sdk::Settings for NoSettings {}

#[derive(Debug, Default, Deserialize, JsonSchema)]
struct NoSecrets {}
impl connector_sdk::Secrets for NoSecrets {}

/// Emits batches `from+1 ..= BATCHES`, three records each; the state is the last batch emitted.
struct Numbered;

const BATCHES: u64 = 6;

#[async_trait]
impl Input for Numbered {
    const NAME: &'static str = "numbered";
    const STATE_VERSION: u32 = 1;
    type Settings = NoSettings;
    type Secrets = NoSecrets;
    type State = u64;

    fn from_config(_: Config<NoSettings, NoSecrets>) -> Result<Self, ConfigError> {
        Ok(Numbered)
    }

    async fn check(&self) -> Result<String, InputError> {
        Ok("ok".into())
    }

    async fn read(&self, state: u64, cx: &ReadContext<u64>) -> Result<(), InputError> {
        for k in state + 1..=BATCHES {
            let mut records = RecordBuf::default();
            for i in 0..3 {
                records.push_json(format!("{{\"batch\":{k},\"i\":{i}}}").as_bytes());
            }
            if cx
                .emit(Batch {
                    records,
                    checkpoint: k,
                })
                .await
                .is_err()
            {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The checkpoint in the state file right now (`None`: no file yet).
fn on_disk(path: &PathBuf) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let envelope: serde_json::Value = serde_json::from_slice(&bytes).expect("a whole state file");
    envelope["state"].as_u64()
}

/// Per delivery: the batch delivered and what the state file held during delivery.
type Seen = Arc<Mutex<Vec<(u64, Option<u64>)>>>;

/// Records, per delivery, the batch delivered and what the state file held during delivery;
/// refuses delivery number `fail_at` (counting from 1), if any.
struct Spy {
    state: PathBuf,
    fail_at: Option<usize>,
    seen: Seen,
}

impl RecordSink for Spy {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        let text = std::str::from_utf8(records.as_bytes()).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let batch = first["batch"].as_u64().unwrap();
        let mut seen = self.seen.lock().unwrap();
        seen.push((batch, on_disk(&self.state)));
        if self.fail_at == Some(seen.len()) {
            return Err(io::Error::other("the downstream refused the batch"));
        }
        Ok(())
    }
}

struct Outcome {
    result: Result<host::ReadSummary, HostError>,
    seen: Vec<(u64, Option<u64>)>,
    final_state: Option<u64>,
}

async fn read_through_spy(fail_at: Option<usize>) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, state) = host::open_state::<Numbered>(&path).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Spy {
        state: path.clone(),
        fail_at,
        seen: Arc::clone(&seen),
    };
    let result = host::read(
        Arc::new(Numbered),
        store,
        state,
        sink,
        ReadOptions::default(),
        CancellationToken::new(),
    )
    .await;
    let seen = seen.lock().unwrap().clone();
    Outcome {
        result,
        seen,
        final_state: on_disk(&path),
    }
}

/// While batch `k` is being delivered, the state file still says `k - 1`: the commit of `k`
/// comes after its delivery (swap them and this sees `k`).
#[tokio::test]
async fn a_checkpoint_is_committed_only_after_its_batch_is_delivered() {
    let outcome = read_through_spy(None).await;
    let summary = outcome.result.unwrap();
    assert_eq!(summary.records, 3 * BATCHES);
    assert_eq!(outcome.seen.len(), BATCHES as usize);
    for (batch, during) in &outcome.seen {
        let before = batch.checked_sub(1).filter(|b| *b > 0);
        assert_eq!(
            *during, before,
            "while batch {batch} was being delivered the state file said {during:?}"
        );
    }
    assert_eq!(outcome.final_state, Some(BATCHES));
}

/// A batch the sink refuses is never checkpointed: the run fails, and the state file says the
/// batch before it.
#[tokio::test]
async fn a_batch_the_sink_refused_is_never_checkpointed() {
    let outcome = read_through_spy(Some(3)).await;
    assert!(
        matches!(outcome.result, Err(HostError::Output(_))),
        "{:?}",
        outcome.result.err()
    );
    assert_eq!(outcome.seen.len(), 3, "nothing delivered after the refusal");
    assert_eq!(
        outcome.final_state,
        Some(2),
        "the refused batch 3 was committed"
    );

    // Refused at the very first batch: no state at all.
    let first = read_through_spy(Some(1)).await;
    assert!(first.result.is_err());
    assert_eq!(first.final_state, None);
}

/// A state file is replaced whole: a reader looking at it while many commits go by only ever
/// sees a complete envelope (a commit written in place would show it empty or half-written).
#[test]
fn a_reader_never_sees_a_partial_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (store, _) =
        connector_sdk::state::StateStore::<Vec<String>>::open(&path, "big", 1, |_, _| {
            Err("no migration".into())
        })
        .unwrap();
    // Big enough that a write in place takes several syscalls.
    let state: Vec<String> = (0..4000)
        .map(|i| format!("id-{i:08}-{}", "x".repeat(40)))
        .collect();
    store.commit(&state).unwrap();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let path = path.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let bytes = std::fs::read(&path).unwrap();
                let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&bytes);
                assert!(
                    parsed.is_ok(),
                    "read {} bytes of a state file mid-commit",
                    bytes.len()
                );
                reads += 1;
            }
            reads
        })
    };
    for _ in 0..300 {
        store.commit(&state).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().expect("the reader saw a partial state file");
    assert!(reads > 10, "the reader barely ran ({reads} reads)");
}
