//! Satisfaction surveys (CSAT): when a solved ticket's survey is due, what
//! an answer may say, who may give it, and how answers add up in a report.
//! The desk reads the facts, asks here, and acts on the answer.

use crate::desk::status::Status;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// The lowest and highest score (1 = very dissatisfied, 5 = very satisfied).
pub const MIN_SCORE: i64 = 1;
pub const MAX_SCORE: i64 = 5;
/// The longest comment, in characters: room for a paragraph, not an essay.
pub const MAX_COMMENT_CHARS: usize = 2000;
/// How long a survey link answers: four weeks, as Zendesk's do. After
/// that a rating says little about the conversation it rates.
pub const VALID_MS: i64 = 28 * 24 * 3_600_000;
/// The longest report range, in days: a year and a leap day.
pub const MAX_RANGE_DAYS: i64 = 366;

/// What the survey job does with a ticket when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send it now.
    Send,
    /// Reopened since it was solved: nothing now; solving it again queues
    /// the job again.
    NotNow,
    /// Never: it was surveyed already (one survey per ticket, even when
    /// reopened and solved again), or merged into another ticket (the
    /// conversation, and its rating, continue there).
    Never,
}

/// Whether a ticket in `status` is due its survey.
pub fn due(status: Status, merged: bool, surveyed: bool) -> Due {
    if surveyed || merged {
        return Due::Never;
    }
    // Closed counts: the close job may have run before the survey job.
    if status.is_done() {
        Due::Send
    } else {
        Due::NotNow
    }
}

/// Who is answering a ticket's survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answerer {
    /// Signed in as the ticket's requester.
    Requester,
    /// Holding the survey link sent to the requester.
    LinkHolder,
    /// Signed in as desk staff: they may read the rating, never give it.
    Staff,
    /// Anyone else.
    Stranger,
}

/// The answer to "may they answer?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum May {
    Yes,
    /// Staff see the ticket, so they are told no (403).
    Forbidden,
    /// Nobody learns that someone else's ticket exists (404).
    NotFound,
}

/// Who may rate a ticket: only its requester, by page or link.
pub fn may_answer(who: Answerer) -> May {
    match who {
        Answerer::Requester | Answerer::LinkHolder => May::Yes,
        Answerer::Staff => May::Forbidden,
        Answerer::Stranger => May::NotFound,
    }
}

/// Why a survey takes no answer now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shut {
    /// It was answered: one answer per ticket.
    Answered,
    /// Its time ran out.
    Expired,
}

/// Whether a survey sent `sent_at` (answered or not) takes an answer at `now`.
pub fn open(answered: bool, sent_at: i64, now: i64) -> Result<(), Shut> {
    if answered {
        Err(Shut::Answered)
    } else if now >= sent_at.saturating_add(VALID_MS) {
        Err(Shut::Expired)
    } else {
        Ok(())
    }
}

/// A refused answer field: (field, reason code).
pub type FieldRefusal = (&'static str, &'static str);

/// Checks an answer: the score in range, the comment (trimmed; empty is
/// none) short and free of invisible characters.
pub fn check_answer(
    score: i64,
    comment: Option<&str>,
) -> Result<(u8, Option<String>), FieldRefusal> {
    if !(MIN_SCORE..=MAX_SCORE).contains(&score) {
        return Err(("score", "out_of_range"));
    }
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if let Some(text) = comment {
        if text.chars().count() > MAX_COMMENT_CHARS {
            return Err(("comment", "too_long"));
        }
        if crate::text::check_visible(text, true).is_err() {
            return Err(("comment", "control_character"));
        }
    }
    // In range, so it fits.
    Ok((score as u8, comment.map(str::to_string)))
}

/// What a report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// The agent the ticket was assigned to when it was solved.
    Agent,
    Team,
    /// The channel the ticket came in by.
    Channel,
    Category,
}

impl By {
    pub const ALL: [By; 4] = [By::Agent, By::Team, By::Channel, By::Category];

    pub fn as_str(self) -> &'static str {
        match self {
            By::Agent => "agent",
            By::Team => "team",
            By::Channel => "channel",
            By::Category => "category",
        }
    }

    pub fn parse(name: &str) -> Option<By> {
        By::ALL.into_iter().find(|b| b.as_str() == name)
    }
}

/// The answers of one group: how many surveys went out and how many
/// answered with each score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// `counts[s - 1]`: answers with score `s`.
    pub counts: [i64; 5],
    pub sent: i64,
}

impl Tally {
    /// Counts one survey, answered with `score` or not answered.
    pub fn add(&mut self, score: Option<i64>, surveys: i64) {
        self.sent += surveys;
        if let Some(s) = score.filter(|s| (MIN_SCORE..=MAX_SCORE).contains(s)) {
            self.counts[(s - 1) as usize] += surveys;
        }
    }

    pub fn answered(&self) -> i64 {
        self.counts.iter().sum()
    }

    /// The share of answers that are 4 or 5, in percent (the industry's
    /// CSAT); none without answers.
    pub fn csat_percent(&self) -> Option<f64> {
        let answered = self.answered();
        (answered > 0).then(|| (self.counts[3] + self.counts[4]) as f64 * 100.0 / answered as f64)
    }

    /// The share of surveys answered, in percent; none when none went out.
    pub fn response_percent(&self) -> Option<f64> {
        (self.sent > 0).then(|| self.answered() as f64 * 100.0 / self.sent as f64)
    }

    /// The median score (the mean of the middle two for an even count).
    pub fn median(&self) -> Option<f64> {
        let n = self.answered();
        if n == 0 {
            return None;
        }
        let nth = |k: i64| {
            let mut seen = 0;
            for (i, c) in self.counts.iter().enumerate() {
                seen += c;
                if k < seen {
                    return i as f64 + 1.0;
                }
            }
            MAX_SCORE as f64
        };
        Some((nth((n - 1) / 2) + nth(n / 2)) / 2.0)
    }
}

/// Reads a report's range: two dates (`YYYY-MM-DD`, both included) in
/// `zone`, as the instants [start, end) in milliseconds.
pub fn range_ms(from: &str, to: &str, zone: &TimeZone) -> Result<(i64, i64), FieldRefusal> {
    let from: Date = from.trim().parse().map_err(|_| ("from", "not_a_date"))?;
    let to: Date = to.trim().parse().map_err(|_| ("to", "not_a_date"))?;
    if to < from {
        return Err(("to", "out_of_range"));
    }
    let days = (to - from).get_days() as i64 + 1;
    if days > MAX_RANGE_DAYS {
        return Err(("to", "out_of_range"));
    }
    let start = from
        .to_zoned(zone.clone())
        .map_err(|_| ("from", "not_a_date"))?;
    let end = to
        .tomorrow()
        .and_then(|d| d.to_zoned(zone.clone()))
        .map_err(|_| ("to", "not_a_date"))?;
    Ok((
        start.timestamp().as_millisecond(),
        end.timestamp().as_millisecond(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn due_table() {
        use Status::*;
        let table = [
            // status, merged, surveyed, answer
            (Solved, false, false, Due::Send),
            (Closed, false, false, Due::Send),
            (Open, false, false, Due::NotNow),
            (Pending, false, false, Due::NotNow),
            (Solved, false, true, Due::Never),
            (Closed, true, false, Due::Never),
            (Open, false, true, Due::Never),
        ];
        for (status, merged, surveyed, answer) in table {
            assert_eq!(due(status, merged, surveyed), answer, "{status:?}");
        }
    }

    #[test]
    fn only_the_requester_answers() {
        assert_eq!(may_answer(Answerer::Requester), May::Yes);
        assert_eq!(may_answer(Answerer::LinkHolder), May::Yes);
        assert_eq!(may_answer(Answerer::Staff), May::Forbidden);
        assert_eq!(may_answer(Answerer::Stranger), May::NotFound);
    }

    #[test]
    fn a_survey_is_open_once_and_for_four_weeks() {
        assert_eq!(open(false, 0, VALID_MS - 1), Ok(()));
        assert_eq!(open(false, 0, VALID_MS), Err(Shut::Expired));
        assert_eq!(open(true, 0, 1), Err(Shut::Answered));
    }

    #[test]
    fn answers_table() {
        let long = "あ".repeat(MAX_COMMENT_CHARS + 1);
        type Case<'a> = (
            i64,
            Option<&'a str>,
            Result<(u8, Option<String>), FieldRefusal>,
        );
        let table: [Case; 8] = [
            (
                5,
                Some("とても助かりました"),
                Ok((5, Some("とても助かりました".into()))),
            ),
            (1, None, Ok((1, None))),
            (3, Some("   "), Ok((3, None))),
            (0, None, Err(("score", "out_of_range"))),
            (6, None, Err(("score", "out_of_range"))),
            (-1, None, Err(("score", "out_of_range"))),
            (4, Some(&long), Err(("comment", "too_long"))),
            (4, Some("a\u{202e}b"), Err(("comment", "control_character"))),
        ];
        for (score, comment, answer) in table {
            assert_eq!(check_answer(score, comment), answer, "{score} {comment:?}");
        }
        let longest = "あ".repeat(MAX_COMMENT_CHARS);
        assert!(check_answer(2, Some(&longest)).is_ok());
    }

    #[test]
    fn tally_counts_csat_and_median() {
        let mut t = Tally::default();
        assert_eq!(t.csat_percent(), None);
        assert_eq!(t.median(), None);
        assert_eq!(t.response_percent(), None);
        for (score, n) in [(Some(5), 2), (Some(4), 1), (Some(1), 1), (None, 4)] {
            t.add(score, n);
        }
        assert_eq!(t.counts, [1, 0, 0, 1, 2]);
        assert_eq!(t.sent, 8);
        assert_eq!(t.answered(), 4);
        assert_eq!(t.csat_percent(), Some(75.0));
        assert_eq!(t.response_percent(), Some(50.0));
        // 1, 4, 5, 5: the middle two are 4 and 5.
        assert_eq!(t.median(), Some(4.5));
        t.add(Some(3), 1);
        assert_eq!(t.median(), Some(4.0));
    }

    #[test]
    fn by_reads_its_names() {
        for by in By::ALL {
            assert_eq!(By::parse(by.as_str()), Some(by));
        }
        assert_eq!(By::parse("day"), None);
    }

    #[test]
    fn ranges_are_whole_days_in_the_zone() {
        let tokyo = TimeZone::get("Asia/Tokyo").expect("zone");
        let (start, end) = range_ms("2026-03-01", "2026-03-01", &tokyo).expect("range");
        // Midnight in Tokyo is 15:00 UTC the day before.
        assert_eq!(start, 1_772_290_800_000);
        assert_eq!(end - start, 24 * 3_600_000);
        assert_eq!(
            range_ms("2026-03-02", "2026-03-01", &tokyo),
            Err(("to", "out_of_range"))
        );
        assert_eq!(
            range_ms("2025-01-01", "2026-03-01", &tokyo),
            Err(("to", "out_of_range"))
        );
        assert_eq!(
            range_ms("March", "2026-03-01", &tokyo),
            Err(("from", "not_a_date"))
        );
        assert_eq!(
            range_ms("2026-03-01", "2026-02-30", &tokyo),
            Err(("to", "not_a_date"))
        );
    }

    proptest! {
        #[test]
        fn csat_and_median_stay_in_range(counts in proptest::array::uniform5(0i64..50), unanswered in 0i64..50) {
            let mut t = Tally::default();
            for (i, n) in counts.iter().enumerate() {
                t.add(Some(i as i64 + 1), *n);
            }
            t.add(None, unanswered);
            prop_assert_eq!(t.answered(), counts.iter().sum::<i64>());
            prop_assert!(t.answered() <= t.sent);
            if let Some(p) = t.csat_percent() { prop_assert!((0.0..=100.0).contains(&p)); }
            if let Some(m) = t.median() {
                prop_assert!((1.0..=5.0).contains(&m));
                // At least half the answers on each side of the median.
                let (lo, hi) = (m.floor() as usize, m.ceil() as usize);
                let n = t.answered();
                prop_assert!(counts[..hi].iter().sum::<i64>() * 2 >= n);
                prop_assert!(counts[lo - 1..].iter().sum::<i64>() * 2 >= n);
            }
        }
    }
}
