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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::contract::error::{ConfigError, ErrorKind, InputError};
use connector_sdk::contract::input::{Batch, Config, Input, ReadContext, RecordBuf};
use connector_sdk::runtime::checkpoint::HostError;
use connector_sdk::runtime::host::{self, ReadOptions};
use connector_sdk::runtime::output::RecordSink;
use schemars::JsonSchema;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Deserialize, JsonSchema)]
struct NoSettings {}
impl connector_sdk::contract::input::Settings for NoSettings {}

#[derive(Debug, Default, Deserialize, JsonSchema)]
struct NoSecrets {}
impl connector_sdk::contract::input::Secrets for NoSecrets {}

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
    assert_eq!(summary.commits, BATCHES, "one commit per batch");
    assert_eq!(summary.passes, 1);
    assert!(!summary.interrupted);
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
    let (store, _) = connector_sdk::runtime::state_file::StateStore::<Vec<String>>::open(
        &path,
        "big",
        1,
        |_, _| Err("no migration".into()),
    )
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

/// Fails its first pass with an error of `kind` after emitting batches 1 and 2; later passes
/// emit the rest, from the state they are given.
struct FailsOnce {
    kind: ErrorKind,
    passes: AtomicU32,
}

#[async_trait]
impl Input for FailsOnce {
    const NAME: &'static str = "numbered";
    const STATE_VERSION: u32 = 1;
    type Settings = NoSettings;
    type Secrets = NoSecrets;
    type State = u64;

    fn from_config(_: Config<NoSettings, NoSecrets>) -> Result<Self, ConfigError> {
        Ok(FailsOnce {
            kind: ErrorKind::Transient,
            passes: AtomicU32::new(0),
        })
    }

    async fn check(&self) -> Result<String, InputError> {
        Ok("ok".into())
    }

    async fn read(&self, state: u64, cx: &ReadContext<u64>) -> Result<(), InputError> {
        let first = self.passes.fetch_add(1, Ordering::SeqCst) == 0;
        let last = if first { 2 } else { BATCHES };
        emit_batches(state + 1..=last, cx).await;
        if first {
            return Err(InputError::new(self.kind, "the upstream hiccuped"));
        }
        Ok(())
    }
}

/// Emits batches `batches`, one record each, until the host stops taking them.
async fn emit_batches(batches: std::ops::RangeInclusive<u64>, cx: &ReadContext<u64>) {
    for k in batches {
        let mut records = RecordBuf::default();
        records.push_json(format!("{{\"batch\":{k},\"i\":0}}").as_bytes());
        let batch = Batch {
            records,
            checkpoint: k,
        };
        if cx.emit(batch).await.is_err() {
            return;
        }
    }
}

/// Delivers, and asks the host to stop once the last batch is delivered (a follow-mode run
/// otherwise never ends).
struct StopAtLast {
    delivered: Arc<Mutex<Vec<u64>>>,
    shutdown: CancellationToken,
}

impl RecordSink for StopAtLast {
    fn deliver(&mut self, records: &RecordBuf) -> io::Result<()> {
        let text = std::str::from_utf8(records.as_bytes()).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let batch = first["batch"].as_u64().unwrap();
        self.delivered.lock().unwrap().push(batch);
        if batch == BATCHES {
            self.shutdown.cancel();
        }
        Ok(())
    }
}

/// A failed pass: in follow mode a transient error waits for the next poll, which resumes
/// from the last checkpoint handed over (nothing lost or repeated); any other error, or any
/// error without follow, ends the read with that error and the checkpoint of what was
/// delivered.
#[tokio::test]
async fn a_failed_pass_is_retried_only_in_follow_mode_and_only_when_transient() {
    struct Case {
        follow: bool,
        kind: ErrorKind,
        retried: bool,
    }
    let cases = [
        Case {
            follow: true,
            kind: ErrorKind::Transient,
            retried: true,
        },
        Case {
            follow: true,
            kind: ErrorKind::Fatal,
            retried: false,
        },
        Case {
            follow: true,
            kind: ErrorKind::Auth,
            retried: false,
        },
        Case {
            follow: false,
            kind: ErrorKind::Transient,
            retried: false,
        },
    ];
    for case in cases {
        let what = format!("follow {}, {:?} error", case.follow, case.kind);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let (store, state) = host::open_state::<FailsOnce>(&path).unwrap();
        let shutdown = CancellationToken::new();
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let sink = StopAtLast {
            delivered: Arc::clone(&delivered),
            shutdown: shutdown.clone(),
        };
        let input = FailsOnce {
            kind: case.kind,
            passes: AtomicU32::new(0),
        };
        let options = ReadOptions {
            follow: case.follow,
            poll_interval: Duration::from_millis(10),
            ..ReadOptions::default()
        };
        let result = tokio::time::timeout(
            Duration::from_secs(20),
            host::read(Arc::new(input), store, state, sink, options, shutdown),
        )
        .await
        .unwrap_or_else(|_| panic!("{what}: the read never ended"));
        let delivered = delivered.lock().unwrap().clone();
        if case.retried {
            let summary = result.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(delivered, (1..=BATCHES).collect::<Vec<_>>(), "{what}");
            assert_eq!(on_disk(&path), Some(BATCHES), "{what}");
            assert!(
                summary.passes >= 2,
                "{what}: one failed pass, then passes that caught up ({})",
                summary.passes
            );
            assert!(summary.interrupted, "{what}: stopped by the shutdown");
        } else {
            match result {
                Err(HostError::Input(e)) => assert_eq!(e.kind, case.kind, "{what}"),
                other => panic!("{what}: expected the input's error, got {other:?}"),
            }
            assert_eq!(delivered, [1, 2], "{what}");
            assert_eq!(on_disk(&path), Some(2), "{what}");
        }
    }
}
