//! `cargo xtask`: the project's developer tasks, in Rust so they need nothing but the toolchain
//! (except `ocsf-schemas`, `hosts`, `lake` and `network`, which install their pinned Python packages in
//! venvs they make, and `prometheus`, `image` and `network`, which install Debian packages):
//!
//! - `schema`: the generated JSON Schemas, generated tables of README.md and `docs/`, completions and man pages;
//! - `ocsf-schemas`: the OCSF class schemas, from the official generator;
//! - `catalogue`: the bundled action catalogue and entity schemas, from a recorded answer;
//! - `replay`: the recorded API exchanges under `fixtures/`, against their snapshots;
//! - `record`: a real exchange with an organization, into a new pseudonymised fixture;
//! - `bench`: throughput, memory, overlap and pacing against a loopback mock;
//! - `soak`: follow mode against a faulty mock with kills, checked by a ledger;
//! - `hosts`: the Airbyte front end under a real pipeline host (PyAirbyte);
//! - `lake`: the lake destination against moto's S3/STS/IAM server (venv under target/): the S3
//!   writer, then `read --lake` end to end (Security Lake's layout, plain S3, kills, S3 faults),
//!   read back with pyarrow and DuckDB;
//! - `image`: the OCI image, built with Debian's tools and run as Airbyte's platform would;
//! - `mock-serve`: the loopback mock as a process, driven by JSON commands on stdin;
//! - `prometheus`: the metrics endpoint under a real Prometheus;
//! - `network`: the connector behind a private CA, mitmproxy and squid;
//! - `mutants`: the scoped mutation run of the checkpoint path;
//! - `fuzz`: every `cargo fuzz` target of `fuzz/`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Developer tasks for the Slack audit connector"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Write the generated JSON Schemas into schemas/ (with --check: fail if they are stale).
    Schema(xtask::schema::SchemaArgs),
    /// Generate the OCSF class schemas into schemas/ocsf/ with Python (with --check: fail if
    /// they are stale).
    OcsfSchemas(xtask::ocsf_schemas::OcsfSchemasArgs),
    /// Refresh the bundled action catalogue and entity schemas from recorded answers of
    /// Slack's GET /audit/v1/actions and /schemas.
    Catalogue(xtask::catalogue::CatalogueArgs),
    /// Replay recorded API exchanges (fixtures/slack-audit/<case>) and snapshot the outcome.
    Replay(xtask::replay::ReplayArgs),
    /// Record a real exchange with your organization into a new, pseudonymised fixture.
    Record(xtask::record::RecordArgs),
    /// Measure throughput, memory, overlap and pacing against a loopback mock.
    Bench(xtask::bench::BenchArgs),
    /// Run the connector in follow mode against a faulty mock with kills, and check the ledger.
    Soak(xtask::soak::SoakArgs),
    /// Run the Airbyte front end under a real pipeline host (PyAirbyte, in a venv under target/).
    Hosts(xtask::hosts::HostsArgs),
    /// Build the connector's OCI image with Debian's tools (with --test: run it as Airbyte's
    /// platform would).
    Image(xtask::image::ImageArgs),
    /// Check the lake destination against moto's S3, STS and IAM (installed in a venv under
    /// target/ with boto3, pyarrow and DuckDB).
    Lake(xtask::lake::LakeArgs),
    /// Serve the loopback mock of Slack, driven by JSON commands on stdin (for the host tests).
    MockServe(xtask::mock_serve::MockServeArgs),
    /// Check the metrics endpoint with a real Prometheus (installs Debian's package if needed).
    Prometheus(xtask::prometheus::PrometheusArgs),
    /// Behind a corporate network: a private-CA upstream, mitmproxy and squid (real components,
    /// installed in a venv under target/ and from Debian).
    Network(xtask::network::NetworkArgs),
    /// Mutation-test the checkpoint path (cargo-mutants, scoped; figures in TESTING.md).
    Mutants(xtask::mutants::MutantsArgs),
    /// Run every `cargo fuzz` target of fuzz/ for --seconds each (nightly; figures in TESTING.md).
    Fuzz(xtask::fuzz::FuzzArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Schema(args) => xtask::schema::run(&args),
        Task::OcsfSchemas(args) => xtask::ocsf_schemas::run(&args),
        Task::Catalogue(args) => xtask::catalogue::run(&args),
        Task::Replay(args) => xtask::replay::run(&args),
        Task::Record(args) => xtask::record::run(&args),
        Task::Bench(args) => xtask::bench::run(&args),
        Task::Soak(args) => xtask::soak::run(&args),
        Task::Hosts(args) => xtask::hosts::run(&args),
        Task::Image(args) => xtask::image::run(&args),
        Task::Lake(args) => xtask::lake::run(&args),
        Task::MockServe(args) => xtask::mock_serve::run(&args),
        Task::Prometheus(args) => xtask::prometheus::run(&args),
        Task::Mutants(args) => xtask::mutants::run(&args),
        Task::Network(args) => xtask::network::run(&args),
        Task::Fuzz(args) => xtask::fuzz::run(&args),
    }
}
