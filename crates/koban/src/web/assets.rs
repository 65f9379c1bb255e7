//! Static assets, compiled into the binary: no CDN, works offline. Each is
//! linked with a `?v=` content hash, so it can be cached for a year and a
//! new build is still picked up at once.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "koban.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../assets/koban.css"),
    },
    Asset {
        name: "koban.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/koban.js"),
    },
    Asset {
        name: "passkeys.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../assets/passkeys.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../assets/favicon.svg"),
    },
];

fn versions() -> &'static Vec<(&'static str, String)> {
    static VERSIONS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = crate::crypto::sha256_hex(a.body.as_bytes());
                (a.name, hash[..12].to_string())
            })
            .collect()
    })
}

/// The URL of an embedded asset, versioned by its content.
pub fn url(name: &str) -> String {
    match versions().iter().find(|(n, _)| *n == name) {
        Some((_, v)) => format!("/assets/{name}?v={v}"),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_carry_a_content_hash() {
        let css = super::url("koban.css");
        assert!(css.starts_with("/assets/koban.css?v="), "{css}");
        assert_eq!(css.len(), "/assets/koban.css?v=".len() + 12);
    }
}
