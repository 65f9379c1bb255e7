//! Activity: the sign-in history and the security timeline, in the
//! reader's words. A score becomes low, medium or high with its reasons
//! ("new country: United States"), and every stored code (`totp`,
//! `self-service (passkey)`, `removed by owner`) a sentence.

use super::*;
use crate::accounts::sessions::Viewing;
use crate::security::history::{AttemptView, EventView};
use koban_policy::risk::risk_level;

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct CursorQuery {
    cursor: Option<String>,
}

/// Where a reason names a place: the text around it and the country code,
/// which the page's script shows as the country's name in the reader's
/// language (the browser knows every country's name; the server does not).
#[derive(Debug, serde::Serialize)]
pub(super) struct ReasonView {
    before: String,
    region: Option<String>,
    after: String,
}

#[derive(Debug, serde::Serialize)]
pub(super) struct AttemptRow {
    at: When,
    outcome: String,
    outcome_code: String,
    ok: bool,
    ip: String,
    country: Option<String>,
    device: String,
    device_short_id: Option<String>,
    /// `low`, `medium` or `high`; none where the sign-in was refused before
    /// it could be scored (a wrong password scores nothing, so "risk 0"
    /// beside "refused" said nothing true).
    level: Option<&'static str>,
    reasons: Vec<ReasonView>,
}

/// Outcomes that come after a correct password, which the risk engine scored.
const SCORED: &[&str] = &[
    "success",
    "second_factor_required",
    "second_factor_failed",
    "second_factor_locked",
    "passkey_failed",
    "device_limit",
];

/// A sentence with one place in it, split around the place so the page can
/// name the country in the reader's language wherever the language puts it.
fn with_place(lang: Lang, id: &str, region: &str) -> ReasonView {
    const MARK: char = '\u{E000}';
    let text = t(lang, id, &[("place", MARK.to_string())]);
    let (before, after) = text.split_once(MARK).unwrap_or((&text, ""));
    ReasonView {
        before: before.to_string(),
        region: Some(region.to_string()),
        after: after.to_string(),
    }
}

fn plain(text: String) -> ReasonView {
    ReasonView {
        before: text,
        region: None,
        after: String::new(),
    }
}

/// One reason in words; `country` is where the attempt came from and
/// `from` where the sign-in before it did.
fn reason_view(lang: Lang, code: &str, country: Option<&str>, from: Option<&str>) -> ReasonView {
    match (code, country, from) {
        ("new_country", Some(c), _) => with_place(lang, "risk-why-new_country", c),
        ("impossible_travel", _, Some(f)) => with_place(lang, "risk-why-impossible_travel", f),
        _ => plain(label(lang, "risk-reason", code)),
    }
}

/// The history rows of `attempts` (newest first), devices named as the
/// owner named them and told apart by their short id.
pub(super) fn attempt_rows(
    viewer: &Viewer,
    step_up_score: u8,
    attempts: Vec<AttemptView>,
    devices: &[Device],
) -> Vec<AttemptRow> {
    let lang = viewer.lang;
    // For "impossible travel from …": the country of the next older success.
    let from: Vec<Option<String>> = (0..attempts.len())
        .map(|i| {
            attempts[i + 1..]
                .iter()
                .find(|a| a.outcome == "success" && a.country.is_some())
                .and_then(|a| a.country.clone())
        })
        .collect();
    attempts
        .into_iter()
        .zip(from)
        .map(|(a, from)| {
            let device = a
                .device_id
                .and_then(|id| devices.iter().find(|d| d.id == id));
            let scored = SCORED.contains(&a.outcome.as_str());
            AttemptRow {
                at: viewer.when(a.at),
                outcome: label(lang, "attempt", &a.outcome),
                ok: a.outcome == "success",
                ip: a.ip,
                device: device
                    .map(|d| shown_device_name(lang, &d.name))
                    .unwrap_or_else(|| unbound_device_name(lang, a.user_agent.as_deref())),
                device_short_id: device.map(|d| d.short_id.clone()),
                level: scored.then(|| risk_level(a.risk_score, step_up_score).code()),
                reasons: a
                    .reasons
                    .iter()
                    .map(|r| reason_view(lang, r, a.country.as_deref(), from.as_deref()))
                    .collect(),
                country: a.country,
                outcome_code: a.outcome,
            }
        })
        .collect()
}

/// What an attempt from no bound device came from: its browser and system
/// ("Chrome on Linux", names people use in every language), or "other
/// device" in the reader's words when the User-Agent says nothing.
fn unbound_device_name(lang: Lang, user_agent: Option<&str>) -> String {
    let (name, _) = koban_policy::device::describe_user_agent(user_agent.unwrap_or(""));
    shown_device_name(lang, &name)
}

/// `GET /account/security/history`: the account's sign-in attempts, newest first.
pub(super) async fn history_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<CursorQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    let query = PageQuery {
        cursor: query.cursor,
        limit: Some(20),
    };
    let page = match history::attempts(&app, current.account.id, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let bound = match devices::list(&app.store, current.account.id, None).await {
        Ok(list) => list,
        Err(e) => return internal(&viewer, &e),
    };
    let rows = attempt_rows(&viewer, app.config.risk_step_up_score, page.items, &bound);
    let next = page
        .next_cursor
        .map(|c| url_with("/account/security/history", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "login_history.html",
        context! { section => "history", rows => rows, next => next, zone_note => zone_note(&viewer) },
    )
}

#[derive(Debug, serde::Serialize)]
pub(super) struct EventRow {
    at: When,
    kind: String,
    kind_code: String,
    detail: String,
    ip: Option<String>,
}

/// `GET /account/security/timeline`: what changed on the account, newest first.
pub(super) async fn timeline_page(
    State(app): State<Arc<App>>,
    viewer: Viewer,
    Query(query): Query<CursorQuery>,
) -> Response {
    let Some(current) = viewer.current() else {
        return sign_in_first(&viewer.here);
    };
    let query = PageQuery {
        cursor: query.cursor,
        limit: Some(20),
    };
    let page = match history::events(&app.store, current.account.id, &query).await {
        Ok(page) => page,
        Err(problem) => return render::error(&viewer, problem.status, problem.message),
    };
    let rows: Vec<EventRow> = page
        .items
        .into_iter()
        .map(|e| event_row(&viewer, e))
        .collect();
    let next = page
        .next_cursor
        .map(|c| url_with("/account/security/timeline", &[("cursor", &c)]));
    render::page(
        &viewer,
        StatusCode::OK,
        "timeline.html",
        context! { section => "timeline", rows => rows, next => next, zone_note => zone_note(&viewer) },
    )
}

fn event_row(viewer: &Viewer, e: EventView) -> EventRow {
    EventRow {
        at: viewer.when(e.at),
        kind: label(viewer.lang, "event", &e.kind),
        detail: event_detail(viewer.lang, &e.kind, &e.detail),
        kind_code: e.kind,
        ip: e.ip,
    }
}

/// A second-factor method's name (`totp`, `recovery_code`, `code`, `passkey`).
fn method_name(lang: Lang, method: &str) -> String {
    label(lang, "twofa-method", method)
}

/// An event's detail in the reader's words. Details are stored as the
/// service wrote them: risk codes joined by commas, a method, a name with
/// the reason in brackets; each known shape becomes a sentence, and a name
/// the owner typed stays as typed.
pub(super) fn event_detail(lang: Lang, kind: &str, detail: &str) -> String {
    match kind {
        "risky_sign_in" | "sign_in_step_up" | "locked" => detail
            .split(',')
            .filter(|code| !code.is_empty())
            .map(|code| label(lang, "risk-reason", code))
            .collect::<Vec<_>>()
            .join(&t(lang, "list-separator", &[])),
        "two_factor_enabled" => t(
            lang,
            "timeline-with-method",
            &[("method", method_name(lang, detail))],
        ),
        "two_factor_disabled" => match detail {
            "by owner" => t(lang, "timeline-by-you", &[]),
            "reset by support" => t(lang, "timeline-by-support", &[]),
            "last passkey removed" => t(lang, "timeline-last-passkey-removed", &[]),
            other => other.to_string(),
        },
        "unlocked" => match detail
            .strip_prefix("self-service (")
            .and_then(|m| m.strip_suffix(')'))
        {
            Some(method) => t(
                lang,
                "timeline-unlocked-by-you",
                &[("method", method_name(lang, method))],
            ),
            None => detail.to_string(),
        },
        "device_removed" => {
            let whys = [
                ("removed by owner", "timeline-device-removed-by-you"),
                (
                    "removed at sign-in to make room",
                    "timeline-device-removed-for-room",
                ),
                ("removed by support", "timeline-device-removed-by-support"),
            ];
            for (why, id) in whys {
                if let Some(name) = detail.strip_suffix(&format!(" ({why})")) {
                    return t(lang, id, &[("device", name.to_string())]);
                }
            }
            detail.to_string()
        }
        "contact_changed" => label(lang, "timeline-contact", detail),
        k if k.starts_with("support_") => t(
            lang,
            "timeline-support-reference",
            &[("reference", detail.to_string())],
        ),
        _ => detail.to_string(),
    }
}

/// Where "this wasn't me" in a risky sign-in alert leads: the three things
/// that take an account back, or, signed out, the way to sign in or reset
/// the password (a reset signs out every device).
pub(super) async fn secure_page(viewer: Viewer) -> Response {
    render::page(
        &viewer,
        StatusCode::OK,
        "secure.html",
        context! { signed_in => viewer.who.is_some() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_details_read_as_sentences_in_every_language() {
        for lang in [Lang::En, Lang::ZhCn, Lang::ZhTw, Lang::Ja, Lang::Th] {
            let cases = [
                ("two_factor_enabled", "totp"),
                ("two_factor_enabled", "passkey"),
                ("two_factor_disabled", "by owner"),
                ("unlocked", "self-service (passkey)"),
                ("device_removed", "Chrome on Linux (removed by owner)"),
                ("device_removed", "Phone (removed at sign-in to make room)"),
                ("contact_changed", "email"),
                ("risky_sign_in", "new_country,impossible_travel"),
            ];
            for (kind, detail) in cases {
                let text = event_detail(lang, kind, detail);
                for raw in [
                    "totp",
                    "(passkey)",
                    "by owner",
                    "self-service",
                    "(removed",
                    "new_country",
                    "impossible_travel",
                ] {
                    assert!(!text.contains(raw), "{lang:?} {kind} {detail}: {text}");
                }
                assert!(!text.is_empty());
            }
            // What the owner named stays as they named it.
            assert!(
                event_detail(lang, "device_removed", "Chrome on Linux (removed by owner)")
                    .contains("Chrome on Linux")
            );
        }
    }

    #[test]
    fn a_place_sits_where_the_language_puts_it() {
        for lang in [Lang::En, Lang::ZhCn, Lang::ZhTw, Lang::Ja, Lang::Th] {
            let r = reason_view(lang, "impossible_travel", Some("US"), Some("JP"));
            assert_eq!(r.region.as_deref(), Some("JP"));
            assert!(!r.before.contains('\u{E000}') && !r.after.contains('\u{E000}'));
            assert!(!(r.before.trim().is_empty() && r.after.trim().is_empty()));
        }
        assert_eq!(reason_view(Lang::En, "new_device", None, None).region, None);
    }

    #[test]
    fn a_client_that_says_nothing_is_an_other_device_in_the_readers_words() {
        for lang in Lang::ALL {
            assert_eq!(
                unbound_device_name(lang, None),
                t(lang, "platform-other", &[])
            );
        }
        assert_eq!(
            unbound_device_name(
                Lang::Ja,
                Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0")
            ),
            "Chrome on Linux"
        );
    }
}
