//! The developer tasks behind `cargo xtask`, as a library so the test suite runs them too.

#![forbid(unsafe_code)]

pub mod bench;
pub mod ocsf_schemas;
pub mod prometheus;
pub mod record;
pub mod replay;
pub mod schema;
pub mod soak;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
