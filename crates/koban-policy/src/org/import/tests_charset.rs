use super::charset::score;
use super::*;
use encoding_rs::{BIG5, EUC_KR, GBK, SHIFT_JIS};

const ROLES: &[&str] = &["member", "admin"];

/// A file as a spreadsheet in that country would save it: several people,
/// names in the local script.
fn file(names: &[&str]) -> String {
    let mut csv = String::from("email,name\r\n");
    for (i, name) in names.iter().enumerate() {
        csv.push_str(&format!("p{i}@example.com,{name}\r\n"));
    }
    csv
}

const JAPANESE: &[&str] = &[
    "山田 太郎",
    "佐藤 花子",
    "鈴木 一郎",
    "たなか ゆうこ",
    "カトウ",
];
const SIMPLIFIED: &[&str] = &["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊"];
const TRADITIONAL: &[&str] = &["陳大文", "林美玲", "黃志明", "張家豪", "李淑芬"];
const KOREAN: &[&str] = &["김민수", "이서연", "박지훈", "최유진", "정하늘"];

fn encoded(encoding: &'static encoding_rs::Encoding, text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "test text must fit {}", encoding.name());
    bytes.into_owned()
}

fn names_of(report: &Report) -> Vec<String> {
    report
        .people()
        .iter()
        .filter_map(|p| p.name.clone())
        .collect()
}

#[test]
fn legacy_cjk_files_are_recognised() {
    let cases = [
        (SHIFT_JIS, JAPANESE, Charset::ShiftJis),
        (GBK, SIMPLIFIED, Charset::Gbk),
        (BIG5, TRADITIONAL, Charset::Big5),
        (EUC_KR, KOREAN, Charset::EucKr),
    ];
    for (encoding, names, expected) in cases {
        let bytes = encoded(encoding, &file(names));
        let report = parse(&bytes, None, ROLES, None, MAX_ROWS).expect("readable");
        assert_eq!(report.charset, expected, "{}", encoding.name());
        assert_eq!(names_of(&report), names, "{}", encoding.name());
        assert!(report.is_clean());
    }
}

#[test]
fn each_name_alone_is_read_in_its_own_charset() {
    let cases = [
        (SHIFT_JIS, JAPANESE, Charset::ShiftJis),
        (GBK, SIMPLIFIED, Charset::Gbk),
        (BIG5, TRADITIONAL, Charset::Big5),
        (EUC_KR, KOREAN, Charset::EucKr),
    ];
    let mut misread = Vec::new();
    for (encoding, names, expected) in cases {
        for name in names {
            let bytes = encoded(encoding, &file(&[name]));
            if decode(&bytes, None).map(|(_, c)| c) != Ok(expected) {
                misread.push(*name);
            }
        }
    }
    // Two or three characters can be honestly ambiguous; the score must
    // still get nearly all of them.
    assert!(misread.len() <= 2, "misread: {misread:?}");
}

#[test]
fn utf8_with_and_without_bom_and_utf16_with_bom() {
    let text = file(&["山田 太郎", "张伟", "김민수"]);
    let utf16 = |le: bool| {
        let mut bytes = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in text.encode_utf16() {
            let pair = if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            };
            bytes.extend(pair);
        }
        bytes
    };
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend(text.as_bytes());
    let cases = [
        (text.as_bytes().to_vec(), Charset::Utf8),
        (with_bom, Charset::Utf8),
        (utf16(true), Charset::Utf16Le),
        (utf16(false), Charset::Utf16Be),
    ];
    for (bytes, expected) in cases {
        let report = parse(&bytes, None, ROLES, None, MAX_ROWS).expect("readable");
        assert_eq!(report.charset, expected);
        assert_eq!(
            names_of(&report),
            ["山田 太郎", "张伟", "김민수"],
            "{expected:?}"
        );
        // Naming the charset the BOM says is fine too.
        assert_eq!(decode(&bytes, Some(expected)).map(|(_, c)| c), Ok(expected));
    }
}

#[test]
fn the_declared_charset_wins_and_must_fit() {
    // Valid in GBK and in Shift_JIS; the uploader said which.
    let bytes = encoded(GBK, &file(SIMPLIFIED));
    let (text, charset) = decode(&bytes, Some(Charset::Gbk)).expect("gbk");
    assert_eq!((text.contains("王芳"), charset), (true, Charset::Gbk));
    let cases = [
        // Shift_JIS bytes do not all decode as Big5.
        (encoded(SHIFT_JIS, &file(JAPANESE)), Charset::Big5),
        // Legacy bytes are not UTF-8.
        (encoded(SHIFT_JIS, &file(JAPANESE)), Charset::Utf8),
        // An odd number of bytes is not UTF-16.
        (b"e\0m\0a".to_vec(), Charset::Utf16Le),
        // A UTF-8 BOM contradicts a declared Shift_JIS.
        (
            [&[0xEF, 0xBB, 0xBF][..], b"email\n"].concat(),
            Charset::ShiftJis,
        ),
    ];
    for (bytes, declared) in cases {
        assert_eq!(
            decode(&bytes, Some(declared)),
            Err(FileProblem::Encoding),
            "{declared:?}"
        );
    }
}

#[test]
fn bytes_no_charset_reads_are_refused() {
    // 0xFF is a lead byte nowhere, and 0x80 0x80 is not UTF-8.
    assert_eq!(
        decode(b"email\n\xff\x80\x80", None),
        Err(FileProblem::Encoding)
    );
}

#[test]
fn charset_labels() {
    let cases = [
        ("shift_jis", Some(Charset::ShiftJis)),
        (" SJIS ", Some(Charset::ShiftJis)),
        ("cp932", Some(Charset::ShiftJis)),
        ("windows-31j", Some(Charset::ShiftJis)),
        ("gbk", Some(Charset::Gbk)),
        ("GB18030", Some(Charset::Gbk)),
        ("gb2312", Some(Charset::Gbk)),
        ("cp936", Some(Charset::Gbk)),
        ("big5", Some(Charset::Big5)),
        ("big5-hkscs", Some(Charset::Big5)),
        ("euc-kr", Some(Charset::EucKr)),
        ("cp949", Some(Charset::EucKr)),
        ("utf-8", Some(Charset::Utf8)),
        ("utf8", Some(Charset::Utf8)),
        ("utf-16le", Some(Charset::Utf16Le)),
        ("utf-16be", Some(Charset::Utf16Be)),
        ("latin1", None),
        ("iso-2022-jp", None),
        ("replacement", None),
        ("", None),
    ];
    for (label, expected) in cases {
        assert_eq!(Charset::parse(label), expected, "{label:?}");
    }
    for charset in [
        Charset::Utf8,
        Charset::Utf16Le,
        Charset::Utf16Be,
        Charset::ShiftJis,
        Charset::Gbk,
        Charset::Big5,
        Charset::EucKr,
    ] {
        assert_eq!(Charset::parse(charset.as_str()), Some(charset));
    }
}

#[test]
fn scores_favour_the_native_reading() {
    let japanese = encoded(SHIFT_JIS, "ひらがなとカタカナ");
    assert!(score(&japanese, Charset::ShiftJis) > score(&japanese, Charset::Gbk));
    assert!(score(&japanese, Charset::ShiftJis) > score(&japanese, Charset::EucKr));
    let korean = encoded(EUC_KR, "김민수 이서연");
    assert!(score(&korean, Charset::EucKr) > score(&korean, Charset::Gbk));
    let traditional = encoded(BIG5, "陳大文 林美玲");
    assert!(score(&traditional, Charset::Big5) > score(&traditional, Charset::Gbk));
    assert_eq!(score(b"plain ascii", Charset::Big5), 0);
}
