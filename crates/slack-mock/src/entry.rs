//! Audit log entries as the mock stores them: the entry's JSON text, served verbatim, plus
//! the few fields the mock sorts and filters on.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// One audit event of the mock's dataset.
///
/// `json` is the whole entry object, served byte for byte inside `entries`; the other fields
/// are what the mock sorts (`date_create`, then `id`) and filters (`action`, `actor`,
/// `entity`) on. They are not checked against `json`: build entries with
/// [`MockEntry::from_json`] to keep them consistent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockEntry {
    /// The entry's `id`.
    pub id: String,
    /// The entry's `date_create` (unix seconds).
    pub date_create: i64,
    /// The whole entry object's JSON text, served verbatim (must be one valid JSON object).
    pub json: Arc<str>,
    /// `action`, matched by the `action` filter.
    pub action: Option<String>,
    /// `actor.user.id`, matched by the `actor` filter.
    pub actor: Option<String>,
    /// `entity.<entity.type>.id`, matched by the `entity` filter.
    pub entity: Option<String>,
}

/// Why [`MockEntry::from_json`] refused a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError(String);

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid mock entry: {}", self.0)
    }
}

impl std::error::Error for EntryError {}

impl MockEntry {
    /// Reads `id` (string), `date_create` (integer), `action`, `actor.user.id` and
    /// `entity.<entity.type>.id` from an entry's JSON text; the text (trimmed) is kept and
    /// served verbatim. Fails if the text is not a JSON object with a string `id` and an
    /// integer `date_create`.
    pub fn from_json(text: &str) -> Result<Self, EntryError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| EntryError(format!("not JSON: {e}")))?;
        let mut entry = Self::fields_of(&value)?;
        entry.json = Arc::from(text.trim());
        Ok(entry)
    }

    /// Like [`MockEntry::from_json`], from a parsed value (serialized compactly).
    pub fn from_value(value: &Value) -> Result<Self, EntryError> {
        let mut entry = Self::fields_of(value)?;
        entry.json = Arc::from(value.to_string());
        Ok(entry)
    }

    /// A small but realistic entry (shaped like Slack's documented example) with a user
    /// actor and a user entity. Handy for tests.
    pub fn synthetic(id: &str, date_create: i64, action: &str, actor: &str, entity: &str) -> Self {
        let value = serde_json::json!({
            "id": id,
            "date_create": date_create,
            "action": action,
            "actor": {"type": "user", "user": {"id": actor, "name": "ada", "email": "ada@example.com", "team": "E0AAAAAAA"}},
            "entity": {"type": "user", "user": {"id": entity, "name": "bob", "email": "bob@example.com", "team": "E0AAAAAAA"}},
            "context": {
                "location": {"type": "enterprise", "id": "E0AAAAAAA", "name": "Example Corp", "domain": "examplecorp"},
                "ua": "Mozilla/5.0", "ip_address": "203.0.113.42", "session_id": "8472881900921"
            }
        });
        Self {
            id: id.to_owned(),
            date_create,
            json: Arc::from(value.to_string()),
            action: Some(action.to_owned()),
            actor: Some(actor.to_owned()),
            entity: Some(entity.to_owned()),
        }
    }

    fn fields_of(value: &Value) -> Result<Self, EntryError> {
        let obj = value
            .as_object()
            .ok_or_else(|| EntryError("not a JSON object".into()))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| EntryError("missing string `id`".into()))?
            .to_owned();
        let date_create = obj
            .get("date_create")
            .and_then(Value::as_i64)
            .ok_or_else(|| EntryError(format!("entry {id}: missing integer `date_create`")))?;
        let action = obj.get("action").and_then(Value::as_str).map(str::to_owned);
        let actor = value
            .pointer("/actor/user/id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let entity = obj.get("entity").and_then(|entity| {
            let ty = entity.get("type")?.as_str()?;
            entity.get(ty)?.get("id")?.as_str().map(str::to_owned)
        });
        Ok(Self {
            id,
            date_create,
            json: Arc::from(""),
            action,
            actor,
            entity,
        })
    }
}
