//! The corpus of bad configs (`tests/configs/bad/*.json`): each is refused with exit 2 and a
//! message naming what is wrong (`tests/configs/expected.json`: for each file, the fragments the
//! message must hold, the JSON pointer with its colon and the words for the problem, so that an
//! unrelated message naming the same field does not pass), nothing is written, and the token
//! appears nowhere. Plus the cases a file cannot hold: a directory, a missing file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

async fn assert_refused(config: &Path, expected: &[String]) {
    let work = Workdir::new();
    for args in [
        vec![
            "read",
            "--config",
            config.to_str().unwrap(),
            "--state",
            work.state().to_str().unwrap(),
        ],
        vec!["check", "--config", config.to_str().unwrap()],
    ] {
        let out = run_binary(&args, &[("RUST_LOG", "trace")]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = config.display();
        assert_eq!(out.status.code(), Some(2), "{name} ({}): {stderr}", args[0]);
        for fragment in expected {
            assert!(
                stderr.contains(fragment.as_str()),
                "{name}: {fragment:?} not in: {stderr}"
            );
        }
        assert!(out.stdout.is_empty(), "{name}: wrote records");
        assert!(!stderr.contains(TOKEN), "{name}: token leaked");
        assert!(
            !stderr.contains("xoxb-1234567890-abcdefghij"),
            "{name}: token leaked"
        );
        assert_eq!(
            slack_audit::redact::slack_tokens(&stderr),
            None,
            "{name}: a token shape (one pasted into a setting) was printed"
        );
    }
    assert!(
        !work.state().exists(),
        "{}: a state file was written",
        config.display()
    );
}

#[tokio::test]
async fn every_bad_config_is_refused_with_exit_2_naming_the_field() {
    let expected: BTreeMap<String, Vec<String>> =
        serde_json::from_slice(&std::fs::read(corpus_dir().join("expected.json")).unwrap())
            .unwrap();
    let files: Vec<_> = std::fs::read_dir(corpus_dir().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.len() >= 25, "the corpus has {} files", files.len());
    for file in &files {
        assert!(
            expected.contains_key(file),
            "{file} has no expectation in expected.json"
        );
    }
    for (file, fragments) in &expected {
        assert!(
            fragments.len() >= 2,
            "{file}: name the field and the problem"
        );
        assert_refused(&corpus_dir().join("bad").join(file), fragments).await;
    }
}

#[tokio::test]
async fn a_directory_or_a_missing_file_is_refused_with_exit_2() {
    let work = Workdir::new();
    assert_refused(work.dir.path(), &["is a directory".to_owned()]).await;
    assert_refused(
        &work.dir.path().join("nope.json"),
        &["nope.json".to_owned(), "it does not exist".to_owned()],
    )
    .await;
}
