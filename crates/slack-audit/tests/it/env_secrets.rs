//! The token from the environment when the config holds none: `SLACK_AUDIT_USER_OAUTH_TOKEN`,
//! the file named by `SLACK_AUDIT_USER_OAUTH_TOKEN_FILE`, or systemd's
//! `$CREDENTIALS_DIRECTORY/user_oauth_token`; for both binaries; never logged. A config file
//! holding a token that others may read is warned about.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde_json::json;

use crate::support::*;

/// Runs `binary` at `RUST_LOG=trace` with none of the token's variables but those of `envs`.
async fn run(binary: &str, args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let unset = [
        "SLACK_AUDIT_USER_OAUTH_TOKEN",
        "SLACK_AUDIT_USER_OAUTH_TOKEN_FILE",
        "CREDENTIALS_DIRECTORY",
    ];
    run_traced(binary, args, &unset, envs).await
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

/// Runs `binary` like [`run`], failing the test (not hanging it) if it does not end.
async fn run_bounded(
    binary: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Option<i32>, String, String) {
    tokio::time::timeout(std::time::Duration::from_secs(60), run(binary, args, envs))
        .await
        .unwrap_or_else(|_| panic!("{args:?} {envs:?} hung"))
}

fn fifo(path: &Path) {
    nix::unistd::mkfifo(
        path,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
}

/// A sparse file one byte over `cap`: made at once, refused from its size.
fn over(path: &Path, cap: u64) {
    std::fs::File::create(path)
        .unwrap()
        .set_len(cap + 1)
        .unwrap();
}

/// Every file the environment names for the token (`…_TOKEN_FILE`, `$CREDENTIALS_DIRECTORY/…`)
/// is read as the config is: a FIFO, `/dev/zero` or a file over 1 MiB is refused at once with
/// the file named and what is wrong, by both binaries (never waited on, never read until memory
/// runs out).
#[tokio::test]
async fn a_token_file_that_is_a_fifo_a_device_or_too_large_is_refused_at_once() {
    let work = Workdir::new();
    let dir = work.dir.path();
    let config = work.write_config(&json!({
        "settings": {"api_base_url": "http://127.0.0.1:9", "max_retries": 0}
    }));
    let config = config.to_str().unwrap();
    let pipe = dir.join("pipe");
    fifo(&pipe);
    let big = dir.join("big");
    over(&big, 1 << 20);
    let credentials = |name: &str| {
        let d = dir.join(name);
        std::fs::create_dir(&d).unwrap();
        d.join("user_oauth_token")
    };
    let fifo_credentials = credentials("fifo-credentials");
    fifo(&fifo_credentials);
    let big_credentials = credentials("big-credentials");
    over(&big_credentials, 1 << 20);
    let fifo_dir = fifo_credentials.parent().unwrap().to_str().unwrap();
    let big_dir = big_credentials.parent().unwrap().to_str().unwrap();
    let (pipe, big) = (pipe.to_str().unwrap(), big.to_str().unwrap());
    let file = "SLACK_AUDIT_USER_OAUTH_TOKEN_FILE";
    let cases: [(&str, &str, String, &str); 5] = [
        (
            file,
            pipe,
            pipe.to_owned(),
            "it is not a regular file (it is a FIFO)",
        ),
        (
            file,
            "/dev/zero",
            "/dev/zero".to_owned(),
            "it is not a regular file (it is a character device)",
        ),
        (
            file,
            big,
            big.to_owned(),
            "it is larger than the cap of 1 MiB for a secret file (1048577 bytes)",
        ),
        (
            "CREDENTIALS_DIRECTORY",
            fifo_dir,
            fifo_credentials.display().to_string(),
            "it is not a regular file (it is a FIFO)",
        ),
        (
            "CREDENTIALS_DIRECTORY",
            big_dir,
            big_credentials.display().to_string(),
            "it is larger than the cap of 1 MiB for a secret file",
        ),
    ];
    for (variable, value, named, wrong) in cases {
        let envs = [(variable, value)];
        let (code, stdout, stderr) =
            run_bounded(binary(), &["check", "--config", config], &envs).await;
        assert_eq!(code, Some(2), "{variable}={value}: {stderr}");
        assert!(stdout.is_empty(), "{variable}={value}: {stdout}");
        assert!(
            stderr.contains(&named) && stderr.contains(wrong),
            "{variable}={value}: {named:?} and {wrong:?} not in {stderr}"
        );
        let (code, stdout, _) =
            run_bounded(source_binary(), &["check", "--config", config], &envs).await;
        assert_eq!(code, Some(0), "{variable}={value} (Airbyte): {stdout}");
        let status = stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|m| m["type"] == "CONNECTION_STATUS")
            .unwrap_or_else(|| panic!("no CONNECTION_STATUS in {stdout}"));
        assert_eq!(status["connectionStatus"]["status"], "FAILED", "{status}");
        let message = status["connectionStatus"]["message"].as_str().unwrap();
        assert!(
            message.contains(&named) && message.contains(wrong),
            "{variable}={value} (Airbyte): {message}"
        );
    }
}

/// The Airbyte front end's `--config`, `--catalog` and `--state` are read as every file is:
/// a FIFO, `/dev/zero` or a file over the cap (1 MiB for the config, 16 MiB for the catalog,
/// 64 MiB for the state) is refused at once with an error `TRACE` (or, at `check`, a failed
/// `CONNECTION_STATUS`) naming the file and what is wrong.
#[tokio::test]
async fn an_airbyte_config_catalog_or_state_that_is_a_fifo_a_device_or_too_large_is_refused_at_once()
 {
    let work = Workdir::new();
    let dir = work.dir.path();
    let config = work.write_config(&json!({"settings": {"use_synthetic_data": true}}));
    let catalog = work.write_catalog();
    let pipe = dir.join("pipe");
    fifo(&pipe);
    let (big_config, big_catalog, big_state) = (
        dir.join("big-config"),
        dir.join("big-catalog"),
        dir.join("big-state"),
    );
    over(&big_config, 1 << 20);
    over(&big_catalog, 16 << 20);
    over(&big_state, 64 << 20);
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (config, catalog, pipe) = (s(&config), s(&catalog), s(&pipe));
    let (big_config, big_catalog, big_state) = (s(&big_config), s(&big_catalog), s(&big_state));
    let (config, catalog, pipe, zero) = (&*config, &*catalog, &*pipe, "/dev/zero");
    let fifo_error = "it is not a regular file (it is a FIFO)";
    let device_error = "it is not a regular file (it is a character device)";
    let read = ["read", "--config", config, "--catalog", catalog];
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["check", "--config", pipe], pipe, fifo_error),
        (vec!["check", "--config", zero], zero, device_error),
        (
            vec!["check", "--config", &big_config],
            &big_config,
            "cap of 1 MiB for a config file",
        ),
        (vec!["discover", "--config", pipe], pipe, fifo_error),
        (
            vec!["read", "--config", zero, "--catalog", catalog],
            zero,
            device_error,
        ),
        (
            vec!["read", "--config", config, "--catalog", pipe],
            pipe,
            fifo_error,
        ),
        (
            vec!["read", "--config", config, "--catalog", zero],
            zero,
            device_error,
        ),
        (
            vec!["read", "--config", config, "--catalog", &big_catalog],
            &big_catalog,
            "cap of 16 MiB for a catalog file",
        ),
        ([&read[..], &["--state", pipe]].concat(), pipe, fifo_error),
        ([&read[..], &["--state", zero]].concat(), zero, device_error),
        (
            [&read[..], &["--state", &big_state]].concat(),
            &big_state,
            "cap of 64 MiB for a state file",
        ),
    ];
    for (args, named, wrong) in cases {
        let (code, stdout, stderr) = run_bounded(source_binary(), &args, &[]).await;
        let messages: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("{args:?}: not JSON: {l}")))
            .collect();
        let answer = messages
            .iter()
            .rev()
            .find_map(|m| {
                m["trace"]["error"]["message"]
                    .as_str()
                    .or(m["connectionStatus"]["message"].as_str())
            })
            .unwrap_or_else(|| panic!("{args:?}: no error in {stdout}{stderr}"));
        assert!(
            answer.contains(named) && answer.contains(wrong),
            "{args:?}: {named:?} and {wrong:?} not in {answer}"
        );
        assert!(
            !stdout.contains("\"RECORD\""),
            "{args:?}: records were read"
        );
        if args[0] == "check" {
            assert_eq!(code, Some(0), "{args:?}: {stdout}");
        } else {
            assert_ne!(code, Some(0), "{args:?}: {stdout}");
        }
    }
}
