//! The `limit` and `offset` query parameters of the paginated lists, validated as the
//! contract's `422` describes.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::ApiError;

/// One integer query parameter, when present.
pub(super) fn query_int(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                ApiError::validation(
                    "int_parsing",
                    &["query", name],
                    "Input should be a valid integer",
                    Value::String(raw.clone()),
                )
            })
        })
        .transpose()
}

/// `limit` (1 to 100, default 50) and `offset` (0 or more, default 0).
pub(super) fn limit_offset(params: &HashMap<String, String>) -> Result<(u32, u64), ApiError> {
    let limit = query_int(params, "limit")?.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation(
            "less_than_equal",
            &["query", "limit"],
            "Input should be between 1 and 100",
            Value::from(limit),
        ));
    }
    let offset = query_int(params, "offset")?.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::validation(
            "greater_than_equal",
            &["query", "offset"],
            "Input should be greater than or equal to 0",
            Value::from(offset),
        ));
    }
    Ok((
        u32::try_from(limit).unwrap_or(50),
        u64::try_from(offset).unwrap_or(0),
    ))
}
