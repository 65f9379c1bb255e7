//! What the desk's outgoing mail carries, and whether it goes at all: the
//! files of a reply under a size cap, and the mail held back from an
//! address that bounced.

/// Who a mail is from, as far as holding it back goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// An agent's reply, or what an agent asked for by hand (a link to
    /// prove the account): written or chosen by a person.
    Agent,
    /// An acknowledgement or a status notice Koban sends on its own.
    Automatic,
}

/// Whether a mail to an address that bounced permanently is held back.
/// An automatic notice is: it would bounce again, and mail servers judge
/// a sender by how much of its mail goes to dead addresses. An agent's
/// mail goes: the agent saw the warning, and may know the address works
/// again (a full mailbox emptied, a typo fixed on the other side).
pub fn held_for_bounce(author: Author, bounced: bool) -> bool {
    bounced && author == Author::Automatic
}

/// Which of a reply's files go with its mail when all of them together
/// may take at most `cap` bytes: in their order, each that still fits
/// beside those before it. A file too large is left out and smaller ones
/// after it may still go, so one large log does not keep a screenshot
/// from the requester. `true` for each file that goes.
pub fn files_that_fit(sizes: &[u64], cap: u64) -> Vec<bool> {
    let mut used: u64 = 0;
    sizes
        .iter()
        .map(|&size| {
            let fits = used.checked_add(size).is_some_and(|total| total <= cap);
            if fits {
                used += size;
            }
            fits
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_automatic_mail_to_a_bounced_address_is_held() {
        assert!(held_for_bounce(Author::Automatic, true));
        assert!(!held_for_bounce(Author::Agent, true));
        assert!(!held_for_bounce(Author::Automatic, false));
        assert!(!held_for_bounce(Author::Agent, false));
    }

    #[test]
    fn files_go_in_order_while_they_fit_and_a_large_one_does_not_stop_the_rest() {
        assert_eq!(files_that_fit(&[], 10), Vec::<bool>::new());
        assert_eq!(files_that_fit(&[4, 6], 10), [true, true]);
        assert_eq!(files_that_fit(&[4, 7, 6], 10), [true, false, true]);
        assert_eq!(files_that_fit(&[11, 3], 10), [false, true]);
        assert_eq!(files_that_fit(&[1], 0), [false]);
        assert_eq!(files_that_fit(&[0], 0), [true]);
        assert_eq!(files_that_fit(&[u64::MAX, 1], u64::MAX), [true, false]);
    }

    proptest! {
        #[test]
        fn what_goes_never_exceeds_the_cap(sizes in proptest::collection::vec(0u64..5_000, 0..12), cap in 0u64..20_000) {
            let goes = files_that_fit(&sizes, cap);
            let total: u64 = sizes.iter().zip(&goes).filter(|(_, g)| **g).map(|(s, _)| s).sum();
            prop_assert!(total <= cap);
            // Nothing left out would still have fitted.
            for (size, g) in sizes.iter().zip(&goes) {
                if !g {
                    prop_assert!(total + size > cap);
                }
            }
        }
    }
}
