//! Deflection: the ticket form suggests the articles that match what the
//! requester wrote, records each one shown, and records it taken when its
//! link is followed; editors see both counts.

use super::{article, category};
use crate::security_pages::Pages;
use crate::support::{scalar, TestApp};
use reqwest::StatusCode;

/// The suggestion links (`href`s with a token) of a support form page.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&#x2f;", "/").replace("&amp;", "&"))
        .filter(|href| href.starts_with("/help/articles/") && href.contains("?s="))
        .collect()
}

async fn the_ticket_form_suggests_records_shown_and_taken(t: TestApp) {
    let editor = t.staff("editor@example.com", "supervisor").await;
    let cat = category(&t, &editor, "Codes").await;
    let id = article(
        &t,
        &editor,
        cat,
        "en",
        "Verification code never arrived",
        "Check your spam folder.",
        true,
    )
    .await;
    article(
        &t,
        &editor,
        cat,
        "en",
        "Verification code draft",
        "code",
        false,
    )
    .await;
    let mut p = Pages::new(&t).await;

    // "Check for answers": suggestions, and no ticket yet.
    let form = [
        ("subject", "My verification code"),
        ("body", "The code never arrived on my phone"),
        ("email", "asker@example.com"),
        ("check", "1"),
    ];
    let response = p.post("/support", &form).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let found = links(&html);
    assert_eq!(found.len(), 1, "{html}");
    assert!(
        found[0].starts_with(&format!(
            "/help/articles/{id}/verification-code-never-arrived?s="
        )),
        "{found:?}"
    );
    assert!(
        html.contains("My verification code"),
        "what was written stays in the form"
    );
    assert_eq!(t.count("desk_tickets").await, 0);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_suggestions").await, 1);

    // Following it records it taken, once.
    for _ in 0..2 {
        let response = p.get(&found[0]).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM help_suggestions WHERE taken_at IS NOT NULL"
        )
        .await,
        1
    );
    // A forged or foreign token records nothing.
    p.get(&format!("/help/articles/{id}?s=not-a-token")).await;
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM help_suggestions WHERE taken_at IS NOT NULL"
        )
        .await,
        1
    );

    // The form refused for a missing field comes back with suggestions too.
    let response = p
        .post(
            "/support",
            &[
                ("subject", "verification code"),
                ("body", ""),
                ("email", "asker@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(links(&response.text().await.unwrap()).len(), 1);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_suggestions").await, 2);

    // Nothing matches: said so, nothing recorded; then the ticket is sent.
    let response = p
        .post(
            "/support",
            &[
                ("subject", "Broken screen"),
                ("body", "Cracked glass"),
                ("check", "1"),
            ],
        )
        .await;
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("id=\"suggestions-none\""));
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM help_suggestions").await, 2);
    let response = p
        .post(
            "/support",
            &[
                ("subject", "My verification code"),
                ("body", "Never arrived"),
                ("email", "asker@example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Editors see what the form did.
    let (_, detail) = t
        .get(
            Some(&editor),
            &format!("/api/v1/help/articles/{id}/versions"),
        )
        .await;
    assert_eq!(detail["stats"]["shown"], 2, "{detail}");
    assert_eq!(detail["stats"]["taken"], 1, "{detail}");
}
both!(the_ticket_form_suggests_records_shown_and_taken);
