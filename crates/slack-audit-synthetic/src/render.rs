//! Turning one draw into one audit entry: actor, entity, location, client, details, JSON.
//!
//! Why it looks like this: this is the hot path (hundreds of thousands of events per second),
//! so an event is a small `Serialize` frame of borrowed, pre-rendered fragments written by
//! `serde_json` into a reused buffer; only the rare events whose content depends on the moment
//! (anomalies, huddles, renames, exports, …) build `slack_audit_model::entry` values on the spot. The frame
//! mirrors [`slack_audit_model::entry::AuditEntry`] field for field, in Slack's key order.

use serde::{Serialize, Serializer};
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Value, json};

use super::plan::{ActionSpec, ActorKind, DetailKind, Place, Plan, Target};
use super::population::{Person, Population, Quoted, Role, Selection};
use super::rng::{SplitMix64, hash_words};
use super::vocab::{ANOMALY_LOCATIONS, ANOMALY_REASONS, EMOJI};
use slack_audit_model::entry::{Details, Entity, ExtraFields, MessageRef, ObjectRef, Reason};

/// Stream tags keep the hashes of unrelated decisions independent.
const EVENT_STREAM: u64 = 0x4556_454e_5453;
const SESSION_STREAM: u64 = 0x5345_5353;
const OFFICE_DAY_STREAM: u64 = 0x4f46_4649_4345;
const HUDDLE_STREAM: u64 = 0x4855_4444_4c45;
const ANOMALY_STREAM: u64 = 0x414e_4f4d;

/// Share of a phone user's events that come from the phone.
const PHONE_EVENT_SHARE: f64 = 0.22;
/// Percentage of days an office worker works from home.
const HOME_OFFICE_DAY_PERCENT: u64 = 30;
/// Session ids are 13-digit numbers, like the ones Slack sends.
const SESSION_ID_BASE: u64 = 1_000_000_000_000;
const SESSION_ID_SPAN: u64 = 9_000_000_000_000;
/// A huddle lasts at most this long in the generator's world.
const HUDDLE_BLOCK_SECONDS: i64 = 1800;

/// One generated audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticEvent {
    /// The entry's `id` (UUID v4 format).
    pub id: String,
    /// The entry's `date_create`, unix seconds.
    pub date_create: i64,
    /// The complete entry as compact JSON, shaped exactly like an entry of `GET /audit/v1/logs`.
    pub json: String,
}

/// What turning a draw into an entry reads: the organization's hash key, its people and
/// objects, and its action plan (borrowed from the `SyntheticOrg` it renders for).
pub(super) struct Renderer<'a> {
    /// Mixed seed every per-event hash starts from.
    pub(super) key: u64,
    pub(super) population: &'a Population,
    pub(super) plan: &'a Plan,
}

/// Who performs the event.
#[derive(Clone, Copy)]
enum Performer {
    Person(usize),
    Slack,
    SlackSecurity,
}

/// A fragment borrowed from the population or built for this event.
enum Piece<'a> {
    Shared(&'a RawValue),
    Owned(Box<RawValue>),
}

impl Piece<'_> {
    fn raw(&self) -> &RawValue {
        match self {
            Piece::Shared(raw) => raw,
            Piece::Owned(raw) => raw,
        }
    }
}

/// The entity of an event and what else the event may need to know about it.
struct Targeted<'a> {
    entity: Piece<'a>,
    workspace: Option<usize>,
    app: Option<usize>,
    channel: Option<usize>,
}

/// `context.session_id` as it goes out.
#[derive(Clone, Copy)]
enum SessionFrame {
    Text(u64),
    Number(u64),
    Null,
}

impl Serialize for SessionFrame {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SessionFrame::Text(number) => serializer.collect_str(number),
            SessionFrame::Number(number) => serializer.serialize_u64(*number),
            SessionFrame::Null => serializer.serialize_unit(),
        }
    }
}

/// The client side of an event: `ua`, `ip_address`, `session_id`, `app`.
struct Client<'a> {
    ua: &'a Quoted,
    ip: &'a Quoted,
    session: SessionFrame,
    app: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct EntryFrame<'a> {
    id: &'a str,
    date_create: i64,
    action: &'a str,
    actor: &'a RawValue,
    entity: &'a RawValue,
    context: ContextFrame<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct ContextFrame<'a> {
    location: &'a RawValue,
    ua: &'a RawValue,
    ip_address: &'a RawValue,
    session_id: SessionFrame,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a RawValue>,
}

fn owned<T: Serialize>(value: &T) -> Option<Piece<'static>> {
    to_raw_value(value).ok().map(Piece::Owned)
}

fn details_with(fields: Value) -> Option<Piece<'static>> {
    let Value::Object(extra) = fields else {
        return None;
    };
    owned(&Details {
        extra,
        ..Details::default()
    })
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, as export details show times.
fn timestamp_text(second: i64) -> String {
    chrono::DateTime::from_timestamp(second, 0)
        .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A Slack-style id (`prefix`, `0`, nine uppercase alphanumerics) derived from a hash.
fn id_from_hash(prefix: &str, mut hash: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut id = String::with_capacity(prefix.len() + 10);
    id.push_str(prefix);
    id.push('0');
    for _ in 0..9 {
        id.push(char::from(ALPHABET[(hash % 36) as usize]));
        hash /= 36;
    }
    id
}

impl Renderer<'_> {
    /// Renders event `ordinal` of `second` and appends it to `out`.
    pub(super) fn render_event(
        &self,
        second: i64,
        ordinal: usize,
        buffer: &mut Vec<u8>,
        out: &mut Vec<SyntheticEvent>,
    ) {
        let mut rng = SplitMix64::new(hash_words(&[
            self.key,
            second as u64,
            ordinal as u64,
            EVENT_STREAM,
        ]));
        let mut id_bytes = [0_u8; 16];
        id_bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
        id_bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
        let uuid = uuid::Builder::from_random_bytes(id_bytes).into_uuid();
        let mut id_text = uuid::Uuid::encode_buffer();
        let id: &str = uuid.hyphenated().encode_lower(&mut id_text);

        let Some(spec) = self.plan.pick(&mut rng) else {
            return;
        };
        let performer = self.performer(spec, &mut rng);
        let home = self.home_workspace(performer);
        let target = self.target(spec, performer, home, second, &mut rng);
        let population = &self.population;
        let location = match spec.place {
            Place::Enterprise => &population.enterprise.location,
            Place::Target => population
                .workspaces
                .get(target.workspace.unwrap_or(home))
                .map_or(&population.enterprise.location, |team| &team.location),
        };
        let usual = self.usual_client(spec, performer, second, &mut rng);
        let (client, details) = if spec.details == DetailKind::Anomaly {
            let unusual = self.anomalous_client(performer, second, &mut rng);
            let details = Self::anomaly_details(&usual, second, &mut rng);
            (unusual, details)
        } else {
            let details = self.details(spec, &target, second, &mut rng);
            (usual, details)
        };

        let frame = EntryFrame {
            id,
            date_create: second,
            action: spec.name,
            actor: self.actor_fragment(performer),
            entity: target.entity.raw(),
            context: ContextFrame {
                location,
                ua: &client.ua.json,
                ip_address: &client.ip.json,
                session_id: client.session,
                app: client.app,
            },
            details: details.as_ref().map(Piece::raw),
        };
        buffer.clear();
        if serde_json::to_writer(&mut *buffer, &frame).is_err() {
            return;
        }
        if let Ok(json) = std::str::from_utf8(buffer) {
            out.push(SyntheticEvent {
                id: id.to_owned(),
                date_create: second,
                json: json.to_owned(),
            });
        }
    }

    fn performer(&self, spec: &ActionSpec, rng: &mut SplitMix64) -> Performer {
        let population = &self.population;
        if spec.bot_share > 0.0
            && rng.chance(spec.bot_share)
            && let Some(&bot) = rng.pick(&population.bots)
        {
            return Performer::Person(bot);
        }
        let member = |rng: &mut SplitMix64| {
            population
                .members
                .get(population.member_activity.sample(rng))
                .copied()
        };
        let chosen = match spec.actor {
            ActorKind::Slack => return Performer::Slack,
            ActorKind::SlackSecurity => return Performer::SlackSecurity,
            ActorKind::Anyone => population
                .humans
                .get(population.human_activity.sample(rng))
                .copied(),
            ActorKind::Member => member(rng),
            ActorKind::Guest => rng.pick(&population.guests).copied(),
            ActorKind::Admin => rng.pick(&population.admins).copied(),
            ActorKind::Owner => rng.pick(&population.owners).copied(),
        };
        chosen
            .or_else(|| member(rng))
            .map_or(Performer::Slack, Performer::Person)
    }

    fn person(&self, performer: Performer) -> Option<(usize, &Person)> {
        match performer {
            Performer::Person(index) => self.population.people.get(index).map(|p| (index, p)),
            Performer::Slack | Performer::SlackSecurity => None,
        }
    }

    fn home_workspace(&self, performer: Performer) -> usize {
        self.person(performer)
            .map_or(0, |(_, person)| person.home_workspace)
    }

    fn actor_fragment(&self, performer: Performer) -> &RawValue {
        let population = &self.population;
        match performer {
            Performer::Slack => &population.slack_actor,
            Performer::SlackSecurity => &population.security_actor,
            Performer::Person(_) => self
                .person(performer)
                .map_or(&*population.slack_actor, |(_, person)| &person.actor),
        }
    }

    fn target<'a>(
        &'a self,
        spec: &ActionSpec,
        performer: Performer,
        home: usize,
        second: i64,
        rng: &mut SplitMix64,
    ) -> Targeted<'a> {
        let population = &self.population;
        let placed = |pool: &'a super::population::Pool, rng: &mut SplitMix64| {
            pool.pick(rng, home).map(|item| Targeted {
                entity: Piece::Shared(&item.entity),
                workspace: Some(item.workspace),
                app: None,
                channel: None,
            })
        };
        let channel = |selection: &Selection, rng: &mut SplitMix64| {
            selection
                .pick(rng, home)
                .or_else(|| population.channel_selections.any.pick(rng, home))
                .and_then(|index| population.channels.get(index).map(|c| (index, c)))
        };
        let person = |index: Option<usize>| {
            index
                .and_then(|index| population.people.get(index))
                .map(|person| Targeted {
                    entity: Piece::Shared(&person.entity),
                    workspace: Some(person.home_workspace),
                    app: None,
                    channel: None,
                })
        };
        let random_member = |rng: &mut SplitMix64| {
            population
                .members
                .get(population.member_activity.sample(rng))
                .copied()
        };
        let selections = &population.channel_selections;
        let targeted = match spec.target {
            Target::Actor => match performer {
                Performer::Person(index) => person(Some(index)),
                Performer::Slack | Performer::SlackSecurity => person(random_member(rng)),
            },
            Target::Member => person(random_member(rng)),
            Target::Guest => {
                person(rng.pick(&population.guests).copied()).or_else(|| person(random_member(rng)))
            }
            Target::Channel
            | Target::PublicChannel
            | Target::PrivateChannel
            | Target::OrgWideChannel
            | Target::ExternalChannel => {
                let selection = match spec.target {
                    Target::PublicChannel => &selections.public,
                    Target::PrivateChannel => &selections.private,
                    Target::OrgWideChannel => &selections.org_wide,
                    Target::ExternalChannel => &selections.external,
                    _ => &selections.any,
                };
                channel(selection, rng).map(|(index, channel)| Targeted {
                    entity: Piece::Shared(&channel.entity),
                    workspace: Some(channel.workspace),
                    app: None,
                    channel: Some(index),
                })
            }
            Target::Huddle | Target::Message => {
                channel(&selections.any, rng).and_then(|(index, channel)| {
                    let entity = if spec.target == Target::Huddle {
                        self.huddle_entity(spec, index, second)
                    } else {
                        self.message_entity(channel, second, rng)
                    }?;
                    Some(Targeted {
                        entity,
                        workspace: Some(channel.workspace),
                        app: None,
                        channel: Some(index),
                    })
                })
            }
            Target::File => placed(&population.files, rng),
            Target::Workflow => placed(&population.workflows, rng),
            Target::WorkflowV2 => placed(&population.workflows_v2, rng),
            Target::Usergroup => placed(&population.usergroups, rng),
            Target::Canvas => placed(&population.canvases, rng),
            Target::List => placed(&population.lists, rng),
            Target::Role => placed(&population.roles, rng),
            Target::AccountTypeRole => placed(&population.account_type_roles, rng),
            Target::Barrier => placed(&population.barriers, rng),
            Target::LegalHold => placed(&population.legal_holds, rng),
            Target::Template => placed(&population.templates, rng),
            Target::Function => placed(&population.functions, rng),
            Target::OAuthToken => placed(&population.oauth_tokens, rng),
            Target::App => {
                let index = rng.below(population.apps.len());
                population.apps.get(index).map(|app| Targeted {
                    entity: Piece::Shared(&app.entity),
                    workspace: Some(home),
                    app: Some(index),
                    channel: None,
                })
            }
            Target::Workspace => {
                // Admins look after every workspace; members change their own.
                let is_admin = self.person(performer).is_some_and(|(_, person)| {
                    matches!(person.role, Role::Admin | Role::Owner | Role::PrimaryOwner)
                });
                let workspace = if is_admin {
                    rng.below(population.workspaces.len())
                } else {
                    home
                };
                population.workspaces.get(workspace).map(|team| Targeted {
                    entity: Piece::Shared(&team.entity),
                    workspace: Some(workspace),
                    app: None,
                    channel: None,
                })
            }
            Target::Enterprise => None,
        };
        targeted.unwrap_or(Targeted {
            entity: Piece::Shared(&population.enterprise.entity),
            workspace: None,
            app: None,
            channel: None,
        })
    }

    /// A huddle in a channel: one per channel and half hour, so its events agree on its id.
    fn huddle_entity(&self, spec: &ActionSpec, channel: usize, second: i64) -> Option<Piece<'_>> {
        let block = second.div_euclid(HUDDLE_BLOCK_SECONDS);
        let hash = hash_words(&[self.key, channel as u64, block as u64, HUDDLE_STREAM]);
        let start = (block * HUDDLE_BLOCK_SECONDS + (hash % 600) as i64).min(second);
        let end = if spec.name == "huddle_ended" {
            second
        } else {
            0
        };
        let mut extra = ExtraFields::new();
        extra.insert("date_start".to_owned(), json!(start));
        extra.insert("date_end".to_owned(), json!(end));
        owned(&Entity {
            entity_type: "huddle".to_owned(),
            huddle: Some(ObjectRef {
                id: Some(id_from_hash("R", hash)),
                name: None,
                extra,
            }),
            ..Entity::default()
        })
    }

    /// A message posted in `channel` some time in the last three days.
    fn message_entity(
        &self,
        channel: &super::population::Channel,
        second: i64,
        rng: &mut SplitMix64,
    ) -> Option<Piece<'_>> {
        let posted = second - rng.below(3 * 86_400) as i64;
        let team = self
            .population
            .workspaces
            .get(channel.workspace)
            .map(|team| team.id.clone());
        owned(&Entity {
            entity_type: "message".to_owned(),
            message: Some(MessageRef {
                team,
                channel: Some(channel.id.clone()),
                timestamp: Some(format!("{posted}.{:06}", rng.below(1_000_000))),
                extra: ExtraFields::new(),
            }),
            ..Entity::default()
        })
    }

    /// The client a performer normally uses at `second`. A session is one person, one day,
    /// one device: within it the session id, user agent and IP address never change.
    fn usual_client(
        &self,
        spec: &ActionSpec,
        performer: Performer,
        second: i64,
        rng: &mut SplitMix64,
    ) -> Client<'_> {
        let population = &self.population;
        let addresses = &population.addresses;
        let empty = Client {
            ua: &population.no_text,
            ip: &population.no_text,
            session: SessionFrame::Null,
            app: None,
        };
        let Some((index, person)) = self.person(performer) else {
            return empty;
        };
        let day = (second + population.utc_offset_seconds).div_euclid(86_400);
        if person.role == Role::Bot {
            let ip_index = hash_words(&[self.key, index as u64, day as u64]) as usize;
            return Client {
                ua: population
                    .app_agents
                    .get(person.desktop_agent)
                    .unwrap_or(&population.no_text),
                ip: addresses
                    .cloud
                    .get(ip_index % addresses.cloud.len().max(1))
                    .unwrap_or(&population.no_text),
                session: SessionFrame::Null,
                app: person
                    .app
                    .and_then(|app| population.apps.get(app))
                    .map(|app| &*app.context),
            };
        }
        let phone = person
            .mobile_agent
            .filter(|_| rng.chance(PHONE_EVENT_SHARE));
        let session_key = hash_words(&[
            self.key,
            index as u64,
            day as u64,
            u64::from(phone.is_some()),
            SESSION_STREAM,
        ]);
        let (ua, ip) = match phone {
            Some(agent) => (
                population.mobile_agents.get(agent),
                addresses
                    .mobile
                    .get(session_key as usize % addresses.mobile.len().max(1)),
            ),
            None => {
                let home_office_day =
                    hash_words(&[self.key, index as u64, day as u64, OFFICE_DAY_STREAM]) % 100
                        < HOME_OFFICE_DAY_PERCENT;
                let ip = match person.office_address {
                    Some(office) if !home_office_day => addresses.office.get(office),
                    _ => addresses.residential.get(person.home_address),
                };
                (population.desktop_agents.get(person.desktop_agent), ip)
            }
        };
        let session_number = SESSION_ID_BASE + session_key % SESSION_ID_SPAN;
        let session = if spec.sessionless {
            SessionFrame::Null
        } else if person.numeric_session_ids {
            SessionFrame::Number(session_number)
        } else {
            SessionFrame::Text(session_number)
        };
        Client {
            ua: ua.unwrap_or(&population.no_text),
            ip: ip.unwrap_or(&population.no_text),
            session,
            app: None,
        }
    }

    /// A sign-in from somewhere unusual: a new session from a foreign address, sometimes with
    /// another client.
    fn anomalous_client(
        &self,
        performer: Performer,
        second: i64,
        rng: &mut SplitMix64,
    ) -> Client<'_> {
        let population = &self.population;
        let index = match performer {
            Performer::Person(index) => index as u64,
            Performer::Slack | Performer::SlackSecurity => u64::MAX,
        };
        let session_key = hash_words(&[self.key, index, second as u64, ANOMALY_STREAM]);
        let ua = if rng.chance(0.5) {
            rng.pick(&population.app_agents)
        } else {
            rng.pick(&population.desktop_agents)
        };
        Client {
            ua: ua.unwrap_or(&population.no_text),
            ip: rng
                .pick(&population.addresses.unusual)
                .unwrap_or(&population.no_text),
            session: SessionFrame::Text(SESSION_ID_BASE + session_key % SESSION_ID_SPAN),
            app: None,
        }
    }

    fn anomaly_details(
        usual: &Client<'_>,
        second: i64,
        rng: &mut SplitMix64,
    ) -> Option<Piece<'static>> {
        let reasons = rng
            .pick(ANOMALY_REASONS)
            .map(|reasons| reasons.iter().map(|reason| (*reason).to_owned()).collect())
            .unwrap_or_default();
        let mut extra = ExtraFields::new();
        extra.insert(
            "location".to_owned(),
            json!(rng.pick(ANOMALY_LOCATIONS).copied().unwrap_or_default()),
        );
        extra.insert("previous_ip_address".to_owned(), json!(usual.ip.text));
        extra.insert("previous_ua".to_owned(), json!(usual.ua.text));
        extra.insert("is_internal_integration".to_owned(), json!(false));
        owned(&Details {
            reason: Some(Reason::List(reasons)),
            action_timestamp: Some(second * 1_000_000 + rng.below(1_000_000) as i64),
            extra,
            ..Details::default()
        })
    }

    fn details<'a>(
        &'a self,
        spec: &ActionSpec,
        target: &Targeted<'a>,
        second: i64,
        rng: &mut SplitMix64,
    ) -> Option<Piece<'a>> {
        let population = &self.population;
        let app = || target.app.and_then(|index| population.apps.get(index));
        match spec.details {
            DetailKind::None | DetailKind::Anomaly => None,
            DetailKind::Pref(index) => population
                .pref_details
                .get(index)
                .and_then(|variants| rng.pick(variants))
                .map(|variant| Piece::Shared(variant)),
            DetailKind::AppInstall => app().map(|app| Piece::Shared(&app.install_details)),
            DetailKind::ScopesExpanded => {
                app().map(|app| Piece::Shared(&app.scopes_expanded_details))
            }
            DetailKind::ChannelRenamed => {
                let channel = target
                    .channel
                    .and_then(|index| population.channels.get(index))?;
                let name = &channel.name;
                let previous = match rng.below(4) {
                    0 => format!("{name}-old"),
                    1 => format!("tmp-{name}"),
                    2 => format!("{name}-2025"),
                    _ => name.replace('-', "_"),
                };
                details_with(json!({ "previous_name": previous }))
            }
            DetailKind::Emoji => {
                details_with(json!({ "emoji_name": rng.pick(EMOJI).copied().unwrap_or("shipit") }))
            }
            DetailKind::EmojiRenamed => {
                let previous = rng.pick(EMOJI).copied().unwrap_or("shipit");
                details_with(json!({
                    "emoji_name": format!("{previous}-v2"),
                    "previous_name": previous,
                }))
            }
            DetailKind::Export => details_with(json!({
                "export_type": "STANDARD",
                "export_start_ts": timestamp_text(second - 30 * 86_400),
                "export_end_ts": timestamp_text(second),
            })),
        }
    }
}
