//! The upstream HTTP client: hyper's pooled client over rustls, with nothing in between.
//!
//! Every provider call goes through here. reqwest did the same job with layers the gateway does
//! not use (redirects, retries, cookies, proxies): it parsed each request's URL twice, wrapped
//! the body and the response, and copied headers; without it a chat request through the gateway
//! executes about 16 % fewer instructions (`scripts/instructions.py`). This client sends an `http::Request` with a complete body and
//! hands back hyper's response head and body. Redirects are never followed (a 3xx comes back as
//! it is; `providers::http` refuses it), and nothing is retried here but what hyper's pool
//! retries on its own: a request whose pooled connection closed before any of it was sent.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use ::http::{Method, Request, StatusCode, Uri};
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

mod proxy;

use proxy::Connector;
pub use proxy::Proxy;

/// What can go wrong between sending a request and reading its answer. Messages never carry
/// the URL (some providers take a key in the query).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL or a header could not make a request.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// No connection: DNS, TCP or TLS failed.
    #[error("connection failed")]
    Connect(#[source] hyper_util::client::legacy::Error),
    /// The connection broke while the request was sent or before the head came back.
    #[error("sending the request failed")]
    Send(#[source] hyper_util::client::legacy::Error),
    /// The body broke off.
    #[error("reading the response body failed")]
    Body(#[source] hyper::Error),
}

/// How the client connects and pools.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Idle connections kept per host.
    pub max_idle_per_host: usize,
    /// Accept any server certificate (`network_config.insecure_skip_verify`).
    pub insecure_skip_verify: bool,
    /// Extra trusted roots, PEM (`network_config.ca_cert_pem`, `proxy_config.ca_cert_pem`).
    pub ca_cert_pem: Option<String>,
    /// Where connections go (`proxy_config`).
    pub proxy: Proxy,
}

/// Bounds the TCP (and TLS) connect; the request's own timeout bounds the rest.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

type Inner = hyper_util::client::legacy::Client<HttpsConnector<Connector>, Full<Bytes>>;

/// A pooled HTTP/1.1 and HTTP/2 (by ALPN) client. Cloning shares the pool.
#[derive(Clone)]
pub struct Client {
    inner: Inner,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

impl Client {
    /// A client with `options`; fails only on a bad `ca_cert_pem`.
    pub fn new(options: &Options) -> Result<Self, String> {
        let tls = tls_config(options)?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(Connector::new(tcp, options.proxy.clone()));
        let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(options.max_idle_per_host)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Client { inner })
    }

    /// A client with the default options, for tests.
    #[cfg(test)]
    pub fn with_defaults() -> Self {
        Self::new(&Options {
            max_idle_per_host: usize::MAX,
            ..Options::default()
        })
        .expect("the default TLS configuration builds")
    }

    /// Starts a `method` request to `url`.
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> RequestBuilder<'_> {
        let url = url.as_ref();
        let head = url
            .parse::<Uri>()
            .map_err(|e| Error::Invalid(format!("bad URL: {e}")))
            .and_then(|uri| match uri.scheme_str() {
                Some("http" | "https") if uri.host().is_some() => Ok(uri),
                _ => Err(Error::Invalid("the URL is not http(s)://host/...".into())),
            })
            .map(|uri| {
                let mut head = Request::new(());
                *head.method_mut() = method;
                *head.uri_mut() = uri;
                head
            });
        RequestBuilder {
            client: self,
            head,
            body: Bytes::new(),
        }
    }

    /// Starts a POST to `url`.
    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder<'_> {
        self.request(Method::POST, url)
    }

    /// Starts a GET of `url`.
    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder<'_> {
        self.request(Method::GET, url)
    }
}

/// A request being put together; the first bad part is reported by [`RequestBuilder::send`].
pub struct RequestBuilder<'c> {
    client: &'c Client,
    head: Result<Request<()>, Error>,
    body: Bytes,
}

impl RequestBuilder<'_> {
    /// Adds a header (repeats add values; they do not replace).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: std::fmt::Display,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: std::fmt::Display,
    {
        if let Ok(head) = &mut self.head {
            let name = HeaderName::try_from(name).map_err(|e| e.to_string());
            let value = HeaderValue::try_from(value).map_err(|e| e.to_string());
            match (name, value) {
                (Ok(name), Ok(value)) => {
                    head.headers_mut().append(name, value);
                }
                (Err(e), _) | (_, Err(e)) => {
                    self.head = Err(Error::Invalid(format!("bad header: {e}")));
                }
            }
        }
        self
    }

    /// `Authorization: Bearer <token>`, marked sensitive (see [`RequestBuilder::secret_header`]).
    pub fn bearer_auth(self, token: &str) -> Self {
        self.secret_header(AUTHORIZATION, &format!("Bearer {token}"))
    }

    /// A header holding a secret: marked sensitive, so that it never shows in debug output and
    /// HTTP/2 never puts it in its compression table. A value that cannot be a header is
    /// reported without the value.
    pub fn secret_header(self, name: HeaderName, secret: &str) -> Self {
        match HeaderValue::try_from(secret) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.header(name, value)
            }
            Err(_) => self.fail("the key is not a valid header value"),
        }
    }

    /// The whole request body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    fn fail(mut self, why: &str) -> Self {
        if self.head.is_ok() {
            self.head = Err(Error::Invalid(why.to_owned()));
        }
        self
    }

    /// Sends the request and waits for the response head.
    pub async fn send(self) -> Result<Response, Error> {
        let (parts, ()) = self.head?.into_parts();
        let request = Request::from_parts(parts, Full::new(self.body));
        let response = self.client.inner.request(request).await.map_err(|e| {
            if e.is_connect() {
                Error::Connect(e)
            } else {
                Error::Send(e)
            }
        })?;
        let (head, body) = response.into_parts();
        Ok(Response { head, body })
    }
}

/// An answer: its head, and a body not read yet. Dropping it unread closes the connection.
#[derive(Debug)]
pub struct Response {
    head: ::http::response::Parts,
    body: Incoming,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.head.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// Reads the whole body.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        Ok(self.body.collect().await.map_err(Error::Body)?.to_bytes())
    }

    /// Reads the whole body as text (invalid UTF-8 replaced).
    pub async fn text(self) -> Result<String, Error> {
        let bytes = self.bytes().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The body's data as it arrives (trailers are skipped).
    pub fn bytes_stream(self) -> impl Stream<Item = Result<Bytes, Error>> + Send + 'static {
        self.body.into_data_stream().map_err(Error::Body)
    }
}

/// The TLS setup: webpki's roots plus `ca_cert_pem`, or no verification at all when asked.
/// The common case (neither) is built once and shared.
fn tls_config(options: &Options) -> Result<rustls::ClientConfig, String> {
    static DEFAULT: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    if !options.insecure_skip_verify && options.ca_cert_pem.is_none() {
        return DEFAULT.get_or_init(|| build_tls(Vec::new(), false)).clone();
    }
    let extra = match &options.ca_cert_pem {
        Some(pem) => trusted_roots(pem)?,
        None => Vec::new(),
    };
    build_tls(extra, options.insecure_skip_verify)
}

/// The certificates of a `ca_cert_pem`, or what is wrong with it (`ca_cert_pem: ...`; config
/// validation reports the same words).
pub fn trusted_roots(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("ca_cert_pem: not a PEM certificate ({e})"))?;
    if certs.is_empty() {
        return Err("ca_cert_pem: not a PEM certificate (no CERTIFICATE block)".into());
    }
    let mut probe = rustls::RootCertStore::empty();
    for cert in &certs {
        probe
            .add(cert.clone())
            .map_err(|e| format!("ca_cert_pem: not usable as a root ({e})"))?;
    }
    Ok(certs)
}

fn build_tls(
    extra_roots: Vec<CertificateDer<'static>>,
    insecure: bool,
) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    if insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots
            .add(cert)
            .map_err(|e| format!("ca_cert_pem: not usable as a root ({e})"))?;
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `insecure_skip_verify`: any certificate is accepted, but the handshake's signatures are
/// still checked against it (the peer must hold the key of the certificate it shows).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl AnyCertificate {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.0.signature_verification_algorithms
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_that_is_not_http_fails_when_sent_not_when_built() {
        let client = Client::with_defaults();
        for url in ["not a url", "ftp://example.com/x", "/relative/path"] {
            let err = tokio_test_block_on(client.get(url).send()).unwrap_err();
            assert!(matches!(err, Error::Invalid(_)), "{url}: {err}");
        }
    }

    #[test]
    fn a_bad_header_is_reported_and_keys_are_sensitive() {
        let client = Client::with_defaults();
        let built = client.get("http://127.0.0.1:9/").header("bad name", "v");
        assert!(matches!(built.head, Err(Error::Invalid(_))));
        let built = client.get("http://127.0.0.1:9/").bearer_auth("sk-secret");
        let head = built.head.unwrap();
        let auth = head.headers().get(AUTHORIZATION).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth, "Bearer sk-secret");
        assert!(!format!("{auth:?}").contains("sk-secret"));
    }

    #[test]
    fn ca_pem_without_a_certificate_is_refused() {
        let err = Client::new(&Options {
            ca_cert_pem: Some("not a pem".into()),
            ..Options::default()
        })
        .unwrap_err();
        assert!(err.starts_with("ca_cert_pem"), "{err}");
    }

    /// An HTTPS server on 127.0.0.1 with a certificate from the test CA
    /// (`tests/fixtures/tls`) that answers every request `200 ok`.
    async fn tls_upstream() -> String {
        use rustls::pki_types::PrivateKeyDer;

        let certs =
            CertificateDer::pem_slice_iter(include_bytes!("../../tests/fixtures/tls/server.pem"))
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
        let key =
            PrivateKeyDer::from_pem_slice(include_bytes!("../../tests/fixtures/tls/server.key"))
                .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        answer_ok(tls).await;
                    }
                });
            }
        });
        format!("https://127.0.0.1:{port}/v1/models")
    }

    #[tokio::test]
    async fn an_unknown_issuer_is_refused_unless_its_ca_is_given_or_checks_are_off() {
        let url = tls_upstream().await;

        let err = Client::with_defaults().get(&url).send().await.unwrap_err();
        assert!(matches!(err, Error::Connect(_)), "{err}");
        let chain = format!("{:?}", err);
        assert!(chain.contains("UnknownIssuer"), "{chain}");

        let trusting = Client::new(&Options {
            max_idle_per_host: 1,
            ca_cert_pem: Some(include_str!("../../tests/fixtures/tls/ca.pem").into()),
            ..Options::default()
        })
        .unwrap();
        let resp = trusting.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap(), "ok");

        let insecure = Client::new(&Options {
            max_idle_per_host: 1,
            insecure_skip_verify: true,
            ..Options::default()
        })
        .unwrap();
        let resp = insecure.get(&url).send().await.unwrap();
        assert_eq!(resp.bytes().await.unwrap(), Bytes::from_static(b"ok"));
    }

    /// Reads one request head from `stream` and answers `200 ok`.
    async fn answer_ok<S>(mut stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        let _ = stream.write_all(answer).await;
        let _ = stream.flush().await;
    }

    /// A plain HTTP server on 127.0.0.1 that answers every request `200 ok`.
    async fn http_upstream() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(answer_ok(tcp));
            }
        });
        format!("http://127.0.0.1:{port}/v1/models")
    }

    /// What a test proxy was asked: the request line and headers of each `CONNECT`, or the
    /// target and credentials of each SOCKS5 connection.
    type Seen = Arc<std::sync::Mutex<Vec<String>>>;

    /// A test proxy on 127.0.0.1: `serve` runs for each connection, with the log it writes
    /// what it was asked into. Returns the port and the log.
    async fn test_proxy<F, Fut>(serve: F) -> (u16, Seen)
    where
        F: Fn(tokio::net::TcpStream, Seen) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Seen::default();
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, Arc::clone(&log)));
            }
        });
        (port, seen)
    }

    /// An HTTP proxy on 127.0.0.1 that tunnels every `CONNECT` it gets.
    async fn connect_proxy() -> (String, Seen) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let (port, seen) = test_proxy(|mut client, log| async move {
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                if client.read(&mut byte).await.unwrap_or(0) == 0 {
                    return;
                }
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
            log.lock().unwrap().push(head);
            let Ok(mut upstream) = tokio::net::TcpStream::connect(&target).await else {
                let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                return;
            };
            let _ = client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await;
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        })
        .await;
        (format!("http://127.0.0.1:{port}"), seen)
    }

    /// A SOCKS5 proxy on 127.0.0.1 that asks for a user name and password and connects to the
    /// target it is given (IPv4 or a name).
    async fn socks5_proxy() -> (String, Seen) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        async fn read_vec(s: &mut tokio::net::TcpStream, n: usize) -> std::io::Result<Vec<u8>> {
            let mut buf = vec![0u8; n];
            s.read_exact(&mut buf).await?;
            Ok(buf)
        }
        async fn handshake(
            client: &mut tokio::net::TcpStream,
        ) -> std::io::Result<(String, String)> {
            let hello = read_vec(client, 2).await?;
            let methods = read_vec(client, usize::from(hello[1])).await?;
            assert!(methods.contains(&2), "the client offers user/password");
            client.write_all(&[5, 2]).await?;
            let version_and_len = read_vec(client, 2).await?;
            let user = read_vec(client, usize::from(version_and_len[1])).await?;
            let pass_len = read_vec(client, 1).await?;
            let pass = read_vec(client, usize::from(pass_len[0])).await?;
            client.write_all(&[1, 0]).await?;
            let request = read_vec(client, 4).await?;
            let host = match request[3] {
                1 => {
                    let ip = read_vec(client, 4).await?;
                    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
                }
                3 => {
                    let len = read_vec(client, 1).await?;
                    String::from_utf8_lossy(&read_vec(client, usize::from(len[0])).await?)
                        .into_owned()
                }
                other => panic!("address type {other}"),
            };
            let port = read_vec(client, 2).await?;
            let target = format!("{host}:{}", u16::from_be_bytes([port[0], port[1]]));
            let credentials = format!(
                "{}:{}",
                String::from_utf8_lossy(&user),
                String::from_utf8_lossy(&pass)
            );
            Ok((target, credentials))
        }

        let (port, seen) = test_proxy(|mut client, log| async move {
            let Ok((target, credentials)) = handshake(&mut client).await else {
                return;
            };
            log.lock()
                .unwrap()
                .push(format!("{target} as {credentials}"));
            let mut upstream = tokio::net::TcpStream::connect(&target).await.unwrap();
            let _ = client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await;
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        })
        .await;
        (format!("socks5://127.0.0.1:{port}"), seen)
    }

    fn proxied(proxy: Proxy, ca_cert_pem: Option<&str>) -> Client {
        Client::new(&Options {
            max_idle_per_host: 1,
            ca_cert_pem: ca_cert_pem.map(str::to_owned),
            proxy,
            ..Options::default()
        })
        .unwrap()
    }

    fn proxy_config(kind: &str, url: &str, user: &str, password: &str) -> Proxy {
        let config: crate::config::ProxyConfig = serde_json::from_value(serde_json::json!({
            "type": kind, "url": url, "username": user, "password": password
        }))
        .unwrap();
        Proxy::from_config(&config).unwrap()
    }

    #[tokio::test]
    async fn an_http_proxy_tunnels_plain_and_tls_requests_with_its_credentials() {
        let (proxy_url, seen) = connect_proxy().await;
        let proxy = proxy_config("http", &proxy_url, "alice", "s3cret");
        assert!(!format!("{proxy:?}").contains("s3cret"));

        let plain = http_upstream().await;
        let resp = proxied(proxy.clone(), None)
            .get(&plain)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        let tls = tls_upstream().await;
        let ca = include_str!("../../tests/fixtures/tls/ca.pem");
        let resp = proxied(proxy, Some(ca)).get(&tls).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");

        let heads = seen.lock().unwrap().clone();
        assert_eq!(heads.len(), 2, "{heads:?}");
        let authority = |url: &str| url.split('/').nth(2).unwrap().to_owned();
        for (head, url) in heads.iter().zip([&plain, &tls]) {
            assert!(
                head.starts_with(&format!("CONNECT {} HTTP/1.1\r\n", authority(url))),
                "{head}"
            );
            // base64("alice:s3cret")
            assert!(
                head.contains("Proxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"),
                "{head}"
            );
        }
    }

    #[tokio::test]
    async fn a_socks5_proxy_carries_requests_with_its_credentials() {
        let (proxy_url, seen) = socks5_proxy().await;
        let upstream = http_upstream().await;
        let client = proxied(proxy_config("socks5", &proxy_url, "bob", "hunter2"), None);
        let resp = client.get(&upstream).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap(), "ok");
        let target = upstream.split('/').nth(2).unwrap();
        assert_eq!(*seen.lock().unwrap(), [format!("{target} as bob:hunter2")]);
    }

    #[tokio::test]
    async fn the_environment_proxy_applies_except_to_no_proxy_hosts() {
        use hyper_util::client::proxy::matcher::Matcher;

        let (proxy_url, seen) = connect_proxy().await;
        let upstream = http_upstream().await;
        let through =
            Proxy::Environment(Arc::new(Matcher::builder().all(proxy_url.clone()).build()));
        let resp = proxied(through, None).get(&upstream).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        assert_eq!(seen.lock().unwrap().len(), 1);

        let bypass = Proxy::Environment(Arc::new(
            Matcher::builder().all(proxy_url).no("127.0.0.1").build(),
        ));
        let resp = proxied(bypass, None).get(&upstream).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "ok");
        assert_eq!(
            seen.lock().unwrap().len(),
            1,
            "NO_PROXY hosts are reached directly"
        );
    }

    #[tokio::test]
    async fn a_proxy_that_is_down_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let proxy = proxy_config("http", &format!("127.0.0.1:{port}"), "", "");
        let err = proxied(proxy, None)
            .get(http_upstream().await)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connect(_)), "{err}");
    }

    fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }
}
