//! Request logs end to end: one record per request in logs.db (also under a burst with failures
//! and disconnects, and across SIGTERM), the `/api/logs` family with its filters, `/ws` live
//! events, and `bifrost logs tail|show|stats|export`.

use std::collections::HashSet;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{
    assert_error_shape, chat_body, command, config, eventually, http, key, provider, run, within,
    Event, Gateway, SseReader,
};
use crate::mock::{openai, Mock};

const KEY: &str = "sk-e2e-logs-0123456789";

async fn gateway(mock: &Mock, client: Value) -> Gateway {
    let mut cfg =
        config(json!({"openai": provider(&mock.url, json!([key("main", "env.E2E_LOGS_KEY")]))}));
    cfg["client"] = client;
    Gateway::launch(&cfg, &[("E2E_LOGS_KEY", KEY)]).await
}

async fn logs(gw: &Gateway, query: &str) -> Value {
    let (status, body) = gw.get(&format!("/api/logs?{query}")).await;
    assert_eq!(status, 200, "/api/logs?{query}: {body}");
    body
}

/// Waits until `/api/logs` counts `n` logs, and returns them newest first.
async fn wait_for_logs(gw: &Gateway, n: u64) -> Vec<Value> {
    eventually(15, &format!("{n} logs"), || async {
        let body = logs(gw, "limit=1000").await;
        (body["pagination"]["total_count"] == n).then(|| body["logs"].as_array().unwrap().clone())
    })
    .await
}

fn ids(body: &Value) -> Vec<String> {
    body["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

fn streaming(mut body: Value) -> Value {
    body["stream"] = json!(true);
    body
}

#[tokio::test]
async fn each_request_is_logged_once_with_bifrosts_fields() {
    within(60, async {
        let mock = Mock::openai("up").await;
        let gw = gateway(&mock, json!({"logging_headers": ["X-Tenant"]})).await;
        let (status, _) = gw
            .post_with(
                "/v1/chat/completions",
                &chat_body("openai/gpt-4o-mini", "tell me about penguins"),
                &[("x-bf-lh-team", "blue"), ("x-tenant", "acme")],
            )
            .await;
        assert_eq!(status, 200);
        let sse = gw
            .stream(
                "/v1/chat/completions",
                &streaming(chat_body("openai/gpt-4o", "stream please")),
                &[],
            )
            .await;
        assert!(sse.ends_with_done());
        mock.fail_next(
            1,
            400,
            openai::error("bad things", "invalid_request_error", "bad"),
        );
        let (status, _) = gw
            .chat(&chat_body("openai/gpt-4o-mini", "fail please"))
            .await;
        assert_eq!(status, 400);

        let all = wait_for_logs(&gw, 3).await;
        let (failed, streamed, first) = (&all[0], &all[1], &all[2]);

        assert_eq!(first["status"], "success");
        assert_eq!(first["object"], "chat_completion");
        assert_eq!(first["provider"], "openai");
        assert_eq!(first["model"], "gpt-4o-mini");
        assert_eq!(first["stream"], false);
        assert_eq!(first["selected_key_name"], "main");
        assert!(!first["selected_key_id"].as_str().unwrap().is_empty());
        assert_eq!(first["number_of_retries"], 0);
        assert_eq!(first["fallback_index"], 0);
        assert_eq!(
            first["token_usage"],
            json!({"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
        );
        // The pricing catalog knows the model, so the settled cost is logged.
        assert!(first["cost"].as_f64().unwrap() > 0.0, "{first}");
        assert!(first["latency"].as_f64().unwrap() > 0.0);
        assert!(
            first["timestamp"].as_str().unwrap().ends_with('Z'),
            "RFC 3339: {first}"
        );
        assert_eq!(
            first["input_history"],
            json!([{"role": "user", "content": "tell me about penguins"}])
        );
        assert_eq!(
            first["output_message"]["content"],
            "up says: tell me about penguins"
        );
        assert_eq!(
            first["metadata"],
            json!({"team": "blue", "x-tenant": "acme"}),
            "{first}"
        );
        let text = first.to_string();
        assert!(!text.contains(KEY), "the key value never reaches the log");

        assert_eq!(streamed["status"], "success");
        assert_eq!(streamed["stream"], true);
        assert_eq!(streamed["object"], "chat_completion_stream");
        assert!(streamed["ttft"].as_f64().is_some(), "{streamed}");
        assert!(
            streamed["output_message"]["content"]
                .as_str()
                .unwrap()
                .len()
                > 3,
            "{streamed}"
        );

        assert_eq!(failed["status"], "error");
        assert_eq!(failed["error_details"]["status_code"], 400);
        assert_eq!(failed["error_details"]["error"]["message"], "bad things");

        // One log by id is the same record; an unknown id is a 404 in Bifrost's error shape.
        let (status, one) = gw
            .get(&format!("/api/logs/{}", first["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, 200);
        assert_eq!(&one, first);
        let (status, body) = gw.get("/api/logs/no-such-id").await;
        assert_eq!(status, 404);
        assert_error_shape(&body, 404);

        // No more than one record per request, even after a while.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let body = logs(&gw, "").await;
        assert_eq!(body["pagination"]["total_count"], 3);
        assert_eq!(ids(&body).iter().collect::<HashSet<_>>().len(), 3);
        let (_, dropped) = gw.get("/api/logs/dropped").await;
        assert_eq!(dropped, json!({"dropped_requests": 0}));
    })
    .await;
}

#[tokio::test]
async fn the_logs_api_filters_sorts_pages_and_deletes() {
    within(90, async {
        let mock = Mock::openai("up").await;
        let gw = gateway(&mock, json!({})).await;
        for text in ["alpha one", "bravo two", "charlie three", "delta four"] {
            let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", text)).await;
            assert_eq!(status, 200);
        }
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o", "echo five")).await;
        assert_eq!(status, 200);
        mock.fail_next(1, 400, openai::error("nope", "invalid_request_error", "bad"));
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o", "foxtrot six")).await;
        assert_eq!(status, 400);
        let all = wait_for_logs(&gw, 6).await;
        let newest = all[0]["timestamp"].as_str().unwrap().to_owned();

        // The response shape and the default page.
        let body = logs(&gw, "").await;
        assert_eq!(
            body["pagination"],
            json!({"limit": 50, "offset": 0, "sort_by": "timestamp", "order": "desc", "total_count": 6})
        );
        assert_eq!(body["has_logs"], true);
        assert_eq!(body["stats"]["total_requests"], 6);
        assert!((body["stats"]["success_rate"].as_f64().unwrap() - 500.0 / 6.0).abs() < 1e-6);
        assert_eq!(body["stats"]["total_tokens"], 60);

        let count = |q: &str| {
            let (gw, q) = (&gw, q.to_owned());
            async move { logs(gw, &q).await["pagination"]["total_count"].as_u64().unwrap() }
        };
        assert_eq!(count("models=gpt-4o").await, 2);
        assert_eq!(count("models=gpt-4o,gpt-4o-mini").await, 6);
        assert_eq!(count("providers=openai").await, 6);
        assert_eq!(count("providers=anthropic").await, 0);
        assert_eq!(count("status=error").await, 1);
        assert_eq!(count("objects=chat_completion").await, 6);
        assert_eq!(count("objects=embedding").await, 0);
        assert_eq!(count("content_search=charlie").await, 1);
        assert_eq!(count("content_search=CHAR").await, 1);
        assert_eq!(count("content_search=nope").await, 1, "the error message is searchable");
        assert_eq!(count("min_tokens=12").await, 5);
        assert_eq!(count("max_tokens=0").await, 1);
        assert_eq!(count("min_latency=0").await, 6);
        assert_eq!(count("max_latency=0").await, 0);
        let costs: Vec<f64> = all.iter().filter_map(|l| l["cost"].as_f64()).collect();
        assert!(!costs.is_empty(), "some requests are priced");
        let missing = (all.len() - costs.len()) as u64;
        assert_eq!(count("missing_cost_only=true").await, missing);
        let top = costs.iter().copied().fold(0.0, f64::max);
        let at_top = costs.iter().filter(|c| **c >= top).count() as u64;
        assert_eq!(count(&format!("min_cost={top}")).await, at_top);
        assert_eq!(count(&format!("max_cost={}", top / 2.0)).await, costs.len() as u64 - at_top);
        assert_eq!(count("virtual_key_ids=vk-1").await, 0);
        let key_id = all[1]["selected_key_id"].as_str().unwrap().to_owned();
        assert!(!key_id.is_empty(), "{}", all[1]);
        let with_key = all.iter().filter(|l| l["selected_key_id"] == key_id.as_str()).count();
        let body = logs(&gw, &format!("selected_key_ids={key_id}")).await;
        assert_eq!(body["pagination"]["total_count"], with_key as u64);
        assert!(with_key >= 5, "every answered request names its key");
        let body = logs(&gw, "selected_key_ids=other-key").await;
        assert_eq!(body["pagination"]["total_count"], 0);
        let body = logs(&gw, &format!("start_time={}", newest.replace('+', "%2B"))).await;
        assert!(body["pagination"]["total_count"].as_u64().unwrap() >= 1);
        let body = logs(&gw, "end_time=2000-01-01T00:00:00Z").await;
        assert_eq!(body["pagination"]["total_count"], 0);
        assert_eq!(body["has_logs"], true);

        // Sorting and pages.
        let asc = ids(&logs(&gw, "order=asc&limit=1000").await);
        let desc = ids(&logs(&gw, "order=desc&limit=1000").await);
        assert_eq!(asc.iter().rev().collect::<Vec<_>>(), desc.iter().collect::<Vec<_>>());
        let mut paged = Vec::new();
        for offset in [0, 4] {
            paged.extend(ids(&logs(&gw, &format!("order=asc&limit=4&offset={offset}")).await));
        }
        assert_eq!(paged, asc);
        let by_tokens = logs(&gw, "sort_by=tokens&order=asc").await;
        assert_eq!(by_tokens["logs"][0]["status"], "error", "the failed request has no tokens");
        assert_eq!(by_tokens["pagination"]["sort_by"], "tokens");

        // Bad parameters are refused in Bifrost's error shape, naming the parameter.
        for q in ["limit=0", "limit=1001", "sort_by=name", "order=up", "start_time=yesterday", "min_latency=fast", "offset=-1"] {
            let (status, body) = gw.get(&format!("/api/logs?{q}")).await;
            assert_eq!(status, 400, "{q}: {body}");
            assert_error_shape(&body, 400);
        }

        // Stats, filter menus and every chart answer in their shapes.
        let (status, stats) = gw.get("/api/logs/stats?models=gpt-4o").await;
        assert_eq!(status, 200);
        assert_eq!(stats["total_requests"], 2);
        assert_eq!(stats["success_rate"], 50.0);
        let (_, fd) = gw.get("/api/logs/filterdata").await;
        assert_eq!(fd["providers"], json!(["openai"]));
        assert_eq!(fd["models"], json!(["gpt-4o", "gpt-4o-mini"]));
        assert_eq!(fd["selected_keys"], json!([{"id": key_id, "name": "main"}]));
        assert_eq!(fd["virtual_keys"], json!([]));
        let (_, h) = gw.get("/api/logs/histogram").await;
        assert_eq!(h["bucket_size_seconds"], 3600);
        let counted: u64 = h["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
        assert_eq!(counted, 6);
        let errors: u64 = h["buckets"].as_array().unwrap().iter().map(|b| b["error"].as_u64().unwrap()).sum();
        assert_eq!(errors, 1);
        for (path, field) in [
            ("/api/logs/histogram/tokens", "total_tokens"),
            ("/api/logs/histogram/cost", "by_model"),
            ("/api/logs/histogram/models", "by_model"),
            ("/api/logs/histogram/latency", "p99_latency"),
            ("/api/logs/histogram/cost/by-provider", "by_provider"),
            ("/api/logs/histogram/tokens/by-provider", "by_provider"),
            ("/api/logs/histogram/latency/by-provider", "by_provider"),
        ] {
            let (status, body) = gw.get(path).await;
            assert_eq!(status, 200, "{path}: {body}");
            assert!(body["buckets"][0].get(field).is_some(), "{path}: {body}");
        }
        let (_, models) = gw.get("/api/logs/histogram/models").await;
        assert_eq!(models["buckets"][0]["by_model"]["gpt-4o"], json!({"total": 2, "success": 1, "error": 1, "cancelled": 0}));
        // A closed range gets small buckets with the empty ones filled in.
        let (_, h) = gw.get("/api/logs/histogram?start_time=2000-01-01T00:00:00Z&end_time=2000-01-01T00:30:00Z").await;
        assert_eq!(h["bucket_size_seconds"], 60);
        assert_eq!(h["buckets"].as_array().unwrap().len(), 31);

        // Deleting by id.
        let doomed = vec![asc[0].clone(), asc[1].clone()];
        let resp = http()
            .delete(format!("{}/api/logs", gw.url))
            .json(&json!({"ids": doomed}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["deleted"], 2);
        let left = ids(&logs(&gw, "order=asc").await);
        assert_eq!(left, asc[2..].to_vec());
        let resp = http().delete(format!("{}/api/logs", gw.url)).json(&json!({"ids": []})).send().await.unwrap();
        assert_eq!(resp.status(), 400);
    })
    .await;
}

#[tokio::test]
async fn a_burst_with_failures_and_disconnects_logs_every_request_once() {
    within(120, async {
        const JSON_REQUESTS: usize = 475;
        const FAILURES: usize = 25;
        const DISCONNECTS: usize = 25;
        let mock = Mock::openai("burst").await;
        let gw = gateway(&mock, json!({})).await;

        // Clients that go away mid-stream: read two events, then drop the connection.
        mock.stall_streams_after(2);
        let disconnects = futures_util::future::join_all((0..DISCONNECTS).map(|i| {
            let url = format!("{}/v1/chat/completions", gw.url);
            async move {
                let client = http();
                let resp = client
                    .post(url)
                    .json(&streaming(chat_body(
                        "openai/gpt-4o-mini",
                        &format!("stream {i}"),
                    )))
                    .send()
                    .await
                    .unwrap();
                let mut reader = SseReader::new(resp);
                for _ in 0..2 {
                    assert!(matches!(reader.next().await, Some(Event::Json(_))));
                }
            }
        }));
        disconnects.await;

        // The next FAILURES upstream calls fail; all JSON requests go out at once.
        mock.fail_next(
            FAILURES,
            500,
            openai::error("overloaded", "server_error", "overloaded"),
        );
        let answers = futures_util::stream::iter((0..JSON_REQUESTS).map(|i| {
            let gw = &gw;
            async move {
                gw.chat_owned(chat_body("openai/gpt-4o-mini", &format!("burst {i}")))
                    .await
                    .0
            }
        }))
        .buffer_unordered(JSON_REQUESTS)
        .collect::<Vec<u16>>()
        .await;
        assert_eq!(
            answers.iter().filter(|s| **s == 200).count(),
            JSON_REQUESTS - FAILURES
        );

        let total = (JSON_REQUESTS + DISCONNECTS) as u64;
        let all = wait_for_logs(&gw, total).await;
        let unique: HashSet<&str> = all.iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(unique.len() as u64, total, "every record once");
        let with = |status: &str| all.iter().filter(|l| l["status"] == status).count();
        assert_eq!(with("success"), JSON_REQUESTS - FAILURES);
        assert_eq!(with("error"), FAILURES);
        assert_eq!(with("cancelled"), DISCONNECTS);
        let cancelled = all.iter().find(|l| l["status"] == "cancelled").unwrap();
        assert_eq!(cancelled["error_details"]["status_code"], 499);
        assert_eq!(cancelled["stream"], true);
        let (_, dropped) = gw.get("/api/logs/dropped").await;
        assert_eq!(dropped["dropped_requests"], 0);
        assert_eq!(
            mock.state.streams_started.load(Ordering::SeqCst),
            DISCONNECTS
        );
    })
    .await;
}

#[tokio::test]
async fn requests_never_wait_for_the_disk_and_sigterm_writes_out_the_queue() {
    within(90, async {
        let mock = Mock::openai("up").await;
        let mut gw = gateway(&mock, json!({})).await;
        assert_eq!(
            gw.chat(&chat_body("openai/gpt-4o-mini", "first")).await.0,
            200
        );
        wait_for_logs(&gw, 1).await;

        // Another process holds logs.db's write lock: the writer is stuck, requests are not.
        let db = gw.app_dir.join("logs.db");
        let lock = rusqlite::Connection::open(&db).unwrap();
        lock.execute_batch("BEGIN IMMEDIATE").unwrap();
        let started = std::time::Instant::now();
        let answers = futures_util::future::join_all(
            (0..40).map(|i| gw.chat_owned(chat_body("openai/gpt-4o-mini", &format!("r{i}")))),
        )
        .await;
        assert!(answers.iter().all(|(s, _)| *s == 200));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "requests waited on the log writer"
        );

        // SIGTERM while the records are still queued; the lock goes away a moment later and
        // the server writes them all before it exits.
        gw.sigterm();
        tokio::time::sleep(Duration::from_millis(500)).await;
        lock.execute_batch("ROLLBACK").unwrap();
        let status = gw.wait_exit(20).await;
        assert!(status.success(), "{status:?}");
        let count: i64 = lock
            .query_row("SELECT COUNT(*) FROM logs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 41);
    })
    .await;
}

#[tokio::test]
async fn ws_streams_create_and_update_events() {
    within(60, async {
        let mock = Mock::openai("up").await;
        let gw = gateway(&mock, json!({})).await;
        let ws_url = format!("{}/ws", gw.url.replacen("http://", "ws://", 1));
        let (mut socket, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .unwrap();
        // Subscribing happens once the upgrade completes; give it a moment.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, resp) = gw.chat(&chat_body("openai/gpt-4o-mini", "watch me")).await;
        assert_eq!(status, 200, "{resp}");
        let mut events = Vec::new();
        while events.len() < 2 {
            let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
                .await
                .expect("no /ws event within 10 s")
                .unwrap()
                .unwrap();
            if let tokio_tungstenite::tungstenite::Message::Text(text) = msg {
                events.push(serde_json::from_str::<Value>(text.as_str()).unwrap());
            }
        }
        assert_eq!(events[0]["type"], "log");
        assert_eq!(events[0]["operation"], "create");
        assert_eq!(events[0]["payload"]["status"], "processing");
        assert_eq!(events[1]["operation"], "update");
        assert_eq!(events[1]["payload"]["status"], "success");
        assert_eq!(events[0]["payload"]["id"], events[1]["payload"]["id"]);
        assert_eq!(
            events[1]["payload"]["output_message"]["content"],
            "up says: watch me"
        );
        // The update is sent once the row is written, so it can be read back at once.
        let id = events[1]["payload"]["id"].as_str().unwrap();
        let (status, _) = gw.get(&format!("/api/logs/{id}")).await;
        assert_eq!(status, 200);
        // A plain GET on /ws is refused in Bifrost's error shape.
        let (status, body) = gw.get("/ws").await;
        assert_eq!(status, 400);
        assert_error_shape(&body, 400);
        // An open /ws connection does not hold up a shutdown.
        let started = std::time::Instant::now();
        gw.stop().await;
        assert!(started.elapsed() < Duration::from_secs(10));
        drop(socket);
    })
    .await;
}

#[tokio::test]
async fn content_logging_off_keeps_messages_out_and_logging_off_keeps_no_logs() {
    within(60, async {
        let mock = Mock::openai("up").await;
        let gw = gateway(&mock, json!({"disable_content_logging": true})).await;
        let mut body = chat_body("openai/gpt-4o-mini", "secret plans");
        body["temperature"] = json!(0.4);
        assert_eq!(gw.chat(&body).await.0, 200);
        let all = wait_for_logs(&gw, 1).await;
        assert_eq!(all[0]["input_history"], Value::Null);
        assert_eq!(all[0]["output_message"], Value::Null);
        assert_eq!(all[0]["params"]["temperature"], 0.4);
        assert!(!all[0].to_string().contains("secret plans"));
        assert_eq!(
            logs(&gw, "content_search=secret").await["pagination"]["total_count"],
            0
        );

        let gw = gateway(&mock, json!({"enable_logging": false})).await;
        assert_eq!(gw.chat(&chat_body("openai/gpt-4o-mini", "hi")).await.0, 200);
        let (status, body) = gw.get("/api/logs").await;
        assert_eq!(status, 404);
        assert!(assert_error_shape(&body, 404).contains("enable_logging"));
        assert!(!gw.app_dir.join("logs.db").exists());
    })
    .await;
}

/// Reads lines from a child's stdout until one satisfies `want` (up to 15 s).
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    want: impl Fn(&str) -> bool,
) -> String {
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if want(&line) {
                return Some(line);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(line)) => line,
        Ok(None) => panic!("the tail ended without the expected line"),
        Err(_) => panic!("no expected line within 15 s"),
    }
}

#[tokio::test]
async fn logs_tail_follows_a_request_made_after_it_started() {
    within(90, async {
        let mock = Mock::openai("up").await;
        let gw = gateway(&mock, json!({})).await;
        assert_eq!(gw.chat(&chat_body("openai/gpt-4o", "before")).await.0, 200);
        wait_for_logs(&gw, 1).await;

        let dir = gw.app_dir.to_str().unwrap().to_owned();
        let mut local = command(&[])
            .args(["logs", "tail", "-f", "-n", "5", "--app-dir", &dir])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut local_lines = BufReader::new(local.stdout.take().unwrap()).lines();
        let mut remote = command(&[])
            .args([
                "logs", "tail", "-f", "-n", "0", "--json", "--status", "success", "--url", &gw.url,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut remote_lines = BufReader::new(remote.stdout.take().unwrap()).lines();

        // The history first: the request made before the tail started.
        let first = read_until(&mut local_lines, |l| l.contains("openai/gpt-4o ")).await;
        assert!(
            first.contains("success") && first.contains("12 tok") && first.contains("key=main"),
            "{first}"
        );
        assert!(!first.contains('\x1b'), "no colors into a pipe: {first:?}");
        // Give both tails time to start following, then make requests.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            gw.chat(&chat_body("openai/gpt-4o-mini", "after")).await.0,
            200
        );
        mock.fail_next(
            1,
            400,
            openai::error("denied", "invalid_request_error", "bad"),
        );
        assert_eq!(
            gw.chat(&chat_body("openai/gpt-4o-mini", "after fail"))
                .await
                .0,
            400
        );

        let line = read_until(&mut local_lines, |l| l.contains("openai/gpt-4o-mini")).await;
        assert!(line.contains("success"), "{line}");
        let line = read_until(&mut local_lines, |l| l.contains("error")).await;
        assert!(line.contains("400 denied"), "{line}");

        let line = read_until(&mut remote_lines, |l| l.contains("gpt-4o-mini")).await;
        let entry: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(entry["status"], "success");
        assert_eq!(entry["input_history"][0]["content"], "after");
        local.kill().await.unwrap();
        remote.kill().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn logs_show_stats_and_export_read_logs_db() {
    within(90, async {
        let mock = Mock::openai("up").await;
        let gw = gateway(&mock, json!({})).await;
        for text in ["one, with a comma", "two \"quoted\""] {
            assert_eq!(gw.chat(&chat_body("openai/gpt-4o-mini", text)).await.0, 200);
        }
        mock.fail_next(
            1,
            400,
            openai::error("denied", "invalid_request_error", "bad"),
        );
        assert_eq!(gw.chat(&chat_body("openai/gpt-4o", "three")).await.0, 400);
        let all = wait_for_logs(&gw, 3).await;
        let dir = gw.app_dir.to_str().unwrap().to_owned();

        let id = all[0]["id"].as_str().unwrap();
        let out = run(&["logs", "show", id, "--app-dir", &dir], &[]).await;
        assert!(out.status.success(), "{out:?}");
        let shown: Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(&shown, &all[0]);
        let out = run(&["logs", "show", id, "--url", &gw.url], &[]).await;
        assert_eq!(serde_json::from_str::<Value>(&out.stdout).unwrap(), all[0]);
        let out = run(&["logs", "show", "missing", "--app-dir", &dir], &[]).await;
        assert!(!out.status.success());
        assert!(
            out.stderr.contains("no log with id missing"),
            "{}",
            out.stderr
        );

        let out = run(&["logs", "stats", "--since", "1h", "--app-dir", &dir], &[]).await;
        assert!(out.status.success(), "{out:?}");
        let rows: Vec<Vec<&str>> = out
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0][..3], ["PROVIDER", "MODEL", "REQUESTS"]);
        assert!(
            rows.iter()
                .any(|r| r[..5] == ["openai", "gpt-4o-mini", "2", "100.0%", "0"]),
            "{}",
            out.stdout
        );
        assert!(
            rows.iter()
                .any(|r| r[..5] == ["openai", "gpt-4o", "1", "0.0%", "1"]),
            "{}",
            out.stdout
        );
        assert!(
            rows.iter().any(|r| r[..3] == ["TOTAL", "3", "66.7%"]),
            "{}",
            out.stdout
        );
        let out = run(
            &["logs", "stats", "--since", "soon", "--app-dir", &dir],
            &[],
        )
        .await;
        assert!(!out.status.success());

        let out = run(
            &["logs", "export", "--format", "jsonl", "--app-dir", &dir],
            &[],
        )
        .await;
        assert!(out.status.success(), "{out:?}");
        let lines: Vec<Value> = out
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[2], all[0], "oldest first");

        let csv = gw.app_dir.join("export.csv");
        let out = run(
            &[
                "logs",
                "export",
                "--format",
                "csv",
                "--since",
                "1h",
                "--output",
                csv.to_str().unwrap(),
                "--app-dir",
                &dir,
            ],
            &[],
        )
        .await;
        assert!(out.status.success(), "{out:?}");
        assert!(out.stderr.contains("exported 3 logs"), "{}", out.stderr);
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(text.starts_with("id,timestamp,object,provider,model,status,"));
        assert_eq!(
            text.lines().filter(|l| l.contains("gpt-4o-mini")).count(),
            2
        );
        assert!(
            text.contains(r#"""content"":""two \""quoted\"""""#),
            "quotes doubled: {text}"
        );

        let empty = tempfile::tempdir().unwrap();
        let out = run(
            &["logs", "tail", "--app-dir", empty.path().to_str().unwrap()],
            &[],
        )
        .await;
        assert!(!out.status.success());
        assert!(out.stderr.contains("no request logs"), "{}", out.stderr);
    })
    .await;
}
