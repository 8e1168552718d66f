//! What every response passes through: the token check, the read-only switch for actions,
//! and headers that keep the page to its own script (a strict Content-Security-Policy).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::api::error;
use super::AppState;

/// The cookie the page keeps the token in after a `?token=` visit.
const COOKIE: &str = "clamator_dashboard_token";

/// Only the page's own script and style; no inline script, no frames, no foreign requests.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Equal, in a time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token a request carries: `Authorization: Bearer`, `?token=`, or the cookie.
fn presented(request: &Request) -> Vec<String> {
    let mut out = Vec::new();
    let headers = request.headers();
    if let Some(bearer) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        out.push(bearer.trim().to_owned());
    }
    if let Some(query) = request.uri().query() {
        for (k, v) in form_pairs(query) {
            if k == "token" {
                out.push(v);
            }
        }
    }
    for cookies in headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        for pair in cookies.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k == COOKIE {
                    out.push(percent_decode(v));
                }
            }
        }
    }
    out
}

/// `k=v&k2=v2`, percent- and plus-decoded.
fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(&k.replace('+', " ")), percent_decode(&v.replace('+', " ")))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// With `--token`: 401 for a request without it; a `?token=` visit that carries it gets
/// the cookie, so the page's own requests (script, style, events) carry it too.
pub async fn token(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(expected) = state.token.as_deref() else { return next.run(request).await };
    if !presented(&request).iter().any(|t| same(t, expected)) {
        return error(StatusCode::UNAUTHORIZED, "this dashboard needs its token: open it with ?token=...");
    }
    let mut response = next.run(request).await;
    let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", percent_encode(expected));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Actions need `--allow-actions`, and a header a cross-site form cannot send (so another
/// site cannot make a visitor's browser replay or purge).
pub async fn actions_allowed(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if !state.allow_actions {
        return error(StatusCode::FORBIDDEN, "read-only dashboard: start it with --allow-actions to replay or purge");
    }
    if request.headers().get("x-clamator-action").is_none() {
        return error(StatusCode::FORBIDDEN, "actions need the X-Clamator-Action header");
    }
    next.run(request).await
}

/// Security headers on every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_and_decode() {
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "abcd"));
        assert_eq!(percent_decode("a%20b%3D%zz%"), "a b=%zz%");
        assert_eq!(percent_decode(&percent_encode("s3cr=t /é")), "s3cr=t /é");
        let pairs: Vec<_> = form_pairs("x=1&token=a%2Bb+c").collect();
        assert_eq!(pairs[1], ("token".into(), "a+b c".into()));
    }
}
