//! Who may call each help center operation and open each editor page:
//! every `/api/v1/help/…` operation the API document lists × a signed-out
//! visitor, an ordinary user, an agent, a supervisor and a desk admin; and
//! the pages likewise. An operation this table does not know fails here.

use super::{article, category};
use crate::security_pages::Pages;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

/// The least a caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    /// Anyone, signed out too: readers.
    Anyone,
    /// Agents and above: drafts, revisions and counts.
    Agent,
    /// Supervisors and desk admins: every change.
    Editor,
}

fn need(method: &str, path: &str) -> Option<Need> {
    Some(match (method, path) {
        ("get", "/api/v1/help/categories")
        | ("get", "/api/v1/help/articles")
        | ("get", "/api/v1/help/articles/{id}")
        | ("post", "/api/v1/help/articles/{id}/vote")
        | ("get", "/api/v1/help/suggestions") => Need::Anyone,
        ("get", "/api/v1/help/articles/{id}/versions")
        | ("get", "/api/v1/help/articles/{id}/versions/{lang}/revisions")
        | ("get", "/api/v1/help/articles/{id}/versions/{lang}/revisions/{revision}") => Need::Agent,
        ("post", "/api/v1/help/categories")
        | ("patch", "/api/v1/help/categories/{id}")
        | ("delete", "/api/v1/help/categories/{id}")
        | ("post", "/api/v1/help/articles")
        | ("patch", "/api/v1/help/articles/{id}")
        | ("delete", "/api/v1/help/articles/{id}")
        | ("put", "/api/v1/help/articles/{id}/versions/{lang}")
        | ("post", "/api/v1/help/articles/{id}/versions/{lang}/publish")
        | ("post", "/api/v1/help/articles/{id}/versions/{lang}/unpublish")
        | ("post", "/api/v1/help/articles/{id}/versions/{lang}/revisions/{revision}/restore") => {
            Need::Editor
        }
        _ => return None,
    })
}

/// A caller's rank: 0 signed out, 1 user, 2 agent, 3 supervisor, 4 admin.
fn allowed(need: Need, rank: u8) -> bool {
    match need {
        Need::Anyone => true,
        Need::Agent => rank >= 2,
        Need::Editor => rank >= 3,
    }
}

async fn every_help_operation_checks_who_calls(t: TestApp) {
    let editor = t.staff("owner.editor@example.com", "admin").await;
    let user = t.signed_up("user@example.com", super::PASSWORD).await;
    let agent = t.staff("m.agent@example.com", "agent").await;
    let supervisor = t.staff("m.supervisor@example.com", "supervisor").await;
    let admin = t.staff("m.admin@example.com", "admin").await;
    let cat = category(&t, &editor, "Matrix").await;
    let id = article(&t, &editor, cat, "en", "Matrix article", "Body.", true).await;
    // Readers' operations read one that no editor's call unpublishes.
    let stable = article(&t, &editor, cat, "en", "Stable article", "Body.", true).await;
    let (_, revisions) = t
        .get(
            Some(&editor),
            &format!("/api/v1/help/articles/{id}/versions/en/revisions"),
        )
        .await;
    let revision = revisions["items"][0]["id"].as_i64().expect("revision");
    let callers: [(u8, Option<&str>); 5] = [
        (0, None),
        (1, Some(&user)),
        (2, Some(&agent)),
        (3, Some(&supervisor)),
        (4, Some(&admin)),
    ];
    let (_, doc) = t.get(None, "/api/openapi.json").await;
    let mut wrong = vec![];
    let mut walked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with("/api/v1/help/") {
            continue;
        }
        for method in item.as_object().expect("item").keys() {
            let Some(need) = need(method, path) else {
                wrong.push(format!(
                    "{method} {path} is not in the help matrix: declare who may call it"
                ));
                continue;
            };
            for (rank, token) in callers {
                // Deleting takes things of its own, so each allowed call has one.
                let target = match (method.as_str(), path.as_str()) {
                    ("delete", "/api/v1/help/articles/{id}") => {
                        article(&t, &editor, cat, "en", "Doomed", "x", true).await
                    }
                    ("delete", "/api/v1/help/categories/{id}") => {
                        category(&t, &editor, "Doomed").await
                    }
                    ("patch" | "post", p) if p.starts_with("/api/v1/help/categories") => cat,
                    _ if need == Need::Anyone => stable,
                    _ => id,
                };
                let url = path
                    .replace("{id}", &target.to_string())
                    .replace("{lang}", "en")
                    .replace("{revision}", &revision.to_string());
                let url = if url.ends_with("/suggestions") {
                    format!("{url}?q=matrix")
                } else {
                    url
                };
                let body = match (method.as_str(), path.as_str()) {
                    ("post", "/api/v1/help/categories")
                    | ("patch", "/api/v1/help/categories/{id}") => {
                        json!({ "names": { "en": "Matrix" } })
                    }
                    ("post", "/api/v1/help/articles") => {
                        json!({ "category_id": cat, "lang": "en", "title": "T", "body": "B" })
                    }
                    ("patch", "/api/v1/help/articles/{id}") => json!({ "category_id": cat }),
                    ("put", _) => json!({ "title": "Matrix article", "body": "Body." }),
                    ("post", "/api/v1/help/articles/{id}/vote") => json!({ "helpful": true }),
                    _ => json!({}),
                };
                let mut request = t
                    .http
                    .request(method.to_uppercase().parse().expect("method"), t.url(&url));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if method != "get" {
                    request = request.json(&body);
                }
                let (status, answer) = t.send(request).await;
                let right = match (allowed(need, rank), rank) {
                    (true, _) => status.is_success(),
                    (false, 0) => status == StatusCode::UNAUTHORIZED,
                    (false, _) => {
                        status == StatusCode::FORBIDDEN && answer["type"] == "/problems/forbidden"
                    }
                };
                if !right {
                    wrong.push(format!(
                        "{method} {path} as rank {rank}: got {status} {answer}"
                    ));
                }
                walked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(walked >= 18 * 5, "walked only {walked} calls");
}
both!(every_help_operation_checks_who_calls);

/// The editor pages: a visitor is sent to sign in, someone outside the
/// desk gets 404, an agent reads but may not change (403), supervisors
/// and admins change; readers' pages are anyone's.
async fn every_help_page_checks_who_opens_it(t: TestApp) {
    let editor = t.staff("owner.editor@example.com", "admin").await;
    t.signed_up("user@example.com", super::PASSWORD).await;
    t.staff("m.agent@example.com", "agent").await;
    t.staff("m.supervisor@example.com", "supervisor").await;
    let cat = category(&t, &editor, "Matrix").await;
    let id = article(&t, &editor, cat, "en", "Matrix article", "Body.", true).await;
    let (_, revisions) = t
        .get(
            Some(&editor),
            &format!("/api/v1/help/articles/{id}/versions/en/revisions"),
        )
        .await;
    let revision = revisions["items"][0]["id"].as_i64().expect("revision");
    let reads = [
        ("/help".to_string(), Need::Anyone),
        (format!("/help/categories/{cat}"), Need::Anyone),
        (format!("/help/articles/{id}"), Need::Anyone),
        (format!("/help/articles/{id}/matrix-article"), Need::Anyone),
        ("/help/edit".to_string(), Need::Agent),
        (format!("/help/edit/articles/{id}?lang=en"), Need::Agent),
        (
            format!("/help/edit/articles/{id}/versions/en/revisions/{revision}"),
            Need::Agent,
        ),
    ];
    let changes: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            "/help/edit/categories".into(),
            vec![("name_en", "Page matrix".into())],
        ),
        (
            format!("/help/edit/categories/{cat}"),
            vec![("name_en", "Matrix".into())],
        ),
        (
            "/help/edit/articles".into(),
            vec![
                ("category_id", cat.to_string()),
                ("lang", "en".into()),
                ("title", "T".into()),
                ("body", "B".into()),
            ],
        ),
        (
            format!("/help/edit/articles/{id}/versions/en"),
            vec![
                ("title", "Matrix article".into()),
                ("body", "Body.".into()),
                ("action", "publish".into()),
            ],
        ),
        (
            format!("/help/edit/articles/{id}/versions/en/revisions/{revision}/restore"),
            vec![],
        ),
        (
            format!("/help/edit/articles/{id}/move"),
            vec![("category_id", cat.to_string())],
        ),
        (
            format!("/help/articles/{id}/vote"),
            vec![("helpful", "yes".into())],
        ),
    ];
    let mut wrong = vec![];
    for (rank, who) in [
        (0u8, None),
        (1, Some("user@example.com")),
        (2, Some("m.agent@example.com")),
        (3, Some("m.supervisor@example.com")),
        (4, Some("owner.editor@example.com")),
    ] {
        let mut p = Pages::new(&t).await;
        if let Some(who) = who {
            let password = if rank == 1 {
                super::PASSWORD
            } else {
                "staff password 1"
            };
            let response = p.sign_in(who, password).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{who} signs in");
        }
        for (path, need) in &reads {
            let status = p.get(path).await.status();
            let want = match (allowed(*need, rank), rank) {
                (true, _) => StatusCode::OK,
                (false, 0) => StatusCode::SEE_OTHER,
                (false, 1) => StatusCode::NOT_FOUND,
                (false, _) => StatusCode::FORBIDDEN,
            };
            if status != want {
                wrong.push(format!(
                    "GET {path} as rank {rank}: {status}, wanted {want}"
                ));
            }
        }
        for (path, form) in &changes {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let status = p.post(path, &form).await.status();
            let need = if path.ends_with("/vote") {
                Need::Anyone
            } else {
                Need::Editor
            };
            let right = match (allowed(need, rank), rank) {
                (true, _) => status == StatusCode::SEE_OTHER,
                (false, 0) => status == StatusCode::SEE_OTHER,
                (false, 1) => status == StatusCode::NOT_FOUND,
                (false, _) => status == StatusCode::FORBIDDEN,
            };
            if !right {
                wrong.push(format!("POST {path} as rank {rank}: {status}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
both!(every_help_page_checks_who_opens_it);
