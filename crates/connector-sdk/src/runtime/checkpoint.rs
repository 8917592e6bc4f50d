//! Runtime layer: where the host commits a checkpoint once the records it covers are delivered.
//!
//! The host's writer ([`crate::runtime::host`]) delivers a batch's records to its
//! [`RecordSink`](crate::runtime::output::RecordSink) and only then hands the batch's checkpoint to a
//! [`Checkpoints`]. That ordering is the host's and never changes; what "commit" means is the
//! front end's: the native CLI replaces a state file atomically ([`StateStore`](crate::runtime::state_file::StateStore)), the Airbyte
//! front end writes a `STATE` message after the `RECORD`s it covers and lets the pipeline host
//! persist it ([`crate::front::airbyte`]).
//!
//! [`HostError`] is what the host's own operations (`check`, `read`, a commit) fail with: the
//! input's error passed up, or the config, state file or output's.

use crate::contract::error::{ConfigError, ErrorKind, InputError, StateError};

/// Makes a checkpoint durable, or hands it to whoever does.
///
/// Called by the host's writer thread only after every record the checkpoint covers was
/// delivered, in order. An error stops the read: nothing later is delivered or committed.
pub trait Checkpoints<S>: Send + 'static {
    /// Commits `checkpoint`.
    fn commit(&mut self, checkpoint: &S) -> Result<(), HostError>;
}

/// A failure of the host runtime itself, or one passed up from the input.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The config was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The input failed.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The state file could not be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// Records could not be written to the output.
    #[error("cannot write records to the output: {0}")]
    Output(std::io::Error),
    /// A destination past the output (a lake) failed, with its class (a refused credential is
    /// an auth error, a wrong bucket a config error).
    #[error("{message}")]
    Destination {
        /// The class, and so the exit code.
        kind: ErrorKind,
        /// What happened.
        message: String,
    },
}

impl HostError {
    /// The class of this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HostError::Config(_) => ErrorKind::Config,
            HostError::Input(e) => e.kind,
            HostError::State(_) | HostError::Output(_) => ErrorKind::Fatal,
            HostError::Destination { kind, .. } => *kind,
        }
    }
}
