//! What a client is: a readable device name and platform from its
//! User-Agent, the shape of an app-supplied device id, and which address a
//! request really came from behind trusted proxies.

use crate::risk::Cidr;
use std::net::IpAddr;

/// Longest User-Agent kept; anything longer is cut (never refused: browsers
/// and bots send what they send).
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// A device's display name and platform, e.g. ("Chrome on Windows", "windows").
pub fn describe_user_agent(user_agent: &str) -> (String, &'static str) {
    let ua = user_agent;
    let (platform, platform_name) =
        if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
            (
                "ios",
                if ua.contains("iPad") {
                    "iPad"
                } else {
                    "iPhone"
                },
            )
        } else if ua.contains("Android") {
            ("android", "Android")
        } else if ua.contains("CrOS") {
            ("chromeos", "ChromeOS")
        } else if ua.contains("Windows") {
            ("windows", "Windows")
        } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
            ("macos", "macOS")
        } else if ua.contains("Linux") {
            ("linux", "Linux")
        } else {
            ("other", "")
        };
    let client = if ua.contains(" Line/") || ua.starts_with("Line/") {
        "LINE"
    } else if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.starts_with("curl/") {
        "curl"
    } else {
        ""
    };
    let name = match (client, platform_name) {
        ("", "") => "Unknown device".to_string(),
        ("", p) => p.to_string(),
        (c, "") => c.to_string(),
        (c, p) => format!("{c} on {p}"),
    };
    (name, platform)
}

/// What [`valid_device_id`] accepts, as a regular expression for API documents.
pub const DEVICE_ID_PATTERN: &str = "^[A-Za-z0-9._-]{16,128}$";

/// What an app's device name header may hold: a header carries visible
/// ASCII, and the name is at most `MAX_NAME_CHARS` with no space around it.
pub const DEVICE_NAME_HEADER_PATTERN: &str = "^[!-~]([ -~]{0,62}[!-~])?$";

/// What an app's version header may hold.
pub const CLIENT_VERSION_PATTERN: &str = "^[!-~]{0,32}$";

/// The longest device or passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Whether an app-supplied device id has an acceptable shape: 16 to 128
/// characters of letters, digits, `-`, `_` and `.`.
pub fn valid_device_id(id: &str) -> bool {
    (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The client's address: the peer, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy. Entries a client could have written (left of that) are
/// ignored, and from an untrusted peer the header is ignored entirely.
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for entry in header.rsplit(',') {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// What the device limit weighs of one bound device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceUse {
    /// It has a session that has not ended or expired.
    pub signed_in: bool,
    /// Its last sign-in or use, unix milliseconds.
    pub last_seen_ms: i64,
}

/// Whether a bound device holds one of the account's places under the
/// device limit: while it is signed in, or when it was used within
/// `window_ms` (LINE and Google count the devices in use the same way).
/// A browser that signed out months ago stays listed, but a new device
/// does not have to push it out. A window of 0 counts signed-in devices only.
pub fn holds_place(device: DeviceUse, now_ms: i64, window_ms: i64) -> bool {
    device.signed_in || (window_ms > 0 && now_ms.saturating_sub(device.last_seen_ms) < window_ms)
}

/// How many of `devices` hold a place under the limit.
pub fn places_taken(devices: &[DeviceUse], now_ms: i64, window_ms: i64) -> usize {
    devices
        .iter()
        .filter(|d| holds_place(**d, now_ms, window_ms))
        .count()
}

/// Whether one more device may be bound beside `devices` under a limit of
/// `max` places (at least one: a limit of 0 would lock everyone out).
pub fn room_for_new_device(devices: &[DeviceUse], now_ms: i64, window_ms: i64, max: i64) -> bool {
    (places_taken(devices, now_ms, window_ms) as i64) < max.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_agents_read_as_people_say_them() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36", "Chrome on Windows", "windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iPhone", "ios"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36 Line/14.8.0", "LINE on Android", "android"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox on macOS", "macos"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36", "Chrome on Linux", "linux"),
            ("curl/8.5.0", "curl", "other"),
            ("", "Unknown device", "other"),
        ];
        for (ua, name, platform) in cases {
            assert_eq!(
                describe_user_agent(ua),
                (name.to_string(), platform),
                "{ua}"
            );
        }
    }

    #[test]
    fn device_ids_have_a_shape() {
        assert!(valid_device_id("ios-3F2504E0-4F89-11D3-9A0C"));
        assert!(!valid_device_id("short"));
        assert!(!valid_device_id("has spaces in it, sorry"));
        assert!(!valid_device_id(&"x".repeat(129)));
        assert!(!valid_device_id("<script>alert(1)</script>"));
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let outsider: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(outsider, Some("1.2.3.4"), &trusted), outsider);
        assert_eq!(
            client_ip(proxy, Some("1.2.3.4"), &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        // The client wrote "6.6.6.6" itself; the proxy appended the real peer.
        assert_eq!(
            client_ip(proxy, Some("6.6.6.6, 198.51.100.7"), &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(proxy, Some("198.51.100.7, 10.0.0.9"), &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), proxy);
        assert_eq!(client_ip(proxy, None, &trusted), proxy);
    }

    proptest! {
        #[test]
        fn an_untrusted_peer_is_always_the_client(a in any::<u32>(), header in ".{0,100}") {
            let peer = IpAddr::V4(std::net::Ipv4Addr::from(a | 0x0100_0000));
            let trusted: Vec<Cidr> = vec!["0.0.0.0/8".parse().unwrap()];
            prop_assert_eq!(client_ip(peer, Some(&header), &trusted), peer);
        }

        #[test]
        fn describing_never_panics(ua in any::<String>()) {
            let _ = describe_user_agent(&ua);
        }
    }

    const DAY: i64 = 24 * 3_600_000;

    #[test]
    fn signed_in_or_recently_used_devices_hold_a_place() {
        let now = 100 * DAY;
        let window = 30 * DAY;
        let cases = [
            (true, now - 365 * DAY, true), // still signed in, however old
            (false, now - DAY, true),      // signed out yesterday
            (false, now - 29 * DAY, true),
            (false, now - 30 * DAY, false), // the window has passed
            (false, now - 90 * DAY, false),
        ];
        for (signed_in, last_seen_ms, holds) in cases {
            let d = DeviceUse {
                signed_in,
                last_seen_ms,
            };
            assert_eq!(holds_place(d, now, window), holds, "{d:?}");
        }
        let old = DeviceUse {
            signed_in: false,
            last_seen_ms: now - DAY,
        };
        assert!(
            !holds_place(old, now, 0),
            "a window of 0 counts signed-in devices only"
        );
    }

    #[test]
    fn six_browsers_that_signed_out_long_ago_leave_room() {
        let now = 400 * DAY;
        let gone = vec![
            DeviceUse {
                signed_in: false,
                last_seen_ms: now - 60 * DAY
            };
            6
        ];
        assert!(room_for_new_device(&gone, now, 30 * DAY, 5));
        let live = vec![
            DeviceUse {
                signed_in: true,
                last_seen_ms: now - 60 * DAY
            };
            5
        ];
        assert!(!room_for_new_device(&live, now, 30 * DAY, 5));
        assert!(
            room_for_new_device(&[], now, 30 * DAY, 0),
            "at least one place"
        );
    }

    fn device_use() -> impl Strategy<Value = DeviceUse> {
        (any::<bool>(), 0i64..1_000 * DAY).prop_map(|(signed_in, last_seen_ms)| DeviceUse {
            signed_in,
            last_seen_ms,
        })
    }

    proptest! {
        #[test]
        fn places_taken_never_exceeds_the_devices_and_grows_with_the_window(
            devices in proptest::collection::vec(device_use(), 0..12),
            now in 0i64..1_000 * DAY,
            short in 0i64..100 * DAY,
            extra in 0i64..100 * DAY,
        ) {
            let taken = places_taken(&devices, now, short);
            prop_assert!(taken <= devices.len());
            prop_assert!(taken >= devices.iter().filter(|d| d.signed_in).count());
            prop_assert!(places_taken(&devices, now, short + extra) >= taken);
        }

        #[test]
        fn room_is_exactly_fewer_places_than_the_limit(
            devices in proptest::collection::vec(device_use(), 0..12),
            now in 0i64..1_000 * DAY,
            window in 0i64..100 * DAY,
            max in -2i64..10,
        ) {
            let taken = places_taken(&devices, now, window) as i64;
            prop_assert_eq!(room_for_new_device(&devices, now, window, max), taken < max.max(1));
        }

        #[test]
        fn signing_in_never_frees_a_place(d in device_use(), now in 0i64..1_000 * DAY, window in 0i64..100 * DAY) {
            let signed_in = DeviceUse { signed_in: true, ..d };
            prop_assert!(holds_place(signed_in, now, window));
            prop_assert!(holds_place(signed_in, now, window) >= holds_place(d, now, window));
        }
    }
}
