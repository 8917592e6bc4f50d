//! Front-end layer (cargo feature `lake`): the lake's part of the command line, for an input
//! that can be delivered into a lake ([`crate::front::cli::run_lake`]):
//!
//! ```text
//! NAME read  --config FILE --state FILE --lake LAKE [--follow] …   into the lake, exactly once
//! NAME check --config FILE --lake LAKE                              also probes every location
//! NAME status --state FILE --lake LAKE                              also shows the spool
//! NAME lake-setup --config FILE --lake LAKE                         the custom sources to create
//! ```

use std::path::Path;
use std::sync::Arc;

use crate::contract::error::ConfigError;
use crate::contract::input::{Input, StateDescription};
use crate::contract::state_rules::Destination;
use crate::runtime::checkpoint::HostError;
use crate::runtime::lake::custom_sources;
use crate::runtime::lake::lake_config::{LakeConfig, Target};
use crate::runtime::lake::lake_parts::LakeParts;
use crate::runtime::lake::lake_read::{self, LakeSetup};
use crate::runtime::lake::layout::LakeLayout;
use crate::runtime::lake::spool;

/// The layout of an input's records for a target ([`LakeInput::lake_layout`](crate::runtime::lake::layout::LakeInput::lake_layout)).
pub(crate) type LayoutFn<I> = fn(&I, &Target) -> Result<Arc<dyn LakeLayout>, ConfigError>;

/// What the command line needs to deliver input `I` into a lake.
pub(crate) struct LakeCommands<I> {
    pub(crate) parts: LakeParts,
    pub(crate) layout: LayoutFn<I>,
}

/// The lake file at `path`, and everything it needs for `input`, checked.
pub(crate) fn load_setup<I: Input>(
    commands: &LakeCommands<I>,
    input: &I,
    path: &Path,
) -> Result<(LakeConfig, LakeSetup), HostError> {
    let lake = lake_read::load(path)?;
    let layout = (commands.layout)(input, &lake.target)?;
    let setup = lake_read::setup_with(layout, &lake, &commands.parts)?;
    Ok((lake, setup))
}

/// `check --lake`: the lake file, then a probe of every location.
pub(crate) async fn check<I: Input>(
    commands: &LakeCommands<I>,
    input: &I,
    path: &Path,
) -> Result<Vec<String>, HostError> {
    let (_, setup) = load_setup(commands, input, path)?;
    lake_read::probe(&setup).await
}

/// `lake-setup`: the custom sources to create.
pub(crate) fn setup_text<I: Input>(
    commands: &LakeCommands<I>,
    input: &I,
    path: &Path,
) -> Result<String, HostError> {
    let lake = lake_read::load(path)?;
    let layout = (commands.layout)(input, &lake.target)?;
    Ok(custom_sources::setup_text(&lake, layout.tables())?)
}

/// `status --lake`: the spool, read-only.
pub(crate) fn spool_status(
    path: &Path,
    destination: Option<&Destination>,
) -> Result<StateDescription, HostError> {
    let lake = lake_read::load(path)?;
    spool::status(&lake.spool.dir, destination, lake.spool.max_bytes).map_err(|e| {
        HostError::Destination {
            kind: crate::contract::error::ErrorKind::Fatal,
            message: e.to_string(),
        }
    })
}
