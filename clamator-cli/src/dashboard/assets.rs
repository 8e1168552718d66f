//! The page, its script and its style, embedded in the binary (nothing fetched at run
//! time, no build step).

use axum::extract::Path;
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../assets/dashboard/index.html");

/// `(name, content type, content)` of every asset under `/assets/`.
const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../../assets/dashboard/app.css")),
    ("dom.js", "text/javascript; charset=utf-8", include_str!("../../assets/dashboard/dom.js")),
    ("overview.js", "text/javascript; charset=utf-8", include_str!("../../assets/dashboard/overview.js")),
    ("service.js", "text/javascript; charset=utf-8", include_str!("../../assets/dashboard/service.js")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../assets/dashboard/app.js")),
];

/// `GET /`.
pub async fn index() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response()
}

/// `GET /assets/{file}`.
pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => ([(header::CONTENT_TYPE, *kind)], *body).into_response(),
        None => super::api::error(StatusCode::NOT_FOUND, "no such asset"),
    }
}
