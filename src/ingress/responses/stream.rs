//! Canonical chat chunks to the Responses API's typed stream events.
//!
//! `response.created` and `response.in_progress` open the stream; each output item (reasoning,
//! the message, each function call) is announced with `response.output_item.added`, grows
//! with its delta events and is closed with its `.done` events and
//! `response.output_item.done`; `response.completed` (or `response.incomplete`) carries the
//! whole response with usage. Items are sequential: a change of kind closes the open item.

use super::new_id;
use super::response::{status, to_usage, Echo};
use crate::error::Error;
use crate::ingress::{unix_now, write_event, DeltaEvents, StreamEncoder};
use crate::schemas::openai::{ChatChunk, Usage};
use crate::schemas::responses::{OutputContent, OutputItem, Response, StreamEvent};

/// The item being written.
#[derive(Debug)]
enum Open {
    None,
    Reasoning {
        id: String,
        text: String,
    },
    Message {
        id: String,
        text: String,
    },
    Call {
        id: String,
        call_id: String,
        name: String,
        arguments: String,
    },
}

/// Encodes one chat stream as Responses API events.
#[derive(Debug)]
pub struct ResponsesStream {
    echo: Echo,
    response: Option<Response>,
    seq: u64,
    open: Open,
    /// Chat tool-call index -> output index, for fragments of a call already closed.
    calls: Vec<(u32, usize)>,
    open_call: Option<u32>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl ResponsesStream {
    /// A new encoder echoing the request's settings.
    pub fn new(echo: Echo) -> Self {
        ResponsesStream {
            echo,
            response: None,
            seq: 0,
            open: Open::None,
            calls: Vec::new(),
            open_call: None,
            finish_reason: None,
            usage: None,
        }
    }

    fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.seq += 1;
        s
    }

    fn emit(&mut self, out: &mut Vec<u8>, make: impl FnOnce(u64) -> StreamEvent) {
        let event = make(self.next_seq());
        write_event(out, event.name(), &event);
    }

    fn start(&mut self, model: &str, out: &mut Vec<u8>) {
        if self.response.is_some() {
            return;
        }
        let resp = self
            .echo
            .response(new_id("resp"), unix_now(), model.to_owned());
        let snapshot = Box::new(resp.clone());
        self.response = Some(resp);
        self.emit(out, |n| StreamEvent::Created {
            response: snapshot.clone(),
            sequence_number: n,
        });
        self.emit(out, |n| StreamEvent::InProgress {
            response: snapshot,
            sequence_number: n,
        });
    }

    /// Where the next item goes in `output`.
    fn output_index(&self) -> usize {
        self.response.as_ref().map_or(0, |r| r.output.len())
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let index = self.output_index();
        let item = match std::mem::replace(&mut self.open, Open::None) {
            Open::None => return,
            Open::Reasoning { id, text } => {
                let part = OutputContent::ReasoningText { text: text.clone() };
                let item_id = id.clone();
                self.emit(out, |n| StreamEvent::ReasoningTextDone {
                    item_id: item_id.clone(),
                    output_index: index,
                    content_index: 0,
                    text,
                    sequence_number: n,
                });
                self.emit(out, |n| StreamEvent::ContentPartDone {
                    item_id,
                    output_index: index,
                    content_index: 0,
                    part: part.clone(),
                    sequence_number: n,
                });
                OutputItem::Reasoning {
                    id,
                    summary: Vec::new(),
                    content: vec![part],
                }
            }
            Open::Message { id, text } => {
                let part = OutputContent::OutputText {
                    text: text.clone(),
                    annotations: Vec::new(),
                    logprobs: Vec::new(),
                };
                let item_id = id.clone();
                self.emit(out, |n| StreamEvent::OutputTextDone {
                    item_id: item_id.clone(),
                    output_index: index,
                    content_index: 0,
                    text,
                    logprobs: Vec::new(),
                    sequence_number: n,
                });
                self.emit(out, |n| StreamEvent::ContentPartDone {
                    item_id,
                    output_index: index,
                    content_index: 0,
                    part: part.clone(),
                    sequence_number: n,
                });
                OutputItem::Message {
                    id,
                    status: "completed",
                    role: "assistant",
                    content: vec![part],
                }
            }
            Open::Call {
                id,
                call_id,
                name,
                arguments,
            } => {
                self.open_call = None;
                let (item_id, n_name, args) = (id.clone(), name.clone(), arguments.clone());
                self.emit(out, |n| StreamEvent::FunctionCallArgumentsDone {
                    item_id,
                    output_index: index,
                    name: n_name,
                    arguments: args,
                    sequence_number: n,
                });
                OutputItem::FunctionCall {
                    id,
                    call_id,
                    name,
                    arguments,
                    status: "completed",
                }
            }
        };
        let done = item.clone();
        self.emit(out, |n| StreamEvent::OutputItemDone {
            output_index: index,
            item: done,
            sequence_number: n,
        });
        if let Some(r) = self.response.as_mut() {
            r.output.push(item);
        }
    }

    /// Closes the open item and announces `item` at the next output index.
    fn begin(&mut self, item: OutputItem, open: Open, out: &mut Vec<u8>) -> usize {
        self.close(out);
        let index = self.output_index();
        self.emit(out, |n| StreamEvent::OutputItemAdded {
            output_index: index,
            item,
            sequence_number: n,
        });
        self.open = open;
        index
    }

    fn reasoning(&mut self, delta: String, out: &mut Vec<u8>) {
        if !matches!(self.open, Open::Reasoning { .. }) {
            let id = new_id("rs");
            let item = OutputItem::Reasoning {
                id: id.clone(),
                summary: Vec::new(),
                content: Vec::new(),
            };
            let open = Open::Reasoning {
                id: id.clone(),
                text: String::new(),
            };
            let index = self.begin(item, open, out);
            self.emit(out, |n| StreamEvent::ContentPartAdded {
                item_id: id,
                output_index: index,
                content_index: 0,
                part: OutputContent::ReasoningText {
                    text: String::new(),
                },
                sequence_number: n,
            });
        }
        let index = self.output_index();
        if let Open::Reasoning { id, text } = &mut self.open {
            text.push_str(&delta);
            let item_id = id.clone();
            self.emit(out, |n| StreamEvent::ReasoningTextDelta {
                item_id,
                output_index: index,
                content_index: 0,
                delta,
                sequence_number: n,
            });
        }
    }

    fn text(&mut self, delta: String, out: &mut Vec<u8>) {
        if !matches!(self.open, Open::Message { .. }) {
            let id = new_id("msg");
            let item = OutputItem::Message {
                id: id.clone(),
                status: "in_progress",
                role: "assistant",
                content: Vec::new(),
            };
            let open = Open::Message {
                id: id.clone(),
                text: String::new(),
            };
            let index = self.begin(item, open, out);
            self.emit(out, |n| StreamEvent::ContentPartAdded {
                item_id: id,
                output_index: index,
                content_index: 0,
                part: OutputContent::OutputText {
                    text: String::new(),
                    annotations: Vec::new(),
                    logprobs: Vec::new(),
                },
                sequence_number: n,
            });
        }
        let index = self.output_index();
        if let Open::Message { id, text } = &mut self.open {
            text.push_str(&delta);
            let item_id = id.clone();
            self.emit(out, |n| StreamEvent::OutputTextDelta {
                item_id,
                output_index: index,
                content_index: 0,
                delta,
                logprobs: Vec::new(),
                sequence_number: n,
            });
        }
    }

    fn call_fragment(
        &mut self,
        call_index: u32,
        call_id: Option<String>,
        name: Option<String>,
        delta: Option<String>,
        out: &mut Vec<u8>,
    ) {
        if self.open_call != Some(call_index) {
            if let Some(&(_, at)) = self.calls.iter().find(|(c, _)| *c == call_index) {
                // A late fragment of a call already closed: patch the stored item.
                if let (Some(d), Some(r)) = (delta, self.response.as_mut()) {
                    if let Some(OutputItem::FunctionCall { arguments, .. }) = r.output.get_mut(at) {
                        arguments.push_str(&d);
                    }
                }
                return;
            }
            let call_id = call_id.unwrap_or_else(|| new_id("call"));
            let id = format!("fc_{call_id}");
            let name = name.unwrap_or_default();
            let item = OutputItem::FunctionCall {
                id: id.clone(),
                call_id: call_id.clone(),
                name: name.clone(),
                arguments: String::new(),
                status: "in_progress",
            };
            let open = Open::Call {
                id,
                call_id,
                name,
                arguments: String::new(),
            };
            let index = self.begin(item, open, out);
            self.open_call = Some(call_index);
            self.calls.push((call_index, index));
        }
        let index = self.output_index();
        if let (Some(d), Open::Call { id, arguments, .. }) =
            (delta.filter(|d| !d.is_empty()), &mut self.open)
        {
            arguments.push_str(&d);
            let item_id = id.clone();
            self.emit(out, |n| StreamEvent::FunctionCallArgumentsDelta {
                item_id,
                output_index: index,
                delta: d,
                sequence_number: n,
            });
        }
    }
}

impl DeltaEvents for ResponsesStream {
    fn reasoning(&mut self, text: String, out: &mut Vec<u8>) {
        ResponsesStream::reasoning(self, text, out);
    }

    fn text(&mut self, text: String, out: &mut Vec<u8>) {
        ResponsesStream::text(self, text, out);
    }

    fn tool_fragment(
        &mut self,
        index: u32,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut Vec<u8>,
    ) {
        ResponsesStream::call_fragment(self, index, id, name, arguments, out);
    }
}

impl StreamEncoder for ResponsesStream {
    fn chunk(&mut self, mut chunk: ChatChunk, out: &mut Vec<u8>) {
        self.start(&chunk.model, out);
        if let Some(u) = chunk.usage.take() {
            self.usage = Some(u);
        }
        if let Some(reason) = self.apply(chunk, out) {
            self.finish_reason = Some(reason);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.start("", out);
        self.close(out);
        let (status, incomplete) = status(self.finish_reason.as_deref());
        let usage = self.usage.as_ref().map(to_usage);
        let Some(mut resp) = self.response.take() else {
            return;
        };
        resp.status = status;
        resp.incomplete_details = incomplete;
        resp.usage = usage;
        let response = Box::new(resp);
        if status == "completed" {
            self.emit(out, |n| StreamEvent::Completed {
                response,
                sequence_number: n,
            });
        } else {
            self.emit(out, |n| StreamEvent::Incomplete {
                response,
                sequence_number: n,
            });
        }
    }

    fn fail(&mut self, error: &Error, out: &mut Vec<u8>) {
        let code = Some(error.error_type().to_owned());
        let param = match error {
            Error::Upstream(u) => u.param.clone(),
            _ => None,
        };
        let message = error.to_string();
        self.emit(out, |n| StreamEvent::Error {
            code,
            message,
            param,
            sequence_number: n,
        });
    }
}
