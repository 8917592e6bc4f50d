//! `read --output FILE`: records appended to a file, made durable before each checkpoint, and
//! reopened on SIGHUP. A SIGKILL between writes loses nothing and repeats at most the batch in
//! flight; a rotation (rename, then SIGHUP) loses no record and splits none across the files,
//! even when the rotator leaves a file the collector cannot use; a second reader beside a live
//! one is refused without touching the output; the output is never the state or the config,
//! never written through a symlink, and private unless asked.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use slack_mock::MockConfig;

use crate::support::*;

/// The complete records of the file at `path` (none if it does not exist). While a reader
/// writes, the file may end inside the batch being written: only complete lines count.
fn records_so_far(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|c| **c == b'\n').count())
}

/// Every line of a file no one writes to any more; it must end with a complete record.
fn lines_of(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "{} ends inside a record",
                path.display()
            );
            text.lines().map(str::to_owned).collect()
        }
        Err(_) => Vec::new(),
    }
}

fn read_args<'a>(config: &'a Path, state: &'a Path, output: &'a Path) -> Vec<&'a str> {
    vec![
        "read",
        "--config",
        config.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]
}

#[tokio::test]
async fn a_kill_between_writes_loses_nothing_and_repeats_at_most_the_batch_in_flight() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(30),
        ..MockConfig::default()
    })
    .await;
    let all = entries("f", 2000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let page_size = 50;
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": page_size}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let args = read_args(&config, &state, &output);

    let mut kills = 0;
    for after in [120usize, 600, 610, 1400] {
        let mut child = tokio::process::Command::new(binary())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Wait until the file holds `after` records, then SIGKILL, whatever is in flight.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while records_so_far(&output) < after {
            assert!(tokio::time::Instant::now() < deadline, "no progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        kills += 1;
    }
    let out = run_binary(&args, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "records went to stdout too");

    let ids: Vec<String> = lines_of(&output).iter().map(|l| id_of(l)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    let missing = all
        .iter()
        .filter(|e| !counts.contains_key(e.id.as_str()))
        .count();
    assert_eq!(missing, 0, "lost {missing} records");
    let repeated = ids.len() - counts.len();
    assert!(
        repeated <= kills * page_size,
        "{repeated} records repeated over {kills} kills: more than the batch in flight each time"
    );
    assert_eq!(counts.len(), all.len());
}

#[tokio::test]
async fn a_rotation_by_rename_and_sighup_loses_and_splits_nothing() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await;
    let all = entries("r", 3000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": 40}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let mut args = read_args(&config, &state, &output);
    args.extend(["--follow", "--poll-interval", "0.2"]);
    let child = tokio::process::Command::new(binary())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id().unwrap() as i32);

    // Rotate four times during the backfill, as logrotate's postrotate would.
    let mut rotated = Vec::new();
    for i in 0..4 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while records_so_far(&output) < 200 {
            assert!(tokio::time::Instant::now() < deadline, "no progress");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let to = work.dir.path().join(format!("audit.ndjson.{i}"));
        std::fs::rename(&output, &to).unwrap();
        kill(pid, Signal::SIGHUP).unwrap();
        rotated.push(to);
    }
    // Then everything arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let total: usize =
            rotated.iter().map(|p| lines_of(p).len()).sum::<usize>() + lines_of(&output).len();
        if total >= all.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {total} records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(pid, Signal::SIGTERM).unwrap();
    let status = child.wait_with_output().await.unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("Reopened the output file"), "{stderr}");

    let mut ids = Vec::new();
    for file in rotated.iter().chain([&output]) {
        let lines = lines_of(file);
        assert!(
            !lines.is_empty() || file == &output,
            "{} is empty",
            file.display()
        );
        // `id_of` parses each line: a record split across two files would not parse.
        ids.extend(lines.iter().map(|l| id_of(l)));
    }
    assert_exactly_once(&ids, &all);
}

/// The issue's reproduction: a second reader started again and again beside a long backfill
/// into one output (with the same state, as two units at once; and with a state of its own, as
/// two configs appending to one shipper file) is refused every time, before it touches the
/// output, so the first collector's output holds every record exactly once.
#[tokio::test]
async fn a_second_reader_in_a_loop_beside_a_backfill_cuts_nothing() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(2),
        ..MockConfig::default()
    })
    .await;
    let all = entries("b", 60_000, T0 - 80_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config_of = config;
    let config = work.write_config(&config_of(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": 9999}),
    )));
    // The reader of another state reads from a Slack with nothing new: should it ever start
    // (after the first one ended), it adds nothing to the output.
    let empty = crate::support::mock().await;
    let other_config = work.dir.path().join("other.config.json");
    std::fs::write(
        &other_config,
        serde_json::to_vec(&config_of(settings(
            &empty,
            json!({"backfill_start_time": "2025-12-31", "page_size": 9999}),
        )))
        .unwrap(),
    )
    .unwrap();
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let other_state = work.dir.path().join("other.state.json");
    let args = read_args(&config, &state, &output);
    let mut first = tokio::process::Command::new(binary())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while records_so_far(&output) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut refusals = [0usize; 2];
    let status = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        for (i, (second_config, second_state)) in [(&config, &state), (&other_config, &other_state)]
            .into_iter()
            .enumerate()
        {
            let second = run_binary(&read_args(second_config, second_state, &output), &[]).await;
            let stderr = String::from_utf8_lossy(&second.stderr);
            if first.try_wait().unwrap().is_some() && second.status.success() {
                // Started after the first ended: nothing left to read, fine.
                continue;
            }
            assert_eq!(second.status.code(), Some(1), "{stderr}");
            assert!(stderr.contains("is in use"), "{stderr}");
            refusals[i] += 1;
        }
    };
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(first.stderr.as_mut().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(status.success(), "{stderr}");
    eprintln!("second readers refused (same state, another state): {refusals:?}");
    assert!(
        refusals.iter().all(|n| *n > 0),
        "the second reader was never refused: {refusals:?}"
    );
    assert!(
        !stderr.contains("cut the incomplete record"),
        "the first reader found a torn tail: {stderr}"
    );
    let ids: Vec<String> = lines_of(&output).iter().map(|l| id_of(l)).collect();
    assert_exactly_once(&ids, &all);
}

/// `--output` naming the state file, its lock or the config, spelt any way, before or after
/// they exist, is refused with exit 2 before anything is read, and leaves them as they were.
#[tokio::test]
async fn an_output_that_is_the_state_its_lock_or_the_config_is_refused() {
    let mock = mock().await;
    mock.push_entries(entries("s", 50, T0 - 2000, T0 - 1));
    let work = Workdir::new();
    let config_path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));
    let config_bytes = std::fs::read(&config_path).unwrap();
    let state = work.state();
    let dir = work.dir.path();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let outputs = [
        state.clone(),
        dir.join("sub/../state.json"),
        dir.join("state.json.lock"),
        config_path.clone(),
        dir.join("sub/../config.json"),
    ];
    for output in &outputs {
        let out = run_binary(&read_args(&config_path, &state, output), &[]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", output.display());
        assert!(
            stderr.contains("records appended there would be lost"),
            "{stderr}"
        );
        assert!(!state.exists(), "a state was written");
        assert!(
            !dir.join("state.json.lock").exists(),
            "the state was locked"
        );
    }
    assert_eq!(std::fs::read(&config_path).unwrap(), config_bytes);
    assert_eq!(mock.requests().len(), 0, "Slack was asked");
    // Once the state exists: the same file through a hard link.
    let out = run_read(&config_path, &state, &[], &[]).await;
    assert!(out.status.success());
    let before = std::fs::read(&state).unwrap();
    let linked = dir.join("linked.ndjson");
    std::fs::hard_link(&state, &linked).unwrap();
    let out = run_binary(&read_args(&config_path, &state, &linked), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&state).unwrap(), before);
}

/// A new output is `0600` (`0640` with `--output-group-readable`); an existing one others may
/// read gets a warning; a symlink planted at the path is refused (exit 2) and nothing is
/// written where it points.
#[tokio::test]
async fn the_output_is_private_never_followed_and_a_readable_one_is_warned_of() {
    use std::os::unix::fs::PermissionsExt;
    let mock = mock().await;
    mock.push_entries(entries("p", 30, T0 - 2000, T0 - 1));
    let work = Workdir::new();
    let config_path = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));
    let dir = work.dir.path();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

    let private = dir.join("private.ndjson");
    let out = run_binary(&read_args(&config_path, &dir.join("a.json"), &private), &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines_of(&private).len(), 30);
    assert_eq!(mode(&private), 0o600);

    let shared = dir.join("shared.ndjson");
    let b_state = dir.join("b.json");
    let mut args = read_args(&config_path, &b_state, &shared);
    args.push("--output-group-readable");
    let out = run_binary(&args, &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&shared), 0o640);

    let readable = dir.join("readable.ndjson");
    std::fs::write(&readable, b"").unwrap();
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run_binary(
        &read_args(&config_path, &dir.join("c.json"), &readable),
        &[],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("may be read by every user"), "{stderr}");

    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let planted = dir.join("planted.ndjson");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let out = run_binary(&read_args(&config_path, &dir.join("d.json"), &planted), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("symlink"), "{stderr}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!dir.join("d.json").exists(), "a state was committed");
}

/// Rotation as a rotator that creates the new file as another user does it (the shipped
/// logrotate file once said `create 0640 root root` for a `DynamicUser` service): rename,
/// create the file owned by uid 65534 mode 0640, SIGHUP. The collector does not write into the
/// foreign file and does not stop: it keeps appending to the rotated file, says what to fix,
/// and takes the path as soon as the foreign file is gone. Nothing is lost or repeated.
#[tokio::test]
async fn a_rotator_that_creates_the_file_as_another_user_stops_nothing() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await;
    let all = entries("o", 3000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": 40}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let rotated = work.dir.path().join("audit.ndjson.1");
    let state = work.state();
    let mut args = read_args(&config, &state, &output);
    args.extend(["--follow", "--poll-interval", "0.2"]);
    let child = tokio::process::Command::new(binary())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    let wait_for = |path: &Path, n: usize| {
        let path = path.to_path_buf();
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while records_so_far(&path) < n {
                assert!(tokio::time::Instant::now() < deadline, "no progress");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    wait_for(&output, 200).await;
    std::fs::rename(&output, &rotated).unwrap();
    std::fs::write(&output, b"").unwrap();
    std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o640)).unwrap();
    if std::os::unix::fs::chown(&output, Some(65534), Some(65534)).is_err() {
        eprintln!("SKIPPED: a file of another user needs root to make");
        return;
    }
    kill(pid, Signal::SIGHUP).unwrap();
    // Collection goes on, into the rotated file.
    let reached = records_so_far(&rotated);
    wait_for(&rotated, reached + 400).await;
    assert_eq!(
        std::fs::read(&output).unwrap(),
        b"",
        "records went into a file another user owns"
    );
    // The operator removes it: the next batch creates the collector's own file.
    std::fs::remove_file(&output).unwrap();
    wait_for(&output, 100).await;
    assert_eq!(
        std::fs::metadata(&output).unwrap().uid(),
        own_uid(),
        "the new output is not the collector's"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while lines_of_so_far(&rotated) + lines_of_so_far(&output) < all.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not everything arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(pid, Signal::SIGTERM).unwrap();
    let done = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Cannot reopen the output file"), "{stderr}");
    assert!(stderr.contains("Reopened the output file"), "{stderr}");
    let mut ids = Vec::new();
    for file in [&rotated, &output] {
        ids.extend(lines_of(file).iter().map(|l| id_of(l)));
    }
    assert_exactly_once(&ids, &all);
}

/// Complete records of a file being written.
fn lines_of_so_far(path: &Path) -> usize {
    records_so_far(path)
}

/// This process's effective uid (the tests' collector runs as the same user): the owner of a
/// file it just created.
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid()
}

/// The shipped logrotate file, run by the real logrotate (when installed) against a live
/// collector: `nocreate`, so the collector creates the new file itself on SIGHUP (its own,
/// `0600`), and nothing is lost or split.
#[tokio::test]
async fn the_shipped_logrotate_file_rotates_a_live_collector() {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/systemd/slack-audit.logrotate"),
    )
    .unwrap();
    assert!(
        shipped.lines().any(|l| l.trim() == "nocreate"),
        "the shipped logrotate file does not say nocreate"
    );
    assert!(
        !shipped
            .lines()
            .any(|l| l.trim_start().starts_with("create")),
        "the shipped logrotate file creates the new file itself"
    );
    let Ok(probe) = std::process::Command::new("logrotate")
        .arg("--version")
        .output()
    else {
        eprintln!(
            "SKIPPED: logrotate is not installed here, so the shipped file was not run (Debian: apt-get install logrotate; .ci/run installs it)"
        );
        return;
    };
    assert!(probe.status.success());
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(20),
        ..MockConfig::default()
    })
    .await;
    let all = entries("l", 2000, T0 - 20_000, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31", "page_size": 40}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let mut args = read_args(&config, &state, &output);
    args.extend(["--follow", "--poll-interval", "0.2"]);
    let child = tokio::process::Command::new(binary())
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while records_so_far(&output) < 200 {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The shipped file with this test's path and this collector in place of the unit.
    let conf = shipped
        .replace(
            "/var/log/slack-audit/audit.ndjson",
            output.to_str().unwrap(),
        )
        .replace(
            "systemctl reload slack-audit.service",
            &format!("kill -HUP {pid}"),
        );
    let conf_path = work.dir.path().join("logrotate.conf");
    std::fs::write(&conf_path, conf).unwrap();
    std::fs::set_permissions(&conf_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let rotated = work.dir.path().join("audit.ndjson.1");
    let ran = tokio::process::Command::new("logrotate")
        .arg("--force")
        .arg("--state")
        .arg(work.dir.path().join("logrotate.status"))
        .arg(&conf_path)
        .output()
        .await
        .unwrap();
    assert!(
        ran.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(rotated.exists(), "logrotate did not rotate");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while records_so_far(&rotated) + records_so_far(&output) < all.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not everything arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let meta = std::fs::metadata(&output).unwrap();
    assert_eq!(meta.uid(), own_uid());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let done = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Reopened the output file"), "{stderr}");
    let mut ids = Vec::new();
    for file in [&rotated, &output] {
        ids.extend(lines_of(file).iter().map(|l| id_of(l)));
    }
    assert_exactly_once(&ids, &all);
}

/// The race of the loop above, made certain: a live collector (here the test, holding the
/// state's lock and the output's, as a reader does) is inside the write of a batch, so the
/// output ends inside a record. A second reader, of the same state or of another one, is
/// refused without cutting that line (which would lose the batch the collector is about to
/// checkpoint).
#[tokio::test]
async fn a_refused_second_reader_leaves_a_half_written_batch_alone() {
    let mock = mock().await;
    mock.push_entries(entries("h", 20, T0 - 2000, T0 - 1));
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-31"}),
    )));
    let output = work.dir.path().join("audit.ndjson");
    let state = work.state();
    let half: &[u8] = b"{\"id\":\"whole\"}\n{\"id\":\"being-writ";
    std::fs::write(&output, half).unwrap();
    let lock = |path: std::path::PathBuf| {
        let file = std::fs::File::create(path).unwrap();
        file.try_lock().unwrap();
        file
    };
    let _state_lock = lock(work.dir.path().join("state.json.lock"));
    let out = run_binary(&read_args(&config, &state, &output), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is in use"), "{stderr}");
    assert_eq!(
        std::fs::read(&output).unwrap(),
        half,
        "the live batch was cut"
    );

    let _output_lock = lock(work.dir.path().join("audit.ndjson.lock"));
    let other = work.dir.path().join("other.state.json");
    let out = run_binary(&read_args(&config, &other, &output), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("output file"), "{stderr}");
    assert!(stderr.contains("is in use"), "{stderr}");
    assert_eq!(
        std::fs::read(&output).unwrap(),
        half,
        "the live batch was cut"
    );
    assert_eq!(mock.requests().len(), 0, "a refused reader asked Slack");
}
