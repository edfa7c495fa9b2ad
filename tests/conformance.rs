//! The conformance matrix: every ingress × every provider × every case, against mocks that
//! speak each provider's exact wire format (Bedrock's SigV4 and binary EventStream, Vertex's
//! OAuth token endpoint, Azure's deployment paths and Entra ID token endpoint, Cohere's v2 chat
//! and SSE events included).
//!
//! - Ingresses ([`ingress::INGRESSES`]): OpenAI chat, Anthropic Messages, Google GenAI and the
//!   OpenAI Responses API, each writing a request in its own shape and reading answers, SSE
//!   event sequences and errors back from its own shape.
//! - Providers (`provider.rs`): one row each, saying how to start its mock and a gateway in front
//!   of it, what the mock answers and which operation the provider lacks.
//! - Cases ([`case::CASES`]): chat, streaming, a tool call round trip, the system prompt, image
//!   input, usage, the length stop reason, error mapping (400/429/500, JSON and streamed) and
//!   the unsupported-operation error. Every case asserts what the mock received as well as
//!   what the client got.
//!
//! One test per provider: one mock and one gateway, every (ingress, case) run in turn. A
//! failing cell does not stop the others; the test fails at the end listing every failed cell.
//!
//! To add a provider: write its row in `provider.rs` (a function
//! returning a `Provider`: its mock's start function, model, wire format, what the mock
//! answers, the operation it lacks); add a `Wire` variant if it speaks a new format (how to read
//! the system prompt, user text, image, tools and tool results from what its mock received);
//! then add its name to `matrix!` below, and its row to README's providers × operations table.

mod case;
mod ingress;
mod provider;

use std::any::Any;
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::common::within;
use case::CASES;
use ingress::INGRESSES;
use provider::Provider;

/// Runs every (ingress, case) cell of a provider's row and reports them all.
async fn run(provider: Provider) {
    let up = (provider.start)().await;
    let mut report = format!("conformance of {}:\n", provider.name);
    let mut failed = Vec::new();
    for ingress in INGRESSES {
        for case in CASES {
            let cell = format!("{} × {} × {}", ingress.name(), provider.name, case.name());
            let outcome = AssertUnwindSafe(case.run(ingress, &provider, &up))
                .catch_unwind()
                .await;
            let verdict = match outcome {
                Ok(Ok(())) => "ok".to_owned(),
                Ok(Err(why)) => format!("n/a ({why})"),
                Err(panic) => {
                    let why = panic_message(&*panic);
                    failed.push(format!("{cell}: {why}"));
                    format!("FAILED: {why}")
                }
            };
            let _ = writeln!(report, "  {cell}: {verdict}");
        }
    }
    eprintln!("{report}");
    assert!(
        failed.is_empty(),
        "{} failed cell(s):\n{}\n---- bifrost stderr ----\n{}",
        failed.len(),
        failed.join("\n"),
        up.gateway.stderr()
    );
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".to_owned())
}

/// One test per provider row.
macro_rules! matrix {
    ($($row:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $row() {
            within(120, run(provider::$row())).await;
        }
    )*};
}

matrix!(
    openai,
    groq,
    anthropic,
    gemini,
    vertex,
    vertex_claude,
    bedrock,
    azure,
    cohere
);
