//! Timestamps: stored as Unix microseconds, shown as RFC 3339 in UTC.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Unix microseconds, UTC. Integers sort the same on SQLite and PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000) as i64)
    }

    pub fn plus_seconds(self, seconds: i64) -> Self {
        Timestamp(self.0.saturating_add(seconds.saturating_mul(1_000_000)))
    }

    /// An RFC 3339 time with its offset, such as `2026-12-24T18:00:00+01:00`.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let moment = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        i64::try_from(moment.unix_timestamp_nanos() / 1_000).ok().map(Timestamp)
    }

    pub fn to_rfc3339(self) -> String {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .ok()
            .and_then(|moment| moment.format(&Rfc3339).ok())
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_500_000).to_rfc3339(), "1970-01-01T00:00:01.5Z");
        assert!(Timestamp::now().to_rfc3339().ends_with('Z'));
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T01:00:01.5+01:00"),
            Some(Timestamp(1_500_000))
        );
        assert_eq!(Timestamp::parse_rfc3339("tomorrow"), None);
    }
}
