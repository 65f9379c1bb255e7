//! Member security onboarding: each member's checklist (two-step
//! verification on, recovery codes stored, devices reviewed, the
//! organization's security notice read), the acknowledgements a member
//! makes, the notice administrators write, and the progress they follow.

use super::access;
use super::store::onboarding as rows;
use super::EnterpriseError;
use crate::state::App;
use crate::store::now_ms;
use crate::web::i18n::{t, Lang};
use koban_policy::org::onboarding::{self as rules, Facts, Item};
use koban_policy::org::roles::Permission;
use serde_json::json;

/// One item of a member's checklist.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    /// `two_factor`, `recovery_codes`, `devices_reviewed` or `security_notice`.
    pub item: &'static str,
    pub done: bool,
    /// Done by acknowledging it here; the others are done in the account's
    /// security settings.
    pub acknowledged: bool,
}

/// The organization's security notice.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub body: String,
    /// 0 for the built-in notice; each change makes members read it again.
    pub version: i64,
    pub updated_at: Option<i64>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Checklist {
    pub complete: bool,
    pub items: Vec<ChecklistItem>,
    pub notice: Notice,
}

/// A member's progress, as administrators follow it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MemberProgress {
    pub account_id: i64,
    pub display_name: String,
    pub email: Option<String>,
    pub joined_at: i64,
    pub complete: bool,
    pub items: Vec<ChecklistItem>,
}

fn notice_of(row: Option<rows::NoticeRow>, lang: Lang) -> Notice {
    match row {
        Some(row) => Notice {
            body: row.body,
            version: row.version,
            updated_at: Some(row.updated_at),
        },
        None => Notice {
            body: t(lang, "org-security-notice-default", &[]),
            version: 0,
            updated_at: None,
        },
    }
}

fn judged(member: &rows::MemberFacts, notice_version: i64) -> (bool, Vec<ChecklistItem>) {
    let facts = Facts {
        two_factor: member.two_factor,
        unused_recovery_codes: member.unused_recovery_codes,
        devices_reviewed_at: member.devices_reviewed_at,
        newest_device_at: member.newest_device_at,
        notice_read_version: member.notice_read_version,
        notice_version,
    };
    let items = rules::checklist(&facts)
        .into_iter()
        .map(|(item, done)| ChecklistItem {
            item: item.as_str(),
            done,
            acknowledged: item.acknowledged(),
        })
        .collect();
    (rules::complete(&facts), items)
}

/// The caller's own checklist in an organization.
pub async fn mine(
    app: &App,
    actor: i64,
    org_id: i64,
    lang: Lang,
) -> Result<Checklist, EnterpriseError> {
    access::acting(app, org_id, actor).await?;
    let db = app.store.read();
    let notice = notice_of(rows::notice(db, org_id).await?, lang);
    let member = rows::facts(db, org_id, Some(actor), i64::MAX, 1)
        .await?
        .pop()
        .ok_or(EnterpriseError::NotFound)?;
    let (complete, items) = judged(&member, notice.version);
    Ok(Checklist {
        complete,
        items,
        notice,
    })
}

/// The caller says they reviewed their devices, or read the notice (the
/// version they were shown; a newer one must be read again).
pub async fn acknowledge(
    app: &App,
    actor: i64,
    org_id: i64,
    item: &str,
    lang: Lang,
) -> Result<Checklist, EnterpriseError> {
    let item = Item::parse(item).ok_or(EnterpriseError::NotFound)?;
    if !item.acknowledged() {
        // Two-step verification and recovery codes are done by doing them.
        return Err(EnterpriseError::Conflict("org-onboarding-not-acknowledged"));
    }
    let (mut change, _, _) = access::change_in(app, org_id, actor).await?;
    let version = match item {
        Item::SecurityNotice => rows::notice(&mut *change.tx, org_id)
            .await?
            .map_or(0, |n| n.version),
        _ => 0,
    };
    rows::acknowledge(
        &mut change.tx,
        org_id,
        actor,
        item.as_str(),
        version,
        now_ms(),
    )
    .await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "onboarding.acknowledged",
        &access::account_ref(actor),
        json!({ "item": item.as_str(), "notice_version": version }),
    )
    .await?;
    change.commit().await?;
    mine(app, actor, org_id, lang).await
}

/// Writes a new version of the security notice (`policies.manage`):
/// every member must read it again.
pub async fn set_notice(
    app: &App,
    actor: i64,
    org_id: i64,
    body: &str,
) -> Result<i64, EnterpriseError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(EnterpriseError::field("body", "required"));
    }
    if body.chars().count() > 5000 || body.chars().any(|c| c.is_control() && c != '\n') {
        return Err(EnterpriseError::field("body", "invalid_value"));
    }
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ManagePolicies)?;
    let version = rows::save_notice(&mut change.tx, org_id, body, actor, now_ms()).await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "onboarding.notice_changed",
        &format!("org:{org_id}"),
        json!({ "version": version, "characters": body.chars().count() }),
    )
    .await?;
    change.commit().await?;
    Ok(version)
}

/// Members' progress (`devices.read`), account ids below `before`,
/// highest first, only the incomplete when asked; up to `limit + 1`.
pub async fn progress(
    app: &App,
    actor: i64,
    org_id: i64,
    incomplete_only: bool,
    before: i64,
    limit: i64,
) -> Result<Vec<MemberProgress>, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReadDevices)?;
    let db = app.store.read();
    let version = rows::notice(db, org_id).await?.map_or(0, |n| n.version);
    // Completion is judged here, not in SQL.
    crate::http::pagination::filled(
        before,
        limit,
        move |cursor, n| async move {
            let rows = rows::facts(db, org_id, None, cursor, n).await?;
            Ok(rows
                .into_iter()
                .map(|member| {
                    let (complete, items) = judged(&member, version);
                    MemberProgress {
                        account_id: member.account_id,
                        display_name: member.display_name,
                        email: member.email,
                        joined_at: member.joined_at,
                        complete,
                        items,
                    }
                })
                .collect())
        },
        |m: &MemberProgress| m.account_id,
        |m| !(incomplete_only && m.complete),
    )
    .await
}
