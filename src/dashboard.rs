//! The dashboard: `ui/dist` embedded in the binary (rust-embed, in debug builds too) and served
//! at `/` with content types, ETags and cache headers, and the single-page-app fallback.
//!
//! The router's fallback asks [`respond`] first. It serves a file of the build when one matches
//! the path, and `index.html` for other `GET`s that accept `text/html` outside the API's
//! prefixes, so `/logs/<id>` loads the app, which then routes in the browser. Everything else
//! (other methods, `/api/*`, `/v1/*` and the SDK prefixes, asset misses) keeps Bifrost's JSON
//! 404.

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use rust_embed::{EmbeddedFile, RustEmbed};

/// The built dashboard (`npm run build` in `ui/`; the result is committed, so building the
/// crate needs no Node).
#[derive(RustEmbed)]
#[folder = "ui/dist/"]
struct Assets;

/// First path segments that belong to the API or the SDK ingresses: never the app.
const RESERVED: &[&str] = &[
    "api",
    "v1",
    "v1beta",
    "openai",
    "anthropic",
    "genai",
    "litellm",
    "langchain",
    "pydanticai",
    "bedrock",
    "cohere",
    "mcp",
    "ws",
    "metrics",
    "health",
    "assets",
];

/// Built assets carry a content hash in their names, so they may be cached for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else (`index.html`, the icon) is revalidated with its ETag on every use.
const REVALIDATE: &str = "no-cache";
/// What the app needs and no more: its own scripts and styles, the API on the same origin
/// (including the `/ws` WebSocket), and images in logged messages.
const CSP: &str = "default-src 'self'; img-src 'self' data: https: http:; \
                   style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; form-action 'self'";

/// The dashboard's answer to a request no route matched, or `None` for the JSON 404.
pub fn respond(req: &Request) -> Option<Response> {
    let (name, file) = lookup(req.method(), req.uri().path(), req.headers())?;
    Some(serve(&name, file, req.headers()))
}

/// Whether admin auth lets the request through unauthenticated: the app's own files and
/// pages (the app then asks `/api/session/*` and shows the login). Only for requests that no
/// route matched, so no API route is ever opened by this.
pub fn is_public(req: &Request) -> bool {
    req.extensions().get::<MatchedPath>().is_none()
        && lookup(req.method(), req.uri().path(), req.headers()).is_some()
}

/// The file for a path: an exact file of the build, else `index.html` for a page path.
fn lookup(method: &Method, path: &str, headers: &HeaderMap) -> Option<(String, EmbeddedFile)> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if let Some(file) = Assets::get(rel) {
        return Some((rel.to_owned(), file));
    }
    let first = rel.split('/').next().unwrap_or_default();
    if RESERVED.contains(&first) || !accepts_html(headers) {
        return None;
    }
    Assets::get("index.html").map(|f| ("index.html".to_owned(), f))
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

fn serve(name: &str, file: EmbeddedFile, headers: &HeaderMap) -> Response {
    let etag = etag(&file.metadata.sha256_hash());
    let cache = if name.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(file.data));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(name)),
        );
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if name.ends_with(".html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    resp
}

/// A strong ETag from the file's SHA-256 (the first 128 bits, in hex).
fn etag(hash: &[u8; 32]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(34);
    s.push('"');
    for b in &hash[..16] {
        let _ = write!(s, "{b:02x}");
    }
    s.push('"');
    s
}

/// The content type of a built file, by extension.
fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str, accept: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(accept).unwrap());
        lookup(&Method::GET, path, &h).map(|(n, _)| n)
    }

    #[test]
    fn the_build_is_embedded_with_an_index_and_hashed_assets() {
        let names: Vec<String> = Assets::iter().map(|n| n.into_owned()).collect();
        assert!(names.iter().any(|n| n == "index.html"), "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("assets/") && n.ends_with(".js")),
            "{names:?}"
        );
        let index = Assets::get("index.html").unwrap();
        let html = std::str::from_utf8(&index.data).unwrap();
        for asset in names.iter().filter(|n| n.starts_with("assets/")) {
            assert!(
                html.contains(&format!("/{asset}")),
                "index.html does not load {asset}"
            );
        }
    }

    #[test]
    fn pages_fall_back_to_index_but_api_prefixes_and_non_html_do_not() {
        let html = "text/html,application/xhtml+xml";
        assert_eq!(get("/", "*/*").as_deref(), Some("index.html"));
        assert_eq!(get("/logs/abc", html).as_deref(), Some("index.html"));
        assert_eq!(get("/providers", html).as_deref(), Some("index.html"));
        assert_eq!(get("/favicon.svg", "*/*").as_deref(), Some("favicon.svg"));
        assert_eq!(get("/logs/abc", "application/json"), None);
        for p in [
            "/api/nope",
            "/v1/nope",
            "/openai/x",
            "/assets/missing.js",
            "/ws",
        ] {
            assert_eq!(get(p, html), None, "{p}");
        }
        let h = HeaderMap::new();
        assert!(lookup(&Method::POST, "/", &h).is_none());
        assert!(lookup(&Method::DELETE, "/logs", &h).is_none());
    }

    #[test]
    fn content_types_and_cache_headers() {
        assert_eq!(content_type("a/b.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("f.svg"), "image/svg+xml");
        assert_eq!(content_type("noext"), "application/octet-stream");
        let (name, file) = lookup(&Method::GET, "/", &HeaderMap::new()).unwrap();
        let resp = serve(&name, file, &HeaderMap::new());
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = resp.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(etag.len(), 34);
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag).unwrap());
        let (name, file) = lookup(&Method::GET, "/", &h).unwrap();
        let resp = serve(&name, file, &h);
        assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(resp.headers()[header::ETAG], etag.as_str());
    }
}
