//! `cargo xtask lake s3`: the SDK's S3 writer against moto's S3, STS and IAM on loopback, with
//! IAM enforced (signatures, identity policies, the role's trust policy and its external-ID
//! condition). Through `connector_sdk`'s `S3Writer` (linked into xtask, the credentials handed
//! over as the environment the AWS chain reads), it checks that:
//!
//! 1. a put lands, an overwrite replaces it, and a probe leaves nothing behind;
//! 2. an identity that may only assume the role writes with the role's credentials (AssumeRole
//!    with the external ID, through moto's STS on the same port);
//! 3. refusals are `Auth`: an unknown access key (403 `InvalidAccessKeyId`), an identity without
//!    S3 rights (403 `AccessDenied`), an assume-role with the wrong external ID and one by an
//!    identity the role does not trust; and a missing bucket is `Config`.
//!
//! The bucket's contents are read back with boto3 after each write.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context, bail, ensure};
use connector_sdk::runtime::lake::aws_credentials::{AwsEnv, CredentialSource};
use connector_sdk::runtime::lake::lake_config::AwsConfig;
use connector_sdk::runtime::lake::object::{ObjectUrl, ObjectWriter, PutErrorKind};
use connector_sdk::runtime::lake::s3::S3Writer;

use super::moto::MotoServer;

/// The requests `moto_s3.py setup` makes before moto starts enforcing IAM.
const SETUP_REQUESTS: u32 = 9;

/// What `moto_s3.py setup` made.
#[derive(Debug, serde::Deserialize)]
struct Made {
    role_arn: String,
    external_id: String,
    bucket: String,
    /// May only assume the role.
    assumer: (String, String),
    /// May only use S3.
    writer: (String, String),
}

fn script() -> std::path::PathBuf {
    crate::workspace_root().join("xtask/lake/moto_s3.py")
}

fn env_of(keys: &(String, String)) -> AwsEnv {
    AwsEnv::from_vars([
        ("AWS_ACCESS_KEY_ID", keys.0.as_str()),
        ("AWS_SECRET_ACCESS_KEY", keys.1.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", "/nonexistent"),
    ])
}

/// The bucket's objects and their bodies, read with boto3.
fn dump(
    python: &std::path::Path,
    moto: &MotoServer,
    made: &Made,
) -> anyhow::Result<BTreeMap<String, String>> {
    let output = Command::new(python)
        .arg(script())
        .args([
            "dump",
            &moto.endpoint(),
            &made.writer.0,
            &made.writer.1,
            &made.bucket,
        ])
        .output()
        .context("cannot run moto_s3.py dump")?;
    ensure!(
        output.status.success(),
        "moto_s3.py dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Runs the check.
pub fn run() -> anyhow::Result<()> {
    let python = super::venv::ensure()?;
    crate::runtime("lake-s3", 2)?.block_on(check(&python))
}

async fn check(python: &std::path::Path) -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let moto = MotoServer::start(&work.path().join("moto.log"), Some(SETUP_REQUESTS)).await?;
    eprintln!(
        "lake s3: moto on {} (IAM enforced after setup)",
        moto.endpoint()
    );
    let output = Command::new(python)
        .arg(script())
        .args(["setup", &moto.endpoint(), &SETUP_REQUESTS.to_string()])
        .output()
        .context("cannot run moto_s3.py setup")?;
    ensure!(
        output.status.success(),
        "moto_s3.py setup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let made: Made = serde_json::from_slice(&output.stdout).context("moto_s3.py setup's output")?;
    let aws = AwsConfig {
        region: Some("us-east-1".into()),
        endpoint: Some(moto.endpoint()),
        ..AwsConfig::default()
    };
    let at = |key: &str| ObjectUrl::S3 {
        bucket: made.bucket.clone(),
        key: key.to_owned(),
    };
    let step = |name: &str, outcome: &str| println!("lake s3: {name:<58} {outcome}");

    // 1. Put, overwrite, probe.
    let writer =
        S3Writer::with_env(&aws, &env_of(&made.writer)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let key = "ext/slack-api-activity/1.0/region=us-east-1/accountId=external/eventDay=20261207/0000000001-0123456789abcdef.parquet";
    writer
        .put(&at(key), "first".into())
        .await
        .map_err(|e| anyhow::anyhow!("put: {e}"))?;
    ensure!(
        dump(python, &moto, &made)?.get(key).map(String::as_str) == Some("first"),
        "the put did not land"
    );
    step(
        "put (writer's keys, Security Lake key)",
        "ok: read back with boto3",
    );
    writer
        .put(&at(key), "second".into())
        .await
        .map_err(|e| anyhow::anyhow!("overwrite: {e}"))?;
    let objects = dump(python, &moto, &made)?;
    ensure!(
        objects.len() == 1 && objects.get(key).map(String::as_str) == Some("second"),
        "the overwrite did not replace the object: {objects:?}"
    );
    step("overwrite of the same key", "ok: one object, the new body");
    writer
        .probe(&at("ext/slack-api-activity/1.0/"))
        .await
        .map_err(|e| anyhow::anyhow!("probe: {e}"))?;
    let objects = dump(python, &moto, &made)?;
    ensure!(
        objects.len() == 1,
        "the probe left objects behind: {objects:?}"
    );
    step("probe (put + delete)", "ok: nothing left behind");

    // 2. AssumeRole with the external ID, then write with the role's credentials (the assumer
    //    itself may not touch S3).
    let role = AwsConfig {
        role_arn: Some(made.role_arn.clone()),
        external_id: Some(made.external_id.clone()),
        ..aws.clone()
    };
    let assumed =
        S3Writer::with_env(&role, &env_of(&made.assumer)).map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(matches!(
        assumed.credential_source(),
        CredentialSource::AssumeRole { .. }
    ));
    let key2 = "ext/slack-api-activity/1.0/assumed.parquet";
    assumed
        .put(&at(key2), "by the role".into())
        .await
        .map_err(|e| anyhow::anyhow!("put as the role: {e}"))?;
    ensure!(
        dump(python, &moto, &made)?.get(key2).map(String::as_str) == Some("by the role"),
        "the assumed role's put did not land"
    );
    step(
        "AssumeRole with ExternalId, put with its credentials",
        "ok: read back",
    );

    // 3. Refusals.
    let expect = |name: &str,
                  result: Result<(), connector_sdk::runtime::lake::object::PutError>,
                  kind: PutErrorKind,
                  says: &[&str]|
     -> anyhow::Result<()> {
        let Err(err) = result else {
            bail!(
                "{name}: expected a {} failure, the write succeeded",
                kind.as_str()
            );
        };
        ensure!(
            err.kind == kind,
            "{name}: classified {}, not {}: {err}",
            err.kind.as_str(),
            kind.as_str()
        );
        for word in says {
            ensure!(
                err.message.contains(word),
                "{name}: the message does not say {word:?}: {err}"
            );
        }
        step(name, &format!("{}: {err}", err.kind.as_str()));
        Ok(())
    };
    let unknown = S3Writer::with_env(
        &aws,
        &env_of(&(
            "AKIAUNKNOWNKEY000000".into(),
            "not-a-secret-moto-knows".into(),
        )),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    expect(
        "unknown access key",
        unknown.put(&at("x"), "x".into()).await,
        PutErrorKind::Auth,
        &["InvalidAccessKeyId", "the environment"],
    )?;
    let no_s3 =
        S3Writer::with_env(&aws, &env_of(&made.assumer)).map_err(|e| anyhow::anyhow!("{e}"))?;
    expect(
        "identity without S3 rights",
        no_s3.put(&at("x"), "x".into()).await,
        PutErrorKind::Auth,
        &["AccessDenied", "s3:PutObject"],
    )?;
    let wrong_id = AwsConfig {
        external_id: Some("not-the-external-id".into()),
        ..role.clone()
    };
    let wrong = S3Writer::with_env(&wrong_id, &env_of(&made.assumer))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    expect(
        "AssumeRole with the wrong external ID",
        wrong.put(&at("x"), "x".into()).await,
        PutErrorKind::Auth,
        &["STS refused", &made.role_arn, "external ID"],
    )?;
    let untrusted =
        S3Writer::with_env(&role, &env_of(&made.writer)).map_err(|e| anyhow::anyhow!("{e}"))?;
    expect(
        "AssumeRole by an identity the role does not trust",
        untrusted.put(&at("x"), "x".into()).await,
        PutErrorKind::Auth,
        &["STS refused"],
    )?;
    let missing = ObjectUrl::S3 {
        bucket: "no-such-lake-bucket".into(),
        key: "x".into(),
    };
    expect(
        "a bucket that does not exist",
        writer.put(&missing, "x".into()).await,
        PutErrorKind::Config,
        &["does not exist"],
    )?;
    let objects = dump(python, &moto, &made)?;
    ensure!(
        objects.len() == 2,
        "a refused write left an object: {objects:?}"
    );
    step(
        "after the refusals",
        "ok: the bucket holds the two objects written",
    );
    Ok(())
}
