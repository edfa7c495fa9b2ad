//! Vertex AI URL, credentials and token-cache tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;

use super::*;
use crate::config::KeyConfig;
use crate::providers::client::Client;

/// The test-only key pair of tests/fixtures (never a real service account's).
const TEST_KEY: &str = include_str!("../../../tests/fixtures/vertex-test-sa-key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../../../tests/fixtures/vertex-test-sa-key.pub.pem");

fn sa_json(token_uri: &str) -> String {
    json!({
        "type": "service_account", "project_id": "proj", "private_key_id": "kid-1",
        "private_key": TEST_KEY, "client_email": "gw@proj.iam.gserviceaccount.com",
        "token_uri": token_uri
    })
    .to_string()
}

fn key(vertex: Value) -> KeyConfig {
    KeyConfig {
        vertex_key_config: Some(serde_json::from_value(vertex).unwrap()),
        ..KeyConfig::default()
    }
}

fn call<'a>(base_url: &'a str, key: &'a KeyConfig, model: &'a str) -> Call<'a> {
    Call {
        provider: "vertex",
        base_url,
        path_prefix: "/v1",
        api_key: None,
        key_config: Some(key),
        model,
        extra_headers: &[],
        passthrough_extra: false,
        timeout: Duration::from_secs(5),
        path_override: None,
    }
}

#[test]
fn urls_follow_region_project_and_publisher() {
    let k = key(
        json!({"project_id": "proj", "project_number": "123", "region": "us-central1",
        "deployments": {"tuned": "4567", "sonnet": "claude-sonnet-4@20250514"}}),
    );
    let t = Target::new(&call(REGIONAL_BASE_URL, &k, "gemini-2.0-flash")).unwrap();
    assert_eq!(
        t.google_url("generateContent").unwrap(),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"
    );
    assert!(!t.is_claude());

    let tuned = Target::new(&call(REGIONAL_BASE_URL, &k, "tuned")).unwrap();
    assert_eq!(
        tuned.google_url("generateContent").unwrap(),
        "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/123/locations/us-central1/endpoints/4567:generateContent"
    );

    let claude = Target::new(&call(REGIONAL_BASE_URL, &k, "sonnet")).unwrap();
    assert!(claude.is_claude());
    assert_eq!(
        claude.anthropic_url("streamRawPredict"),
        "https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict"
    );

    let global = key(json!({"project_id": "proj", "region": "global"}));
    let g = Target::new(&call(REGIONAL_BASE_URL, &global, "gemini-2.5-pro")).unwrap();
    assert_eq!(
        g.google_url("generateContent").unwrap(),
        "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/google/models/gemini-2.5-pro:generateContent"
    );
    // A configured base URL replaces the host.
    let mock = Target::new(&call("http://127.0.0.1:9", &global, "gemini-2.5-pro")).unwrap();
    assert!(mock
        .google_url("predict")
        .unwrap()
        .starts_with("http://127.0.0.1:9/v1/projects/proj/locations/global/"));
}

#[test]
fn missing_project_region_or_number_are_config_errors() {
    let no_region = key(json!({"project_id": "proj"}));
    assert!(matches!(
        Target::new(&call(REGIONAL_BASE_URL, &no_region, "m")),
        Err(Error::Config(m)) if m.contains("region")
    ));
    let no_number = key(json!({"project_id": "p", "region": "r"}));
    let t = Target::new(&call(REGIONAL_BASE_URL, &no_number, "4567")).unwrap();
    assert!(
        matches!(t.google_url("generateContent"), Err(Error::Config(m)) if m.contains("project_number"))
    );
    let bare = KeyConfig::default();
    assert!(matches!(
        Target::new(&call(REGIONAL_BASE_URL, &bare, "m")),
        Err(Error::Config(m)) if m.contains("vertex_key_config")
    ));
}

#[test]
fn service_account_jwt_is_rs256_signed_with_googles_claims() {
    let auth::Credentials::ServiceAccount(sa) =
        auth::parse_credentials(&sa_json("https://oauth2.example/token")).unwrap()
    else {
        panic!("a service account")
    };
    let jwt = auth::service_account_jwt(&sa, 1_700_000_000).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"})
    );
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        claims,
        json!({"iss": "gw@proj.iam.gserviceaccount.com", "scope": auth::SCOPE,
               "aud": "https://oauth2.example/token", "iat": 1_700_000_000u64, "exp": 1_700_003_600u64})
    );
    let der: String = TEST_PUBLIC_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        STANDARD.decode(der).unwrap(),
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert!(public.verify(signed.as_bytes(), &signature).is_ok());
    assert!(public.verify(b"tampered", &signature).is_err());
}

#[test]
fn bad_credentials_are_named_without_their_content() {
    let e = auth::parse_credentials(
        r#"{"type":"service_account","client_email":"a","private_key":"secret-not-a-key"}"#,
    )
    .err()
    .unwrap();
    assert!(e.contains("private_key"), "{e}");
    assert!(!e.contains("secret-not-a-key"));
    assert!(auth::parse_credentials("{}").is_err());
}

/// A token endpoint that counts its calls and answers slowly, so that concurrent requests
/// overlap the refresh.
async fn token_server(hits: Arc<AtomicUsize>, expires_in: u64) -> String {
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move |body: String| {
            let hits = Arc::clone(&hits);
            async move {
                assert!(body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="));
                let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                axum::Json(json!({"access_token": format!("ya29.token-{n}"), "expires_in": expires_in, "token_type": "Bearer"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/token")
}

#[tokio::test]
async fn concurrent_requests_share_one_token_fetch_and_refresh_before_expiry() {
    let hits = Arc::new(AtomicUsize::new(0));
    let uri = token_server(Arc::clone(&hits), 3600).await;
    let k = KeyConfig::default();
    let c = call("http://unused", &k, "m");
    let cache = auth::TokenCache::default();
    let http = Client::with_defaults();
    let creds = sa_json(&uri);
    let source = || auth::Source::Json(Secret::from_value(creds.clone()));
    let tokens =
        futures_util::future::join_all((0..8).map(|_| cache.token(&http, &c, source()))).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(tokens
        .iter()
        .all(|t| t.as_ref().unwrap().expose() == "ya29.token-1"));

    // A 2 s token is refreshed after half its life.
    let short_hits = Arc::new(AtomicUsize::new(0));
    let short_uri = token_server(Arc::clone(&short_hits), 2).await;
    let short = sa_json(&short_uri);
    let short_source = || auth::Source::Json(Secret::from_value(short.clone()));
    assert_eq!(
        cache
            .token(&http, &c, short_source())
            .await
            .unwrap()
            .expose(),
        "ya29.token-1"
    );
    assert_eq!(
        cache
            .token(&http, &c, short_source())
            .await
            .unwrap()
            .expose(),
        "ya29.token-1"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        cache
            .token(&http, &c, short_source())
            .await
            .unwrap()
            .expose(),
        "ya29.token-2"
    );
    assert_eq!(short_hits.load(Ordering::SeqCst), 2);
}

#[test]
fn listed_models_are_the_deployments() {
    let k = key(json!({"project_id": "p", "region": "r",
        "deployments": {"fast": "gemini-2.0-flash", "sonnet": "claude-sonnet-4@20250514"}}));
    let models = list_models(&call(REGIONAL_BASE_URL, &k, ""));
    let ids: Vec<(&str, &str)> = models
        .iter()
        .map(|m| (m.id.as_str(), m.owned_by.as_str()))
        .collect();
    assert_eq!(ids, vec![("fast", "google"), ("sonnet", "anthropic")]);
}
