//! Contract layer: the state rules, once. What a saved state looks like, which saved states an
//! input accepts, and how an older one is upgraded: the same rules whether the state comes from
//! the native state file ([`crate::runtime::state_file`]), from `status` ([`crate::runtime::status`])
//! or from an Airbyte pipeline host ([`crate::front::airbyte::state_message`]).
//!
//! - **The envelope.** A state is stored as `{"connector": NAME, "version": N, "state": {…}}`
//!   ([`EnvelopeOut`]): [`Input::NAME`] says whose it is, [`Input::STATE_VERSION`] what shape the
//!   inner state has.
//! - **Another connector's state is refused**, and so is one written by a newer version (the
//!   operator upgrades rather than loses the position); an older version goes through
//!   [`Input::migrate_state`].
//! - **A state no run could have written is refused** ([`refuse_impossible`], through
//!   [`Input::check_state`]), never silently replaced by a fresh start.
//! - **A destination's position.** A state committed by a read into a lake also holds where the
//!   records it covers end in the lake's local spool (`"destination": {…}`, [`Destination`]).
//!   A state without it is valid as ever; one with it is only loaded by a reader that delivers
//!   to that spool ([`decode_with_destination`]): anything else refuses it, since reading it
//!   elsewhere would leave the spool's records behind or send them twice.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::error::StateError;
use crate::contract::input::Input;

/// The envelope around an input's state, as written (in the state file, and as the Airbyte
/// front end's `stream_state`).
#[derive(Serialize)]
pub struct EnvelopeOut<'a, S> {
    /// The connector that wrote it ([`Input::NAME`]).
    pub connector: &'a str,
    /// The version of the state's shape ([`Input::STATE_VERSION`]).
    pub version: u32,
    /// The input's state.
    pub state: &'a S,
    /// Where the records this state covers end in a destination's spool, when a read into a
    /// lake committed it (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<&'a Destination>,
}

impl<'a, S> EnvelopeOut<'a, S> {
    /// The envelope input `I` writes around `state`.
    pub fn of<I: Input<State = S>>(state: &'a S) -> Self {
        EnvelopeOut {
            connector: I::NAME,
            version: I::STATE_VERSION,
            state,
            destination: None,
        }
    }
}

/// Where a state's records end in the local spool of a destination (a lake): committed with the
/// input's checkpoint in one atomic write, so the spool and the state never disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// The spool's identity (its `spool.json`): a state is never read with another spool.
    pub spool_id: String,
    /// The open segment's sequence number: every segment before it is sealed.
    pub segment: u64,
    /// The open segment's committed length in bytes: what lies past it was never committed.
    pub offset: u64,
    /// The last sealed segment, if any has been sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_through: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn {
    connector: String,
    version: u32,
    state: Value,
    #[serde(default)]
    destination: Option<Destination>,
}

/// How a stored state is turned into the input's type (lets old versions be migrated).
pub type Migrate<S> = fn(u32, Value) -> Result<S, String>;

/// Decodes the bytes of a state file (read from `path`) with the refusals and migrations of
/// a state file (`StateStore::open` in the runtime): what a load does once the bytes are in memory (public for the fuzz
/// targets and tools). A state holding a destination's position is refused
/// ([`refuse_destination`]); [`decode_with_destination`] is the lake reader's load.
pub fn decode<S: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    connector: &str,
    version: u32,
    migrate: Migrate<S>,
) -> Result<S, StateError> {
    let (state, destination) = decode_with_destination(bytes, path, connector, version, migrate)?;
    refuse_destination(destination.as_ref(), path)?;
    Ok(state)
}

/// Refuses (as unusable, naming `path`) a state that holds a destination's position: only a
/// reader delivering to that destination's spool may load it.
pub fn refuse_destination(
    destination: Option<&Destination>,
    path: &Path,
) -> Result<(), StateError> {
    match destination {
        None => Ok(()),
        Some(d) => Err(StateError::Unusable {
            path: path.to_path_buf(),
            reason: format!(
                "it was committed by a read into a lake (spool {}, segment {}): read it with `--lake` and that lake's file, or the records in the spool are left behind or sent twice",
                d.spool_id, d.segment
            ),
        }),
    }
}

/// [`decode`], but a destination's position is returned beside the state instead of refused.
pub fn decode_with_destination<S: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    connector: &str,
    version: u32,
    migrate: Migrate<S>,
) -> Result<(S, Option<Destination>), StateError> {
    let unusable = |reason: String| StateError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(unusable("it is empty (truncated?)".into()));
    }
    let envelope: EnvelopeIn = serde_json::from_slice(bytes).map_err(|e| {
        let what = if e.is_eof() {
            "it is truncated"
        } else {
            "it is not a state file this connector wrote"
        };
        unusable(format!("{what} ({e})"))
    })?;
    open_envelope(envelope, path, connector, version, migrate)
}

/// Decodes a state envelope held as a JSON value (the Airbyte front end's `stream_state`) with
/// the same refusals and migrations as a state file; `path` names where it came from.
pub fn decode_envelope<S: DeserializeOwned>(
    value: Value,
    path: &Path,
    connector: &str,
    version: u32,
    migrate: Migrate<S>,
) -> Result<S, StateError> {
    let envelope: EnvelopeIn = serde_json::from_value(value).map_err(|e| StateError::Unusable {
        path: path.to_path_buf(),
        reason: format!("it is not a state this connector wrote ({e})"),
    })?;
    let (state, destination) = open_envelope(envelope, path, connector, version, migrate)?;
    refuse_destination(destination.as_ref(), path)?;
    Ok(state)
}

fn open_envelope<S: DeserializeOwned>(
    envelope: EnvelopeIn,
    path: &Path,
    connector: &str,
    version: u32,
    migrate: Migrate<S>,
) -> Result<(S, Option<Destination>), StateError> {
    let unusable = |reason: String| StateError::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    let destination = envelope.destination;
    if envelope.connector != connector {
        return Err(unusable(format!(
            "it belongs to connector {:?}, not {:?}",
            envelope.connector, connector
        )));
    }
    if envelope.version > version {
        return Err(StateError::TooNew {
            path: path.to_path_buf(),
            connector: connector.to_owned(),
            found: envelope.version,
            supported: version,
        });
    }
    if envelope.version < version {
        let state = migrate(envelope.version, envelope.state).map_err(unusable)?;
        return Ok((state, destination));
    }
    let state = serde_json::from_value(envelope.state)
        .map_err(|e| unusable(format!("its state does not have the expected shape ({e})")))?;
    Ok((state, destination))
}

/// Decodes an envelope of input `I` held as a JSON value (from `path`): [`decode_envelope`]
/// with `I`'s name, version and migration, then [`refuse_impossible`].
pub fn decode_envelope_for<I: Input>(value: Value, path: &Path) -> Result<I::State, StateError> {
    let state = decode_envelope(value, path, I::NAME, I::STATE_VERSION, I::migrate_state)?;
    refuse_impossible::<I>(&state, path)?;
    Ok(state)
}

/// Refuses (as unusable, naming `path`) a state that fails [`Input::check_state`]: a state no
/// run of `I` could have written.
pub fn refuse_impossible<I: Input>(state: &I::State, path: &Path) -> Result<(), StateError> {
    I::check_state(state).map_err(|reason| StateError::Unusable {
        path: path.to_path_buf(),
        reason: format!("it holds a state no run could have written: {reason}"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn keep(_: u32, v: Value) -> Result<Vec<u32>, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// A lake reader's state carries the spool position; every other reader (a plain state
    /// file load, an Airbyte `stream_state`) refuses it, and a state without one is as before.
    #[test]
    fn only_the_lake_reader_takes_a_state_with_a_destination() {
        let path = Path::new("s.json");
        let with = serde_json::json!({
            "connector": "t", "version": 1, "state": [3],
            "destination": {"spool_id": "abc", "segment": 4, "offset": 10},
        });
        let bytes = serde_json::to_vec(&with).unwrap();
        let (state, destination) =
            decode_with_destination::<Vec<u32>>(&bytes, path, "t", 1, keep).unwrap();
        assert_eq!(state, vec![3]);
        assert_eq!(
            destination,
            Some(Destination {
                spool_id: "abc".into(),
                segment: 4,
                offset: 10,
                sealed_through: None,
            })
        );
        let e = decode::<Vec<u32>>(&bytes, path, "t", 1, keep).unwrap_err();
        assert!(e.to_string().contains("spool abc, segment 4"), "{e}");
        let e = decode_envelope::<Vec<u32>>(with, path, "t", 1, keep).unwrap_err();
        assert!(e.to_string().contains("--lake"), "{e}");
        let old = br#"{"connector":"t","version":1,"state":[3]}"#;
        assert_eq!(
            decode::<Vec<u32>>(old, path, "t", 1, keep).unwrap(),
            vec![3]
        );
        let bad = br#"{"connector":"t","version":1,"state":[3],"destination":{"spool_id":"a"}}"#;
        assert!(decode_with_destination::<Vec<u32>>(bad, path, "t", 1, keep).is_err());
    }
}
