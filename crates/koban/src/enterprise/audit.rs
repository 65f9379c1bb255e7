//! The organization's audit chain as its readers see it: a page of
//! entries and the chain's check, for the API and the console alike
//! (`audit.read`). The chain itself lives in `crate::audit`.

use crate::audit::api::{listing, EntryFilter};
use crate::audit::store::EntryRow;
use crate::audit::Verification;
use crate::enterprise::access::{self, scope};
use crate::enterprise::EnterpriseError;
use crate::http::pagination::Page;
use crate::http::problem::Problem;
use crate::state::App;
use koban_policy::org::roles::Permission;

/// The check of organization `org`'s chain, for `actor` if they may read
/// the log (`audit.read`): the API's answer and the console page's.
pub async fn verification_for(app: &App, actor: i64, org: i64) -> Result<Verification, Problem> {
    let (me, _) = access::acting(app, org, actor).await?;
    me.may(Permission::ReadAudit)?;
    let checked = crate::audit::verify(&app.store, &app.key, &scope(org))
        .await
        .map_err(EnterpriseError::from)?;
    Ok(checked)
}

/// A page of organization `org`'s entries, newest first, filtered, for
/// `actor` if they may read the log (`audit.read`): the API's answer and
/// the console page's.
pub async fn entries_for(
    app: &App,
    actor: i64,
    org: i64,
    filter: &EntryFilter,
) -> Result<Page<EntryRow>, Problem> {
    let (me, _) = access::acting(app, org, actor).await?;
    me.may(Permission::ReadAudit)?;
    listing(app, &scope(org), filter).await
}
