//! Secret values: provider keys as configured (`env.VAR` or a literal) and their resolution.
//!
//! `env.VAR` references are kept as written in config.db and resolved at request time, so a
//! rotated environment variable takes effect without a restart and nothing secret is stored
//! that was not typed in. Both types redact themselves in `Debug` so they cannot leak into logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The prefix that marks a value as an environment-variable reference.
pub const ENV_PREFIX: &str = "env.";

/// A secret as configured: either `env.VAR` or the literal value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretRef(String);

/// What a [`SecretRef`] resolved to.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The secret's value.
    Value(Secret),
    /// No value is configured (allowed for keyless providers).
    Empty,
    /// `env.VAR` names a variable that is not set or is empty.
    MissingEnv(String),
}

impl SecretRef {
    /// Wraps a configured value.
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The variable named by an `env.VAR` value.
    pub fn env_var(&self) -> Option<&str> {
        self.0.strip_prefix(ENV_PREFIX).filter(|v| !v.is_empty())
    }

    /// Whether nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Reads the value now: the environment variable for `env.VAR`, else the literal.
    pub fn resolve(&self) -> Resolved {
        if self.is_empty() {
            return Resolved::Empty;
        }
        match self.env_var() {
            Some(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Resolved::Value(Secret(v)),
                _ => Resolved::MissingEnv(var.to_owned()),
            },
            None => Resolved::Value(Secret(self.0.clone())),
        }
    }

    /// The form shown by the API, the CLI and the dashboard: `env.VAR` as written (a name is
    /// not a secret), a literal reduced to its last four characters.
    pub fn redacted(&self) -> String {
        if self.env_var().is_some() || self.is_empty() {
            return self.0.clone();
        }
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 16 {
            return "********".to_owned();
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("********{tail}")
    }

    /// The configured text, for the store only.
    pub fn as_configured(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({})", self.redacted())
    }
}

/// A resolved secret. Only [`Secret::expose`] gives the value, for the one header that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret obtained at run time (an access token), so that it is redacted like a
    /// configured one.
    pub fn from_value(value: String) -> Self {
        Self(value)
    }

    /// The value, to put in an outgoing header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_resolve_at_use_and_missing_ones_are_named() {
        let r = SecretRef::new("env.BIFROST_TEST_SECRET_THAT_IS_NOT_SET");
        assert_eq!(
            r.resolve(),
            Resolved::MissingEnv("BIFROST_TEST_SECRET_THAT_IS_NOT_SET".into())
        );
        assert_eq!(SecretRef::new("").resolve(), Resolved::Empty);
        let Resolved::Value(s) = SecretRef::new("sk-literal").resolve() else {
            panic!("literal must resolve")
        };
        assert_eq!(s.expose(), "sk-literal");
    }

    #[test]
    fn debug_and_redaction_never_show_literals() {
        let r = SecretRef::new("sk-proj-abcdefghijklmnop1234");
        assert_eq!(r.redacted(), "********1234");
        assert!(!format!("{r:?}").contains("abcdef"));
        assert_eq!(
            SecretRef::new("env.OPENAI_API_KEY").redacted(),
            "env.OPENAI_API_KEY"
        );
        let Resolved::Value(s) = r.resolve() else {
            panic!()
        };
        assert_eq!(format!("{s:?}"), "Secret(********)");
    }
}
