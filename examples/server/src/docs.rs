//! `/openapi.json` and `/docs`: the API reference, served with no network access needed.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::openapi::OpenApi;

/// A self-contained page that reads `/openapi.json` and lists every operation with its
/// request body and responses. No CDN, no external script.
const DOCS: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>API reference</title><link rel="icon" href="data:,">
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
details{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.4rem .8rem}
summary{cursor:pointer}code{background:#f4f4f4;padding:0 .25rem}.m{display:inline-block;width:4.5rem;font-weight:bold}
pre{background:#f7f7f7;padding:.6rem;overflow:auto;font-size:.8rem}</style></head>
<body><h1 id="title">API reference</h1><p><a href="/openapi.json">openapi.json</a></p><div id="ops"></div>
<script>
(async () => {
  const doc = await (await fetch('/openapi.json')).json();
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  const ops = document.getElementById('ops');
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const d = document.createElement('details');
      const s = document.createElement('summary');
      s.innerHTML = '<span class="m"></span><code></code> <span></span>';
      s.children[0].textContent = method.toUpperCase();
      s.children[1].textContent = path;
      s.children[2].textContent = op.summary || '';
      d.appendChild(s);
      const pre = document.createElement('pre');
      pre.textContent = JSON.stringify({requestBody: op.requestBody, responses: op.responses, security: op.security}, null, 2);
      d.appendChild(pre);
      ops.appendChild(d);
    }
  }
  const schemas = document.createElement('details');
  schemas.innerHTML = '<summary>Schemas</summary><pre></pre>';
  schemas.querySelector('pre').textContent = JSON.stringify(doc.components.schemas, null, 2);
  ops.appendChild(schemas);
})();
</script></body></html>"#;

/// `GET /openapi.json` and `GET /docs`.
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
        .route("/docs", get(|| async { Html(DOCS) }))
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
