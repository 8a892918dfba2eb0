//! `/openapi.json` and `/docs`: the API reference and an explorer that sends real requests
//! ("try it out"), served with no network access needed.
//!
//! The explorer is Swagger UI, whose files the `utoipa-swagger-ui` crate embeds at build
//! time from the `utoipa-swagger-ui-vendored` crate: nothing is downloaded when building or
//! serving, and the page loads only files of this site.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the explorer lives; its files are under `/docs/`.
pub const DOCS_PATH: &str = "/docs";

/// The explorer's settings: it reads `/openapi.json`, has "try it out" on, and never asks
/// the online spec validator (its badge would be a request to another site).
fn explorer() -> SwaggerUi {
    let config = Config::new(["/openapi.json"])
        .try_it_out_enabled(true)
        .display_request_duration(true)
        .validator_url("none");
    SwaggerUi::new(DOCS_PATH).config(config)
}

/// `GET /openapi.json`, and `GET /docs` (a redirect to `/docs/`) with the explorer's files
/// under `/docs/`.
pub fn routes<S: Clone + Send + Sync + 'static>(document: OpenApi) -> Router<S> {
    let json = document.to_json().unwrap_or_else(|_| "{}".to_owned());
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    let mut response = (StatusCode::OK, json).into_response();
                    response.headers_mut().insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json; charset=utf-8"),
                    );
                    response
                }
            }),
        )
        .merge(explorer())
}

/// The document of every route the server mounts: the contract's, plus health and the demo.
pub fn document(auth: OpenApi) -> OpenApi {
    let extra: OpenApi = serde_json::from_value(serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": "Accounts reference server", "version": env!("CARGO_PKG_VERSION")},
        "paths": {
            "/health": {"get": {"tags": ["ops"], "summary": "Health of the server and its backing services", "responses": {
                "200": {"description": "Everything is up"},
                "503": {"description": "A backing service is down"}
            }}},
            "/articles": {
                "get": {"tags": ["articles"], "summary": "List articles (public)", "responses": {"200": {"description": "Every article"}}},
                "post": {"tags": ["articles"], "summary": "Write an article (role author)", "security": [{"bearer": []}, {"cookie": []}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["title", "body"], "properties": {"title": {"type": "string"}, "body": {"type": "string"}}}}}},
                    "responses": {"201": {"description": "The new article"}, "401": {"description": "Unauthorized"}, "403": {"description": "Not an author"}, "422": {"description": "Validation Error"}}}
            },
            "/articles/{id}": {"delete": {"tags": ["articles"], "summary": "Delete an article (superusers)", "security": [{"bearer": []}, {"cookie": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "responses": {"204": {"description": "Deleted"}, "401": {"description": "Unauthorized"}, "403": {"description": "Not a superuser"}, "404": {"description": "No such article"}}}}
        }
    }))
    .unwrap_or_default();
    let mut merged = extra;
    merged.merge(auth);
    merged
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    async fn get(app: &Router, path: &str) -> (StatusCode, String, String) {
        let response = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = to_bytes(response.into_body(), 16 << 20).await.unwrap();
        let text = location.unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        (status, kind, text)
    }

    #[tokio::test]
    async fn the_explorer_and_all_its_files_are_served_from_the_binary() {
        let app: Router = super::routes(super::document(utoipa::openapi::OpenApi::default()));
        let (status, _, location) = get(&app, "/docs").await;
        assert!(status.is_redirection(), "{status}");
        assert_eq!(location, "/docs/");

        let (status, kind, index) = get(&app, "/docs/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/html"), "{kind}");
        // Every file the page loads is one of ours, and answers.
        let mut assets = Vec::new();
        for attribute in ["src=\"", "href=\""] {
            for (at, _) in index.match_indices(attribute) {
                let value = &index[at + attribute.len()..];
                let value = &value[..value.find('"').unwrap()];
                assert!(!value.contains("//"), "a file of another site: {value}");
                assets.push(value.trim_start_matches("./").to_owned());
            }
        }
        for needed in [
            "swagger-ui.css",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
            "swagger-initializer.js",
        ] {
            assert!(assets.iter().any(|a| a == needed), "{needed}: {assets:?}");
        }
        for asset in &assets {
            let (status, _, body) = get(&app, &format!("/docs/{asset}")).await;
            assert_eq!(status, StatusCode::OK, "{asset}");
            assert!(!body.is_empty(), "{asset}");
        }

        // The explorer reads our document, lets one try requests, and asks no validator.
        let (_, kind, init) = get(&app, "/docs/swagger-initializer.js").await;
        assert!(kind.contains("javascript"), "{kind}");
        assert!(init.contains("\"/openapi.json\""), "{init}");
        assert!(init.contains("\"tryItOutEnabled\": true"), "{init}");
        assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
        assert!(!init.contains("petstore"), "{init}");

        let (status, kind, document) = get(&app, "/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("application/json"), "{kind}");
        assert!(document.contains("\"/articles\""), "{document}");
    }
}
