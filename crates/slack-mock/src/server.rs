//! The server: the [`MockSlack`] handle, the accept loop, one task per connection, and the
//! per-request pipeline (path → token → rate limit → queued fault → random fault → script or
//! dataset page), with everything recorded for introspection.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::clock::unix_now;
use crate::config::{
    ACTIONS_PATH, Fault, FaultKind, LOGS_PATH, MockConfig, RandomFaults, SCHEMAS_PATH,
    ScriptedExchange, ScriptedResponse,
};
use crate::dataset::{Dataset, Page, PageQuery};
use crate::entry::MockEntry;
use crate::hostile::Hostile;
use crate::http::{self, ReadError, Request};
use crate::rng::SplitMix64;

/// A request arriving this much before a `Retry-After` we gave has elapsed is not counted as
/// early (clock and scheduling slack).
const EARLY_TOLERANCE: Duration = Duration::from_millis(50);
const RATE_WINDOW: Duration = Duration::from_secs(60);
const JSON: &str = "application/json; charset=utf-8";

/// One request the mock received, as recorded by [`MockSlack::requests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The raw request target, e.g. `/audit/v1/logs?limit=100&oldest=1`.
    pub target: String,
    /// The path part of the target (not decoded).
    pub path: String,
    /// Query parameters, percent-decoded, in the order sent.
    pub query: Vec<(String, String)>,
    /// Headers, in the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    /// When the request head was read.
    pub at: Instant,
    /// Status of the response; `0` when none was sent (`Drop`, `Stall`, scripted `drop`).
    /// A `Truncated` response counts as `200`.
    pub response_status: u16,
}

impl RecordedRequest {
    /// Last value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Injected faults by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// [`FaultKind::Status`].
    pub status: u64,
    /// [`FaultKind::RateLimited`] (faults only; the rate limiter's 429s are not faults).
    pub rate_limited: u64,
    /// [`FaultKind::Truncated`].
    pub truncated: u64,
    /// [`FaultKind::Drop`].
    pub drop: u64,
    /// [`FaultKind::Stall`].
    pub stall: u64,
    /// [`FaultKind::OkFalse`].
    pub ok_false: u64,
    /// [`FaultKind::InvalidCursor`].
    pub invalid_cursor: u64,
    /// [`FaultKind::StrayEntry`].
    pub stray_entry: u64,
    /// [`FaultKind::RepeatCursor`].
    pub repeat_cursor: u64,
    /// [`FaultKind::EndlessBody`].
    pub endless_body: u64,
    /// [`FaultKind::GzipBomb`].
    pub gzip_bomb: u64,
    /// [`FaultKind::HugeContentLength`].
    pub huge_content_length: u64,
    /// [`FaultKind::HugeHeaders`].
    pub huge_headers: u64,
    /// [`FaultKind::Trickle`].
    pub trickle: u64,
    /// [`FaultKind::Redirect`].
    pub redirect: u64,
}

impl FaultCounts {
    /// The count of one kind.
    pub fn get(&self, kind: FaultKind) -> u64 {
        let mut copy = *self;
        *copy.slot(kind)
    }

    /// All injected faults.
    pub fn total(&self) -> u64 {
        FaultKind::ALL.iter().map(|k| self.get(*k)).sum()
    }

    fn bump(&mut self, kind: FaultKind) {
        *self.slot(kind) += 1;
    }

    fn slot(&mut self, kind: FaultKind) -> &mut u64 {
        match kind {
            FaultKind::Status => &mut self.status,
            FaultKind::RateLimited => &mut self.rate_limited,
            FaultKind::Truncated => &mut self.truncated,
            FaultKind::Drop => &mut self.drop,
            FaultKind::Stall => &mut self.stall,
            FaultKind::OkFalse => &mut self.ok_false,
            FaultKind::InvalidCursor => &mut self.invalid_cursor,
            FaultKind::StrayEntry => &mut self.stray_entry,
            FaultKind::RepeatCursor => &mut self.repeat_cursor,
            FaultKind::EndlessBody => &mut self.endless_body,
            FaultKind::GzipBomb => &mut self.gzip_bomb,
            FaultKind::HugeContentLength => &mut self.huge_content_length,
            FaultKind::HugeHeaders => &mut self.huge_headers,
            FaultKind::Trickle => &mut self.trickle,
            FaultKind::Redirect => &mut self.redirect,
        }
    }
}

/// Counters, as returned by [`MockSlack::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Every request head read.
    pub requests: u64,
    /// Dataset pages answered 200 (not counting truncated ones).
    pub pages_ok: u64,
    /// Entries in those pages (with repeats).
    pub entries_served: u64,
    /// Scripted exchanges served (matched and answered as scripted).
    pub scripted_served: u64,
    /// Every 429 sent: by the rate limiter, a queued fault or a random fault.
    pub rate_limited: u64,
    /// Requests that arrived more than 50 ms before a `Retry-After` we sent had elapsed.
    pub early_retries: u64,
    /// 401s sent because of a missing or wrong token (not `Fault::Status` 401s).
    pub unauthorized: u64,
    /// Validation refusals: 400 `invalid_arguments`, `invalid_range`, `invalid_action`,
    /// `invalid_cursor` for a garbled cursor (not the `InvalidCursor` fault).
    pub bad_requests: u64,
    /// 404 (unknown path), 405 (not GET), 400/431 (unparseable request).
    pub not_found: u64,
    /// Scripted-mode mismatches (599s).
    pub mismatches: u64,
    /// Injected faults (queued and random) by kind.
    pub faults: FaultCounts,
}

/// A running mock of Slack's Audit Logs API on `127.0.0.1:<ephemeral port>`.
///
/// Dropping it stops the server too (without waiting); [`MockSlack::shutdown`] stops it and
/// waits until every connection is closed.
#[derive(Debug)]
pub struct MockSlack {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl MockSlack {
    /// Binds `127.0.0.1:0` and starts serving (on the current tokio runtime).
    pub async fn start(config: MockConfig) -> std::io::Result<MockSlack> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let mut config = config;
        let script = config.script.take().map(VecDeque::from);
        let rng = config
            .random_faults
            .as_ref()
            .map(|r| SplitMix64::new(r.seed));
        let shared = Arc::new(Shared {
            dataset: RwLock::new(Dataset::default()),
            ctl: Mutex::new(Control {
                script,
                rng,
                ..Control::default()
            }),
            config,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        tracing::debug!(%addr, "slack-mock listening");
        Ok(MockSlack {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash); the logs method is at
    /// `{base_url}/audit/v1/logs`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds one entry (at any time: new or late events). The dataset stays sorted newest
    /// first; an entry with the same `(date_create, id)` as an existing one replaces it.
    pub fn push_entry(&self, entry: MockEntry) {
        write_lock(&self.shared.dataset).insert(entry);
    }

    /// Adds many entries at once (one sort and merge: use this for big datasets).
    pub fn push_entries(&self, entries: impl IntoIterator<Item = MockEntry>) {
        let entries: Vec<MockEntry> = entries.into_iter().collect();
        write_lock(&self.shared.dataset).extend(entries);
    }

    /// Number of entries in the dataset.
    pub fn entry_count(&self) -> usize {
        read_lock(&self.shared.dataset).len()
    }

    /// Queues a one-shot fault; queued faults apply to the next requests in FIFO order.
    pub fn enqueue_fault(&self, fault: Fault) {
        self.shared.ctl().faults.push_back(fault);
    }

    /// Drops every queued fault not applied yet.
    pub fn clear_faults(&self) {
        self.shared.ctl().faults.clear();
    }

    /// Queued faults not applied yet.
    pub fn pending_faults(&self) -> usize {
        self.shared.ctl().faults.len()
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.ctl().requests.clone()
    }

    /// Ids of every entry in every 200 dataset page, in the order served, with repeats.
    /// Recorded just before the page is written (a page whose write then failed because
    /// the client went away still counts); truncated pages do not count.
    pub fn served_ids(&self) -> Vec<String> {
        self.shared
            .ctl()
            .served
            .iter()
            .map(|id| id.to_string())
            .collect()
    }

    /// Ids of the stray entries served ([`Fault::StrayEntry`], queued or random), in the
    /// order served, with repeats.
    pub fn stray_ids(&self) -> Vec<String> {
        self.shared.ctl().strays.clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> MockStats {
        self.shared.ctl().stats
    }

    /// Scripted mode: a description (expected vs got) of every mismatching request.
    pub fn mismatches(&self) -> Vec<String> {
        self.shared.ctl().mismatches.clone()
    }

    /// Scripted mode: exchanges not consumed yet (0 in dataset mode).
    pub fn remaining_script(&self) -> usize {
        self.shared.ctl().script.as_ref().map_or(0, VecDeque::len)
    }

    /// Stops accepting, closes every connection (aborting stalls and delays) and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug)]
struct Shared {
    config: MockConfig,
    dataset: RwLock<Dataset>,
    ctl: Mutex<Control>,
}

#[derive(Debug, Default)]
struct Control {
    faults: VecDeque<Fault>,
    requests: Vec<RecordedRequest>,
    served: Vec<Arc<str>>,
    strays: Vec<String>,
    stray_counter: u64,
    stats: MockStats,
    window: VecDeque<Instant>,
    retry_not_before: Option<Instant>,
    rng: Option<SplitMix64>,
    script: Option<VecDeque<ScriptedExchange>>,
    script_consumed: usize,
    mismatches: Vec<String>,
}

/// What to do with a request, decided under the control lock.
enum Plan {
    /// Send this now (no page delay).
    Respond(Canned),
    Truncated,
    Drop,
    Stall(Duration),
    /// Dataset page, after the page delay, altered as the tweak says.
    Page(PageTweak),
    /// Scripted answer, after the page delay.
    Script(ScriptedResponse),
    /// A response built to exhaust the client (see [`crate::hostile`]).
    Hostile(Hostile),
}

/// Alterations of a dataset page (faults that corrupt an otherwise good page).
#[derive(Debug, Default)]
struct PageTweak {
    /// Served after the page's own entries.
    stray: Option<MockEntry>,
    /// Served as `next_cursor` instead of the real one.
    next_cursor: Option<String>,
}

struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Canned {
    fn json_error(status: u16, error: &str) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), JSON.into())],
            body: http::error_body(error).into_bytes(),
        }
    }

    fn rate_limited(secs: u64) -> Self {
        let mut c = Self::json_error(429, "ratelimited");
        c.headers.push(("Retry-After".into(), secs.to_string()));
        c
    }

    fn write(&self, out: &mut Vec<u8>, close: bool) {
        http::write_head(
            out,
            self.status,
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            self.body.len(),
            close,
        );
        out.extend_from_slice(&self.body);
    }
}

impl Shared {
    fn ctl(&self) -> MutexGuard<'_, Control> {
        self.ctl.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_status(&self, idx: usize, status: u16) {
        if let Some(r) = self.ctl().requests.get_mut(idx) {
            r.response_status = status;
        }
    }

    /// Records the request and decides what to answer. Returns the request's index.
    fn plan(&self, req: &Request) -> (usize, Plan) {
        let now = Instant::now();
        let mut ctl = self.ctl();
        ctl.stats.requests += 1;
        if let Some(t) = ctl.retry_not_before {
            if now + EARLY_TOLERANCE < t {
                ctl.stats.early_retries += 1;
            } else if now >= t {
                ctl.retry_not_before = None;
            }
        }
        let idx = ctl.requests.len();
        ctl.requests.push(RecordedRequest {
            method: req.method.clone(),
            target: req.target.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            headers: req.headers.clone(),
            at: now,
            response_status: 0,
        });
        let plan = ctl.decide(req, now, &self.config);
        if let Plan::Respond(c) = &plan {
            ctl.requests[idx].response_status = c.status;
        }
        (idx, plan)
    }
}

impl Control {
    fn decide(&mut self, req: &Request, now: Instant, cfg: &MockConfig) -> Plan {
        if req.method != "GET" {
            self.stats.not_found += 1;
            return Plan::Respond(Canned::json_error(405, "method_not_allowed"));
        }
        let document = match req.path.as_str() {
            ACTIONS_PATH => Some(cfg.actions_document.as_ref()),
            SCHEMAS_PATH => Some(cfg.schemas_document.as_ref()),
            _ => None,
        };
        if let Some(document) = document {
            return Plan::Respond(match document {
                Some(body) => Canned {
                    status: 200,
                    headers: vec![("Content-Type".into(), JSON.into())],
                    body: body.clone().into_bytes(),
                },
                None => {
                    self.stats.not_found += 1;
                    Canned::json_error(404, "unknown_method")
                }
            });
        }
        if req.path != LOGS_PATH {
            if self.script.is_some() {
                return self.mismatch(req, "a request to an unknown path");
            }
            self.stats.not_found += 1;
            return Plan::Respond(Canned::json_error(404, "unknown_method"));
        }
        if let Some(token) = &cfg.token {
            let ok = req.header("authorization").is_some_and(|v| {
                v.split_once(' ').is_some_and(|(scheme, t)| {
                    scheme.eq_ignore_ascii_case("bearer") && t.trim() == token
                })
            });
            if !ok {
                self.stats.unauthorized += 1;
                return Plan::Respond(Canned {
                    status: 401,
                    headers: Vec::new(),
                    body: Vec::new(),
                });
            }
        }
        if let Some(per_minute) = cfg.rate_limit_per_minute {
            while self.window.front().is_some_and(|t| *t + RATE_WINDOW <= now) {
                self.window.pop_front();
            }
            if self.window.len() >= per_minute as usize {
                let wait = self.window.front().map_or(RATE_WINDOW, |t| {
                    (*t + RATE_WINDOW).saturating_duration_since(now)
                });
                let secs = (wait.as_secs_f64().ceil() as u64).max(1);
                return self.send_429(now, secs);
            }
            self.window.push_back(now);
        }
        let has_cursor = req.cursor().is_some();
        let queued = match self.faults.front() {
            Some(Fault::InvalidCursor | Fault::RepeatCursor) if !has_cursor => None,
            Some(_) => self.faults.pop_front(),
            None => None,
        };
        if let Some(fault) = queued {
            return self.inject(fault, req, now);
        }
        if let Some(random) = &cfg.random_faults
            && let Some(fault) = self.draw(random, has_cursor)
        {
            return self.inject(fault, req, now);
        }
        if self.script.is_some() {
            return self.next_exchange(req);
        }
        Plan::Page(PageTweak::default())
    }

    fn send_429(&mut self, now: Instant, secs: u64) -> Plan {
        self.stats.rate_limited += 1;
        let until = now + Duration::from_secs(secs);
        self.retry_not_before = Some(self.retry_not_before.map_or(until, |t| t.max(until)));
        Plan::Respond(Canned::rate_limited(secs))
    }

    fn inject(&mut self, fault: Fault, req: &Request, now: Instant) -> Plan {
        self.stats.faults.bump(fault.kind());
        tracing::debug!(?fault, "slack-mock injecting fault");
        match fault {
            Fault::Status {
                status,
                body,
                headers,
            } => Plan::Respond(Canned {
                status,
                headers,
                body: body.into_bytes(),
            }),
            Fault::RateLimited { retry_after_secs } => self.send_429(now, retry_after_secs),
            Fault::Truncated => Plan::Truncated,
            Fault::Drop => Plan::Drop,
            Fault::Stall(d) => Plan::Stall(d),
            Fault::OkFalse(error) => Plan::Respond(Canned::json_error(200, &error)),
            Fault::InvalidCursor => Plan::Respond(Canned::json_error(400, "invalid_cursor")),
            Fault::StrayEntry(entry) => {
                self.strays.push(entry.id.clone());
                Plan::Page(PageTweak {
                    stray: Some(entry),
                    next_cursor: None,
                })
            }
            Fault::RepeatCursor => Plan::Page(PageTweak {
                stray: None,
                next_cursor: req.cursor().map(str::to_owned),
            }),
            Fault::Redirect { status, location } => Plan::Respond(Canned {
                status,
                headers: vec![("Location".into(), location)],
                body: Vec::new(),
            }),
            Fault::EndlessBody => Plan::Hostile(Hostile::EndlessBody),
            Fault::GzipBomb { inflated } => Plan::Hostile(Hostile::GzipBomb { inflated }),
            Fault::HugeContentLength => Plan::Hostile(Hostile::HugeContentLength),
            Fault::HugeHeaders { bytes } => Plan::Hostile(Hostile::HugeHeaders { bytes }),
            Fault::Trickle(interval) => Plan::Hostile(Hostile::Trickle(interval)),
        }
    }

    /// A stray entry for a random [`FaultKind::StrayEntry`]: a year ahead or behind, in turn.
    fn random_stray(&mut self) -> MockEntry {
        const YEAR: i64 = 365 * 86_400;
        self.stray_counter += 1;
        let n = self.stray_counter;
        let date = if n % 2 == 1 {
            unix_now() + YEAR
        } else {
            unix_now() - YEAR
        };
        MockEntry::synthetic(
            &format!("stray-{n:06}"),
            date,
            "user_login",
            "W0STRAY00",
            "W0STRAY00",
        )
    }

    fn draw(&mut self, random: &RandomFaults, has_cursor: bool) -> Option<Fault> {
        let rng = self.rng.as_mut()?;
        if rng.next_f64() >= random.probability {
            return None;
        }
        let total: u64 = random.kinds.iter().map(|(_, w)| u64::from(*w)).sum();
        if total == 0 {
            return None;
        }
        let mut pick = rng.next_u64() % total;
        let kind = random.kinds.iter().find_map(|(k, w)| {
            let w = u64::from(*w);
            if pick < w {
                Some(*k)
            } else {
                pick -= w;
                None
            }
        })?;
        Some(match kind {
            FaultKind::Status => Fault::service_unavailable_html(),
            FaultKind::RateLimited => Fault::RateLimited {
                retry_after_secs: random.retry_after_secs,
            },
            FaultKind::Truncated => Fault::Truncated,
            FaultKind::Drop => Fault::Drop,
            FaultKind::Stall => Fault::Stall(random.stall),
            FaultKind::OkFalse => Fault::OkFalse("fatal_error".into()),
            FaultKind::InvalidCursor if has_cursor => Fault::InvalidCursor,
            FaultKind::RepeatCursor if has_cursor => Fault::RepeatCursor,
            FaultKind::StrayEntry => Fault::StrayEntry(self.random_stray()),
            FaultKind::InvalidCursor
            | FaultKind::RepeatCursor
            | FaultKind::EndlessBody
            | FaultKind::GzipBomb
            | FaultKind::HugeContentLength
            | FaultKind::HugeHeaders
            | FaultKind::Trickle
            | FaultKind::Redirect => return None,
        })
    }

    fn next_exchange(&mut self, req: &Request) -> Plan {
        let Some(script) = self.script.as_mut() else {
            return Plan::Page(PageTweak::default());
        };
        let Some(next) = script.front() else {
            let what = format!(
                "a request after the end of the script ({} exchanges consumed)",
                self.script_consumed
            );
            return self.mismatch(req, &what);
        };
        if !query_matches(&next.expect_query, &req.query) {
            let what = format!(
                "exchange #{} expecting query {:?}",
                self.script_consumed, next.expect_query
            );
            return self.mismatch(req, &what);
        }
        let Some(exchange) = script.pop_front() else {
            return Plan::Page(PageTweak::default());
        };
        self.script_consumed += 1;
        self.stats.scripted_served += 1;
        Plan::Script(exchange.response)
    }

    fn mismatch(&mut self, req: &Request, expected: &str) -> Plan {
        let desc = format!(
            "request #{} `{} {}` (query {:?}): expected {expected}",
            self.requests.len().saturating_sub(1),
            req.method,
            req.target,
            req.query
        );
        tracing::warn!("slack-mock script mismatch: {desc}");
        self.stats.mismatches += 1;
        self.mismatches.push(desc.clone());
        Plan::Respond(Canned {
            status: 599,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: format!("slack-mock script mismatch: {desc}\n").into_bytes(),
        })
    }
}

/// Multiset equality of query parameters; an expected value `"*"` matches any value (exact
/// expectations are matched first).
fn query_matches(expected: &[(String, String)], got: &[(String, String)]) -> bool {
    if expected.len() != got.len() {
        return false;
    }
    let mut used = vec![false; expected.len()];
    let mut rest = Vec::new();
    for g in got {
        match (0..expected.len()).find(|&i| !used[i] && expected[i] == *g) {
            Some(i) => used[i] = true,
            None => rest.push(g),
        }
    }
    rest.into_iter().all(|g| {
        match (0..expected.len())
            .find(|&i| !used[i] && expected[i].0 == g.0 && expected[i].1 == "*")
        {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        }
    })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_connection(Arc::clone(&shared), stream));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "slack-mock accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_connection(shared: Arc<Shared>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut inbuf = Vec::with_capacity(8192);
    let mut out = Vec::new();
    loop {
        let req = match http::read_request(&mut stream, &mut inbuf).await {
            Ok(req) => req,
            Err(ReadError::Closed) => return,
            Err(e) => {
                shared.ctl().stats.not_found += 1;
                let (status, error) = match e {
                    ReadError::TooLarge => (431, "request_too_large"),
                    _ => (400, "invalid_request"),
                };
                out.clear();
                Canned::json_error(status, error).write(&mut out, true);
                let _ = stream.write_all(&out).await;
                return;
            }
        };
        let close = !req.keep_alive;
        let (idx, plan) = shared.plan(&req);
        out.clear();
        match plan {
            Plan::Respond(canned) => canned.write(&mut out, close),
            Plan::Drop => return,
            Plan::Stall(d) => {
                tokio::time::sleep(d).await;
                return;
            }
            Plan::Truncated => {
                shared.set_status(idx, 200);
                let head_len =
                    render_page(&shared, &req, &mut out, false, false, PageTweak::default());
                let cut = head_len + (out.len() - head_len) / 2;
                let _ = stream.write_all(&out[..cut]).await;
                return;
            }
            Plan::Page(tweak) => {
                // Render first, then sleep what is left of the delay: the delay is the time the
                // server takes to answer, and the mock's own work must not add to it (the bench
                // measures the connector, not the mock).
                let arrived = tokio::time::Instant::now();
                render_page(&shared, &req, &mut out, true, close, tweak);
                delay_rest(&shared, arrived.elapsed()).await;
                let status = parse_status(&out);
                shared.set_status(idx, status);
            }
            Plan::Script(resp) => {
                delay_rest(&shared, Duration::ZERO).await;
                if resp.drop {
                    return;
                }
                shared.set_status(idx, resp.status);
                if resp.truncate {
                    let (declared, sent) = truncated_body(&resp);
                    write_scripted_head(&mut out, &resp, declared, false);
                    out.extend_from_slice(sent);
                    let _ = stream.write_all(&out).await;
                    return;
                }
                write_scripted_head(&mut out, &resp, resp.body.len(), close);
                out.extend_from_slice(&resp.body);
            }
            Plan::Hostile(hostile) => {
                shared.set_status(idx, 200);
                let mut page = Vec::new();
                render_page(&shared, &req, &mut page, false, true, PageTweak::default());
                hostile.serve(&mut stream, &page).await;
                return;
            }
        }
        if stream.write_all(&out).await.is_err() || close {
            return;
        }
        if out.capacity() > 64 << 20 {
            out = Vec::new();
        }
    }
}

/// Sleeps what is left of [`MockConfig::page_delay`](crate::MockConfig::page_delay) after
/// `spent` of work on the response.
async fn delay_rest(shared: &Shared, spent: Duration) {
    let rest = shared.config.page_delay.saturating_sub(spent);
    if !rest.is_zero() {
        tokio::time::sleep(rest).await;
    }
}

fn parse_status(out: &[u8]) -> u16 {
    out.get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Renders the dataset's answer to `req` into `out` (head + body) and returns the head's
/// length. With `record`, counts the page and records served ids; without it (truncation),
/// an error answer is replaced by an empty 200 page.
fn render_page(
    shared: &Shared,
    req: &Request,
    out: &mut Vec<u8>,
    record: bool,
    close: bool,
    tweak: PageTweak,
) -> usize {
    let cfg = &shared.config;
    let mut page = match PageQuery::parse(req, cfg, unix_now()) {
        Ok(query) => read_lock(&shared.dataset).page(&query, cfg.split_ties),
        Err((status, error)) if record => {
            shared.ctl().stats.bad_requests += 1;
            Canned::json_error(status, error).write(out, close);
            return out.len() - http::error_body(error).len();
        }
        Err(_) => Page {
            entries: Vec::new(),
            next_cursor: String::new(),
        },
    };
    if record {
        let mut ctl = shared.ctl();
        ctl.stats.pages_ok += 1;
        ctl.stats.entries_served += page.entries.len() as u64;
        ctl.served
            .extend(page.entries.iter().map(|e| Arc::clone(&e.id)));
    }
    if let Some(stray) = tweak.stray {
        page.entries.push(Arc::new(stray.into()));
    }
    if let Some(cursor) = tweak.next_cursor {
        page.next_cursor = cursor;
    }
    http::write_head(out, 200, [("Content-Type", JSON)], page.body_len(), close);
    let head_len = out.len();
    page.write_body(out);
    debug_assert_eq!(out.len() - head_len, page.body_len());
    head_len
}

fn write_scripted_head(out: &mut Vec<u8>, resp: &ScriptedResponse, len: usize, close: bool) {
    let managed = ["content-length", "transfer-encoding", "connection"];
    let headers = resp
        .headers
        .iter()
        .filter(|(k, _)| !managed.iter().any(|m| k.eq_ignore_ascii_case(m)))
        .map(|(k, v)| (k.as_str(), v.as_str()));
    http::write_head(out, resp.status, headers, len, close);
}

/// `(declared Content-Length, bytes to send)` of a truncated scripted response.
fn truncated_body(resp: &ScriptedResponse) -> (usize, &[u8]) {
    let declared = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok());
    match declared {
        Some(len) => (len, &resp.body[..]),
        None => (resp.body.len(), &resp.body[..resp.body.len() / 2]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn query_matching_is_a_multiset_with_wildcards() {
        let exp = q(&[("limit", "2"), ("latest", "*"), ("oldest", "5")]);
        assert!(query_matches(
            &exp,
            &q(&[("oldest", "5"), ("latest", "9"), ("limit", "2")])
        ));
        assert!(!query_matches(&exp, &q(&[("oldest", "5"), ("limit", "2")])));
        assert!(!query_matches(
            &exp,
            &q(&[("oldest", "5"), ("latest", "9"), ("limit", "2"), ("x", "1")])
        ));
        assert!(!query_matches(
            &exp,
            &q(&[("oldest", "6"), ("latest", "9"), ("limit", "2")])
        ));
        let dup = q(&[("a", "*"), ("a", "1")]);
        assert!(query_matches(&dup, &q(&[("a", "7"), ("a", "1")])));
        assert!(!query_matches(&dup, &q(&[("a", "7"), ("a", "8")])));
    }
}
