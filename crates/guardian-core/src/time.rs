//! Time helpers. The domain works in Unix milliseconds (`i64`), the unit the store persists,
//! so a value read back after a restart compares exactly with one computed before it.

/// Unix time in milliseconds.
pub type Millis = i64;

/// Milliseconds in one second; the config speaks seconds, the domain milliseconds.
pub const SECOND_MS: Millis = 1_000;

/// Converts a duration in seconds (as configured) to milliseconds, saturating instead of
/// overflowing on absurd configuration values.
pub fn secs(secs: u64) -> Millis {
    i64::try_from(secs)
        .unwrap_or(i64::MAX / SECOND_MS)
        .saturating_mul(SECOND_MS)
}

/// Formats Unix milliseconds as RFC 3339 (UTC); out-of-range values print as the epoch.
pub fn to_rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// Parses an RFC 3339 timestamp into Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let ms = parse_rfc3339("2026-12-01T08:00:00.250Z").unwrap();
        assert_eq!(to_rfc3339(ms), "2026-12-01T08:00:00.25Z");
        assert_eq!(secs(2), 2_000);
    }
}
