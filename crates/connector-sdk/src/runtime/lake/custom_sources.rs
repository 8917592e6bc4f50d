//! Runtime layer: `lake-setup`'s text: the Amazon Security Lake custom sources an input's
//! tables need (one per table: its name, at most 20 characters, and its event class), the
//! `aws securitylake create-custom-log-source` line that creates each, and the `locations` to
//! paste into the lake file once AWS has answered with each source's location.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::contract::error::{ConfigError, Violation};
use crate::runtime::lake::lake_config::{LakeConfig, Target};
use crate::runtime::lake::layout::TableInfo;

/// The longest custom source name Security Lake takes.
pub const MAX_SOURCE_NAME: usize = 20;

/// The account id in a role ARN (`arn:aws:iam::<account>:role/…`).
fn account_of(role_arn: &str) -> Option<&str> {
    let account = role_arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// What `lake-setup` prints for `tables` delivered per `lake`.
pub fn setup_text(lake: &LakeConfig, tables: &[TableInfo]) -> Result<String, ConfigError> {
    let long: Vec<Violation> = tables
        .iter()
        .filter(|t| t.source_name.chars().count() > MAX_SOURCE_NAME)
        .map(|t| {
            Violation::new(
                "/target",
                format!(
                    "table {}'s custom source name {:?} is longer than {MAX_SOURCE_NAME} characters",
                    t.table, t.source_name
                ),
            )
        })
        .collect();
    if !long.is_empty() {
        return Err(ConfigError::Invalid(long));
    }
    let mut out = String::new();
    let (locations, template) = match &lake.target {
        Target::SecurityLake {
            locations,
            location_template,
            ..
        } => (locations, location_template.as_deref()),
        Target::S3 { url, .. } => {
            let _ = writeln!(
                out,
                "A plain S3 target needs no custom sources: objects go under {url}<table>/year=YYYY/month=MM/day=DD/ for the tables:"
            );
            for t in tables {
                let _ = writeln!(out, "  {}", t.table);
            }
            return Ok(out);
        }
    };
    let region = lake.aws.region.as_deref().unwrap_or("<REGION>");
    let external_id = lake.aws.external_id.as_deref().unwrap_or("<EXTERNAL_ID>");
    let principal = lake
        .aws
        .role_arn
        .as_deref()
        .and_then(account_of)
        .unwrap_or("<AWS_ACCOUNT_ID>");
    let _ = writeln!(
        out,
        "Create one Amazon Security Lake custom source per table ({} in all; region {region}):\n",
        tables.len()
    );
    for t in tables {
        let _ = writeln!(out, "{}", t.table);
        let _ = writeln!(out, "  source name  {}", t.source_name);
        let _ = writeln!(out, "  event class  {}", t.event_class);
        let _ = writeln!(
            out,
            "  create       aws securitylake create-custom-log-source --region {region} --source-name {} --event-classes {} --configuration 'crawlerConfiguration={{roleArn=<GLUE_CRAWLER_ROLE_ARN>}},providerIdentity={{externalId={external_id},principal={principal}}}'\n",
            t.source_name, t.event_class
        );
    }
    let paste: BTreeMap<&str, String> = tables
        .iter()
        .map(|t| {
            let location = locations.get(t.table.as_ref()).cloned().unwrap_or_else(|| {
                template.map_or_else(
                    || format!("<the provider location AWS returned for {}>", t.source_name),
                    |tpl| {
                        tpl.replace("{source_name}", &t.source_name)
                            .replace("{table}", &t.table)
                    },
                )
            });
            (t.table.as_ref(), location)
        })
        .collect();
    let json = serde_json::to_string_pretty(&serde_json::json!({ "locations": paste }))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "Each answer holds the source's location (`provider.location`) and its provider role\n(AmazonSecurityLake-Provider-<source>-{region}, to put in aws.role_arn). Paste the locations\ninto the lake file's target (or keep a location_template that yields them):\n\n{json}"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::runtime::lake::lake_config::{AwsConfig, SpoolConfig};

    fn table(name: &str, source: &str) -> TableInfo {
        TableInfo {
            table: Arc::from(name),
            source_name: source.into(),
            event_class: name.to_uppercase(),
            schema: None,
        }
    }

    fn lake() -> LakeConfig {
        LakeConfig {
            target: Target::SecurityLake {
                account_id: "external".into(),
                locations: [(
                    "api_activity".to_owned(),
                    "s3://b/ext/slack-api/1.0/".to_owned(),
                )]
                .into(),
                location_template: None,
            },
            aws: AwsConfig {
                region: Some("us-east-1".into()),
                role_arn: Some("arn:aws:iam::123456789012:role/x".into()),
                external_id: Some("ext-7".into()),
                ..AwsConfig::default()
            },
            spool: SpoolConfig {
                dir: "/s".into(),
                max_bytes: 1,
                segment_max_bytes: 1,
                roll_seconds: 1,
                drain_seconds: 900,
            },
        }
    }

    #[test]
    fn one_source_per_table_with_its_command_and_the_locations_to_paste() {
        let text = setup_text(
            &lake(),
            &[
                table("api_activity", "slack-api"),
                table("account_change", "slack-account"),
            ],
        )
        .unwrap();
        assert!(text.contains("aws securitylake create-custom-log-source --region us-east-1 --source-name slack-api --event-classes API_ACTIVITY --configuration 'crawlerConfiguration={roleArn=<GLUE_CRAWLER_ROLE_ARN>},providerIdentity={externalId=ext-7,principal=123456789012}'"), "{text}");
        assert!(
            text.contains("--source-name slack-account --event-classes ACCOUNT_CHANGE"),
            "{text}"
        );
        assert!(
            text.contains("\"api_activity\": \"s3://b/ext/slack-api/1.0/\""),
            "{text}"
        );
        assert!(
            text.contains(
                "\"account_change\": \"<the provider location AWS returned for slack-account>\""
            ),
            "{text}"
        );
    }

    #[test]
    fn a_source_name_over_20_characters_is_refused() {
        let e = setup_text(&lake(), &[table("t", "abcdefghijklmnopqrstu")]).unwrap_err();
        assert!(e.to_string().contains("longer than 20"), "{e}");
    }
}
