//! What the requester's browser tests share: choosing in a `<select>` and
//! sending a request through the "Contact support" form.

use super::*;

/// Chooses `value` in the `<select>` at `css`.
pub(super) async fn select(b: &Browser, css: &str, value: &str) {
    b.on_element(css, "select", |el| async move {
        el.select_by_value(value).await
    })
    .await
}

/// Sends a request of category "other" from the form on the page `b` is
/// on (`email` for a signed-out requester) and returns its reference
/// number as the page shows it.
pub(super) async fn send_request(
    b: &mut Browser,
    subject: &str,
    body: &str,
    email: Option<&str>,
) -> String {
    b.on_page("support").await;
    select(b, "#category", "other").await;
    b.fill("#subject", subject).await;
    b.fill("#body", body).await;
    if let Some(email) = email {
        b.fill("#email", email).await;
    }
    b.shot("support-form").await;
    b.click("#support-submit").await;
    b.on_page("support-sent").await;
    let reference = b.text("#reference").await;
    assert_eq!(reference.len(), 13, "{reference}");
    b.shot("sent").await;
    reference
}
