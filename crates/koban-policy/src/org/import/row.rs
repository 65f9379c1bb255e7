//! One data row's checks, in the order a person fixing the file would want
//! them: the shape of the row, who it is, whether they already appeared,
//! then what they are called and may do.

use super::{Columns, Person, RowProblem, DEFAULT_ROLE, MAX_NAME_CHARS, MAX_ROLES_CHARS};
use crate::contact::{parse_email, parse_phone, Contact};
use crate::text::check_visible;
use std::collections::HashMap;

/// What every row is checked against.
pub(super) struct Rules<'a> {
    pub columns: Columns,
    pub known_roles: &'a [&'a str],
    pub region: Option<&'a str>,
}

impl Rules<'_> {
    /// The row's person or its first problem. A valid contact is remembered
    /// even when the row fails later, so its twin further down is reported
    /// now rather than after the first is fixed.
    pub fn check(
        &self,
        record: &csv::StringRecord,
        line: u64,
        first_seen: &mut HashMap<Contact, u64>,
    ) -> Result<Person, RowProblem> {
        if record.len() != self.columns.count {
            return Err(RowProblem::WrongFieldCount {
                expected: self.columns.count,
                found: record.len(),
            });
        }
        let cell = |index: Option<usize>| index.and_then(|i| record.get(i)).unwrap_or("");
        let contact = self.contact(cell(self.columns.email), cell(self.columns.phone))?;
        if let Some(&first_line) = first_seen.get(&contact) {
            return Err(RowProblem::Duplicate { first_line });
        }
        first_seen.insert(contact.clone(), line);
        let name = name(cell(self.columns.name))?;
        let roles = self.roles(cell(self.columns.roles))?;
        Ok(Person {
            contact,
            name,
            roles,
        })
    }

    fn contact(&self, email: &str, phone: &str) -> Result<Contact, RowProblem> {
        match (email.trim().is_empty(), phone.trim().is_empty()) {
            (true, true) => Err(RowProblem::NoContact),
            (false, false) => Err(RowProblem::BothContacts),
            (false, true) => {
                refuse_formula(email, "email", false)?;
                parse_email(email.trim()).map_err(|p| RowProblem::BadEmail { reason: p.code() })
            }
            (true, false) => {
                // `+81 90…` is how international numbers are written, not a formula.
                refuse_formula(phone, "phone", true)?;
                parse_phone(phone.trim(), self.region)
                    .map_err(|p| RowProblem::BadPhone { reason: p.code() })
            }
        }
    }

    fn roles(&self, raw: &str) -> Result<Vec<String>, RowProblem> {
        refuse_formula(raw, "roles", false)?;
        if raw.chars().count() > MAX_ROLES_CHARS {
            return Err(too_long("roles", MAX_ROLES_CHARS));
        }
        let mut roles: Vec<String> = Vec::new();
        for key in raw.split(';').map(str::trim).filter(|k| !k.is_empty()) {
            let known = self
                .known_roles
                .iter()
                .find(|role| role.eq_ignore_ascii_case(key))
                .ok_or_else(|| RowProblem::UnknownRole(key.to_string()))?;
            if !roles.iter().any(|r| r == known) {
                roles.push(known.to_string());
            }
        }
        if roles.is_empty() {
            roles.push(DEFAULT_ROLE.to_string());
        }
        Ok(roles)
    }
}

fn name(raw: &str) -> Result<Option<String>, RowProblem> {
    refuse_formula(raw, "name", false)?;
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(too_long("name", MAX_NAME_CHARS));
    }
    check_visible(trimmed, false).map_err(|_| RowProblem::HiddenCharacter {
        column: "name".to_string(),
    })?;
    Ok(Some(trimmed.to_string()))
}

/// Refuses a cell a spreadsheet would evaluate when the data is opened
/// again: one starting with `=`, `+`, `-` or `@` (after the spaces we trim
/// away, since the trimmed value is what gets stored and exported), or with
/// a tab or carriage return (OWASP's list). `plus_allowed` lets a phone
/// number keep its leading `+`.
pub(super) fn refuse_formula(
    raw: &str,
    column: &str,
    plus_allowed: bool,
) -> Result<(), RowProblem> {
    let trimmed = raw.trim_start();
    let formula = raw.starts_with(['\t', '\r'])
        || trimmed.starts_with(['=', '-', '@'])
        || (!plus_allowed && trimmed.starts_with('+'));
    if formula {
        return Err(RowProblem::Formula {
            column: column.to_string(),
        });
    }
    Ok(())
}

fn too_long(column: &str, max: usize) -> RowProblem {
    RowProblem::TooLong {
        column: column.to_string(),
        max,
    }
}
