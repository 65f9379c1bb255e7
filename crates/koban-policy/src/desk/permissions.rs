//! Who may do what at the desk: the roles and their ranks, the least a
//! caller needs for each API operation, and the rules for changing a role.
//! The handlers ask [`Action::access`]; the permission matrix test walks
//! [`OPERATIONS`] against the API document, so an operation that is not
//! listed here fails it and every new endpoint has to declare itself.

/// A desk role, lowest first; each includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    User,
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::User, Role::Agent, Role::Supervisor, Role::Admin];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role stored as `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// 0 (user) to 3 (admin), as `Staff<RANK>` counts.
    pub const fn rank(self) -> u8 {
        self as u8
    }
}

/// The least a caller needs for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (each such operation says why below).
    Public,
    /// The ticket's requester (signed in, or holding a lookup grant), or an
    /// agent; anyone else is told the ticket does not exist (404).
    Requester,
    /// Staff of at least this role, on a ticket: others who may not see the
    /// ticket get 404, its requester 403.
    StaffOnTicket(Role),
    /// Staff of at least this role; every other signed-in caller gets 403.
    Staff(Role),
    /// The ticket's requester only (escalating is theirs to ask): others
    /// who may not see the ticket get 404, staff 403.
    RequesterOnly,
}

/// What a caller does at the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Opening a ticket: the support form works signed out.
    OpenTicket,
    /// Asking for a lookup code: signed out is its point, and the answer
    /// is the same for every number.
    RequestLookup,
    /// Trading the code for a grant: the same, answered alike for all.
    CheckLookup,
    ReadTicket,
    AddMessage,
    Triage,
    ReadQueue,
    ChangeTicket,
    ReadSecurityContext,
    VerifyIdentity,
    ActOnAccount,
    ReadRoles,
    ChangeRole,
    /// Uploading a file before opening a ticket: the form works signed out.
    Upload,
    ReadAttachments,
    RequestDocument,
    MergeOrSplit,
    Escalate,
    ReadRouting,
    AdministerRouting,
    ReadLibrary,
    UseLibrary,
    AdministerLibrary,
    /// Approving or rejecting documented answers: four eyes, a supervisor.
    DecideVerification,
    ReadTriagePhrases,
    AdministerTriage,
    /// What the category forms ask: the form is shown before sign-in.
    ReadForms,
    AdministerForms,
    /// Changing many tickets at once: each ticket as a single change would.
    ChangeTickets,
    /// Reading who changed the canned responses and macros.
    ReadLibraryChanges,
    /// Reading the inbound mails no rule could place.
    ReadInboundMail,
    /// Placing one: on a ticket, as a new ticket, or nowhere.
    PlaceInboundMail,
    /// Reading or answering a satisfaction survey by its link: the link's
    /// unguessable token is the credential (the requester may be signed out).
    AnswerSurveyByLink,
    /// Reading a ticket's satisfaction rating.
    ReadSatisfaction,
    /// Rating a ticket: its requester's alone.
    RateTicket,
    /// Satisfaction reports and their export.
    ReadSatisfactionReport,
    /// Reading the desk's reports (volumes, times, SLA, backlog, triage).
    ReadReports,
}

impl Action {
    /// The least a caller needs for the action.
    pub const fn access(self) -> Access {
        match self {
            Action::OpenTicket
            | Action::RequestLookup
            | Action::CheckLookup
            | Action::Upload
            | Action::ReadForms
            | Action::AnswerSurveyByLink => Access::Public,
            Action::ReadTicket
            | Action::AddMessage
            | Action::ReadAttachments
            | Action::ReadSatisfaction => Access::Requester,
            Action::Escalate | Action::RateTicket => Access::RequesterOnly,
            Action::Triage
            | Action::ReadQueue
            | Action::ReadLibrary
            | Action::ChangeTickets
            | Action::ReadInboundMail
            | Action::PlaceInboundMail => Access::Staff(Role::Agent),
            Action::ChangeTicket
            | Action::ReadSecurityContext
            | Action::VerifyIdentity
            | Action::ActOnAccount
            | Action::RequestDocument
            | Action::MergeOrSplit
            | Action::UseLibrary => Access::StaffOnTicket(Role::Agent),
            Action::DecideVerification => Access::StaffOnTicket(Role::Supervisor),
            Action::ReadRouting
            | Action::ReadTriagePhrases
            | Action::ReadLibraryChanges
            | Action::ReadSatisfactionReport
            | Action::ReadReports => Access::Staff(Role::Supervisor),
            Action::ReadRoles
            | Action::ChangeRole
            | Action::AdministerRouting
            | Action::AdministerLibrary
            | Action::AdministerTriage
            | Action::AdministerForms => Access::Staff(Role::Admin),
        }
    }

    /// The rank a `Staff<RANK>` extractor needs for the action (0 for
    /// actions that are not staff-only).
    pub const fn rank(self) -> u8 {
        match self.access() {
            Access::Staff(role) | Access::StaffOnTicket(role) => role.rank(),
            Access::Public | Access::Requester | Access::RequesterOnly => 0,
        }
    }
}

/// Every desk API operation: method, path as the API document writes it,
/// and its action.
pub const OPERATIONS: &[(&str, &str, Action)] = &[
    ("get", "/api/v1/desk/mail", Action::ReadInboundMail),
    (
        "post",
        "/api/v1/desk/mail/{id}/place",
        Action::PlaceInboundMail,
    ),
    ("post", "/api/v1/desk/tickets", Action::OpenTicket),
    ("get", "/api/v1/desk/tickets", Action::ReadQueue),
    (
        "get",
        "/api/v1/desk/tickets/{reference}",
        Action::ReadTicket,
    ),
    (
        "patch",
        "/api/v1/desk/tickets/{reference}",
        Action::ChangeTicket,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/messages",
        Action::AddMessage,
    ),
    ("post", "/api/v1/desk/triage", Action::Triage),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/security-context",
        Action::ReadSecurityContext,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/verifications",
        Action::VerifyIdentity,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/verifications/{id}/check",
        Action::VerifyIdentity,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/account-actions",
        Action::ActOnAccount,
    ),
    ("post", "/api/v1/desk/lookups", Action::RequestLookup),
    ("post", "/api/v1/desk/lookups/check", Action::CheckLookup),
    ("get", "/api/v1/desk/agents", Action::ReadRoles),
    (
        "put",
        "/api/v1/desk/agents/{account_id}",
        Action::ChangeRole,
    ),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/verifications",
        Action::VerifyIdentity,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/verifications/second-factor",
        Action::VerifyIdentity,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/verifications/documented",
        Action::VerifyIdentity,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/verifications/{id}/decision",
        Action::DecideVerification,
    ),
    (
        "get",
        "/api/v1/desk/triage/phrases",
        Action::ReadTriagePhrases,
    ),
    (
        "post",
        "/api/v1/desk/triage/phrases",
        Action::AdministerTriage,
    ),
    (
        "delete",
        "/api/v1/desk/triage/phrases/{id}",
        Action::AdministerTriage,
    ),
    ("get", "/api/v1/desk/canned-responses", Action::ReadLibrary),
    (
        "post",
        "/api/v1/desk/canned-responses",
        Action::AdministerLibrary,
    ),
    (
        "put",
        "/api/v1/desk/canned-responses/{id}",
        Action::AdministerLibrary,
    ),
    (
        "delete",
        "/api/v1/desk/canned-responses/{id}",
        Action::AdministerLibrary,
    ),
    ("get", "/api/v1/desk/macros", Action::ReadLibrary),
    ("post", "/api/v1/desk/macros", Action::AdministerLibrary),
    ("put", "/api/v1/desk/macros/{id}", Action::AdministerLibrary),
    (
        "delete",
        "/api/v1/desk/macros/{id}",
        Action::AdministerLibrary,
    ),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/canned-responses/{id}",
        Action::UseLibrary,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/macros/{id}",
        Action::UseLibrary,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/escalate",
        Action::Escalate,
    ),
    ("get", "/api/v1/desk/admin/teams", Action::ReadRouting),
    (
        "post",
        "/api/v1/desk/admin/teams",
        Action::AdministerRouting,
    ),
    (
        "put",
        "/api/v1/desk/admin/teams/{slug}",
        Action::AdministerRouting,
    ),
    (
        "delete",
        "/api/v1/desk/admin/teams/{slug}",
        Action::AdministerRouting,
    ),
    (
        "put",
        "/api/v1/desk/admin/teams/{slug}/members/{account_id}",
        Action::AdministerRouting,
    ),
    (
        "delete",
        "/api/v1/desk/admin/teams/{slug}/members/{account_id}",
        Action::AdministerRouting,
    ),
    ("get", "/api/v1/desk/admin/calendars", Action::ReadRouting),
    (
        "post",
        "/api/v1/desk/admin/calendars",
        Action::AdministerRouting,
    ),
    (
        "put",
        "/api/v1/desk/admin/calendars/{id}",
        Action::AdministerRouting,
    ),
    (
        "get",
        "/api/v1/desk/admin/sla-policies",
        Action::ReadRouting,
    ),
    (
        "put",
        "/api/v1/desk/admin/sla-policies",
        Action::AdministerRouting,
    ),
    ("post", "/api/v1/desk/uploads", Action::Upload),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/attachments",
        Action::ReadAttachments,
    ),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/attachments/{id}",
        Action::ReadAttachments,
    ),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/attachments/{id}/thumbnail",
        Action::ReadAttachments,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/document-requests",
        Action::RequestDocument,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/merge",
        Action::MergeOrSplit,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/split",
        Action::MergeOrSplit,
    ),
    ("get", "/api/v1/desk/forms", Action::ReadForms),
    (
        "put",
        "/api/v1/desk/forms/{category}",
        Action::AdministerForms,
    ),
    ("post", "/api/v1/desk/tickets/bulk", Action::ChangeTickets),
    (
        "get",
        "/api/v1/desk/library/changes",
        Action::ReadLibraryChanges,
    ),
    (
        "get",
        "/api/v1/desk/surveys/{token}",
        Action::AnswerSurveyByLink,
    ),
    (
        "post",
        "/api/v1/desk/surveys/{token}",
        Action::AnswerSurveyByLink,
    ),
    (
        "get",
        "/api/v1/desk/tickets/{reference}/satisfaction",
        Action::ReadSatisfaction,
    ),
    (
        "post",
        "/api/v1/desk/tickets/{reference}/satisfaction",
        Action::RateTicket,
    ),
    (
        "get",
        "/api/v1/desk/reports/satisfaction",
        Action::ReadSatisfactionReport,
    ),
    (
        "get",
        "/api/v1/desk/reports/satisfaction/export",
        Action::ReadSatisfactionReport,
    ),
    ("get", "/api/v1/desk/reports/volume", Action::ReadReports),
    ("get", "/api/v1/desk/reports/times", Action::ReadReports),
    ("get", "/api/v1/desk/reports/sla", Action::ReadReports),
    ("get", "/api/v1/desk/reports/backlog", Action::ReadReports),
    ("get", "/api/v1/desk/reports/triage", Action::ReadReports),
];

/// The access an operation needs; `None` for one that is not listed.
pub fn operation(method: &str, path: &str) -> Option<Access> {
    OPERATIONS
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == path)
        .map(|(_, _, action)| action.access())
}

/// Why a role change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChangeRefused {
    /// Granting a role above the actor's own, or changing the role of
    /// someone who outranks the actor.
    AboveOwnRank,
    /// It would leave the desk without an admin.
    LastAdmin,
}

/// Decides a role change by `actor` of an account from `from` to `to`,
/// when `admins` accounts are admins now.
pub fn decide_role_change(
    actor: Role,
    from: Role,
    to: Role,
    admins: i64,
) -> Result<(), RoleChangeRefused> {
    if to > actor || from > actor {
        return Err(RoleChangeRefused::AboveOwnRank);
    }
    if from == Role::Admin && to != Role::Admin && admins <= 1 {
        return Err(RoleChangeRefused::LastAdmin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_rank_in_order_and_read_back() {
        for pair in Role::ALL.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(pair[0].rank() < pair[1].rank());
        }
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn each_operation_is_listed_once() {
        for (i, (m, p, _)) in OPERATIONS.iter().enumerate() {
            assert!(
                OPERATIONS[i + 1..]
                    .iter()
                    .all(|(m2, p2, _)| (m, p) != (m2, p2)),
                "{m} {p} listed twice"
            );
            assert!(p.starts_with("/api/v1/desk/"), "{p}");
        }
        assert_eq!(
            operation("PUT", "/api/v1/desk/agents/{account_id}"),
            Some(Access::Staff(Role::Admin))
        );
        assert_eq!(operation("get", "/api/v1/desk/nothing"), None);
    }

    #[test]
    fn staff_ranks_match_their_access() {
        assert_eq!(Action::Triage.rank(), 1);
        assert_eq!(Action::ChangeRole.rank(), 3);
        assert_eq!(Action::ReadTicket.rank(), 0);
    }

    #[test]
    fn role_changes_table() {
        use Role::*;
        use RoleChangeRefused::*;
        let table = [
            // actor, from, to, admins now, answer
            (Admin, User, Agent, 1, Ok(())),
            (Admin, User, Admin, 1, Ok(())),
            (Admin, Admin, Supervisor, 2, Ok(())),
            (Admin, Admin, User, 1, Err(LastAdmin)),
            (Admin, Admin, Admin, 1, Ok(())),
            (Supervisor, User, Agent, 1, Ok(())),
            (Supervisor, User, Supervisor, 1, Ok(())),
            (Supervisor, User, Admin, 1, Err(AboveOwnRank)),
            (Supervisor, Admin, User, 3, Err(AboveOwnRank)),
            (Agent, User, Supervisor, 1, Err(AboveOwnRank)),
        ];
        for (actor, from, to, admins, answer) in table {
            assert_eq!(
                decide_role_change(actor, from, to, admins),
                answer,
                "{actor:?} {from:?}->{to:?} with {admins} admins"
            );
        }
    }

    #[test]
    fn nobody_ever_grants_above_their_rank_nor_removes_the_last_admin() {
        for actor in Role::ALL {
            for from in Role::ALL {
                for to in Role::ALL {
                    for admins in 0..3 {
                        if decide_role_change(actor, from, to, admins).is_ok() {
                            assert!(to <= actor && from <= actor);
                            assert!(!(from == Role::Admin && to != Role::Admin && admins <= 1));
                        }
                    }
                }
            }
        }
    }
}
