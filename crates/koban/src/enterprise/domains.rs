//! Verified email domains: an organization claims a domain, proves it by a
//! DNS TXT record or by a code sent to an administrative mailbox of it, and
//! may then let people with a verified address there join on their own.
//! A domain is proven by one organization at a time; public mail services
//! cannot be claimed at all.

use super::access::{self, account_ref};
use super::store::{self, domains as rows, domains::DomainRow};
use super::EnterpriseError;
use crate::accounts::store as accounts_store;
use crate::crypto::{constant_time_eq, random_token};
use crate::delivery::{self, Channel, Outgoing};
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::org::domains::{self as rules, Refusal};
use koban_policy::org::roles::{BuiltIn, Permission};
use rand::Rng;
use serde_json::json;

const CODE_PURPOSE: &str = "org-domain-code";
/// Delivery purpose of the code that proves a domain.
pub const PURPOSE: &str = "org_domain_code";
const MAX_CODE_FAILURES: i64 = 5;

/// A domain as members see it, with the record to publish while a DNS
/// proof is pending.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DomainView {
    #[serde(flatten)]
    pub domain: DomainRow,
    /// Publish a TXT record under this name…
    pub txt_name: Option<String>,
    /// …holding exactly this text, then ask to verify.
    pub txt_value: Option<String>,
}

impl From<DomainRow> for DomainView {
    fn from(row: DomainRow) -> DomainView {
        let pending_dns = row.status == "pending" && row.method == "dns";
        DomainView {
            txt_name: pending_dns.then(|| rules::txt_name(&row.domain)),
            txt_value: pending_dns.then(|| rules::txt_value(&row.token)),
            domain: row,
        }
    }
}

/// The stored form of what a client typed: Unicode names become `xn--`.
fn checked(domain: &str) -> Result<String, EnterpriseError> {
    let ascii = idna::domain_to_ascii(domain.trim())
        .map_err(|_| EnterpriseError::field("domain", "invalid_value"))?;
    rules::checked(&ascii).map_err(|refusal| match refusal {
        Refusal::Invalid => EnterpriseError::field("domain", "invalid_value"),
        Refusal::PublicMail => EnterpriseError::field("domain", "public_mail_domain"),
    })
}

fn code_hash(app: &App, id: i64, code: &str) -> String {
    app.key
        .keyed_hash(CODE_PURPOSE, format!("{id}:{code}").as_bytes())
}

/// The organization's domains (every member).
pub async fn list(app: &App, actor: i64, org_id: i64) -> Result<Vec<DomainView>, EnterpriseError> {
    access::acting(app, org_id, actor).await?;
    let rows = rows::list(app.store.read(), org_id).await?;
    Ok(rows.into_iter().map(DomainView::from).collect())
}

/// Claims a domain (`organization.manage`), or starts its proof again:
/// `dns` gives the TXT record to publish, `email` sends a code to
/// `mailbox@domain`, one of the administrative mailboxes.
pub async fn claim(
    app: &App,
    actor: i64,
    org_id: i64,
    domain: &str,
    method: &str,
    mailbox: Option<&str>,
) -> Result<DomainView, EnterpriseError> {
    let domain = checked(domain)?;
    let mailbox = match (method, mailbox) {
        ("dns", _) => None,
        ("email", Some(local)) => Some(
            rules::proof_mailbox(local)
                .ok_or(EnterpriseError::field("mailbox", "not_administrative"))?,
        ),
        ("email", None) => return Err(EnterpriseError::field("mailbox", "required")),
        _ => return Err(EnterpriseError::field("method", "invalid_value")),
    };
    app.limiter
        .check_account(&format!("org-domain:{actor}"))
        .map_err(EnterpriseError::RateLimited)?;
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ManageOrganization)?;
    if rows::verified_elsewhere(&mut *change.tx, org_id, &domain).await? {
        return Err(EnterpriseError::Conflict("org-domain-taken"));
    }
    if let Some(existing) = rows::find(&mut *change.tx, org_id, &domain).await? {
        if existing.status == "verified" {
            return Err(EnterpriseError::Conflict("org-domain-verified"));
        }
    } else if rows::list(&mut *change.tx, org_id).await?.len() >= 50 {
        return Err(EnterpriseError::Conflict("org-too-many-domains"));
    }
    let now = now_ms();
    let id = rows::upsert_pending(
        &mut change.tx,
        &rows::NewDomain {
            org_id,
            domain: &domain,
            method,
            token: &random_token(16),
            mailbox,
            created_by: actor,
            now,
        },
    )
    .await?;
    if let Some(local) = mailbox {
        let code = format!("{:08}", rand::rngs::OsRng.gen_range(0..100_000_000u32));
        rows::set_code_hash(&mut change.tx, id, &code_hash(app, id, &code)).await?;
        let lang = accounts_store::find_by_id(&mut *change.tx, actor)
            .await?
            .and_then(|a| a.locale)
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or(Lang::En);
        let args = [
            ("organization", me.org.name.clone()),
            ("domain", domain.clone()),
            ("code", code),
        ];
        delivery::queue(
            &mut change.tx,
            &app.key,
            app.config.delivery_mode == "live",
            Outgoing {
                account_id: None,
                purpose: PURPOSE.to_string(),
                channel: Channel::Email,
                destination: format!("{local}@{domain}"),
                subject: t(lang, "org-domain-code-subject", &args),
                body: t(lang, "org-domain-code-body", &args),
                mail: None,
            },
        )
        .await?;
    }
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "domain.claimed",
        &format!("domain:{domain}"),
        json!({ "method": method, "mailbox": mailbox }),
    )
    .await?;
    let row = rows::find(&mut *change.tx, org_id, &domain)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(row.into())
}

/// Checks the proof of a pending domain: the TXT record (looked up now,
/// outside any transaction) or the code.
pub async fn verify(
    app: &App,
    actor: i64,
    org_id: i64,
    domain: &str,
    code: Option<&str>,
) -> Result<DomainView, EnterpriseError> {
    let domain = checked(domain).map_err(|_| EnterpriseError::NotFound)?;
    app.limiter
        .check_account(&format!("org-domain:{actor}"))
        .map_err(EnterpriseError::RateLimited)?;
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ManageOrganization)?;
    let row = rows::find(app.store.read(), org_id, &domain)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    if row.status == "verified" {
        return Ok(row.into());
    }
    if row.method == "dns" {
        let resolver = crate::dns::resolver(&app.config.dns_resolver)
            .map_err(|_| EnterpriseError::Conflict("org-domain-dns-failed"))?;
        let records = crate::dns::txt_records(resolver, &rules::txt_name(&domain))
            .await
            .map_err(|error| {
                tracing::warn!(%error, domain, "TXT lookup failed");
                EnterpriseError::Conflict("org-domain-dns-failed")
            })?;
        if !rules::txt_proves(&records, &row.token) {
            return Err(EnterpriseError::Conflict("org-domain-unproven"));
        }
    }
    let (mut change, _, _) = access::change_in(app, org_id, actor).await?;
    // Read again: the claim may have been started over meanwhile.
    let row = rows::find(&mut *change.tx, org_id, &domain)
        .await?
        .filter(|r| r.id == row.id && r.token == row.token)
        .ok_or(EnterpriseError::Conflict("org-domain-unproven"))?;
    if row.method == "email" {
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        let code = code.ok_or(EnterpriseError::field("code", "required"))?;
        if row.code_failures >= MAX_CODE_FAILURES {
            return Err(EnterpriseError::Conflict("org-domain-code-locked"));
        }
        let given = code_hash(app, row.id, code);
        let stored = row.code_hash.clone().unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), stored.as_bytes()) {
            rows::count_code_failure(&mut change.tx, row.id).await?;
            change.commit().await?;
            return Err(EnterpriseError::field("code", "code_invalid"));
        }
    }
    if rows::verified_elsewhere(&mut *change.tx, org_id, &domain).await? {
        return Err(EnterpriseError::Conflict("org-domain-taken"));
    }
    let now = now_ms();
    match rows::mark_verified(&mut change.tx, row.id, now).await {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            // Another organization proved it at the same moment.
            return Err(EnterpriseError::Conflict("org-domain-taken"));
        }
        other => other?,
    }
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "domain.verified",
        &format!("domain:{domain}"),
        json!({ "method": row.method, "mailbox": row.mailbox }),
    )
    .await?;
    change.commit().await?;
    Ok(DomainRow {
        status: "verified".into(),
        verified_at: Some(now),
        code_hash: None,
        ..row
    }
    .into())
}

/// Opens the change of an administrator (`organization.manage`) acting on
/// one of the organization's domains, and reads it.
async fn managed(
    app: &App,
    actor: i64,
    org_id: i64,
    domain: &str,
) -> Result<(crate::store::Change, DomainRow), EnterpriseError> {
    let domain = checked(domain).map_err(|_| EnterpriseError::NotFound)?;
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ManageOrganization)?;
    let row = rows::find(&mut *change.tx, org_id, &domain)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    Ok((change, row))
}

/// Lets people with a verified address at a proven domain join on their
/// own, or stops it (`organization.manage`).
pub async fn set_auto_join(
    app: &App,
    actor: i64,
    org_id: i64,
    domain: &str,
    auto_join: bool,
) -> Result<DomainView, EnterpriseError> {
    let (mut change, row) = managed(app, actor, org_id, domain).await?;
    if row.status != "verified" {
        return Err(EnterpriseError::Conflict("org-domain-unverified"));
    }
    rows::set_auto_join(&mut change.tx, row.id, auto_join).await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "domain.auto_join_changed",
        &format!("domain:{}", row.domain),
        json!({ "auto_join": auto_join }),
    )
    .await?;
    change.commit().await?;
    Ok(DomainRow { auto_join, ..row }.into())
}

/// Gives a domain up (`organization.manage`).
pub async fn remove(
    app: &App,
    actor: i64,
    org_id: i64,
    domain: &str,
) -> Result<(), EnterpriseError> {
    let (mut change, row) = managed(app, actor, org_id, domain).await?;
    rows::delete(&mut change.tx, row.id).await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "domain.removed",
        &format!("domain:{}", row.domain),
        json!({ "status": row.status }),
    )
    .await?;
    change.commit().await?;
    Ok(())
}

/// An organization the caller may join through their address's domain.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Joinable {
    pub id: i64,
    pub name: String,
    pub domain: String,
}

/// The organization the caller's verified address lets them join, with
/// the domain; None when there is none they are not in yet.
async fn joinable_for(app: &App, account_id: i64) -> Result<Option<Joinable>, EnterpriseError> {
    let db = app.store.read();
    let Some(account) = accounts_store::find_by_id(db, account_id).await? else {
        return Ok(None);
    };
    let domain = match (&account.email, account.email_verified) {
        (Some(email), true) => rules::domain_of(email),
        _ => None,
    };
    let Some(domain) = domain else {
        return Ok(None);
    };
    let Some(org_id) = rows::joinable_through(db, &domain).await? else {
        return Ok(None);
    };
    if store::members::find(db, org_id, account_id)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    Ok(store::orgs::find(db, org_id).await?.map(|org| Joinable {
        id: org.id,
        name: org.name,
        domain,
    }))
}

pub async fn joinable(app: &App, account_id: i64) -> Result<Vec<Joinable>, EnterpriseError> {
    Ok(joinable_for(app, account_id).await?.into_iter().collect())
}

/// Joins the organization the caller's verified address lets them join,
/// as a member. Any other organization reads as not found.
pub async fn join(app: &App, account_id: i64, org_id: i64) -> Result<(), EnterpriseError> {
    let offer = joinable_for(app, account_id)
        .await?
        .filter(|j| j.id == org_id)
        .ok_or(EnterpriseError::NotFound)?;
    let mut change = app.store.change().await?;
    if !store::lock_org(&mut change.tx, app.store.backend(), org_id).await? {
        return Err(EnterpriseError::NotFound);
    }
    // Read again under the lock: the domain may have been given up, or the
    // caller let in by another request.
    if rows::joinable_through(&mut *change.tx, &offer.domain).await? != Some(org_id) {
        return Err(EnterpriseError::NotFound);
    }
    if store::members::find(&mut *change.tx, org_id, account_id)
        .await?
        .is_some()
    {
        return Err(EnterpriseError::Conflict("org-already-member"));
    }
    store::members::insert(
        &mut change.tx,
        org_id,
        account_id,
        "",
        &[BuiltIn::Member.key().to_string()],
        now_ms(),
    )
    .await?;
    access::record(
        app,
        &mut change,
        org_id,
        account_id,
        "member.joined_by_domain",
        &account_ref(account_id),
        json!({ "domain": offer.domain }),
    )
    .await?;
    change.commit().await?;
    Ok(())
}
