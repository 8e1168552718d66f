//! Opening redis-rs clients from URLs: `rediss://` (TLS) when the `tls` feature is on, a
//! custom CA, the rustls crypto provider, and URL errors that say what is wrong without
//! showing the password.

use clamator_core::TransportError;
use redis::Client;

/// TLS settings beyond what a URL says.
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    /// A PEM CA certificate (bundle) to trust instead of the system's roots.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    pub(crate) ca_pem: Option<Vec<u8>>,
}

impl TlsSettings {
    /// The certificates for redis-rs, when a CA was given.
    #[cfg(feature = "tls")]
    pub(crate) fn certificates(&self) -> Option<redis::TlsCertificates> {
        self.ca_pem.clone().map(|root| redis::TlsCertificates { client_tls: None, root_cert: Some(root) })
    }
}

/// `true` for URLs that ask for TLS (`rediss://`, and `valkeys://`, which redis-rs reads alike).
pub(crate) fn wants_tls(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    scheme.eq_ignore_ascii_case("rediss") || scheme.eq_ignore_ascii_case("valkeys")
}

/// Installs rustls's `ring` provider as the process default unless the application
/// installed one: rustls panics at the first TLS connection when no provider was chosen
/// and several are compiled in.
pub(crate) fn install_crypto_provider() {
    #[cfg(feature = "tls")]
    {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    }
}

/// The error for a TLS URL in a build without the `tls` feature.
fn tls_not_compiled(url: &str) -> TransportError {
    TransportError::Connection {
        message: format!(
            "{} asks for TLS, but clamator-over-redis was built without its `tls` feature: \
             enable it (clamator: features = [\"redis\", \"tls\"])",
            redact(url)
        ),
        source: None,
    }
}

/// Checks a URL's scheme against the build: a `rediss://` URL without the `tls` feature is a
/// clear error here instead of redis-rs's "invalid URL".
pub(crate) fn check_scheme(url: &str) -> Result<(), TransportError> {
    if wants_tls(url) && !cfg!(feature = "tls") {
        return Err(tls_not_compiled(url));
    }
    Ok(())
}

/// The error for a URL redis-rs refused, its cause in the message (not only in `source`).
pub(crate) fn invalid_url(url: &str, e: redis::RedisError) -> TransportError {
    TransportError::connection(format!("invalid Redis URL {}: {e}", redact(url)), e)
}

/// A client for `url`, trusting `tls.ca_pem` when given.
pub(crate) fn open_client(url: &str, tls: &TlsSettings) -> Result<Client, TransportError> {
    check_scheme(url)?;
    install_crypto_provider();
    #[cfg(feature = "tls")]
    if let (true, Some(certificates)) = (wants_tls(url), tls.certificates()) {
        return Client::build_with_tls(url, certificates).map_err(|e| invalid_url(url, e));
    }
    let _ = tls;
    Client::open(url).map_err(|e| invalid_url(url, e))
}

/// `url` with its password replaced by `***`, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_owned() };
    let user = rest[..at].split_once(':').map_or(&rest[..at], |(user, _)| user);
    format!("{scheme}://{user}:***@{}", &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show_in_messages() {
        assert_eq!(redact("redis://app:s3cret@host:6379/0"), "redis://app:***@host:6379/0");
        assert_eq!(redact("rediss://:s3cret@host"), "rediss://:***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        let e = invalid_url(
            "redis://app:s3cret@host:notaport",
            redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "bad port")),
        );
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(e.to_string().contains("bad port"), "the cause is in the message: {e}");
    }

    #[test]
    fn tls_urls_are_recognised() {
        assert!(wants_tls("rediss://h:1"));
        assert!(wants_tls("REDISS://h:1"));
        assert!(!wants_tls("redis://h:1"));
        let e = tls_not_compiled("rediss://u:pw@h:1").to_string();
        assert!(e.contains("`tls` feature") && !e.contains("pw@"), "{e}");
        assert_eq!(check_scheme("rediss://h:1").is_ok(), cfg!(feature = "tls"));
    }
}
