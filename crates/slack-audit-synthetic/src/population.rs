//! The synthetic organization itself: built once per seed, then only read.
//!
//! Why everything is precomputed: an audit log keeps mentioning the same users, channels,
//! files and apps, always with the same ids, names and emails. Creating them once (names from
//! `fake`, driven by a seeded RNG) and rendering each one's JSON once through the types of
//! [`slack_audit_model::entry`] makes every mention byte-identical and lets an event be assembled by
//! splicing ready-made fragments, which is what makes hundreds of thousands of events per
//! second possible.
//!
//! Addresses: all IPs come from the documentation ranges, so no real network is ever named:
//! office egress `203.0.113.0/24` (low half) and app/cloud egress (high half), residential
//! `198.51.100.0/24`, mobile carriers `192.0.2.0/24` (low part) and `2001:db8::/32`, and
//! anomalous sign-ins `192.0.2.200-254` and `2001:db8:bad::/48`.

use std::collections::{BTreeMap, HashSet};

use fake::Fake;
use fake::faker::company::en::Bs;
use fake::faker::name::en::{FirstName, LastName};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};
use serde::Serialize;
use serde_json::value::{RawValue, to_raw_value};
use serde_json::{Value, json};

use super::rng::{WeightedIndex, hash_words};
use super::vocab::{
    ACCOUNT_TYPE_ROLES, APP_USER_AGENTS, APPS, AppTemplate, BARRIERS, CANVAS_TITLES,
    CHANNEL_TOPICS, CODE_NAMES, COMPANY_SUFFIXES, CORE_APP_COUNT, DEPARTMENTS,
    DESKTOP_USER_AGENT_WEIGHTS, DESKTOP_USER_AGENTS, FILE_TYPES, FUNCTIONS, LEGAL_HOLDS,
    LIST_TITLES, MOBILE_USER_AGENTS, OAUTH_PROVIDERS, ORG_WIDE_CHANNELS, PARTNER_SUFFIXES,
    PARTNER_TLDS, PREFS, PRIVATE_TOPICS, PrefValues, REPORT_TITLES, ROLES, TEMPLATES, TIME_ZONES,
    USERGROUPS, WHO_CAN, WORKFLOWS, WORKFLOWS_V2,
};
use slack_audit_model::entry::{
    Actor, AppRef, ChannelRef, Details, Entity, ExtraFields, FileRef, Location, ObjectRef,
    SettingValue, TeamRef, UserRef,
};

/// A pre-rendered piece of JSON, spliced into events verbatim.
pub(super) type Fragment = Box<RawValue>;

/// Characters of Slack ids after the prefix.
const ID_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Share of users with an office (the rest work remotely).
const OFFICE_WORKER_SHARE: f64 = 0.65;
/// Share of users who also use Slack on a phone.
const MOBILE_USER_SHARE: f64 = 0.75;
/// Share of users whose sessions come out as JSON numbers rather than strings.
const NUMERIC_SESSION_SHARE: f64 = 0.08;
/// Share of guests among people.
const GUEST_SHARE: f64 = 0.06;
/// Chance an event picks an object in the actor's own workspace rather than anywhere.
const HOME_WORKSPACE_BIAS: f64 = 0.75;

/// Serializes a value into a fragment. The inputs are plain structs that always serialize;
/// the `null` fallback only keeps the output well-formed if that ever changed.
fn render<T: Serialize>(value: &T) -> Fragment {
    to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// A string together with its JSON rendering (`"…"`).
pub(super) struct Quoted {
    pub(super) text: String,
    pub(super) json: Fragment,
}

impl Quoted {
    fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let json = render(&text);
        Self { text, json }
    }
}

/// The organization or one of its workspaces.
pub(super) struct Team {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) domain: String,
    /// `context.location` object.
    pub(super) location: Fragment,
    /// `entity` object (`{"type": "workspace", "workspace": …}`).
    pub(super) entity: Fragment,
}

impl Team {
    fn new(kind: &str, id: String, name: String, domain: String) -> Self {
        let location = render(&Location {
            location_type: kind.to_owned(),
            id: id.clone(),
            name: Some(name.clone()),
            domain: Some(domain.clone()),
            extra: ExtraFields::new(),
        });
        let team = TeamRef {
            id: id.clone(),
            name: Some(name.clone()),
            domain: Some(domain.clone()),
            extra: ExtraFields::new(),
        };
        let mut entity = Entity {
            entity_type: kind.to_owned(),
            ..Entity::default()
        };
        if kind == "enterprise" {
            entity.enterprise = Some(team);
        } else {
            entity.workspace = Some(team);
        }
        Self {
            id,
            name,
            domain,
            location,
            entity: render(&entity),
        }
    }
}

/// What a person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    PrimaryOwner,
    Owner,
    Admin,
    Member,
    Guest,
    Bot,
}

/// A user of the organization (human or bot).
pub(super) struct Person {
    pub(super) id: String,
    pub(super) role: Role,
    pub(super) home_workspace: usize,
    /// `actor` object.
    pub(super) actor: Fragment,
    /// `entity` object when the person is acted upon.
    pub(super) entity: Fragment,
    /// Index into [`Population::desktop_agents`] (bots: [`Population::app_agents`]).
    pub(super) desktop_agent: usize,
    /// Index into [`Population::mobile_agents`].
    pub(super) mobile_agent: Option<usize>,
    /// Index into [`Addresses::office`]; `None` for remote workers.
    pub(super) office_address: Option<usize>,
    /// Index into [`Addresses::residential`].
    pub(super) home_address: usize,
    pub(super) numeric_session_ids: bool,
    /// The app a bot user belongs to (index into [`Population::apps`]).
    pub(super) app: Option<usize>,
}

/// An object that lives in one workspace.
pub(super) struct Placed {
    pub(super) workspace: usize,
    pub(super) entity: Fragment,
}

/// A channel, with what events need to mention it again.
pub(super) struct Channel {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) workspace: usize,
    pub(super) entity: Fragment,
}

/// Whether a channel is public or private.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Privacy {
    Public,
    Private,
}

/// Who a channel is shared with.
enum Sharing {
    /// Nobody: it lives in one workspace.
    Workspace,
    /// Every workspace of the organization.
    Organization,
    /// A partner organization (Slack Connect), by its workspace id.
    Connect(String),
}

/// Indices of objects, overall and per workspace, to pick "something nearby".
#[derive(Default)]
pub(super) struct Selection {
    all: Vec<usize>,
    by_workspace: Vec<Vec<usize>>,
}

impl Selection {
    fn new(workspace_count: usize) -> Self {
        Self {
            all: Vec::new(),
            by_workspace: vec![Vec::new(); workspace_count],
        }
    }

    fn add(&mut self, index: usize, workspace: usize) {
        self.all.push(index);
        if let Some(list) = self.by_workspace.get_mut(workspace) {
            list.push(index);
        }
    }

    /// Usually an object of the `home` workspace, otherwise any.
    pub(super) fn pick(&self, rng: &mut super::rng::SplitMix64, home: usize) -> Option<usize> {
        let local = self.by_workspace.get(home).filter(|list| !list.is_empty());
        match local {
            Some(list) if rng.chance(HOME_WORKSPACE_BIAS) => rng.pick(list).copied(),
            _ => rng.pick(&self.all).copied(),
        }
    }
}

/// Objects of one kind with a selection over them.
pub(super) struct Pool {
    pub(super) items: Vec<Placed>,
    pub(super) selection: Selection,
}

impl Pool {
    fn new(workspace_count: usize) -> Self {
        Self {
            items: Vec::new(),
            selection: Selection::new(workspace_count),
        }
    }

    fn push(&mut self, workspace: usize, entity: Fragment) {
        self.selection.add(self.items.len(), workspace);
        self.items.push(Placed { workspace, entity });
    }

    pub(super) fn pick(&self, rng: &mut super::rng::SplitMix64, home: usize) -> Option<&Placed> {
        self.selection
            .pick(rng, home)
            .and_then(|index| self.items.get(index))
    }
}

/// An installed app.
pub(super) struct App {
    /// `entity` object.
    pub(super) entity: Fragment,
    /// `context.app` object when the app triggers an event.
    pub(super) context: Fragment,
    /// `details` of install-like events.
    pub(super) install_details: Fragment,
    /// `details` of `app_scopes_expanded`.
    pub(super) scopes_expanded_details: Fragment,
}

/// IP address pools (see the module docs for the ranges).
pub(super) struct Addresses {
    pub(super) office: Vec<Quoted>,
    pub(super) residential: Vec<Quoted>,
    pub(super) mobile: Vec<Quoted>,
    pub(super) cloud: Vec<Quoted>,
    pub(super) unusual: Vec<Quoted>,
}

/// Channel selections by kind.
pub(super) struct ChannelSelections {
    pub(super) any: Selection,
    pub(super) public: Selection,
    pub(super) private: Selection,
    pub(super) org_wide: Selection,
    pub(super) external: Selection,
}

/// The whole organization.
pub(super) struct Population {
    pub(super) enterprise: Team,
    pub(super) email_domain: String,
    pub(super) time_zone: &'static str,
    pub(super) utc_offset_seconds: i64,
    pub(super) workspaces: Vec<Team>,
    pub(super) people: Vec<Person>,
    /// People who act in the UI (everyone but bots), weighted by activity.
    pub(super) humans: Vec<usize>,
    pub(super) human_activity: WeightedIndex,
    /// Full members (no guests, no bots), weighted by activity.
    pub(super) members: Vec<usize>,
    pub(super) member_activity: WeightedIndex,
    pub(super) guests: Vec<usize>,
    /// Admins and owners.
    pub(super) admins: Vec<usize>,
    /// Org Owners (including the primary owner).
    pub(super) owners: Vec<usize>,
    pub(super) bots: Vec<usize>,
    /// `actor` of events no user performed (`USLACKUSER`).
    pub(super) slack_actor: Fragment,
    /// `actor` of Slack security interventions (`USLACKSECURITY`).
    pub(super) security_actor: Fragment,
    pub(super) desktop_agents: Vec<Quoted>,
    pub(super) mobile_agents: Vec<Quoted>,
    pub(super) app_agents: Vec<Quoted>,
    pub(super) addresses: Addresses,
    /// The empty string, for the empty `ua` / `ip_address` of system events.
    pub(super) no_text: Quoted,
    pub(super) channels: Vec<Channel>,
    pub(super) channel_selections: ChannelSelections,
    pub(super) files: Pool,
    pub(super) apps: Vec<App>,
    pub(super) workflows: Pool,
    pub(super) workflows_v2: Pool,
    pub(super) usergroups: Pool,
    pub(super) canvases: Pool,
    pub(super) lists: Pool,
    pub(super) roles: Pool,
    pub(super) account_type_roles: Pool,
    pub(super) barriers: Pool,
    pub(super) legal_holds: Pool,
    pub(super) templates: Pool,
    pub(super) functions: Pool,
    pub(super) oauth_tokens: Pool,
    /// Pre-rendered `details` variants per entry of [`PREFS`].
    pub(super) pref_details: Vec<Vec<Fragment>>,
}

/// A partner organization (guests' employer, Slack Connect counterpart).
struct Partner {
    name: String,
    email_domain: String,
    team_id: String,
}

/// The company itself: its name, its time zone, its enterprise.
struct Company {
    /// E.g. `Kuhn Logistics`.
    name: String,
    /// E.g. `kuhn-logistics`: the enterprise's domain and the workspaces' domain prefix.
    slug: String,
    /// The domain of members' email addresses, e.g. `kuhn-logistics.com`.
    email_domain: String,
    time_zone: &'static str,
    offset_hours: i64,
    enterprise: Team,
}

impl Company {
    /// The company's name, time zone and enterprise id, drawn in that order.
    fn draw(b: &mut Builder) -> Self {
        let surname = b.last_name();
        let suffix = b.choose(COMPANY_SUFFIXES).copied().unwrap_or("Group");
        let name = format!("{surname} {suffix}");
        let slug = slug(&name, '-');
        let email_domain = format!("{slug}.com");
        let (time_zone, offset_hours) = b.choose(TIME_ZONES).copied().unwrap_or(("UTC", 0));
        let enterprise_id = b.slack_id("E", 11);
        let enterprise = Team::new("enterprise", enterprise_id, name.clone(), slug.clone());
        Self {
            name,
            slug,
            email_domain,
            time_zone,
            offset_hours,
            enterprise,
        }
    }
}

/// What a person is drawn against: whom they may work for, where, from which addresses.
#[derive(Clone, Copy)]
struct Workplace<'a> {
    company: &'a Company,
    partners: &'a [Partner],
    workspaces: &'a [Team],
    addresses: &'a Addresses,
    /// Offices of the organization (each with two egress addresses).
    office_count: usize,
}

/// The people drawn so far, with the activity weight of each (bots: 0).
struct Crowd {
    people: Vec<Person>,
    activity: Vec<f64>,
}

/// Who is who: indices into the people by role, and the weights actors are picked by.
struct Roster {
    humans: Vec<usize>,
    human_activity: WeightedIndex,
    members: Vec<usize>,
    member_activity: WeightedIndex,
    guests: Vec<usize>,
    admins: Vec<usize>,
    owners: Vec<usize>,
    bots: Vec<usize>,
}

impl Roster {
    fn of(crowd: &Crowd) -> Self {
        let Crowd { people, activity } = crowd;
        let indices_where = |keep: &dyn Fn(Role) -> bool| -> Vec<usize> {
            people
                .iter()
                .enumerate()
                .filter(|(_, person)| keep(person.role))
                .map(|(index, _)| index)
                .collect()
        };
        let humans = indices_where(&|role| role != Role::Bot);
        let members = indices_where(&|role| !matches!(role, Role::Bot | Role::Guest));
        let guests = indices_where(&|role| role == Role::Guest);
        let admins =
            indices_where(&|role| matches!(role, Role::PrimaryOwner | Role::Owner | Role::Admin));
        let owners = indices_where(&|role| matches!(role, Role::PrimaryOwner | Role::Owner));
        let bots = indices_where(&|role| role == Role::Bot);
        let human_activity = WeightedIndex::new(humans.iter().map(|&index| activity[index]));
        let member_activity = WeightedIndex::new(members.iter().map(|&index| activity[index]));
        Self {
            humans,
            human_activity,
            members,
            member_activity,
            guests,
            admins,
            owners,
            bots,
        }
    }
}

/// Builder state: the seeded RNG and the ids handed out so far.
struct Builder {
    rng: Xoshiro256PlusPlus,
    used_ids: HashSet<String>,
}

impl Builder {
    /// A fresh Slack-style id: `prefix`, a `0`, then uppercase alphanumerics up to `length`.
    fn slack_id(&mut self, prefix: &str, length: usize) -> String {
        loop {
            let mut id = String::with_capacity(length.max(prefix.len() + 1));
            id.push_str(prefix);
            id.push('0');
            while id.len() < length {
                let index = self.rng.random_range(0..ID_ALPHABET.len());
                id.push(char::from(ID_ALPHABET[index]));
            }
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            self.rng.random_range(0..bound)
        }
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.rng.random_bool(probability.clamp(0.0, 1.0))
    }

    fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let index = self.below(items.len());
        items.get(index)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index + 1);
            items.swap(index, other);
        }
    }

    fn first_name(&mut self) -> String {
        FirstName().fake_with_rng(&mut self.rng)
    }

    fn last_name(&mut self) -> String {
        LastName().fake_with_rng(&mut self.rng)
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// Lowercase ASCII letters and digits only, runs of anything else collapsed to `separator`.
fn slug(text: &str, separator: char) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            out.push(character.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with(separator) {
            out.push(separator);
        }
    }
    while out.ends_with(separator) {
        out.pop();
    }
    out
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// A user's id with their `actor` and `entity` objects.
fn user_fragments(user: UserRef) -> (String, Fragment, Fragment) {
    let id = user.id.clone();
    let actor = render(&Actor {
        actor_type: "user".to_owned(),
        user: Some(user.clone()),
        extra: ExtraFields::new(),
    });
    let entity = render(&Entity {
        entity_type: "user".to_owned(),
        user: Some(user),
        ..Entity::default()
    });
    (id, actor, entity)
}

/// The `actor` of events Slack itself performs (`USLACKUSER`, `USLACKSECURITY`).
fn system_actor(id: &str, name: &str, enterprise_id: &str) -> Fragment {
    render(&Actor {
        actor_type: "user".to_owned(),
        user: Some(UserRef {
            id: id.to_owned(),
            name: Some(name.to_owned()),
            email: Some(String::new()),
            team: Some(enterprise_id.to_owned()),
            account_type: None,
            extra: ExtraFields::new(),
        }),
        extra: ExtraFields::new(),
    })
}

fn object_entity(entity_type: &str, object: ObjectRef) -> Fragment {
    let mut entity = Entity {
        entity_type: entity_type.to_owned(),
        ..Entity::default()
    };
    let slot = match entity_type {
        "workflow" => &mut entity.workflow,
        "workflow_v2" => &mut entity.workflow_v2,
        "usergroup" => &mut entity.usergroup,
        "canvas" => &mut entity.canvas,
        "list" => &mut entity.list,
        "role" => &mut entity.role,
        "account_type_role" => &mut entity.account_type_role,
        "barrier" => &mut entity.barrier,
        "legal_hold_policy" => &mut entity.legal_hold_policy,
        "template" => &mut entity.template,
        "function" => &mut entity.function,
        "external_auth_oauth2_token" => &mut entity.external_auth_oauth2_token,
        _ => &mut entity.huddle,
    };
    *slot = Some(object);
    render(&entity)
}

fn named_object(id: String, name: &str) -> ObjectRef {
    ObjectRef {
        id: Some(id),
        name: Some(name.to_owned()),
        extra: ExtraFields::new(),
    }
}

impl Population {
    /// Builds the organization for `seed`; the same seed always yields the same organization.
    ///
    /// The order of the steps is the order of the draws from the seeded RNG: reordering them
    /// changes every organization.
    pub(super) fn build(seed: u64) -> Self {
        let mut builder = Builder {
            rng: Xoshiro256PlusPlus::seed_from_u64(hash_words(&[seed, 0x504f_5055_4c41_5445])),
            used_ids: HashSet::new(),
        };
        let b = &mut builder;

        let company = Company::draw(b);
        let partners = Self::partners(b);
        let (workspaces, workspace_prefixes) = Self::workspaces(b, &company);
        let addresses = Self::addresses(b);
        let office_count = 1 + b.below(3);
        // Apps first: bots belong to them.
        let app_templates = Self::app_templates(b);
        let apps: Vec<App> = app_templates
            .iter()
            .map(|template| Self::app(b, template))
            .collect();
        let user_count = 150 + b.below(251);
        let mut crowd = Self::people(
            b,
            &Workplace {
                company: &company,
                partners: &partners,
                workspaces: &workspaces,
                addresses: &addresses,
                office_count,
            },
            user_count,
        );
        Self::add_bots(b, &company.enterprise.id, &app_templates, &mut crowd);
        let roster = Roster::of(&crowd);
        let people = crowd.people;
        let slack_actor = system_actor("USLACKUSER", "Slack", &company.enterprise.id);
        let security_actor =
            system_actor("USLACKSECURITY", "Slack Security", &company.enterprise.id);

        let (channels, channel_selections) =
            Self::channels(b, &workspaces, &workspace_prefixes, &partners, user_count);
        let files = Self::files(b, workspaces.len(), user_count * 6);
        let pools = Self::object_pools(b, &workspaces, &workspace_prefixes, user_count);
        let pref_details = Self::pref_details(&partners, &people, &roster.admins);

        Self {
            enterprise: company.enterprise,
            email_domain: company.email_domain,
            time_zone: company.time_zone,
            utc_offset_seconds: company.offset_hours * 3600,
            workspaces,
            people,
            humans: roster.humans,
            human_activity: roster.human_activity,
            members: roster.members,
            member_activity: roster.member_activity,
            guests: roster.guests,
            admins: roster.admins,
            owners: roster.owners,
            bots: roster.bots,
            slack_actor,
            security_actor,
            desktop_agents: DESKTOP_USER_AGENTS
                .iter()
                .map(|ua| Quoted::new(*ua))
                .collect(),
            mobile_agents: MOBILE_USER_AGENTS
                .iter()
                .map(|ua| Quoted::new(*ua))
                .collect(),
            app_agents: APP_USER_AGENTS.iter().map(|ua| Quoted::new(*ua)).collect(),
            addresses,
            no_text: Quoted::new(""),
            channels,
            channel_selections,
            files,
            apps,
            workflows: pools.workflows,
            workflows_v2: pools.workflows_v2,
            usergroups: pools.usergroups,
            canvases: pools.canvases,
            lists: pools.lists,
            roles: pools.roles,
            account_type_roles: pools.account_type_roles,
            barriers: pools.barriers,
            legal_holds: pools.legal_holds,
            templates: pools.templates,
            functions: pools.functions,
            oauth_tokens: pools.oauth_tokens,
            pref_details,
        }
    }

    /// The partner organizations (3–6): guests' employers, Slack Connect counterparts.
    fn partners(b: &mut Builder) -> Vec<Partner> {
        let partner_count = 3 + b.below(4);
        (0..partner_count)
            .map(|_| {
                let name = format!(
                    "{} {}",
                    b.last_name(),
                    capitalized(b.choose(PARTNER_SUFFIXES).copied().unwrap_or("partners"))
                );
                let tld = b.choose(PARTNER_TLDS).copied().unwrap_or("com");
                let email_domain = format!("{}.{tld}", slug(&name, '-'));
                Partner {
                    name,
                    email_domain,
                    team_id: b.slack_id("T", 11),
                }
            })
            .collect()
    }

    /// The workspaces (4–8): headquarters plus departments, with each one's channel prefix.
    fn workspaces(b: &mut Builder, company: &Company) -> (Vec<Team>, Vec<&'static str>) {
        let workspace_count = 4 + b.below(5);
        let mut departments: Vec<&(&str, &str, &str)> = DEPARTMENTS.iter().collect();
        b.shuffle(&mut departments);
        let mut workspace_prefixes = vec!["hq"];
        let mut workspaces = vec![Team::new(
            "workspace",
            b.slack_id("T", 11),
            format!("{} HQ", company.name),
            format!("{}-hq", company.slug),
        )];
        for (label, domain, prefix) in departments.iter().take(workspace_count - 1) {
            workspaces.push(Team::new(
                "workspace",
                b.slack_id("T", 11),
                format!("{} {label}", company.name),
                format!("{}-{domain}", company.slug),
            ));
            workspace_prefixes.push(prefix);
        }
        (workspaces, workspace_prefixes)
    }

    /// The apps installed: every core app, and each of the others with a chance of 60%.
    fn app_templates(b: &mut Builder) -> Vec<&'static AppTemplate> {
        let mut app_templates: Vec<&AppTemplate> = APPS.iter().take(CORE_APP_COUNT).collect();
        for template in APPS.iter().skip(CORE_APP_COUNT) {
            if b.chance(0.6) {
                app_templates.push(template);
            }
        }
        app_templates
    }

    /// The `user_count` human users: owners and admins first, then members and guests.
    fn people(b: &mut Builder, workplace: &Workplace<'_>, user_count: usize) -> Crowd {
        let admin_count = 3 + b.below(4);
        let desktop_weights = WeightedIndex::new(DESKTOP_USER_AGENT_WEIGHTS.iter().copied());
        let mut handles = HashSet::new();
        let mut crowd = Crowd {
            people: Vec::with_capacity(user_count + 8),
            activity: Vec::with_capacity(user_count + 8),
        };
        for index in 0..user_count {
            let role = match index {
                0 => Role::PrimaryOwner,
                1 | 2 => Role::Owner,
                _ if index < 3 + admin_count => Role::Admin,
                _ if b.chance(GUEST_SHARE) => Role::Guest,
                _ => Role::Member,
            };
            let (person, weight) =
                Self::person(b, workplace, index, role, &desktop_weights, &mut handles);
            crowd.activity.push(weight);
            crowd.people.push(person);
        }
        crowd
    }

    /// Person `index` of the organization in `role`, with the weight of their activity.
    /// `handles` are the names taken so far (a repeated name gets a number).
    fn person(
        b: &mut Builder,
        workplace: &Workplace<'_>,
        index: usize,
        role: Role,
        desktop_weights: &WeightedIndex,
        handles: &mut HashSet<String>,
    ) -> (Person, f64) {
        let Workplace {
            company,
            partners,
            workspaces,
            addresses,
            office_count,
        } = *workplace;
        let first = b.first_name();
        let last = b.last_name();
        let mut handle = format!("{}.{}", slug(&first, '-'), slug(&last, '-'));
        let mut suffix_number = 2;
        while !handles.insert(handle.clone()) {
            handle = format!("{}.{}{suffix_number}", slug(&first, '-'), slug(&last, '-'));
            suffix_number += 1;
        }
        let home_workspace = match role {
            Role::PrimaryOwner | Role::Owner | Role::Admin => 0,
            _ if b.chance(0.15) => 0,
            _ => 1 + b.below(workspaces.len() - 1),
        };
        let (email, team, account_type) = if role == Role::Guest {
            let partner = &partners[b.below(partners.len())];
            let account_type = if b.chance(0.7) {
                "Multi-Channel Guest"
            } else {
                "Single-Channel Guest"
            };
            (
                format!("{handle}@{}", partner.email_domain),
                workspaces[home_workspace].id.clone(),
                Some(account_type.to_owned()),
            )
        } else {
            (
                format!("{handle}@{}", company.email_domain),
                company.enterprise.id.clone(),
                None,
            )
        };
        let id_length = if b.chance(0.25) { 9 } else { 11 };
        let user = UserRef {
            id: b.slack_id("W", id_length),
            name: Some(handle),
            email: Some(email),
            team: Some(team),
            account_type,
            extra: ExtraFields::new(),
        };
        let desktop_agent = {
            let mut pick = super::rng::SplitMix64::new(b.next_u64());
            desktop_weights.sample(&mut pick)
        };
        let mobile_agent = b
            .chance(MOBILE_USER_SHARE)
            .then(|| b.below(MOBILE_USER_AGENTS.len()));
        let office_address = b.chance(OFFICE_WORKER_SHARE).then(|| {
            // Each office has two egress addresses; people of an office share them.
            let office = (index + home_workspace) % office_count;
            (office * 2 + b.below(2)) % addresses.office.len().max(1)
        });
        let weight = {
            let uniform: f64 = b.rng.random();
            let base = 0.25 + 4.0 * uniform * uniform * uniform;
            if role == Role::Guest {
                base * 0.4
            } else {
                base
            }
        };
        let (id, actor, entity) = user_fragments(user);
        let person = Person {
            id,
            role,
            home_workspace,
            actor,
            entity,
            desktop_agent,
            mobile_agent,
            office_address,
            home_address: b.below(addresses.residential.len()),
            numeric_session_ids: b.chance(NUMERIC_SESSION_SHARE),
            app: None,
        };
        (person, weight)
    }

    /// A bot user for every app that has one, after the humans (bots never act in the UI).
    fn add_bots(
        b: &mut Builder,
        enterprise_id: &str,
        app_templates: &[&AppTemplate],
        crowd: &mut Crowd,
    ) {
        for (app_index, template) in app_templates.iter().enumerate() {
            let Some(bot_name) = template.bot_user else {
                continue;
            };
            let user = UserRef {
                id: b.slack_id("U", 11),
                name: Some(bot_name.to_owned()),
                email: None,
                team: Some(enterprise_id.to_owned()),
                account_type: None,
                extra: ExtraFields::new(),
            };
            let agent = b.below(APP_USER_AGENTS.len());
            crowd.activity.push(0.0);
            let (id, actor, entity) = user_fragments(user);
            crowd.people.push(Person {
                id,
                role: Role::Bot,
                home_workspace: 0,
                actor,
                entity,
                desktop_agent: agent,
                mobile_agent: None,
                office_address: None,
                home_address: 0,
                numeric_session_ids: false,
                app: Some(app_index),
            });
        }
    }

    fn addresses(b: &mut Builder) -> Addresses {
        let v4 = |prefix: &str, range: std::ops::RangeInclusive<u16>| -> Vec<Quoted> {
            range
                .map(|host| Quoted::new(format!("{prefix}.{host}")))
                .collect()
        };
        let mut office_hosts: Vec<u16> = (10..=199).collect();
        b.shuffle(&mut office_hosts);
        let office = office_hosts
            .iter()
            .take(6)
            .map(|host| Quoted::new(format!("203.0.113.{host}")))
            .collect();
        let mut mobile = v4("192.0.2", 1..=199);
        for _ in 0..96 {
            let bits = b.next_u64();
            mobile.push(Quoted::new(format!(
                "2001:db8:{:x}:{:x}::{:x}",
                (bits >> 48) & 0xffff | 0x1000,
                (bits >> 32) & 0xffff,
                bits & 0xffff
            )));
        }
        let mut unusual = v4("192.0.2", 200..=254);
        for _ in 0..16 {
            let bits = b.next_u64();
            unusual.push(Quoted::new(format!(
                "2001:db8:bad:{:x}::{:x}",
                (bits >> 16) & 0xffff,
                bits & 0xffff
            )));
        }
        Addresses {
            office,
            residential: v4("198.51.100", 1..=254),
            mobile,
            cloud: v4("203.0.113", 200..=254),
            unusual,
        }
    }

    fn app(b: &mut Builder, template: &AppTemplate) -> App {
        let id = b.slack_id("A", 11);
        let strings = |items: &[&str]| -> Vec<String> {
            items.iter().map(|item| (*item).to_owned()).collect()
        };
        let entity = render(&Entity {
            entity_type: "app".to_owned(),
            app: Some(AppRef {
                id: id.clone(),
                name: Some(template.name.to_owned()),
                is_distributed: Some(template.is_distributed),
                is_directory_approved: Some(template.is_distributed),
                is_workflow_app: Some(template.is_workflow_app),
                scopes: Some(strings(template.scopes)),
                bot_scopes: Some(strings(template.bot_scopes)),
                extra: ExtraFields::new(),
            }),
            ..Entity::default()
        });
        let context = render(&AppRef {
            id,
            name: Some(template.name.to_owned()),
            ..AppRef::default()
        });
        let install_flags = |extra: &mut ExtraFields| {
            extra.insert("granular_bot_token".to_owned(), Value::Bool(true));
            extra.insert(
                "is_internal_integration".to_owned(),
                Value::Bool(!template.is_distributed),
            );
            extra.insert(
                "is_token_rotation_enabled_app".to_owned(),
                Value::Bool(false),
            );
        };
        let mut install = Details::default();
        install_flags(&mut install.extra);
        let mut expanded = Details::default();
        install_flags(&mut expanded.extra);
        let previous = strings(template.bot_scopes);
        let mut new_scopes = previous.clone();
        new_scopes.extend(strings(template.extra_bot_scopes));
        expanded
            .extra
            .insert("new_scopes".to_owned(), json!(new_scopes));
        expanded
            .extra
            .insert("previous_scopes".to_owned(), json!(previous));
        App {
            entity,
            context,
            install_details: render(&install),
            scopes_expanded_details: render(&expanded),
        }
    }

    fn channels(
        b: &mut Builder,
        workspaces: &[Team],
        prefixes: &[&str],
        partners: &[Partner],
        user_count: usize,
    ) -> (Vec<Channel>, ChannelSelections) {
        let count = workspaces.len();
        let mut selections = ChannelSelections {
            any: Selection::new(count),
            public: Selection::new(count),
            private: Selection::new(count),
            org_wide: Selection::new(count),
            external: Selection::new(count),
        };
        let mut channels = Vec::new();
        let all_workspace_ids: Vec<String> =
            workspaces.iter().map(|team| team.id.clone()).collect();
        let mut add = |b: &mut Builder,
                       name: String,
                       workspace: usize,
                       privacy: Privacy,
                       sharing: Sharing| {
            let id = b.slack_id("C", 11);
            let private = privacy == Privacy::Private;
            let (is_shared, is_org_shared, teams_shared_with) = match sharing {
                Sharing::Workspace => (false, false, Vec::new()),
                Sharing::Organization => (false, true, all_workspace_ids.clone()),
                Sharing::Connect(partner_team) => (true, false, vec![partner_team]),
            };
            let entity = render(&Entity {
                entity_type: "channel".to_owned(),
                channel: Some(ChannelRef {
                    id: id.clone(),
                    name: Some(name.clone()),
                    privacy: Some(if private { "private" } else { "public" }.to_owned()),
                    is_shared: Some(is_shared),
                    is_org_shared: Some(is_org_shared),
                    teams_shared_with: Some(teams_shared_with),
                    extra: ExtraFields::new(),
                }),
                ..Entity::default()
            });
            let index = channels.len();
            selections.any.add(index, workspace);
            if private {
                selections.private.add(index, workspace);
            } else {
                selections.public.add(index, workspace);
            }
            if is_org_shared {
                selections.org_wide.add(index, workspace);
            }
            if is_shared {
                selections.external.add(index, workspace);
            }
            channels.push(Channel {
                id,
                name,
                workspace,
                entity,
            });
        };
        let privacy = |b: &mut Builder, private_probability: f64| {
            if b.chance(private_probability) {
                Privacy::Private
            } else {
                Privacy::Public
            }
        };

        for name in ORG_WIDE_CHANNELS {
            let name = (*name).to_owned();
            add(b, name, 0, Privacy::Public, Sharing::Organization);
        }
        let per_workspace = (8 + user_count / (4 * count)).min(CHANNEL_TOPICS.len());
        for (workspace, prefix) in prefixes.iter().enumerate() {
            for name in ["general", "random"] {
                let name = name.to_owned();
                add(b, name, workspace, Privacy::Public, Sharing::Workspace);
            }
            let mut topics: Vec<&str> = CHANNEL_TOPICS.to_vec();
            b.shuffle(&mut topics);
            for topic in topics.into_iter().take(per_workspace) {
                let usually_private = PRIVATE_TOPICS.contains(&topic);
                let privacy = privacy(b, if usually_private { 0.8 } else { 0.15 });
                let name = format!("{prefix}-{topic}");
                add(b, name, workspace, privacy, Sharing::Workspace);
            }
            for _ in 0..1 + b.below(3) {
                let code_name = b.choose(CODE_NAMES).copied().unwrap_or("atlas");
                let privacy = privacy(b, 0.5);
                let name = format!("proj-{code_name}-{prefix}");
                add(b, name, workspace, privacy, Sharing::Workspace);
            }
        }
        for partner in partners {
            let workspace = b.below(count);
            let privacy = privacy(b, 0.5);
            let name = format!("ext-{}", slug(&partner.name, '-'));
            let sharing = Sharing::Connect(partner.team_id.clone());
            add(b, name, workspace, privacy, sharing);
        }
        (channels, selections)
    }

    fn files(b: &mut Builder, workspace_count: usize, count: usize) -> Pool {
        let mut pool = Pool::new(workspace_count);
        let type_weights = WeightedIndex::new(FILE_TYPES.iter().map(|(_, _, weight)| *weight));
        for _ in 0..count {
            let style = b.below(100);
            let (name, title, filetype) = if style < 12 {
                // What Slack names pasted images; many files share it, as in real workspaces.
                ("image.png".to_owned(), "image.png".to_owned(), "png")
            } else if style < 28 {
                // Dated in 2025 so the files predate the events that mention them.
                let title = format!(
                    "Screenshot 2025-{:02}-{:02} at {:02}.{:02}.{:02}",
                    1 + b.below(12),
                    1 + b.below(28),
                    8 + b.below(11),
                    b.below(60),
                    b.below(60)
                );
                (format!("{title}.png"), title, "png")
            } else if style < 36 {
                let title = format!("IMG_{:04}", b.below(10_000));
                (format!("{title}.jpg"), title, "jpg")
            } else if style < 70 {
                let prefix = if b.chance(0.5) {
                    format!("Q{}", 1 + b.below(4))
                } else {
                    capitalized(b.choose(CODE_NAMES).copied().unwrap_or("atlas"))
                };
                let report = b.choose(REPORT_TITLES).copied().unwrap_or("notes");
                let (extension, filetype) = *b
                    .choose(&[
                        ("pdf", "pdf"),
                        ("docx", "docx"),
                        ("xlsx", "xlsx"),
                        ("pptx", "pptx"),
                        ("csv", "csv"),
                    ])
                    .unwrap_or(&("pdf", "pdf"));
                let title = format!("{prefix} {report}");
                (
                    format!("{}.{extension}", slug(&title, '-')),
                    title,
                    filetype,
                )
            } else {
                let phrase: String = Bs().fake_with_rng(&mut b.rng);
                let mut pick = super::rng::SplitMix64::new(b.next_u64());
                let (extension, filetype, _) = FILE_TYPES
                    .get(type_weights.sample(&mut pick))
                    .copied()
                    .unwrap_or(("pdf", "pdf", 1.0));
                let title = capitalized(&phrase);
                (
                    format!("{}.{extension}", slug(&phrase, '_')),
                    title,
                    filetype,
                )
            };
            let id = b.slack_id("F", 11);
            let entity = render(&Entity {
                entity_type: "file".to_owned(),
                file: Some(FileRef {
                    id,
                    name: Some(name),
                    filetype: Some(filetype.to_owned()),
                    title: Some(title),
                    extra: ExtraFields::new(),
                }),
                ..Entity::default()
            });
            let workspace = b.below(workspace_count);
            pool.push(workspace, entity);
        }
        pool
    }

    fn object_pools(
        b: &mut Builder,
        workspaces: &[Team],
        prefixes: &[&str],
        user_count: usize,
    ) -> ObjectPools {
        let count = workspaces.len();
        // Organization-level objects live in the headquarters workspace.
        let simple = |b: &mut Builder,
                      entity_type: &str,
                      id_prefix: &str,
                      names: &[&str],
                      scope: ObjectScope| {
            let mut pool = Pool::new(count);
            for name in names {
                let workspace = match scope {
                    ObjectScope::Organization => 0,
                    ObjectScope::Workspace => b.below(count),
                };
                let id = b.slack_id(id_prefix, 11);
                let entity = object_entity(entity_type, named_object(id, name));
                pool.push(workspace, entity);
            }
            pool
        };
        use ObjectScope::{Organization, Workspace};
        let workflow_count = (8 + b.below(WORKFLOWS.len() - 7)).min(WORKFLOWS.len());
        let workflows = simple(b, "workflow", "Wf", &WORKFLOWS[..workflow_count], Workspace);
        let workflows_v2 = simple(b, "workflow_v2", "Wf", WORKFLOWS_V2, Workspace);
        let usergroups = simple(b, "usergroup", "S", USERGROUPS, Workspace);
        let roles = simple(b, "role", "Rl", ROLES, Organization);
        let account_type_roles = simple(
            b,
            "account_type_role",
            "Ra",
            ACCOUNT_TYPE_ROLES,
            Organization,
        );
        let barriers = simple(b, "barrier", "Ib", BARRIERS, Organization);
        let legal_holds = simple(b, "legal_hold_policy", "Lh", LEGAL_HOLDS, Organization);
        let templates = simple(b, "template", "Tp", TEMPLATES, Workspace);
        let functions = simple(b, "function", "Fn", FUNCTIONS, Workspace);
        let oauth_tokens = simple(
            b,
            "external_auth_oauth2_token",
            "Et",
            OAUTH_PROVIDERS,
            Workspace,
        );
        let titled = |b: &mut Builder, entity_type: &str, patterns: &[&str], total: usize| {
            let mut pool = Pool::new(count);
            let mut seen = HashSet::new();
            for _ in 0..total {
                let workspace = b.below(count);
                let subject = if b.chance(0.6) {
                    capitalized(b.choose(CODE_NAMES).copied().unwrap_or("atlas"))
                } else {
                    prefixes
                        .get(workspace)
                        .copied()
                        .unwrap_or("team")
                        .to_uppercase()
                };
                let pattern = b.choose(patterns).copied().unwrap_or("{}");
                let title = pattern.replace("{}", &subject);
                if !seen.insert(title.clone()) {
                    continue;
                }
                let id = b.slack_id("F", 11);
                pool.push(
                    workspace,
                    object_entity(entity_type, named_object(id, &title)),
                );
            }
            pool
        };
        let canvases = titled(b, "canvas", CANVAS_TITLES, user_count / 2);
        let lists = titled(b, "list", LIST_TITLES, user_count / 5);
        ObjectPools {
            workflows,
            workflows_v2,
            usergroups,
            canvases,
            lists,
            roles,
            account_type_roles,
            barriers,
            legal_holds,
            templates,
            functions,
            oauth_tokens,
        }
    }

    fn pref_details(
        partners: &[Partner],
        people: &[Person],
        admins: &[usize],
    ) -> Vec<Vec<Fragment>> {
        let change = |previous: SettingValue, new: SettingValue| {
            render(&Details {
                new_value: Some(new),
                previous_value: Some(previous),
                ..Details::default()
            })
        };
        let partner_ids: Vec<String> = partners
            .iter()
            .map(|partner| partner.team_id.clone())
            .collect();
        // An admin id, for "who can" settings that name individual users.
        let named_user = admins
            .first()
            .and_then(|&index| people.get(index))
            .map(|person| person.id.clone())
            .unwrap_or_default();
        PREFS
            .iter()
            .map(|template| match &template.values {
                PrefValues::Choice(values) => {
                    let mut variants = Vec::new();
                    for previous in *values {
                        for new in *values {
                            if previous != new {
                                variants.push(change(
                                    SettingValue::Text((*previous).to_owned()),
                                    SettingValue::Text((*new).to_owned()),
                                ));
                            }
                        }
                    }
                    variants
                }
                PrefValues::WhoCan => {
                    let who = |kinds: &[&str], users: &[String]| {
                        let mut grouped = BTreeMap::new();
                        grouped.insert(
                            "type".to_owned(),
                            kinds.iter().map(|kind| (*kind).to_owned()).collect(),
                        );
                        if !users.is_empty() {
                            grouped.insert("user".to_owned(), users.to_vec());
                        }
                        SettingValue::Grouped(grouped)
                    };
                    let mut variants = Vec::new();
                    for (position, previous) in WHO_CAN.iter().enumerate() {
                        for new in WHO_CAN.iter().skip(position + 1) {
                            variants.push(change(who(&[previous], &[]), who(&[new], &[])));
                            variants.push(change(who(&[new], &[]), who(&[previous], &[])));
                        }
                    }
                    variants.push(change(
                        who(&["ORG_ADMINS_AND_OWNERS"], &[]),
                        who(
                            &["ORG_ADMINS_AND_OWNERS"],
                            std::slice::from_ref(&named_user),
                        ),
                    ));
                    variants
                }
                PrefValues::Workspaces => (1..=partner_ids.len())
                    .map(|length| {
                        let new = partner_ids[..length].to_vec();
                        let previous = partner_ids[..length - 1].to_vec();
                        change(SettingValue::List(previous), SettingValue::List(new))
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Where objects of a kind live.
#[derive(Clone, Copy)]
enum ObjectScope {
    /// At organization level (kept in the headquarters workspace).
    Organization,
    /// In one workspace each.
    Workspace,
}

/// The simpler object kinds, built together.
struct ObjectPools {
    workflows: Pool,
    workflows_v2: Pool,
    usergroups: Pool,
    canvases: Pool,
    lists: Pool,
    roles: Pool,
    account_type_roles: Pool,
    barriers: Pool,
    legal_holds: Pool,
    templates: Pool,
    functions: Pool,
    oauth_tokens: Pool,
}
