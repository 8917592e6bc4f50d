//! Runtime layer: where each object goes. Every table has a **location** (a bucket and prefix,
//! or a local folder), and each object a key below it **derived from the segment** it was made
//! from: `<location>/<partition>/<seq:010>-<hash16>.<ext>`, where `hash16` is the XXH64 of the
//! segment's bytes in 16 hex digits (not a cryptographic hash: no adversary chooses a segment,
//! and 64 bits keep apart two segments of one number). A retried upload of a segment writes the
//! same keys again (it overwrites, never adds), and a different segment never reuses a key,
//! even after a state was reset and the numbers start over.
//!
//! Partitions: Amazon Security Lake's `region=<region>/accountId=<account_id>/eventDay=<YYYYMMDD>/`
//! under each table's custom-source location (from `locations`, else `location_template` with
//! `{source_name}` and `{table}`); a plain S3 target's `<url>/<table>/year=YYYY/month=MM/day=DD/`.
//! The day is the record's UTC day.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Datelike};

use crate::contract::error::{ConfigError, Violation};
use crate::runtime::lake::lake_config::{LakeConfig, Target};
use crate::runtime::lake::layout::TableInfo;
use crate::runtime::lake::object::ObjectUrl;

/// A bucket and prefix, or a local folder: where one table's objects go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `s3://bucket/prefix/`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix, empty or ending with `/`.
        prefix: String,
    },
    /// `file:///absolute/folder/`.
    File {
        /// The folder.
        dir: PathBuf,
    },
}

impl Location {
    /// Parses `s3://bucket/prefix` or `file:///absolute/path`.
    pub fn parse(url: &str) -> Result<Location, String> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{url:?} names no bucket (s3://BUCKET/prefix/)"));
            }
            let prefix = prefix.trim_matches('/');
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                prefix,
            });
        }
        if let Some(path) = url.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!(
                    "{url:?} is not an absolute file URL (file:///absolute/folder/)"
                ));
            }
            if path.split('/').any(|part| part == "..") {
                return Err(format!("{url:?} holds `..`"));
            }
            return Ok(Location::File {
                dir: PathBuf::from(path),
            });
        }
        Err(format!("{url:?} is neither an s3:// nor a file:// URL"))
    }

    /// The URL of `relative` (a `/`-separated key) below this location.
    pub fn join(&self, relative: &str) -> ObjectUrl {
        match self {
            Location::S3 { bucket, prefix } => ObjectUrl::S3 {
                bucket: bucket.clone(),
                key: format!("{prefix}{relative}"),
            },
            Location::File { dir } => {
                let mut path = dir.clone();
                for part in relative.split('/').filter(|p| !p.is_empty()) {
                    path.push(part);
                }
                ObjectUrl::File { path }
            }
        }
    }

    /// The location itself, as an object URL prefix (for `probe`).
    pub fn url(&self) -> ObjectUrl {
        match self {
            Location::S3 { bucket, prefix } => ObjectUrl::S3 {
                bucket: bucket.clone(),
                key: prefix.clone(),
            },
            Location::File { dir } => ObjectUrl::File { path: dir.clone() },
        }
    }
}

/// How partitions are named.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Partitioning {
    /// `region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/`.
    SecurityLake { region: String, account_id: String },
    /// `<table>/year=YYYY/month=MM/day=DD/`.
    Plain,
}

/// Every table's location and the partitioning: the key of any object.
#[derive(Debug, Clone)]
pub struct ObjectKeys {
    locations: BTreeMap<String, Location>,
    partitioning: Partitioning,
}

/// The UTC day of `time_ms`, as days since the Unix epoch.
pub fn utc_day(time_ms: i64) -> i64 {
    time_ms.div_euclid(86_400_000)
}

/// The XXH64 (seed 0) of `bytes`, in 16 hex digits.
pub fn hash16(bytes: &[u8]) -> String {
    let mut hash = SegmentHash::new();
    hash.update(bytes);
    hash.hex()
}

/// [`hash16`] of a segment read piece by piece.
pub struct SegmentHash(twox_hash::XxHash64);

impl Default for SegmentHash {
    fn default() -> Self {
        SegmentHash::new()
    }
}

impl SegmentHash {
    /// The hash of nothing yet.
    pub fn new() -> SegmentHash {
        SegmentHash(twox_hash::XxHash64::with_seed(0))
    }

    /// Takes in the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        std::hash::Hasher::write(&mut self.0, bytes);
    }

    /// The hash of everything taken in, in 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", std::hash::Hasher::finish(&self.0))
    }
}

impl ObjectKeys {
    /// The keys of `config`'s target for `tables`; `env_region` is the region the
    /// environment gives (`AWS_REGION`, `AWS_DEFAULT_REGION`) when the config has none. Every
    /// problem is reported with its place in the lake file.
    pub fn new(
        config: &LakeConfig,
        tables: &[TableInfo],
        env_region: Option<String>,
    ) -> Result<ObjectKeys, ConfigError> {
        let mut violations = Vec::new();
        let mut locations = BTreeMap::new();
        let partitioning = match &config.target {
            Target::SecurityLake {
                account_id,
                locations: given,
                location_template,
            } => {
                for table in tables {
                    let name = table.table.as_ref();
                    let (url, pointer) = match (given.get(name), location_template) {
                        (Some(url), _) => (url.clone(), format!("/target/locations/{name}")),
                        (None, Some(template)) => (
                            template
                                .replace("{source_name}", &table.source_name)
                                .replace("{table}", name),
                            "/target/location_template".to_owned(),
                        ),
                        (None, None) => {
                            violations.push(Violation::new(
                                "/target/locations",
                                format!(
                                    "no location for table {name} (custom source {}): add it to `locations` or give a `location_template`",
                                    table.source_name
                                ),
                            ));
                            continue;
                        }
                    };
                    match Location::parse(&url) {
                        Ok(location) => {
                            locations.insert(name.to_owned(), location);
                        }
                        Err(e) => violations.push(Violation::new(pointer, e)),
                    }
                }
                for name in given.keys() {
                    if !tables.iter().any(|t| t.table.as_ref() == name) {
                        violations.push(Violation::new(
                            format!("/target/locations/{name}"),
                            format!(
                                "no table {name}; the tables are: {}",
                                tables
                                    .iter()
                                    .map(|t| t.table.as_ref())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ));
                    }
                }
                if account_id.is_empty() || account_id.contains('/') {
                    violations.push(Violation::new(
                        "/target/account_id",
                        "must be a non-empty partition value without `/` (AWS recommends `external` or `external_<id>`)",
                    ));
                }
                let region = config.aws.region.clone().or(env_region);
                match region {
                    Some(region) if !region.is_empty() && !region.contains('/') => {
                        Partitioning::SecurityLake {
                            region,
                            account_id: account_id.clone(),
                        }
                    }
                    _ => {
                        violations.push(Violation::new(
                            "/aws/region",
                            "Security Lake partitions by region: set `aws.region` (or AWS_REGION)",
                        ));
                        Partitioning::Plain
                    }
                }
            }
            Target::S3 { url, .. } => {
                match Location::parse(url) {
                    Ok(base) => {
                        for table in tables {
                            let name = table.table.as_ref();
                            let location = match &base {
                                Location::S3 { bucket, prefix } => Location::S3 {
                                    bucket: bucket.clone(),
                                    prefix: format!("{prefix}{name}/"),
                                },
                                Location::File { dir } => Location::File {
                                    dir: dir.join(name),
                                },
                            };
                            locations.insert(name.to_owned(), location);
                        }
                    }
                    Err(e) => violations.push(Violation::new("/target/url", e)),
                }
                Partitioning::Plain
            }
        };
        if !violations.is_empty() {
            return Err(ConfigError::Invalid(violations));
        }
        Ok(ObjectKeys {
            locations,
            partitioning,
        })
    }

    /// Each table's location.
    pub fn locations(&self) -> &BTreeMap<String, Location> {
        &self.locations
    }

    /// The partition (`…/`) of records of UTC day `day` (days since the epoch).
    pub fn partition(&self, day: i64) -> String {
        let date = DateTime::from_timestamp(day.saturating_mul(86_400), 0)
            .unwrap_or_default()
            .date_naive();
        match &self.partitioning {
            Partitioning::SecurityLake { region, account_id } => format!(
                "region={region}/accountId={account_id}/eventDay={:04}{:02}{:02}/",
                date.year(),
                date.month(),
                date.day()
            ),
            Partitioning::Plain => format!(
                "year={:04}/month={:02}/day={:02}/",
                date.year(),
                date.month(),
                date.day()
            ),
        }
    }

    /// The URL of the object of `table`'s records of UTC day `day` made from segment `seq`
    /// (whose bytes hash to `hash16`), with extension `ext`; `None` for a table with no location.
    pub fn object_url(
        &self,
        table: &str,
        day: i64,
        seq: u64,
        hash16: &str,
        ext: &str,
    ) -> Option<ObjectUrl> {
        let location = self.locations.get(table)?;
        Some(location.join(&format!("{}{seq:010}-{hash16}.{ext}", self.partition(day))))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::runtime::lake::lake_config::{AwsConfig, ObjectFormat, SpoolConfig};

    fn tables() -> Vec<TableInfo> {
        ["api_activity", "account_change"]
            .iter()
            .map(|t| TableInfo {
                table: Arc::from(*t),
                source_name: format!("slack-{}", t.replace('_', "-")),
                event_class: t.to_uppercase(),
                schema: None,
            })
            .collect()
    }

    fn lake(target: Target, region: Option<&str>) -> LakeConfig {
        LakeConfig {
            target,
            aws: AwsConfig {
                region: region.map(str::to_owned),
                ..AwsConfig::default()
            },
            spool: SpoolConfig {
                dir: "/tmp/spool".into(),
                max_bytes: 1,
                segment_max_bytes: 1,
                roll_seconds: 1,
                drain_seconds: 900,
            },
        }
    }

    // 2024-02-29T23:59:59.999Z and one millisecond later.
    const LEAP_END: i64 = 1_709_251_199_999;

    #[test]
    fn security_lake_keys_follow_its_layout() {
        let target = Target::SecurityLake {
            account_id: "external_E01".into(),
            locations: [(
                "api_activity".to_owned(),
                "s3://lake-bucket/ext/slack-api-activity/1.0".to_owned(),
            )]
            .into(),
            location_template: Some("s3://lake-bucket/ext/{source_name}/1.0/".into()),
        };
        let keys =
            ObjectKeys::new(&lake(target, None), &tables(), Some("eu-west-1".into())).unwrap();
        let url = keys
            .object_url(
                "api_activity",
                utc_day(LEAP_END),
                7,
                "0123456789abcdef",
                "parquet",
            )
            .unwrap();
        assert_eq!(
            url.to_string(),
            "s3://lake-bucket/ext/slack-api-activity/1.0/region=eu-west-1/accountId=external_E01/eventDay=20240229/0000000007-0123456789abcdef.parquet"
        );
        let url = keys
            .object_url(
                "account_change",
                utc_day(LEAP_END + 1),
                7,
                "0123456789abcdef",
                "parquet",
            )
            .unwrap();
        assert_eq!(
            url.to_string(),
            "s3://lake-bucket/ext/slack-account-change/1.0/region=eu-west-1/accountId=external_E01/eventDay=20240301/0000000007-0123456789abcdef.parquet"
        );
        assert_eq!(utc_day(-1), -1, "before the epoch is the day before");
    }

    #[test]
    fn plain_s3_keys_are_partitioned_by_table_and_day() {
        let target = Target::S3 {
            url: "file:///lake/out/".into(),
            format: ObjectFormat::NdjsonGz,
        };
        let keys = ObjectKeys::new(&lake(target, None), &tables(), None).unwrap();
        let url = keys
            .object_url(
                "api_activity",
                utc_day(LEAP_END),
                12,
                "ffffffffffffffff",
                "ndjson.gz",
            )
            .unwrap();
        assert_eq!(
            url,
            ObjectUrl::File {
                path: "/lake/out/api_activity/year=2024/month=02/day=29/0000000012-ffffffffffffffff.ndjson.gz".into()
            }
        );
    }

    #[test]
    fn missing_locations_regions_and_bad_urls_are_named() {
        let target = Target::SecurityLake {
            account_id: "external".into(),
            locations: [
                ("api_activity".to_owned(), "https://x/".to_owned()),
                ("nope".to_owned(), "s3://b/".to_owned()),
            ]
            .into(),
            location_template: None,
        };
        let error = ObjectKeys::new(&lake(target, None), &tables(), None)
            .unwrap_err()
            .to_string();
        for part in [
            "/target/locations/api_activity",
            "neither an s3:// nor a file://",
            "no location for table account_change",
            "/target/locations/nope",
            "/aws/region",
        ] {
            assert!(error.contains(part), "{part}: {error}");
        }
    }

    #[test]
    fn the_key_hash_is_of_the_bytes() {
        assert_eq!(hash16(b"a"), hash16(b"a"));
        assert_ne!(hash16(b"a\n"), hash16(b"b\n"));
        assert_eq!(hash16(b"").len(), 16);
        // XXH64 of "" with seed 0 (the reference implementation's test vector).
        assert_eq!(hash16(b""), "ef46db3751d8e999");
        let mut pieces = SegmentHash::new();
        for piece in [&b"{\"a\":1}\n"[..], b"", b"{\"b\":", b"2}\n"] {
            pieces.update(piece);
        }
        assert_eq!(
            pieces.hex(),
            hash16(b"{\"a\":1}\n{\"b\":2}\n"),
            "read in pieces"
        );
    }
}
