//! The corpus of bad configs (`tests/configs/bad/*.json`): each is refused with exit 2 and a
//! message naming what is wrong (`tests/configs/expected.json`: for each file, the fragments the
//! message must hold, the JSON pointer with its colon and the words for the problem, so that an
//! unrelated message naming the same field does not pass), nothing is written, and the token
//! appears nowhere. An entry may instead be `{"env": {…}, "fragments": […]}`: the case runs with
//! those environment variables (an operator's opt-in the file alone cannot give). Plus the cases
//! a file cannot hold: a directory, a missing file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::*;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// What `expected.json` says of one file: the fragments, with the environment to run it in.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Expectation {
    Fragments(Vec<String>),
    WithEnv {
        env: BTreeMap<String, String>,
        fragments: Vec<String>,
    },
}

impl Expectation {
    fn fragments(&self) -> &[String] {
        match self {
            Expectation::Fragments(f) | Expectation::WithEnv { fragments: f, .. } => f,
        }
    }
    fn env(&self) -> Vec<(&str, &str)> {
        match self {
            Expectation::Fragments(_) => Vec::new(),
            Expectation::WithEnv { env, .. } => {
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
            }
        }
    }
}

async fn assert_refused(config: &Path, expected: &[String]) {
    assert_refused_in(config, expected, &[]).await;
}

async fn assert_refused_in(config: &Path, expected: &[String], env: &[(&str, &str)]) {
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
        let mut envs = vec![("RUST_LOG", "trace")];
        envs.extend_from_slice(env);
        let out = run_binary(&args, &envs).await;
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
    let expected: BTreeMap<String, Expectation> =
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
    for (file, expectation) in &expected {
        assert!(
            expectation.fragments().len() >= 2,
            "{file}: name the field and the problem"
        );
        assert_refused_in(
            &corpus_dir().join("bad").join(file),
            expectation.fragments(),
            &expectation.env(),
        )
        .await;
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
