//! The organization's security policy.

use crate::enterprise::policies::{self as service, PolicyInput};
use crate::enterprise::store::policies::PolicyRow;
use crate::enterprise::EnterpriseError;
use crate::http::auth::SignedIn;
use crate::http::json::{ApiJson, ApiPath};
use crate::http::problem::Problem;
use crate::state::App;
use axum::extract::State;
use axum::Json;
use koban_policy::org::policy::Policy;
use koban_policy::risk::Cidr;
use std::sync::Arc;

/// An organization's security policy for its members. Every rule is off
/// while absent (or empty); each applies at the member's next sign-in on
/// every node, and a refusal names the organization and the rule.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Two-step verification required, with this many days (0 to 90) for
    /// members without it to turn it on; after that the organization
    /// refuses them until they do.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 90)]
    pub two_factor_grace_days: Option<u32>,
    /// Devices a member may have signed in at once (1 to 100), when lower
    /// than the server's limit.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub max_devices: Option<u32>,
    /// ISO 3166 alpha-2 codes sign-ins may come from; while set, a sign-in
    /// from an address whose country is unknown is refused too.
    #[serde(default)]
    #[schema(max_items = 250)]
    pub allowed_countries: Vec<String>,
    /// Addresses or networks (`10.0.0.0/8`, `2001:db8::/32`) sign-ins may come from.
    #[serde(default)]
    #[schema(max_items = 250)]
    pub allowed_networks: Vec<String>,
    /// The longest a session lasts, in minutes (5 to 525,600). A shorter
    /// lifetime shortens live sessions at once.
    #[serde(default)]
    #[schema(minimum = 5, maximum = 525600)]
    pub session_lifetime_minutes: Option<u32>,
    /// Days (1 to 3,650) after which a password must be changed: older
    /// ones are refused at sign-in until reset.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3650)]
    pub password_max_age_days: Option<u32>,
    /// Apps older than this dotted version are refused at sign-in.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub min_client_version: Option<String>,
    /// The `version` last read: when the policy changed since, the answer
    /// is 409 instead of overwriting that change unseen.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The stored policy: the rules as in a change (`PolicyBody`), its version
/// and when it was set. (Written out rather than flattened: the change's
/// schema refuses unknown fields, and a flattened one would refuse these.)
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub two_factor_grace_days: Option<u32>,
    pub max_devices: Option<u32>,
    pub allowed_countries: Vec<String>,
    pub allowed_networks: Vec<String>,
    pub session_lifetime_minutes: Option<u32>,
    pub password_max_age_days: Option<u32>,
    pub min_client_version: Option<String>,
    /// Name it in a change: 0 while no policy was ever set.
    pub version: i64,
    pub updated_at: Option<i64>,
    /// When two-step verification became required (grace periods start
    /// here, or when a member joined if later).
    pub two_factor_since: Option<i64>,
}

impl From<PolicyRow> for PolicyView {
    fn from(row: PolicyRow) -> PolicyView {
        let p = row.policy;
        PolicyView {
            two_factor_grace_days: p.two_factor_grace_days,
            max_devices: p.max_devices,
            allowed_countries: p.allowed_countries,
            allowed_networks: p.allowed_networks.iter().map(Cidr::to_string).collect(),
            session_lifetime_minutes: p.session_lifetime_minutes,
            password_max_age_days: p.password_max_age_days,
            min_client_version: p.min_client_version.map(|v| v.to_string()),
            version: row.version,
            updated_at: row.updated_at,
            two_factor_since: row.two_factor_since,
        }
    }
}

impl TryFrom<PolicyBody> for Policy {
    type Error = EnterpriseError;

    /// The service's reading of the body; the API names the first field
    /// that cannot be stored.
    fn try_from(body: PolicyBody) -> Result<Policy, EnterpriseError> {
        service::read_input(PolicyInput {
            two_factor_grace_days: body.two_factor_grace_days,
            max_devices: body.max_devices,
            allowed_countries: body.allowed_countries,
            allowed_networks: body.allowed_networks,
            session_lifetime_minutes: body.session_lifetime_minutes,
            password_max_age_days: body.password_max_age_days,
            min_client_version: body.min_client_version,
        })
        .map_err(|errors| EnterpriseError::Invalid(errors.into_iter().take(1).collect()))
    }
}

/// The organization's security policy (`policies.read`).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/policy", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    responses((status = 200, body = PolicyView), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn show(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
) -> Result<Json<PolicyView>, Problem> {
    Ok(Json(
        service::get(&app, who.account_id(), org).await?.into(),
    ))
}

/// Replaces the organization's security policy (`policies.manage`),
/// recorded in its audit log with the policy before and after.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/policy", tag = "organizations",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("org" = i64, Path, description = "Organization id")),
    request_body = PolicyBody,
    responses((status = 200, body = PolicyView), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "the policy changed since `version`"), (status = 422)))]
pub async fn update(
    State(app): State<Arc<App>>,
    SignedIn(who): SignedIn,
    ApiPath(org): ApiPath<i64>,
    ApiJson(input): ApiJson<PolicyBody>,
) -> Result<Json<PolicyView>, Problem> {
    let expected = input.version;
    let policy = Policy::try_from(input)?;
    let saved = service::set(&app, who.account_id(), org, policy, expected).await?;
    Ok(Json(saved.into()))
}
