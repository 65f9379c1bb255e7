//! Users' data rights: what an export holds and how its preparation is
//! shown, when a download link still works, the deletion grace period
//! (requested → cancelled by a sign-in → erased after N days), what
//! erasure does to a ticket's messages, and the retention cut-offs.

pub mod regions;

/// A day, in milliseconds.
pub const DAY_MS: i64 = 24 * 3_600_000;

/// The sections of an export archive, in the order they are gathered and
/// written. Agents' internal notes are never a section: a requester's
/// archive holds what the requester could already read.
pub const SECTIONS: &[&str] = &[
    "account",
    "contacts",
    "devices",
    "sign_in_history",
    "security_timeline",
    "tickets",
    "messages",
    "deliveries",
];

/// The sections a region whose tickets must not be exported leaves empty.
pub const TICKET_SECTIONS: &[&str] = &["tickets", "messages"];

/// Whether a ticket message goes into its requester's export: public ones
/// only (an internal note is the desk's, not the requester's).
pub fn message_exported(public: bool) -> bool {
    public
}

/// The percentage shown while `done` of `total` sections are gathered:
/// never 100 before the archive is stored, so "ready" is the only 100.
pub fn progress(done: usize, total: usize) -> u8 {
    if total == 0 {
        return 0;
    }
    let percent = (done.min(total) * 100 / total) as u8;
    percent.min(99)
}

/// What a download link answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    /// The archive may be fetched.
    Open,
    /// Still queued or being prepared (or it failed): nothing to fetch yet.
    NotReady,
    /// Past its lifetime: gone for good (410), the bytes deleted.
    Expired,
}

/// Judges a download of an export in `status` that expires at `expires_at`.
pub fn download(status: &str, expires_at: Option<i64>, now: i64) -> Download {
    match (status, expires_at) {
        ("expired", _) => Download::Expired,
        ("ready", Some(at)) if now >= at => Download::Expired,
        ("ready", Some(_)) => Download::Open,
        _ => Download::NotReady,
    }
}

/// When a link to an archive ready at `ready_at` stops working.
pub fn link_expires_at(ready_at: i64, lifetime_days: i64) -> i64 {
    ready_at.saturating_add(lifetime_days.max(1).saturating_mul(DAY_MS))
}

/// When an account whose deletion was asked for at `requested_at` is erased.
pub fn erase_after(requested_at: i64, grace_days: i64) -> i64 {
    requested_at.saturating_add(grace_days.max(0).saturating_mul(DAY_MS))
}

/// What to do with a pending deletion now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionStep {
    /// Inside the grace period and nobody signed in: keep waiting.
    Wait,
    /// The owner signed in after asking: the request is cancelled (and they
    /// are told). A sign-in wins even after the grace period ended, as long
    /// as the erasure has not run: the person plainly still uses the account.
    CancelBySignIn,
    /// The grace period is over without a sign-in: erase.
    Erase,
}

/// Decides a pending deletion asked for at `requested_at`, erased from
/// `erase_after`, given the newest sign-in of the account (if any).
pub fn deletion_step(
    requested_at: i64,
    erase_after: i64,
    last_sign_in: Option<i64>,
    now: i64,
) -> DeletionStep {
    match last_sign_in {
        Some(at) if at > requested_at => DeletionStep::CancelBySignIn,
        _ if now >= erase_after => DeletionStep::Erase,
        _ => DeletionStep::Wait,
    }
}

/// What erasure does to one message of an erased requester's ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFate {
    /// Kept as it is: an agent's or the system's words, or the requester's
    /// where the operator must keep tickets whole.
    Keep,
    /// The requester's text replaced by a placeholder.
    Remove,
}

/// The fate of a message by `author_kind` when the operator `keep_text`s.
pub fn message_fate(author_kind: &str, keep_text: bool) -> MessageFate {
    if author_kind == "requester" && !keep_text {
        MessageFate::Remove
    } else {
        MessageFate::Keep
    }
}

/// The instant before which data of a kind kept `days` days is deleted;
/// None when it is kept for ever (0 days).
pub fn retention_cutoff(now: i64, days: i64) -> Option<i64> {
    (days > 0).then(|| now.saturating_sub(days.saturating_mul(DAY_MS)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn deletion_steps() {
        let asked = 1_000;
        let after = erase_after(asked, 14);
        for (sign_in, now, want) in [
            (None, asked + 1, DeletionStep::Wait),
            (None, after - 1, DeletionStep::Wait),
            (None, after, DeletionStep::Erase),
            (Some(asked - 1), after, DeletionStep::Erase),
            (Some(asked), after - 1, DeletionStep::Wait),
            (Some(asked + 1), asked + 2, DeletionStep::CancelBySignIn),
            (Some(after + 5), after + 10, DeletionStep::CancelBySignIn),
        ] {
            assert_eq!(
                deletion_step(asked, after, sign_in, now),
                want,
                "{sign_in:?} {now}"
            );
        }
        assert_eq!(erase_after(0, 14), 14 * DAY_MS);
        assert_eq!(erase_after(5, -3), 5);
    }

    #[test]
    fn downloads() {
        for (status, expires, now, want) in [
            ("queued", None, 0, Download::NotReady),
            ("preparing", None, 0, Download::NotReady),
            ("failed", None, 0, Download::NotReady),
            ("ready", Some(10), 9, Download::Open),
            ("ready", Some(10), 10, Download::Expired),
            ("ready", None, 0, Download::NotReady),
            ("expired", Some(10), 0, Download::Expired),
        ] {
            assert_eq!(download(status, expires, now), want, "{status} {now}");
        }
        assert_eq!(link_expires_at(0, 7), 7 * DAY_MS);
        assert_eq!(link_expires_at(0, 0), DAY_MS);
    }

    #[test]
    fn messages_and_sections() {
        assert_eq!(message_fate("requester", false), MessageFate::Remove);
        assert_eq!(message_fate("requester", true), MessageFate::Keep);
        assert_eq!(message_fate("agent", false), MessageFate::Keep);
        assert_eq!(message_fate("system", false), MessageFate::Keep);
        assert!(message_exported(true));
        assert!(!message_exported(false));
        assert!(SECTIONS.contains(&"messages"));
        assert_eq!(retention_cutoff(10 * DAY_MS, 0), None);
        assert_eq!(retention_cutoff(10 * DAY_MS, 3), Some(7 * DAY_MS));
    }

    proptest! {
        #[test]
        fn progress_stays_below_100_and_grows(done in 0usize..50, total in 0usize..50) {
            let p = progress(done, total);
            prop_assert!(p < 100);
            prop_assert!(progress(done + 1, total) >= p);
        }

        #[test]
        fn a_sign_in_after_asking_always_cancels(asked in 0i64..1_000_000, later in 1i64..1_000_000, now in 0i64..5_000_000, grace in 0i64..30) {
            let after = erase_after(asked, grace);
            prop_assert_eq!(deletion_step(asked, after, Some(asked + later), now), DeletionStep::CancelBySignIn);
        }

        #[test]
        fn nothing_is_erased_inside_the_grace_period(asked in 0i64..1_000_000, grace in 1i64..30, into in 0i64..DAY_MS) {
            let after = erase_after(asked, grace);
            prop_assert_eq!(deletion_step(asked, after, None, asked + into), DeletionStep::Wait);
        }
    }
}
