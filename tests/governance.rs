//! Governance end to end: virtual keys in every header, 401/403/402/429 with Bifrost's error
//! types, budgets that concurrent requests cannot overspend, rate limits with `Retry-After`,
//! weighted routing with automatic fallbacks, teams and customers, admin auth, the `vk` CLI
//! on a live server, pricing, and counters that survive a restart.

mod admin_auth;
mod budgets;
mod cli;
mod keys;
mod pricing;
mod routing;

use serde_json::{json, Value};

use crate::common::{config, key, provider, Gateway};
use crate::mock::Mock;

/// A config with `openai` at a mock, plus extra top-level fields.
pub fn openai_config(mock: &Mock, extra: Value) -> Value {
    let mut cfg =
        config(json!({"openai": provider(&mock.url, json!([key("k1", "sk-upstream-1")]))}));
    merge(&mut cfg, extra);
    cfg
}

/// Merges `extra`'s top-level fields (objects one level deep) into `cfg`.
pub fn merge(cfg: &mut Value, extra: Value) {
    let (Some(c), Value::Object(e)) = (cfg.as_object_mut(), extra) else {
        return;
    };
    for (k, v) in e {
        match (c.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => a.extend(b),
            (_, v) => {
                c.insert(k, v);
            }
        }
    }
}

/// Creates a key through the API; returns (id, value).
pub async fn create_vk(gw: &Gateway, body: Value) -> (String, String) {
    let (status, resp) = gw.post("/api/governance/virtual-keys", &body).await;
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["message"], "Virtual key created successfully");
    let vk = &resp["virtual_key"];
    (
        vk["id"].as_str().unwrap().to_owned(),
        vk["value"].as_str().unwrap().to_owned(),
    )
}

/// A chat request with a virtual key in `x-bf-vk`.
pub async fn chat_vk(gw: &Gateway, vk: &str, body: &Value) -> (u16, Value) {
    gw.post_with("/v1/chat/completions", body, &[("x-bf-vk", vk)])
        .await
}

/// A small chat body whose reservation (6 output tokens at gpt-4o-mini's $0.60/M, plus the
/// prompt estimate) is above the mock's real cost (9 + 3 tokens = $0.00000315).
pub fn small_chat(model: &str) -> Value {
    json!({"model": model, "max_tokens": 6,
           "messages": [{"role": "user", "content": "count the budget reservations, please"}]})
}

/// What the mock's answer costs on gpt-4o-mini: 9 × $0.15/M + 3 × $0.60/M.
pub const MOCK_COST: f64 = 0.000_003_15;

/// The key's quota view.
pub async fn quota(gw: &Gateway, id: &str) -> Value {
    let (status, q) = gw
        .get(&format!("/api/governance/virtual-keys/{id}/quota"))
        .await;
    assert_eq!(status, 200, "{q}");
    q
}

/// `current_usage` of the budget at `level` in a key's quota.
pub async fn spend(gw: &Gateway, id: &str, level: &str) -> f64 {
    let q = quota(gw, id).await;
    q["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["level"] == level)
        .unwrap_or_else(|| panic!("no {level} budget in {q}"))["current_usage"]
        .as_f64()
        .unwrap()
}

/// Asserts a governance error: status, and `type` both at the top level and in `error.type`.
pub fn assert_gov_error(status: u16, body: &Value, want_status: u16, want_type: &str) {
    assert_eq!(status, want_status, "{body}");
    crate::common::assert_error_shape(body, want_status);
    assert_eq!(body["type"], want_type, "{body}");
    assert_eq!(body["error"]["type"], want_type, "{body}");
}

/// Creates a key through the API with extra headers (admin credentials).
pub async fn create_vk_with(
    gw: &Gateway,
    headers: &[(&str, &str)],
    body: Value,
) -> (String, String) {
    let (status, resp) = gw
        .post_with("/api/governance/virtual-keys", &body, headers)
        .await;
    assert_eq!(status, 200, "{resp}");
    let vk = &resp["virtual_key"];
    (
        vk["id"].as_str().unwrap().to_owned(),
        vk["value"].as_str().unwrap().to_owned(),
    )
}
