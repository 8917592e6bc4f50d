//! `metadata.yaml`, field by field: the fields Airbyte's `ConnectorMetadataDefinitionV0`
//! requires are present and well formed, and those the code also states agree with it (the
//! image's labels come from this file). `cargo xtask hosts` also validates the file against
//! Airbyte's published schema (the pinned `airbyte-connector-models`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use xtask::image::{metadata_fields, read_metadata};

fn metadata_text() -> String {
    std::fs::read_to_string(xtask::workspace_root().join("metadata.yaml")).unwrap()
}

#[test]
fn every_required_field_is_there_and_well_formed() {
    let text = metadata_text();
    assert!(
        text.lines().any(|l| l == "metadataSpecVersion: \"1.0\""),
        "metadataSpecVersion"
    );
    let fields = metadata_fields(&text);
    for required in [
        "name",
        "definitionId",
        "connectorType",
        "dockerRepository",
        "dockerImageTag",
        "license",
        "documentationUrl",
        "githubIssueLabel",
        "connectorSubtype",
        "releaseStage",
    ] {
        assert!(
            fields.get(required).is_some_and(|v| !v.is_empty()),
            "data.{required} is missing"
        );
    }
    assert_eq!(fields["connectorType"], "source");
    assert!(
        [
            "api",
            "database",
            "datalake",
            "file",
            "custom",
            "message_queue",
            "unknown",
            "vectorstore"
        ]
        .contains(&fields["connectorSubtype"].as_str())
    );
    assert!(
        ["alpha", "beta", "generally_available", "custom"]
            .contains(&fields["releaseStage"].as_str())
    );
    let id = &fields["definitionId"];
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "definitionId {id} is not a UUID");
    assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
}

#[test]
fn what_the_code_also_states_agrees() {
    let metadata = read_metadata(&xtask::workspace_root().join("metadata.yaml")).unwrap();
    let fields = metadata_fields(&metadata_text());
    // The image tag is the connector's version (`source-slack-audit --version`, the SPEC).
    let manifest =
        std::fs::read_to_string(xtask::workspace_root().join("crates/slack-audit/Cargo.toml"))
            .unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    assert_eq!(metadata.docker_image_tag, version);
    assert_eq!(metadata.documentation_url, slack_audit::DOCUMENTATION_URL);
    assert!(
        metadata.docker_repository.ends_with("/source-slack-audit"),
        "{}",
        metadata.docker_repository
    );
    assert_eq!(fields["license"], "Apache-2.0");
    // The Containerfile labels the image from metadata.yaml, never from a copy of its values.
    let containerfile =
        std::fs::read_to_string(xtask::workspace_root().join("xtask/image/Containerfile")).unwrap();
    assert!(containerfile.contains("io.airbyte.name=\"${NAME}\""));
    assert!(containerfile.contains("io.airbyte.version=\"${VERSION}\""));
    assert!(!containerfile.contains(&metadata.docker_image_tag));
}
