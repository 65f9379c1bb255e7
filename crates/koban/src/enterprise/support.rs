//! The enterprise support line: tickets opened by an organization's
//! administrators and support contacts (`support.open`) carry the
//! organization and the tier its plan gives, so the desk's routing and SLA
//! policies treat them as the plan promises; those with `support.read_all`
//! follow every ticket of the organization.

use super::access;
use super::store::{self, support::OrgTicket};
use super::EnterpriseError;
use crate::desk::tickets::support_line::{Line, LineFuture, LineSource};
use crate::state::App;
use koban_policy::org::roles::{permissions_of, Permission};

/// The hook the desk asks when a signed-in requester opens a ticket.
pub fn source() -> LineSource {
    LineSource(line_for)
}

/// The organization a requester writes for: of those whose tickets they
/// may open, an enterprise-plan one first, then the oldest.
fn line_for(app: &App, account_id: i64) -> LineFuture<'_> {
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
