//! Contract layer: where the host commits a checkpoint once the records it covers are delivered.
//!
//! The host's writer ([`crate::runtime::host`]) delivers a batch's records to its
//! [`RecordSink`](crate::runtime::output::RecordSink) and only then hands the batch's checkpoint to a
//! [`Checkpoints`]. That ordering is the host's and never changes; what "commit" means is the
//! front end's: the native CLI replaces a state file atomically ([`StateStore`](crate::runtime::state::StateStore)), the Airbyte
//! front end writes a `STATE` message after the `RECORD`s it covers and lets the pipeline host
//! persist it ([`crate::front::airbyte`]).

use crate::contract::error::HostError;

/// Makes a checkpoint durable, or hands it to whoever does.
///
/// Called by the host's writer thread only after every record the checkpoint covers was
/// delivered, in order. An error stops the read: nothing later is delivered or committed.
pub trait Checkpoints<S>: Send + 'static {
    /// Commits `checkpoint`.
    fn commit(&mut self, checkpoint: &S) -> Result<(), HostError>;
}
