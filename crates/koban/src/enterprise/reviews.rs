//! Access reviews (`access.review`): members × roles × last activity × 2FA
//! × devices with what needs a look marked, a review that takes a snapshot
//! of everyone's access, a decision per member by reviewers who are not
//! that member, and a sign-off once every member is decided. Each step is
//! in the organization's audit chain. Owners are reminded when a review is
//! due.

use super::access::{self, account_ref};
use super::store::{self, reviews as rows};
use super::EnterpriseError;
use crate::jobs::Job;
use crate::state::{App, JobFuture, JobKind};
use crate::store::now_ms;
use koban_policy::org::review::{self as rules, Decision, MemberFacts, Refusal};
use koban_policy::org::roles::{permissions_of, Permission};
use serde_json::json;
use std::sync::Arc;

/// One member's access as a reviewer sees it now.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AccessEntry {
    pub account_id: i64,
    pub display_name: String,
    pub email: Option<String>,
    /// `active` or `suspended`.
    pub status: String,
    pub roles: Vec<String>,
    /// Their roles let them change the organization or its members.
    pub administrator: bool,
    /// The last use of any of their sessions, or joining if later.
    pub last_active_at: i64,
    /// An authenticator app or a passkey is on.
    pub two_factor: bool,
    pub devices: i64,
    pub frozen_devices: i64,
    /// What needs a look: `inactive` (no activity for 90 days),
    /// `administrator_without_two_factor`.
    pub marks: Vec<&'static str>,
}

fn entry(row: rows::AccessRow, customs: &[store::roles::CustomRoleRow], now: i64) -> AccessEntry {
    let permissions = permissions_of(&access::resolve(&row.roles, customs));
    let facts = MemberFacts {
        permissions,
        joined_at: row.joined_at,
        last_seen_at: row.last_seen_at,
        two_factor: row.two_factor,
    };
    AccessEntry {
        account_id: row.account_id,
        display_name: row.display_name,
        email: row.email,
        status: row.status,
        roles: row.roles,
        administrator: rules::is_administrator(permissions),
        last_active_at: rules::last_active(&facts),
        two_factor: row.two_factor,
        devices: row.devices,
        frozen_devices: row.frozen_devices,
        marks: rules::marks(&facts, now)
            .into_iter()
            .map(|m| m.as_str())
            .collect(),
    }
}

/// Members' access, account ids below `before`, highest first; only the
/// marked ones when `marked_only`. Returns up to `limit + 1` entries, so
/// the caller can tell whether there is another page.
pub async fn access_page(
    app: &App,
    actor: i64,
    org_id: i64,
    before: i64,
    limit: i64,
    marked_only: bool,
) -> Result<Vec<AccessEntry>, EnterpriseError> {
    let (me, customs) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    let now = now_ms();
    let db = app.store.read();
    let customs = &customs;
    // Marks are judged here, not in SQL.
    crate::http::pagination::filled(
        before,
        limit,
        move |cursor, n| async move {
            let rows = rows::access(db, org_id, cursor, n).await?;
            Ok(rows.into_iter().map(|r| entry(r, customs, now)).collect())
        },
        |e: &AccessEntry| e.account_id,
        |e| !marked_only || !e.marks.is_empty(),
    )
    .await
}

/// The schedule and the latest reviews.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Overview {
    /// Days between reviews; owners are reminded when one is due.
    pub every_days: i64,
    pub next_due_at: i64,
    /// The review in progress, if any.
    pub in_progress: Option<i64>,
    /// The latest 100 reviews, newest first.
    pub reviews: Vec<rows::ReviewRow>,
}

pub async fn overview(app: &App, actor: i64, org_id: i64) -> Result<Overview, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    let db = app.store.read();
    let schedule = rows::schedule(db, org_id, rules::DEFAULT_REVIEW_EVERY_DAYS)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    Ok(Overview {
        every_days: schedule.every_days,
        next_due_at: rules::next_review_due(
            schedule.created_at,
            schedule.last_signed_off_at,
            schedule.every_days,
        ),
        in_progress: rows::open(db, org_id).await?,
        reviews: rows::list(db, org_id, 100).await?,
    })
}

/// Sets how often reviews fall due (7 to 365 days).
pub async fn set_schedule(
    app: &App,
    actor: i64,
    org_id: i64,
    every_days: i64,
) -> Result<(), EnterpriseError> {
    if !(7..=365).contains(&every_days) {
        return Err(EnterpriseError::field("every_days", "out_of_range"));
    }
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    rows::set_every_days(&mut change.tx, org_id, every_days).await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "access_review.schedule_changed",
        &format!("org:{org_id}"),
        json!({ "every_days": every_days }),
    )
    .await?;
    change.commit().await?;
    Ok(())
}

/// Starts a review of every member's access as it is now.
pub async fn start(app: &App, actor: i64, org_id: i64) -> Result<rows::ReviewRow, EnterpriseError> {
    let (mut change, me, customs) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    if rows::open(&mut *change.tx, org_id).await?.is_some() {
        return Err(EnterpriseError::Conflict("org-review-in-progress"));
    }
    let now = now_ms();
    let members: Vec<AccessEntry> = rows::access(&mut *change.tx, org_id, i64::MAX, i64::MAX)
        .await?
        .into_iter()
        .map(|row| entry(row, &customs, now))
        .collect();
    let snapshot: Vec<rows::Snapshot> = members
        .iter()
        .map(|m| rows::Snapshot {
            account_id: m.account_id,
            display_name: &m.display_name,
            roles: &m.roles,
            marks: m.marks.clone(),
        })
        .collect();
    let id = rows::start(&mut change.tx, org_id, actor, now, &snapshot).await?;
    let marked = members.iter().filter(|m| !m.marks.is_empty()).count();
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "access_review.started",
        &review_ref(id),
        json!({ "members": members.len(), "marked": marked }),
    )
    .await?;
    change.commit().await?;
    Ok(rows::ReviewRow {
        id,
        started_by: actor,
        started_at: now,
        signed_off_by: None,
        signed_off_at: None,
        note: None,
        members: members.len() as i64,
        decided: 0,
        kept: 0,
        revoked: 0,
    })
}

/// A review, with how many of its members are decided.
pub async fn show(
    app: &App,
    actor: i64,
    org_id: i64,
    review_id: i64,
) -> Result<rows::ReviewRow, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    rows::find(app.store.read(), org_id, review_id)
        .await?
        .ok_or(EnterpriseError::NotFound)
}

pub async fn items(
    app: &App,
    actor: i64,
    org_id: i64,
    review_id: i64,
    undecided_only: bool,
    before: i64,
    limit: i64,
) -> Result<Vec<rows::ItemRow>, EnterpriseError> {
    show(app, actor, org_id, review_id).await?;
    Ok(rows::items(app.store.read(), review_id, undecided_only, before, limit).await?)
}

fn review_ref(id: i64) -> String {
    format!("access_review:{id}")
}

fn checked_note(note: Option<&str>) -> Result<Option<&str>, EnterpriseError> {
    match note.map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) if n.chars().count() > 1000 || n.chars().any(|c| c.is_control() && c != '\n') => {
            Err(EnterpriseError::field("note", "invalid_value"))
        }
        Some(n) => Ok(Some(n)),
    }
}

/// Records a reviewer's decision on one member (changing it is allowed
/// until the sign-off, and recorded too).
pub async fn decide(
    app: &App,
    actor: i64,
    org_id: i64,
    review_id: i64,
    account_id: i64,
    decision: &str,
    note: Option<&str>,
) -> Result<rows::ItemRow, EnterpriseError> {
    let decision =
        Decision::parse(decision).ok_or(EnterpriseError::field("decision", "invalid_value"))?;
    let note = checked_note(note)?;
    let (mut change, me, customs) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    let review = rows::find(&mut *change.tx, org_id, review_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    let before = rows::find_item(&mut *change.tx, review_id, account_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    // Only a reviewer deciding on themselves needs to know who else could.
    let other_reviewers = if actor == account_id {
        rows::active_member_roles(&mut *change.tx, org_id)
            .await?
            .iter()
            .filter(|(id, keys)| {
                *id != actor
                    && permissions_of(&access::resolve(keys, &customs))
                        .has(Permission::ReviewAccess)
            })
            .count()
    } else {
        0
    };
    rules::may_decide(
        actor,
        account_id,
        review.signed_off_at.is_some(),
        other_reviewers,
    )
    .map_err(|refusal| match refusal {
        Refusal::OwnAccess => EnterpriseError::OwnAccess,
        Refusal::SignedOff => EnterpriseError::Conflict("org-review-signed-off"),
    })?;
    let now = now_ms();
    rows::decide(
        &mut change.tx,
        review_id,
        account_id,
        decision.as_str(),
        note,
        actor,
        now,
    )
    .await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "access_review.decided",
        &account_ref(account_id),
        json!({
            "review": review_id,
            "decision": decision.as_str(),
            "previous": before.decision,
            "note": note,
            "roles": before.roles,
            "own_access": actor == account_id,
        }),
    )
    .await?;
    change.commit().await?;
    Ok(rows::ItemRow {
        decision: Some(decision.as_str().to_string()),
        decided_by: Some(actor),
        decided_at: Some(now),
        note: note.map(str::to_string),
        ..before
    })
}

/// Signs a review off once every member is decided. The members to revoke
/// are named in the sign-off's audit entry; removing or suspending them is
/// done through the members' own operations, by someone allowed to.
pub async fn sign_off(
    app: &App,
    actor: i64,
    org_id: i64,
    review_id: i64,
    note: Option<&str>,
) -> Result<(rows::ReviewRow, Vec<i64>), EnterpriseError> {
    let note = checked_note(note)?;
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ReviewAccess)?;
    let review = rows::find(&mut *change.tx, org_id, review_id)
        .await?
        .ok_or(EnterpriseError::NotFound)?;
    if review.signed_off_at.is_some() {
        return Err(EnterpriseError::Conflict("org-review-signed-off"));
    }
    rules::may_sign_off((review.members - review.decided).max(0) as usize)
        .map_err(EnterpriseError::ReviewIncomplete)?;
    let now = now_ms();
    if !rows::sign_off(&mut change.tx, review_id, actor, note, now).await? {
        return Err(EnterpriseError::Conflict("org-review-signed-off"));
    }
    let revoked = rows::revoked(&mut *change.tx, review_id).await?;
    access::record(
        app,
        &mut change,
        org_id,
        actor,
        "access_review.signed_off",
        &review_ref(review_id),
        json!({
            "members": review.members,
            "kept": review.kept,
            "revoked": revoked,
            "note": note,
        }),
    )
    .await?;
    change.commit().await?;
    let review = rows::ReviewRow {
        signed_off_by: Some(actor),
        signed_off_at: Some(now),
        note: note.map(str::to_string),
        ..review
    };
    Ok((review, revoked))
}

/// Delivery purpose of the reminder that a review is due.
pub const REMINDER_PURPOSE: &str = "access_review_due";

/// Every six hours: a due review is brought to the owners the same day.
pub const REMINDER_JOB: JobKind = JobKind {
    kind: "org_access_review_reminders",
    round: None,
    every_ms: Some(6 * 60 * 60_000),
    run: run_reminders,
};

fn run_reminders<'a>(app: &'a Arc<App>, _job: &'a Job) -> JobFuture<'a> {
    Box::pin(async move { remind(app).await.map(|_| ()).map_err(|e| e.to_string()) })
}

/// Reminds the owners of every organization whose review is due and not
/// yet reminded of; returns how many organizations were reminded.
pub async fn remind(app: &App) -> Result<usize, EnterpriseError> {
    let now = now_ms();
    let mut after = 0;
    let mut reminded = 0;
    loop {
        let batch = rows::schedules(
            app.store.read(),
            after,
            200,
            rules::DEFAULT_REVIEW_EVERY_DAYS,
        )
        .await?;
        let Some(last) = batch.last() else {
            return Ok(reminded);
        };
        after = last.org_id;
        for org in batch {
            let due =
                rules::next_review_due(org.created_at, org.last_signed_off_at, org.every_days);
            if rules::reminder_due(due, now, org.review_open, org.reminded_for)
                && remind_one(app, &org, due).await?
            {
                reminded += 1;
            }
        }
    }
}

async fn remind_one(app: &App, org: &rows::Schedule, due: i64) -> Result<bool, EnterpriseError> {
    let mut change = app.store.change().await?;
    // Another node may have reminded them first: then nothing more is sent.
    if !rows::mark_reminded(&mut change.tx, org.org_id, org.every_days, due).await? {
        return Ok(false);
    }
    let members = rows::active_member_roles(&mut *change.tx, org.org_id).await?;
    let owners: Vec<i64> = members
        .into_iter()
        .filter(|(_, keys)| keys.iter().any(|k| k == "owner"))
        .map(|(id, _)| id)
        .collect();
    let args = [("organization", org.org_name.clone())];
    for owner in &owners {
        super::notify::queue(
            app,
            &mut change.tx,
            *owner,
            REMINDER_PURPOSE,
            "access-review-due",
            &args,
        )
        .await?;
    }
    crate::audit::append_in(
        &app.store,
        &mut change,
        &access::scope(org.org_id),
        now_ms(),
        &[crate::audit::Record {
            actor: "system",
            action: "access_review.reminded",
            target: &format!("org:{}", org.org_id),
            details: &json!({ "due_at": due, "owners": owners }),
        }],
    )
    .await?;
    change.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(true)
}
