//! The official Python SDKs as real clients of the gateway: `openai` here (chat, streaming,
//! tools, embeddings, completions and models through OpenAI and Anthropic mocks), and the
//! runner the `anthropic` and `google-genai` SDK tests share.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::common::{config, key, provider, within, Gateway};
use crate::mock::Mock;

/// The interpreter: `BIFROST_TEST_PYTHON`, else the repo's `.venv`.
fn python() -> PathBuf {
    match std::env::var_os("BIFROST_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
    }
}

/// Runs `tests/sdk/<script>` with the repo's Python against the gateway (`BIFROST_URL`), after
/// checking that `module` imports; returns its stdout, panicking with its output on failure.
pub async fn run_sdk_script(script: &str, module: &str, gw: &Gateway) -> String {
    let py = python();
    let probe = tokio::process::Command::new(&py)
        .args([
            "-c",
            &format!("import {module}; print({module}.__version__)"),
        ])
        .output()
        .await;
    let version = match probe {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "{} cannot import the {module} package ({}); run scripts/test.sh to create the venv",
            py.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!(
            "no Python interpreter at {} ({e}); run scripts/test.sh (or set BIFROST_TEST_PYTHON)",
            py.display()
        ),
    };
    assert!(!version.is_empty());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(script);
    let mut cmd = tokio::process::Command::new(&py);
    cmd.arg(&path)
        .env("BIFROST_URL", &gw.url)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for var in [
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("the SDK script did not finish within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{module} {version} SDK script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    stdout
}

#[tokio::test]
async fn official_openai_python_sdk_works_end_to_end() {
    within(120, async {
        let oai = Mock::openai("openai-mock").await;
        let claude = Mock::anthropic("anthropic-mock").await;
        let cfg = config(json!({
            "openai": provider(&oai.url, json!([key("o", "env.E2E_SDK_OPENAI")])),
            "anthropic": provider(&claude.url, json!([key("a", "env.E2E_SDK_ANTHROPIC")])),
        }));
        let gw = Gateway::launch(
            &cfg,
            &[
                ("E2E_SDK_OPENAI", "sk-sdk-openai"),
                ("E2E_SDK_ANTHROPIC", "sk-ant-sdk"),
            ],
        )
        .await;

        run_sdk_script("test_openai_sdk.py", "openai", &gw).await;

        // The SDK's calls really went through the gateway to the mocks, with the gateway's keys.
        let chat = oai.requests_to("/v1/chat/completions");
        assert!(chat.len() >= 5, "{} chat calls", chat.len());
        assert!(
            chat.iter().all(|r| r.bearer() == Some("sk-sdk-openai")),
            "the client's api_key must not reach the upstream"
        );
        assert_eq!(oai.requests_to("/v1/embeddings").len(), 1);
        assert_eq!(oai.requests_to("/v1/completions").len(), 1);
        let msgs = claude.requests_to("/v1/messages");
        assert!(msgs.len() >= 4, "{} anthropic calls", msgs.len());
        assert!(msgs
            .iter()
            .all(|r| r.header("x-api-key") == Some("sk-ant-sdk")));
        assert!(msgs.iter().any(|r| r.body["system"] == "Be brief."));
    })
    .await;
}
