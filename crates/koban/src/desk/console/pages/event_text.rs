//! Ticket events as sentences: an event's kind and stored detail become a
//! message id and its arguments, so the timeline reads in the agent's
//! language instead of showing JSON. Pure: the page resolves names and
//! translates.

use serde_json::Value as Json;

/// One argument of an event's sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// Shown as it is (a note, a masked destination, a reference).
    Text(String),
    /// A message id, translated before it is placed in the sentence.
    Message(String),
    /// An account, shown by its name.
    Person(i64),
}

/// The sentence for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Said {
    pub id: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

fn text(detail: &Json, member: &str) -> Option<String> {
    match detail.get(member)? {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

fn message(prefix: &str, detail: &Json, member: &str) -> Arg {
    match detail.get(member).and_then(Json::as_str) {
        Some(value) => Arg::Message(format!("{prefix}{value}")),
        None => Arg::Text("—".into()),
    }
}

fn list(detail: &Json, member: &str) -> Vec<String> {
    detail
        .get(member)
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn said(id: &'static str, args: Vec<(&'static str, Arg)>) -> Said {
    Said { id, args }
}

/// The stored action name (`account.unlock`) as its message id.
fn action(detail: &Json) -> Arg {
    let name = detail.get("action").and_then(Json::as_str).unwrap_or("");
    let id = match name {
        "account.unlock" => "console-says-action-unlock",
        "account.reset_2fa" => "console-says-action-reset_2fa",
        "account.remove_device" => "console-says-action-remove_device",
        "account.end_sessions" => "console-says-action-end_sessions",
        other => return Arg::Text(other.to_string()),
    };
    Arg::Message(id.into())
}

/// The sentence for an event of `kind` with `detail`, done by `actor`.
pub(crate) fn describe(kind: &str, detail: &Json, actor: Option<i64>) -> Said {
    let from_to = |prefix: &str| {
        vec![
            ("from", message(prefix, detail, "from")),
            ("to", message(prefix, detail, "to")),
        ]
    };
    let method = || ("method", message("console-says-method-", detail, "method"));
    let note = || ("note", Arg::Text(text(detail, "note").unwrap_or_default()));
    match kind {
        "created" => said(
            "console-says-created",
            vec![
                ("category", message("category-", detail, "category")),
                ("priority", message("console-priority-", detail, "priority")),
            ],
        ),
        "status" => said("console-says-status", from_to("console-status-")),
        "priority" => said("console-says-priority", from_to("console-priority-")),
        // A correction is what the agent said triage got wrong.
        "category" if detail.get("correction").and_then(Json::as_bool) == Some(true) => {
            said("console-says-category-corrected", from_to("category-"))
        }
        "category" => said("console-says-category", from_to("category-")),
        "assigned" => match detail.get("to").and_then(Json::as_i64) {
            None => said("console-says-unassigned", vec![]),
            Some(to) if Some(to) == actor => said("console-says-claimed", vec![]),
            Some(to) => said("console-says-assigned", vec![("to", Arg::Person(to))]),
        },
        "tags" => {
            let (added, removed) = (list(detail, "added"), list(detail, "removed"));
            let joined = |l: Vec<String>| Arg::Text(l.join(", "));
            match (added.is_empty(), removed.is_empty()) {
                (false, true) => said("console-says-tags-added", vec![("added", joined(added))]),
                (true, false) => said(
                    "console-says-tags-removed",
                    vec![("removed", joined(removed))],
                ),
                _ => said(
                    "console-says-tags",
                    vec![("added", joined(added)), ("removed", joined(removed))],
                ),
            }
        }
        "replied" => said("console-says-replied", vec![]),
        "noted" => said("console-says-noted", vec![]),
        "verification_started" => match text(detail, "destination") {
            Some(to) => said(
                "console-says-verification-started",
                vec![method(), ("destination", Arg::Text(to))],
            ),
            None => said(
                "console-says-verification-started-documents",
                vec![method()],
            ),
        },
        "verification_passed" => said("console-says-verification-passed", vec![method()]),
        "verification_rejected" => said("console-says-verification-rejected", vec![note()]),
        "verification_note" => said("console-says-verification-note", vec![note()]),
        "account_action" => said(
            "console-says-account-action",
            vec![
                ("action", action(detail)),
                (
                    "reason",
                    Arg::Text(text(detail, "reason").unwrap_or_default()),
                ),
            ],
        ),
        "followed_up" => said(
            "console-says-followed-up",
            vec![(
                "reference",
                Arg::Text(crate::desk::tickets::api::formatted(
                    &text(detail, "by").unwrap_or_default(),
                )),
            )],
        ),
        "merged" => said(
            "console-says-merged",
            vec![(
                "reference",
                Arg::Text(crate::desk::tickets::api::formatted(
                    &["into", "from", "reference", "ticket"]
                        .iter()
                        .find_map(|m| text(detail, m))
                        .unwrap_or_default(),
                )),
            )],
        ),
        "escalated" => said(
            "console-says-escalated",
            vec![(
                "reason",
                Arg::Text(text(detail, "reason").unwrap_or_default()),
            )],
        ),
        "identity_document_requested" => said("console-says-document-requested", vec![]),
        "identity_document_deleted" => said("console-says-document-deleted", vec![]),
        "looked_up" => said("console-says-looked-up", vec![]),
        "merged_from" => said(
            "console-says-merged-from",
            vec![(
                "reference",
                Arg::Text(crate::desk::tickets::api::formatted(
                    &text(detail, "from").unwrap_or_default(),
                )),
            )],
        ),
        "split" => said(
            "console-says-split",
            vec![(
                "reference",
                Arg::Text(crate::desk::tickets::api::formatted(
                    &text(detail, "into").unwrap_or_default(),
                )),
            )],
        ),
        "routed" => said(
            "console-says-routed",
            vec![("team", Arg::Text(text(detail, "team").unwrap_or_default()))],
        ),
        "team" => said(
            "console-says-team",
            vec![
                (
                    "from",
                    Arg::Text(text(detail, "from").unwrap_or_else(|| "—".into())),
                ),
                ("to", Arg::Text(text(detail, "to").unwrap_or_default())),
            ],
        ),
        "supervisor_notified" => said("console-says-supervisor-notified", vec![]),
        "sla_warning" => said(
            "console-says-sla-warning",
            vec![("metric", message("console-says-metric-", detail, "metric"))],
        ),
        "sla_breached" => said(
            "console-says-sla-breached",
            vec![("metric", message("console-says-metric-", detail, "metric"))],
        ),
        "email_linked" => said(
            "console-says-email-linked",
            vec![(
                "reference",
                Arg::Text(crate::desk::tickets::api::formatted(
                    &text(detail, "related").unwrap_or_default(),
                )),
            )],
        ),
        "email_placed" => said("console-says-email-placed", vec![]),
        "email_bounced" => said(
            "console-says-email-bounced",
            vec![
                (
                    "recipient",
                    Arg::Text(text(detail, "recipient").unwrap_or_default()),
                ),
                (
                    "diagnostic",
                    Arg::Text(text(detail, "diagnostic").unwrap_or_default()),
                ),
            ],
        ),
        "email_authentication_failed" => said("console-says-email-spoofed", vec![]),
        "email_files_left_out" => said(
            "console-says-email-files-left-out",
            vec![
                ("files", Arg::Text(list(detail, "files").join(", "))),
                (
                    "limit",
                    Arg::Text(size_text(
                        detail
                            .get("limit_bytes")
                            .and_then(Json::as_u64)
                            .unwrap_or(0),
                    )),
                ),
            ],
        ),
        "survey_sent" => said("survey-says-sent", vec![]),
        "satisfaction" => {
            let score = (
                "score",
                Arg::Text(text(detail, "score").unwrap_or_default()),
            );
            match text(detail, "comment") {
                Some(comment) => said(
                    "survey-says-rated",
                    vec![score, ("comment", Arg::Text(comment))],
                ),
                None => said("survey-says-scored", vec![score]),
            }
        }
        // A newer kind from another part of the desk: its name, never its
        // raw detail.
        other => said(
            "console-says-other",
            vec![("kind", Arg::Text(other.replace('_', " ")))],
        ),
    }
}

/// A size as people read it: `20 MiB`, `512 KiB`, `900 B`.
fn size_text(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB => format!("{} KiB", b / KIB),
        b => format!("{b} B"),
    }
}

/// The message for a delivery's purpose, when it has one; other purposes
/// read as words.
pub(crate) fn purpose(lang: crate::web::i18n::Lang, purpose: &str) -> String {
    let id = format!("console-purpose-{purpose}");
    if crate::web::i18n::has_message(lang, &id) {
        crate::web::i18n::t(lang, &id, &[])
    } else {
        purpose.replace('_', " ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::{has_message, Lang};
    use serde_json::json;

    /// Every kind literal passed to `insert_event(` under src/desk.
    fn kinds_in_source() -> Vec<String> {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // The channels above the desk write events on tickets too.
        let mut files = vec![here.join("src/desk"), here.join("src/channels")];
        let mut kinds = vec![];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    files.push(entry.unwrap().path());
                }
                continue;
            }
            // This file names the call in its comments and this test.
            if path.ends_with("event_text.rs") {
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for (at, _) in source.match_indices("insert_event(") {
                // The call's arguments up to the detail: the kind is the
                // first string literal (or a variable, checked below).
                let call = &source[at..];
                let end = call
                    .find("json!")
                    .or_else(|| call.find("&detail"))
                    .unwrap_or(0);
                // Never past the end of the call's statement.
                let end = end.min(call.find(';').unwrap_or(end));
                let head = &call[..end];
                if let Some(start) = head.find('"') {
                    let rest = &head[start + 1..];
                    kinds.push(rest[..rest.find('"').unwrap()].to_string());
                }
            }
        }
        // These are passed through a variable (`service` and `sla`).
        kinds.extend(["replied", "noted", "sla_warning", "sla_breached"].map(str::to_string));
        kinds.sort();
        kinds.dedup();
        kinds
    }

    #[test]
    fn every_kind_in_the_code_has_its_own_sentence_in_every_language() {
        let kinds = kinds_in_source();
        for kind in [
            "created",
            "status",
            "category",
            "assigned",
            "tags",
            "account_action",
        ] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{kind} not found: {kinds:?}"
            );
        }
        for kind in &kinds {
            let said = describe(kind, &json!({}), None);
            assert_ne!(said.id, "console-says-other", "{kind} has no sentence");
            for lang in Lang::ALL {
                assert!(
                    has_message(lang, said.id),
                    "{kind}: {} in {lang:?}",
                    said.id
                );
            }
        }
    }

    #[test]
    fn every_sentence_and_argument_message_exists() {
        let cases = [
            (
                "created",
                json!({ "category": "cannot_sign_in", "priority": "high" }),
            ),
            ("status", json!({ "from": "new", "to": "on_hold" })),
            ("priority", json!({ "from": "low", "to": "urgent" })),
            (
                "category",
                json!({ "from": "cannot_sign_in", "to": "privacy", "correction": true }),
            ),
            (
                "category",
                json!({ "from": "cannot_sign_in", "to": "privacy" }),
            ),
            ("assigned", json!({ "from": null, "to": 7 })),
            ("assigned", json!({ "from": 7, "to": null })),
            ("tags", json!({ "added": ["a"], "removed": [] })),
            ("tags", json!({ "added": [], "removed": ["b"] })),
            ("tags", json!({ "added": ["a"], "removed": ["b"] })),
            (
                "verification_started",
                json!({ "method": "code", "destination": "a***@x" }),
            ),
            (
                "verification_started",
                json!({ "method": "second_factor", "destination": "+1***" }),
            ),
            ("verification_started", json!({ "method": "documented" })),
            ("verification_passed", json!({ "method": "documented" })),
            ("account_action", json!({ "action": "account.unlock" })),
            ("account_action", json!({ "action": "account.reset_2fa" })),
            (
                "account_action",
                json!({ "action": "account.remove_device" }),
            ),
            (
                "account_action",
                json!({ "action": "account.end_sessions" }),
            ),
            ("merged", json!({ "into": "x" })),
            (
                "email_linked",
                json!({ "related": "26120345678", "clue": "subject" }),
            ),
            (
                "email_files_left_out",
                json!({ "files": ["a.log", "b.png"], "limit_bytes": 20971520 }),
            ),
            ("something_new", json!({ "secret": "never shown" })),
        ];
        for (kind, detail) in cases {
            let said = describe(kind, &detail, Some(1));
            for lang in Lang::ALL {
                assert!(has_message(lang, said.id), "{} in {lang:?}", said.id);
                for (_, arg) in &said.args {
                    if let Arg::Message(id) = arg {
                        assert!(has_message(lang, id), "{id} in {lang:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn claiming_is_told_apart_from_assigning_and_unknown_kinds_hide_their_detail() {
        assert_eq!(
            describe("assigned", &json!({ "to": 3 }), Some(3)).id,
            "console-says-claimed"
        );
        assert_eq!(
            describe("assigned", &json!({ "to": 4 }), Some(3)).args,
            vec![("to", Arg::Person(4))]
        );
        let other = describe("split_off", &json!({ "secret": "x" }), None);
        assert_eq!(other.args, vec![("kind", Arg::Text("split off".into()))]);
    }

    #[test]
    fn files_left_out_name_the_files_and_the_limit() {
        let said = describe(
            "email_files_left_out",
            &json!({ "files": ["ログ.txt", "b.png"], "limit_bytes": 20971520 }),
            None,
        );
        assert_eq!(
            said.args,
            vec![
                ("files", Arg::Text("ログ.txt, b.png".into())),
                ("limit", Arg::Text("20 MiB".into()))
            ]
        );
        assert_eq!(size_text(1536 * 1024), "1.5 MiB");
        assert_eq!(size_text(3000), "2 KiB");
        assert_eq!(size_text(0), "0 B");
    }

    #[test]
    fn known_delivery_purposes_read_as_words() {
        for p in [
            "verify_contact",
            "password_reset",
            "sign_in",
            "unlock",
            "step_up",
            "change_contact",
            "support_verification",
            "desk_received",
            "desk_replied",
            "desk_verification_link",
            "contact_changed_notice",
            "lock_notice",
            "new_device_alert",
            "risky_sign_in_alert",
            "security_reminder",
        ] {
            for lang in Lang::ALL {
                assert!(
                    has_message(lang, &format!("console-purpose-{p}")),
                    "{p} {lang:?}"
                );
            }
        }
        assert_eq!(purpose(Lang::En, "brand_new"), "brand new");
    }
}
