//! The HTTP client the protocol crates call: reqwest, with no redirects followed, bounded
//! times and a bounded response size, so a slow or hostile provider costs little.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The most a provider's response may weigh.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A failed exchange with a provider.
#[derive(Debug, thiserror::Error)]
#[error("provider request failed: {0}")]
pub struct HttpError(String);

/// reqwest behind the `oauth2` crates' client trait.
#[derive(Debug, Clone)]
pub(crate) struct Http(reqwest::Client);

impl Http {
    pub(crate) fn new() -> Result<Self, HttpError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("auth-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(Self)
            .map_err(|err| HttpError(err.to_string()))
    }

    /// Sends `request`, reading at most [`MAX_RESPONSE_BYTES`] of the answer.
    pub(crate) async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let mut response = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|err| HttpError(err.to_string()))?;
        let mut builder = oauth2::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| HttpError(err.to_string()))?
        {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError("response too large".to_owned()));
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(|err| HttpError(err.to_string()))
    }

    /// A `GET` with a bearer token, for provider APIs.
    pub(crate) async fn get_json(
        &self,
        url: &str,
        bearer: &str,
    ) -> Result<serde_json::Value, HttpError> {
        let request = oauth2::http::Request::builder()
            .method("GET")
            .uri(url)
            .header("Authorization", format!("Bearer {bearer}"))
            .header("Accept", "application/vnd.github+json")
            .body(Vec::new())
            .map_err(|err| HttpError(err.to_string()))?;
        let response = self.send(request).await?;
        if !response.status().is_success() {
            return Err(HttpError(format!("{url} answered {}", response.status())));
        }
        serde_json::from_slice(response.body()).map_err(|err| HttpError(err.to_string()))
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
