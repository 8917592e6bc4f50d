//! The systemd units of `examples/systemd/` are valid (`systemd-analyze verify`, with not even
//! a warning) and hardened the systemd way; the cron line uses only flags the binary has.

use std::path::Path;

use crate::support::*;

const UNITS: [&str; 3] = [
    "slack-audit.service",
    "slack-audit-once.service",
    "slack-audit-once.timer",
];

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/systemd")
}

#[test]
fn the_systemd_units_verify_and_are_hardened() {
    for service in ["slack-audit.service", "slack-audit-once.service"] {
        let text = std::fs::read_to_string(examples().join(service)).unwrap();
        for directive in [
            "DynamicUser=yes",
            "StateDirectory=slack-audit",
            "LoadCredential=user_oauth_token:",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=\n",
            "SystemCallFilter=@system-service",
            "LimitCORE=0\n",
            "--output ${LOGS_DIRECTORY}/audit.ndjson",
        ] {
            assert!(text.contains(directive), "{service} lacks {directive:?}");
        }
    }
    let Ok(probe) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!(
            "SKIPPED: systemd-analyze is not installed here, so the units were not verified (Debian: apt-get install systemd; .ci/run installs it)"
        );
        return;
    };
    assert!(probe.status.success());
    // `verify` checks that ExecStart's program exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for unit in UNITS {
        let text = std::fs::read_to_string(examples().join(unit))
            .unwrap()
            .replace("/usr/local/bin/slack-audit", binary());
        let path = dir.path().join(unit);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Unknown or misspelt directives are only warnings for systemd: none is allowed.
    assert!(stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
}

#[tokio::test]
async fn the_units_and_the_cron_line_use_flags_the_binary_has() {
    let help = run_binary(&["read", "--help"], &[]).await;
    let help = String::from_utf8_lossy(&help.stdout);
    let global = run_binary(&["--help"], &[]).await;
    let global = String::from_utf8_lossy(&global.stdout);
    for file in ["slack-audit.service", "slack-audit-once.service", "crontab"] {
        let text = std::fs::read_to_string(examples().join(file)).unwrap();
        let line = text
            .split("/usr/local/bin/slack-audit")
            .nth(1)
            .unwrap_or_else(|| panic!("{file} runs no slack-audit"));
        let command: String = line
            .lines()
            .take_while(|l| !l.is_empty())
            .scan(true, |go, l| {
                let keep = *go;
                *go = l.trim_end().ends_with('\\');
                keep.then(|| l.to_owned())
            })
            .collect::<Vec<_>>()
            .join(" ");
        for flag in command.split_whitespace().filter(|w| w.starts_with("--")) {
            assert!(
                help.contains(flag) || global.contains(flag),
                "{file}: {flag} is not a flag of slack-audit read"
            );
        }
    }
}
