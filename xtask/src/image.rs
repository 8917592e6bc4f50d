//! `cargo xtask image [--test]`: the connector's OCI image, built with Debian's own tools, and
//! run the way Airbyte's platform runs a source.
//!
//! Build:
//!
//! 1. `xtask/image/install.sh` installs podman, skopeo, umoci and mmdebstrap when missing.
//! 2. Both binaries are built (`--profile release` by default) and staged, stripped, in a build
//!    context under `<target>/image/context` with `xtask/image/Containerfile`.
//! 3. The base: with `--base IMAGE`, that image (a registry must be reachable); otherwise a root
//!    filesystem made by `mmdebstrap` from Debian's packages (suite [`SUITE`], variant
//!    `essential` plus `ca-certificates`: a shell, coreutils, CA certificates, no package
//!    manager; documentation and locales left out; a user `airbyte` with uid 1000), imported with
//!    `podman import` as [`BASE_IMAGE`]. The tarball is kept and reused.
//! 4. `podman build --format oci` with the labels `io.airbyte.name` / `io.airbyte.version` from
//!    `metadata.yaml` (`dockerRepository` / `dockerImageTag`) and the OCI labels. The image's
//!    size is printed.
//!
//! `--test` (no OCI runtime can start a container on these machines: crun fails on `setrlimit`
//! and cgroups inside the sandbox) copies the image out of podman's storage (`skopeo copy` to an
//! OCI layout), reads its config with `skopeo inspect --config` (env, user, entrypoint, labels),
//! unpacks it (`umoci unpack`), and runs its root filesystem in new mount and pid namespaces,
//! chrooted, as uid 1000, with only the image's environment: `sh -c 'eval "$AIRBYTE_ENTRYPOINT
//! spec"'`, then `check`, `discover`, `read` with config, catalog and state as files under
//! `/config` (as the platform mounts them) against the loopback mock of Slack (loopback is shared
//! with the chroot), and a second `read` with the last `STATE` that must repeat nothing. Then the
//! native `slack-audit` from the same root filesystem, on synthetic data, twice on one state file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use anyhow::{Context, ensure};
use serde_json::{Value, json};

/// The Debian suite the base root filesystem is made from.
pub const SUITE: &str = "bookworm";
/// The name the mmdebstrap base is imported as.
pub const BASE_IMAGE: &str = "localhost/slack-audit-base:bookworm";
/// What the image must stay below, uncompressed.
pub const SIZE_BUDGET_MIB: f64 = 120.0;
/// The token the mock expects in `--test`; it must never appear in what the connector prints.
const TOKEN: &str = "xoxp-4242424242-4242424242-424242424242-1a6e5ec71a6e5ec71a6e5ec71a6e5ec7";

/// Arguments of `cargo xtask image`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImageArgs {
    /// Also run the image as Airbyte's platform would (unpacked, chrooted, as uid 1000).
    #[arg(long)]
    pub test: bool,
    /// A base image from a registry instead of the mmdebstrap root filesystem (it needs
    /// /bin/sh, coreutils and glibc).
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
    /// The cargo profile the binaries are built with.
    #[arg(long, default_value = "release", value_name = "PROFILE")]
    pub profile: String,
}

/// The two fields of `metadata.yaml` the image carries as labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `data.dockerRepository`.
    pub docker_repository: String,
    /// `data.dockerImageTag`.
    pub docker_image_tag: String,
    /// `data.documentationUrl`.
    pub documentation_url: String,
}

/// Reads the top-level scalar fields of `data:` in `metadata.yaml` (a flat, hand-written
/// file: `key: value` lines indented under `data:`; quotes are removed).
pub fn read_metadata(path: &Path) -> anyhow::Result<Metadata> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let fields = metadata_fields(&text);
    let field = |name: &str| {
        fields
            .get(name)
            .cloned()
            .with_context(|| format!("{} has no data.{name}", path.display()))
    };
    Ok(Metadata {
        docker_repository: field("dockerRepository")?,
        docker_image_tag: field("dockerImageTag")?,
        documentation_url: field("documentationUrl")?,
    })
}

/// The `key: value` scalars directly under `data:` (two spaces of indentation).
pub fn metadata_fields(text: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut in_data = false;
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_data = line.trim_end() == "data:";
            continue;
        }
        let Some(rest) = line.strip_prefix("  ") else {
            continue;
        };
        if !in_data || rest.starts_with(' ') || rest.starts_with('-') {
            continue;
        }
        if let Some((key, value)) = rest.split_once(':') {
            let value = value.trim().trim_matches('"').trim_matches('\'');
            if !value.is_empty() {
                fields.insert(key.trim().to_owned(), value.to_owned());
            }
        }
    }
    fields
}

/// Runs the task.
pub fn run(args: &ImageArgs) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let metadata = read_metadata(&root.join("metadata.yaml"))?;
    let target = crate::target_dir();
    let work = target.join("image");
    std::fs::create_dir_all(&work)?;

    let started = Instant::now();
    sh(Command::new("bash").arg(root.join("xtask/image/install.sh")))?;

    let build = Instant::now();
    let names = ["slack-audit", "source-slack-audit"];
    let paths = crate::build_binaries("slack-audit", &names, &args.profile)?;
    let binaries: Vec<(&str, PathBuf)> = names.into_iter().zip(paths).collect();
    let build_secs = build.elapsed().as_secs_f64();

    let context = work.join("context");
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(context.join("bin"))?;
    for (name, path) in &binaries {
        let staged = context.join("bin").join(name);
        std::fs::copy(path, &staged).with_context(|| format!("cannot stage {}", path.display()))?;
        sh(Command::new("strip").arg(&staged))?;
    }

    let base_started = Instant::now();
    let base = match &args.base {
        Some(base) => base.clone(),
        None => {
            let tarball = base_rootfs(&work)?;
            sh(Command::new("podman")
                .args(["import", "--quiet"])
                .arg(&tarball)
                .arg(BASE_IMAGE)
                .stdout(Stdio::null()))?;
            BASE_IMAGE.to_owned()
        }
    };
    let base_secs = base_started.elapsed().as_secs_f64();

    let image = format!(
        "localhost/{}:{}",
        metadata.docker_repository, metadata.docker_image_tag
    );
    let revision = git_revision(&root);
    let created = chrono_now();
    let podman_started = Instant::now();
    sh(Command::new("podman")
        .args(["build", "--format", "oci", "--quiet", "--tag", &image])
        .arg("--file")
        .arg(root.join("xtask/image/Containerfile"))
        .args(["--build-arg", &format!("BASE={base}")])
        .args([
            "--build-arg",
            &format!("NAME={}", metadata.docker_repository),
        ])
        .args([
            "--build-arg",
            &format!("VERSION={}", metadata.docker_image_tag),
        ])
        .args(["--build-arg", &format!("REVISION={revision}")])
        .args(["--build-arg", &format!("CREATED={created}")])
        .arg(&context)
        .stdout(Stdio::null()))?;
    let podman_secs = podman_started.elapsed().as_secs_f64();

    let size = image_size(&image)?;
    let mib = size as f64 / (1024.0 * 1024.0);
    let binaries_mib: f64 = binaries
        .iter()
        .map(|(name, _)| {
            std::fs::metadata(context.join("bin").join(name)).map_or(0, |m| m.len()) as f64
        })
        .sum::<f64>()
        / (1024.0 * 1024.0);
    println!(
        "image: built {image} from {base}: {mib:.1} MiB uncompressed (binaries {binaries_mib:.1} MiB stripped); cargo build --profile {} {build_secs:.0} s, base {base_secs:.0} s, podman build {podman_secs:.0} s, total {:.0} s",
        args.profile,
        started.elapsed().as_secs_f64()
    );
    ensure!(
        mib < SIZE_BUDGET_MIB,
        "the image is {mib:.1} MiB, over the budget of {SIZE_BUDGET_MIB} MiB"
    );

    if args.test {
        let test_started = Instant::now();
        test_image(&image, &metadata, &work)?;
        println!(
            "image: every platform-style run passed ({:.0} s)",
            test_started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The base root filesystem as a tarball, made once by mmdebstrap and reused.
fn base_rootfs(work: &Path) -> anyhow::Result<PathBuf> {
    let tarball = work.join(format!("base-{SUITE}.tar"));
    if tarball.is_file() {
        eprintln!("image: reusing {}", tarball.display());
        return Ok(tarball);
    }
    eprintln!("image: mmdebstrap {SUITE} (essential + ca-certificates)…");
    let partial = work.join(format!("base-{SUITE}.tar.partial"));
    let excludes = [
        "/usr/share/doc/*",
        "/usr/share/man/*",
        "/usr/share/info/*",
        "/usr/share/locale/*",
        "/usr/share/lintian/*",
        "/usr/share/common-licenses/*",
    ];
    let mut command = Command::new("mmdebstrap");
    command.args([
        "--quiet",
        "--variant=essential",
        "--include=ca-certificates",
        "--format=tar",
        // /usr merged by mmdebstrap's own hook: the usrmerge package would pull in perl.
        "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    ]);
    for pattern in excludes {
        command.arg(format!("--dpkgopt=path-exclude={pattern}"));
    }
    // The copyright files stay: they are the packages' licences.
    command.arg("--dpkgopt=path-include=/usr/share/doc/*/copyright");
    command.args([
        // The user the platform runs sources as, with a home to write in.
        r#"--customize-hook=echo 'airbyte:x:1000:1000:airbyte:/home/airbyte:/bin/sh' >> "$1/etc/passwd""#,
        r#"--customize-hook=echo 'airbyte:x:1000:' >> "$1/etc/group""#,
        r#"--customize-hook=mkdir -p "$1/home/airbyte" && chown 1000:1000 "$1/home/airbyte""#,
        // Caches and lists the image never uses.
        r#"--customize-hook=rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*"#,
    ]);
    command.arg(SUITE).arg(&partial);
    sh(&mut command)?;
    std::fs::rename(&partial, &tarball)?;
    Ok(tarball)
}

fn image_size(image: &str) -> anyhow::Result<u64> {
    let out =
        capture(Command::new("podman").args(["image", "inspect", "--format", "{{.Size}}", image]))?;
    out.trim()
        .parse()
        .with_context(|| format!("podman image inspect gave {out:?}"))
}

fn git_revision(root: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        )
}

fn chrono_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map_or_else(
            || "unknown".to_owned(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        )
}

/// Runs `command`, failing with its stderr if it fails.
fn sh(command: &mut Command) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    ensure!(status.success(), "{command:?} failed ({status})");
    Ok(())
}

/// Runs `command` and returns its stdout, failing with its stderr if it fails.
fn capture(command: &mut Command) -> anyhow::Result<String> {
    let out = command
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    ensure!(
        out.status.success(),
        "{command:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What the image's config says.
struct ImageConfig {
    env: Vec<(String, String)>,
    user: String,
    entrypoint: Vec<String>,
    labels: BTreeMap<String, String>,
}

fn inspect(layout: &str) -> anyhow::Result<ImageConfig> {
    let text = capture(Command::new("skopeo").args(["inspect", "--config", layout]))?;
    let value: Value = serde_json::from_str(&text).context("skopeo inspect --config")?;
    let config = &value["config"];
    let env = config["Env"]
        .as_array()
        .context("no Env in the image config")?
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let labels = config["Labels"]
        .as_object()
        .context("no Labels in the image config")?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    Ok(ImageConfig {
        env,
        user: config["User"].as_str().unwrap_or_default().to_owned(),
        entrypoint: config["Entrypoint"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        labels,
    })
}

/// The unpacked image, run as the platform runs it.
struct Rootfs {
    root: PathBuf,
    env: Vec<(String, String)>,
}

impl Rootfs {
    /// Runs `script` with `sh -c` in the root filesystem, in new mount and pid namespaces, as
    /// uid 1000, with only the image's environment.
    fn sh(&self, script: &str) -> anyhow::Result<Output> {
        let mut command = Command::new("timeout");
        command
            .arg("300")
            .args(["unshare", "--mount", "--pid", "--fork", "chroot"])
            .arg("--userspec=1000:1000")
            .arg(&self.root)
            .args(["/bin/sh", "-c", script])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        let out = command
            .output()
            .with_context(|| format!("cannot run {command:?}"))?;
        for stream in [&out.stdout, &out.stderr] {
            ensure!(
                !String::from_utf8_lossy(stream).contains(TOKEN),
                "the token was printed by `{script}`"
            );
        }
        Ok(out)
    }

    /// Runs the platform's command line for `command` and returns its Airbyte messages.
    fn airbyte(&self, command: &str) -> anyhow::Result<(i32, Vec<Value>)> {
        let out = self.sh(&format!("eval \"$AIRBYTE_ENTRYPOINT {command}\""))?;
        let mut messages = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let message: Value = serde_json::from_str(line)
                .with_context(|| format!("`{command}` printed a line that is not JSON: {line}"))?;
            messages.push(message);
        }
        Ok((out.status.code().unwrap_or(-1), messages))
    }

    /// Writes `content` to `/config/NAME` inside the root filesystem, owned by uid 1000.
    fn config_file(&self, name: &str, content: &Value) -> anyhow::Result<String> {
        let dir = self.root.join("config");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(content)?)?;
        sh(Command::new("chown").arg("-R").arg("1000:1000").arg(&dir))?;
        Ok(format!("/config/{name}"))
    }
}

fn of_type<'a>(messages: &'a [Value], kind: &str) -> Vec<&'a Value> {
    messages.iter().filter(|m| m["type"] == kind).collect()
}

fn statuses(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "STREAM_STATUS")
        .map(|m| {
            m["trace"]["stream_status"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn record_ids(messages: &[Value]) -> Vec<String> {
    of_type(messages, "RECORD")
        .iter()
        .map(|m| {
            m["record"]["data"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn test_image(image: &str, metadata: &Metadata, work: &Path) -> anyhow::Result<()> {
    let layout_dir = work.join("oci");
    let bundle = work.join("bundle");
    let _ = std::fs::remove_dir_all(&layout_dir);
    let _ = std::fs::remove_dir_all(&bundle);
    let layout = format!("oci:{}:{}", layout_dir.display(), metadata.docker_image_tag);
    sh(Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!("containers-storage:{image}"))
        .arg(&layout))?;
    println!("image: copied to {layout}");

    // The config, as the platform and Airbyte's acceptance rules read it.
    let config = inspect(&layout)?;
    let env: BTreeMap<&str, &str> = config
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let entrypoint = env
        .get("AIRBYTE_ENTRYPOINT")
        .context("AIRBYTE_ENTRYPOINT is not set in the image")?;
    ensure!(
        *entrypoint == config.entrypoint.join(" "),
        "AIRBYTE_ENTRYPOINT {entrypoint:?} is not the space-joined ENTRYPOINT {:?}",
        config.entrypoint
    );
    ensure!(
        config.user == "1000:1000" || config.user == "1000",
        "the image runs as {:?}, not uid 1000",
        config.user
    );
    let label = |name: &str| config.labels.get(name).map(String::as_str);
    ensure!(
        label("io.airbyte.name") == Some(metadata.docker_repository.as_str()),
        "io.airbyte.name is {:?}, metadata.yaml's dockerRepository is {}",
        label("io.airbyte.name"),
        metadata.docker_repository
    );
    ensure!(
        label("io.airbyte.version") == Some(metadata.docker_image_tag.as_str()),
        "io.airbyte.version is {:?}, metadata.yaml's dockerImageTag is {}",
        label("io.airbyte.version"),
        metadata.docker_image_tag
    );
    for name in [
        "title",
        "description",
        "version",
        "revision",
        "created",
        "licenses",
        "documentation",
    ] {
        let key = format!("org.opencontainers.image.{name}");
        ensure!(
            label(&key).is_some_and(|v| !v.is_empty()),
            "label {key} is missing"
        );
    }
    ensure!(
        label("org.opencontainers.image.version") == Some(metadata.docker_image_tag.as_str()),
        "org.opencontainers.image.version is not the image tag"
    );
    println!(
        "image: config: user {}, AIRBYTE_ENTRYPOINT={entrypoint}, io.airbyte.name={}, io.airbyte.version={}, {} OCI labels",
        config.user,
        metadata.docker_repository,
        metadata.docker_image_tag,
        config
            .labels
            .keys()
            .filter(|k| k.starts_with("org.opencontainers.image."))
            .count()
    );

    sh(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(layout.trim_start_matches("oci:"))
        .arg(&bundle)
        .stdout(Stdio::null()))?;
    let rootfs = Rootfs {
        root: bundle.join("rootfs"),
        env: config.env.clone(),
    };

    // What the platform's launcher needs besides the connector.
    let out = rootfs.sh("id -u && command -v sleep mv && sleep 0 && test -r /etc/ssl/certs/ca-certificates.crt && echo ok")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success() && text.starts_with("1000\n") && text.trim_end().ends_with("ok"),
        "the image lacks a shell, coreutils, CA certificates or uid 1000: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rt = crate::runtime("image-mock", 1)?;
    let mock = rt.block_on(slack_mock::MockSlack::start(slack_mock::MockConfig {
        token: Some(TOKEN.to_owned()),
        ..slack_mock::MockConfig::default()
    }))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let first: Vec<slack_mock::MockEntry> = (0..250)
        .map(|i| entry(&format!("image-a-{i:04}"), now - 3000 + i * 10))
        .collect::<anyhow::Result<_>>()?;
    mock.push_entries(first.clone());

    let result = platform_runs(&rootfs, &mock, &first, now);
    rt.block_on(mock.shutdown());
    result?;

    native_runs(&rootfs)
}

fn entry(id: &str, date: i64) -> anyhow::Result<slack_mock::MockEntry> {
    slack_mock::MockEntry::from_json(&json!({
        "id": id, "date_create": date, "action": "user_login",
        "actor": {"type": "user", "user": {"id": "W0123ABCD", "name": "ada", "email": "ada@example.com", "team": "E0AAAAAAA"}},
        "entity": {"type": "user", "user": {"id": "W0123ABCD", "name": "ada", "email": "ada@example.com", "team": "E0AAAAAAA"}},
        "context": {"location": {"type": "enterprise", "id": "E0AAAAAAA", "name": "Example", "domain": "example"}, "ua": "Mozilla/5.0", "ip_address": "203.0.113.42"}
    }).to_string())
    .map_err(|e| anyhow::anyhow!("{e}"))
}

fn platform_runs(
    rootfs: &Rootfs,
    mock: &slack_mock::MockSlack,
    first: &[slack_mock::MockEntry],
    now: i64,
) -> anyhow::Result<()> {
    let (code, spec) = rootfs.airbyte("spec")?;
    ensure!(
        code == 0 && of_type(&spec, "SPEC").len() == 1,
        "spec: exit {code}, {spec:?}"
    );
    println!("image: spec: one SPEC (exit 0)");

    let config = rootfs.config_file(
        "source_config.json",
        &json!({
            "settings": {
                "api_base_url": mock.base_url(), "backfill_start_time": "2h", "page_size": 100,
                "requests_per_minute": 600, "retry_base_delay_ms": 5, "max_retries": 1
            },
            "secrets": {"user_oauth_token": TOKEN},
        }),
    )?;
    let (code, check) = rootfs.airbyte(&format!("check --config {config}"))?;
    let status = of_type(&check, "CONNECTION_STATUS");
    ensure!(
        code == 0 && status.len() == 1 && status[0]["connectionStatus"]["status"] == "SUCCEEDED",
        "check: exit {code}, {check:?}"
    );
    println!("image: check: SUCCEEDED against the mock");

    let (code, discover) = rootfs.airbyte(&format!("discover --config {config}"))?;
    let catalog = of_type(&discover, "CATALOG");
    ensure!(
        code == 0 && catalog.len() == 1,
        "discover: exit {code}, {discover:?}"
    );
    let stream = catalog[0]["catalog"]["streams"][0].clone();
    ensure!(stream["name"] == "audit_logs", "discover: {stream}");
    println!("image: discover: stream audit_logs");

    let configured = rootfs.config_file(
        "source_catalog.json",
        &json!({"streams": [{
            "stream": stream, "sync_mode": "incremental", "destination_sync_mode": "append_dedup",
            "cursor_field": ["date_create"], "primary_key": [["id"]]
        }]}),
    )?;
    let (code, read1) =
        rootfs.airbyte(&format!("read --config {config} --catalog {configured}"))?;
    ensure!(code == 0, "read: exit {code}, {read1:?}");
    let ids1 = record_ids(&read1);
    let mut sorted = ids1.clone();
    sorted.sort();
    let mut wanted: Vec<String> = first.iter().map(|e| e.id.clone()).collect();
    wanted.sort();
    ensure!(
        sorted == wanted,
        "read delivered {} records, wanted each of the {} entries once",
        ids1.len(),
        first.len()
    );
    let states = of_type(&read1, "STATE");
    ensure!(!states.is_empty(), "read wrote no STATE");
    ensure!(
        statuses(&read1) == ["STARTED", "RUNNING", "COMPLETE"],
        "read: stream statuses {:?}",
        statuses(&read1)
    );
    println!(
        "image: read: {} records, {} STATEs, statuses STARTED, RUNNING, COMPLETE",
        ids1.len(),
        states.len()
    );

    // The platform passes the last STATE back as a file; a second read repeats nothing and
    // gets what is new.
    let new: Vec<slack_mock::MockEntry> = (0..20)
        .map(|i| entry(&format!("image-b-{i:04}"), now - 30 + i))
        .collect::<anyhow::Result<_>>()?;
    mock.push_entries(new.clone());
    let last = states
        .last()
        .map(|m| m["state"].clone())
        .unwrap_or_default();
    let state = rootfs.config_file("input_state.json", &json!([last]))?;
    let (code, read2) = rootfs.airbyte(&format!(
        "read --config {config} --catalog {configured} --state {state}"
    ))?;
    ensure!(code == 0, "second read: exit {code}, {read2:?}");
    let mut ids2 = record_ids(&read2);
    ids2.sort();
    let mut wanted2: Vec<String> = new.iter().map(|e| e.id.clone()).collect();
    wanted2.sort();
    ensure!(
        ids2 == wanted2,
        "second read delivered {ids2:?}, wanted only the {} new entries",
        new.len()
    );
    ensure!(
        statuses(&read2).last().map(String::as_str) == Some("COMPLETE"),
        "second read: {:?}",
        statuses(&read2)
    );
    println!(
        "image: second read with the last STATE: {} records, only the new ones, nothing repeated",
        ids2.len()
    );
    Ok(())
}

fn native_runs(rootfs: &Rootfs) -> anyhow::Result<()> {
    let config = rootfs.config_file(
        "synthetic.json",
        &json!({"settings": {"use_synthetic_data": true, "backfill_start_time": "2h", "synthetic_events_per_hour": 20000}}),
    )?;
    let mut seen = std::collections::HashSet::new();
    let mut counts = Vec::new();
    for run in 0..2 {
        let out = rootfs.sh(&format!(
            "cd /home/airbyte && /usr/local/bin/slack-audit read --config {config} --state /home/airbyte/synthetic.state.json"
        ))?;
        ensure!(
            out.status.success(),
            "native read {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut count = 0;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let record: Value = serde_json::from_str(line)?;
            let id = record["id"].as_str().unwrap_or_default().to_owned();
            ensure!(seen.insert(id.clone()), "native run {run} repeated {id}");
            count += 1;
        }
        counts.push(count);
    }
    ensure!(counts[0] > 1000, "the native backfill read {counts:?}");
    println!(
        "image: native slack-audit on synthetic data: {} then {} records, none repeated",
        counts[0], counts[1]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn metadata_fields_are_read_from_under_data_only() {
        let text = "# c\nmetadataSpecVersion: \"1.0\"\ndockerRepository: outside\ndata:\n  name: X\n  dockerRepository: a/b\n  dockerImageTag: \"1.2.3\"\n  tags:\n    - language:rust\n  nested:\n    dockerImageTag: no\nother:\n  dockerRepository: nope\n";
        let fields = metadata_fields(text);
        assert_eq!(fields["dockerRepository"], "a/b");
        assert_eq!(fields["dockerImageTag"], "1.2.3");
        assert_eq!(fields["name"], "X");
        assert!(!fields.contains_key("tags"));
    }
}
