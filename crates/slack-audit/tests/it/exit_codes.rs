//! Every exit code of `ErrorKind` is stated, with its meaning, wherever a user looks for it:
//! `--help` of both binaries, the man page and the README's table. All of them are generated
//! from `ErrorKind::exit_codes`, so a code missing from one is a broken generator (as exit
//! code 4 was missing from `--help` and the man page when they were written by hand).

use connector_sdk::contract::error::ErrorKind;

use crate::support::*;

/// Every kind: the match is exhaustive, so a new kind does not compile here until it is added,
/// and the assertion below sends it on to `ErrorKind::ALL`, which the tables are made from.
fn all_kinds() -> Vec<ErrorKind> {
    let every = |kind: ErrorKind| match kind {
        ErrorKind::Config
        | ErrorKind::Auth
        | ErrorKind::Certificate
        | ErrorKind::Transient
        | ErrorKind::Fatal => kind,
    };
    let kinds: Vec<ErrorKind> = ErrorKind::ALL.into_iter().map(every).collect();
    for kind in [
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::Certificate,
        ErrorKind::Transient,
        ErrorKind::Fatal,
    ] {
        assert!(
            kinds.contains(&every(kind)),
            "{kind:?} is not in ErrorKind::ALL"
        );
    }
    kinds
}

fn help_of(binary: &str) -> String {
    let out = std::process::Command::new(binary)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{binary} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

fn repository_file(relative: &str) -> String {
    std::fs::read_to_string(format!("{}/../../{relative}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The text `clap_mangen` writes for `text` (roff escapes the dash and the apostrophe).
fn roff(text: &str) -> String {
    text.replace('-', "\\-").replace('\'', "\\*(Aq")
}

#[test]
fn every_exit_code_is_in_help_the_man_page_and_the_readme() {
    let rows = ErrorKind::exit_codes();
    let mut codes: Vec<u8> = vec![0];
    codes.extend(all_kinds().into_iter().map(ErrorKind::exit_code));
    let places = [
        ("slack-audit --help", help_of(binary())),
        (
            "source-slack-audit --help",
            help_of(env!("CARGO_BIN_EXE_source-slack-audit")),
        ),
        (
            "dist/man/slack-audit.1",
            repository_file("dist/man/slack-audit.1"),
        ),
        ("README.md", repository_file("README.md")),
    ];
    for code in codes {
        let Some((_, meaning)) = rows.iter().find(|(c, _)| *c == code) else {
            panic!("exit code {code} has no row in ErrorKind::exit_codes");
        };
        for (place, text) in &places {
            let line = match *place {
                "README.md" => format!("| `{code}` | {meaning} |"),
                "dist/man/slack-audit.1" => format!("  {code}  {}", roff(meaning)),
                _ => format!("  {code}  {meaning}"),
            };
            assert!(
                text.lines().any(|l| l == line),
                "{place} does not state exit code {code} ({meaning:?}); `cargo xtask schema` \
                 regenerates the man page and the README's table"
            );
        }
    }
}
