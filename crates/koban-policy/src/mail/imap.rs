//! IMAP polling's decisions: who may poll a mailbox (a lease in the
//! database, so several nodes sharing one PostgreSQL poll each mailbox
//! once), where to resume after a restart, which of the UIDs a server
//! listed are new, and how long to wait after a failure.

/// A mailbox's lease as the database holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease<'a> {
    /// The node holding it; `None` when released or never taken.
    pub holder: Option<&'a str>,
    /// Until when, in milliseconds since the epoch.
    pub until: i64,
}

/// Whether node `me` may take or renew `lease` at `now`: it holds it
/// already, nobody does, or the holder let it expire (it died, or lost its
/// way to the database). The store's conditional UPDATE says the same in
/// SQL, so two nodes racing for it cannot both win.
pub fn may_hold(lease: &Lease<'_>, me: &str, now: i64) -> bool {
    match lease.holder {
        None => true,
        Some(holder) if holder == me => true,
        Some(_) => lease.until <= now,
    }
}

/// How often a holder renews a lease of `lease_ms`: three times per lease,
/// so one missed renewal (a slow database) does not hand the mailbox over.
pub fn renew_every_ms(lease_ms: i64) -> i64 {
    (lease_ms / 3).max(200)
}

/// Where polling resumes in a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    /// Messages with a UID above this one are new.
    pub after_uid: u32,
    /// The server's UIDVALIDITY differs from the one stored: every UID
    /// seen before means nothing now, and the mailbox is read again whole
    /// (mails already stored are recognised by their Message-ID).
    pub validity_changed: bool,
}

/// What the first poll of a mailbox takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPoll {
    /// Every mail in it.
    All,
    /// Only mail that arrives after it.
    New,
}

/// Where to resume given what is stored (UIDVALIDITY, last processed UID;
/// `None` before the first poll), the server's UIDVALIDITY now and its
/// UIDNEXT (the UID the next mail will get, when the server says).
pub fn resume(
    stored: Option<(u32, u32)>,
    server_validity: u32,
    first: FirstPoll,
    uid_next: Option<u32>,
) -> Resume {
    match stored {
        Some((validity, last)) if validity == server_validity => Resume {
            after_uid: last,
            validity_changed: false,
        },
        // Never polled, or polled before UIDVALIDITY was known (0). A server
        // that does not say UIDNEXT leaves nothing to start after: all.
        None | Some((0, 0)) => Resume {
            after_uid: match (first, uid_next) {
                (FirstPoll::New, Some(next)) => next.saturating_sub(1),
                _ => 0,
            },
            validity_changed: false,
        },
        // A mailbox made anew is read whole, whatever the first poll took:
        // its mails are not the ones skipped then.
        Some(_) => Resume {
            after_uid: 0,
            validity_changed: true,
        },
    }
}

/// The range to ask for with `UID FETCH`: everything after `after_uid`.
pub fn fetch_range(after_uid: u32) -> String {
    format!("{}:*", after_uid.saturating_add(1))
}

/// The messages to take from a `UID FETCH <after+1>:*` answer, in UID
/// order, each once. The answer may hold UIDs at or below `after_uid`:
/// `n:*` names the highest UID even when it is below `n` (RFC 3501 §9,
/// "seq-range"), so with no new mail the last one comes back again.
pub fn new_uids<T: Copy>(after_uid: u32, listed: &[(u32, T)]) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = listed
        .iter()
        .copied()
        .filter(|(uid, _)| *uid > after_uid)
        .collect();
    out.sort_by_key(|(uid, _)| *uid);
    out.dedup_by_key(|(uid, _)| *uid);
    out
}

/// How long to wait, in milliseconds, before connecting again after
/// `failures` failures in a row: doubling from one second up to `max_ms`,
/// so a server that is down is not hammered and one that is back is
/// reached again soon. `jitter` (0..1000, from the caller's randomness)
/// spreads nodes that failed together.
pub fn backoff_ms(failures: u32, max_ms: i64, jitter: i64) -> i64 {
    let base = 1000i64.saturating_mul(1i64 << failures.saturating_sub(1).min(20));
    base.min(max_ms.max(1000)) + jitter.clamp(0, 999)
}

/// The modified base64 of RFC 3501 §5.1.3: `,` instead of `/`, no padding.
const UTF7_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// A mailbox name as IMAP4rev1 writes it on the wire: modified UTF-7
/// (RFC 3501 §5.1.3). Printable ASCII stands for itself (`&` as `&-`);
/// any other run is UTF-16 in modified base64 between `&` and `-`. A
/// folder a person named `サポート` is `&MLUw3TD8MMg-`; sent as UTF-8,
/// a server without UTF8=ACCEPT refuses it or finds another folder.
pub fn mailbox_name_utf7(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            push_utf7_run(&mut out, &mut run);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            run.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    push_utf7_run(&mut out, &mut run);
    out
}

fn push_utf7_run(out: &mut String, run: &mut Vec<u16>) {
    if run.is_empty() {
        return;
    }
    let bytes: Vec<u8> = run.iter().flat_map(|u| u.to_be_bytes()).collect();
    out.push('&');
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        // 1 byte makes 2 characters, 2 make 3, 3 make 4: no padding.
        for k in 0..=chunk.len() {
            let index = (n >> (18 - 6 * k)) & 63;
            out.push(char::from(UTF7_ALPHABET[index as usize]));
        }
    }
    out.push('-');
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_lease_is_held_by_its_holder_until_it_expires() {
        let held = Lease {
            holder: Some("a"),
            until: 1_000,
        };
        let table = [
            (&held, "a", 500, true),
            (&held, "a", 2_000, true),
            (&held, "b", 500, false),
            (&held, "b", 999, false),
            (&held, "b", 1_000, true),
            (
                &Lease {
                    holder: None,
                    until: 5_000,
                },
                "b",
                0,
                true,
            ),
        ];
        for (lease, me, now, expected) in table {
            assert_eq!(may_hold(lease, me, now), expected, "{lease:?} {me} {now}");
        }
    }

    proptest! {
        /// Two different nodes never both may hold an unexpired lease.
        #[test]
        fn never_two_holders(holder in prop::option::of("[ab]"), until in 0i64..100, now in 0i64..100) {
            let lease = Lease { holder: holder.as_deref(), until };
            let a = may_hold(&lease, "a", now);
            let b = may_hold(&lease, "b", now);
            if holder.is_some() && until > now {
                prop_assert!(!(a && b));
            }
        }

        /// Whatever the server lists, what is taken is new, ordered and unique.
        #[test]
        fn new_uids_are_above_ordered_unique(after in 0u32..50, listed in prop::collection::vec(0u32..100, 0..40)) {
            let listed: Vec<(u32, ())> = listed.into_iter().map(|u| (u, ())).collect();
            let taken = new_uids(after, &listed);
            prop_assert!(taken.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert!(taken.iter().all(|(u, _)| *u > after));
            let expected = listed.iter().filter(|(u, _)| *u > after).map(|(u, _)| *u).collect::<std::collections::BTreeSet<_>>();
            prop_assert_eq!(taken.len(), expected.len());
        }

        #[test]
        fn backoff_grows_and_is_capped(failures in 0u32..100, jitter in -5i64..5000) {
            let wait = backoff_ms(failures, 60_000, jitter);
            prop_assert!((1000..61_000).contains(&wait));
            prop_assert!(backoff_ms(failures + 1, 60_000, 0) >= backoff_ms(failures, 60_000, 0));
        }
    }

    #[test]
    fn the_star_range_answer_with_no_new_mail_takes_nothing() {
        // `UID FETCH 8:*` with 7 the highest UID answers with 7.
        assert!(new_uids(7, &[(7, 10u32)]).is_empty());
        assert_eq!(new_uids(7, &[(9, 1), (8, 2), (9, 1)]), vec![(8, 2), (9, 1)]);
        assert_eq!(fetch_range(7), "8:*");
        assert_eq!(fetch_range(u32::MAX), format!("{}:*", u32::MAX));
    }

    #[test]
    fn resuming_follows_uidvalidity_and_the_first_poll() {
        use FirstPoll::{All, New};
        let table = [
            (None, 5, All, Some(40), 0, false),
            (None, 5, New, Some(40), 39, false),
            // A server that does not say UIDNEXT: nothing to start after.
            (None, 5, New, None, 0, false),
            (None, 5, New, Some(0), 0, false),
            (Some((0, 0)), 5, All, Some(40), 0, false),
            (Some((0, 0)), 5, New, Some(40), 39, false),
            (Some((5, 12)), 5, All, Some(40), 12, false),
            (Some((5, 12)), 5, New, Some(40), 12, false),
            // Made anew: read whole, whatever the first poll took.
            (Some((5, 12)), 6, All, Some(40), 0, true),
            (Some((5, 12)), 6, New, Some(40), 0, true),
        ];
        for (stored, validity, first, next, after, changed) in table {
            let r = resume(stored, validity, first, next);
            assert_eq!(
                (r.after_uid, r.validity_changed),
                (after, changed),
                "{stored:?} {first:?} {next:?}"
            );
        }
    }

    #[test]
    fn backoff_doubles_from_a_second() {
        let waits: Vec<i64> = (1..=8).map(|f| backoff_ms(f, 60_000, 0)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
        assert_eq!(backoff_ms(0, 60_000, 0), 1000);
        assert_eq!(renew_every_ms(60_000), 20_000);
    }

    /// The examples of RFC 3501 §5.1.3 and this market's folder names.
    #[test]
    fn mailbox_names_are_written_in_modified_utf7() {
        for (name, wire) in [
            ("INBOX", "INBOX"),
            ("Support/2026", "Support/2026"),
            ("R&D", "R&-D"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("サポート", "&MLUw3TD8MMg-"),
            ("客服", "&W6JnDQ-"),
            ("ฝ่ายบริการ", "&Dh0OSA4yDiIOGg4jDjQOAQ4yDiM-"),
            ("😀 mail", "&2D3eAA- mail"),
        ] {
            assert_eq!(mailbox_name_utf7(name), wire, "{name}");
        }
    }

    /// The reverse, written here only to check the encoder.
    fn decode_utf7(wire: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = wire;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let end = after.find('-')?;
            let encoded = &after[..end];
            rest = &after[end + 1..];
            if encoded.is_empty() {
                out.push('&');
                continue;
            }
            let mut bits = 0u32;
            let mut count = 0;
            let mut bytes = Vec::new();
            for c in encoded.bytes() {
                let v = UTF7_ALPHABET.iter().position(|&a| a == c)? as u32;
                bits = (bits << 6) | v;
                count += 6;
                if count >= 8 {
                    count -= 8;
                    bytes.push((bits >> count) as u8);
                    bits &= (1 << count) - 1;
                }
            }
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]))
                .collect();
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        out.push_str(rest);
        Some(out)
    }

    proptest::proptest! {
        #[test]
        fn any_mailbox_name_is_printable_ascii_and_reads_back(name in "\\PC{0,40}") {
            let wire = mailbox_name_utf7(&name);
            proptest::prop_assert!(wire.bytes().all(|b| (b' '..=b'~').contains(&b)), "{}", wire);
            proptest::prop_assert_eq!(decode_utf7(&wire), Some(name));
        }
    }
}
