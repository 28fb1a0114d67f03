//! Times as the database keeps them: UTC, whole microseconds, in one fixed-width text form,
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`. Two such texts compare, character by character, exactly as
//! the instants they name, so the store's SQL may compare times with `<` and `>` (an expiry
//! against now, a rotation's end, the audit log's range). RFC 3339 as written by a client or by
//! a default formatter does not: its fraction is only as long as needed (`:00.5Z` sorts after
//! `:00.55Z`) and its offset is the writer's (`T16:00-12:00` sorts before `T04:00Z` the same
//! day). Every time the store binds goes through [`db_time`]; migration 0007 rewrote older rows.

use time::{OffsetDateTime, UtcOffset};

/// The stored text of `t`: at UTC, to the microsecond (a remainder is dropped, so a stored
/// expiry is never later than the one given), always 27 characters for years 0–9999, which
/// are all RFC 3339 can write.
pub(crate) fn db_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The time stored in `column` of `row` (see [`db_time`]).
pub(crate) fn time_at(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<OffsetDateTime, crate::StoreError> {
    let text: String = sqlx::Row::try_get(row, column)?;
    parse_db_time(&text)
}

/// The time stored in `column` of `row`, if any.
pub(crate) fn maybe_time_at(
    row: &sqlx::any::AnyRow,
    column: &str,
) -> Result<Option<OffsetDateTime>, crate::StoreError> {
    let text: Option<String> = sqlx::Row::try_get(row, column)?;
    text.as_deref().map(parse_db_time).transpose()
}

/// Reads a stored time (any RFC 3339 text reads, so rows older than migration 0007's rewrite
/// still do).
pub(crate) fn parse_db_time(text: &str) -> Result<OffsetDateTime, crate::StoreError> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| {
        crate::StoreError::Database(sqlx::Error::Decode(
            format!("a stored time is not RFC 3339 ({e})").into(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::db_time;
    use time::format_description::well_known::Rfc3339;
    use time::{Duration, OffsetDateTime, UtcOffset};

    #[test]
    fn stored_texts_sort_as_the_instants_they_name() {
        let base = OffsetDateTime::parse("2026-12-01T04:00:00Z", &Rfc3339).unwrap();
        let mut instants = Vec::new();
        for micros in [
            0,
            1,
            250_000,
            500_000,
            550_000,
            999_999,
            1_000_000,
            3_600_000_000,
        ] {
            for hours in [-12, 0, 5, 14] {
                let t = base + Duration::microseconds(micros);
                instants.push(t.to_offset(UtcOffset::from_hms(hours, 0, 0).unwrap()));
            }
        }
        for a in &instants {
            for b in &instants {
                assert_eq!(
                    db_time(*a).cmp(&db_time(*b)),
                    a.cmp(b),
                    "{a} against {b}: {} against {}",
                    db_time(*a),
                    db_time(*b)
                );
            }
        }
    }

    #[test]
    fn a_stored_text_reads_back_as_its_instant_to_the_microsecond() {
        let t = OffsetDateTime::parse("2026-11-30T16:47:00.123456789-12:00", &Rfc3339).unwrap();
        let text = db_time(t);
        assert_eq!(text, "2026-12-01T04:47:00.123456Z");
        let back = OffsetDateTime::parse(&text, &Rfc3339).unwrap();
        assert_eq!(back, t - Duration::nanoseconds(789));
        assert_eq!(back.offset(), UtcOffset::UTC);
        let early = OffsetDateTime::parse("0042-01-02T03:04:05Z", &Rfc3339).unwrap();
        assert_eq!(db_time(early), "0042-01-02T03:04:05.000000Z");
    }
}
