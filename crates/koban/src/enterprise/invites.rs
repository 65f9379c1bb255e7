//! Invitations: sent by email or SMS with a link and a code, accepted or
//! declined by the person they were sent to (signed in with that verified
//! contact), revoked by an administrator. A link or code works once, until
//! it expires, and only for its own organization.

use super::access::{self, account_ref};
use super::store::{self, invites::InviteRow};
use super::EnterpriseError;
use crate::accounts::store::{self as accounts_store, Account};
use crate::crypto::{constant_time_eq, random_token};
use crate::delivery::{self, Channel, Outgoing};
use crate::state::App;
use crate::store::{now_ms, Change};
use crate::web::i18n::{t, Lang};
use koban_policy::contact::{self, Contact};
use koban_policy::org::roles::{self as rules, BuiltIn};
use rand::Rng;
use serde_json::json;

/// How long an invitation stays open.
pub const VALID_FOR_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Wrong codes after which an invitation's code stops working (its link
/// still works): eight digits cannot be guessed in five tries.
const MAX_CODE_FAILURES: i64 = 5;
const TOKEN_PURPOSE: &str = "org-invite-token";
const CODE_PURPOSE: &str = "org-invite-code";
/// Delivery purpose, for the outbox and the delivery records.
pub const PURPOSE: &str = "org_invite";

fn token_hash(app: &App, token: &str) -> String {
    app.key.keyed_hash(TOKEN_PURPOSE, token.as_bytes())
}

fn code_hash(app: &App, invite_id: i64, code: &str) -> String {
    app.key
        .keyed_hash(CODE_PURPOSE, format!("{invite_id}:{code}").as_bytes())
}

/// What an administrator asks for.
pub struct Invitation<'a> {
    pub contact: &'a str,
    pub region: Option<&'a str>,
    pub display_name: &'a str,
    pub roles: &'a [String],
    /// The language of the message.
    pub lang: Lang,
}

/// Sends an invitation; returns it.
pub async fn invite(
    app: &App,
    actor: i64,
    org_id: i64,
    invitation: Invitation<'_>,
) -> Result<InviteRow, EnterpriseError> {
    let contact = contact::parse_identifier(invitation.contact, invitation.region)
        .map_err(|_| EnterpriseError::field("contact", "invalid_value"))?;
    let display_name = invitation.display_name.trim();
    if display_name.chars().count() > 100 || display_name.chars().any(char::is_control) {
        return Err(EnterpriseError::field("display_name", "invalid_value"));
    }
    app.limiter
        .check_account(&format!("org-invite:{org_id}"))
        .map_err(EnterpriseError::RateLimited)?;
    let (mut change, me, customs) = access::change_in(app, org_id, actor).await?;
    let keys = if invitation.roles.is_empty() {
        vec![BuiltIn::Member.key().to_string()]
    } else {
        invitation.roles.to_vec()
    };
    let roles = access::parse_keys(&keys, &customs, "roles")?;
    rules::may_invite(me.permissions, &roles)?;
    let role_keys: Vec<String> = roles.iter().map(|r| r.key.clone()).collect();
    if let Some((account, _)) = accounts_store::find_with_hash(&mut *change.tx, &contact).await? {
        if store::members::find(&mut *change.tx, org_id, account.id)
            .await?
            .is_some()
        {
            return Err(EnterpriseError::Conflict("org-already-member"));
        }
    }
    let now = now_ms();
    store::invites::expire_stale(&mut change.tx, org_id, contact.as_str(), now).await?;
    let id = send_in(
        app,
        &mut change,
        &Sending {
            org_id,
            org_name: &me.org.name,
            actor,
            lang: invitation.lang,
            now,
        },
        &contact,
        display_name,
        &role_keys,
    )
    .await?
    .ok_or(EnterpriseError::Conflict("org-invite-pending"))?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "invite.sent",
        &format!("invite:{id}"),
        json!({ "contact": contact.as_str(), "roles": role_keys }),
    )
    .await?;
    let row = store::invites::find(&mut *change.tx, org_id, id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(row)
}

/// What every invitation of one request shares.
pub struct Sending<'a> {
    pub org_id: i64,
    pub org_name: &'a str,
    pub actor: i64,
    pub lang: Lang,
    pub now: i64,
}

/// Stores an invitation and queues its message inside `change`; None when
/// one is pending for the contact already.
pub async fn send_in(
    app: &App,
    change: &mut Change,
    sending: &Sending<'_>,
    contact: &Contact,
    display_name: &str,
    role_keys: &[String],
) -> Result<Option<i64>, EnterpriseError> {
    let token = random_token(32);
    let code = format!("{:08}", rand::rngs::OsRng.gen_range(0..100_000_000u32));
    let Some(id) = store::invites::insert(
        &mut change.tx,
        &store::invites::NewInvite {
            org_id: sending.org_id,
            contact: contact.as_str(),
            display_name,
            roles: role_keys,
            token_hash: &token_hash(app, &token),
            created_by: sending.actor,
            now: sending.now,
            expires_at: sending.now + VALID_FOR_MS,
        },
    )
    .await?
    else {
        return Ok(None);
    };
    store::invites::set_code_hash(&mut change.tx, id, &code_hash(app, id, &code)).await?;
    let link = format!("{}/invites/{token}", app.config.public_base());
    let args = [
        ("organization", sending.org_name.to_string()),
        ("code", code),
        ("link", link),
    ];
    let (channel, body_id) = match contact {
        Contact::Email(_) => (Channel::Email, "org-invite-body-email"),
        Contact::Phone(_) => (Channel::Sms, "org-invite-body-sms"),
    };
    delivery::queue(
        &mut change.tx,
        &app.key,
        app.config.delivery_mode == "live",
        Outgoing {
            account_id: None,
            purpose: PURPOSE.to_string(),
            channel,
            destination: contact.as_str().to_string(),
            subject: t(sending.lang, "org-invite-subject", &args),
            body: t(sending.lang, body_id, &args),
            mail: None,
        },
    )
    .await?;
    Ok(Some(id))
}

/// Pending invitations with an id below `before`, newest first, at most
/// `limit` (`members.invite`).
pub async fn pending(
    app: &App,
    actor: i64,
    org_id: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<InviteRow>, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(koban_policy::org::roles::Permission::InviteMembers)?;
    Ok(store::invites::pending(app.store.read(), org_id, before, limit).await?)
}

/// Revokes a pending invitation.
pub async fn revoke(app: &App, actor: i64, org_id: i64, id: i64) -> Result<(), EnterpriseError> {
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(koban_policy::org::roles::Permission::InviteMembers)?;
    let invite = store::invites::find(&mut *change.tx, org_id, id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let now = now_ms();
    if !store::invites::decide(&mut change.tx, invite.id, "revoked", None, now).await? {
        return Err(EnterpriseError::InviteGone("org-invite-decided"));
    }
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "invite.revoked",
        &format!("invite:{id}"),
        json!({ "contact": invite.contact }),
    )
    .await?;
    change.commit().await?;
    Ok(())
}

/// How the invited person names their invitation.
pub enum Proof<'a> {
    /// The link's token.
    Token(&'a str),
    /// The organization and the code from the message.
    Code { org_id: i64, code: &'a str },
}

/// The contacts of `account` that are verified: an invitation is for
/// whoever proved they hold its address.
fn verified_contacts(account: &Account) -> Vec<String> {
    let mut contacts = Vec::new();
    if let (Some(email), true) = (&account.email, account.email_verified) {
        contacts.push(email.clone());
    }
    if let (Some(phone), true) = (&account.phone, account.phone_verified) {
        contacts.push(phone.clone());
    }
    contacts
}

/// Finds the invitation `proof` names for `account`, inside `change`. A
/// wrong code is counted (and committed) before it is refused.
async fn find_for(
    app: &App,
    change: &mut Change,
    account: &Account,
    proof: &Proof<'_>,
) -> Result<InviteRow, EnterpriseError> {
    let contacts = verified_contacts(account);
    let invite = match proof {
        Proof::Token(token) => store::invites::by_token(&mut *change.tx, &token_hash(app, token))
            .await?
            // Someone else's invitation reads as no invitation.
            .filter(|i| contacts.contains(&i.contact))
            .ok_or(EnterpriseError::NotFound)?,
        Proof::Code { org_id, code } => {
            let invite = store::invites::latest_for(&mut *change.tx, *org_id, &contacts)
                .await?
                .ok_or(EnterpriseError::NotFound)?;
            if invite.status == "pending" {
                if invite.code_failures >= MAX_CODE_FAILURES {
                    return Err(EnterpriseError::Conflict("org-invite-code-locked"));
                }
                let given = code_hash(app, invite.id, code.trim());
                if !constant_time_eq(given.as_bytes(), invite.code_hash.as_bytes()) {
                    store::invites::count_code_failure(&mut change.tx, invite.id).await?;
                    return Err(EnterpriseError::field("code", "code_invalid"));
                }
            }
            invite
        }
    };
    if invite.status != "pending" {
        return Err(EnterpriseError::InviteGone("org-invite-decided"));
    }
    if invite.expires_at <= now_ms() {
        return Err(EnterpriseError::InviteGone("org-invite-expired"));
    }
    Ok(invite)
}

/// Accepts or declines the invitation `proof` names.
pub async fn decide(
    app: &App,
    account_id: i64,
    proof: Proof<'_>,
    accept: bool,
) -> Result<InviteRow, EnterpriseError> {
    app.limiter
        .check_account(&format!("org-invite-answer:{account_id}"))
        .map_err(EnterpriseError::RateLimited)?;
    let account = accounts_store::find_by_id(app.store.read(), account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let mut change = app.store.change().await?;
    let invite = match find_for(app, &mut change, &account, &proof).await {
        Ok(invite) => invite,
        Err(refusal) => {
            // A wrong code's count must stay.
            change.commit().await?;
            return Err(refusal);
        }
    };
    let org_id = invite.org_id;
    store::lock_org(&mut change.tx, app.store.backend(), org_id).await?;
    let now = now_ms();
    let status = if accept { "accepted" } else { "declined" };
    if !store::invites::decide(&mut change.tx, invite.id, status, Some(account_id), now).await? {
        return Err(EnterpriseError::InviteGone("org-invite-decided"));
    }
    let mut joined_roles = Vec::new();
    if accept {
        if store::members::find(&mut *change.tx, org_id, account_id)
            .await?
            .is_some()
        {
            return Err(EnterpriseError::Conflict("org-already-member"));
        }
        // A custom role deleted since the invitation is dropped; nobody
        // joins with no role at all.
        let customs = store::roles::all(&mut *change.tx, org_id).await?;
        joined_roles = access::resolve(&invite.roles, &customs)
            .into_iter()
            .map(|r| r.key)
            .collect();
        if joined_roles.is_empty() {
            joined_roles.push(BuiltIn::Member.key().to_string());
        }
        store::members::insert(
            &mut change.tx,
            org_id,
            account_id,
            &invite.display_name,
            &joined_roles,
            now,
        )
        .await?;
    }
    access::record(
        app,
        &mut change,
        org_id,
        account_id,
        if accept {
            "member.joined"
        } else {
            "invite.declined"
        },
        &format!("invite:{}", invite.id),
        json!({ "invited_by": account_ref(invite.created_by), "roles": joined_roles }),
    )
    .await?;
    let row = store::invites::find(&mut *change.tx, org_id, invite.id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    Ok(row)
}

/// What the invited person sees before answering.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct InvitePreview {
    pub id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    pub roles: Vec<String>,
    pub expires_at: i64,
}

/// Previews the invitation behind a link's token, for its own invitee.
pub async fn preview(
    app: &App,
    account_id: i64,
    token: &str,
) -> Result<InvitePreview, EnterpriseError> {
    let account = accounts_store::find_by_id(app.store.read(), account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let mut change = app.store.change().await?;
    let invite = find_for(app, &mut change, &account, &Proof::Token(token)).await?;
    let org = store::orgs::find(&mut *change.tx, invite.org_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    Ok(InvitePreview {
        id: invite.id,
        organization_id: org.id,
        organization_name: org.name,
        roles: invite.roles,
        expires_at: invite.expires_at,
    })
}

/// The invitations open to the caller's verified addresses, for the list
/// they answer with the code of the message.
pub async fn open_to_me(app: &App, account_id: i64) -> Result<Vec<InvitePreview>, EnterpriseError> {
    let account = accounts_store::find_by_id(app.store.read(), account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let open =
        store::invites::open_to(app.store.read(), &verified_contacts(&account), now_ms()).await?;
    Ok(open
        .into_iter()
        .map(|(invite, organization_name)| InvitePreview {
            id: invite.id,
            organization_id: invite.org_id,
            organization_name,
            roles: invite.roles,
            expires_at: invite.expires_at,
        })
        .collect())
}
