//! One access review's page: every member's access as it was when the
//! review began, keep or revoke per member (with a note), the progress,
//! and the sign-off. The service refuses a reviewer deciding on their own
//! access while another could, and a sign-off while members are undecided;
//! the page says so in words.

use super::super::{done, failed, field, frame, member_of, notice, refusal};
use super::{custom_names, mark_words, people, person, Posted, NOTICES};
use crate::enterprise::access::Acting;
use crate::enterprise::reviews as service;
use crate::enterprise::store::reviews::ItemRow;
use crate::enterprise::EnterpriseError;
use crate::http::pagination::{page as paged, PageQuery};
use crate::state::App;
use crate::web::i18n::t;
use crate::web::{render, url_with, PageForm, Viewer};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/orgs/{org}/access/reviews/{review}", get(page))
        .route("/orgs/{org}/access/reviews/{review}/decide", post(decide))
        .route(
            "/orgs/{org}/access/reviews/{review}/sign-off",
            post(sign_off),
        )
}

/// A review id from the path; one that is not a number is no review.
fn review_id(text: &str) -> Result<i64, EnterpriseError> {
    text.parse().map_err(|_| EnterpriseError::NotFound)
}

/// The review page's content: the review, its members (a page of them,
/// by `cursor`; only the undecided with `undecided`), and the members it
/// decided to revoke once signed off.
async fn content(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    review: i64,
    q: &BTreeMap<String, String>,
) -> Result<minijinja::Value, EnterpriseError> {
    let (org_id, actor, lang) = (me.org.id, me.account_id(), viewer.lang);
    let row = service::show(app, actor, org_id, review).await?;
    let undecided_only = q.get("undecided").is_some_and(|v| v == "1");
    let (before, limit) = PageQuery {
        cursor: q.get("cursor").cloned(),
        limit: Some(100),
    }
    .bounds()
    .unwrap_or((i64::MAX, 100));
    let items = service::items(
        app,
        actor,
        org_id,
        review,
        undecided_only,
        before,
        limit + 1,
    )
    .await?;
    let items = paged(items, limit, |i| i.account_id);
    let here = format!("/orgs/{org_id}/access/reviews/{review}");
    let next = items.next_cursor.map(|cursor| {
        url_with(
            &here,
            &[
                ("undecided", if undecided_only { "1" } else { "" }),
                ("cursor", &cursor),
            ],
        )
    });
    let signed_off = row.signed_off_at.is_some();
    // Once signed off, the members to remove or suspend (all of them: the
    // list is what the sign-off's audit entry names).
    let to_revoke: Vec<ItemRow> = if signed_off {
        service::items(app, actor, org_id, review, false, i64::MAX, i64::MAX)
            .await?
            .into_iter()
            .filter(|i| i.decision.as_deref() == Some("revoke"))
            .collect()
    } else {
        Vec::new()
    };
    // Collected before the reads: an iterator's closures cannot be held
    // across an await in a handler.
    let mut who: Vec<i64> = vec![row.started_by];
    who.extend(row.signed_off_by);
    for i in items.items.iter().chain(&to_revoke) {
        who.push(i.account_id);
        who.extend(i.decided_by);
    }
    let names = people(app, org_id, who).await?;
    let to_revoke: Vec<String> = to_revoke
        .iter()
        .map(|i| named(lang, &names, i.account_id, &i.display_name))
        .collect();
    let members: Vec<minijinja::Value> = items
        .items
        .iter()
        .map(|i| context! {
            account_id => i.account_id,
            name => named(lang, &names, i.account_id, &i.display_name),
            roles => i.roles,
            marks => i.marks.iter().map(|m| mark_words(lang, m)).collect::<Vec<_>>(),
            decision => i.decision,
            decided => i.decided_by.zip(i.decided_at).map(|(by, at)| t(lang, "org-access-decided-by", &[
                ("name", person(lang, &names, by)), ("when", viewer.when(at).text),
            ])),
            note => i.note,
            own => i.account_id == actor,
        })
        .collect();
    Ok(context! {
        frame => frame(me, "access"),
        customs => custom_names(app, org_id).await?,
        review => context! {
            id => row.id,
            started => t(lang, "org-access-started-by", &[
                ("name", person(lang, &names, row.started_by)),
                ("when", viewer.when(row.started_at).text),
            ]),
            progress => t(lang, "org-access-progress", &[
                ("decided", row.decided.to_string()), ("members", row.members.to_string()),
            ]),
            undecided => (row.members - row.decided).max(0),
            kept => row.kept,
            revoked => row.revoked,
            signed_off => row.signed_off_at.map(|at| t(lang, "org-access-signed-off-by", &[
                ("name", person(lang, &names, row.signed_off_by.unwrap_or_default())),
                ("when", viewer.when(at).text),
            ])),
            note => row.note,
        },
        members => members,
        undecided_only => undecided_only,
        next => next,
        to_revoke => to_revoke,
    })
}

/// A review member's name: as it was when the review began, or as the
/// member is now when they gave none.
fn named(
    lang: crate::web::i18n::Lang,
    names: &BTreeMap<i64, String>,
    id: i64,
    then: &str,
) -> String {
    if then.trim().is_empty() {
        person(lang, names, id)
    } else {
        then.to_string()
    }
}

/// `GET /orgs/{org}/access/reviews/{review}`.
async fn page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, review)): Path<(String, String)>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let shown = async { content(&app, &viewer, &me, review_id(&review)?, &q).await }.await;
    match shown {
        Ok(ctx) => {
            let said = notice(viewer.lang, q.get("notice").map(String::as_str), NOTICES);
            render::page(
                &viewer,
                StatusCode::OK,
                "org_access_review.html",
                context! { notice => said, ..ctx },
            )
        }
        Err(error) => failed(&viewer, error),
    }
}

/// The review page again after a refused step, the form's input kept
/// (`row`: the member whose decision was refused).
async fn refused_here(
    app: &App,
    viewer: &Viewer,
    me: &Acting,
    review: i64,
    error: EnterpriseError,
    fields: &[&str],
    kept: minijinja::Value,
) -> Response {
    match content(app, viewer, me, review, &BTreeMap::new()).await {
        Ok(ctx) => refusal(
            viewer,
            error,
            "org_access_review.html",
            fields,
            context! { ..kept, ..ctx },
        ),
        // Not allowed to see the review at all: its answer (403, 404) instead.
        Err(unseen) => failed(viewer, unseen),
    }
}

/// `POST /orgs/{org}/access/reviews/{review}/decide`: keep or revoke one
/// member's access, with an optional note.
async fn decide(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, review)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(review) = review_id(&review) else {
        return super::super::not_found(&viewer);
    };
    let (org_id, actor) = (me.org.id, me.account_id());
    let account = field(&form, "account_id").trim().parse::<i64>().ok();
    let result = async {
        // A member id that is not a number is no member of the review.
        let account = account.ok_or(EnterpriseError::NotFound)?;
        let note = field(&form, "note");
        service::decide(
            &app,
            actor,
            org_id,
            review,
            account,
            field(&form, "decision"),
            Some(note),
        )
        .await
    }
    .await;
    match result {
        Ok(_) => done(
            &format!("/orgs/{org_id}/access/reviews/{review}"),
            "access-decided",
        ),
        Err(EnterpriseError::NotFound) if account.is_some() => {
            // The member is not in this review (or the review is not this
            // organization's): say so on the review, when it exists.
            refused_here(
                &app,
                &viewer,
                &me,
                review,
                EnterpriseError::field("account_id", "invalid_value"),
                &[],
                context! {},
            )
            .await
        }
        Err(error) => {
            let kept = context! { row => account, typed_note => field(&form, "note") };
            refused_here(&app, &viewer, &me, review, error, &[], kept).await
        }
    }
}

/// `POST /orgs/{org}/access/reviews/{review}/sign-off`: signs the review
/// off, once every member is decided.
async fn sign_off(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Path((org, review)): Path<(String, String)>,
    PageForm(form): PageForm<Posted>,
) -> Response {
    let me = match member_of(&app, &viewer, &org).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(review) = review_id(&review) else {
        return super::super::not_found(&viewer);
    };
    let org_id = me.org.id;
    let note = field(&form, "note");
    match service::sign_off(&app, me.account_id(), org_id, review, Some(note)).await {
        Ok(_) => done(
            &format!("/orgs/{org_id}/access/reviews/{review}"),
            "access-signed-off",
        ),
        Err(error) => {
            let kept = context! { typed_signoff_note => note };
            refused_here(&app, &viewer, &me, review, error, &["note"], kept).await
        }
    }
}
