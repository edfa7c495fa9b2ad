//! The `client` section as `PUT /api/config` changes it: fields sent replace the current
//! values, fields left out keep theirs, and every problem names its field
//! (`client_config.max_request_body_size_mb: ...`).
//!
//! Most settings are read from the snapshot on every request, so they apply as soon as the
//! snapshot is swapped. The few that shape what the server built at start are listed by
//! [`Gateway::restart_required`].

use serde_json::Value;

use super::Gateway;
use crate::config::{validate, ClientConfig};
use crate::error::{Error, Result};

/// Where the section sits in the request body, for the paths in error messages.
const AT: &str = "client_config";

/// `current` with the fields of `patch` (a JSON object) put over it, validated.
pub fn patch_client(current: &ClientConfig, patch: &Value) -> Result<ClientConfig> {
    let Value::Object(fields) = patch else {
        return Err(Error::BadRequest(format!("{AT}: must be a JSON object")));
    };
    let mut merged = serde_json::to_value(current).map_err(|e| Error::Internal(e.to_string()))?;
    if let Value::Object(base) = &mut merged {
        for (name, value) in fields {
            base.insert(name.clone(), value.clone());
        }
    }
    let next: ClientConfig = serde_path_to_error::deserialize(merged).map_err(|e| {
        let path = e.path().to_string();
        Error::BadRequest(format!("{AT}.{path}: {}", e.into_inner()))
    })?;
    let problems = validate::client(AT, &next);
    if problems.is_empty() {
        Ok(next)
    } else {
        Err(Error::BadRequest(problems.join("; ")))
    }
}

impl Gateway {
    /// The settings changed since the server started that only a restart applies, by
    /// Bifrost's names for them (empty when everything in effect is what is configured).
    pub fn restart_required(&self) -> Vec<&'static str> {
        let (boot, now) = (&self.boot_client, &self.current().client);
        let mut reasons = Vec::new();
        // The request log (logs.db and its writer) is only opened at start; turning it off
        // applies at once (the writer pauses), turning it on needs the restart.
        if now.enable_logging && !boot.enable_logging {
            reasons.push("Logging enabled");
        }
        // Metric families are registered with their label names at start.
        if now.prometheus_labels != boot.prometheus_labels {
            reasons.push("Prometheus labels");
        }
        reasons
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sent_fields_replace_and_the_others_stay() {
        let current = ClientConfig {
            log_retention_days: 30,
            ..ClientConfig::default()
        };
        let next = patch_client(
            &current,
            &json!({"max_request_body_size_mb": 2, "required_headers": ["X-Tenant-ID"]}),
        )
        .unwrap();
        assert_eq!(next.max_request_body_size_mb, 2);
        assert_eq!(next.required_headers, ["X-Tenant-ID"]);
        assert_eq!(next.log_retention_days, 30);
    }

    #[test]
    fn problems_name_the_field() {
        let current = ClientConfig::default();
        let err = |patch: Value| patch_client(&current, &patch).unwrap_err().to_string();
        assert!(
            err(json!({"max_request_body_size_mb": "big"}))
                .contains("client_config.max_request_body_size_mb: invalid type"),
            "{}",
            err(json!({"max_request_body_size_mb": "big"}))
        );
        assert!(err(json!({"max_request_body_size_mb": 0}))
            .contains("client_config.max_request_body_size_mb: must be at least 1"));
        assert!(err(json!({"required_headers": ["bad header"]}))
            .contains("client_config.required_headers: `bad header` is not a valid header name"));
        assert!(err(json!([1])).contains("client_config: must be a JSON object"));
    }
}
