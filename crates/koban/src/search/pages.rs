//! `GET /search`: the search page for everyone, with the API's filters.
//! It asks through [`super::api::answer`], so it finds exactly what the
//! API would for the same viewer: agents every ticket, note and article;
//! requesters their own tickets (and their organizations' when they
//! follow them), public replies and published articles; signed-out
//! readers published articles.

use super::api::{self, KindName, SearchHit, SearchQuery};
use crate::http::problem::Problem;
use crate::state::App;
use crate::web::{render, Viewer};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use koban_policy::desk::forms::Category;
use koban_policy::desk::permissions::Role;
use koban_policy::desk::status::Status;
use koban_policy::search::scope::Searcher;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Hits per page.
const PER_PAGE: i64 = 20;

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/search", get(page))
}

/// A hit as the page shows it.
#[derive(serde::Serialize)]
struct Row {
    kind: &'static str,
    title: String,
    url: String,
    /// Escaped text with the matches in `<mark>`; nothing else is markup.
    snippet: String,
    reference: Option<String>,
    status: Option<String>,
    language: Option<String>,
    internal: bool,
    date: String,
}

/// `snippet` with every tag but `<mark>` and `</mark>` escaped. The index
/// already escapes what people wrote; this keeps a page safe even if a
/// snippet ever came back otherwise.
pub fn safe_snippet(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len());
    for (i, open) in snippet.split("<mark>").enumerate() {
        if i > 0 {
            out.push_str("<mark>");
        }
        for (j, piece) in open.split("</mark>").enumerate() {
            if j > 0 {
                out.push_str("</mark>");
            }
            out.push_str(&piece.replace('<', "&lt;").replace('>', "&gt;"));
        }
    }
    // Unbalanced marks (a cut snippet) are closed so they never run on.
    let opened = out.matches("<mark>").count();
    let closed = out.matches("</mark>").count();
    for _ in closed..opened {
        out.push_str("</mark>");
    }
    out
}

fn row(hit: SearchHit, staff: bool) -> Row {
    let url = match (hit.kind, &hit.reference, hit.article_id) {
        ("article", _, Some(id)) if hit.internal => format!("/help/edit/articles/{id}"),
        ("article", _, Some(id)) => format!("/help/articles/{id}"),
        (_, Some(reference), _) if staff => format!("/desk/tickets/{reference}"),
        (_, Some(reference), _) => format!("/support/tickets/{reference}"),
        _ => "/search".to_string(),
    };
    Row {
        kind: hit.kind,
        title: hit.title,
        url,
        snippet: safe_snippet(&hit.snippet),
        reference: hit.reference,
        status: hit.status,
        language: hit.language,
        internal: hit.internal,
        date: hit.created_at.chars().take(10).collect(),
    }
}

/// A filter's value, or nothing when the field was left empty.
fn given(form: &BTreeMap<String, String>, name: &str) -> Option<String> {
    form.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The message ids that word each refused field.
fn field_label(field: &str) -> &'static str {
    match field {
        "q" => "search-query-label",
        "kind" => "search-filter-kind",
        "status" => "search-filter-status",
        "category" => "search-filter-category",
        "team" => "search-filter-team",
        "from" => "search-filter-from",
        "to" => "search-filter-to",
        _ => "search-filter-page",
    }
}

async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(form): Query<BTreeMap<String, String>>,
) -> Response {
    let asker = match &viewer.who {
        None => Ok((Searcher::SignedOut, Vec::new())),
        Some(who) => {
            let roles: Vec<&str> = [Role::Admin, Role::Supervisor, Role::Agent]
                .into_iter()
                .filter(|r| who.has_role(r.as_str()))
                .map(Role::as_str)
                .collect();
            api::asker(&app, who.account_id(), &roles).await
        }
    };
    let asker = match asker {
        Ok(asker) => asker,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let staff = matches!(asker.0, Searcher::Account { role, .. } if role >= Role::Agent);
    let signed_in = viewer.who.is_some();
    let q = given(&form, "q").unwrap_or_default();
    let kind = given(&form, "kind");
    let page_number = given(&form, "page")
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .unwrap_or(1);
    let mut rows = Vec::new();
    let mut total = 0;
    let mut refused: Vec<&'static str> = Vec::new();
    let mut trouble: Option<&'static str> = None;
    let mut more = false;
    if !q.is_empty() {
        let asked = SearchQuery {
            q: q.clone(),
            kind: match kind.as_deref() {
                Some("ticket") => Some(KindName::Ticket),
                Some("message") => Some(KindName::Message),
                Some("article") => Some(KindName::Article),
                Some(_) => {
                    refused.push(field_label("kind"));
                    None
                }
                None => None,
            },
            status: given(&form, "status"),
            category: given(&form, "category"),
            team: given(&form, "team"),
            assignee: None,
            requester: None,
            organization: None,
            from: given(&form, "from"),
            to: given(&form, "to"),
            cursor: None,
            page: Some(page_number),
            limit: Some(PER_PAGE),
        };
        if refused.is_empty() {
            match api::answer(&app, asker, &asked).await {
                Ok(found) => {
                    total = found.total;
                    more = found.next_cursor.is_some();
                    rows = found.items.into_iter().map(|h| row(h, staff)).collect();
                }
                Err(Problem {
                    errors, message, ..
                }) if errors.is_empty() => trouble = Some(message),
                Err(problem) => {
                    refused = problem
                        .errors
                        .iter()
                        .map(|e| field_label(&e.field))
                        .collect();
                    refused.dedup();
                }
            }
        }
    }
    // The filters' values, kept in the page links.
    let keep: Vec<(&str, String)> = ["q", "kind", "status", "category", "team", "from", "to"]
        .into_iter()
        .filter_map(|name| given(&form, name).map(|v| (name, v)))
        .collect();
    let link = |page: i64| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &keep {
            url.append_pair(name, value);
        }
        url.append_pair("page", &page.to_string());
        format!("/search?{}", url.finish())
    };
    let previous = (page_number > 1 && refused.is_empty()).then(|| link(page_number - 1));
    let next = (more && page_number < 50).then(|| link(page_number + 1));
    let status_code = if refused.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render::page(
        &viewer,
        status_code,
        "search.html",
        context! {
            q => q, kind => kind, staff => staff, signed_in => signed_in,
            status => given(&form, "status"), category => given(&form, "category"),
            team => given(&form, "team"), from => given(&form, "from"), to => given(&form, "to"),
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            categories => Category::ALL.iter().filter(|c| c.as_str() != "auto").map(|c| c.as_str()).collect::<Vec<_>>(),
            rows => rows, total => total, refused => refused, trouble => trouble,
            previous => previous, next => next, page => page_number,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::safe_snippet;

    #[test]
    fn only_marks_are_markup() {
        assert_eq!(
            safe_snippet("a <mark>密码</mark> &lt;b&gt;"),
            "a <mark>密码</mark> &lt;b&gt;"
        );
        assert_eq!(
            safe_snippet("<script>x</script><mark>y"),
            "&lt;script&gt;x&lt;/script&gt;<mark>y</mark>"
        );
        assert_eq!(
            safe_snippet("<mark onclick=x>z</mark>"),
            "&lt;mark onclick=x&gt;z</mark>"
        );
    }
}
