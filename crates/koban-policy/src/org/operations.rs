//! Who may call each organization operation of the API: the table the
//! authorization matrix test walks against the API document, so a new
//! endpoint that is not listed here fails it and has to declare itself.

use super::roles::Permission;

/// The least a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone signed in (creating an organization, listing one's own, and
    /// answering an invitation, which checks the invitee itself).
    SignedIn,
    /// An active member of the organization holding the permission; anyone
    /// not in it is told it does not exist (404), a member without it 403.
    Member(Permission),
    /// An active member holding both permissions.
    MemberWithBoth(Permission, Permission),
    /// The platform's desk admins (the plan, which is the support tier).
    DeskAdmin,
}

use Access::*;
use Permission as P;

/// (method, path template, access) for every organization operation.
pub const OPERATIONS: &[(&str, &str, Access)] = &[
    ("post", "/api/v1/orgs", SignedIn),
    ("get", "/api/v1/orgs", SignedIn),
    ("get", "/api/v1/orgs/{org}", Member(P::ReadOrganization)),
    ("patch", "/api/v1/orgs/{org}", Member(P::ManageOrganization)),
    ("put", "/api/v1/orgs/{org}/plan", DeskAdmin),
    ("get", "/api/v1/orgs/{org}/members", Member(P::ReadMembers)),
    (
        "get",
        "/api/v1/orgs/{org}/members/{account}",
        Member(P::ReadMembers),
    ),
    (
        "delete",
        "/api/v1/orgs/{org}/members/{account}",
        Member(P::ManageMembers),
    ),
    (
        "put",
        "/api/v1/orgs/{org}/members/{account}/roles",
        Member(P::ManageRoles),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/members/{account}/suspension",
        Member(P::ManageMembers),
    ),
    (
        "delete",
        "/api/v1/orgs/{org}/members/{account}/suspension",
        Member(P::ManageMembers),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/invites",
        Member(P::InviteMembers),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/invites",
        Member(P::InviteMembers),
    ),
    (
        "delete",
        "/api/v1/orgs/{org}/invites/{invite}",
        Member(P::InviteMembers),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/roles",
        Member(P::ReadOrganization),
    ),
    ("post", "/api/v1/orgs/{org}/roles", Member(P::ManageRoles)),
    (
        "put",
        "/api/v1/orgs/{org}/roles/{role}",
        Member(P::ManageRoles),
    ),
    (
        "delete",
        "/api/v1/orgs/{org}/roles/{role}",
        Member(P::ManageRoles),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/audit/verification",
        Member(P::ReadAudit),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/audit/entries",
        Member(P::ReadAudit),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/audit/export",
        Member(P::ExportAudit),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/imports",
        Member(P::InviteMembers),
    ),
    ("get", "/api/v1/orgs/{org}/devices", Member(P::ReadDevices)),
    ("get", "/api/v1/orgs/{org}/policy", Member(P::ReadPolicies)),
    (
        "put",
        "/api/v1/orgs/{org}/policy",
        Member(P::ManagePolicies),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/members/{account}/devices/freeze",
        Member(P::FreezeDevices),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/members/{account}/devices/unfreeze",
        Member(P::FreezeDevices),
    ),
    ("get", "/api/v1/orgs/{org}/access", Member(P::ReviewAccess)),
    (
        "get",
        "/api/v1/orgs/{org}/access-reviews",
        Member(P::ReviewAccess),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/access-reviews",
        Member(P::ReviewAccess),
    ),
    (
        "put",
        "/api/v1/orgs/{org}/access-review-schedule",
        Member(P::ReviewAccess),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/access-reviews/{review}",
        Member(P::ReviewAccess),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/access-reviews/{review}/members",
        Member(P::ReviewAccess),
    ),
    (
        "put",
        "/api/v1/orgs/{org}/access-reviews/{review}/members/{account}",
        Member(P::ReviewAccess),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/access-reviews/{review}/sign-off",
        Member(P::ReviewAccess),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/onboarding/me",
        Member(P::ReadOrganization),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/onboarding/me/{item}",
        Member(P::ReadOrganization),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/onboarding",
        Member(P::ReadDevices),
    ),
    (
        "put",
        "/api/v1/orgs/{org}/security-notice",
        Member(P::ManagePolicies),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/domains",
        Member(P::ReadOrganization),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/domains",
        Member(P::ManageOrganization),
    ),
    (
        "post",
        "/api/v1/orgs/{org}/domains/{domain}/verification",
        Member(P::ManageOrganization),
    ),
    (
        "patch",
        "/api/v1/orgs/{org}/domains/{domain}",
        Member(P::ManageOrganization),
    ),
    (
        "delete",
        "/api/v1/orgs/{org}/domains/{domain}",
        Member(P::ManageOrganization),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/tickets",
        Member(P::ReadOrganizationTickets),
    ),
    (
        "get",
        "/api/v1/orgs/{org}/support-subscription",
        Member(P::ReadOrganizationTickets),
    ),
    (
        "put",
        "/api/v1/orgs/{org}/support-subscription",
        Member(P::ReadOrganizationTickets),
    ),
    // For an audit excerpt (the `devices` kind needs devices.read); the
    // ticket's own requester does without support.read_all.
    (
        "post",
        "/api/v1/orgs/{org}/tickets/{reference}/evidence",
        MemberWithBoth(P::ReadOrganizationTickets, P::ReadAudit),
    ),
    // Checks the caller's own address: anyone else is told 404.
    ("post", "/api/v1/orgs/{org}/join", SignedIn),
    ("post", "/api/v1/invites/preview", SignedIn),
    ("post", "/api/v1/invites/accept", SignedIn),
    ("post", "/api/v1/invites/decline", SignedIn),
];

/// The access of `method path`, if the table lists it.
pub fn operation(method: &str, path: &str) -> Option<Access> {
    OPERATIONS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, access)| *access)
}
