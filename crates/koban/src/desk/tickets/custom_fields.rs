//! An admin's custom fields on the pages: the requester's form shows each
//! in the viewer's language (else English, else its id), and the agent's
//! ticket page names the answers the same way. Inputs are named
//! `fields.<id>`, as the API names them, so no custom id can collide with
//! the form's own members (`category`, `email`, `csrf_token`).

use koban_policy::desk::forms::{CustomField, CustomKind, FormSpec};
use minijinja::context;
use std::collections::BTreeMap;

/// The input name of custom field `id`.
pub fn input_name(id: &str) -> String {
    format!("fields.{id}")
}

/// The custom fields of `spec` for the form template, with what was typed.
pub fn view(
    spec: &FormSpec,
    lang: &str,
    values: &BTreeMap<String, String>,
) -> Vec<minijinja::Value> {
    spec.custom
        .iter()
        .map(|f| {
            let name = input_name(&f.id);
            let value = values.get(&name).cloned().unwrap_or_default();
            context! {
                name => name,
                label => f.label(lang),
                hint => f.hint(lang),
                kind => f.kind.type_name(),
                multiline => f.kind == CustomKind::Text { multiline: true },
                required => f.required,
                checked => value == "true",
                options => f.options().iter().map(|o| context! {
                    value => o, label => f.option_label(o, lang),
                }).collect::<Vec<_>>(),
                value => value,
            }
        })
        .collect()
}

/// The custom answers a posted form gives, by field id. A checkbox not
/// ticked is not posted by browsers: it is `false`, which a required one
/// refuses by name rather than as missing.
pub fn answers(spec: &FormSpec, form: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    spec.custom
        .iter()
        .filter_map(|f| {
            let posted = form.get(&input_name(&f.id)).map(|v| v.trim());
            let value = match f.kind {
                CustomKind::Checkbox => Some(posted.unwrap_or("false")),
                _ => posted.filter(|v| !v.is_empty()),
            };
            value.map(|v| (f.id.clone(), v.to_string()))
        })
        .collect()
}

/// How the agent reads a stored answer of `field`: its label in `lang`,
/// and an option's label instead of its id. A checkbox's `true`/`false`
/// stays as stored for the template to put into words.
pub fn answer_label<'a>(field: &'a CustomField, value: &'a str, lang: &str) -> (&'a str, &'a str) {
    (field.label(lang), field.option_label(value, lang))
}
