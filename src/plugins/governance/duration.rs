//! Budget and rate-limit windows: Bifrost's `reset_duration` syntax and when a window ends.
//!
//! Go durations (`30s`, `5m`, `1h`, `1h30m`) plus `Nd` (days), `Nw` (weeks), `NM` (30-day months)
//! and `NY` (365-day years), as Bifrost's `ParseDuration` reads them. With `calendar_aligned`
//! (days, weeks, months and years only) a window starts at the UTC day start, on Monday, on
//! the 1st of the month or on January 1st, and months and years are calendar ones.

const SECOND_MS: i64 = 1000;
const DAY_MS: i64 = 86_400_000;

/// A parsed `reset_duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetDuration {
    count: i64,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Seconds, minutes and hours, summed into milliseconds (`count` is the total).
    Millis,
    Day,
    Week,
    Month,
    Year,
}

impl ResetDuration {
    /// Parses `30s`, `5m`, `1h`, `1h30m`, `1d`, `2w`, `1M`, `1Y`; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
        let calendar = match unit {
            "d" => Some(Unit::Day),
            "w" => Some(Unit::Week),
            "M" => Some(Unit::Month),
            "Y" | "y" => Some(Unit::Year),
            _ => None,
        };
        if let Some(unit) = calendar {
            let count: i64 = digits.parse().ok().filter(|n| *n > 0)?;
            return Some(Self { count, unit });
        }
        let ms = go_duration_ms(text)?;
        (ms > 0).then_some(Self {
            count: ms,
            unit: Unit::Millis,
        })
    }

    /// Whether `calendar_aligned` can apply (days and longer).
    pub fn can_align(&self) -> bool {
        self.unit != Unit::Millis
    }

    /// The nominal length in milliseconds (months are 30 days, years 365), for display.
    pub fn nominal_ms(&self) -> i64 {
        let unit_ms = match self.unit {
            Unit::Millis => 1,
            Unit::Day => DAY_MS,
            Unit::Week => 7 * DAY_MS,
            Unit::Month => 30 * DAY_MS,
            Unit::Year => 365 * DAY_MS,
        };
        self.count.saturating_mul(unit_ms)
    }

    /// When a window that began at `start_ms` ends.
    pub fn window_end(&self, start_ms: i64, calendar_aligned: bool) -> i64 {
        if !(calendar_aligned && self.can_align()) {
            return start_ms.saturating_add(self.nominal_ms());
        }
        let start = self.window_start(start_ms, true);
        match self.unit {
            Unit::Month | Unit::Year => {
                let (y, m, _) = civil_from_days(start.div_euclid(DAY_MS));
                let months = if self.unit == Unit::Year {
                    self.count * 12
                } else {
                    self.count
                };
                let total = y * 12 + (m - 1) + months;
                days_from_civil(total.div_euclid(12), total.rem_euclid(12) + 1, 1) * DAY_MS
            }
            _ => start.saturating_add(self.nominal_ms()),
        }
    }

    /// The start to record for a window opened at `now_ms`: `now_ms` itself, or the start of
    /// its calendar period when aligned.
    pub fn window_start(&self, now_ms: i64, calendar_aligned: bool) -> i64 {
        if !(calendar_aligned && self.can_align()) {
            return now_ms;
        }
        let days = now_ms.div_euclid(DAY_MS);
        match self.unit {
            Unit::Day | Unit::Millis => days * DAY_MS,
            // 1970-01-01 was a Thursday: Monday is three days before a multiple of seven.
            Unit::Week => (days - (days + 3).rem_euclid(7)) * DAY_MS,
            Unit::Month => {
                let (y, m, _) = civil_from_days(days);
                days_from_civil(y, m, 1) * DAY_MS
            }
            Unit::Year => {
                let (y, _, _) = civil_from_days(days);
                days_from_civil(y, 1, 1) * DAY_MS
            }
        }
    }
}

/// `1h30m`, `90s`, `5m`: integer Go durations in hours, minutes, seconds and milliseconds.
fn go_duration_ms(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let split = rest.find(|c: char| !c.is_ascii_digit())?;
        let (digits, tail) = rest.split_at(split);
        let n: i64 = digits.parse().ok()?;
        let (unit_ms, len) = if tail.starts_with("ms") {
            (1, 2)
        } else {
            match tail.chars().next()? {
                'h' => (3600 * SECOND_MS, 1),
                'm' => (60 * SECOND_MS, 1),
                's' => (SECOND_MS, 1),
                _ => return None,
            }
        };
        total = total.checked_add(n.checked_mul(unit_ms)?)?;
        rest = &tail[len..];
    }
    Some(total)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
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
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: i64, d: i64, h: i64) -> i64 {
        days_from_civil(y, m, d) * DAY_MS + h * 3_600_000
    }

    #[test]
    fn parses_bifrost_durations() {
        let p = |t| ResetDuration::parse(t).map(|d| d.nominal_ms());
        assert_eq!(p("30s"), Some(30_000));
        assert_eq!(p("5m"), Some(300_000));
        assert_eq!(p("1h30m"), Some(5_400_000));
        assert_eq!(p("1d"), Some(DAY_MS));
        assert_eq!(p("1w"), Some(7 * DAY_MS));
        assert_eq!(p("1M"), Some(30 * DAY_MS));
        assert_eq!(p("1Y"), Some(365 * DAY_MS));
        for bad in ["", "M", "0d", "0s", "1x", "-1h", "1.5h", "10"] {
            assert_eq!(ResetDuration::parse(bad), None, "{bad:?}");
        }
        assert!(!ResetDuration::parse("1h").unwrap().can_align());
        assert!(ResetDuration::parse("1M").unwrap().can_align());
    }

    #[test]
    fn rolling_windows_end_one_duration_later() {
        let d = ResetDuration::parse("1M").unwrap();
        let start = ms(2025, 1, 31, 10);
        assert_eq!(d.window_end(start, false), start + 30 * DAY_MS);
        let h = ResetDuration::parse("1h").unwrap();
        assert_eq!(
            h.window_end(start, true),
            start + 3_600_000,
            "hours never align"
        );
    }

    #[test]
    fn calendar_aligned_windows_follow_the_calendar() {
        let day = ResetDuration::parse("1d").unwrap();
        assert_eq!(
            day.window_start(ms(2025, 3, 5, 17), true),
            ms(2025, 3, 5, 0)
        );
        assert_eq!(day.window_end(ms(2025, 3, 5, 17), true), ms(2025, 3, 6, 0));
        // 2025-03-05 is a Wednesday; its week began on Monday the 3rd.
        let week = ResetDuration::parse("1w").unwrap();
        assert_eq!(
            week.window_start(ms(2025, 3, 5, 17), true),
            ms(2025, 3, 3, 0)
        );
        assert_eq!(
            week.window_end(ms(2025, 3, 9, 23), true),
            ms(2025, 3, 10, 0)
        );
        let month = ResetDuration::parse("1M").unwrap();
        assert_eq!(
            month.window_end(ms(2025, 1, 31, 10), true),
            ms(2025, 2, 1, 0)
        );
        assert_eq!(
            month.window_end(ms(2024, 12, 15, 0), true),
            ms(2025, 1, 1, 0)
        );
        let quarter = ResetDuration::parse("3M").unwrap();
        assert_eq!(
            quarter.window_end(ms(2025, 11, 2, 0), true),
            ms(2026, 2, 1, 0)
        );
        let year = ResetDuration::parse("1Y").unwrap();
        assert_eq!(
            year.window_start(ms(2024, 2, 29, 5), true),
            ms(2024, 1, 1, 0)
        );
        assert_eq!(year.window_end(ms(2024, 2, 29, 5), true), ms(2025, 1, 1, 0));
    }

    #[test]
    fn civil_round_trip() {
        for days in [-1, 0, 59, 11_016, 20_000, 50_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
