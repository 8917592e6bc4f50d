//! Runtime layer: the [`ObjectWriter`] a lake document needs, chosen by its locations' scheme:
//! `s3://` → [`S3Writer`]; `file://` → the local-folder writer. Every
//! location of one document must have the same scheme.

use std::sync::Arc;

use crate::runtime::lake::aws_credentials::AwsEnv;
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
    writer_for_env(config, &AwsEnv::from_process())
}

/// [`writer_for`] with the AWS settings read from `env`.
pub(crate) fn writer_for_env(
    config: &LakeConfig,
    env: &AwsEnv,
) -> Result<Arc<dyn ObjectWriter>, PutError> {
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
        Some("s3") => Ok(Arc::new(S3Writer::with_env(&config.aws, env)?)),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeMap;

    use super::*;
    use crate::runtime::lake::lake_config::{AwsConfig, ObjectFormat, SpoolConfig};

    fn config(target: Target) -> LakeConfig {
        LakeConfig {
            target,
            aws: AwsConfig {
                region: Some("eu-west-1".into()),
                ..AwsConfig::default()
            },
            spool: SpoolConfig {
                dir: "/tmp/spool".into(),
                max_bytes: 1 << 30,
                segment_max_bytes: 1 << 20,
                roll_seconds: 300,
                drain_seconds: 900,
            },
        }
    }

    fn lake(locations: &[(&str, &str)], template: Option<&str>) -> Target {
        Target::SecurityLake {
            account_id: "external".into(),
            locations: locations
                .iter()
                .map(|(t, l)| ((*t).to_owned(), (*l).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            location_template: template.map(str::to_owned),
        }
    }

    fn env() -> AwsEnv {
        AwsEnv::of(&[
            ("HOME", "/nonexistent"),
            ("AWS_ACCESS_KEY_ID", "AKIAWRITERFOR"),
            ("AWS_SECRET_ACCESS_KEY", "writer-for-secret-value"),
        ])
    }

    fn refusal(target: Target) -> PutError {
        match writer_for_env(&config(target), &env()) {
            Ok(_) => panic!("expected a refusal"),
            Err(err) => err,
        }
    }

    #[test]
    fn the_scheme_picks_the_writer() {
        let s3 = Target::S3 {
            url: "s3://bucket/prefix/".into(),
            format: ObjectFormat::NdjsonGz,
        };
        assert!(writer_for_env(&config(s3), &env()).is_ok());
        let template = lake(
            &[],
            Some("s3://aws-security-data-lake-eu-west-1-x/ext/{source_name}/1.0/"),
        );
        assert!(writer_for_env(&config(template), &env()).is_ok());
        // file:// gets the local-folder writer (no AWS setting is needed for it).
        let file = Target::S3 {
            url: "file:///var/lake/".into(),
            format: ObjectFormat::NdjsonGz,
        };
        assert!(writer_for_env(&config(file), &AwsEnv::of(&[])).is_ok());
    }

    #[test]
    fn locations_that_no_writer_serves_are_config_errors() {
        let mixed = refusal(lake(
            &[
                ("api_activity", "s3://b/api/"),
                ("account_change", "file:///lake/acct/"),
            ],
            None,
        ));
        assert_eq!(mixed.kind, PutErrorKind::Config);
        assert!(mixed.message.contains("mix schemes"), "{mixed}");
        let none = refusal(lake(&[], None));
        assert!(none.message.contains("names no location"), "{none}");
        let other = refusal(Target::S3 {
            url: "gs://bucket/".into(),
            format: ObjectFormat::NdjsonGz,
        });
        assert_eq!(other.kind, PutErrorKind::Config);
        assert!(other.message.contains("neither s3://"), "{other}");
    }
}
