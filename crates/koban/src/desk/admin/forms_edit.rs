//! The forms page's editor as posted members, both ways: a stored form
//! becomes the members the page shows, and posted members become the
//! change the forms service saves. Only shape is checked here (a type the
//! page offers, a number where a number goes); every rule of a form is
//! `koban_policy::desk::forms::validate_spec`'s, as for the API.
//!
//! Custom field `i` is posted as `c<i>.id`, `c<i>.type`, `c<i>.required`,
//! `c<i>.multiline`, `c<i>.max_len`, `c<i>.options` (one per line),
//! `c<i>.label.<lang>`, `c<i>.hint.<lang>`, `c<i>.option_labels.<lang>`
//! (one per line, in the options' order), `c<i>.position` and
//! `c<i>.remove`; a standard field as `std.<field>`: `required`,
//! `optional` or `off`.

use crate::desk::admin::forms::DeskFormChange;
use crate::desk::error::DeskError;
use crate::http::problem::FieldError;
use koban_policy::desk::forms::{CustomField, CustomKind, Field, FormSpec, Labels};
use std::collections::BTreeMap;

/// Posted members, as browsers send them.
pub type Posted = BTreeMap<String, String>;

/// Rows past this are ignored: the policy allows 20 fields, and a page
/// posting thousands of rows must not make thousands of fields.
pub const MAX_ROWS: usize = 40;

/// The `max_len` a new field gets when the admin leaves it blank.
const DEFAULT_MAX_LEN: u32 = 200;

/// The members that show `spec` in the editor, and its row count (one
/// more than its fields: an empty row to add one).
pub fn members(spec: &FormSpec) -> (Posted, usize) {
    let mut out = Posted::new();
    for f in Field::ALL {
        let state = if spec.required.contains(&f) {
            "required"
        } else if spec.optional.contains(&f) {
            "optional"
        } else {
            "off"
        };
        out.insert(format!("std.{}", f.as_str()), state.into());
    }
    for (i, c) in spec.custom.iter().enumerate() {
        let mut put = |name: &str, value: String| out.insert(format!("c{i}.{name}"), value);
        put("id", c.id.clone());
        put("type", c.kind.type_name().into());
        put("required", c.required.to_string());
        put(
            "multiline",
            (c.kind == CustomKind::Text { multiline: true }).to_string(),
        );
        put("max_len", c.max_len.to_string());
        put("options", c.options().join("\n"));
        put("position", (i + 1).to_string());
        for (lang, text) in &c.labels {
            put(&format!("label.{lang}"), text.clone());
        }
        for (lang, text) in &c.hints {
            put(&format!("hint.{lang}"), text.clone());
        }
        let mut langs: Vec<&String> = c.option_labels.values().flat_map(|l| l.keys()).collect();
        langs.sort();
        langs.dedup();
        for lang in langs {
            let lines: Vec<&str> = c
                .options()
                .iter()
                .map(|o| {
                    c.option_labels
                        .get(o)
                        .and_then(|l| l.get(lang))
                        .map_or("", String::as_str)
                })
                .collect();
            put(&format!("option_labels.{lang}"), lines.join("\n"));
        }
    }
    (out, spec.custom.len() + 1)
}

/// How many rows a posted editor had (so it is shown again as posted).
pub fn rows_posted(form: &Posted) -> usize {
    form.keys()
        .filter_map(|k| {
            k.strip_prefix('c')?
                .split_once('.')?
                .0
                .parse::<usize>()
                .ok()
        })
        .filter(|i| *i < MAX_ROWS)
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
        .max(1)
}

/// The change the posted editor asks for, or every shape error in it,
/// each named by the row's field id (where the page shows it).
pub fn change(form: &Posted) -> Result<DeskFormChange, DeskError> {
    let mut required = Vec::new();
    let mut optional = Vec::new();
    for f in Field::ALL {
        match form.get(&format!("std.{}", f.as_str())).map(String::as_str) {
            Some("required") => required.push(f),
            Some("optional") => optional.push(f),
            _ => {}
        }
    }
    let mut errors = Vec::new();
    let mut rows: Vec<(i64, usize, CustomField)> = Vec::new();
    for i in 0..rows_posted(form) {
        let get = |name: &str| form.get(&format!("c{i}.{name}")).map(|v| v.trim());
        let id = get("id").unwrap_or_default().to_string();
        if get("remove") == Some("true") || id.is_empty() {
            continue;
        }
        let mut error = |code| {
            errors.push(FieldError {
                field: id.clone(),
                code,
            })
        };
        let options: Vec<String> = lines(get("options").unwrap_or_default());
        let kind = match get("type").unwrap_or_default() {
            "text" => CustomKind::Text {
                multiline: get("multiline") == Some("true"),
            },
            "number" => CustomKind::Number,
            "choice" => CustomKind::Choice {
                options: options.clone(),
            },
            "date" => CustomKind::Date,
            "checkbox" => CustomKind::Checkbox,
            _ => {
                error("unknown_type");
                continue;
            }
        };
        let max_len = match get("max_len").unwrap_or_default() {
            "" => DEFAULT_MAX_LEN,
            n => n.parse().unwrap_or_else(|_| {
                error("invalid_value");
                DEFAULT_MAX_LEN
            }),
        };
        let position = get("position")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        let field = CustomField {
            required: get("required") == Some("true"),
            max_len,
            labels: by_language(form, i, "label"),
            hints: by_language(form, i, "hint"),
            option_labels: option_labels(form, i, &options),
            id,
            kind,
        };
        rows.push((position, i, field));
    }
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    // By the admin's positions, ties (and blanks) in the page's order.
    rows.sort_by_key(|(position, i, _)| (*position, *i));
    Ok(DeskFormChange {
        required,
        optional,
        custom: rows.into_iter().map(|(_, _, f)| f).collect(),
    })
}

/// Non-blank lines, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `c<i>.<what>.<lang>` members, whatever the language: an unknown one is
/// the policy's to refuse, not this parser's to drop.
fn by_language(form: &Posted, i: usize, what: &str) -> Labels {
    let prefix = format!("c{i}.{what}.");
    form.iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
        .collect()
}

/// Option labels from one textarea per language, line `n` for option `n`.
fn option_labels(form: &Posted, i: usize, options: &[String]) -> BTreeMap<String, Labels> {
    let mut out: BTreeMap<String, Labels> = BTreeMap::new();
    for (lang, text) in by_language(form, i, "option_labels") {
        for (option, label) in options.iter().zip(text.lines()) {
            out.entry(option.clone())
                .or_default()
                .insert(lang.clone(), label.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use koban_policy::desk::forms::{default_form, Category};

    #[test]
    fn a_stored_form_reads_back_as_posted() {
        let mut spec = default_form(Category::Other);
        spec.custom.push(CustomField {
            id: "plan".into(),
            kind: CustomKind::Choice {
                options: vec!["free".into(), "pro".into()],
            },
            required: true,
            max_len: 10,
            labels: Labels::from([("en".into(), "Plan".into()), ("ja".into(), "プラン".into())]),
            hints: Labels::from([("en".into(), "On the bill".into())]),
            option_labels: BTreeMap::from([(
                "pro".into(),
                Labels::from([("en".into(), "Pro".into())]),
            )]),
        });
        spec.custom.push(CustomField {
            id: "owner".into(),
            kind: CustomKind::Checkbox,
            required: true,
            max_len: 5,
            labels: Labels::new(),
            hints: Labels::new(),
            option_labels: BTreeMap::new(),
        });
        let (posted, rows) = members(&spec);
        assert_eq!(rows, 3);
        let change = change(&posted).expect("reads back");
        assert_eq!(change.required, spec.required);
        assert_eq!(change.optional, spec.optional);
        let mut got = change.custom;
        // Blank option-label lines are blank labels, which saving tidies.
        got.iter_mut().for_each(koban_policy::desk::forms::tidy);
        assert_eq!(got, spec.custom);
    }

    #[test]
    fn rows_are_reordered_removed_and_refused_by_shape() {
        let posted: Posted = [
            ("c0.id", "first"),
            ("c0.type", "date"),
            ("c0.position", "2"),
            ("c1.id", "second"),
            ("c1.type", "number"),
            ("c1.position", "1"),
            ("c2.id", "gone"),
            ("c2.type", "date"),
            ("c2.remove", "true"),
            ("c3.id", ""),
            ("c3.type", "text"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let ids: Vec<String> = change(&posted)
            .expect("valid shape")
            .custom
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, ["second", "first"]);
        let mut bad = posted.clone();
        bad.insert("c0.type".into(), "colour".into());
        bad.insert("c1.max_len".into(), "many".into());
        let Err(DeskError::Invalid(errors)) = change(&bad) else {
            panic!("refused");
        };
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [("first", "unknown_type"), ("second", "invalid_value")]
        );
        let mut many = Posted::new();
        many.insert("c100000.id".into(), "far".into());
        assert_eq!(rows_posted(&many), 1, "rows past the limit are ignored");
    }
}
