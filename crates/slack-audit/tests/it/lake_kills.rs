//! SIGKILL at 20 instants (of at most 60 starts) of a backfill into a lake (plain S3 layout, NDJSON.gz, in a local
//! folder through the `file://` writer), then a run to completion: every record is in exactly
//! one object, none lost, none twice, and the spool is empty. The instants are a fixed
//! pseudo-random sequence of delays after each start, so kills land before the first commit,
//! between commits, while a segment is uploaded and after objects are written but before their
//! segment is removed; the assertion holds whichever instant each kill hits.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use slack_mock::MockConfig;

use crate::support::*;

/// Every `.ndjson.gz` object below `dir`, each decompressed into its lines.
fn objects(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".ndjson.gz") {
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                out.push((path, text.lines().map(str::to_owned).collect()));
            }
        }
    }
    out
}

#[tokio::test]
async fn sigkills_during_a_backfill_into_the_lake_leave_every_record_in_exactly_one_object() {
    let mock = mock_with(MockConfig {
        page_delay: Duration::from_millis(40),
        ..MockConfig::default()
    })
    .await;
    let all = entries("lk", 6000, T0 - 30 * 3600, T0 - 1);
    mock.push_entries(all.clone());
    let work = Workdir::new();
    let config = work.write_config(&config(settings(
        &mock,
        json!({"backfill_start_time": "2025-12-30", "page_size": 100}),
    )));
    let lake_dir = work.dir.path().join("bucket");
    let spool = work.dir.path().join("spool");
    let lake = work.dir.path().join("lake.json");
    std::fs::write(
        &lake,
        serde_json::to_vec(&json!({
            "target": {"kind": "s3", "url": format!("file://{}/", lake_dir.display()), "format": "ndjson_gz"},
            "aws": {"region": "us-east-1"},
            // Small segments: many seals and uploads for the kills to land in.
            "spool": {"dir": spool, "segment_max_bytes": 16384, "max_bytes": 1 << 20},
        }))
        .unwrap(),
    )
    .unwrap();
    let mut args = read_args(&config, &work.state());
    args.extend(["--lake".to_owned(), lake.to_str().unwrap().to_owned()]);

    // splitmix64 from a fixed seed: delays of 0 to 399 ms after each start.
    let mut seed: u64 = 0x1a4e_5eed;
    let mut next = move || {
        seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut killed = 0;
    let mut runs = 0;
    while killed < 20 {
        runs += 1;
        assert!(
            runs <= 60,
            "only {killed} of {runs} kills hit a running read"
        );
        let mut child = tokio::process::Command::new(binary())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(next() % 400);
        match tokio::time::timeout(delay, child.wait()).await {
            Ok(status) => {
                let status = status.unwrap();
                assert!(
                    status.success(),
                    "a run ended with {status} before its kill"
                );
            }
            Err(_) => {
                child.start_kill().unwrap();
                let status = child.wait().await.unwrap();
                if status.signal() == Some(9) {
                    killed += 1;
                }
            }
        }
    }
    let out = run_read(
        &config,
        &work.state(),
        &["--lake", lake.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(
        out.status.success(),
        "the run after the kills failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "read --lake printed records on stdout"
    );

    let objects = objects(&lake_dir);
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut ids = Vec::new();
    for (path, lines) in &objects {
        for line in lines {
            let id = id_of(line);
            if let Some(first) = seen.insert(id.clone(), path.clone()) {
                panic!(
                    "{id} is in two objects (or twice in one): {} and {}",
                    first.display(),
                    path.display()
                );
            }
            ids.push(id);
        }
    }
    assert_exactly_once(&ids, &all);
    let left: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("segment-"))
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "segments left in the spool: {left:?}");
}
