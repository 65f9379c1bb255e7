//! What a searcher may find. The index filters by these conditions before
//! ranking, so a hit the searcher may not see is never scored, counted,
//! snippeted or paged over.

use crate::desk::permissions::Role;

/// The kinds of document the index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Ticket,
    /// A message of a ticket's conversation: a public reply or an internal note.
    Message,
    /// A help-center article version.
    Article,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Ticket, Kind::Message, Kind::Article];

    /// The stored and API name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Ticket => "ticket",
            Kind::Message => "message",
            Kind::Article => "article",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Who is searching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searcher {
    SignedOut,
    /// A signed-in account with its desk role.
    Account {
        id: i64,
        role: Role,
    },
}

/// A condition a document of some kind must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Requested by this account (directly, or through a contact the account proved).
    RequesterIs(i64),
    /// Shown to requesters: a public reply (not an internal note), a published article.
    Public,
}

/// The documents a searcher may find: each kind listed with the
/// conditions all of which its documents must meet; kinds not listed are
/// never found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub kinds: Vec<(Kind, Vec<Condition>)>,
}

/// The scope of `searcher`, narrowed to `asked` kinds when given. Agents,
/// supervisors and desk admins see every ticket, as the desk itself lets
/// them (`desk::tickets::service::visible`); a requester their own tickets
/// and the public replies on them; everyone published articles.
pub fn scope(searcher: Searcher, asked: Option<Kind>) -> Scope {
    let mut kinds = match searcher {
        Searcher::Account { role, .. } if role >= Role::Agent => vec![
            (Kind::Ticket, vec![]),
            (Kind::Message, vec![]),
            (Kind::Article, vec![]),
        ],
        Searcher::Account { id, .. } => vec![
            (Kind::Ticket, vec![Condition::RequesterIs(id)]),
            (
                Kind::Message,
                vec![Condition::RequesterIs(id), Condition::Public],
            ),
            (Kind::Article, vec![Condition::Public]),
        ],
        Searcher::SignedOut => vec![(Kind::Article, vec![Condition::Public])],
    };
    if let Some(asked) = asked {
        kinds.retain(|(k, _)| *k == asked);
    }
    Scope { kinds }
}

impl Scope {
    /// Whether a document of `kind`, requested by `requesters` and `public`
    /// or not, is in the scope: the rule the index query applies, for tests
    /// and for checking a hit again after the index answered.
    pub fn admits(&self, kind: Kind, requesters: &[i64], public: bool) -> bool {
        self.kinds.iter().any(|(k, conditions)| {
            *k == kind
                && conditions.iter().all(|c| match c {
                    Condition::RequesterIs(id) => requesters.contains(id),
                    Condition::Public => public,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn who_finds_what() {
        let me = Searcher::Account {
            id: 7,
            role: Role::User,
        };
        let s = scope(me, None);
        assert!(s.admits(Kind::Ticket, &[7], false));
        assert!(!s.admits(Kind::Ticket, &[8], false));
        assert!(s.admits(Kind::Message, &[7], true));
        assert!(!s.admits(Kind::Message, &[7], false), "an internal note");
        assert!(s.admits(Kind::Article, &[], true));
        assert!(!s.admits(Kind::Article, &[], false), "a draft");
        let out = scope(Searcher::SignedOut, None);
        assert!(!out.admits(Kind::Ticket, &[7], true));
        assert!(out.admits(Kind::Article, &[], true));
        let agent = scope(
            Searcher::Account {
                id: 1,
                role: Role::Agent,
            },
            None,
        );
        assert!(agent.admits(Kind::Message, &[7], false));
        let only = scope(
            Searcher::Account {
                id: 1,
                role: Role::Admin,
            },
            Some(Kind::Ticket),
        );
        assert!(!only.admits(Kind::Message, &[7], true));
    }

    proptest! {
        /// A user-role searcher never finds another's ticket or any note,
        /// whatever kind they ask for.
        #[test]
        fn requesters_stay_in_their_lane(me in 1i64..50, other in 1i64..50, kind in 0usize..3, asked in 0usize..4, public: bool) {
            let s = scope(Searcher::Account { id: me, role: Role::User }, Kind::ALL.get(asked).copied());
            let kind = Kind::ALL[kind];
            if kind != Kind::Article {
                if other != me {
                    prop_assert!(!s.admits(kind, &[other], public));
                }
                if kind == Kind::Message {
                    prop_assert!(!s.admits(kind, &[me], false));
                }
            }
            prop_assert!(!scope(Searcher::SignedOut, None).admits(kind, &[me], public) || (kind == Kind::Article && public));
        }
    }
}
