//! JSON string escaping that looks at eight bytes at a time.
//!
//! serde_json checks every byte of every string against a table, about ten instructions a
//! byte; on the request path that was a tenth of a streamed answer's instructions (chunk ids,
//! models and content are all strings). Text that needs no escape (nearly all of it) is found
//! here a word at a time and copied in one piece. The output is byte for byte serde_json's:
//! `"` and `\` escaped, control characters below U+0020 as `\b \t \n \f \r` or `\u00xx`
//! (lowercase hex), everything else, U+007F and non-ASCII included, as it is.

const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `v` that is zero. Exact per byte: `(b & 0x7f) + 0x7f` never
/// carries into the next byte.
#[inline]
const fn zero_bytes(v: u64) -> u64 {
    !(((v & LOWS) + LOWS) | v) & HIGHS
}

/// The high bit of each byte of `word` that must be escaped: below 0x20, `"` or `\`.
#[inline]
const fn escape_mask(word: u64) -> u64 {
    zero_bytes(word & (ONES * 0xe0))
        | zero_bytes(word ^ (ONES * b'"' as u64))
        | zero_bytes(word ^ (ONES * b'\\' as u64))
}

#[inline]
fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let eight: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(eight))
}

#[inline]
fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The position of the first byte at or after `from` that must be escaped.
#[inline]
fn first_escape(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(word) = word_at(bytes, at) {
        let mask = escape_mask(word);
        if mask != 0 {
            return Some(at + (mask.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if at >= bytes.len() {
        return None;
    }
    if at >= 8 {
        // The last, partial word: read the final eight bytes and ignore those before `at`,
        // which were looked at already (the masks are exact per byte, so that is safe).
        let start = bytes.len() - 8;
        let mask = escape_mask(word_at(bytes, start)?) & (u64::MAX << ((at - start) * 8));
        return (mask != 0).then(|| start + (mask.trailing_zeros() / 8) as usize);
    }
    let rest = &bytes[at..];
    if let (Some(head), Some(tail)) = (
        half_word(rest, 0),
        half_word(rest, rest.len().wrapping_sub(4)),
    ) {
        // Four to seven bytes: two four-byte windows that overlap, as one word.
        let mask = escape_mask(u64::from(head) | u64::from(tail) << 32);
        if mask == 0 {
            return None;
        }
        let byte = (mask.trailing_zeros() / 8) as usize;
        return Some(
            at + if byte < 4 {
                byte
            } else {
                rest.len() + byte - 8
            },
        );
    }
    rest.iter()
        .position(|&b| needs_escape(b))
        .map(|offset| at + offset)
}

#[inline]
fn half_word(bytes: &[u8], at: usize) -> Option<u32> {
    let four: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(four))
}

/// Appends `text` as a JSON string, quotes included.
#[inline]
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    match first_escape(bytes, 0) {
        None => {
            out.reserve(bytes.len() + 2);
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        }
        Some(found) => write_escaped(out, bytes, found),
    }
}

/// Appends `bytes` as a JSON string whose first byte to escape is at `found`.
#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], mut found: usize) {
    out.reserve(bytes.len() + 8);
    out.push(b'"');
    // `run` is where the bytes not yet copied start.
    let mut run = 0;
    loop {
        out.extend_from_slice(&bytes[run..found]);
        write_escape(out, bytes[found]);
        run = found + 1;
        match first_escape(bytes, run) {
            Some(next) => found = next,
            None => break,
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

fn write_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, text);
        String::from_utf8(out).expect("escaping keeps UTF-8")
    }

    #[test]
    fn every_byte_that_needs_an_escape_is_found_at_every_position_of_a_word() {
        // Each ASCII character alone, then at each of the 16 positions of two words, among
        // text that needs no escape and among multibyte characters.
        for c in (0u8..0x80)
            .map(char::from)
            .chain(['é', '€', '😀', '\u{7f}'])
        {
            for pad in 0..17 {
                for filler in ["a", "ü"] {
                    let text = format!("{}{c}{}", filler.repeat(pad), filler.repeat(16 - pad));
                    assert_eq!(
                        escaped(&text),
                        serde_json::to_string(&text).unwrap(),
                        "{text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn two_escapes_anywhere_in_strings_of_every_length_up_to_three_words() {
        for len in 0..25 {
            for first in 0..len {
                for second in first..len {
                    let text: String = (0..len)
                        .map(|i| match i {
                            i if i == first => '"',
                            i if i == second => '\n',
                            _ => '#',
                        })
                        .collect();
                    assert_eq!(escaped(&text), serde_json::to_string(&text).unwrap());
                }
            }
        }
    }

    #[test]
    fn runs_of_escapes_and_the_empty_string() {
        for text in [
            "",
            "\"",
            "\\\\\"\"",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}",
            "a\"b\\c\nd",
        ] {
            assert_eq!(escaped(text), serde_json::to_string(text).unwrap());
        }
    }
}
