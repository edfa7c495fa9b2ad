//! Entra ID's token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client-credentials grant,
//! form-encoded): issues numbered tokens with a chosen lifetime, refuses a wrong client secret
//! with Entra's error JSON, and records every grant it received.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::Router;
use serde_json::json;

use super::json_response;

/// One token request: the path and the decoded form fields.
#[derive(Debug, Clone)]
pub struct Grant {
    pub path: String,
    pub form: Vec<(String, String)>,
}

impl Grant {
    /// A form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub struct EntraState {
    secret: String,
    lifetime_secs: AtomicU64,
    issued: AtomicUsize,
    grants: Mutex<Vec<Grant>>,
}

/// A running token endpoint.
pub struct Entra {
    /// Use as `AZURE_AUTHORITY_HOST`.
    pub url: String,
    state: Arc<EntraState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Entra {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Entra {
    /// An endpoint that accepts `secret` and issues tokens living `lifetime_secs`.
    pub async fn start(secret: &str, lifetime_secs: u64) -> Entra {
        let state = Arc::new(EntraState {
            secret: secret.to_owned(),
            lifetime_secs: AtomicU64::new(lifetime_secs),
            ..EntraState::default()
        });
        let app = Router::new().fallback(token).with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Entra {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Every grant received.
    pub fn grants(&self) -> Vec<Grant> {
        self.state.grants.lock().unwrap().clone()
    }
}

async fn token(State(state): State<Arc<EntraState>>, uri: Uri, body: Bytes) -> Response {
    let form: Vec<(String, String)> = String::from_utf8_lossy(&body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let grant = Grant {
        path: uri.path().to_owned(),
        form,
    };
    state.grants.lock().unwrap().push(grant.clone());
    if !grant.path.ends_with("/oauth2/v2.0/token") {
        return json_response(404, &json!({"error": "invalid_request"}));
    }
    if grant.field("grant_type") != Some("client_credentials") {
        return json_response(
            400,
            &json!({"error": "unsupported_grant_type",
            "error_description": "AADSTS70003: The app requested an unsupported grant type."}),
        );
    }
    if grant.field("client_secret") != Some(state.secret.as_str()) {
        return json_response(
            401,
            &json!({"error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided."}),
        );
    }
    let n = state.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let lifetime = state.lifetime_secs.load(Ordering::SeqCst);
    json_response(
        200,
        &json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": format!("entra-token-{n}")}),
    )
}

/// Form decoding: `+` is a space, `%XX` a byte.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}
