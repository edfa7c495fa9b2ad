//! AWS Bedrock runtime and STS on one port: Converse JSON, ConverseStream as binary EventStream
//! frames (CRC32s included, frames cut across HTTP chunks), InvokeModel embeddings (Titan and
//! Cohere bodies), STS AssumeRole / AssumeRoleWithWebIdentity (XML), and AWS's error JSON.
//!
//! Every request's SigV4 signature is verified the way AWS does it, written here from the
//! specification independently of the gateway's signer (HMAC built on sha2), so a wrong secret
//! gets `InvalidSignatureException` and an unknown key `UnrecognizedClientException`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{json_response, Recorded};

/// The text deltas of a streamed answer.
pub const STREAM_PIECES: [&str; 2] = ["Hello", " from bedrock"];

/// Credentials the mock accepts.
#[derive(Debug, Clone)]
struct Identity {
    access_key: String,
    secret: String,
    /// Temporary credentials must come with their token.
    token: Option<String>,
}

/// What the mock knows and how it behaves.
#[derive(Default)]
pub struct BedrockState {
    label: String,
    identities: Mutex<Vec<Identity>>,
    api_keys: Mutex<Vec<String>>,
    web_identity_token: Mutex<Option<String>>,
    requests: Mutex<Vec<Recorded>>,
    failures: Mutex<VecDeque<(u16, String, String)>>,
    stream_exception: Mutex<Option<(String, String)>>,
    /// Successful STS calls.
    pub sts_calls: AtomicUsize,
}

/// A running mock on 127.0.0.1.
pub struct BedrockMock {
    pub url: String,
    pub state: Arc<BedrockState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BedrockMock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BedrockMock {
    /// A mock that accepts `access_key` signed with `secret`.
    pub async fn start(label: &str, access_key: &str, secret: &str) -> BedrockMock {
        let state = Arc::new(BedrockState {
            label: label.to_owned(),
            identities: Mutex::new(vec![Identity {
                access_key: access_key.to_owned(),
                secret: secret.to_owned(),
                token: None,
            }]),
            ..BedrockState::default()
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        BedrockMock {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Also accept this Bedrock API key as a bearer token.
    pub fn accept_api_key(&self, key: &str) {
        self.state.api_keys.lock().unwrap().push(key.to_owned());
    }

    /// AssumeRoleWithWebIdentity accepts this token.
    pub fn accept_web_identity_token(&self, token: &str) {
        *self.state.web_identity_token.lock().unwrap() = Some(token.to_owned());
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Requests to the runtime (not STS).
    pub fn runtime_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/model/"))
            .collect()
    }

    /// The last runtime request.
    pub fn last(&self) -> Recorded {
        self.runtime_requests()
            .pop()
            .expect("the mock received no runtime request")
    }

    /// The next `n` runtime calls fail with this status and exception.
    pub fn fail_next(&self, n: usize, status: u16, exception: &str, message: &str) {
        let mut f = self.state.failures.lock().unwrap();
        for _ in 0..n {
            f.push_back((status, exception.to_owned(), message.to_owned()));
        }
    }

    /// Streams send one text delta and then this exception message.
    pub fn stream_exception(&self, exception: &str, message: &str) {
        *self.state.stream_exception.lock().unwrap() =
            Some((exception.to_owned(), message.to_owned()));
    }
}

/// AWS's error answer: `{"message"}` and the `x-amzn-ErrorType` header.
fn aws_error(status: u16, exception: &str, message: &str) -> Response {
    let mut resp = json_response(status, &json!({ "message": message }));
    resp.headers_mut().insert(
        "x-amzn-errortype",
        format!("{exception}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            .parse()
            .unwrap(),
    );
    resp
}

async fn handle(
    State(state): State<Arc<BedrockState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed = if is_form {
        form_json(&body)
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let rec = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: parsed,
        raw_body: String::from_utf8_lossy(&body).into_owned(),
    };
    state.requests.lock().unwrap().push(rec.clone());
    if method == Method::POST && rec.path == "/" {
        return sts(&state, &rec, &body);
    }
    if let Err(resp) = authenticate(&state, &rec, &body, "bedrock") {
        return *resp;
    }
    if let Some((status, exception, message)) = state.failures.lock().unwrap().pop_front() {
        return aws_error(status, &exception, &message);
    }
    let segments: Vec<&str> = rec.path.split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["", "model", _, "converse"]) => json_response(200, &converse(&state, &rec.body)),
        ("POST", ["", "model", _, "converse-stream"]) => converse_stream(&state, &rec.body),
        ("POST", ["", "model", id, "invoke"]) => invoke(&percent_decode(id), &rec.body),
        _ => aws_error(
            404,
            "UnknownOperationException",
            &format!("no route {} {}", rec.method, rec.path),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// SigV4 verification, from the specification.

fn authenticate(
    state: &BedrockState,
    rec: &Recorded,
    body: &[u8],
    service: &str,
) -> Result<(), Box<Response>> {
    let auth = rec.header("authorization").unwrap_or_default();
    if let Some(key) = auth.strip_prefix("Bearer ") {
        return if state.api_keys.lock().unwrap().iter().any(|k| k == key) {
            Ok(())
        } else {
            Err(Box::new(aws_error(
                403,
                "AccessDeniedException",
                "Authentication failed: Please make sure your API Key is valid.",
            )))
        };
    }
    let unrecognized = || {
        Box::new(aws_error(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ))
    };
    let Some(fields) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(Box::new(aws_error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )));
    };
    let field = |name: &str| {
        fields
            .split(',')
            .map(str::trim)
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_default()
            .to_owned()
    };
    let credential = field("Credential=");
    let signed_headers = field("SignedHeaders=");
    let signature = field("Signature=");
    let mut scope = credential.splitn(2, '/');
    let access_key = scope.next().unwrap_or_default();
    let scope = scope.next().unwrap_or_default().to_owned();
    let identity = state
        .identities
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.access_key == access_key)
        .cloned()
        .ok_or_else(unrecognized)?;
    if identity.token.as_deref() != rec.header("x-amz-security-token") {
        return Err(unrecognized());
    }
    let amz_date = rec.header("x-amz-date").unwrap_or_default();
    let names: Vec<&str> = signed_headers.split(';').collect();
    let scope_parts: Vec<&str> = scope.split('/').collect();
    let invalid = |why: &str| {
        Box::new(aws_error(
            403,
            "InvalidSignatureException",
            &format!(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. ({why})"
            ),
        ))
    };
    if !names.contains(&"host") || !names.contains(&"x-amz-date") {
        return Err(invalid("host and x-amz-date must be signed"));
    }
    if scope_parts.len() != 4
        || amz_date.len() < 8
        || scope_parts[0] != &amz_date[..8]
        || scope_parts[2] != service
        || scope_parts[3] != "aws4_request"
    {
        return Err(invalid("credential scope"));
    }
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        rec.method,
        canonical_uri(&rec.path),
        canonical_query(&rec.query)
    );
    for name in &names {
        let value = rec.header(name).unwrap_or_default();
        canonical.push_str(&format!("{name}:{}\n", value.trim()));
    }
    canonical.push_str(&format!(
        "\n{signed_headers}\n{}",
        hex(&Sha256::digest(body))
    ));
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac_sha256(
        format!("AWS4{}", identity.secret).as_bytes(),
        scope_parts[0].as_bytes(),
    );
    for part in &scope_parts[1..] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let expected = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    if expected != signature {
        return Err(invalid("signature"));
    }
    Ok(())
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn aws_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], escaped) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(if c == b'+' { b' ' } else { c });
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Non-S3 services: every segment of the (already encoded) path is encoded once more.
fn canonical_uri(path: &str) -> String {
    path.split('/')
        .map(aws_encode)
        .collect::<Vec<_>>()
        .join("/")
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                aws_encode(&percent_decode(k)),
                aws_encode(&percent_decode(v)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_json(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    let map: serde_json::Map<String, Value> = text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), Value::String(percent_decode(v)))
        })
        .collect();
    Value::Object(map)
}

// ---------------------------------------------------------------------------------------------
// STS.

fn sts(state: &BedrockState, rec: &Recorded, body: &[u8]) -> Response {
    let action = rec.body["Action"].as_str().unwrap_or_default();
    match action {
        "AssumeRole" => {
            if let Err(resp) = authenticate(state, rec, body, "sts") {
                return *resp;
            }
        }
        "AssumeRoleWithWebIdentity" => {
            let expected = state.web_identity_token.lock().unwrap().clone();
            if expected.as_deref() != rec.body["WebIdentityToken"].as_str() {
                return sts_error(400, "InvalidIdentityToken", "Token is not valid");
            }
        }
        _ => return sts_error(400, "InvalidAction", "Could not find operation"),
    }
    let n = state.sts_calls.fetch_add(1, Ordering::SeqCst) + 1;
    let identity = Identity {
        access_key: format!("ASIAMOCKTEMP{n}"),
        secret: format!("temp-secret-{n}"),
        token: Some(format!("temp-token-{n}+/=")),
    };
    state.identities.lock().unwrap().push(identity.clone());
    let xml = format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <{action}Result>\n    \
         <AssumedRoleUser><Arn>{}/bifrost</Arn></AssumedRoleUser>\n    <Credentials>\n      \
         <AccessKeyId>{}</AccessKeyId>\n      <SecretAccessKey>{}</SecretAccessKey>\n      \
         <SessionToken>{}</SessionToken>\n      <Expiration>2099-01-01T00:00:00Z</Expiration>\n    \
         </Credentials>\n  </{action}Result>\n  <ResponseMetadata><RequestId>mock</RequestId></ResponseMetadata>\n</{action}Response>\n",
        rec.body["RoleArn"].as_str().unwrap_or_default(),
        identity.access_key,
        identity.secret,
        identity.token.unwrap_or_default()
    );
    Response::builder()
        .status(200)
        .header("content-type", "text/xml")
        .body(Body::from(xml))
        .unwrap()
}

fn sts_error(status: u16, code: &str, message: &str) -> Response {
    let xml = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>mock</RequestId></ErrorResponse>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Body::from(xml))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Converse.

/// The text of the last user turn of a Converse request.
pub fn last_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_array())
        .map(|blocks| {
            blocks
                .iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("")
        })
        .unwrap_or_default()
}

/// The tool to call: the first one, unless the last turn already brings a tool result.
fn tool_name(body: &Value) -> Option<String> {
    let name = body["toolConfig"]["tools"][0]["toolSpec"]["name"].as_str()?;
    let answered = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|blocks| blocks.iter().any(|b| b.get("toolResult").is_some()));
    (!answered).then(|| name.to_owned())
}

/// A stop reason asked for in the text as `[stop:reason]`.
fn scripted_stop(text: &str) -> Option<String> {
    let start = text.find("[stop:")? + 6;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_owned())
}

fn usage() -> Value {
    json!({"inputTokens": 25, "outputTokens": 15, "totalTokens": 45,
           "cacheReadInputTokens": 5, "cacheWriteInputTokens": 0})
}

fn converse(state: &BedrockState, body: &Value) -> Value {
    let text = last_user_text(body);
    let mut content = vec![json!({"text": format!("{} says: {text}", state.label)})];
    let mut stop = scripted_stop(&text).unwrap_or_else(|| "end_turn".to_owned());
    if let Some(tool) = tool_name(body) {
        content.push(json!({"toolUse": {"toolUseId": "tooluse_mock_1", "name": tool, "input": {"city": "Paris"}}}));
        stop = "tool_use".to_owned();
    }
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": usage(),
        "metrics": {"latencyMs": 42}
    })
}

/// One EventStream message with string headers.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(u8::try_from(name.len()).unwrap());
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(12 + h.len() + payload.len() + 4).unwrap();
    let mut out = total.to_be_bytes().to_vec();
    out.extend_from_slice(&u32::try_from(h.len()).unwrap().to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn event(kind: &str, payload: Value) -> Vec<u8> {
    frame(
        &[
            (":event-type", kind),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        payload.to_string().as_bytes(),
    )
}

fn converse_stream(state: &BedrockState, body: &Value) -> Response {
    let text = last_user_text(body);
    let mut frames = vec![event(
        "messageStart",
        json!({"p": "abcdefgh", "role": "assistant"}),
    )];
    for piece in STREAM_PIECES {
        frames.push(event(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": piece}, "p": "abcd"}),
        ));
        if let Some((exception, message)) = state.stream_exception.lock().unwrap().clone() {
            frames.push(frame(
                &[
                    (":exception-type", &exception),
                    (":content-type", "application/json"),
                    (":message-type", "exception"),
                ],
                json!({ "message": message }).to_string().as_bytes(),
            ));
            return event_stream(frames);
        }
    }
    frames.push(event("contentBlockStop", json!({"contentBlockIndex": 0})));
    let mut stop = scripted_stop(&text).unwrap_or_else(|| "end_turn".to_owned());
    if let Some(tool) = tool_name(body) {
        frames.push(event(
            "contentBlockStart",
            json!({"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_mock_stream", "name": tool}}}),
        ));
        for part in ["{\"city\":", " \"Paris\"}"] {
            frames.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": 1, "delta": {"toolUse": {"input": part}}}),
            ));
        }
        frames.push(event("contentBlockStop", json!({"contentBlockIndex": 1})));
        stop = "tool_use".to_owned();
    }
    frames.push(event("messageStop", json!({"stopReason": stop})));
    frames.push(event(
        "metadata",
        json!({"usage": usage(), "metrics": {"latencyMs": 42}}),
    ));
    event_stream(frames)
}

/// The frames as one body cut into 13-byte writes, so that frames straddle HTTP chunks.
fn event_stream(frames: Vec<Vec<u8>>) -> Response {
    let wire = frames.concat();
    let chunks: Vec<Result<Bytes, Infallible>> = wire
        .chunks(13)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Response::builder()
        .status(200)
        .header("content-type", "application/vnd.amazon.eventstream")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// InvokeModel embeddings.

/// A deterministic vector for a text.
pub fn vector_for(text: &str) -> Vec<f64> {
    let n = text.len() as f64;
    vec![n, n / 2.0, 0.25]
}

fn invoke(model: &str, body: &Value) -> Response {
    if model.contains("titan-embed") {
        let Some(text) = body["inputText"].as_str() else {
            return aws_error(400, "ValidationException", "inputText is required");
        };
        return json_response(
            200,
            &json!({"embedding": vector_for(text), "inputTextTokenCount": text.split_whitespace().count()}),
        );
    }
    if model.contains("cohere.embed") {
        let Some(texts) = body["texts"].as_array() else {
            return aws_error(400, "ValidationException", "texts is required");
        };
        let embeddings: Vec<Vec<f64>> = texts
            .iter()
            .map(|t| vector_for(t.as_str().unwrap_or_default()))
            .collect();
        let mut resp = json_response(
            200,
            &json!({"id": "emb-mock", "embeddings": embeddings, "response_type": "embeddings_floats", "texts": texts}),
        );
        resp.headers_mut()
            .insert("x-amzn-bedrock-input-token-count", "7".parse().unwrap());
        return resp;
    }
    aws_error(
        400,
        "ValidationException",
        &format!("model {model} does not support InvokeModel here"),
    )
}
