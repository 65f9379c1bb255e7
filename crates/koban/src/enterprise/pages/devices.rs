//! Members' devices for administrators (`devices.read`): last use, place,
//! app version and any freeze; freezing and unfreezing one device or all
//! of a member's, with the reason the member is told (`devices.freeze`).

use super::{done, failed, field, frame, member_of, refusal, shown};
use crate::enterprise::access::Acting;
use crate::enterprise::devices as service;
use crate::enterprise::EnterpriseError;
use crate::state::App;
use crate::web::{PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use koban_policy::org::roles::Permission;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

type Posted = BTreeMap<String, String>;

const NOTICES: &[&str] = &["devices-frozen", "devices-unfrozen"];

/// Devices shown on one page; older ones follow a link.
const PER_PAGE: i64 = 100;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/devices", get(page))
        .route("/orgs/{org}/devices/freeze", post(freeze))
        .route("/orgs/{org}/devices/unfreeze", post(unfreeze))
}

/// The listing (`devices.read`, checked by the service): devices with ids
/// below `before`, of one member when `account` is given.
async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    account: Option<i64>,
    before: Option<i64>,
) -> Result<minijinja::Value, EnterpriseError> {
    let mut rows = service::list(
        app,
        me.account_id(),
        me.org.id,
        account,
        before.unwrap_or(i64::MAX),
        PER_PAGE + 1,
    )
    .await?;
    let older = (rows.len() as i64 > PER_PAGE).then(|| {
        rows.truncate(PER_PAGE as usize);
        rows.last().map(|d| d.id)
    });
    // The members on this page, once each, for the "all their devices" form.
    let mut members: Vec<(i64, String)> = Vec::new();
    for d in &rows {
        if !members.iter().any(|(id, _)| *id == d.account_id) {
            let shown = match &d.email {
                Some(email) if !d.member_name.is_empty() => format!("{} ({email})", d.member_name),
                Some(email) => email.clone(),
                None => d.member_name.clone(),
            };
            members.push((d.account_id, shown));
        }
    }
    Ok(context! {
        frame => frame(me, "devices"),
        devices => rows.iter().map(|d| context! {
            id => d.id,
            account_id => d.account_id,
            member => d.member_name,
            email => d.email,
            name => d.name,
            platform => d.platform,
            client_version => d.client_version,
            last_seen => viewer.when(d.last_seen_at).text,
            country => d.last_country,
            frozen => d.frozen_at.map(|at| viewer.when(at).text),
            frozen_reason => d.frozen_reason,
        }).collect::<Vec<_>>(),
        members => members.iter().map(|(id, name)| context! { id => id, name => name }).collect::<Vec<_>>(),
        account => account,
        older => older.flatten(),
    })
}

/// `GET /orgs/{org}/devices[?account=…&before=…]`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    Query(query): Query<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    let number = |name: &str| query.get(name).and_then(|v| v.trim().parse::<i64>().ok());
    let page = content(&app, &viewer, &me, number("account"), number("before")).await;
    shown(&viewer, "org_devices.html", &query, NOTICES, page)
}

/// `POST /orgs/{org}/devices/freeze`: `account`, `device` (empty: all of
/// the member's devices) and the `reason` the member is told.
async fn freeze(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    change(&app, &viewer, &org, &form, true).await
}

/// `POST /orgs/{org}/devices/unfreeze`: `account` and `device` (empty:
/// all of the member's devices).
async fn unfreeze(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(org): Path<String>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    change(&app, &viewer, &org, &form, false).await
}

async fn change(app: &App, viewer: &Viewer, org: &str, form: &Posted, freezing: bool) -> Response {
    let me = match member_of(app, viewer, org).await {
        Ok(me) => me,
        Err(response) => return response,
    };
    if let Err(error) = me.may(Permission::FreezeDevices) {
        return failed(viewer, error);
    }
    // A member or device id that is not a number names nobody: as the API,
    // not found.
    let Ok(account) = field(form, "account").trim().parse::<i64>() else {
        return failed(viewer, EnterpriseError::NotFound);
    };
    let device = match field(form, "device").trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return failed(viewer, EnterpriseError::NotFound),
        },
    };
    let reason = freezing.then(|| field(form, "reason"));
    let result =
        service::set_frozen(app, me.account_id(), me.org.id, account, device, reason).await;
    let error = match result {
        Ok(_) => {
            let code = if freezing {
                "devices-frozen"
            } else {
                "devices-unfrozen"
            };
            return done(&format!("/orgs/{}/devices", me.org.id), code);
        }
        Err(error) => error,
    };
    let shown = match content(app, viewer, &me, None, None).await {
        Ok(shown) => shown,
        Err(error) => return failed(viewer, error),
    };
    // Which form the reasons belong to: a device's, or the member-wide one.
    let target = match device {
        Some(id) => id.to_string(),
        None => "all".to_string(),
    };
    let typed = context! {
        target => target,
        typed_account => account,
        typed_reason => field(form, "reason"),
        ..shown
    };
    refusal(viewer, error, "org_devices.html", &["reason"], typed)
}
