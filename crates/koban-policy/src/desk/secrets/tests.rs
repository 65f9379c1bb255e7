//! Secrets in five languages, and the properties masking must keep.

use super::*;
use proptest::prelude::*;

/// The secret values `find` reports, as text.
fn values(text: &str) -> Vec<(SecretKind, &str)> {
    find(text)
        .into_iter()
        .map(|s| (s.kind, &text[s.range]))
        .collect()
}

#[test]
fn passwords_in_five_languages() {
    use SecretKind::Password as P;
    let cases: &[(&str, &[(SecretKind, &str)])] = &[
        // en
        ("my password: hunter2", &[(P, "hunter2")]),
        ("Password is hunter2!", &[(P, "hunter2!")]),
        ("pw=s3cr3t&user=mei", &[(P, "s3cr3t&user=mei")]),
        ("PWD: 'correct horse'", &[(P, "correct horse")]),
        ("Password:\nTr0ub4dor&3", &[(P, "Tr0ub4dor&3")]),
        ("I reset my password yesterday", &[]),
        ("it says password is incorrect", &[]),
        ("passport: E1234567", &[]),
        // zh-CN
        ("密码：abc123", &[(P, "abc123")]),
        ("我的密码是abc123请帮我看看", &[(P, "abc123")]),
        ("密码abc123", &[(P, "abc123")]),
        ("密码错误，登录不了", &[]),
        // zh-TW
        ("密碼：Qwe!2024，謝謝", &[(P, "Qwe!2024")]),
        ("我的密碼是 pa55word", &[(P, "pa55word")]),
        ("密碼「tw-pass99」，謝謝", &[(P, "tw-pass99")]),
        // ja
        ("パスワード: xxx", &[(P, "xxx")]),
        ("パスワードは「neko2024」です", &[(P, "neko2024")]),
        ("パスワードは忘れました", &[]),
        ("暗証番号：4321", &[(P, "4321")]),
        // th
        ("รหัสผ่าน: abc123", &[(P, "abc123")]),
        ("รหัสผ่านของฉันคือ hunter2 ค่ะ", &[(P, "hunter2")]),
    ];
    for (text, want) in cases {
        assert_eq!(values(text), want.to_vec(), "{text}");
    }
}

#[test]
fn codes_in_five_languages() {
    use SecretKind::VerificationCode as C;
    let cases: &[(&str, &[(SecretKind, &str)])] = &[
        ("Your verification code is 482913", &[(C, "482913")]),
        ("OTP: 12345678, valid 5 minutes", &[(C, "12345678")]),
        ("G-482913 is your code", &[(C, "482913")]),
        ("Order 482913 has not arrived", &[]),
        ("error code 500123 on sign-in", &[]),
        ("error code 500123; see the QR code", &[]),
        ("code 111111, error code 222222", &[(C, "111111")]),
        ("code 12345 is too short", &[]),
        ("验证码482913，5分钟内有效", &[(C, "482913")]),
        ("【LINE】驗證碼：４８２９１３", &[(C, "４８２９１３")]),
        ("認証コード 482913 を入力", &[(C, "482913")]),
        ("確認コードは482913です", &[(C, "482913")]),
        ("エラーコード 500123", &[]),
        ("รหัส OTP ของคุณคือ 482913", &[(C, "482913")]),
        ("tel 090-482913 code", &[]),
    ];
    for (text, want) in cases {
        assert_eq!(values(text), want.to_vec(), "{text}");
    }
}

#[test]
fn cards_only_when_luhn_holds() {
    use SecretKind::CardNumber as K;
    let cases: &[(&str, &[(SecretKind, &str)])] = &[
        (
            "card 4111 1111 1111 1111 exp 12/29",
            &[(K, "4111 1111 1111 1111")],
        ),
        ("卡号4111-1111-1111-1111", &[(K, "4111-1111-1111-1111")]),
        (
            "カード番号：４１１１１１１１１１１１１１１１",
            &[(K, "４１１１１１１１１１１１１１１１")],
        ),
        ("amex 3782 822463 10005", &[(K, "3782 822463 10005")]),
        ("4111 1111 1111 1112 is not a card", &[]),
        ("ticket 20261204001 about my order", &[]),
        ("ref 12 4111111111111111", &[(K, "4111111111111111")]),
        ("INV4111111111111111", &[]),
        ("call +86 138 0013 8000 or +4111111111111111", &[]),
        (
            "two: 4111111111111111 5500000000000004",
            &[(K, "4111111111111111"), (K, "5500000000000004")],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(values(text), want.to_vec(), "{text}");
    }
}

#[test]
fn masks_keep_labels_and_a_cards_last_four() {
    let cases = [
        ("password: hunter2", "password: ••••••"),
        ("密码是abc123请帮我", "密码是••••••请帮我"),
        ("验证码482913，请勿泄露", "验证码••••••，请勿泄露"),
        ("card 4111-1111-1111-1111.", "card •••• •••• •••• 1111."),
        ("pw: 4111 1111 1111 1111", "pw: ••••••"),
        ("nothing to see here 123", "nothing to see here 123"),
    ];
    for (text, want) in cases {
        assert_eq!(mask(text).0, want, "{text}");
    }
}

#[test]
fn second_factor_material() {
    use SecretKind::{RecoveryCode as R, TotpSecret as T};
    let cases: &[(&str, &[(SecretKind, &str)])] = &[
        (
            "my codes: k7d2m-x9pqa n3b8c-tt5zz",
            &[(R, "k7d2m-x9pqa"), (R, "n3b8c-tt5zz")],
        ),
        ("恢复码 abcde-fghjk", &[(R, "abcde-fghjk")]),
        ("a well-known issue", &[]),
        (
            "setup key: JBSW Y3DP EHPK 3PXP",
            &[(T, "JBSW Y3DP EHPK 3PXP")],
        ),
        ("シークレット：JBSWY3DPEHPK3PXP", &[(T, "JBSWY3DPEHPK3PXP")]),
        (
            "otpauth://totp/Koban:mei?secret=JBSWY3DPEHPK3PXP&issuer=Koban",
            &[(T, "JBSWY3DPEHPK3PXP")],
        ),
        ("the key is understanding documentation", &[]),
    ];
    for (text, want) in cases {
        assert_eq!(values(text), want.to_vec(), "{text}");
    }
}

#[test]
fn large_adversarial_text_is_handled_in_linear_time() {
    let blobs = [
        "1 ".repeat(50_000),
        "pw=".repeat(30_000),
        "code 123456 ".repeat(8_000),
        "JBSW ".repeat(20_000),
        "ab2cd-".repeat(20_000),
        "9".repeat(100_000),
    ];
    for blob in blobs {
        let started = std::time::Instant::now();
        let (masked, _) = mask(&blob);
        assert_eq!(mask(&masked).0, masked);
        assert!(started.elapsed().as_secs() < 5, "{}", &blob[..12]);
    }
}

#[test]
fn luhn() {
    assert!(luhn_valid("4111111111111111"));
    assert!(luhn_valid("378282246310005"));
    assert!(!luhn_valid("4111111111111112"));
    assert!(!luhn_valid(""));
    assert!(!luhn_valid("41x1"));
}

/// Digits with a Luhn check digit appended.
fn with_check_digit(body: &[u8]) -> String {
    let mut digits: String = body.iter().map(|d| char::from(b'0' + d)).collect();
    let check = (0..=9u8)
        .find(|c| luhn_valid(&format!("{digits}{c}")))
        .unwrap_or(0);
    digits.push(char::from(b'0' + check));
    digits
}

fn card_text() -> impl Strategy<Value = (String, String)> {
    (
        proptest::collection::vec(0u8..10, 12..=18),
        proptest::sample::select(vec!["", " ", "-", "\u{3000}"]),
        any::<bool>(),
        "[a-zA-Z ぁ-んア-ン一-龥ก-ฮ.,!]{0,12}",
        "[a-zA-Z ぁ-んア-ン一-龥ก-ฮ.,!]{0,12}",
    )
        .prop_map(|(body, sep, wide, before, after)| {
            let digits = with_check_digit(&body);
            let mut shown = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && i % 4 == 0 {
                    shown.push_str(sep);
                }
                let d = c as u32 - '0' as u32;
                let wide_digit = char::from_u32('０' as u32 + d).unwrap_or(c);
                shown.push(if wide { wide_digit } else { c });
            }
            (digits, format!("{before} {shown} {after}"))
        })
}

/// Text stitched from pieces that look like secrets and their labels, so
/// the properties meet the detectors' edge cases, not just random noise.
fn secretish() -> impl Strategy<Value = String> {
    let piece = proptest::sample::select(vec![
        "password",
        "pw=",
        "密码",
        "密碼是",
        "パスワードは",
        "รหัสผ่าน",
        "คือ",
        "code",
        "验证码",
        "コード",
        "OTP",
        "：",
        ":",
        " ",
        "\n",
        "•",
        "••••••",
        "482913",
        "４８２９",
        "4111",
        "1111",
        "-",
        "「",
        "」",
        "abc",
        "is",
        "error ",
        "12345678",
        "k7d2m",
        "abcde",
        "recovery",
        "JBSW",
        "Y3DP",
        "key",
        "otpauth://x?secret=",
        "&",
        "0",
        "\u{3000}",
    ]);
    proptest::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

proptest! {
    #[test]
    fn mask_never_panics_and_ranges_are_sound(text in any::<String>()) {
        let (_, secrets) = mask(&text);
        let mut end = 0;
        for s in &secrets {
            prop_assert!(s.range.start >= end && s.range.start < s.range.end);
            prop_assert!(text.is_char_boundary(s.range.start) && text.is_char_boundary(s.range.end));
            end = s.range.end;
        }
    }

    #[test]
    fn masking_is_idempotent(text in secretish()) {
        let once = mask(&text).0;
        let (twice, found) = mask(&once);
        prop_assert_eq!(&twice, &once);
        prop_assert!(found.is_empty(), "{:?} in {:?}", found, once);
    }

    #[test]
    fn masking_arbitrary_text_is_idempotent(text in any::<String>()) {
        let once = mask(&text).0;
        prop_assert_eq!(mask(&once).0, once);
    }

    #[test]
    fn text_without_secrets_is_unchanged(text in any::<String>()) {
        if find(&text).is_empty() {
            prop_assert_eq!(mask(&text).0, text);
        }
    }

    #[test]
    fn text_without_digits_or_labels_has_no_secrets(text in "[a-zA-Z ,.!?ぁ-んア-ン一-龥ก-ฮ]{0,80}") {
        let labelled = ["pass", "pw", "密", "パスワード", "暗証", "รหัส"].iter().any(|l| text.to_ascii_lowercase().contains(l));
        prop_assume!(!labelled);
        prop_assert_eq!(mask(&text).0, text);
    }

    #[test]
    fn a_card_is_found_and_only_its_last_four_digits_remain((digits, text) in card_text()) {
        let (masked, secrets) = mask(&text);
        prop_assert!(secrets.iter().any(|s| s.kind == SecretKind::CardNumber), "{}", text);
        let left: String = masked.chars().filter_map(chars::digit).map(|d| char::from(b'0' + d)).collect();
        prop_assert_eq!(&left, &digits[digits.len() - 4..], "{}", masked);
    }

    #[test]
    fn a_number_failing_luhn_is_left_alone(body in proptest::collection::vec(0u8..10, 12..=18), bump in 1u8..10) {
        let valid = with_check_digit(&body);
        let last = valid.as_bytes()[valid.len() - 1] - b'0';
        let invalid = format!("{}{}", &valid[..valid.len() - 1], (last + bump) % 10);
        let text = format!("ref {invalid} thanks");
        prop_assert_eq!(mask(&text).0, text);
    }
}
