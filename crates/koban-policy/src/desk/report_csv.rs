//! Report rows as CSV a spreadsheet opens safely: every cell goes through
//! the audit export's formula guard (a cell starting with `=`, `+`, `-`,
//! `@`, a tab or a carriage return gets a leading `'`, so a category name
//! or a team slug cannot run as a formula), then RFC 4180 quoting.

use crate::audit::csv_safe_cell;

/// One CSV line, CRLF-terminated.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    let cells: Vec<String> = cells
        .iter()
        .map(|c| {
            let c = csv_safe_cell(c.as_ref());
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

/// Milliseconds as minutes with one decimal, the unit a spreadsheet user
/// reads durations in; empty for none.
pub fn minutes(ms: Option<i64>) -> String {
    ms.map(|ms| format!("{:.1}", ms as f64 / 60_000.0))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_defused_and_quotes_doubled() {
        assert_eq!(
            line(&["=HYPERLINK(\"x\")", "a,b", "-1", "ok"]),
            "\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",'-1,ok\r\n"
        );
        assert_eq!(minutes(Some(90_000)), "1.5");
        assert_eq!(minutes(None), "");
    }

    proptest! {
        #[test]
        fn a_line_reads_back_as_its_cells_none_a_formula(cells in prop::collection::vec(".{0,12}", 2..6)) {
            // After a header, as in a file (a reader drops a file's leading BOM);
            // every report has two columns or more (a lone empty cell is a blank line).
            let text = format!("{}{}", line(&vec!["h"; cells.len()]), line(&cells));
            let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
            let record = reader.records().next().expect("a record").expect("parses");
            prop_assert_eq!(record.len(), cells.len());
            for (read, cell) in record.iter().zip(&cells) {
                prop_assert_eq!(read, csv_safe_cell(cell));
                prop_assert!(!matches!(read.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')));
            }
        }
    }
}
