//! One connector process: starting it on the soak's config, reading its stdout into the
//! ledger, killing it (plainly or the instant it writes), stopping it with SIGTERM, and its log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::context::Soak;
use super::ledger::{Shared, record_line};
use super::report::{SoakError, io_err};

/// Bytes of the connector's log quoted in a report when a check failed.
pub(super) const LOG_TAIL_BYTES: u64 = 8 * 1024;
/// How long a kill waits for output before killing a quiet connector plainly.
pub(super) const ARMED_KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// A running connector process and the thread reading its stdout.
pub(super) struct Instance {
    pub(super) index: usize,
    pub(super) child: Child,
    pub(super) reader: Option<thread::JoinHandle<()>>,
    pub(super) tripwire: Arc<Tripwire>,
}

impl Instance {
    pub(super) fn join_reader(&mut self) {
        if let Some(handle) = self.reader.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Only on an early return: never leave a connector running behind us.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.join_reader();
    }
}

impl Soak<'_> {
    pub(super) fn spawn(&self, index: usize) -> Result<Instance, SoakError> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_err(format!("open {}", self.log_path.display())))?;
        writeln!(log, "===== soak: connector process #{index} starts =====")
            .map_err(io_err("write the connector log"))?;
        let mut child = Command::new(&self.binary)
            .arg("read")
            .arg("--config")
            .arg(&self.config_path)
            .arg("--state")
            .arg(&self.state_path)
            .arg("--follow")
            .arg("--poll-interval")
            .arg(format!("{}", self.options.poll_interval.as_secs_f64()))
            .env("RUST_LOG", "info")
            .env("LOG_FORMAT", "human")
            .env("NO_COLOR", "1")
            .current_dir(&self.work_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(io_err(format!("start {}", self.binary.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(SoakError::Io {
                what: "take the connector's stdout".into(),
                source: io::Error::other("no stdout pipe"),
            });
        };
        self.shared.ledger().lines.push(0);
        let shared = Arc::clone(&self.shared);
        let tripwire = Arc::new(Tripwire::new(&child));
        let wire = Arc::clone(&tripwire);
        let reader = thread::Builder::new()
            .name(format!("soak-stdout-{index}"))
            .spawn(move || read_stdout(index, stdout, &shared, &wire))
            .map_err(io_err("start a stdout reader"));
        match reader {
            Ok(handle) => Ok(Instance {
                index,
                child,
                reader: Some(handle),
                tripwire,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// SIGKILLs and reaps `instance`. With `on_output`, the kill is left to its stdout reader,
    /// which fires on the next line it reads: the moment a batch has been flushed and its
    /// checkpoint is being saved, the worst moment for exactly-once. Returns whether it was
    /// killed that way (a quiet connector is killed plainly after a while).
    pub(super) fn kill(&self, instance: &mut Instance, on_output: bool) -> Result<Kill, SoakError> {
        let mut tripped = false;
        if on_output && instance.tripwire.arm() {
            let armed = Instant::now();
            while armed.elapsed() < ARMED_KILL_TIMEOUT {
                if let Some(status) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    instance.tripwire.disarm();
                    if status.code().is_some() {
                        // It stopped on its own, not by the tripwire.
                        return Ok(Kill::ExitedFirst(status));
                    }
                    tripped = true;
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
            instance.tripwire.disarm();
        }
        if !tripped {
            instance
                .child
                .kill()
                .map_err(io_err("SIGKILL the connector"))?;
        }
        instance
            .child
            .wait()
            .map_err(io_err("reap the connector"))?;
        Ok(if tripped { Kill::OnOutput } else { Kill::Plain })
    }
}

/// How [`Soak::kill`] went.
pub(super) enum Kill {
    Plain,
    OnOutput,
    /// The process exited on its own while the kill waited for output.
    ExitedFirst(ExitStatus),
}

/// Lets a stdout reader SIGKILL its process the instant a line arrives. The orchestrator
/// does not reap the child while the wire is armed, so the pid cannot have been reused.
pub(super) struct Tripwire {
    pub(super) armed: AtomicBool,
    #[cfg(unix)]
    pub(super) pid: rustix::process::Pid,
}

impl Tripwire {
    pub(super) fn new(child: &Child) -> Self {
        #[cfg(not(unix))]
        let _ = child;
        Self {
            armed: AtomicBool::new(false),
            #[cfg(unix)]
            pid: rustix::process::Pid::from_child(child),
        }
    }

    /// Arms the wire; `false` where it cannot work (not unix).
    pub(super) fn arm(&self) -> bool {
        self.armed.store(cfg!(unix), Ordering::SeqCst);
        cfg!(unix)
    }

    pub(super) fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    pub(super) fn fire_if_armed(&self) {
        if self.armed.swap(false, Ordering::SeqCst) {
            #[cfg(unix)]
            {
                use rustix::process::{Signal, kill_process};
                let _ = kill_process(self.pid, Signal::KILL);
            }
        }
    }
}

/// Reads one instance's stdout to EOF, recording every complete line.
pub(super) fn read_stdout(
    instance: usize,
    stdout: ChildStdout,
    shared: &Shared,
    tripwire: &Tripwire,
) {
    let mut reader = BufReader::with_capacity(1 << 16, stdout);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) if line.last() == Some(&b'\n') => {
                // First, so the kill lands between "flushed" and "checkpoint saved".
                tripwire.fire_if_armed();
                let at = Instant::now();
                line.pop();
                record_line(instance, &line, at, shared);
            }
            Ok(_) => {
                // EOF in the middle of a line: the process died while writing it.
                shared.ledger().torn.push(instance);
                return;
            }
            Err(e) => {
                shared.ledger().bad_lines.push(format!(
                    "reading the stdout of process #{instance} failed: {e}"
                ));
                return;
            }
        }
    }
}

/// SIGTERM (on unix; elsewhere the closest thing, a kill).
pub(super) fn terminate(child: &mut Child) -> io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process};
        kill_process(Pid::from_child(child), Signal::TERM).map_err(io::Error::from)
    }
    #[cfg(not(unix))]
    {
        child.kill()
    }
}

pub(super) fn log_contains(path: &Path, needle: &str) -> bool {
    fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

pub(super) fn log_tail(path: &Path) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)))
        .ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}
