//! End-to-end tests: the real `bifrost` binary on port 0 with a temp app dir, against mock
//! upstreams of our own that speak each wire format and record what they received.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod mock;

mod admin;
mod anthropic;
mod azure;
mod bad_input;
mod bedrock;
mod cli;
mod cohere;
mod config_api;
mod conformance;
mod dashboard;
mod gemini;
mod governance;
mod inference;
mod ingress_anthropic;
mod ingress_genai;
mod ingress_responses;
mod keys;
mod lifecycle;
mod logs;
mod metrics;
mod npm_package;
mod passthrough;
mod resilience;
mod sdk;
mod vertex;
