//! Timestamps and durations as the logs API and CLI write them: RFC 3339 in UTC with
//! milliseconds (`2025-01-31T12:00:00.250Z`), and short durations such as `90s`, `15m`, `1h30m`.
//!
//! Small enough to write here rather than pull in a date crate: the logs only need UTC
//! formatting and RFC 3339 parsing with an offset.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// Now, in unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Formats unix milliseconds as RFC 3339 in UTC with milliseconds.
pub fn format_ms(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = in_day / 1000;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        in_day % 1000
    )
}

/// Parses an RFC 3339 timestamp (`2025-01-31T12:00:00Z`, `...:00.5+02:00`) into unix
/// milliseconds; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = std::str::from_utf8(b.get(range)?).ok()?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let separators_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separators_ok
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Milliseconds from the first three digits; finer digits are dropped.
        for k in 0..3 {
            let digit = b
                .get(start + k)
                .filter(|c| c.is_ascii_digit() && start + k < i);
            millis = millis * 10 + digit.map_or(0, |c| i64::from(c - b'0'));
        }
    }
    let offset_ms = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let v = |c: &u8| i64::from(c - b'0');
            let minutes = (v(h1) * 10 + v(h2)) * 60 + v(m1) * 10 + v(m2);
            let ms = minutes * 60_000;
            if *sign == b'+' {
                ms
            } else {
                -ms
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = days * MS_PER_DAY + ((hour * 60 + minute) * 60 + second.min(59)) * 1000 + millis;
    Some(local - offset_ms)
}

/// Parses a duration such as `30s`, `15m`, `1h`, `7d`, `2w` or `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    // A trailing number without a unit is ambiguous; refuse it rather than guess.
    if !digits.is_empty() {
        return None;
    }
    Some(Duration::from_secs(total))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, March-based
/// years so that the leap day falls at the end).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        for ms in [
            0,
            1,
            951_782_400_123,
            1_735_689_599_999,
            4_102_444_800_000,
            -1,
        ] {
            assert_eq!(parse_rfc3339(&format_ms(ms)), Some(ms), "{ms}");
        }
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let z = parse_rfc3339("2025-01-31T12:00:00Z").unwrap();
        assert_eq!(parse_rfc3339("2025-01-31T14:00:00+02:00"), Some(z));
        assert_eq!(parse_rfc3339("2025-01-31T11:30:00-00:30"), Some(z));
        assert_eq!(parse_rfc3339("2025-01-31T12:00:00.5Z"), Some(z + 500));
        assert_eq!(
            parse_rfc3339("2025-01-31T12:00:00.123456789Z"),
            Some(z + 123)
        );
        for bad in [
            "",
            "2025-01-31",
            "2025-13-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-01-31T12:00:00",
            "2025-01-31T12:00:00.Z",
            "2025-01-31T12:00:00+0200",
            "yesterday at noon!!",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(1_209_600)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["", "10", "h", "1y", "-1h"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
