//! An organization administrator's CSV of people to invite, turned into an
//! outcome for every row. The server applies a file only when every row is
//! valid (all or nothing), so each refused row says exactly why, by a stable
//! code the pages translate.
//!
//! The file: a header row naming the columns (`email`, `phone`, `name`,
//! `roles`, any case and order, at least one of `email`/`phone`), then one
//! person per row. Blank lines are skipped. A row gives exactly one contact;
//! `roles` is `;`-separated and defaults to `member`.

mod charset;
mod row;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_charset;

pub use charset::{decode, Charset};

use crate::contact::Contact;
use std::collections::HashMap;

/// The most data rows one file may hold: enough for a large company, small
/// enough that the report and the transaction applying it stay bounded.
pub const MAX_ROWS: usize = 100_000;

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The longest `roles` cell accepted, in characters.
pub const MAX_ROLES_CHARS: usize = 1_000;

/// The role a person gets when the `roles` cell is empty.
pub const DEFAULT_ROLE: &str = "member";

/// Every row's outcome, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The character set the file was read in.
    pub charset: Charset,
    pub rows: Vec<RowOutcome>,
}

impl Report {
    /// Rows that would become invitations.
    pub fn valid(&self) -> usize {
        self.rows.iter().filter(|row| row.result.is_ok()).count()
    }

    /// Rows refused.
    pub fn invalid(&self) -> usize {
        self.rows.len() - self.valid()
    }

    /// True when the file may be applied: at least one row and none refused.
    pub fn is_clean(&self) -> bool {
        !self.rows.is_empty() && self.invalid() == 0
    }

    /// The people of the valid rows, in file order.
    pub fn people(&self) -> Vec<&Person> {
        self.rows
            .iter()
            .filter_map(|row| row.result.as_ref().ok())
            .collect()
    }

    /// The refused rows, in file order, with their problems.
    pub fn problems(&self) -> impl Iterator<Item = (u64, &RowProblem)> {
        self.rows
            .iter()
            .filter_map(|row| row.result.as_ref().err().map(|p| (row.line, p)))
    }
}

/// One data row's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowOutcome {
    /// 1-based line in the file, the header being line 1 (blank lines count).
    pub line: u64,
    pub result: Result<Person, RowProblem>,
}

/// A person to invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub contact: Contact,
    /// Trimmed; `None` when the cell is empty or the column absent.
    pub name: Option<String>,
    /// Role keys as `known_roles` spells them, without repeats, in file order.
    pub roles: Vec<String>,
}

/// Why one row was refused; `code()` is the stable i18n key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum RowProblem {
    #[error("the row has {found} fields; the header has {expected}")]
    WrongFieldCount { expected: usize, found: usize },
    #[error("the row has neither an email address nor a phone number")]
    NoContact,
    /// Refused rather than picking one: a person is invited by one contact,
    /// and silently dropping the other would lose what the uploader typed.
    #[error("the row has both an email address and a phone number; keep one")]
    BothContacts,
    /// `reason` is the [`crate::contact::ContactProblem`] code.
    #[error("the email address is not valid ({reason})")]
    BadEmail { reason: &'static str },
    #[error("the phone number is not valid ({reason})")]
    BadPhone { reason: &'static str },
    #[error("unknown role {0:?}")]
    UnknownRole(String),
    /// A cell a spreadsheet would run as a formula when the data is exported
    /// again (CSV injection).
    #[error("the {column} cell starts like a spreadsheet formula")]
    Formula { column: String },
    #[error("the {column} cell is longer than {max} characters")]
    TooLong { column: String, max: usize },
    #[error("the {column} cell contains a hidden or control character")]
    HiddenCharacter { column: String },
    #[error("the same person is already on line {first_line}")]
    Duplicate { first_line: u64 },
}

impl RowProblem {
    /// Stable snake_case key, the same as the serialized tag.
    pub fn code(&self) -> &'static str {
        match self {
            RowProblem::WrongFieldCount { .. } => "wrong_field_count",
            RowProblem::NoContact => "no_contact",
            RowProblem::BothContacts => "both_contacts",
            RowProblem::BadEmail { .. } => "bad_email",
            RowProblem::BadPhone { .. } => "bad_phone",
            RowProblem::UnknownRole(_) => "unknown_role",
            RowProblem::Formula { .. } => "formula",
            RowProblem::TooLong { .. } => "too_long",
            RowProblem::HiddenCharacter { .. } => "hidden_character",
            RowProblem::Duplicate { .. } => "duplicate",
        }
    }
}

/// Why a whole file was refused; `code()` is the stable i18n key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum FileProblem {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not text in the given or any supported character set")]
    Encoding,
    /// The first row names no known column: most likely data, not a header.
    #[error("the first row must name the columns (email, phone, name, roles)")]
    MissingHeader,
    #[error("the header has neither an email nor a phone column")]
    NoContactColumn,
    #[error("unknown column {0:?}")]
    UnknownColumn(String),
    #[error("the column {0:?} appears twice")]
    DuplicateColumn(String),
    #[error("the file has more than {max} rows")]
    TooManyRows { max: usize },
    #[error("the file is not valid CSV near line {line}")]
    Malformed { line: u64 },
}

impl FileProblem {
    /// Stable snake_case key, the same as the serialized tag.
    pub fn code(&self) -> &'static str {
        match self {
            FileProblem::Empty => "empty",
            FileProblem::Encoding => "encoding",
            FileProblem::MissingHeader => "missing_header",
            FileProblem::NoContactColumn => "no_contact_column",
            FileProblem::UnknownColumn(_) => "unknown_column",
            FileProblem::DuplicateColumn(_) => "duplicate_column",
            FileProblem::TooManyRows { .. } => "too_many_rows",
            FileProblem::Malformed { .. } => "malformed",
        }
    }
}

/// Where each known column is in the file.
#[derive(Debug, Default, Clone, Copy)]
struct Columns {
    email: Option<usize>,
    phone: Option<usize>,
    name: Option<usize>,
    roles: Option<usize>,
    count: usize,
}

impl Columns {
    fn from_header(cells: &csv::StringRecord) -> Result<Columns, FileProblem> {
        let mut columns = Columns {
            count: cells.len(),
            ..Columns::default()
        };
        let mut unknown = None;
        for (index, cell) in cells.iter().enumerate() {
            let key = cell.trim().to_lowercase();
            let slot = match key.as_str() {
                "email" => &mut columns.email,
                "phone" => &mut columns.phone,
                "name" => &mut columns.name,
                "roles" => &mut columns.roles,
                _ => {
                    unknown = unknown.or(Some(cell.trim().to_string()));
                    continue;
                }
            };
            if slot.replace(index).is_some() {
                return Err(FileProblem::DuplicateColumn(key));
            }
        }
        let known = [columns.email, columns.phone, columns.name, columns.roles];
        match unknown {
            // Nothing recognisable: the first row is data, the header forgotten.
            Some(_) if known.iter().all(Option::is_none) => Err(FileProblem::MissingHeader),
            Some(name) => Err(FileProblem::UnknownColumn(name)),
            None if columns.email.is_none() && columns.phone.is_none() => {
                Err(FileProblem::NoContactColumn)
            }
            None => Ok(columns),
        }
    }
}

/// Reads an upload into a [`Report`]. `known_roles` are the organization's
/// role keys; `region` (ISO 3166 alpha-2) reads phone numbers written
/// without a country code; `max_rows` is normally [`MAX_ROWS`].
pub fn parse(
    bytes: &[u8],
    declared: Option<Charset>,
    known_roles: &[&str],
    region: Option<&str>,
    max_rows: usize,
) -> Result<Report, FileProblem> {
    if bytes.is_empty() {
        return Err(FileProblem::Empty);
    }
    let (text, charset) = decode(bytes, declared)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter {
        text: text.as_bytes(),
        offset: 0,
        line: 1,
    };
    let columns = match next_row(&mut reader, &mut record, &mut lines)? {
        Some(_) => Columns::from_header(&record)?,
        None => return Err(FileProblem::Empty),
    };
    let rules = row::Rules {
        columns,
        known_roles,
        region,
    };
    let mut first_seen: HashMap<Contact, u64> = HashMap::new();
    let mut rows = Vec::new();
    while let Some(line) = next_row(&mut reader, &mut record, &mut lines)? {
        // Checked before the row is kept, so a huge file stops here.
        if rows.len() == max_rows {
            return Err(FileProblem::TooManyRows { max: max_rows });
        }
        let result = rules.check(&record, line, &mut first_seen);
        rows.push(RowOutcome { line, result });
    }
    Ok(Report { charset, rows })
}

/// Reads the next record that is not blank (every cell empty or spaces, as
/// spreadsheets write an empty row) and returns the line it starts on.
fn next_row(
    reader: &mut csv::Reader<&[u8]>,
    record: &mut csv::StringRecord,
    lines: &mut LineCounter,
) -> Result<Option<u64>, FileProblem> {
    loop {
        match reader.read_record(record) {
            Ok(false) => return Ok(None),
            Ok(true) if record.iter().all(|cell| cell.trim().is_empty()) => continue,
            Ok(true) => {
                return Ok(Some(
                    lines.line_at(record.position().map_or(0, |p| p.byte())),
                ))
            }
            Err(err) => {
                let line = lines.line_at(err.position().map_or(0, |p| p.byte()));
                return Err(FileProblem::Malformed { line });
            }
        }
    }
}

/// Line numbers from byte offsets. The csv reader's own line count, and
/// the offset it gives a record, both start before the blank lines it
/// skipped, but the uploader needs the line their editor shows; counting
/// forward from the last answer keeps the whole file linear.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl LineCounter<'_> {
    /// The 1-based line of the first byte at or after `offset` that is not
    /// a line break (no record starts with one unquoted); offsets must not
    /// go backwards.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .clamp(self.offset, self.text.len());
        while matches!(self.text.get(end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        let passed = self.text.get(self.offset..end).unwrap_or_default();
        for (i, &byte) in passed.iter().enumerate() {
            // LF, or a CR not followed by LF: the breaks csv reads too.
            let lone_cr = byte == b'\r' && self.text.get(self.offset + i + 1) != Some(&b'\n');
            if byte == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.offset = end;
        self.line
    }
}
