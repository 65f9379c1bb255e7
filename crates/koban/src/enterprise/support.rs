//! The enterprise support line: tickets opened by an organization's
//! administrators and support contacts (`support.open`) carry the
//! organization and the tier its plan gives, so the desk's routing and SLA
//! policies treat them as the plan promises; those with `support.read_all`
//! follow every ticket of the organization.

use super::access;
use super::store::{self, support::OrgTicket};
use super::EnterpriseError;
use crate::desk::tickets::support_line::{
    Line, LineFuture, OrgPanel, PanelAuditEntry, Subscriber, SupportLine,
};
use crate::state::App;
use koban_policy::org::roles::{permissions_of, Permission};

/// The hook the desk asks when a signed-in requester opens a ticket, and
/// when an agent opens a ticket of an organization.
pub fn source() -> SupportLine {
    SupportLine {
        line: line_for,
        panel: panel_for,
        follows: follows_for,
        subscribers: subscribers_for,
    }
}

/// The organization a requester writes for: of those whose tickets they
/// may open, an enterprise-plan one first, then the oldest.
fn line_for(app: &App, account_id: i64) -> LineFuture<'_, Line> {
    Box::pin(async move {
        let db = app.store.read();
        let mut best: Option<Line> = None;
        for (org_id, plan, keys) in store::support::memberships(db, account_id).await? {
            let customs = store::roles::all(db, org_id).await?;
            if !permissions_of(&access::resolve(&keys, &customs))
                .has(Permission::OpenSupportTickets)
            {
                continue;
            }
            let tier = if plan == "enterprise" {
                "enterprise"
            } else {
                "standard"
            };
            let better = match best {
                None => true,
                Some(line) => line.tier != "enterprise" && tier == "enterprise",
            };
            if better {
                best = Some(Line {
                    organization_id: org_id,
                    tier,
                });
            }
        }
        Ok(best)
    })
}

/// The organizations where the account, an active member, holds
/// `support.read_all`: whose tickets it follows (search finds them).
pub async fn followed_by(app: &App, account_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let db = app.store.read();
    let mut out = Vec::new();
    for (org_id, _, keys) in store::support::memberships(db, account_id).await? {
        let customs = store::roles::all(db, org_id).await?;
        if permissions_of(&access::resolve(&keys, &customs))
            .has(Permission::ReadOrganizationTickets)
        {
            out.push(org_id);
        }
    }
    Ok(out)
}

/// Whether the account, an active member of the organization, holds
/// `support.read_all` there.
fn follows_for(app: &App, account_id: i64, org_id: i64) -> LineFuture<'_, ()> {
    Box::pin(async move {
        let db = app.store.read();
        let Some(member) = store::members::find(db, org_id, account_id).await? else {
            return Ok(None);
        };
        if member.status != "active" {
            return Ok(None);
        }
        let customs = store::roles::all(db, org_id).await?;
        let held = permissions_of(&access::resolve(&member.roles, &customs));
        Ok(held.has(Permission::ReadOrganizationTickets).then_some(()))
    })
}

/// The organization's subscribers who still hold `support.read_all`.
fn subscribers_for(app: &App, org_id: i64) -> LineFuture<'_, Vec<Subscriber>> {
    Box::pin(async move {
        let db = app.store.read();
        let rows = store::support::subscribers(db, org_id).await?;
        if rows.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let customs = store::roles::all(db, org_id).await?;
        Ok(Some(
            rows.into_iter()
                .filter(|(_, keys, _, _)| {
                    permissions_of(&access::resolve(keys, &customs))
                        .has(Permission::ReadOrganizationTickets)
                })
                .map(|(account_id, _, email, locale)| Subscriber {
                    account_id,
                    email,
                    locale,
                })
                .collect(),
        ))
    })
}

/// The organization as an agent sees it beside one of its tickets.
fn panel_for(app: &App, org_id: i64) -> LineFuture<'_, OrgPanel> {
    Box::pin(async move {
        let db = app.store.read();
        let Some(org) = store::orgs::find(db, org_id).await? else {
            return Ok(None);
        };
        let (active_members, suspended_members, open_tickets) =
            store::support::counts(db, org_id).await?;
        let policy_rules = store::policies::find(db, org_id)
            .await?
            .policy
            .rules()
            .into_iter()
            .map(|r| r.as_str())
            .collect();
        let recent_audit = crate::audit::store::list(
            db,
            &access::scope(org_id),
            &crate::audit::store::Filter {
                before_seq: i64::MAX,
                ..Default::default()
            },
            5,
        )
        .await?
        .into_iter()
        .map(|e| PanelAuditEntry {
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
        })
        .collect();
        Ok(Some(OrgPanel {
            id: org.id,
            name: org.name,
            plan: org.plan,
            active_members,
            suspended_members,
            open_tickets,
            policy_rules,
            recent_audit,
        }))
    })
}

/// The organization's tickets (`support.read_all`), up to `limit + 1`.
pub async fn tickets(
    app: &App,
    actor: i64,
    org_id: i64,
    open_only: bool,
    before: i64,
    limit: i64,
) -> Result<Vec<OrgTicket>, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReadOrganizationTickets)?;
    Ok(store::support::tickets(app.store.read(), org_id, open_only, before, limit + 1).await?)
}

/// Whether the caller is mailed about support's replies on the
/// organization's tickets (`support.read_all`).
pub async fn subscription(app: &App, actor: i64, org_id: i64) -> Result<bool, EnterpriseError> {
    let (me, _) = access::acting(app, org_id, actor).await?;
    me.may(Permission::ReadOrganizationTickets)?;
    Ok(store::support::subscribed(app.store.read(), org_id, actor).await?)
}

/// Subscribes the caller to support's replies on every ticket of the
/// organization, or ends it (`support.read_all`); recorded in the
/// organization's audit chain when it changes anything.
pub async fn subscribe(
    app: &App,
    actor: i64,
    org_id: i64,
    on: bool,
) -> Result<bool, EnterpriseError> {
    let (mut change, me, _) = access::change_in(app, org_id, actor).await?;
    me.may(Permission::ReadOrganizationTickets)?;
    if store::support::set_subscribed(&mut change.tx, org_id, actor, on, crate::store::now_ms())
        .await?
    {
        access::record(
            app,
            &mut change,
            org_id,
            actor,
            if on {
                "support.subscribed"
            } else {
                "support.unsubscribed"
            },
            &access::account_ref(actor),
            serde_json::json!({}),
        )
        .await?;
    }
    change.commit().await?;
    Ok(on)
}
