//! The run: the producer thread, the connector started and SIGKILLed at random while events
//! flow, the catch-up, and the final SIGTERM.

use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use slack_mock::SplitMix64;

use super::context::Soak;
use super::ledger::End;
use super::process::{Instance, Kill, terminate};
use super::produce::{TICK, uniform};
use super::report::{SoakError, SoakProgress, io_err, ms};

/// What the run produced, for the judge.
pub(super) struct RunOutcome {
    pub(super) started: Instant,
    pub(super) ends: Vec<End>,
    pub(super) kills: u64,
    pub(super) kills_on_output: u64,
    pub(super) elapsed: Duration,
    pub(super) caught_up: bool,
    pub(super) term_exit_code: Option<i32>,
    pub(super) term_wait: Duration,
    pub(super) violations: Vec<String>,
}

impl Soak<'_> {
    /// Produces, kills, catches up, stops.
    pub(super) fn drive(
        &self,
        progress: &mut impl FnMut(&SoakProgress),
    ) -> Result<RunOutcome, SoakError> {
        let o = self.options;
        let started = Instant::now();
        let stop = AtomicBool::new(false);
        let mut kill_rng = SplitMix64::new(o.seed ^ 0x6b_69_6c_6c);
        let mut violations = Vec::new();
        let mut ends: Vec<End> = Vec::new();
        let mut kills = 0u64;
        let mut kills_on_output = 0u64;
        let mut last_progress = Instant::now();

        let result = thread::scope(|scope| -> Result<RunOutcome, SoakError> {
            let producer = thread::Builder::new()
                .name("soak-producer".into())
                .spawn_scoped(scope, || self.produce(&stop))
                .map_err(io_err("start the producer"))?;
            let guard = StopOnDrop(&stop);

            let mut instance = self.spawn(0)?;
            ends.push(End::Running);
            let end_of_production = started + o.duration;
            let mut next_kill = started + uniform(&mut kill_rng, o.kill_interval);

            // Phase 1: events flow, faults fire, the connector is killed now and then.
            while Instant::now() < end_of_production {
                thread::sleep(TICK);
                if last_progress.elapsed() >= o.progress_every {
                    progress(&self.progress(started, kills));
                    last_progress = Instant::now();
                }
                let restarted;
                (instance, restarted) =
                    self.restart_if_exited(instance, &mut ends, &mut violations)?;
                if restarted {
                    continue;
                }
                if Instant::now() >= next_kill {
                    let on_output = kill_rng.next_f64() < o.kill_on_output_fraction;
                    match self.kill(&mut instance, on_output)? {
                        Kill::ExitedFirst(status) => {
                            instance = self.after_unexpected_exit(
                                instance,
                                status,
                                &mut ends,
                                &mut violations,
                            )?;
                        }
                        how => {
                            if let Kill::OnOutput = how {
                                kills_on_output += 1;
                            }
                            instance.join_reader();
                            ends[instance.index] = End::Killed;
                            kills += 1;
                            thread::sleep(self.restart_delay());
                            let next = instance.index + 1;
                            drop(instance);
                            instance = self.spawn(next)?;
                            ends.push(End::Running);
                        }
                    }
                    next_kill = Instant::now() + uniform(&mut kill_rng, o.kill_interval);
                }
            }
            drop(guard);
            let _ = producer.join();

            // Phase 2: no more events; every one of them must come out.
            let catch_up_started = Instant::now();
            let mut caught_up = false;
            while catch_up_started.elapsed() < o.catch_up_timeout {
                if self.all_delivered() {
                    caught_up = true;
                    break;
                }
                (instance, _) = self.restart_if_exited(instance, &mut ends, &mut violations)?;
                if last_progress.elapsed() >= o.progress_every {
                    progress(&self.progress(started, kills));
                    last_progress = Instant::now();
                }
                thread::sleep(TICK);
            }
            if !caught_up {
                violations.push(format!(
                    "the connector did not deliver every event within {} after producing stopped",
                    ms(o.catch_up_timeout)
                ));
            }
            // Keep watching a little: a stray repeat would show up now.
            let settle_until = Instant::now() + o.settle;
            while Instant::now() < settle_until {
                (instance, _) = self.restart_if_exited(instance, &mut ends, &mut violations)?;
                thread::sleep(TICK);
            }

            // Phase 3: SIGTERM must stop it cleanly and promptly.
            let term_sent = Instant::now();
            terminate(&mut instance.child).map_err(io_err("SIGTERM the connector"))?;
            let mut status: Option<ExitStatus> = None;
            while term_sent.elapsed() < o.term_timeout {
                if let Some(s) = instance
                    .child
                    .try_wait()
                    .map_err(io_err("poll the connector"))?
                {
                    status = Some(s);
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let term_wait = term_sent.elapsed();
            let term_exit_code = match status {
                Some(s) => {
                    if s.code() != Some(0) {
                        violations.push(format!(
                            "after SIGTERM the connector exited with {s}, not 0"
                        ));
                    }
                    s.code()
                }
                None => {
                    violations.push(format!(
                        "the connector did not exit within {} of SIGTERM",
                        ms(o.term_timeout)
                    ));
                    let _ = instance.child.kill();
                    let _ = instance.child.wait();
                    None
                }
            };
            instance.join_reader();
            ends[instance.index] = End::Terminated;
            Ok(RunOutcome {
                started,
                ends: ends.clone(),
                kills,
                kills_on_output,
                elapsed: started.elapsed(),
                caught_up,
                term_exit_code,
                term_wait,
                violations: std::mem::take(&mut violations),
            })
        });
        stop.store(true, Ordering::SeqCst);
        result
    }

    /// Restarts `instance` if it exited on its own ([`Self::after_unexpected_exit`]); the
    /// instance to watch next, and whether it was restarted.
    fn restart_if_exited(
        &self,
        mut instance: Instance,
        ends: &mut Vec<End>,
        violations: &mut Vec<String>,
    ) -> Result<(Instance, bool), SoakError> {
        match instance
            .child
            .try_wait()
            .map_err(io_err("poll the connector"))?
        {
            Some(status) => {
                let next = self.after_unexpected_exit(instance, status, ends, violations)?;
                Ok((next, true))
            }
            None => Ok((instance, false)),
        }
    }

    pub(super) fn after_unexpected_exit(
        &self,
        mut instance: Instance,
        status: ExitStatus,
        ends: &mut Vec<End>,
        violations: &mut Vec<String>,
    ) -> Result<Instance, SoakError> {
        instance.join_reader();
        let what = status.to_string();
        violations.push(format!(
            "connector process #{} exited on its own ({what}); it was restarted",
            instance.index
        ));
        if let Some(end) = ends.get_mut(instance.index) {
            *end = End::Exited(what);
        }
        let next = instance.index + 1;
        drop(instance);
        thread::sleep(self.restart_delay());
        let instance = self.spawn(next)?;
        ends.push(End::Running);
        Ok(instance)
    }
}

/// Sets the stop flag if the orchestrator returns early, so the scoped producer ends.
pub(super) struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
