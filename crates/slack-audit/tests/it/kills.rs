//! SIGKILL at arbitrary moments of a backfill loses nothing; a restart repeats at most the batch
//! that was in flight.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn killing_the_binary_mid_backfill_loses_nothing() {
    let page_size = 50;
    let case = Backfill::new(
        entries("k", 3000, T0 - 20_000, T0 - 1),
        Duration::from_millis(40),
        json!({"page_size": page_size}),
    )
    .await;
    let (all, work, path) = (&case.all, &case.work, &case.config);

    let mut delivered: Vec<String> = Vec::new();
    // Where each run's output starts in `delivered`.
    let mut run_starts: Vec<usize> = Vec::new();
    let kills = [180usize, 420, 433, 1200, 2100];
    for (i, after) in kills.iter().enumerate() {
        run_starts.push(delivered.len());
        let (child, mut lines) = case.spawn_read(&[], Stdio::null());
        let target = delivered.len() + after.saturating_sub(delivered.len()).max(10);
        while delivered.len() < target {
            match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
                Ok(Ok(Some(line))) => delivered.push(id_of(&line)),
                other => panic!("run {i} ended early: {other:?}"),
            }
        }
        let rest = kill_and_drain(child, &mut lines).await;
        delivered.extend(rest.iter().map(|l| id_of(l)));
    }
    // A last run to completion.
    run_starts.push(delivered.len());
    delivered.extend(read_the_rest(path, &work.state()).await);

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &delivered {
        *counts.entry(id).or_default() += 1;
    }
    let lost: Vec<_> = all
        .iter()
        .filter(|e| !counts.contains_key(e.id.as_str()))
        .collect();
    assert!(lost.is_empty(), "lost {} events", lost.len());
    assert_eq!(counts.len(), all.len());

    // Per kill: what a killed run wrote and a later run wrote again is at most the batch in
    // flight at that kill (one page; entries here never share a second across pages), and it
    // is the end of that run's output, not scattered through it.
    run_starts.push(delivered.len());
    let mut first_run: HashMap<&str, usize> = HashMap::new();
    for (run, bounds) in run_starts.windows(2).enumerate() {
        for id in &delivered[bounds[0]..bounds[1]] {
            first_run.entry(id.as_str()).or_insert(run);
        }
    }
    for (run, bounds) in run_starts.windows(2).take(kills.len()).enumerate() {
        let output = &delivered[bounds[0]..bounds[1]];
        let later: std::collections::HashSet<&str> =
            delivered[bounds[1]..].iter().map(String::as_str).collect();
        let repeated: Vec<usize> = output
            .iter()
            .enumerate()
            .filter(|(_, id)| later.contains(id.as_str()))
            .map(|(i, _)| i)
            .collect();
        assert!(
            repeated.len() <= page_size,
            "kill {run}: {} records written again, more than the batch in flight ({page_size})",
            repeated.len()
        );
        if let Some(first) = repeated.first() {
            assert!(
                output.len() - first <= page_size,
                "kill {run}: a record {} lines before the end was written again",
                output.len() - first
            );
        }
        // Within one run, nothing twice.
        let mut seen = std::collections::HashSet::new();
        assert!(
            output.iter().all(|id| seen.insert(id)),
            "run {run} wrote an id twice"
        );
    }
    assert!(first_run.len() == all.len());
}

/// A kill that lands exactly between "batch flushed to stdout" and "its checkpoint committed",
/// by construction rather than by timing: the reader runs under `ulimit -f 0`, so the first
/// byte the commit writes into the state's temporary file gets the process killed (SIGXFSZ)
/// right after page 1 was flushed (stdout is a pipe: the limit does not apply to it). The
/// restarted run writes that page again, and only that page.
///
/// If the host committed before delivering, nothing would reach stdout before the kill; if it
/// wrote the state in place, a state file would exist after it.
#[tokio::test]
async fn a_kill_between_the_flush_and_the_commit_repeats_exactly_that_batch() {
    let case = Backfill::of(entries("f", 300, T0 - 3000, T0 - 1)).await;
    let (all, work, path) = (&case.all, &case.work, &case.config);

    let child = tokio::process::Command::new("sh")
        .args(["-c", "ulimit -f 0 && exec \"$0\" \"$@\"", binary()])
        .args(read_args(path, &work.state()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the reader was not killed at its first commit")
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(nix::sys::signal::Signal::SIGXFSZ as i32),
        "{:?}",
        out.status
    );
    let first_run: Vec<String> = ids_in(&out.stdout);
    assert_eq!(
        first_run.len(),
        100,
        "exactly page 1 was flushed before the commit"
    );
    assert!(!work.state().exists(), "a state file was written in place");

    let out = run_read(path, &work.state(), &[], &[]).await;
    assert_eq!(out.status.code(), Some(0));
    let second_run: Vec<String> = ids_in(&out.stdout);
    let again = second_run
        .iter()
        .filter(|id| first_run.contains(id))
        .count();
    assert_eq!(again, 100, "the batch in flight is written again, whole");
    let mut unique: Vec<String> = second_run;
    unique.retain(|id| !first_run.contains(id));
    unique.extend(first_run);
    assert_exactly_once(&unique, all);
}
