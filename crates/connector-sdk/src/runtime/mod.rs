//! The runtime layer: what runs an input, on top of [`crate::contract`] and under the front
//! ends ([`crate::front`]); nothing here imports a front end.
//!
//! - [`host`]: the in-process runtime (`check`, `read`, the writer that delivers then commits);
//!   [`checkpoint`]: where that writer commits, and the [`HostError`](checkpoint::HostError) it fails with;
//!   [`host_side`]: the host's side of an input's `ReadContext` (buffers, progress).
//! - [`state_file`]: the native state file (locked, replaced atomically) and [`status`], which
//!   describes one without touching it.
//! - [`output`]: where delivered records go (stdout, a file, memory); [`output_file`]: the
//!   `--output` file, locked, private, reopened after a rotation.
//! - [`metrics`]: the Prometheus registry (the host's families and the input's declared
//!   instruments), `/metrics` and `/healthz`.
//! - [`launch`]: the async runtime, signals and the read summary, once for both front ends.
//! - [`config_file`], [`file`](mod@file): the files an operator names, read without trusting them;
//!   [`secret_env`]: the secrets the environment gives.
//! - [`logging`], [`redact`]: logs on stderr, and the scrub of secrets from everything printed;
//!   [`core_dumps`]: none, so the token never lands on disk from a crash.
//! - `lake` (cargo feature `lake`): delivery into Amazon Security Lake or any S3, exactly once,
//!   through a local spool the checkpoint follows.

pub mod checkpoint;
pub mod config_file;
pub mod core_dumps;
pub mod file;
pub mod host;
pub mod host_side;
#[cfg(feature = "lake")]
pub mod lake;
pub mod launch;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod output_file;
pub mod redact;
pub mod secret_env;
pub mod state_file;
pub mod status;
