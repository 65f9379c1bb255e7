//! The relying party passkeys are registered with: its id and origin,
//! from the configuration or derived from the public URL.

use super::*;

/// The relying party: who passkeys are registered with, and the verifier.
pub struct RelyingParty {
    pub(super) webauthn: Webauthn,
    /// The relying-party id (a domain).
    pub rp_id: String,
    /// The origin browsers must report.
    pub origin: Url,
}

/// Where the relying-party id and origin come from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingPartyIds {
    pub rp_id: String,
    pub origin: Url,
}

/// Reads `webauthn_rp_id` and `webauthn_origin`, deriving what is empty
/// from `public_url` (or `listen`). A bad explicit value is refused with its
/// key named; a derived origin on an IP address becomes `localhost`, since
/// browsers refuse passkeys on IP addresses and a default must still start.
pub fn relying_party_ids(config: &Config) -> Result<RelyingPartyIds, String> {
    let explicit = !config.webauthn_origin.trim().is_empty();
    let (key, text) = if explicit {
        ("webauthn_origin", config.webauthn_origin.trim().to_string())
    } else if config.public_url.trim().is_empty() {
        ("listen", config.public_base())
    } else {
        ("public_url", config.public_base())
    };
    let bad = |message: &str| format!("{key}: `{text}` {message}");
    let mut origin = Url::parse(&text).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(origin.scheme(), "http" | "https") {
        return Err(bad("must start with https:// (or http://localhost)"));
    }
    if explicit && (origin.path() != "/" || origin.query().is_some() || origin.fragment().is_some())
    {
        return Err(bad("must be an origin only: scheme, host and port"));
    }
    origin.set_path("");
    origin.set_query(None);
    origin.set_fragment(None);
    let is_ip = matches!(
        origin.host(),
        Some(url::Host::Ipv4(_)) | Some(url::Host::Ipv6(_))
    );
    if is_ip {
        if explicit {
            return Err(bad(
                "names an IP address; browsers use passkeys only on domain names",
            ));
        }
        origin
            .set_host(Some("localhost"))
            .map_err(|e| bad(&e.to_string()))?;
    }
    let host = origin
        .host_str()
        .ok_or_else(|| bad("has no host"))?
        .to_ascii_lowercase();
    if explicit && origin.scheme() == "http" && host != "localhost" {
        return Err(bad(
            "must use https: browsers allow passkeys over plain http only on localhost",
        ));
    }
    let rp_id = match config.webauthn_rp_id.trim() {
        "" => host.clone(),
        id => {
            let id = id.to_ascii_lowercase();
            if id.contains(['/', ':', ' ']) || id.starts_with('.') || id.ends_with('.') {
                return Err(format!(
                    "webauthn_rp_id: `{id}` must be a domain name such as example.com"
                ));
            }
            if host != id && !host.ends_with(&format!(".{id}")) {
                return Err(format!(
                    "webauthn_rp_id: `{id}` must be the origin's host `{host}` or a parent domain of it"
                ));
            }
            id
        }
    };
    Ok(RelyingPartyIds { rp_id, origin })
}

impl RelyingParty {
    /// Builds the verifier from the configuration; a bad value is named.
    pub fn from_config(config: &Config) -> Result<RelyingParty, String> {
        let ids = relying_party_ids(config)?;
        let localhost = ids.origin.host_str() == Some("localhost");
        let webauthn = WebauthnBuilder::new(&ids.rp_id, &ids.origin)
            .map_err(|e| format!("webauthn_rp_id: `{}`: {e}", ids.rp_id))?
            .rp_name("Koban")
            // Development servers on localhost move between ports; in
            // production the origin is a real domain and its port is checked.
            .allow_any_port(localhost)
            .build()
            .map_err(|e| format!("webauthn_origin: {e}"))?;
        Ok(RelyingParty {
            webauthn,
            rp_id: ids.rp_id,
            origin: ids.origin,
        })
    }
}
