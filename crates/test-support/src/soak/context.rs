//! The soak's shared context: its options, files (config, state, the connector's log), token,
//! mock and ledger, set up once and read by the run, the processes, the producer and the judge.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use slack_mock::MockSlack;

use super::ledger::{Ledger, Shared};
use super::options::SoakOptions;
use super::report::{SoakError, SoakProgress, io_err};

/// One soak: what every stage of it reads.
pub(super) struct Soak<'a> {
    pub(super) binary: PathBuf,
    pub(super) options: &'a SoakOptions,
    pub(super) work_dir: PathBuf,
    pub(super) config_path: PathBuf,
    pub(super) state_path: PathBuf,
    pub(super) log_path: PathBuf,
    pub(super) token: String,
    pub(super) mock: &'a MockSlack,
    pub(super) shared: Arc<Shared>,
}

impl<'a> Soak<'a> {
    pub(super) fn new(
        binary: &Path,
        options: &'a SoakOptions,
        work_dir: &Path,
        mock: &'a MockSlack,
        token: String,
    ) -> Result<Self, SoakError> {
        let config_path = work_dir.join("config.json");
        let state_path = work_dir.join("state.json");
        let log_path = work_dir.join("connector.log");
        let config = serde_json::json!({
            "settings": {
                "api_base_url": mock.base_url(),
                // Before any event the producer can stamp: the first window covers them all.
                "backfill_start_time": "10m",
                "page_size": options.page_size,
                "requests_per_minute": options.requests_per_minute,
                "late_arrival_window_seconds": options.lookback_secs,
                "request_timeout_seconds": options.request_timeout_secs,
                "max_retries": options.max_retries,
                "retry_base_delay_ms": options.retry_base_delay_ms,
            },
            "secrets": {"user_oauth_token": token},
        });
        fs::write(&config_path, config.to_string())
            .map_err(io_err(format!("write {}", config_path.display())))?;
        for stale in [&state_path, &log_path] {
            if stale.exists() {
                fs::remove_file(stale).map_err(io_err(format!("remove {}", stale.display())))?;
            }
        }
        Ok(Self {
            binary: binary.to_path_buf(),
            options,
            work_dir: work_dir.to_path_buf(),
            config_path,
            state_path,
            log_path,
            token,
            mock,
            shared: Arc::new(Shared {
                ledger: Mutex::new(Ledger::default()),
            }),
        })
    }

    pub(super) fn progress(&self, started: Instant, kills: u64) -> SoakProgress {
        let stats = self.mock.stats();
        let ledger = self.shared.ledger();
        SoakProgress {
            elapsed: started.elapsed(),
            events: ledger.pushed.len() as u64,
            delivered: ledger.deliveries.len() as u64,
            kills,
            faults: stats.faults.total(),
            requests: stats.requests,
        }
    }

    pub(super) fn all_delivered(&self) -> bool {
        let ledger = self.shared.ledger();
        ledger
            .pushed
            .keys()
            .all(|id| ledger.deliveries.contains_key(id))
    }

    /// A new process cannot know of a 429 its predecessor got: start it only once the
    /// longest `Retry-After` the mock hands out has elapsed.
    pub(super) fn restart_delay(&self) -> Duration {
        Duration::from_secs(self.options.retry_after_secs) + Duration::from_millis(250)
    }
}
