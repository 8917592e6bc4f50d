//! `read --output FILE`: records appended to a file, made durable before each checkpoint, and
//! reopened on SIGHUP. A SIGKILL between writes loses nothing and repeats at most the batch in
//! flight; a rotation (rename, then SIGHUP) loses no record and splits none across the files,
//! even when the rotator leaves a file the collector cannot use; a second reader beside a live
//! one is refused without touching the output; the output is never the state or the config,
//! never written through a symlink, and private unless asked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use slack_mock::{MockEntry, MockSlack};
use tokio::process::Child;

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

/// Waits until the file at `path` holds `n` complete records (`within` at most).
async fn wait_for_records(path: &Path, n: usize, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    while records_so_far(path) < n {
        assert!(tokio::time::Instant::now() < deadline, "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until `files` hold `n` complete records between them (a minute at most).
async fn wait_for_all(files: [&Path; 2], n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while files.iter().map(|f| records_so_far(f)).sum::<usize>() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not everything arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The ids of every record in `files`, in order (each must end with a complete record).
fn ids_in_files<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> Vec<String> {
    files
        .into_iter()
        .flat_map(|file| lines_of(file))
        .map(|l| id_of(&l))
        .collect()
}

/// SIGTERMs a collector, asserts it exits 0, and returns its stderr.
async fn terminate(child: Child) -> String {
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    kill(pid, Signal::SIGTERM).unwrap();
    let done = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    stderr
}

/// One case: a mock holding `all` (pages served `page_delay` apart), a config reading them from
/// the backfill start (in pages of `page_size`, when given), and the state and output paths in
/// a fresh work dir.
struct FileCase {
    mock: MockSlack,
    all: Vec<MockEntry>,
    work: Workdir,
    config: PathBuf,
    state: PathBuf,
    output: PathBuf,
}

impl FileCase {
    async fn new(all: Vec<MockEntry>, page_delay: Duration, page_size: Option<u64>) -> Self {
        let extra = match page_size {
            Some(page_size) => json!({ "page_size": page_size }),
            None => json!({}),
        };
        let Backfill {
            mock,
            all,
            work,
            config,
        } = Backfill::new(all, page_delay, extra).await;
        let output = work.dir.path().join("audit.ndjson");
        let state = work.state();
        FileCase {
            mock,
            all,
            work,
            config,
            state,
            output,
        }
    }

    /// `read --config … --state … --output …`.
    fn args(&self) -> Vec<&str> {
        read_args(&self.config, &self.state, &self.output)
    }

    /// The real binary reading with [`FileCase::args`] and `extra`, stdout discarded.
    fn spawn(&self, extra: &[&str], stderr: Stdio) -> Child {
        tokio::process::Command::new(binary())
            .args(self.args())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// A collector following every 0.2 s, its stderr kept.
    fn follow(&self) -> Child {
        self.spawn(&["--follow", "--poll-interval", "0.2"], Stdio::piped())
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
    let page_size = 50;
    let case = FileCase::new(
        entries("f", 2000, T0 - 20_000, T0 - 1),
        Duration::from_millis(30),
        Some(page_size as u64),
    )
    .await;
    let (all, output) = (&case.all, &case.output);

    let mut kills = 0;
    for after in [120usize, 600, 610, 1400] {
        let mut child = case.spawn(&[], Stdio::null());
        // Wait until the file holds `after` records, then SIGKILL, whatever is in flight.
        wait_for_records(output, after, Duration::from_secs(20)).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        kills += 1;
    }
    let out = run_binary(&case.args(), &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "records went to stdout too");

    let ids = ids_in_files([output]);
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
    let case = FileCase::new(
        entries("r", 3000, T0 - 20_000, T0 - 1),
        Duration::from_millis(20),
        Some(40),
    )
    .await;
    let (all, output) = (&case.all, &case.output);
    let child = case.follow();
    let pid = Pid::from_raw(child.id().unwrap() as i32);

    // Rotate four times during the backfill, as logrotate's postrotate would.
    let mut rotated = Vec::new();
    for i in 0..4 {
        wait_for_records(output, 200, Duration::from_secs(20)).await;
        let to = case.work.dir.path().join(format!("audit.ndjson.{i}"));
        std::fs::rename(output, &to).unwrap();
        kill(pid, Signal::SIGHUP).unwrap();
        rotated.push(to);
    }
    // Then everything arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let total: usize =
            rotated.iter().map(|p| lines_of(p).len()).sum::<usize>() + lines_of(output).len();
        if total >= all.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {total} records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stderr = terminate(child).await;
    assert!(stderr.contains("Reopened the output file"), "{stderr}");

    let mut ids = Vec::new();
    for file in rotated.iter().chain([output]) {
        let lines = lines_of(file);
        assert!(
            !lines.is_empty() || file == output,
            "{} is empty",
            file.display()
        );
        // `id_of` parses each line: a record split across two files would not parse.
        ids.extend(lines.iter().map(|l| id_of(l)));
    }
    assert_exactly_once(&ids, all);
}

/// The issue's reproduction: a second reader started again and again beside a long backfill
/// into one output (with the same state, as two units at once; and with a state of its own, as
/// two configs appending to one shipper file) is refused every time, before it touches the
/// output, so the first collector's output holds every record exactly once.
#[tokio::test]
async fn a_second_reader_in_a_loop_beside_a_backfill_cuts_nothing() {
    let case = FileCase::new(
        entries("b", 60_000, T0 - 80_000, T0 - 1),
        Duration::from_millis(2),
        Some(9999),
    )
    .await;
    let (all, work, config, state, output) = (
        &case.all,
        &case.work,
        &case.config,
        &case.state,
        &case.output,
    );
    // The reader of another state reads from a Slack with nothing new: should it ever start
    // (after the first one ended), it adds nothing to the output.
    let empty = crate::support::mock().await;
    let other_config = work.dir.path().join("other.config.json");
    std::fs::write(
        &other_config,
        serde_json::to_vec(&crate::support::config(settings(
            &empty,
            json!({"backfill_start_time": "2025-12-31", "page_size": 9999}),
        )))
        .unwrap(),
    )
    .unwrap();
    let other_state = work.dir.path().join("other.state.json");
    let mut first = case.spawn(&[], Stdio::piped());
    wait_for_records(output, 1, Duration::from_secs(20)).await;
    let mut refusals = [0usize; 2];
    let status = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        for (i, (second_config, second_state)) in [(config, state), (&other_config, &other_state)]
            .into_iter()
            .enumerate()
        {
            let second = run_binary(&read_args(second_config, second_state, output), &[]).await;
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
    let ids = ids_in_files([output]);
    assert_exactly_once(&ids, all);
}

/// `--output` naming the state file, its lock or the config, spelt any way, before or after
/// they exist, is refused with exit 2 before anything is read, and leaves them as they were.
#[tokio::test]
async fn an_output_that_is_the_state_its_lock_or_the_config_is_refused() {
    let case = FileCase::new(entries("s", 50, T0 - 2000, T0 - 1), Duration::ZERO, None).await;
    let (mock, config_path, state) = (&case.mock, &case.config, &case.state);
    let config_bytes = std::fs::read(config_path).unwrap();
    let dir = case.work.dir.path();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let outputs = [
        state.clone(),
        dir.join("sub/../state.json"),
        dir.join("state.json.lock"),
        config_path.clone(),
        dir.join("sub/../config.json"),
    ];
    for output in &outputs {
        let out = run_binary(&read_args(config_path, state, output), &[]).await;
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
    assert_eq!(std::fs::read(config_path).unwrap(), config_bytes);
    assert_eq!(mock.requests().len(), 0, "Slack was asked");
    // Once the state exists: the same file through a hard link.
    let out = run_read(config_path, state, &[], &[]).await;
    assert!(out.status.success());
    let before = std::fs::read(state).unwrap();
    let linked = dir.join("linked.ndjson");
    std::fs::hard_link(state, &linked).unwrap();
    let out = run_binary(&read_args(config_path, state, &linked), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(state).unwrap(), before);
}

/// A new output is `0600` (`0640` with `--output-group-readable`); an existing one others may
/// read gets a warning; a symlink planted at the path is refused (exit 2) and nothing is
/// written where it points.
#[tokio::test]
async fn the_output_is_private_never_followed_and_a_readable_one_is_warned_of() {
    use std::os::unix::fs::PermissionsExt;
    let case = FileCase::new(entries("p", 30, T0 - 2000, T0 - 1), Duration::ZERO, None).await;
    let config_path = &case.config;
    let dir = case.work.dir.path();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

    let private = dir.join("private.ndjson");
    let out = run_binary(&read_args(config_path, &dir.join("a.json"), &private), &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines_of(&private).len(), 30);
    assert_eq!(mode(&private), 0o600);

    let shared = dir.join("shared.ndjson");
    let b_state = dir.join("b.json");
    let mut args = read_args(config_path, &b_state, &shared);
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
    let out = run_binary(&read_args(config_path, &dir.join("c.json"), &readable), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("may be read by every user"), "{stderr}");

    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let planted = dir.join("planted.ndjson");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    let out = run_binary(&read_args(config_path, &dir.join("d.json"), &planted), &[]).await;
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
    let case = FileCase::new(
        entries("o", 3000, T0 - 20_000, T0 - 1),
        Duration::from_millis(20),
        Some(40),
    )
    .await;
    let (all, output) = (&case.all, &case.output);
    let rotated = case.work.dir.path().join("audit.ndjson.1");
    let child = case.follow();
    let pid = Pid::from_raw(child.id().unwrap() as i32);
    let patience = Duration::from_secs(30);
    wait_for_records(output, 200, patience).await;
    std::fs::rename(output, &rotated).unwrap();
    std::fs::write(output, b"").unwrap();
    std::fs::set_permissions(output, std::fs::Permissions::from_mode(0o640)).unwrap();
    if std::os::unix::fs::chown(output, Some(65534), Some(65534)).is_err() {
        eprintln!("SKIPPED: a file of another user needs root to make");
        return;
    }
    kill(pid, Signal::SIGHUP).unwrap();
    // Collection goes on, into the rotated file.
    let reached = records_so_far(&rotated);
    wait_for_records(&rotated, reached + 400, patience).await;
    assert_eq!(
        std::fs::read(output).unwrap(),
        b"",
        "records went into a file another user owns"
    );
    // The operator removes it: the next batch creates the collector's own file.
    std::fs::remove_file(output).unwrap();
    wait_for_records(output, 100, patience).await;
    assert_eq!(
        std::fs::metadata(output).unwrap().uid(),
        own_uid(),
        "the new output is not the collector's"
    );
    wait_for_all([&rotated, output], all.len()).await;
    let stderr = terminate(child).await;
    assert!(stderr.contains("Cannot reopen the output file"), "{stderr}");
    assert!(stderr.contains("Reopened the output file"), "{stderr}");
    assert_exactly_once(&ids_in_files([&rotated, output]), all);
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
    let case = FileCase::new(
        entries("l", 2000, T0 - 20_000, T0 - 1),
        Duration::from_millis(20),
        Some(40),
    )
    .await;
    let (all, work, output) = (&case.all, &case.work, &case.output);
    let child = case.follow();
    let pid = child.id().unwrap();
    wait_for_records(output, 200, Duration::from_secs(20)).await;
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
    wait_for_all([&rotated, output], all.len()).await;
    let meta = std::fs::metadata(output).unwrap();
    assert_eq!(meta.uid(), own_uid());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let stderr = terminate(child).await;
    assert!(stderr.contains("Reopened the output file"), "{stderr}");
    assert_exactly_once(&ids_in_files([&rotated, output]), all);
}

/// The race of the loop above, made certain: a live collector (here the test, holding the
/// state's lock and the output's, as a reader does) is inside the write of a batch, so the
/// output ends inside a record. A second reader, of the same state or of another one, is
/// refused without cutting that line (which would lose the batch the collector is about to
/// checkpoint).
#[tokio::test]
async fn a_refused_second_reader_leaves_a_half_written_batch_alone() {
    let case = FileCase::new(entries("h", 20, T0 - 2000, T0 - 1), Duration::ZERO, None).await;
    let (mock, work, config, output) = (&case.mock, &case.work, &case.config, &case.output);
    let half: &[u8] = b"{\"id\":\"whole\"}\n{\"id\":\"being-writ";
    std::fs::write(output, half).unwrap();
    let lock = |path: std::path::PathBuf| {
        let file = std::fs::File::create(path).unwrap();
        file.try_lock().unwrap();
        file
    };
    let _state_lock = lock(work.dir.path().join("state.json.lock"));
    let out = run_binary(&case.args(), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is in use"), "{stderr}");
    assert_eq!(
        std::fs::read(output).unwrap(),
        half,
        "the live batch was cut"
    );

    let _output_lock = lock(work.dir.path().join("audit.ndjson.lock"));
    let other = work.dir.path().join("other.state.json");
    let out = run_binary(&read_args(config, &other, output), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("output file"), "{stderr}");
    assert!(stderr.contains("is in use"), "{stderr}");
    assert_eq!(
        std::fs::read(output).unwrap(),
        half,
        "the live batch was cut"
    );
    assert_eq!(mock.requests().len(), 0, "a refused reader asked Slack");
}
