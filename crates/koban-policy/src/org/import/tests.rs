use super::*;
use proptest::prelude::*;

const ROLES: &[&str] = &["member", "admin", "billing"];

fn read(csv: &str) -> Result<Report, FileProblem> {
    parse(csv.as_bytes(), None, ROLES, Some("JP"), MAX_ROWS)
}

/// The single data row's outcome.
fn one(row_csv: &str) -> Result<Person, RowProblem> {
    let report = read(&format!("email,phone,name,roles\n{row_csv}\n")).expect("file is fine");
    assert_eq!(report.rows.len(), 1, "{row_csv:?}");
    report.rows[0].result.clone()
}

fn email(s: &str) -> Contact {
    Contact::Email(s.to_string())
}

#[test]
fn each_file_problem() {
    let cases: &[(&[u8], FileProblem)] = &[
        (b"", FileProblem::Empty),
        (b"\n\r\n , \n", FileProblem::Empty),
        (b"mei@example.com,Mei\n", FileProblem::MissingHeader),
        (b"name,roles\nMei,admin\n", FileProblem::NoContactColumn),
        (
            b"email,nmae\nmei@example.com,Mei\n",
            FileProblem::UnknownColumn("nmae".into()),
        ),
        (
            b"Email, EMAIL \na@example.com,b@example.com\n",
            FileProblem::DuplicateColumn("email".into()),
        ),
        (b"email\n\xff\xfe\xfd\n", FileProblem::Encoding),
    ];
    for (bytes, expected) in cases {
        let got = parse(bytes, None, ROLES, None, MAX_ROWS);
        assert_eq!(got.as_ref().err(), Some(expected), "{bytes:?}");
        assert_eq!(got.unwrap_err().code(), expected.code());
    }
}

#[test]
fn each_row_problem() {
    let long_name = "n".repeat(MAX_NAME_CHARS + 1);
    let cases: Vec<(String, RowProblem)> = vec![
        (
            "a@example.com,,Mei".into(),
            RowProblem::WrongFieldCount {
                expected: 4,
                found: 3,
            },
        ),
        (",,Mei,admin".into(), RowProblem::NoContact),
        (
            "a@example.com,+819012345678,,".into(),
            RowProblem::BothContacts,
        ),
        (
            "not-an-email,,,".into(),
            RowProblem::BadEmail {
                reason: "email_invalid",
            },
        ),
        (
            "mei@例え.jp,,,".into(),
            RowProblem::BadEmail {
                reason: "email_not_ascii",
            },
        ),
        (
            ",12345,,".into(),
            RowProblem::BadPhone {
                reason: "phone_invalid",
            },
        ),
        (
            ",090-1234-567x,,".into(),
            RowProblem::BadPhone {
                reason: "phone_characters",
            },
        ),
        (
            "a@example.com,,,owner".into(),
            RowProblem::UnknownRole("owner".into()),
        ),
        (
            "a@example.com,,,admin; ownr".into(),
            RowProblem::UnknownRole("ownr".into()),
        ),
        (format!("a@example.com,,{long_name},"), too_long_name()),
        (
            "a@example.com,,Me\u{200B}i,".into(),
            RowProblem::HiddenCharacter {
                column: "name".into(),
            },
        ),
    ];
    for (row, expected) in cases {
        let got = one(&row);
        assert_eq!(got.as_ref().err(), Some(&expected), "{row:?}");
        assert_eq!(got.unwrap_err().code(), expected.code());
    }
}

fn too_long_name() -> RowProblem {
    RowProblem::TooLong {
        column: "name".into(),
        max: MAX_NAME_CHARS,
    }
}

#[test]
fn formula_cells_are_refused_but_international_phones_are_not() {
    let formula = |column: &str| {
        Err(RowProblem::Formula {
            column: column.into(),
        })
    };
    let cases = [
        ("a@example.com,,=HYPERLINK(\"x\"),", formula("name")),
        ("a@example.com,,+1+2,", formula("name")),
        ("a@example.com,,-2,", formula("name")),
        ("a@example.com,,@SUM(A1),", formula("name")),
        ("a@example.com,,\"\tMei\",", formula("name")),
        ("a@example.com,,\"\rMei\",", formula("name")),
        ("a@example.com,,  =1+1,", formula("name")),
        ("a@example.com,,Mei,=admin", formula("roles")),
        ("a@example.com,,Mei,-admin", formula("roles")),
        ("=a@example.com,,,", formula("email")),
        ("-a@example.com,,,", formula("email")),
        ("@a@example.com,,,", formula("email")),
        (",=819012345678,,", formula("phone")),
        (",-819012345678,,", formula("phone")),
        (",\"\t+819012345678\",,", formula("phone")),
    ];
    for (row, expected) in cases {
        assert_eq!(one(row), expected, "{row:?}");
    }
    let phone = one(",+81 90-1234-5678,Mei,").expect("a phone, not a formula");
    assert_eq!(phone.contact, Contact::Phone("+819012345678".into()));
    // A name may contain the characters anywhere but the start.
    let name = one("a@example.com,,Mei-Ling = Chen,").expect("name");
    assert_eq!(name.name.as_deref(), Some("Mei-Ling = Chen"));
}

#[test]
fn a_valid_row_is_trimmed_and_defaults_to_member() {
    let person = one(" Mei@Example.COM ,,  Mei Chen  ,").expect("valid");
    assert_eq!(
        person,
        Person {
            contact: email("mei@example.com"),
            name: Some("Mei Chen".into()),
            roles: vec!["member".into()],
        }
    );
    let roles = one("a@example.com,,, Admin ;billing;;admin").expect("roles");
    assert_eq!(roles.roles, ["admin", "billing"]);
    assert_eq!(one("a@example.com,,,").expect("no name").name, None);
}

#[test]
fn duplicates_are_found_by_normalized_contact() {
    let csv = "email,phone\n\
               mei@example.com,\n\
               ,090-1234-5678\n\
               MEI@example.com ,\n\
               ,+81 90 1234 5678\n\
               ,０９０１２３４５６７８\n";
    let report = read(csv).expect("file is fine");
    let results: Vec<_> = report
        .rows
        .iter()
        .map(|r| (r.line, r.result.clone().err()))
        .collect();
    assert_eq!(
        results,
        [
            (2, None),
            (3, None),
            (4, Some(RowProblem::Duplicate { first_line: 2 })),
            (5, Some(RowProblem::Duplicate { first_line: 3 })),
            (6, Some(RowProblem::Duplicate { first_line: 3 })),
        ]
    );
    assert_eq!(
        (report.valid(), report.invalid(), report.is_clean()),
        (2, 3, false)
    );
}

#[test]
fn a_failing_row_still_claims_its_contact() {
    let report = read("email,name\na@example.com,=bad\na@example.com,Fine\n").expect("file");
    assert_eq!(
        report.problems().collect::<Vec<_>>(),
        [
            (
                2,
                &RowProblem::Formula {
                    column: "name".into()
                }
            ),
            (3, &RowProblem::Duplicate { first_line: 2 })
        ]
    );
}

#[test]
fn lines_count_blank_lines_crlf_and_quoted_newlines() {
    let csv = "\r\nemail,name\r\n\r\na@example.com,\"Mei\r\nChen\"\r\n , \r\nb@example.com,Bo\r\n";
    let report = read(csv).expect("file");
    let lines: Vec<u64> = report.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [4, 7]);
    // A line break inside a name is refused, not silently joined.
    assert_eq!(
        report.rows[0].result,
        Err(RowProblem::HiddenCharacter {
            column: "name".into()
        })
    );
    let quoted = read("email,name\n\"a@example.com\",\"Chen, Mei \"\"May\"\"\"").expect("file");
    assert_eq!(
        quoted.people()[0].name.as_deref(),
        Some("Chen, Mei \"May\"")
    );
    assert!(quoted.is_clean());
}

#[test]
fn header_is_case_insensitive_in_any_order() {
    let report = read(" ROLES ,Name,Phone\nadmin,Mei,+819012345678\n").expect("file");
    assert_eq!(report.people()[0].roles, ["admin"]);
    assert!(report.is_clean());
    assert!(!read("email\n").expect("header only").is_clean());
}

#[test]
fn phones_without_country_code_need_the_region() {
    let csv = b"phone\n090-1234-5678\n";
    let without = parse(csv, None, ROLES, None, MAX_ROWS).expect("file");
    assert_eq!(
        without.rows[0].result,
        Err(RowProblem::BadPhone {
            reason: "phone_ambiguous"
        })
    );
    let with = parse(csv, None, ROLES, Some("jp"), MAX_ROWS).expect("file");
    assert_eq!(
        with.people()[0].contact,
        Contact::Phone("+819012345678".into())
    );
}

fn rows_file(n: usize) -> String {
    let mut csv = String::from("email,name,roles\n");
    for i in 0..n {
        csv.push_str(&format!("user{i}@example.com,User {i},\n"));
    }
    csv
}

#[test]
fn max_rows_accepted_one_more_refused() {
    let at_limit = read(&rows_file(MAX_ROWS)).expect("at the limit");
    assert_eq!(at_limit.valid(), MAX_ROWS);
    assert_eq!(
        read(&rows_file(MAX_ROWS + 1)),
        Err(FileProblem::TooManyRows { max: MAX_ROWS })
    );
    // Blank lines do not count towards the limit.
    let small = format!("{}\n\n\n", rows_file(3));
    assert_eq!(
        parse(small.as_bytes(), None, ROLES, None, 3).map(|r| r.valid()),
        Ok(3)
    );
}

/// A file of the limit's worth of rows, half of them with phone numbers
/// (which cost most: the numbering plan's rules), is read whole. How fast is
/// a benchmark's question, not a test's.
#[test]
fn a_file_at_the_row_limit_is_read_whole() {
    let mut csv = String::from("email,phone,name,roles\n");
    for i in 0..MAX_ROWS {
        if i % 2 == 0 {
            let (high, low) = (i / 10_000 + 1000, i % 10_000);
            csv.push_str(&format!(",090-{high:04}-{low:04},ユーザー {i},\n"));
        } else {
            csv.push_str(&format!("user{i}@example.com,,User {i},admin;billing\n"));
        }
    }
    let report = read(&csv).expect("file");
    assert_eq!(report.valid(), MAX_ROWS);
}

#[test]
fn problems_serialize_as_their_codes() {
    let all = [
        RowProblem::NoContact,
        RowProblem::Duplicate { first_line: 2 },
        RowProblem::UnknownRole("x".into()),
        RowProblem::BadEmail {
            reason: "email_invalid",
        },
    ];
    for problem in all {
        let json = serde_json::to_string(&problem).expect("serializes");
        assert!(json.contains(problem.code()), "{json}");
    }
    let json = serde_json::to_string(&FileProblem::TooManyRows { max: 5 }).expect("ok");
    assert_eq!(json, r#"{"too_many_rows":{"max":5}}"#);
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes, None, ROLES, Some("JP"), 50);
        let _ = parse(&bytes, Some(Charset::ShiftJis), ROLES, None, 50);
    }

    #[test]
    fn never_panics_on_csv_like_text(text in "(email|phone|name|roles|[,\"\r\n =+@;a-z0-9\u{3042}\t-]){0,80}") {
        let _ = parse(text.as_bytes(), None, ROLES, Some("US"), 50);
    }

    #[test]
    fn a_generated_file_round_trips(
        people in proptest::collection::vec(
            ("[a-z]([a-z0-9_]|\\.[a-z0-9]){0,8}", "[A-Za-z\u{3042}-\u{3093}\u{4E00}-\u{4E50}][A-Za-z ,\"\u{3042}-\u{3093}]{0,20}", proptest::sample::subsequence(ROLES.to_vec(), 0..=3)),
            1..40,
        )
    ) {
        let mut csv = String::from("name,roles,email\r\n");
        for (i, (local, name, roles)) in people.iter().enumerate() {
            let quoted = name.replace('"', "\"\"");
            csv.push_str(&format!("\"{quoted}\",{},{local}.n{i}@example.com\r\n", roles.join(";")));
        }
        let report = read(&csv).expect("file is fine");
        prop_assert!(report.is_clean(), "{:?}", report.problems().collect::<Vec<_>>());
        let got = report.people();
        prop_assert_eq!(got.len(), people.len());
        for (i, (person, (local, name, roles))) in got.iter().zip(&people).enumerate() {
            let expected_email = format!("{local}.n{i}@example.com");
            prop_assert_eq!(&person.contact, &email(&expected_email));
            prop_assert_eq!(person.name.as_deref(), Some(name.trim()));
            let expected: Vec<&str> = if roles.is_empty() { vec!["member"] } else { roles.clone() };
            prop_assert_eq!(&person.roles, &expected);
        }
    }
}
