//! The token from the environment when the config holds none: `SLACK_AUDIT_USER_OAUTH_TOKEN`,
//! the file named by `SLACK_AUDIT_USER_OAUTH_TOKEN_FILE`, or systemd's
//! `$CREDENTIALS_DIRECTORY/user_oauth_token`; for both binaries; never logged. A config file
//! holding a token that others may read is warned about.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::support::*;

async fn run(binary: &str, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.args(args)
        .env_remove("SLACK_AUDIT_USER_OAUTH_TOKEN")
        .env_remove("SLACK_AUDIT_USER_OAUTH_TOKEN_FILE")
        .env_remove("CREDENTIALS_DIRECTORY")
        .env("RUST_LOG", "trace")
        .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn source_binary() -> &'static str {
    env!("CARGO_BIN_EXE_source-slack-audit")
}

#[tokio::test]
async fn the_token_comes_from_the_environment_a_file_or_systemd_credentials() {
    let mock = mock().await;
    mock.push_entries(entries("e", 20, T0 - 100, T0 - 1));
    let work = Workdir::new();
    // No secrets in the file at all.
    let config = work.write_config(&json!({ "settings": settings(&mock, json!({})) }));
    let config = config.to_str().unwrap();
    let token_file = work.dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let credentials = work.dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(credentials.join("user_oauth_token"), TOKEN).unwrap();
    let token_file = token_file.to_str().unwrap();
    let credentials = credentials.to_str().unwrap();

    let (code, _, stderr) = run(binary(), &["check", "--config", config], &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("SLACK_AUDIT_USER_OAUTH_TOKEN"),
        "the missing token names the variable: {stderr}"
    );

    let ways: [(&str, &str, &str); 3] = [
        (
            "SLACK_AUDIT_USER_OAUTH_TOKEN",
            TOKEN,
            "SLACK_AUDIT_USER_OAUTH_TOKEN",
        ),
        ("SLACK_AUDIT_USER_OAUTH_TOKEN_FILE", token_file, token_file),
        ("CREDENTIALS_DIRECTORY", credentials, "user_oauth_token"),
    ];
    for (variable, value, from) in ways {
        let (code, stdout, stderr) = run(
            binary(),
            &["check", "--config", config],
            &[(variable, value)],
        )
        .await;
        assert_eq!(code, Some(0), "{variable}: {stderr}");
        assert!(stdout.contains("check succeeded"), "{variable}: {stdout}");
        assert!(
            stderr.contains(from),
            "{variable}: where it came from is logged: {stderr}"
        );
        for text in [&stdout, &stderr] {
            assert!(
                !text.contains(TOKEN),
                "{variable}: the token leaked: {text}"
            );
        }
        let (code, stdout, stderr) = run(
            source_binary(),
            &["check", "--config", config],
            &[(variable, value)],
        )
        .await;
        assert_eq!(code, Some(0), "{variable} (Airbyte): {stderr}");
        assert!(
            stdout.contains("SUCCEEDED"),
            "{variable} (Airbyte): {stdout}"
        );
        assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    }

    // The document's token wins over the environment's.
    let with_token = work.dir.path().join("with-token.json");
    std::fs::write(
        &with_token,
        config_with_token(&mock, "xoxb-1234567890-abcdefghij").to_string(),
    )
    .unwrap();
    let (code, _, stderr) = run(
        binary(),
        &["check", "--config", with_token.to_str().unwrap()],
        &[("SLACK_AUDIT_USER_OAUTH_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(
        code,
        Some(2),
        "the bot token of the file is refused: {stderr}"
    );
    assert!(stderr.contains("bot token"), "{stderr}");

    // A file that is named but missing is a config error naming it.
    let (code, _, stderr) = run(
        binary(),
        &["check", "--config", config],
        &[("SLACK_AUDIT_USER_OAUTH_TOKEN_FILE", "/nonexistent/token")],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/token"), "{stderr}");
}

fn config_with_token(mock: &slack_mock::MockSlack, token: &str) -> serde_json::Value {
    json!({"settings": settings(mock, json!({})), "secrets": {"user_oauth_token": token}})
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_config_holding_a_token_that_others_may_read_is_warned_about() {
    let mock = mock().await;
    let work = Workdir::new();
    let path = work.write_config(&config(settings(&mock, json!({}))));
    let args = ["check", "--config", path.to_str().unwrap()];
    chmod(&path, 0o644);
    let (code, _, stderr) = run(binary(), &args, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("other users may read it"), "{stderr}");
    assert!(stderr.contains("0644"), "{stderr}");
    assert!(!stderr.contains(TOKEN));

    chmod(&path, 0o600);
    let (code, _, stderr) = run(binary(), &args, &[]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("other users may read it"), "{stderr}");

    // Without a token in it, a readable config is fine.
    let plain = work.write_config(&json!({"settings": settings(&mock, json!({}))}));
    chmod(&plain, 0o644);
    let (code, _, stderr) = run(
        binary(),
        &["check", "--config", plain.to_str().unwrap()],
        &[("SLACK_AUDIT_USER_OAUTH_TOKEN", TOKEN)],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("other users may read it"), "{stderr}");
}
