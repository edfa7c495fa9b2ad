//! Cohere's chat stream events to canonical chat chunks, one event at a time.

use serde_json::Value;

use super::*;

/// Translates Cohere's v2 stream (`message-start`, `content-start`, `content-delta`,
/// `tool-plan-delta`, `tool-call-start`, `tool-call-delta`, `tool-call-end`, `content-end`,
/// `message-end`) into OpenAI chunks as the events arrive. `message-end` gives the finish
/// reason and a last chunk with usage; a stream that ends without it ends with an error.
pub fn translate_events<S>(provider: &str, model: &str, events: S) -> ChatStream
where
    S: Stream<Item = Result<SseEvent>> + Send + 'static,
{
    let state = State {
        provider: provider.to_owned(),
        model: model.to_owned(),
        id: String::new(),
        created: unix_now(),
        pending: Vec::new(),
        ended: false,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(
        (Box::pin(events), state),
        |(mut events, mut state)| async move {
            loop {
                if let Some(chunk) = state.pending.pop() {
                    return Some((Ok(chunk), (events, state)));
                }
                if state.done {
                    return None;
                }
                match events.next().await {
                    Some(Ok(ev)) => {
                        if let Err(e) = state.on_event(&ev) {
                            state.done = true;
                            return Some((Err(e), (events, state)));
                        }
                    }
                    Some(Err(e)) => {
                        state.done = true;
                        return Some((Err(e), (events, state)));
                    }
                    None => {
                        state.done = true;
                        if !state.ended {
                            let e = Error::BadUpstreamResponse {
                                provider: state.provider.clone(),
                                message: "the stream ended before message-end".into(),
                            };
                            return Some((Err(e), (events, state)));
                        }
                    }
                }
            }
        },
    ))
}

struct State {
    provider: String,
    model: String,
    id: String,
    created: u64,
    /// Chunks made by the last event, in reverse order (popped from the end).
    pending: Vec<ChatChunk>,
    /// `message-end` arrived.
    ended: bool,
    /// Nothing more is read.
    done: bool,
}

impl State {
    fn on_event(&mut self, ev: &SseEvent) -> Result<()> {
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let event: wire::StreamEvent = http::decode_event(&self.provider, data)?;
        let delta = event.delta.unwrap_or_default();
        let message = delta.message.unwrap_or_default();
        match event.kind.as_str() {
            "message-start" => {
                self.id = event.id.unwrap_or_default();
                self.push(
                    ChunkDelta {
                        role: Some("assistant".into()),
                        content: Some(String::new()),
                        ..ChunkDelta::default()
                    },
                    None,
                );
            }
            "content-start" | "content-delta" => {
                let block = message.content.unwrap_or(Value::Null);
                if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                    self.push(text_delta(text), None);
                }
                if let Some(thinking) = block["thinking"].as_str().filter(|t| !t.is_empty()) {
                    self.push(
                        ChunkDelta {
                            reasoning_content: Some(thinking.to_owned()),
                            ..ChunkDelta::default()
                        },
                        None,
                    );
                }
            }
            "tool-plan-delta" => {
                if let Some(plan) = message.tool_plan.filter(|p| !p.is_empty()) {
                    self.push(text_delta(&plan), None);
                }
            }
            "tool-call-start" | "tool-call-delta" => {
                let call = message.tool_calls.unwrap_or(Value::Null);
                let start = event.kind == "tool-call-start";
                let arguments = call["function"]["arguments"].as_str().map(str::to_owned);
                if !start && arguments.as_deref().is_none_or(str::is_empty) {
                    return Ok(());
                }
                let fragment = ChunkToolCall {
                    index: event.index.unwrap_or(0),
                    id: start.then(|| call["id"].as_str().unwrap_or_default().to_owned()),
                    kind: start.then(|| "function".to_owned()),
                    function: Some(ChunkFunctionCall {
                        name: start.then(|| {
                            call["function"]["name"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned()
                        }),
                        arguments: Some(arguments.unwrap_or_default()),
                    }),
                };
                self.push(
                    ChunkDelta {
                        tool_calls: Some(vec![fragment]),
                        ..ChunkDelta::default()
                    },
                    None,
                );
            }
            "message-end" => {
                self.ended = true;
                self.done = true;
                let reason = finish_reason(delta.finish_reason.as_deref());
                self.push(ChunkDelta::default(), Some(reason));
                if let Some(usage) = delta.usage.and_then(|u| {
                    let cached = u.cached_tokens;
                    to_usage(u.billed_units.or(u.tokens), cached)
                }) {
                    let mut last = self.chunk(Vec::new());
                    last.usage = Some(usage);
                    self.pending.insert(0, last);
                }
            }
            // content-end, tool-call-end, citations and debug events add nothing to a chunk.
            _ => {}
        }
        Ok(())
    }

    /// Queues a chunk with one choice.
    fn push(&mut self, delta: ChunkDelta, finish: Option<&str>) {
        let chunk = self.chunk(vec![ChunkChoice {
            extra: Default::default(),
            index: 0,
            delta,
            finish_reason: finish.map(str::to_owned),
            logprobs: None,
        }]);
        self.pending.insert(0, chunk);
    }

    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatChunk {
        ChatChunk {
            extra: Default::default(),
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: None,
            system_fingerprint: None,
            service_tier: None,
            extra_fields: None,
        }
    }
}

fn text_delta(text: &str) -> ChunkDelta {
    ChunkDelta {
        content: Some(text.to_owned()),
        ..ChunkDelta::default()
    }
}
