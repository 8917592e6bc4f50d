//! Where requests to Slack go and whom they trust: decided once, from the parsed base URL,
//! and said in the log and in `check`'s answer.
//!
//! - **Route** ([`route`]): a base URL whose parsed scheme is `http` (only ever loopback: the
//!   settings refuse anything else) never goes through a proxy, since the proxy would read the
//!   bearer token in clear. An `https` one goes through `settings.proxy_url`, else the first of
//!   `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, `all_proxy` that is set, unless `NO_PROXY` (or
//!   `no_proxy`) names its host (hyper-util's matching, the one reqwest uses); HTTPS is tunnelled
//!   with CONNECT, so the token stays inside TLS. The client is given exactly that proxy, or
//!   none: reqwest's own reading of the environment (which would apply `HTTP_PROXY` to `http`)
//!   is turned off.
//! - **`localhost` without DNS**: it resolves to `127.0.0.1` and `::1`, never through a resolver
//!   (a hosts file or DNS server that says otherwise is not asked).
//! - **Trust changes are never silent**: each CA added to the trust store (its subject and
//!   SHA-256 fingerprint, where it came from) and the proxy (host and port, never its
//!   credentials, and which variable or setting named it) are logged at `info` when the client
//!   is built, and [`Said`] carries the same for `check`'s answer.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use hyper_util::client::proxy::matcher::Matcher;

use super::FetchError;
use super::tls::ca_identity;
use crate::settings::Network;

/// The environment variables that may name a proxy for HTTPS, in the order they are read.
const PROXY_VARIABLES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// The proxy variables of the environment, read once.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    /// The first of `PROXY_VARIABLES` that is set and not empty: its name and value.
    pub proxy: Option<(&'static str, String)>,
    /// `NO_PROXY`, else `no_proxy` (empty when neither is set).
    pub no_proxy: String,
}

impl ProxyEnv {
    /// This process's environment.
    pub fn from_process() -> ProxyEnv {
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        ProxyEnv {
            proxy: PROXY_VARIABLES
                .iter()
                .find_map(|name| set(name).map(|value| (*name, value))),
            no_proxy: set("NO_PROXY")
                .or_else(|| set("no_proxy"))
                .unwrap_or_default(),
        }
    }
}

/// Where requests to the base URL go. `Debug` shows a proxy's host and port only.
#[derive(Clone, PartialEq, Eq)]
pub enum Route {
    /// Straight to the base URL's host, and why (for the log).
    Direct(&'static str),
    /// Through this proxy (HTTPS tunnelled with CONNECT), named by `from` (`settings.proxy_url`
    /// or the environment variable).
    Proxy {
        /// The proxy, credentials included when the environment gave them.
        url: url::Url,
        /// `settings.proxy_url`, `HTTPS_PROXY`, …
        from: &'static str,
    },
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Route::Direct(why) => f.debug_tuple("Direct").field(why).finish(),
            Route::Proxy { url, from } => f
                .debug_struct("Proxy")
                .field("proxy", &host_port(url))
                .field("from", from)
                .finish(),
        }
    }
}

/// Decides the route of requests to `base` (the parsed, checked base URL): see the module doc.
pub fn route(
    base: &url::Url,
    configured: Option<&url::Url>,
    env: &ProxyEnv,
) -> Result<Route, String> {
    if base.scheme() != "https" {
        return Ok(Route::Direct(
            "a loopback http base URL never goes through a proxy (the token would travel in clear)",
        ));
    }
    let (proxy, from) = match (configured, &env.proxy) {
        (Some(url), _) => (url.clone(), "settings.proxy_url"),
        (None, Some((name, value))) => (proxy_from_env(name, value)?, *name),
        (None, None) => return Ok(Route::Direct("no proxy is configured")),
    };
    // The matcher only answers "does NO_PROXY name the host" (the scheme was decided above).
    let bypassed = base
        .as_str()
        .parse::<hyper::Uri>()
        .map(|uri| {
            Matcher::builder()
                .all(proxy.as_str())
                .no(env.no_proxy.as_str())
                .build()
                .intercept(&uri)
                .is_none()
        })
        .unwrap_or(false);
    if bypassed {
        return Ok(Route::Direct("NO_PROXY names the host"));
    }
    Ok(Route::Proxy { url: proxy, from })
}

/// A proxy URL from the environment: `http`/`https` (a bare `host:port` is taken as `http`),
/// a host; credentials are kept (the operator's environment may hold them). The error never
/// quotes the value.
fn proxy_from_env(name: &str, value: &str) -> Result<url::Url, String> {
    let value = value.trim();
    let text = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let url = url::Url::parse(&text)
        .map_err(|e| format!("the proxy in {name} is not a URL ({e}); use http://HOST:PORT"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the proxy in {name} has the scheme {:?}, which is not supported; use http://HOST:PORT (HTTPS is tunnelled with CONNECT) or https://HOST:PORT",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "the proxy in {name} has no host; use http://HOST:PORT"
        ));
    }
    Ok(url)
}

/// What the client trusts beyond the defaults and where it sends requests, for `check`'s
/// answer (the log says the same when the client is built).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Said(Vec<String>);

impl Said {
    /// One sentence, or `None` when nothing was added to the defaults.
    pub fn sentence(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join("; "))
    }
}

/// The client's builder for requests to `base`: `builder` (already holding the TLS
/// configuration) with the route decided, `localhost` pinned, and what was added said.
pub fn configure(
    builder: reqwest::ClientBuilder,
    base: &url::Url,
    network: &Network,
    env: &ProxyEnv,
) -> Result<(reqwest::ClientBuilder, Said), FetchError> {
    let mut said = Vec::new();
    for ca in &network.extra_roots {
        let identity = ca_identity(&ca.der);
        tracing::info!(
            message = "Trusting an extra CA, as well as the system trust store and the bundled web roots: whoever holds its key can read every request to Slack, the token included.",
            from = ca.from,
            subject = %identity.subject,
            sha256 = %identity.sha256,
        );
        said.push(format!(
            "trusting the extra CA `{}` (SHA-256 {}, from {})",
            identity.subject, identity.sha256, ca.from
        ));
    }
    let route = route(base, network.proxy.as_ref(), env).map_err(FetchError::Config)?;
    let builder = match &route {
        Route::Direct(why) => {
            if network.proxy.is_some() || env.proxy.is_some() {
                tracing::info!(
                    message = "A proxy is configured, but requests to Slack go direct.",
                    reason = *why,
                );
            }
            builder.no_proxy()
        }
        Route::Proxy { url, from } => {
            let proxy = reqwest::Proxy::all(url.as_str()).map_err(|e| {
                FetchError::Config(format!("the proxy of {from} cannot be used: {e}"))
            })?;
            tracing::info!(
                message = "Requests to Slack go through a proxy (HTTPS tunnelled with CONNECT).",
                proxy = %host_port(url),
                from = *from,
            );
            said.push(format!(
                "through the proxy `{}` (from {from})",
                host_port(url)
            ));
            builder.proxy(proxy)
        }
    };
    Ok((pin_localhost(builder), Said(said)))
}

/// `localhost` is this machine: `127.0.0.1` and `::1`, never looked up (the URL's port is kept).
fn pin_localhost(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.resolve_to_addrs(
        "localhost",
        &[
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
        ],
    )
}

/// `host:port` of a URL, for logs and answers (never its credentials).
pub fn host_port(url: &url::Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{Arc, Mutex};

    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).unwrap()
    }

    fn env(proxy: Option<(&'static str, &str)>, no_proxy: &str) -> ProxyEnv {
        ProxyEnv {
            proxy: proxy.map(|(name, value)| (name, value.to_owned())),
            no_proxy: no_proxy.to_owned(),
        }
    }

    #[test]
    fn a_parsed_http_base_url_goes_direct_and_https_follows_the_configured_proxy() {
        let settings_proxy = url("http://proxy.example:3128");
        for base in [
            "HTTP://127.0.0.1:1",
            " http://localhost:1",
            "ht\ttp://127.0.0.1:1",
        ] {
            let base = url(base);
            for (configured, from_env) in [
                (Some(&settings_proxy), None),
                (None, Some(("HTTPS_PROXY", "http://proxy.example:3128"))),
                (None, Some(("ALL_PROXY", "proxy.example:3128"))),
            ] {
                let route = route(&base, configured, &env(from_env, "")).unwrap();
                assert_eq!(
                    route,
                    Route::Direct(
                        "a loopback http base URL never goes through a proxy (the token would travel in clear)"
                    ),
                    "{base}"
                );
            }
        }
        let https = url("https://api.slack.com/");
        assert_eq!(
            route(&https, Some(&settings_proxy), &env(None, "")),
            Ok(Route::Proxy {
                url: settings_proxy.clone(),
                from: "settings.proxy_url"
            })
        );
        assert_eq!(
            route(
                &https,
                None,
                &env(Some(("all_proxy", "u:p@proxy.example:8080")), "")
            ),
            Ok(Route::Proxy {
                url: url("http://u:p@proxy.example:8080"),
                from: "all_proxy"
            })
        );
        assert_eq!(
            route(&https, None, &env(None, "")),
            Ok(Route::Direct("no proxy is configured"))
        );
        for no_proxy in ["slack.com", ".slack.com, example.org", "*"] {
            assert_eq!(
                route(&https, Some(&settings_proxy), &env(None, no_proxy)),
                Ok(Route::Direct("NO_PROXY names the host")),
                "{no_proxy}"
            );
        }
        let loopback = url("https://127.0.0.1:8443");
        assert!(matches!(
            route(&loopback, Some(&settings_proxy), &env(None, "example.org")),
            Ok(Route::Proxy { .. })
        ));
        let refused = route(
            &https,
            None,
            &env(Some(("HTTPS_PROXY", "socks5://u:secret@proxy:1080")), ""),
        )
        .unwrap_err();
        assert!(
            refused.contains("HTTPS_PROXY") && refused.contains("socks5"),
            "{refused}"
        );
        assert!(!refused.contains("secret"), "{refused}");
        let with_credentials = route(
            &https,
            None,
            &env(Some(("HTTPS_PROXY", "http://u:secret@proxy:3128")), ""),
        );
        assert!(!format!("{with_credentials:?}").contains("secret"));
    }

    /// A resolver that answers nothing and notes every name it is asked.
    #[derive(Debug, Default)]
    struct NoDns(Arc<Mutex<Vec<String>>>);

    impl reqwest::dns::Resolve for NoDns {
        fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            self.0.lock().unwrap().push(name.as_str().to_owned());
            Box::pin(async { Err("no DNS in this test".into()) })
        }
    }

    #[tokio::test]
    async fn localhost_is_this_machine_without_asking_a_resolver() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0);
                head.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await
                .unwrap();
        });
        let asked = Arc::new(Mutex::new(Vec::new()));
        let base = url(&format!("http://localhost:{port}"));
        let (builder, _) = configure(
            reqwest::Client::builder().dns_resolver(Arc::new(NoDns(asked.clone()))),
            &base,
            &Network::default(),
            &ProxyEnv::default(),
        )
        .unwrap();
        let response = builder.build().unwrap().get(base).send().await.unwrap();
        assert_eq!(response.status(), 204);
        server.await.unwrap();
        assert!(
            asked.lock().unwrap().is_empty(),
            "a resolver was asked: {asked:?}"
        );
    }
}
