//! Runtime layer: the [`ObjectWriter`] a lake document needs, chosen by its locations' scheme:
//! `s3://` → [`S3Writer`](super::s3::S3Writer); `file://` → the local-folder writer. Every
//! location of one document must have the same scheme.

use std::sync::Arc;

use crate::runtime::lake::file_objects::FileObjectWriter;
use crate::runtime::lake::lake_config::{LakeConfig, Target};
use crate::runtime::lake::object::{ObjectWriter, PutError, PutErrorKind};
use crate::runtime::lake::s3::S3Writer;

/// The locations a target names (its `url`, or its `locations` and `location_template`).
fn locations(target: &Target) -> Vec<&str> {
    match target {
        Target::S3 { url, .. } => vec![url.as_str()],
        Target::SecurityLake {
            locations,
            location_template,
            ..
        } => locations
            .values()
            .map(String::as_str)
            .chain(location_template.as_deref())
            .collect(),
    }
}

fn config_error(message: String) -> PutError {
    PutError {
        kind: PutErrorKind::Config,
        message,
    }
}

/// The writer for `config`'s target. `Config` when the locations are missing, mix schemes or
/// have one no writer serves; the S3 writer's own setup errors (region, endpoint, credential
/// source) as it reports them.
pub fn writer_for(config: &LakeConfig) -> Result<Arc<dyn ObjectWriter>, PutError> {
    let locations = locations(&config.target);
    let scheme_of = |location: &str| {
        location
            .split_once("://")
            .map(|(scheme, _)| scheme.to_owned())
    };
    let Some(first) = locations.first() else {
        return Err(config_error(
            "the lake target names no location: give `locations` or `location_template`".to_owned(),
        ));
    };
    let scheme = scheme_of(first);
    if let Some(other) = locations.iter().find(|l| scheme_of(l) != scheme) {
        return Err(config_error(format!(
            "the lake target's locations mix schemes ({first} and {other}): all must be s3:// or all file://"
        )));
    }
    match scheme.as_deref() {
        Some("s3") => Ok(Arc::new(S3Writer::new(&config.aws)?)),
        Some("file") => local_writer(),
        _ => Err(config_error(format!(
            "the lake location {first} is neither s3://bucket/prefix/ nor file:///folder/"
        ))),
    }
}

/// The local-folder writer (`file://`).
fn local_writer() -> Result<Arc<dyn ObjectWriter>, PutError> {
    Ok(Arc::new(FileObjectWriter))
}
