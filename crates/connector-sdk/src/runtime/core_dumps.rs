//! Runtime layer: no core dumps. A core dump is the process's memory written to disk (or handed
//! to a crash collector such as `systemd-coredump` or apport), the token in clear with it; so is
//! whatever a debugger attached by another process of the same user could read.
//!
//! [`disable`] runs first thing in both front ends: on Linux it marks the process not dumpable
//! (`PR_SET_DUMPABLE` 0: no core dump even through a `core_pattern` pipe, which ignores
//! `RLIMIT_CORE`, and no `ptrace` attach or `/proc/<pid>/mem` read by unprivileged processes),
//! and on every Unix it lowers `RLIMIT_CORE` to 0, soft and hard (so the limit cannot be raised
//! again, nor inherited by a child).

/// Turns core dumps off for this process; returns what could not be done (each a sentence for
/// a warning, logged once logging is up), empty when all went well.
pub fn disable() -> Vec<String> {
    let mut failures = Vec::new();
    #[cfg(target_os = "linux")]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        failures.push(format!(
            "cannot mark the process not dumpable (PR_SET_DUMPABLE): {e}"
        ));
    }
    #[cfg(unix)]
    if let Err(e) = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    ) {
        failures.push(format!("cannot set RLIMIT_CORE to 0: {e}"));
    }
    failures
}

/// Logs what [`disable`] could not do, one warning each.
pub fn warn_about(failures: &[String]) {
    for failure in failures {
        tracing::warn!(
            message = "Core dumps may still be written: a crash could put the token on disk.",
            reason = %failure,
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    #[cfg(target_os = "linux")]
    #[test]
    fn after_disable_the_process_is_not_dumpable_and_may_write_no_core() {
        assert!(super::disable().is_empty());
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
        let limit = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((limit.current, limit.maximum), (Some(0), Some(0)));
    }
}
