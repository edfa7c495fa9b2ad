//! The dashboard: the embedded `ui/dist` served by the real binary (content types, ETag and
//! cache headers, SPA fallback beside the API's JSON 404s, admin auth), `bifrost open` and
//! `serve --open`, and the browser suite (`ui/e2e`, playwright-core driving Debian Chromium).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{assert_error_shape, command, config, http, run, within, Gateway, BIN};

async fn fetch(url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The hashed script `index.html` loads.
fn script_path(html: &str) -> String {
    let start = html.find("/assets/").expect("index.html loads /assets/...");
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

async fn json_404(resp: reqwest::Response) {
    assert_eq!(resp.status(), 404);
    assert!(
        header(&resp, "content-type").starts_with("application/json"),
        "{:?}",
        resp.headers()
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    let msg = assert_error_shape(&body, 404);
    assert!(msg.starts_with("Route not found"), "{msg}");
}

#[tokio::test]
async fn the_dashboard_is_served_with_cache_headers_and_a_spa_fallback() {
    within(60, async {
        let gw = Gateway::launch(&config(json!({})), &[]).await;
        let base = &gw.url;

        let index = fetch(&format!("{base}/"), &[]).await;
        assert_eq!(index.status(), 200);
        assert_eq!(header(&index, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&index, "cache-control"), "no-cache");
        assert!(header(&index, "content-security-policy").contains("default-src 'self'"));
        let etag = header(&index, "etag");
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let html = index.text().await.unwrap();
        assert!(html.contains(r#"<div id="app">"#), "{html}");

        // The same bytes the build wrote: the binary embeds ui/dist, it does not read it.
        let on_disk = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html"),
        )
        .unwrap();
        assert_eq!(
            html, on_disk,
            "the embedded index.html is the committed one"
        );

        let again = fetch(&format!("{base}/"), &[("if-none-match", &etag)]).await;
        assert_eq!(again.status(), 304);
        assert_eq!(header(&again, "etag"), etag);

        let script = script_path(&html);
        let js = fetch(&format!("{base}{script}"), &[]).await;
        assert_eq!(js.status(), 200);
        assert_eq!(
            header(&js, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            header(&js, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert!(js.text().await.unwrap().len() > 1000);
        let icon = fetch(&format!("{base}/favicon.svg"), &[]).await;
        assert_eq!(header(&icon, "content-type"), "image/svg+xml");

        // Page paths load the app when a browser asks for HTML ...
        let html_accept = "text/html,application/xhtml+xml,*/*;q=0.8";
        for page in [
            "/logs",
            "/logs/01a1fea0-2e4b-703c",
            "/providers",
            "/virtual-keys",
        ] {
            let resp = fetch(&format!("{base}{page}"), &[("accept", html_accept)]).await;
            assert_eq!(resp.status(), 200, "{page}");
            assert_eq!(resp.text().await.unwrap(), html, "{page}");
        }
        // ... but not for other clients, and never under the API's prefixes.
        json_404(fetch(&format!("{base}/logs"), &[("accept", "application/json")]).await).await;
        for path in [
            "/api/nope",
            "/v1/nope",
            "/openai/v1/nope",
            "/anthropic/nope",
            "/assets/missing.js",
        ] {
            json_404(fetch(&format!("{base}{path}"), &[("accept", html_accept)]).await).await;
        }
        let post = http().post(format!("{base}/")).send().await.unwrap();
        json_404(post).await;
        let head = http().head(format!("{base}/")).send().await.unwrap();
        assert_eq!(head.status(), 200);
        assert_eq!(header(&head, "etag"), etag);
        // The API itself is untouched.
        let (status, body) = gw.get("/api/providers").await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
}

#[tokio::test]
async fn with_admin_auth_the_app_loads_but_the_api_needs_credentials() {
    within(60, async {
        let mut cfg = config(json!({}));
        cfg["auth_config"] =
            json!({"is_enabled": true, "admin_username": "admin", "admin_password": "pw-e2e"});
        let gw = Gateway::launch(&cfg, &[]).await;
        let base = &gw.url;
        let index = fetch(&format!("{base}/"), &[]).await;
        assert_eq!(index.status(), 200);
        let html = index.text().await.unwrap();
        let js = fetch(&format!("{base}{}", script_path(&html)), &[]).await;
        assert_eq!(js.status(), 200);
        let page = fetch(&format!("{base}/settings"), &[("accept", "text/html")]).await;
        assert_eq!(page.status(), 200);
        for path in ["/api/providers", "/api/config", "/v1/models", "/api/nope"] {
            let resp = fetch(&format!("{base}{path}"), &[("accept", "text/html")]).await;
            assert_eq!(resp.status(), 401, "{path} without credentials");
        }
        let open = fetch(&format!("{base}/api/session/is-auth-enabled"), &[]).await;
        assert_eq!(open.status(), 200);
    })
    .await;
}

/// A directory holding a fake `xdg-open` that appends its arguments to `log`.
fn fake_browser(dir: &Path, log: &Path) -> String {
    let script = dir.join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", dir.display())
}

async fn opened(log: &Path) -> String {
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(log) {
            if !text.trim().is_empty() {
                return text.trim().to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no browser was started (nothing in {})", log.display());
}

#[tokio::test]
async fn bifrost_open_and_serve_open_start_the_browser_on_the_dashboard() {
    within(60, async {
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("opened.txt");
        let path = fake_browser(tmp.path(), &log);

        let out = run(&["open", "--port", "1"], &[("PATH", &path)]).await;
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout.trim(), "http://127.0.0.1:1/");
        assert!(out.stderr.contains("nothing answers"), "{}", out.stderr);
        assert_eq!(opened(&log).await, "http://127.0.0.1:1/");

        let printed = run(&["open", "--port", "2", "--print"], &[("PATH", &path)]).await;
        assert_eq!(printed.stdout.trim(), "http://127.0.0.1:2/");

        std::fs::remove_file(&log).unwrap();
        let app = tempfile::tempdir().unwrap();
        let mut child = command(&[("PATH", &path)])
            .args(["serve", "--port", "0", "--open", "--app-dir"])
            .arg(app.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut dashboard = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("dashboard: ") {
                dashboard = url.to_owned();
                break;
            }
        }
        assert!(dashboard.starts_with("http://127.0.0.1:"), "{dashboard}");
        assert_eq!(opened(&log).await, dashboard);
        let page = fetch(&dashboard, &[]).await;
        assert_eq!(page.status(), 200);
        child.kill().await.unwrap();
    })
    .await;
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// The browser suite in `ui/e2e` against this build's binary. It fails when a page does not
/// work; it skips a feature only when the gateway answers 404 for that feature's API.
#[tokio::test]
async fn the_dashboard_works_in_a_real_browser() {
    within(300, async {
        let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        assert!(
            ui.join("node_modules/playwright-core").is_dir(),
            "ui/node_modules is missing: run `npm ci` in ui/ (scripts/test.sh does)"
        );
        assert!(
            chromium().exists(),
            "no Chromium at {}: `apt-get install -y chromium` (or set CHROMIUM)",
            chromium().display()
        );
        let out = tokio::process::Command::new("node")
            .arg("e2e/run.mjs")
            .current_dir(&ui)
            .env("BIFROST_BIN", BIN)
            .env("CHROMIUM", chromium())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .expect("node runs (Node.js 20+ is needed for the browser tests)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        assert!(
            out.status.success(),
            "browser tests failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    })
    .await;
}
