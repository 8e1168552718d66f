//! The `call-options` field: what a Rust client tells a server about one request, beyond the
//! 0.1.9 fields, in one stream field (`timeout-ms=7500;reply-ttl-ms=600000;reply-batch=1`).
//!
//! One field rather than one per option: every field of a request is two more values for Redis
//! to store and for the server to read back and parse with each delivery, so three options in
//! one field cost a server about four RESP values less per request. Keys are `key=value`
//! pairs separated by `;`; unknown keys and malformed pairs are ignored, so options can be
//! added without breaking older readers. 0.1.9 servers ignore the whole field.

/// The options of one request, as a server reads them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CallOptionsField {
    /// `timeout-ms`: the caller's timeout; deadline = entry id ms + this, on Redis's clock.
    pub(crate) timeout_ms: Option<u64>,
    /// `reply-ttl-ms`: the TTL the caller keeps on its reply stream; servers refresh it.
    pub(crate) reply_ttl_ms: Option<u64>,
    /// `reply-batch=1`: the caller reads JSON-RPC batch responses (an array of responses in
    /// one reply entry's `envelope`); servers may combine its replies.
    pub(crate) reply_batch: bool,
}

impl CallOptionsField {
    /// Reads a `call-options` value; `None` (no field) gives no options.
    ///
    /// Read as bytes, once per delivery: `str` splitting and parsing showed in the server's
    /// profile at about 1,000 instructions per request.
    pub(crate) fn parse(raw: Option<&[u8]>) -> Self {
        let Some(raw) = raw else { return Self::default() };
        Self::canonical(raw).unwrap_or_else(|| Self::general(raw))
    }

    /// The form [`encode`](Self::encode) writes when a client sets both numbers (this
    /// crate's clients always do), read in one pass: half of what splitting costs. `None`
    /// for any other form.
    fn canonical(raw: &[u8]) -> Option<Self> {
        let (timeout_ms, rest) = leading_decimal(raw.strip_prefix(b"timeout-ms=")?)?;
        let (reply_ttl_ms, rest) = leading_decimal(rest.strip_prefix(b";reply-ttl-ms=")?)?;
        let reply_batch = match rest {
            b"" => false,
            b";reply-batch=1" => true,
            _ => return None,
        };
        Some(Self { timeout_ms: Some(timeout_ms), reply_ttl_ms: Some(reply_ttl_ms), reply_batch })
    }

    /// Any form: `key=value` pairs separated by `;`, unknown keys and malformed pairs
    /// ignored.
    fn general(raw: &[u8]) -> Self {
        let mut options = Self::default();
        for pair in raw.split(|&b| b == b';') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else { continue };
            let (key, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            match key {
                b"timeout-ms" => options.timeout_ms = decimal(value),
                b"reply-ttl-ms" => options.reply_ttl_ms = decimal(value),
                b"reply-batch" => options.reply_batch = value == b"1",
                _ => {}
            }
        }
        options
    }

    /// The field's value, as a client writes it.
    pub(crate) fn encode(&self) -> String {
        let mut numbers = itoa::Buffer::new();
        let mut out = String::with_capacity(64);
        let mut pair = |key: &str, value: &str| {
            if !out.is_empty() {
                out.push(';');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        };
        if let Some(ms) = self.timeout_ms {
            pair("timeout-ms", numbers.format(ms));
        }
        if let Some(ms) = self.reply_ttl_ms {
            pair("reply-ttl-ms", numbers.format(ms));
        }
        if self.reply_batch {
            pair("reply-batch", "1");
        }
        out
    }
}

/// The decimal number `bytes` start with (1 to 19 digits), and what follows it.
fn leading_decimal(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let len = bytes.iter().take(20).take_while(|b| b.is_ascii_digit()).count();
    if len > 19 {
        return None;
    }
    Some((decimal(&bytes[..len])?, &bytes[len..]))
}

/// An unsigned decimal number (ASCII digits only, no sign, no overflow).
pub(crate) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_form_reads_as_any_form_does() {
        for text in [
            "timeout-ms=7500;reply-ttl-ms=600000;reply-batch=1",
            "timeout-ms=7500;reply-ttl-ms=600000",
            "timeout-ms=0;reply-ttl-ms=18446744073709551615;reply-batch=1",
            "timeout-ms=99999999999999999999;reply-ttl-ms=1;reply-batch=1",
            "timeout-ms=;reply-ttl-ms=1",
            "timeout-ms=5;reply-ttl-ms=1;reply-batch=0",
            "timeout-ms=5;reply-ttl-ms=1;reply-batch=1;extra=2",
            "timeout-ms=5 ;reply-ttl-ms=1",
            "reply-ttl-ms=1;timeout-ms=5",
            "timeout-ms=5",
        ] {
            let parsed = CallOptionsField::parse(Some(text.as_bytes()));
            assert_eq!(parsed, CallOptionsField::general(text.as_bytes()), "{text}");
            if let Some(canonical) = CallOptionsField::canonical(text.as_bytes()) {
                assert_eq!(canonical, parsed, "{text}");
            }
        }
        assert!(CallOptionsField::canonical(b"timeout-ms=7500;reply-ttl-ms=600000;reply-batch=1").is_some());
    }

    #[test]
    fn round_trips() {
        let options = CallOptionsField { timeout_ms: Some(7500), reply_ttl_ms: Some(600_000), reply_batch: true };
        let text = options.encode();
        assert_eq!(text, "timeout-ms=7500;reply-ttl-ms=600000;reply-batch=1");
        assert_eq!(CallOptionsField::parse(Some(text.as_bytes())), options);
        assert_eq!(CallOptionsField::default().encode(), "");
        let ttl_only = CallOptionsField { reply_ttl_ms: Some(5), ..Default::default() };
        assert_eq!(ttl_only.encode(), "reply-ttl-ms=5");
    }

    #[test]
    fn tolerates_unknown_and_malformed_parts() {
        let parsed = CallOptionsField::parse(Some(b"future=x; timeout-ms = 250 ;junk;reply-ttl-ms=-3;reply-batch=yes"));
        assert_eq!(parsed, CallOptionsField { timeout_ms: Some(250), reply_ttl_ms: None, reply_batch: false });
        assert_eq!(CallOptionsField::parse(None), CallOptionsField::default());
        assert_eq!(CallOptionsField::parse(Some(b"\xff\xfe")), CallOptionsField::default());
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal(b"18446744073709551616"), None);
        assert_eq!(decimal(b""), None);
        assert_eq!(decimal(b"+1"), None);
        assert_eq!(decimal(b"1x"), None);
    }
}
