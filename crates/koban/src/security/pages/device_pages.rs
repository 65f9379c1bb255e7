//! The devices bound to the account: list, rename, remove, sign out the others.

use super::*;
use crate::accounts::sessions::Viewing;

const DEVICES_PATH: &str = "/account/security/devices";

pub(super) async fn devices_context(
    app: &App,
    viewer: &Viewer,
    current: &Current,
    notice: Option<String>,
) -> Result<minijinja::Value, AccountError> {
    let bound = devices::list_counted(
        &app.store,
        &app.config,
        current.account.id,
        current.device_id,
    )
    .await?;
    let views: Vec<DeviceView> = bound.iter().map(|d| device_view(viewer, d)).collect();
    let places = bound.iter().filter(|d| d.holds_place).count();
    // "Sign out all other devices" is offered only when there is one to
    // sign out; a red button that does nothing reads as a threat.
    let others = sessions::count_others(app, current.account.id, current.session_id).await?;
    let limit = crate::security::policies::device_limit(app, current.account.id).await?;
    Ok(context! {
        section => "devices",
        devices => views,
        places => places,
        max_devices => limit.0.max(1),
        place_rule => place_rule(app, viewer.lang, &limit),
        other_sessions => others,
        zone_note => zone_note(viewer),
        notice => notice,
    })
}

/// `GET /account/security/devices`: every bound device, which of them hold
/// a place under the device limit, and how to tell them apart.
pub(super) async fn devices_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    let notice = notice(viewer.lang, query.notice.as_deref());
    show(
        &viewer,
        "security_devices.html",
        devices_context(&app, &viewer, current, notice).await,
    )
}

/// `POST /account/security/devices/{id}/rename`.
pub(super) async fn rename_device(
    State(app): State<Arc<App>>,
    mut viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
    PageForm(form): PageForm<RenameForm>,
) -> Response {
    let Some(current) = viewer.current().cloned() else {
        return sign_in_first(DEVICES_PATH);
    };
    let Ok(id) = id.parse::<i64>() else {
        return not_found(&viewer);
    };
    let result = async {
        let name =
            devices::check_name(&form.name).map_err(|code| AccountError::field("name", code))?;
        if !devices::rename(
            &app.store,
            current.account.id,
            id,
            name,
            Some(&ctx.ip.to_string()),
        )
        .await?
        {
            return Err(AccountError::NotFound);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => see_other("/account/security/devices?notice=device-renamed"),
        Err(AccountError::NotFound) => not_found(&viewer),
        Err(error) => {
            viewer.here = DEVICES_PATH.into();
            let page = match devices_context(&app, &viewer, &current, None).await {
                Ok(page) => page,
                Err(e) => return failed(&viewer, e),
            };
            match explain(&viewer, error, &["name"]) {
                Ok(feedback) => refused(
                    &viewer,
                    "security_devices.html",
                    feedback,
                    context! { renaming => id, name => form.name, ..page },
                ),
                Err(response) => response,
            }
        }
    }
}

/// The device `id` of the signed-in account and whether removing it needs a
/// fresh step-up (it is the last one), as the API decides.
pub(super) async fn removable(
    app: &App,
    current: &Current,
    id: &str,
) -> Result<Option<(Device, bool)>, AccountError> {
    let Ok(id) = id.parse::<i64>() else {
        return Ok(None);
    };
    let bound = devices::list(&app.store, current.account.id, current.device_id).await?;
    let last = bound.len() == 1;
    Ok(bound
        .into_iter()
        .find(|d| d.id == id)
        .map(|d| (d, last && totp::require_step_up(current).is_err())))
}

/// `GET /account/security/devices/{id}/remove`: asks to confirm (the step-up
/// page comes back here).
pub(super) async fn remove_device_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    match removable(&app, current, &id).await {
        Ok(None) => not_found(&viewer),
        Ok(Some((_, true))) => step_up_first(&viewer.here),
        Ok(Some((device, false))) => render::page(
            &viewer,
            StatusCode::OK,
            "confirm.html",
            context! {
                section => "devices",
                title => t(viewer.lang, "security-remove-title", &[]),
                text => t(viewer.lang, "security-remove-text", &[("device", device.name.clone())]),
                action => format!("/account/security/devices/{}/remove", device.id),
                button => t(viewer.lang, "security-remove", &[]),
                button_id => "confirm-remove",
                danger => true,
            },
        ),
        Err(e) => failed(&viewer, e),
    }
}

/// `POST /account/security/devices/{id}/remove`: unbinds the device and
/// ends its sessions; the last device needs a fresh step-up first.
pub(super) async fn remove_device(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    ctx: ClientContext,
    Path(id): Path<String>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(DEVICES_PATH);
    };
    let device = match removable(&app, current, &id).await {
        Ok(None) => return not_found(&viewer),
        Ok(Some((device, true))) => {
            return step_up_first(&format!("/account/security/devices/{}/remove", device.id))
        }
        Ok(Some((device, false))) => device,
        Err(e) => return failed(&viewer, e),
    };
    if let Err(e) = devices::remove(
        &app.store,
        current.account.id,
        device.id,
        Some(&ctx.ip.to_string()),
        "removed by owner",
    )
    .await
    {
        return internal(&viewer, &e);
    }
    if device.current {
        // This browser's own session ended with its device.
        let mut response = see_other("/signin?notice=device-removed");
        set_cookie(&mut response, crate::web::clear_session_cookie(&app));
        return response;
    }
    see_other("/account/security/devices?notice=device-removed")
}

/// `POST /account/security/sign-out-others`: every other session ends.
pub(super) async fn sign_out_others(State(app): State<Arc<App>>, viewer: Viewer) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(DEVICES_PATH);
    };
    match sessions::revoke_all(&app, current.account.id, Some(current.session_id)).await {
        Ok(_) => see_other("/account/security/devices?notice=signed-out-others"),
        Err(e) => failed(&viewer, e),
    }
}
