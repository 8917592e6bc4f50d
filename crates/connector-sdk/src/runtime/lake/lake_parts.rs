//! Runtime layer: what a build plugs into the lake destination: which [`ObjectWriter`] a lake
//! file's target gets (S3, or a local folder), which [`ObjectEncoder`] (Parquet, NDJSON.gz),
//! how uploads back off, and an optional observer of each durable step (the SDK's tests kill
//! the process there). [`LakeParts::standard`] is what a connector binary uses.

use std::sync::Arc;
use std::time::Duration;

use crate::contract::error::{ConfigError, Violation};
use crate::runtime::lake::encode::ObjectEncoder;
use crate::runtime::lake::file_objects::FileObjectWriter;
use crate::runtime::lake::lake_config::{LakeConfig, Target};
use crate::runtime::lake::layout::LakeLayout;
use crate::runtime::lake::object::ObjectWriter;

/// Chooses the writer for a lake file.
pub type WriterFor = fn(&LakeConfig) -> Result<Arc<dyn ObjectWriter>, ConfigError>;
/// Chooses the encoder for a lake file and the input's layout (shared: the Parquet encoder keeps
/// the layout for its schemas and rows).
pub type EncoderFor =
    fn(&LakeConfig, &Arc<dyn LakeLayout>) -> Result<Arc<dyn ObjectEncoder>, ConfigError>;

/// How a failed write is retried: the first pause, doubled after each failure (twice as fast
/// when throttled) up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The pause after the first failure.
    pub first: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            first: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

/// A durable step of the lake destination, in the order they happen to a batch and a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LakeStep {
    /// A batch was appended to the open segment and `fsync`ed (not committed yet).
    Appended {
        /// The open segment.
        segment: u64,
        /// Its length now.
        len: u64,
    },
    /// A commit naming the open segment and offset was written.
    Committed {
        /// The segment the commit names.
        segment: u64,
        /// The offset it names.
        offset: u64,
    },
    /// A commit sealed `segment` (it named the next one at offset 0).
    Sealed {
        /// The sealed segment.
        segment: u64,
    },
    /// Object `index` (of `of`) of `segment` is durable in the lake.
    ObjectWritten {
        /// The segment.
        segment: u64,
        /// Which object, from 0.
        index: usize,
        /// How many the segment makes.
        of: usize,
    },
    /// Every object of `segment` is durable; its file is still in the spool.
    ObjectsWritten {
        /// The segment.
        segment: u64,
    },
    /// `segment`'s file was removed from the spool.
    SegmentRemoved {
        /// The segment.
        segment: u64,
    },
}

/// The parts a lake destination is built from.
#[derive(Clone, Copy)]
pub struct LakeParts {
    /// The writer for a lake file's target.
    pub writer_for: WriterFor,
    /// The encoder for a lake file's target and the input's layout.
    pub encoder_for: EncoderFor,
    /// How failed writes are retried.
    pub backoff: Backoff,
    /// Called after each durable step (tests); `None` in a connector binary.
    pub on_step: Option<fn(&LakeStep)>,
}

impl std::fmt::Debug for LakeParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeParts")
            .field("backoff", &self.backoff)
            .field("on_step", &self.on_step.is_some())
            .finish_non_exhaustive()
    }
}

impl LakeParts {
    /// What a connector binary delivers with: [`standard_writer_for`] (S3, or a local folder)
    /// and [`standard_encoder_for`] (Parquet, or NDJSON.gz).
    pub fn standard() -> LakeParts {
        LakeParts {
            writer_for: standard_writer_for,
            encoder_for: standard_encoder_for,
            backoff: Backoff::default(),
            on_step: None,
        }
    }
}

/// Every URL a target names (its locations, its template, its base URL).
fn target_urls(target: &Target) -> Vec<(String, String)> {
    match target {
        Target::SecurityLake {
            locations,
            location_template,
            ..
        } => locations
            .iter()
            .map(|(t, u)| (format!("/target/locations/{t}"), u.clone()))
            .chain(
                location_template
                    .iter()
                    .map(|u| ("/target/location_template".to_owned(), u.clone())),
            )
            .collect(),
        Target::S3 { url, .. } => vec![("/target/url".to_owned(), url.clone())],
    }
}

/// The writer a connector binary uses ([`writer_for`](crate::runtime::lake::writer_for::writer_for):
/// `s3://` through the S3 writer, `file://` to a local folder), its refusals as config errors
/// naming the part of the lake file at fault (the target's locations, or the `aws` section for
/// the region, the endpoint and the credential source).
pub fn standard_writer_for(config: &LakeConfig) -> Result<Arc<dyn ObjectWriter>, ConfigError> {
    crate::runtime::lake::writer_for::writer_for(config).map_err(|e| {
        let pointer = if e.message.contains("location") {
            "/target"
        } else {
            "/aws"
        };
        ConfigError::Invalid(vec![Violation::new(pointer, e.message)])
    })
}

/// The `file://` writer, for a target whose every location is a local folder; an `s3://`
/// location is refused (this build's writer writes local folders only).
pub fn file_writer_for(config: &LakeConfig) -> Result<Arc<dyn ObjectWriter>, ConfigError> {
    let violations: Vec<Violation> = target_urls(&config.target)
        .into_iter()
        .filter(|(_, url)| !url.starts_with("file://"))
        .map(|(pointer, url)| {
            Violation::new(
                pointer,
                format!("{url:?}: this build writes only file:// locations (a local folder)"),
            )
        })
        .collect();
    if violations.is_empty() {
        Ok(Arc::new(FileObjectWriter))
    } else {
        Err(ConfigError::Invalid(violations))
    }
}

/// The encoder the target asks for: Parquet for Security Lake and for a plain S3 target with
/// `format: "parquet"` (every table of the layout must have a fixed schema, else a config error
/// naming the table), NDJSON.gz for a plain S3 target with `format: "ndjson_gz"`.
pub fn standard_encoder_for(
    config: &LakeConfig,
    layout: &Arc<dyn LakeLayout>,
) -> Result<Arc<dyn ObjectEncoder>, ConfigError> {
    use crate::runtime::lake::lake_config::ObjectFormat;
    match &config.target {
        Target::S3 {
            format: ObjectFormat::NdjsonGz,
            ..
        } => Ok(Arc::new(
            crate::runtime::lake::ndjson_gz::NdjsonGzEncoder::new(),
        )),
        Target::SecurityLake { .. }
        | Target::S3 {
            format: ObjectFormat::Parquet,
            ..
        } => {
            let without: Vec<Violation> = layout
                .tables()
                .iter()
                .filter(|t| t.schema.is_none())
                .map(|t| {
                    Violation::new(
                        "/target",
                        format!(
                            "table {} has no fixed columns, so it cannot be written as Parquet: use a plain S3 target with \"format\": \"ndjson_gz\"",
                            t.table
                        ),
                    )
                })
                .collect();
            if !without.is_empty() {
                return Err(ConfigError::Invalid(without));
            }
            Ok(Arc::new(
                crate::runtime::lake::parquet::ParquetEncoder::new(Arc::clone(layout)),
            ))
        }
    }
}

/// Refuses every target: a build without object encoders.
pub fn no_encoder_for(
    config: &LakeConfig,
    _layout: &Arc<dyn LakeLayout>,
) -> Result<Arc<dyn ObjectEncoder>, ConfigError> {
    let format = match &config.target {
        Target::SecurityLake { .. } => "Parquet",
        Target::S3 { format, .. } => match format {
            crate::runtime::lake::lake_config::ObjectFormat::NdjsonGz => "NDJSON.gz",
            crate::runtime::lake::lake_config::ObjectFormat::Parquet => "Parquet",
        },
    };
    Err(ConfigError::Invalid(vec![Violation::new(
        "/target",
        format!("this build cannot encode {format} objects"),
    )]))
}
