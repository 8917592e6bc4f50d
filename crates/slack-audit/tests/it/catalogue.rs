//! `slack-audit actions` against the mock's `GET /audit/v1/actions` and `/schemas`: what is
//! new is reported (with the class a new action falls into today) and exits 5, nothing new
//! exits 0, and no token is ever sent.

use std::process::Output;

use serde_json::{Value, json};
use slack_mock::{ACTIONS_PATH, MockConfig, MockSlack, SCHEMAS_PATH};

use crate::support::*;

/// The bundled answers, with `plant` applied to their JSON.
fn documents(plant: impl FnOnce(&mut Value, &mut Value)) -> (String, String) {
    let mut actions: Value = serde_json::from_str(slack_audit_model::ACTIONS_JSON).unwrap();
    let mut schemas: Value = serde_json::from_str(slack_audit_model::SCHEMAS_JSON).unwrap();
    plant(&mut actions, &mut schemas);
    (actions.to_string(), schemas.to_string())
}

async fn serving(plant: impl FnOnce(&mut Value, &mut Value)) -> MockSlack {
    let (actions, schemas) = documents(plant);
    mock_with(MockConfig {
        actions_document: Some(actions),
        schemas_document: Some(schemas),
        ..MockConfig::default()
    })
    .await
}

async fn actions_command(mock: &MockSlack, extra: &[&str]) -> Output {
    let work = Workdir::new();
    let config = work.write_config(&config(settings(mock, json!({}))));
    let mut args = vec!["actions", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_binary(&args, &[]).await
}

fn no_token_was_sent(mock: &MockSlack) {
    let requests = mock.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, [ACTIONS_PATH, SCHEMAS_PATH]);
    for request in &requests {
        assert!(request.header("authorization").is_none(), "{request:?}");
    }
}

#[tokio::test]
async fn a_planted_new_action_and_entity_field_are_reported_and_exit_non_zero() {
    let mock = serving(|actions, schemas| {
        actions["actions"]["file"]
            .as_array_mut()
            .unwrap()
            .push("file_teleported".into());
        let channel = schemas["schemas"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["type"] == "channel")
            .unwrap();
        channel["channel"]["is_frozen"] = "boolean".into();
    })
    .await;
    let out = actions_command(&mock, &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for words in [
        "New actions, not in the bundled catalogue (1):",
        "file_teleported (category file): OCSF API Activity (6003), activity_id 99 (Other)",
        "New fields of known entity types (1):",
        "channel: is_frozen",
        "Something is new",
    ] {
        assert!(text.contains(words), "{words:?} not in: {text}");
    }
    no_token_was_sent(&mock);

    let json_out = actions_command(&mock, &["--json"]).await;
    assert_eq!(json_out.status.code(), Some(5));
    let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["new_actions"][0]["action"], "file_teleported");
    assert_eq!(report["new_actions"][0]["class_uid"], 6003);
    assert_eq!(report["new_fields"]["channel"], json!(["is_frozen"]));
    assert_eq!(report["something_new"], true);
}

/// Each alone is enough for the scheduled job to hear of it.
#[tokio::test]
async fn a_new_field_or_entity_type_alone_exits_non_zero() {
    let field = serving(|_, schemas| {
        let user = schemas["schemas"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|s| s["type"] == "user")
            .unwrap();
        user["user"]["agent_id"] = "string".into();
    })
    .await;
    let out = actions_command(&field, &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(text.contains("user: agent_id"), "{text}");
    assert!(!text.contains("New actions"), "{text}");

    let kind = serving(|_, schemas| {
        schemas["schemas"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "agent", "agent": {"id": "string"}}));
    })
    .await;
    let out = actions_command(&kind, &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(
        text.contains("New entity types (1):\n  agent: id"),
        "{text}"
    );
}

#[tokio::test]
async fn nothing_new_exits_zero_and_a_gone_action_is_said() {
    let mock = serving(|actions, _| {
        actions["actions"]["user"]
            .as_array_mut()
            .unwrap()
            .retain(|a| a != "user_login");
    })
    .await;
    let out = actions_command(&mock, &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Actions gone"), "{text}");
    assert!(text.contains("  user_login\n"), "{text}");
    assert!(text.ends_with("Nothing new.\n"), "{text}");
    no_token_was_sent(&mock);

    // Without a config: the base URL alone, checked as api_base_url is.
    let mock = serving(|_, _| {}).await;
    let out = run_binary(&["actions", "--api-base-url", &mock.base_url()], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_token_was_sent(&mock);
    let out = run_binary(&["actions", "--api-base-url", "https://evil.example"], &[]).await;
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("is not Slack's API"), "{text}");
}

#[tokio::test]
async fn an_answer_that_is_not_the_catalogue_is_an_error() {
    let mock = mock_with(MockConfig {
        actions_document: Some(r#"{"ok":true}"#.into()),
        schemas_document: Some(r#"{"schemas":[]}"#.into()),
        ..MockConfig::default()
    })
    .await;
    let out = actions_command(&mock, &[]).await;
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("no `actions` object"), "{text}");
}

#[tokio::test]
async fn help_lists_the_actions_command() {
    let out = run_binary(&["--help"], &[]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("actions") && text.contains("Compare Slack's live action catalogue"),
        "{text}"
    );
}
