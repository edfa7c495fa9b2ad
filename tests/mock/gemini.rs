//! Google's APIs as Gemini and Vertex AI serve them:
//!
//! - Generative Language API: `/v1beta/models/{model}:generateContent`,
//!   `:streamGenerateContent?alt=sse` (`data: {...}\r\n\r\n` chunks), `:embedContent`,
//!   `:batchEmbedContents`, `GET /v1beta/models`, Google's error JSON.
//! - Vertex AI: the same Gemini methods under
//!   `/v1/projects/{p}/locations/{r}/publishers/google/models/{model}:...`, `:predict` for
//!   embeddings, Claude under `.../publishers/anthropic/models/{model}:rawPredict` /
//!   `:streamRawPredict` (Anthropic's Messages format), and an OAuth token endpoint (`/token`)
//!   that verifies the service account's RS256 JWT with the test key's public half. Vertex calls
//!   need a bearer token that endpoint issued.
//!
//! A user text containing `[max_tokens]` or `[safety]` makes the answer stop for that reason.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::response::Response;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use super::{anthropic, json_response, sse_response, MockState, Recorded};

/// The test-only public key matching tests/fixtures/vertex-test-sa-key.pem.
const TEST_PUBLIC_KEY: &str = include_str!("../fixtures/vertex-test-sa-key.pub.pem");
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const SA_EMAIL: &str = "gateway@e2e-project.iam.gserviceaccount.com";

/// Google's error body.
pub fn error(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

pub fn route(state: &Arc<MockState>, rec: &Recorded) -> Response {
    if rec.method == "POST" && rec.path == "/token" {
        return token(state, rec);
    }
    if rec.path.starts_with("/v1/projects/") || rec.path.starts_with("/v1beta1/projects/") {
        let issued = rec
            .bearer()
            .is_some_and(|t| state.issued_tokens.lock().unwrap().iter().any(|i| i == t));
        if !issued {
            return json_response(
                401,
                &error(
                    401,
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials.",
                ),
            );
        }
        let Some((publisher, model, method)) = vertex_target(&rec.path) else {
            return not_found(rec);
        };
        return match (publisher, method) {
            ("anthropic", "rawPredict") => claude(state, rec, &model, false),
            ("anthropic", "streamRawPredict") => claude(state, rec, &model, true),
            (_, "predict") => json_response(200, &predict(rec)),
            (_, method) => gemini_method(state, rec, &model, method),
        };
    }
    if rec.method == "GET" && rec.path == "/v1beta/models" {
        return json_response(200, &models(state, rec));
    }
    if rec.method == "POST" {
        if let Some((model, method)) = rec
            .path
            .strip_prefix("/v1beta/models/")
            .and_then(|rest| rest.rsplit_once(':'))
        {
            return gemini_method(state, rec, model, method);
        }
    }
    not_found(rec)
}

fn not_found(rec: &Recorded) -> Response {
    json_response(
        404,
        &error(
            404,
            "NOT_FOUND",
            &format!("no route {} {}", rec.method, rec.path),
        ),
    )
}

/// `(publisher, model, method)` of a Vertex path (endpoints count as Google's).
fn vertex_target(path: &str) -> Option<(&'static str, String, &str)> {
    let (rest, method) = path.rsplit_once(':')?;
    if let Some((_, model)) = rest.split_once("/publishers/anthropic/models/") {
        return Some(("anthropic", model.to_owned(), method));
    }
    if let Some((_, model)) = rest.split_once("/publishers/google/models/") {
        return Some(("google", model.to_owned(), method));
    }
    let (_, endpoint) = rest.split_once("/endpoints/")?;
    Some(("google", format!("endpoint-{endpoint}"), method))
}

fn gemini_method(state: &Arc<MockState>, rec: &Recorded, model: &str, method: &str) -> Response {
    match method {
        "generateContent" => json_response(200, &generate(state, rec, model)),
        "streamGenerateContent" if rec.query.contains("alt=sse") => stream(state, rec, model),
        "embedContent" => json_response(
            200,
            &json!({"embedding": {"values": embedding(&rec.body["content"])}}),
        ),
        "batchEmbedContents" => {
            let list: Vec<Value> = rec.body["requests"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| json!({"values": embedding(&r["content"])}))
                .collect();
            json_response(200, &json!({"embeddings": list}))
        }
        _ => not_found(rec),
    }
}

/// The text of the last user turn.
pub fn last_user_text(body: &Value) -> String {
    body["contents"]
        .as_array()
        .and_then(|c| c.iter().rev().find(|c| c["role"] != "model"))
        .and_then(|c| c["parts"].as_array())
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

/// The function to call: the first declared one, unless the last turn answers a call.
fn tool_name(body: &Value) -> Option<String> {
    let name = body["tools"][0]["functionDeclarations"][0]["name"].as_str()?;
    let answered = body["contents"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["parts"].as_array())
        .is_some_and(|parts| parts.iter().any(|p| p.get("functionResponse").is_some()));
    (!answered).then(|| name.to_owned())
}

fn usage() -> Value {
    json!({"promptTokenCount": 25, "candidatesTokenCount": 15, "totalTokenCount": 43,
           "thoughtsTokenCount": 3, "cachedContentTokenCount": 5,
           "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 25}]})
}

fn finish_reason(text: &str) -> &'static str {
    if text.contains("[max_tokens]") {
        "MAX_TOKENS"
    } else if text.contains("[safety]") {
        "SAFETY"
    } else {
        "STOP"
    }
}

fn generate(state: &MockState, rec: &Recorded, model: &str) -> Value {
    let body = &rec.body;
    let text = last_user_text(body);
    let reason = finish_reason(&text);
    let mut parts = Vec::new();
    if reason != "SAFETY" {
        parts.push(json!({"text": format!("{} says: {text}", state.label)}));
    }
    if let Some(tool) = tool_name(body) {
        parts.push(json!({"functionCall": {"name": tool, "args": {"city": "Paris"}}}));
    }
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": reason,
            "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]
        }],
        "usageMetadata": usage(),
        "modelVersion": format!("{model}-001"),
        "responseId": "gemini-mock-response"
    })
}

/// The text pieces of a streamed answer.
pub const STREAM_PIECES: [&str; 3] = ["Hello", " from", " gemini"];

fn stream(state: &Arc<MockState>, rec: &Recorded, model: &str) -> Response {
    let chunk = |parts: Value, last: bool| {
        let mut c = json!({
            "candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 25, "totalTokenCount": 25},
            "modelVersion": format!("{model}-001"),
            "responseId": "gemini-mock-stream"
        });
        if last {
            c["candidates"][0]["finishReason"] = json!(finish_reason(&last_user_text(&rec.body)));
            c["usageMetadata"] = usage();
        }
        // Gemini frames each chunk with CRLF line ends.
        format!("data: {c}\r\n\r\n")
    };
    let mut events: Vec<String> = STREAM_PIECES
        .iter()
        .map(|p| chunk(json!([{"text": p}]), false))
        .collect();
    let last_parts = match tool_name(&rec.body) {
        Some(tool) => json!([{"functionCall": {"name": tool, "args": {"city": "Paris"}}}]),
        None => json!([{"text": "!"}]),
    };
    events.push(chunk(last_parts, true));
    sse_response(state, events)
}

/// A deterministic vector from the text's length.
fn embedding(content: &Value) -> Value {
    let len = content["parts"][0]["text"].as_str().map_or(0, str::len);
    json!([len as f64 / 8.0, -0.5, 0.125])
}

/// Vertex `:predict` for text embedding models.
fn predict(rec: &Recorded) -> Value {
    let predictions: Vec<Value> = rec.body["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let text = i["content"].as_str().unwrap_or_default();
            json!({"embeddings": {"values": [text.len() as f64 / 8.0, 0.25],
                   "statistics": {"token_count": 4, "truncated": false}}})
        })
        .collect();
    json!({"predictions": predictions, "metadata": {"billableCharacterCount": 10}})
}

fn models(state: &MockState, rec: &Recorded) -> Value {
    assert!(rec.query.contains("pageSize="), "{}", rec.query);
    let all = state.models();
    // Two pages, to exercise page tokens.
    let (page, next) = if rec.query.contains("pageToken=page2") {
        (&all[all.len() / 2..], None)
    } else {
        (&all[..all.len() / 2], Some("page2"))
    };
    let list: Vec<Value> = page
        .iter()
        .map(|id| {
            json!({"name": format!("models/{id}"), "displayName": id, "version": "001",
                         "supportedGenerationMethods": ["generateContent", "countTokens"]})
        })
        .collect();
    let mut out = json!({"models": list});
    if let Some(token) = next {
        out["nextPageToken"] = json!(token);
    }
    out
}

/// Claude on Vertex: Anthropic's answers, for the model named in the URL.
fn claude(state: &Arc<MockState>, rec: &Recorded, model: &str, stream: bool) -> Response {
    let mut rec = rec.clone();
    rec.body["model"] = json!(model);
    rec.body["stream"] = json!(stream);
    anthropic::route(
        state,
        &Recorded {
            path: "/v1/messages".into(),
            method: "POST".into(),
            ..rec
        },
    )
}

/// The OAuth token endpoint: checks the JWT bearer grant (signature and claims) and issues a
/// token that expires after the mock's configured lifetime.
fn token(state: &Arc<MockState>, rec: &Recorded) -> Response {
    match check_grant(state, rec) {
        Ok(()) => {
            let n = state.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
            let token = format!("ya29.e2e-token-{n}");
            state.issued_tokens.lock().unwrap().push(token.clone());
            let lifetime = state.token_lifetime_secs.load(Ordering::SeqCst);
            json_response(
                200,
                &json!({"access_token": token, "expires_in": if lifetime == 0 { 3599 } else { lifetime }, "token_type": "Bearer"}),
            )
        }
        Err(why) => json_response(
            400,
            &json!({"error": "invalid_grant", "error_description": why}),
        ),
    }
}

fn check_grant(state: &MockState, rec: &Recorded) -> Result<(), String> {
    assert_eq!(
        rec.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = &rec.raw_body;
    let mut grant = None;
    let mut assertion = None;
    for pair in form.split('&') {
        match pair.split_once('=') {
            Some(("grant_type", v)) => grant = Some(v),
            Some(("assertion", v)) => assertion = Some(v),
            _ => {}
        }
    }
    if grant != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return Err(format!("unsupported grant_type {grant:?}"));
    }
    let jwt = assertion.ok_or("no assertion")?;
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("malformed JWT".into());
    };
    let der: String = TEST_PUBLIC_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        STANDARD.decode(der).unwrap(),
    );
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| e.to_string())?;
    public
        .verify(format!("{header}.{claims}").as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let decode = |part: &str| -> Result<Value, String> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())
    };
    let header = decode(header)?;
    if header["alg"] != "RS256" || header["typ"] != "JWT" {
        return Err(format!("bad JWT header {header}"));
    }
    let claims = decode(claims)?;
    let audience = format!("{}/token", state.self_url.lock().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let iat = claims["iat"].as_u64().ok_or("no iat")?;
    let exp = claims["exp"].as_u64().ok_or("no exp")?;
    if claims["iss"] != SA_EMAIL
        || claims["scope"] != SCOPE
        || claims["aud"] != audience.as_str()
        || iat.abs_diff(now) > 60
        || exp != iat + 3600
    {
        return Err(format!("bad claims {claims}"));
    }
    Ok(())
}
