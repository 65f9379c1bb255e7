//! The organization console's settings pages through HTTP, on both
//! databases: the security policy, members' devices, roles and domains.
//! Each page: the happy path through its forms, every bad input explained
//! beside its field with nothing changed, 403 without the permission (and
//! no form for it), 404 for another organization, sign-in for a visitor.

mod devices;
mod domains;
mod policy;
mod roles;

use super::*;

/// The text between `id="<id>"` and the end of its element's line, to
/// assert a reason sits beside its own field.
pub(super) fn beside(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    html.find(&marker)
        .map(|at| html[at..].lines().next().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// A signed-out visitor is sent to sign in, and back here after.
pub(super) async fn visitor_signs_in_first(t: &TestApp, path: &str) {
    let mut visitor = Pages::new(t).await;
    let response = visitor.get(path).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
    let to = location(&response);
    assert!(to.starts_with("/signin?next="), "{path} → {to}");
}
