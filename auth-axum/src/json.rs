//! JSON in and out, with FastAPI's `422` bodies for input that parses but does not validate.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

const JSON_UTF8: &str = "application/json; charset=utf-8";

/// A JSON response with `Content-Type: application/json; charset=utf-8` and
/// `Cache-Control: no-store` (every body of ours carries a token or personal data).
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => ApiError::internal(&err).into_response(),
    }
}

/// Whether a `Content-Type` is JSON (`application/json`, `application/*+json`), ignoring
/// parameters.
pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON request body that answers like FastAPI when it is wrong: `415` for another content
/// type, `413` over the body limit, `422` with `{"detail":[{"type","loc","msg","input"}]}`
/// for malformed JSON, missing fields and values of the wrong type or form.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE)
            && !content_type.to_str().is_ok_and(is_json)
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_rejection(rejection.status()))?;
        parse(&bytes).map(JsonBody)
    }
}

/// The answer for a body that could not be read.
pub(crate) fn body_rejection(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "Bad Request")
    }
}

/// Parses and validates a JSON body.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation(
            "missing",
            &["body"],
            "Field required",
            Value::Null,
        ));
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|err| {
        ApiError::validation(
            "json_invalid",
            &["body"],
            format!("JSON decode error: {err}"),
            Value::Null,
        )
    })?;
    from_value(value)
}

/// Validates an already parsed JSON value into `T`, with FastAPI's error locations.
pub(crate) fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(parsed) => Ok(parsed),
        Err(err) => {
            let mut loc: Vec<String> = vec!["body".to_owned()];
            for segment in err.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Map { key } => loc.push(key.clone()),
                    serde_path_to_error::Segment::Seq { index } => loc.push(index.to_string()),
                    _ => {}
                }
            }
            let input = locate(&value, &loc[1..]).cloned().unwrap_or(Value::Null);
            let message = err.inner().to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned();
            let (kind, msg, input) = if let Some(field) = missing_field(&message) {
                loc.push(field.to_owned());
                ("missing", "Field required".to_owned(), input)
            } else if message.starts_with("invalid type") {
                ("type_error", message, input)
            } else {
                ("value_error", message, input)
            };
            let loc: Vec<&str> = loc.iter().map(String::as_str).collect();
            Err(ApiError::validation(kind, &loc, msg, input))
        }
    }
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
}

fn locate<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |value, segment| match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::Email;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: Email,
        age: u32,
    }

    fn detail(err: ApiError) -> Value {
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bytes =
            futures::executor::block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                .unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["detail"][0].clone()
    }

    #[test]
    fn missing_fields_name_the_field() {
        let d = detail(parse::<Body>(br#"{"age": 3}"#).unwrap_err());
        assert_eq!(d["type"], "missing");
        assert_eq!(d["loc"], serde_json::json!(["body", "email"]));
    }

    #[test]
    fn bad_values_name_the_field_and_echo_the_input() {
        let d = detail(parse::<Body>(br#"{"email": "nope", "age": 3}"#).unwrap_err());
        assert_eq!(d["loc"], serde_json::json!(["body", "email"]));
        assert_eq!(d["input"], "nope");
        assert!(d["msg"].as_str().unwrap().contains("not a valid email"));
        let d = detail(parse::<Body>(br#"{"email": "a@b.co", "age": "x"}"#).unwrap_err());
        assert_eq!(d["type"], "type_error");
        assert_eq!(d["loc"], serde_json::json!(["body", "age"]));
    }

    #[test]
    fn malformed_and_empty_bodies_are_422() {
        assert_eq!(
            detail(parse::<Body>(b"{").unwrap_err())["type"],
            "json_invalid"
        );
        assert_eq!(detail(parse::<Body>(b"").unwrap_err())["type"], "missing");
    }

    #[test]
    fn json_content_types_are_recognised() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
    }
}
