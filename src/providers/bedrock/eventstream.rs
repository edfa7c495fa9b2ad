//! The AWS EventStream binary framing (`application/vnd.amazon.eventstream`), decoded
//! incrementally: a message is yielded as soon as its last byte arrives, whatever the HTTP
//! chunk boundaries.
//!
//! A message is a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes),
//! the headers, the payload, and a CRC32 of everything before it. Both CRCs are checked.

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

const PRELUDE_LEN: usize = 12;
const CRC_LEN: usize = 4;
/// The smallest message: a prelude and a message CRC.
const MIN_MESSAGE_LEN: usize = PRELUDE_LEN + CRC_LEN;
/// AWS caps messages at 16 MiB; anything larger is a corrupt prelude, not a message to wait for.
const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// One decoded message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Headers in wire order.
    pub headers: Vec<(String, HeaderValue)>,
    /// The payload (JSON for Bedrock).
    pub payload: Bytes,
}

impl Message {
    /// A string header's value (`:event-type`, `:message-type`, ...).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// A header value, by its wire type.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderValue {
    /// Types 0 and 1.
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6.
    Bytes(Bytes),
    /// Type 7.
    String(String),
    /// Type 8: milliseconds since the epoch.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The prelude's CRC does not match.
    #[error("event stream prelude checksum mismatch")]
    PreludeCrc,
    /// The message's CRC does not match.
    #[error("event stream message checksum mismatch")]
    MessageCrc,
    /// Lengths or headers are inconsistent.
    #[error("malformed event stream message: {0}")]
    Malformed(&'static str),
    /// The body ended inside a message.
    #[error("event stream ended inside a message")]
    Truncated,
}

/// Buffers bytes and cuts whole messages out of them.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    /// Appends bytes as they arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `None` until enough bytes arrived.
    pub fn next_message(&mut self) -> Result<Option<Message>, DecodeError> {
        if self.buf.len() < PRELUDE_LEN {
            return Ok(None);
        }
        let total = be_u32(&self.buf[0..4]) as usize;
        let headers_len = be_u32(&self.buf[4..8]) as usize;
        if crc32(&self.buf[0..8]) != be_u32(&self.buf[8..12]) {
            return Err(DecodeError::PreludeCrc);
        }
        if !(MIN_MESSAGE_LEN..=MAX_MESSAGE_LEN).contains(&total)
            || headers_len > total - MIN_MESSAGE_LEN
        {
            return Err(DecodeError::Malformed("lengths out of range"));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        let body_end = total - CRC_LEN;
        if crc32(&frame[..body_end]) != be_u32(&frame[body_end..]) {
            return Err(DecodeError::MessageCrc);
        }
        let headers_end = PRELUDE_LEN + headers_len;
        let headers = parse_headers(frame.slice(PRELUDE_LEN..headers_end))?;
        Ok(Some(Message {
            headers,
            payload: frame.slice(headers_end..body_end),
        }))
    }

    /// Whether bytes of an unfinished message remain.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_headers(mut b: Bytes) -> Result<Vec<(String, HeaderValue)>, DecodeError> {
    let short = DecodeError::Malformed("header runs past its block");
    let mut out = Vec::new();
    while b.has_remaining() {
        let name_len = usize::from(b.get_u8());
        if b.remaining() < name_len + 1 {
            return Err(short);
        }
        let name = utf8(b.split_to(name_len))?;
        let kind = b.get_u8();
        let fixed = |b: &Bytes, n: usize| {
            if b.remaining() < n {
                Err(short.clone())
            } else {
                Ok(())
            }
        };
        let value = match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => {
                fixed(&b, 1)?;
                HeaderValue::Byte(b.get_i8())
            }
            3 => {
                fixed(&b, 2)?;
                HeaderValue::Short(b.get_i16())
            }
            4 => {
                fixed(&b, 4)?;
                HeaderValue::Int(b.get_i32())
            }
            5 | 8 => {
                fixed(&b, 8)?;
                let v = b.get_i64();
                if kind == 5 {
                    HeaderValue::Long(v)
                } else {
                    HeaderValue::Timestamp(v)
                }
            }
            6 | 7 => {
                fixed(&b, 2)?;
                let len = usize::from(b.get_u16());
                fixed(&b, len)?;
                let raw = b.split_to(len);
                if kind == 6 {
                    HeaderValue::Bytes(raw)
                } else {
                    HeaderValue::String(utf8(raw)?)
                }
            }
            9 => {
                fixed(&b, 16)?;
                let mut uuid = [0u8; 16];
                b.copy_to_slice(&mut uuid);
                HeaderValue::Uuid(uuid)
            }
            _ => return Err(DecodeError::Malformed("unknown header type")),
        };
        out.push((name, value));
    }
    Ok(out)
}

fn utf8(b: Bytes) -> Result<String, DecodeError> {
    String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Malformed("header is not UTF-8"))
}

/// Splits a byte stream into messages. Inner errors pass through; a decoding error or a body
/// that ends inside a message ends the stream with `on_decode_error` of it.
pub fn messages<S, E, F>(
    inner: S,
    on_decode_error: F,
) -> impl Stream<Item = Result<Message, E>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: Send + 'static,
    F: Fn(DecodeError) -> E + Clone + Send + 'static,
{
    futures_util::stream::unfold(
        (inner, Decoder::default(), false),
        move |(mut inner, mut decoder, done)| {
            let on_decode_error = on_decode_error.clone();
            async move {
                if done {
                    return None;
                }
                loop {
                    match decoder.next_message() {
                        Ok(Some(m)) => return Some((Ok(m), (inner, decoder, false))),
                        Ok(None) => {}
                        Err(e) => return Some((Err(on_decode_error(e)), (inner, decoder, true))),
                    }
                    match inner.next().await {
                        Some(Ok(bytes)) => decoder.push(&bytes),
                        Some(Err(e)) => return Some((Err(e), (inner, decoder, true))),
                        None if decoder.has_partial() => {
                            let e = on_decode_error(DecodeError::Truncated);
                            return Some((Err(e), (inner, decoder, true)));
                        }
                        None => return None,
                    }
                }
            }
        },
    )
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), the checksum EventStream uses.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = CRC_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8);
    }
    !crc
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// Encodes a message with string headers (for tests of the decoder and of the stream
/// translation).
#[cfg(test)]
pub fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(u8::try_from(name.len()).unwrap());
        h.extend_from_slice(name.as_bytes());
        h.push(7);
        h.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        h.extend_from_slice(value.as_bytes());
    }
    let total = u32::try_from(PRELUDE_LEN + h.len() + payload.len() + CRC_LEN).unwrap();
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&u32::try_from(h.len()).unwrap().to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", kind),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            payload.as_bytes(),
        )
    }

    #[test]
    fn crc32_is_the_ieee_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_known_frame_from_the_aws_spec_decodes() {
        // The smallest valid message: no headers, no payload, total length 16.
        let frame = [
            0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98,
            0xc8, 0xff,
        ];
        let mut d = Decoder::default();
        d.push(&frame);
        let m = d.next_message().unwrap().unwrap();
        assert!(m.headers.is_empty());
        assert!(m.payload.is_empty());
    }

    #[test]
    fn messages_split_at_every_byte_still_decode() {
        let mut wire = event("messageStart", r#"{"role":"assistant"}"#);
        wire.extend(event(
            "contentBlockDelta",
            r#"{"delta":{"text":"Hi"},"contentBlockIndex":0}"#,
        ));
        for cut in 1..wire.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                d.push(part);
                while let Some(m) = d.next_message().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(got[0].header(":event-type"), Some("messageStart"));
            assert_eq!(
                &got[1].payload[..],
                br#"{"delta":{"text":"Hi"},"contentBlockIndex":0}"#
            );
            assert!(!d.has_partial());
        }
    }

    #[test]
    fn typed_headers_decode() {
        let mut h = vec![4u8];
        h.extend_from_slice(b"flag");
        h.push(0);
        h.push(3);
        h.extend_from_slice(b"num");
        h.push(4);
        h.extend_from_slice(&(-7i32).to_be_bytes());
        h.push(2);
        h.extend_from_slice(b"id");
        h.push(9);
        h.extend_from_slice(&[7u8; 16]);
        let total = u32::try_from(PRELUDE_LEN + h.len() + CRC_LEN).unwrap();
        let mut wire = total.to_be_bytes().to_vec();
        wire.extend_from_slice(&u32::try_from(h.len()).unwrap().to_be_bytes());
        let c = crc32(&wire);
        wire.extend_from_slice(&c.to_be_bytes());
        wire.extend_from_slice(&h);
        let c = crc32(&wire);
        wire.extend_from_slice(&c.to_be_bytes());
        let mut d = Decoder::default();
        d.push(&wire);
        let m = d.next_message().unwrap().unwrap();
        assert_eq!(
            m.headers,
            vec![
                ("flag".to_owned(), HeaderValue::Bool(true)),
                ("num".to_owned(), HeaderValue::Int(-7)),
                ("id".to_owned(), HeaderValue::Uuid([7; 16])),
            ]
        );
    }

    #[test]
    fn bad_checksums_are_errors() {
        let good = event("messageStop", r#"{"stopReason":"end_turn"}"#);
        let mut bad_payload = good.clone();
        let at = bad_payload.len() - 6;
        bad_payload[at] ^= 1;
        let mut d = Decoder::default();
        d.push(&bad_payload);
        assert_eq!(d.next_message(), Err(DecodeError::MessageCrc));

        let mut bad_prelude = good;
        bad_prelude[3] ^= 1;
        let mut d = Decoder::default();
        d.push(&bad_prelude);
        assert_eq!(d.next_message(), Err(DecodeError::PreludeCrc));
    }

    #[tokio::test]
    async fn a_stream_ending_inside_a_message_is_an_error() {
        let wire = event("messageStart", r#"{"role":"assistant"}"#);
        let chunks = vec![
            Ok::<_, DecodeError>(Bytes::copy_from_slice(&wire)),
            Ok(Bytes::copy_from_slice(&wire[..10])),
        ];
        let out: Vec<_> = messages(futures_util::stream::iter(chunks), |e| e)
            .collect()
            .await;
        assert_eq!(out.len(), 2);
        assert!(out[0].is_ok());
        assert_eq!(out[1], Err(DecodeError::Truncated));
    }
}
