//! Retries, fallbacks, timeouts, queueing, stream idle timeouts and client disconnects.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::common::{
    assert_error_shape, chat_body, config, eventually, http, key, provider, within, Event, Gateway,
    SseReader,
};
use crate::mock::{anthropic, openai, Mock};

#[tokio::test]
async fn retry_after_503_uses_another_key_and_succeeds() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut p = provider(
            &mock.url,
            json!([key("a", "env.E2E_A"), key("b", "env.E2E_B")]),
        );
        p["network_config"]["max_retries"] = json!(2);
        let gw = Gateway::launch(
            &config(json!({"openai": p})),
            &[("E2E_A", "sk-a"), ("E2E_B", "sk-b")],
        )
        .await;

        mock.fail_next(
            1,
            503,
            openai::error("overloaded", "server_error", "overloaded"),
        );
        let (status, resp) = gw.chat(&chat_body("openai/gpt-4o-mini", "again")).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "upstream says: again"
        );
        let reqs = mock.requests();
        assert_eq!(reqs.len(), 2, "one failure, one retry");
        assert_ne!(
            reqs[0].bearer(),
            reqs[1].bearer(),
            "the retry prefers the other key"
        );
        assert_eq!(reqs[1].body, reqs[0].body, "the retry sends the same body");

        // 429 is retried too; a 400 is not.
        mock.fail_next(
            1,
            429,
            openai::error("Rate limit reached", "requests", "rate_limit_exceeded"),
        );
        let (status, _) = gw.chat(&chat_body("openai/gpt-4o-mini", "again")).await;
        assert_eq!(status, 200);
        assert_eq!(mock.count(), 4);
        mock.fail_next(
            1,
            400,
            openai::error("bad param", "invalid_request_error", "bad"),
        );
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o-mini", "again")).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["message"], "bad param");
        assert_eq!(mock.count(), 5, "a 400 is not retried");

        // A key that always fails is worked around by retrying on the other one.
        mock.fail_key(
            "sk-a",
            503,
            openai::error("key a is throttled", "server_error", "overloaded"),
        );
        for i in 0..10 {
            let (status, resp) = gw
                .chat(&chat_body("openai/gpt-4o-mini", &format!("r{i}")))
                .await;
            assert_eq!(status, 200, "{resp}");
            assert_eq!(mock.last().bearer(), Some("sk-b"));
        }
    })
    .await;
}

#[tokio::test]
async fn retries_are_bounded_and_the_last_error_is_returned() {
    within(60, async {
        let mock = Mock::openai("upstream").await;
        let mut p = provider(&mock.url, json!([key("a", "env.E2E_A")]));
        p["network_config"]["max_retries"] = json!(2);
        let gw = Gateway::launch(&config(json!({"openai": p})), &[("E2E_A", "sk-a")]).await;
        mock.fail_always(
            503,
            openai::error("still down", "server_error", "unavailable"),
        );
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await;
        assert_eq!(status, 503, "{err}");
        assert_eq!(assert_error_shape(&err, 503), "still down");
        assert_eq!(err["is_bifrost_error"], false);
        assert_eq!(err["error"]["code"], "unavailable");
        assert_eq!(err["extra_fields"]["provider"], "openai");
        assert_eq!(err["extra_fields"]["model_requested"], "gpt-4o-mini");
        assert_eq!(mock.count(), 3, "the first try and two retries");
    })
    .await;
}

#[tokio::test]
async fn fallbacks_are_tried_in_order_and_the_primary_error_wins_when_all_fail() {
    within(60, async {
        let primary = Mock::openai("primary").await;
        let second = Mock::anthropic("second").await;
        let third = Mock::openai("third").await;
        let cfg = config(json!({
            "openai": provider(&primary.url, json!([key("o", "env.E2E_O")])),
            "anthropic": provider(&second.url, json!([key("a", "env.E2E_A")])),
            "groq": provider(&third.url, json!([key("g", "env.E2E_G")])),
        }));
        let gw = Gateway::launch(
            &cfg,
            &[("E2E_O", "sk-o"), ("E2E_A", "sk-a"), ("E2E_G", "sk-g")],
        )
        .await;
        primary.fail_always(
            500,
            openai::error("primary is broken", "server_error", "boom"),
        );
        second.fail_always(529, anthropic::error("overloaded_error", "Overloaded"));

        let mut body = chat_body("openai/gpt-4o-mini", "who answers?");
        body["fallbacks"] = json!([
            "anthropic/claude-3-5-haiku-20241022",
            "groq/llama-3.1-8b-instant"
        ]);
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["choices"][0]["message"]["content"],
            "third says: who answers?"
        );
        assert_eq!(resp["extra_fields"]["provider"], "groq");
        assert_eq!(
            resp["extra_fields"]["model_requested"],
            "llama-3.1-8b-instant"
        );
        assert_eq!(primary.count(), 1);
        let up = second.last();
        assert_eq!(up.path, "/v1/messages");
        assert_eq!(up.body["model"], "claude-3-5-haiku-20241022");
        let up = third.last();
        assert_eq!(up.body["model"], "llama-3.1-8b-instant");
        assert_eq!(up.bearer(), Some("sk-g"));
        assert!(up.body.get("fallbacks").is_none());

        // Streams fall back the same way.
        body["stream"] = json!(true);
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        assert_eq!(sse.status, 200, "{}", sse.raw);
        assert!(sse.ends_with_done());
        assert!(sse
            .chunks()
            .iter()
            .all(|c| c["extra_fields"]["provider"] == "groq"));

        // When every target fails, the client gets the primary's error and status.
        third.fail_always(
            502,
            openai::error("third is broken too", "server_error", "bad_gateway"),
        );
        body["stream"] = json!(false);
        let (status, err) = gw.chat(&body).await;
        assert_eq!(status, 500, "{err}");
        assert_eq!(assert_error_shape(&err, 500), "primary is broken");
        assert_eq!(err["error"]["code"], "boom");
        assert_eq!(err["extra_fields"]["provider"], "openai");
        assert_eq!(second.count(), 3);
        assert_eq!(third.count(), 3);

        // Bad input is not a reason to fall back.
        let before = third.count();
        let mut bad = body.clone();
        bad["model"] = json!("gpt-4o-mini");
        let (status, _) = gw.chat(&bad).await;
        assert_eq!(status, 400);
        assert_eq!(third.count(), before);
    })
    .await;
}

#[tokio::test]
async fn a_slow_upstream_times_out_with_504() {
    within(60, async {
        let mock = Mock::openai("slow").await;
        mock.set_delay(Duration::from_secs(4));
        let mut p = provider(&mock.url, json!([key("a", "env.E2E_A")]));
        p["network_config"]["default_request_timeout_in_seconds"] = json!(1);
        let gw = Gateway::launch(&config(json!({"openai": p})), &[("E2E_A", "sk-a")]).await;
        let started = std::time::Instant::now();
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await;
        assert_eq!(status, 504, "{err}");
        assert_error_shape(&err, 504);
        assert_eq!(err["error"]["type"], "request_timed_out");
        assert_eq!(err["extra_fields"]["provider"], "openai");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "the gateway must not wait for the upstream"
        );
        assert_eq!(mock.count(), 1);
    })
    .await;
}

#[tokio::test]
async fn excess_requests_are_dropped_when_the_queue_is_full() {
    within(60, async {
        let mock = Mock::openai("slow").await;
        let mut p = provider(&mock.url, json!([key("a", "env.E2E_A")]));
        p["concurrency_and_buffer_size"] = json!({"concurrency": 1, "buffer_size": 1});
        let mut cfg = config(json!({"openai": p}));
        cfg["client"]["drop_excess_requests"] = json!(true);
        let gw = Gateway::launch(&cfg, &[("E2E_A", "sk-a")]).await;
        mock.set_delay(Duration::from_secs(3));

        let first = gw.chat_owned(chat_body("openai/gpt-4o-mini", "first"));
        let rest = async {
            // Once the first holds the only slot, one more may wait and the others are dropped.
            mock.wait_for_requests(1).await;
            let calls = (0..4)
                .map(|i| gw.chat_owned(chat_body("openai/gpt-4o-mini", &format!("more {i}"))));
            futures_util::future::join_all(calls).await
        };
        let ((status, _), rest) = tokio::join!(first, rest);
        assert_eq!(status, 200);
        let dropped: Vec<_> = rest.iter().filter(|(s, _)| *s != 200).collect();
        let served = rest.len() - dropped.len();
        assert!(
            dropped.len() >= 2,
            "with one slot and one place in line, most extra requests are dropped: {rest:?}"
        );
        for (status, err) in &dropped {
            assert_eq!(*status, 503, "{err}");
            assert_eq!(
                assert_error_shape(err, 503),
                "request dropped: queue is full"
            );
            assert_eq!(err["extra_fields"]["provider"], "openai");
        }
        assert_eq!(
            mock.count(),
            1 + served,
            "dropped requests never reach the upstream"
        );
    })
    .await;
}

#[tokio::test]
async fn a_stalled_stream_ends_with_an_idle_timeout_error_event() {
    within(60, async {
        let mock = Mock::openai("stall").await;
        mock.stall_streams_after(2);
        let mut p = provider(&mock.url, json!([key("a", "env.E2E_A")]));
        p["network_config"]["stream_idle_timeout_in_seconds"] = json!(5);
        let gw = Gateway::launch(&config(json!({"openai": p})), &[("E2E_A", "sk-a")]).await;
        let mut body = chat_body("openai/gpt-4o-mini", "x");
        body["stream"] = json!(true);
        let started = std::time::Instant::now();
        let sse = gw.stream("/v1/chat/completions", &body, &[]).await;
        let took = started.elapsed();
        assert_eq!(sse.status, 200, "{}", sse.raw);
        let chunks = sse.chunks();
        assert_eq!(
            chunks.len(),
            3,
            "two chunks then the error event: {}",
            sse.raw
        );
        assert!(
            !sse.ends_with_done(),
            "a failed stream does not end with [DONE]"
        );
        let err = chunks.last().unwrap();
        assert_eq!(err["error"]["type"], "request_timed_out", "{err}");
        assert_eq!(err["status_code"], 504);
        assert_eq!(err["extra_fields"]["provider"], "openai");
        assert!(
            took >= Duration::from_millis(4500),
            "idle timeout fired too early: {took:?}"
        );
        assert!(
            took < Duration::from_secs(20),
            "idle timeout fired too late: {took:?}"
        );
        // The abandoned upstream stream is closed.
        eventually(10, "the upstream stream is dropped", || async {
            (mock.state.streams_dropped.load(Ordering::SeqCst) == 1).then_some(())
        })
        .await;
    })
    .await;
}

#[tokio::test]
async fn a_client_that_goes_away_cancels_the_upstream_stream() {
    within(60, async {
        let mock = Mock::openai("stall").await;
        mock.stall_streams_after(2);
        let gw = Gateway::launch(
            &config(json!({"openai": provider(&mock.url, json!([key("a", "env.E2E_A")]))})),
            &[("E2E_A", "sk-a")],
        )
        .await;
        let mut body = chat_body("openai/gpt-4o-mini", "x");
        body["stream"] = json!(true);
        let client = http();
        let resp = client
            .post(format!("{}/v1/chat/completions", gw.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut reader = SseReader::new(resp);
        for _ in 0..2 {
            assert!(matches!(reader.next().await, Some(Event::Json(_))));
        }
        assert_eq!(mock.state.streams_started.load(Ordering::SeqCst), 1);
        assert_eq!(mock.state.streams_dropped.load(Ordering::SeqCst), 0);
        drop(reader);
        drop(client);
        eventually(10, "the upstream notices the cancelled stream", || async {
            (mock.state.streams_dropped.load(Ordering::SeqCst) == 1).then_some(())
        })
        .await;
        assert_eq!(mock.state.streams_finished.load(Ordering::SeqCst), 0);
        let (status, _) = gw.get("/health").await;
        assert_eq!(status, 200);
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_network_error_and_may_fall_back() {
    within(60, async {
        // A port that was free a moment ago: nothing listens there.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let backup = Mock::openai("backup").await;
        let mut p = provider(&dead, json!([key("a", "env.E2E_A")]));
        p["network_config"]["max_retries"] = json!(1);
        let cfg = config(
            json!({"openai": p, "mistral": provider(&backup.url, json!([key("m", "env.E2E_A")]))}),
        );
        let gw = Gateway::launch(&cfg, &[("E2E_A", "sk-a")]).await;
        let (status, err) = gw.chat(&chat_body("openai/gpt-4o-mini", "x")).await;
        assert_eq!(status, 502, "{err}");
        assert_error_shape(&err, 502);
        assert_eq!(err["is_bifrost_error"], true);
        assert_eq!(err["error"]["type"], "provider_network_error");

        let mut body = chat_body("openai/gpt-4o-mini", "x");
        body["fallbacks"] = json!(["mistral/mistral-small"]);
        let (status, resp) = gw.chat(&body).await;
        assert_eq!(status, 200, "{resp}");
        assert_eq!(resp["extra_fields"]["provider"], "mistral");
        assert_eq!(backup.last().body["model"], "mistral-small");
    })
    .await;
}
