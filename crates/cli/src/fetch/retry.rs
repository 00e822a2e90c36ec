//! When to try a URL again, and how long to wait first: exponential
//! backoff with jitter, or the server's `Retry-After`.

use std::time::{Duration, SystemTime};

/// The first backoff; each retry doubles it.
pub const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// The longest backoff.
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// The longest `Retry-After` honoured: a server asking for more is waited
/// on this long (a fetcher should not sleep for hours on one URL).
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(60);

/// Whether a status is worth another try: 429 and every 5xx.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// The wait before retry number `retry` (1 for the first retry): the
/// server's `Retry-After` when it gave one that parses (capped at
/// [`RETRY_AFTER_MAX`]), else `BACKOFF_BASE * 2^(retry-1)` (capped at
/// [`BACKOFF_MAX`]) times a jitter factor in [0.5, 1.5) drawn from `unit`
/// (a number in [0, 1)).
pub fn delay(retry: u32, retry_after: Option<&str>, now: SystemTime, unit: f64) -> Duration {
    if let Some(wait) = retry_after.and_then(|v| parse_retry_after(v, now)) {
        return wait.min(RETRY_AFTER_MAX);
    }
    let exp = BACKOFF_BASE.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    exp.min(BACKOFF_MAX).mul_f64(0.5 + unit.clamp(0.0, 1.0))
}

/// `Retry-After`: delay-seconds, or an HTTP-date (RFC 9110 10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = parse_http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The IMF-fixdate form, `Sun, 06 Nov 1994 08:49:37 GMT` (the one servers
/// must send).
fn parse_http_date(s: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || year < 1970 || *h > 23 || *m > 59 || *sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(days * 86_400 + h * 3600 + m * 60 + sec))
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm), for years >= 1970.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(delay(1, None, now, 0.5), Duration::from_millis(200));
        assert_eq!(delay(2, None, now, 0.5), Duration::from_millis(400));
        assert_eq!(delay(3, None, now, 0.0), Duration::from_millis(400));
        assert_eq!(delay(3, None, now, 0.999_999).as_millis(), 1199);
        assert_eq!(delay(30, None, now, 0.5), BACKOFF_MAX);
    }

    #[test]
    fn retry_after_wins_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(delay(1, Some("7"), now, 0.9), Duration::from_secs(7));
        assert_eq!(delay(1, Some("0"), now, 0.9), Duration::ZERO);
        assert_eq!(delay(1, Some("86400"), now, 0.9), RETRY_AFTER_MAX);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(now));
        assert_eq!(
            delay(1, Some("Sun, 06 Nov 1994 08:49:40 GMT"), now, 0.9),
            Duration::from_secs(3)
        );
        // A date in the past: retry now.
        assert_eq!(
            delay(1, Some("Sun, 06 Nov 1994 08:00:00 GMT"), now, 0.9),
            Duration::ZERO
        );
        // Garbage: the backoff.
        assert_eq!(delay(1, Some("soon"), now, 0.5), Duration::from_millis(200));
        assert_eq!(delay(1, Some("-3"), now, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn which_statuses_are_retried() {
        assert!(retryable_status(429) && retryable_status(500) && retryable_status(503));
        assert!(!retryable_status(404) && !retryable_status(200) && !retryable_status(301));
    }
}
