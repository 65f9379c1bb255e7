//! The organization API: every operation checks the caller's permissions in
//! the organization on the server; anything of an organization the caller
//! is not in answers 404, never 403.

pub mod audit;
pub mod devices;
pub mod domains;
pub mod import;
pub mod invites;
pub mod members;
pub mod onboarding;
pub mod orgs;
pub mod policies;
pub mod reviews;
pub mod roles;
pub mod support;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<std::sync::Arc<crate::state::App>> {
    OpenApiRouter::new()
        .routes(routes!(orgs::create, orgs::mine))
        .routes(routes!(orgs::show, orgs::update))
        .routes(routes!(orgs::set_plan))
        .routes(routes!(members::directory))
        .routes(routes!(members::show, members::remove))
        .routes(routes!(members::set_roles))
        .routes(routes!(members::suspend, members::reinstate))
        .routes(routes!(invites::send, invites::pending))
        .routes(routes!(invites::revoke))
        .routes(routes!(invites::preview))
        .routes(routes!(invites::accept))
        .routes(routes!(invites::decline))
        .routes(routes!(roles::list, roles::create))
        .routes(routes!(roles::update, roles::delete))
        .routes(routes!(import::import))
        .routes(routes!(devices::list))
        .routes(routes!(devices::freeze))
        .routes(routes!(devices::unfreeze))
        .routes(routes!(policies::show, policies::update))
        .routes(routes!(audit::verification))
        .routes(routes!(audit::entries))
        .routes(routes!(audit::export))
        .routes(routes!(reviews::access))
        .routes(routes!(reviews::overview, reviews::start))
        .routes(routes!(reviews::set_schedule))
        .routes(routes!(reviews::show))
        .routes(routes!(reviews::members))
        .routes(routes!(reviews::decide))
        .routes(routes!(reviews::sign_off))
        .routes(routes!(onboarding::mine))
        .routes(routes!(onboarding::acknowledge))
        .routes(routes!(onboarding::progress))
        .routes(routes!(onboarding::set_notice))
        .routes(routes!(domains::list, domains::claim))
        .routes(routes!(domains::verify))
        .routes(routes!(domains::update, domains::remove))
        .routes(routes!(domains::joinable))
        .routes(routes!(domains::join))
        .routes(routes!(support::tickets))
        .routes(routes!(support::evidence))
        .routes(routes!(support::subscription, support::subscribe))
}
