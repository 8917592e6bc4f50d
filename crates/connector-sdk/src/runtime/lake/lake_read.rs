//! Runtime layer: a `read` into a lake, and `check`'s proof that the lake takes objects. The
//! host's writer is unchanged: it delivers each batch to a [`LakeSink`] (the spool) and then
//! commits through [`LakeCheckpoints`] (the checkpoint and the spool position, together), while
//! an [`Uploader`] beside it turns sealed segments into objects. A read without `--follow`
//! seals what it spooled and returns once it is all in the lake, or, when the lake has not taken
//! it within `spool.drain_seconds`, fails (exit 1) with the records kept in the spool.

use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::contract::error::{ConfigError, ErrorKind, Violation};
use crate::contract::input::Input;
use crate::runtime::checkpoint::HostError;
use crate::runtime::host::{self, ReadOptions, ReadSummary};
use crate::runtime::lake::encode::ObjectEncoder;
use crate::runtime::lake::lake_config::LakeConfig;
use crate::runtime::lake::lake_parts::LakeParts;
use crate::runtime::lake::lake_sink::{LakeCheckpoints, LakeCore, LakeFailure, LakeSink};
use crate::runtime::lake::layout::{LakeInput, LakeLayout};
use crate::runtime::lake::object::ObjectWriter;
use crate::runtime::lake::object_keys::ObjectKeys;
use crate::runtime::lake::spool::Spool;
use crate::runtime::lake::uploader::Uploader;
use crate::runtime::state_file;

/// What a lake file and an input make: the layout, the keys, the writer and the encoder, each
/// checked before anything is read.
pub struct LakeSetup {
    /// The input's layout for the target.
    pub layout: Arc<dyn LakeLayout>,
    /// Each table's location and each object's key.
    pub keys: ObjectKeys,
    /// Where objects are written.
    pub writer: Arc<dyn ObjectWriter>,
    /// What their bytes are.
    pub encoder: Arc<dyn ObjectEncoder>,
}

/// Reads the lake file at `path` (`--lake FILE`), refusing what no spool could work with.
pub fn load(path: &Path) -> Result<LakeConfig, ConfigError> {
    let bytes =
        crate::runtime::file::read_regular(path, crate::runtime::file::MAX_CONFIG_BYTES, "lake")
            .map_err(|e| ConfigError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
    let lake: LakeConfig = serde_json::from_slice(&bytes).map_err(|e| ConfigError::Unreadable {
        path: path.to_path_buf(),
        reason: format!("it is not a lake file ({e})"),
    })?;
    let mut violations = Vec::new();
    let spool = &lake.spool;
    if spool.segment_max_bytes == 0 {
        violations.push(Violation::new(
            "/spool/segment_max_bytes",
            "must be at least 1",
        ));
    }
    if spool.max_bytes < spool.segment_max_bytes {
        violations.push(Violation::new(
            "/spool/max_bytes",
            format!(
                "must be at least segment_max_bytes ({}): a full segment must fit",
                spool.segment_max_bytes
            ),
        ));
    }
    if spool.roll_seconds == 0 {
        violations.push(Violation::new("/spool/roll_seconds", "must be at least 1"));
    }
    if spool.dir.as_os_str().is_empty() {
        violations.push(Violation::new("/spool/dir", "must name a folder"));
    }
    if violations.is_empty() {
        Ok(lake)
    } else {
        Err(ConfigError::Invalid(violations))
    }
}

/// The region the environment gives, if the lake file has none.
fn env_region() -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// Builds (and checks) everything `lake` needs for `input`'s records.
pub fn setup<I: LakeInput>(
    input: &I,
    lake: &LakeConfig,
    parts: &LakeParts,
) -> Result<LakeSetup, ConfigError> {
    setup_with(input.lake_layout(&lake.target)?, lake, parts)
}

/// [`setup`] with the input's `layout` already made.
pub fn setup_with(
    layout: Arc<dyn LakeLayout>,
    lake: &LakeConfig,
    parts: &LakeParts,
) -> Result<LakeSetup, ConfigError> {
    let keys = ObjectKeys::new(lake, layout.tables(), env_region())?;
    let writer = (parts.writer_for)(lake)?;
    let encoder = (parts.encoder_for)(lake, &layout)?;
    Ok(LakeSetup {
        layout,
        keys,
        writer,
        encoder,
    })
}

/// Proves that every table's location takes objects ([`ObjectWriter::probe`]); returns one
/// line per location.
pub async fn probe(setup: &LakeSetup) -> Result<Vec<String>, HostError> {
    let mut lines = Vec::new();
    for (table, location) in setup.keys.locations() {
        let url = location.url();
        setup.writer.probe(&url).await.map_err(|e| {
            let failure = LakeFailure {
                kind: match e.kind {
                    crate::runtime::lake::object::PutErrorKind::Auth => ErrorKind::Auth,
                    crate::runtime::lake::object::PutErrorKind::Config => ErrorKind::Config,
                    _ => ErrorKind::Transient,
                },
                message: format!(
                    "the lake location of table {table} ({url}) does not take objects: {}",
                    e.message
                ),
            };
            HostError::from(failure)
        })?;
        lines.push(format!("{table}: {url} takes objects"));
    }
    Ok(lines)
}

/// Reads `input` from the state file at `state_path` into the lake of `setup` (its spool as
/// `lake` says), until caught up (or, with `follow`, until `shutdown`); without `follow`,
/// returns once everything read is in the lake.
pub async fn read<I: Input>(
    input: Arc<I>,
    state_path: &Path,
    lake: &LakeConfig,
    setup: LakeSetup,
    parts: &LakeParts,
    options: ReadOptions,
    shutdown: CancellationToken,
) -> Result<ReadSummary, HostError> {
    let (store, state, destination) = state_file::open_with_destination_for::<I>(state_path)?;
    let spool = Spool::open(&lake.spool, store.resolved(), destination.as_ref())
        .map_err(|e| HostError::from(LakeFailure::from(e)))?;
    let metrics = options.metrics.as_ref().map(|m| m.lake().clone());
    let core = LakeCore::new(
        spool,
        store,
        state.clone(),
        lake.spool.clone(),
        metrics,
        parts.on_step,
    );
    let read_stop = shutdown.child_token();
    let uploader_stop = shutdown.child_token();
    let mut uploader = tokio::spawn(
        Uploader {
            core: Arc::clone(&core),
            writer: setup.writer,
            encoder: setup.encoder,
            layout: setup.layout,
            keys: setup.keys,
            backoff: parts.backoff,
        }
        .run(uploader_stop.clone(), read_stop.clone()),
    );
    let follow = options.follow;
    let result = host::read(
        input,
        LakeCheckpoints::new(Arc::clone(&core)),
        state,
        LakeSink::new(Arc::clone(&core), read_stop.clone()),
        options,
        read_stop.clone(),
    )
    .await;
    let finished =
        result.is_ok() && !follow && !shutdown.is_cancelled() && core.failure().is_none();
    let mut undrained = None;
    let joined = if finished {
        // One read delivers all it read, or stops trying after `drain_seconds`.
        core.seal_now()?;
        core.request_drain();
        let limit = std::time::Duration::from_secs(lake.spool.drain_seconds);
        match tokio::time::timeout(limit, &mut uploader).await {
            Ok(joined) => joined,
            Err(_) => {
                uploader_stop.cancel();
                undrained = Some(core.sealed_segments());
                uploader.await
            }
        }
    } else {
        uploader_stop.cancel();
        uploader.await
    };
    let uploaded = joined.map_err(|e| HostError::Output(std::io::Error::other(e.to_string())))?;
    if let Some(failure) = core.failure() {
        return Err(failure.into());
    }
    if let Some(segments) = undrained {
        return Err(LakeFailure {
            kind: ErrorKind::Transient,
            message: format!(
                "the lake did not take the read's records within spool.drain_seconds ({} s): \
                 {segments} sealed segment(s) stay in the spool, checkpointed, and the next run \
                 uploads them first",
                lake.spool.drain_seconds
            ),
        }
        .into());
    }
    let mut summary = match result {
        // A signal ended a wait on a full spool: that batch was not delivered, nothing is lost.
        Err(HostError::Output(e))
            if shutdown.is_cancelled() && e.kind() == std::io::ErrorKind::Interrupted =>
        {
            ReadSummary::default()
        }
        other => other?,
    };
    uploaded?;
    core.remove_spare()?;
    summary.interrupted = shutdown.is_cancelled();
    Ok(summary)
}
