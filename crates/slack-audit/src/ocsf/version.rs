//! The OCSF versions the events can follow (`settings.ocsf_version`), and what each lacks.
//!
//! 1.8.0 is the default: the newest the pinned generator ships. 1.3.0 is for Amazon Security
//! Lake, whose custom sources take "OCSF version 1.3 and earlier". The mapping is one table
//! for both (see [`super::table`]): a row whose class, activity or status does not exist in
//! 1.3.0 names its 1.3.0 choice in the table, and an attribute 1.3.0 lacks is not written
//! (its Slack value stays under `unmapped`, at its Slack path). Which attributes those are is
//! said here, once, checked by validating every event against the 1.3.0 schemas.
//!
//! Earlier versions are not offered: 1.1.0 (Elastic's `amazon_security_lake` integration)
//! has no Data Security Finding class, so two actions would need another class, and Security
//! Lake itself takes 1.3.0.
//!
//! The setting's type is declared with the other settings (`crate::settings`, which the
//! `ocsf` module reads, never the other way round); what each version has is said here.

pub use crate::settings::OcsfVersion;

impl OcsfVersion {
    /// Every supported version, oldest first.
    pub const ALL: [OcsfVersion; 2] = [OcsfVersion::V1_3_0, OcsfVersion::V1_8_0];

    /// The version as `metadata.version` says it (and `schemas/ocsf/<version>/` names it).
    pub const fn as_str(self) -> &'static str {
        match self {
            OcsfVersion::V1_3_0 => "1.3.0",
            OcsfVersion::V1_8_0 => "1.8.0",
        }
    }

    /// Whether `metadata.original_event_uid` exists (since 1.7.0; the entry's `id` is
    /// `metadata.uid` in every version).
    pub const fn has_original_event_uid(self) -> bool {
        matches!(self, OcsfVersion::V1_8_0)
    }

    /// Whether File Hosting Activity has `http_request` (since 1.6.0).
    pub const fn file_hosting_has_http_request(self) -> bool {
        matches!(self, OcsfVersion::V1_8_0)
    }

    /// Whether a finding's `evidences` have `http_request` (since 1.4.0).
    pub const fn evidence_has_http_request(self) -> bool {
        matches!(self, OcsfVersion::V1_8_0)
    }

    /// Whether Group Management requires a `user` or `privileges` (1.3.0 does; 1.8.0 does
    /// not).
    pub const fn group_needs_user_or_privileges(self) -> bool {
        matches!(self, OcsfVersion::V1_3_0)
    }

    /// Whether User Access Management has `resources` (since 1.5.0).
    pub const fn user_access_has_resources(self) -> bool {
        matches!(self, OcsfVersion::V1_8_0)
    }
}

impl std::fmt::Display for OcsfVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
