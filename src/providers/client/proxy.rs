//! The connector under the TLS layer: a TCP connection to the provider, or one through the
//! provider's `proxy_config`, an HTTP proxy (`CONNECT` tunnel) or a SOCKS5 proxy. TLS to the
//! provider runs inside the tunnel, so the proxy sees only the provider's host and port.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::{HeaderValue, Uri};
use base64::Engine;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use crate::config::secret::Resolved;
use crate::config::{ProxyConfig, ProxyKind};

type BoxError = Box<dyn StdError + Send + Sync>;
type Connection = TokioIo<TcpStream>;

/// Where the client's connections go.
#[derive(Clone, Default)]
pub enum Proxy {
    /// Straight to the provider.
    #[default]
    Direct,
    /// Through an HTTP proxy: `CONNECT host:port`, with `Proxy-Authorization` when set.
    Http {
        /// The proxy.
        url: Uri,
        /// `Basic ...`, marked sensitive.
        auth: Option<HeaderValue>,
    },
    /// Through a SOCKS5 proxy, which resolves the provider's name.
    Socks5 {
        /// The proxy.
        url: Uri,
        /// User name and password.
        auth: Option<(String, String)>,
    },
    /// As `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` said when it was made.
    Environment(Arc<Matcher>),
}

impl fmt::Debug for Proxy {
    // Never the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::Direct => f.write_str("Direct"),
            Proxy::Http { url, .. } => write!(f, "Http({url})"),
            Proxy::Socks5 { url, .. } => write!(f, "Socks5({url})"),
            Proxy::Environment(_) => f.write_str("Environment"),
        }
    }
}

impl Proxy {
    /// The proxy a `proxy_config` describes, or what is wrong with it (`proxy_config.<field>:
    /// ...`; config validation reports the same words). An `env.VAR` password is read now.
    pub fn from_config(config: &ProxyConfig) -> Result<Self, String> {
        let credentials = || -> Result<Option<(String, String)>, String> {
            let password = match config.password.resolve() {
                Resolved::Value(secret) => secret.expose().to_owned(),
                Resolved::Empty => String::new(),
                Resolved::MissingEnv(var) => {
                    return Err(format!(
                        "proxy_config.password: environment variable {var} is not set"
                    ))
                }
            };
            Ok((!config.username.is_empty() || !password.is_empty())
                .then(|| (config.username.clone(), password)))
        };
        match config.kind {
            ProxyKind::None => Ok(Proxy::Direct),
            ProxyKind::Environment => Ok(Proxy::Environment(Arc::new(Matcher::from_env()))),
            ProxyKind::Http => {
                let url = proxy_url(&config.url, &["http"], 80)?;
                let auth = credentials()?
                    .map(|(user, password)| basic_auth(&user, &password))
                    .transpose()?;
                Ok(Proxy::Http { url, auth })
            }
            ProxyKind::Socks5 => {
                let url = proxy_url(&config.url, &["socks5", "socks5h"], 1080)?;
                Ok(Proxy::Socks5 {
                    url,
                    auth: credentials()?,
                })
            }
        }
    }
}

/// A proxy URL with its scheme checked and its port explicit; a bare `host:port` takes the
/// first of `schemes`.
fn proxy_url(text: &str, schemes: &[&str], default_port: u16) -> Result<Uri, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("proxy_config.url: required for this proxy type".into());
    }
    let full = if text.contains("://") {
        text.to_owned()
    } else {
        format!("{}://{text}", schemes[0])
    };
    let uri: Uri = full
        .parse()
        .map_err(|e| format!("proxy_config.url: not a URL ({e})"))?;
    let scheme = uri.scheme_str().unwrap_or_default();
    if !schemes.contains(&scheme) {
        return Err(format!(
            "proxy_config.url: the scheme must be {} (got `{scheme}`)",
            schemes.join(" or ")
        ));
    }
    let host = uri.host().ok_or("proxy_config.url: no host")?.to_owned();
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(
            "proxy_config.url: put the credentials in username and password, not in the URL".into(),
        );
    }
    let port = uri.port_u16().unwrap_or(default_port);
    format!("{scheme}://{host}:{port}")
        .parse()
        .map_err(|e| format!("proxy_config.url: not a URL ({e})"))
}

fn basic_auth(user: &str, password: &str) -> Result<HeaderValue, String> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let mut value = HeaderValue::try_from(format!("Basic {token}"))
        .map_err(|_| "proxy_config.username: cannot make a Proxy-Authorization header")?;
    value.set_sensitive(true);
    Ok(value)
}

/// TCP connections to the provider, directly or through the proxy.
#[derive(Clone)]
pub struct Connector {
    tcp: HttpConnector,
    proxy: Proxy,
}

impl Connector {
    /// Connects with `tcp`, through `proxy`.
    pub fn new(tcp: HttpConnector, proxy: Proxy) -> Self {
        Self { tcp, proxy }
    }
}

impl Service<Uri> for Connector {
    type Response = Connection;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Connection, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Each call makes its own connection; nothing is shared that could be busy.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let tcp = self.tcp.clone();
        let intercepted;
        let (url, http_auth, socks_auth, socks) = match &self.proxy {
            Proxy::Direct => return Box::pin(connect(tcp, dst)),
            Proxy::Http { url, auth } => (url, auth.clone(), None, false),
            Proxy::Socks5 { url, auth } => (url, None, auth.clone(), true),
            Proxy::Environment(matcher) => match matcher.intercept(&dst) {
                None => return Box::pin(connect(tcp, dst)),
                Some(i) => {
                    intercepted = i;
                    let socks =
                        matches!(intercepted.uri().scheme_str(), Some("socks5" | "socks5h"));
                    let raw = intercepted
                        .raw_auth()
                        .map(|(u, p)| (u.to_owned(), p.to_owned()));
                    (
                        intercepted.uri(),
                        intercepted.basic_auth().cloned(),
                        raw,
                        socks,
                    )
                }
            },
        };
        // The tunnel and SOCKS connectors take a missing port for 443.
        let dst = with_port(dst);
        if socks {
            let mut socks = SocksV5::new(url.clone(), tcp);
            if let Some((user, password)) = socks_auth {
                socks = socks.with_auth(user, password);
            }
            Box::pin(connect(socks, dst))
        } else {
            let mut tunnel = Tunnel::new(url.clone(), tcp);
            if let Some(auth) = http_auth {
                tunnel = tunnel.with_auth(auth);
            }
            Box::pin(connect(tunnel, dst))
        }
    }
}

async fn connect<S>(mut service: S, dst: Uri) -> Result<Connection, BoxError>
where
    S: Service<Uri, Response = Connection>,
    S::Error: Into<BoxError>,
{
    std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    service.call(dst).await.map_err(Into::into)
}

/// `dst` with its scheme's port written out (80 for http, 443 for https).
fn with_port(dst: Uri) -> Uri {
    if dst.port().is_some() {
        return dst;
    }
    let (Some(scheme), Some(host)) = (dst.scheme_str(), dst.host()) else {
        return dst;
    };
    let port = if scheme == "http" { 80 } else { 443 };
    format!("{scheme}://{host}:{port}").parse().unwrap_or(dst)
}
