//! The host contract through the real binary: spec, config refusal, state files, follow mode,
//! signals.

use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn spec_prints_the_schema_with_write_only_secrets_and_closed_objects() {
    let out = run_binary(&["spec"], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = schema.to_string();
    assert!(text.contains("\"writeOnly\":true"), "{text}");
    assert_eq!(schema["additionalProperties"], json!(false));
    let defs = &schema["$defs"];
    assert_eq!(defs["SlackSettings"]["additionalProperties"], json!(false));
    assert_eq!(
        defs["SlackSettings"]["properties"]["page_size"]["maximum"],
        json!(9999)
    );
    assert_eq!(
        defs["SlackSettings"]["properties"]["use_synthetic_data"]["default"],
        json!(false)
    );
}

/// Unknown key, wrong type, missing secret: exit 2, a message naming the path, nothing written.
#[tokio::test]
async fn bad_configs_are_refused_with_exit_2_and_nothing_written() {
    let cases = [
        (
            json!({"settings": {"page_sise": 10}, "secrets": {"user_oauth_token": TOKEN}}),
            "page_sise",
        ),
        (
            json!({"settings": {"page_size": "ten"}, "secrets": {"user_oauth_token": TOKEN}}),
            "/settings/page_size",
        ),
        (
            json!({"settings": {}, "secrets": {}}),
            "/secrets/user_oauth_token",
        ),
    ];
    for (config, expected) in cases {
        let work = Workdir::new();
        let path = work.write_config(&config);
        let out = run_read(&path, &work.state(), &[], &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{config}: {stderr}");
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
        assert!(out.stdout.is_empty());
        assert!(!work.state().exists(), "a state file was written");
        let check = run_binary(&["check", "--config", path.to_str().unwrap()], &[]).await;
        assert_eq!(check.status.code(), Some(2));
    }
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let out = run_binary(&["read", "--config", "x.json"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = run_binary(&["frobnicate"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn unusable_state_files_are_errors_and_left_untouched() {
    let mock = mock().await;
    for (bytes, expected) in [
        (
            &b"{\"connector\":\"slack-audit\",\"version\":1,\"state\":{\"floor\":17"[..],
            "truncated",
        ),
        (&b"garbage"[..], "not a state file"),
        (
            &b"{\"connector\":\"slack-audit\",\"version\":99,\"state\":{}}"[..],
            "newer version",
        ),
        (
            &b"{\"connector\":\"slack-audit\",\"version\":1,\"state\":{\"window\":{\"oldest\":1767225600,\"latest\":1767225000}}}"[..],
            "no run could have written: the open window's start 1767225600 is after its end",
        ),
    ] {
        let work = Workdir::new();
        std::fs::write(work.state(), bytes).unwrap();
        let path = work.write_config(&config(settings(&mock, json!({}))));
        let out = run_read(&path, &work.state(), &[],
            &[],
        )
        .await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{expected:?} not in {stderr}");
        assert_eq!(std::fs::read(work.state()).unwrap(), bytes);
    }
    assert_eq!(mock.stats().requests, 0, "nothing was fetched");
}

/// A config, state or catalog path naming a device or a FIFO is refused at once with what it
/// is, never read until memory runs out or waited on forever.
#[tokio::test]
async fn a_device_or_fifo_as_config_or_state_is_refused_at_once() {
    let work = Workdir::new();
    let fifo = work.dir.path().join("fifo");
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let config = work.dir.path().join("synthetic.json");
    std::fs::write(
        &config,
        br#"{"settings": {"use_synthetic_data": true}, "secrets": {}}"#,
    )
    .unwrap();
    for (args, code, expected) in [
        (
            vec!["check", "--config", "/dev/zero"],
            2,
            "not a regular file (it is a character device)",
        ),
        (
            vec!["check", "--config", fifo.to_str().unwrap()],
            2,
            "not a regular file (it is a FIFO)",
        ),
        (
            vec!["status", "--state", fifo.to_str().unwrap()],
            1,
            "not a regular file (it is a FIFO)",
        ),
        (
            vec![
                "read",
                "--config",
                config.to_str().unwrap(),
                "--state",
                fifo.to_str().unwrap(),
            ],
            1,
            "not a regular file (it is a FIFO)",
        ),
    ] {
        let out = tokio::time::timeout(Duration::from_secs(60), run_binary(&args, &[]))
            .await
            .unwrap_or_else(|_| panic!("{args:?} hung"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: {expected:?} not in {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote output");
    }
}

/// A state directory that does not take a new file (here the lock is left from an earlier run,
/// so only the first commit would have noticed) is refused before anything is read or
/// delivered, with the directory named.
#[tokio::test]
async fn an_unwritable_state_directory_is_refused_before_anything_is_delivered() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let work = Workdir::new();
    let dir = work.dir.path();
    let config = dir.join("synthetic.json");
    std::fs::write(
        &config,
        br#"{"settings": {"use_synthetic_data": true, "backfill_start_time": "1h"}, "secrets": {}}"#,
    )
    .unwrap();
    let lock = dir.join("state.json.lock");
    std::fs::write(&lock, b"").unwrap();
    let perms = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    perms(&lock, 0o666);
    perms(&config, 0o644);
    // Root writes into any directory: then the reader runs as `nobody`, who may only read it.
    let as_root = std::fs::metadata(dir).unwrap().uid() == 0;
    perms(dir, if as_root { 0o755 } else { 0o555 });
    let mut command = tokio::process::Command::new(binary());
    command.args(read_args(&config, &work.state()));
    if as_root {
        command.uid(65534);
    }
    let out = command.kill_on_drop(true).output().await.unwrap();
    perms(dir, 0o755);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "delivered {} bytes before finding the state unwritable",
        out.stdout.len()
    );
    assert!(stderr.contains("does not take a new file"), "{stderr}");
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
    assert!(!work.state().exists());
}

/// A state kept in a directory another user owns and others may write to is warned of (sticky
/// like /tmp, or not), and the read goes on; a directory of the reader's own is not.
#[tokio::test]
async fn a_state_directory_others_may_write_to_is_warned_of() {
    use std::os::unix::fs::PermissionsExt;
    let work = Workdir::new();
    let config = work.dir.path().join("synthetic.json");
    std::fs::write(
        &config,
        br#"{"settings": {"use_synthetic_data": true, "backfill_start_time": "1h"}, "secrets": {}}"#,
    )
    .unwrap();
    let shared = work.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    for (mode, says) in [(0o1777, "sticky"), (0o777, "replace or remove")] {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
        if std::os::unix::fs::chown(&shared, Some(65534), Some(65534)).is_err() {
            eprintln!("SKIPPED: a directory of another user needs root to make");
            return;
        }
        let state = shared.join(format!("{mode:o}.json"));
        let out = run_read(&config, &state, &[], &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains(says), "{mode:o}: {stderr}");
    }
    let out = run_read(&config, &work.state(), &[], &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("other users may"), "{stderr}");
}

#[tokio::test]
async fn follow_mode_delivers_new_events_within_a_poll_and_stops_cleanly_on_sigterm() {
    let mock = mock().await;
    let work = Workdir::new();
    let path = work.write_config(&config(settings(&mock, json!({}))));
    let follow = ["--follow", "--poll-interval", "0.5"];
    let (mut child, mut lines) = spawn_read(&path, &work.state(), &follow, Stdio::piped());

    // While it runs, a second reader on the same state refuses.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = run_read(&path, &work.state(), &[], &[]).await;
    assert_eq!(second.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use"));

    for round in 0..3 {
        let now = chrono::Utc::now().timestamp();
        let fresh: Vec<_> = (0..5)
            .map(|k| entry(&format!("f-{round}-{k}"), now))
            .collect();
        mock.push_entries(fresh.clone());
        let mut got = Vec::new();
        while got.len() < fresh.len() {
            let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
                .await
                .expect("new events must arrive within a poll interval (with margin)")
                .unwrap()
                .unwrap();
            got.push(id_of(&line));
        }
        assert_exactly_once(&got, &fresh);
    }

    let pid = Pid::from_raw(child.id().unwrap() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("stops promptly")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        lines.next_line().await.unwrap().is_none(),
        "nothing after the stop"
    );
    let state = work.state_json();
    assert!(state["state"]["watermark"].is_i64(), "{state}");
}

/// The README's quick start is `cargo run -p slack-audit -- read …`: with two binaries in the
/// package (`slack-audit`, `source-slack-audit`), cargo runs that only if the manifest names
/// the default one.
#[test]
fn the_readme_quick_start_runs_the_native_cli() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    assert!(
        manifest
            .lines()
            .any(|l| l.trim() == r#"default-run = "slack-audit""#),
        "crates/slack-audit/Cargo.toml has no default-run = \"slack-audit\""
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    assert!(
        readme.contains("cargo run -q -p slack-audit -- read --config examples/synthetic.json")
    );
}
