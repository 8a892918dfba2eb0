//! The query string of `GET /users`: page, filters and order, each bad value a `422` in the
//! shape of FastAPI's validation errors.

use std::collections::HashMap;

use auth_core::{UserQuery, UserSort};
use serde_json::Value;

use super::paging::limit_offset;
use crate::error::ApiError;

/// The [`UserQuery`] that `params` ask for.
pub(super) fn user_query(params: &HashMap<String, String>) -> Result<UserQuery, ApiError> {
    let (limit, offset) = limit_offset(params)?;
    let mut query = UserQuery::default().with_limit(limit).with_offset(offset);
    query.email_contains = non_empty(params, "email");
    query.role = non_empty(params, "role");
    query.is_active = query_bool(params, "is_active")?;
    query.is_verified = query_bool(params, "is_verified")?;
    query.is_superuser = query_bool(params, "is_superuser")?;
    if let Some(raw) = params.get("sort") {
        query.sort = UserSort::parse(raw).ok_or_else(|| {
            ApiError::validation(
                "literal_error",
                &["query", "sort"],
                "Input should be 'created_at', '-created_at', 'email' or '-email'",
                Value::String(raw.clone()),
            )
        })?;
    }
    Ok(query)
}

/// A text parameter; empty is the same as absent.
fn non_empty(params: &HashMap<String, String>, name: &str) -> Option<String> {
    params.get(name).filter(|value| !value.is_empty()).cloned()
}

/// A flag, spelled as FastAPI (pydantic) accepts one: `true`/`false`, `1`/`0`, `yes`/`no`,
/// `on`/`off`, `t`/`f`, `y`/`n`, in any case.
fn query_bool(params: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    params
        .get(name)
        .map(|raw| match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
            _ => Err(ApiError::validation(
                "bool_parsing",
                &["query", name],
                "Input should be a valid boolean, unable to interpret input",
                Value::String(raw.clone()),
            )),
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<UserQuery, ApiError> {
        let params = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        user_query(&params)
    }

    #[test]
    fn every_parameter_reaches_the_query() {
        let query = parse(&[
            ("limit", "7"),
            ("offset", "3"),
            ("email", "ann"),
            ("role", "editor"),
            ("is_active", "true"),
            ("is_verified", "0"),
            ("is_superuser", "No"),
            ("sort", "-created_at"),
        ])
        .unwrap_or_else(|err| panic!("{:?}", err.detail()));
        let expected = UserQuery::default()
            .with_limit(7)
            .with_offset(3)
            .with_email_contains("ann")
            .with_role("editor")
            .with_active(true)
            .with_verified(false)
            .with_superuser(false)
            .with_sort(UserSort::CreatedAtDesc);
        assert_eq!(query, expected);
        assert_eq!(parse(&[]).ok(), Some(UserQuery::default()));
        assert_eq!(
            parse(&[("role", ""), ("email", "")]).ok(),
            Some(UserQuery::default())
        );
    }

    #[test]
    fn bad_values_are_validation_errors_naming_the_parameter() {
        for (name, value, kind) in [
            ("is_active", "maybe", "bool_parsing"),
            ("is_verified", "", "bool_parsing"),
            ("is_superuser", "truee", "bool_parsing"),
            ("sort", "password_hash", "literal_error"),
            ("sort", "id", "literal_error"),
            ("limit", "x", "int_parsing"),
            ("limit", "0", "less_than_equal"),
            ("offset", "-1", "greater_than_equal"),
        ] {
            let Err(err) = parse(&[(name, value)]) else {
                panic!("{name}={value} was accepted");
            };
            assert_eq!(err.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(err.detail()[0]["type"], kind);
            assert_eq!(err.detail()[0]["loc"], serde_json::json!(["query", name]));
        }
    }
}
