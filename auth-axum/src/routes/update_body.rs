//! Reading registration and `PATCH` bodies: the user's own fields, the administrator's
//! flags, and the app's profile (whole or partial).

use auth_core::{AdminUpdate, Email, Password, Profile, Roles, UserUpdate, Username};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::json::from_value;

/// Keys that are never part of the profile, whatever a body says.
const RESERVED: &[&str] = &[
    "id",
    "email",
    "username",
    "password",
    "current_password",
    "hashed_password",
    "password_hash",
    "is_active",
    "is_superuser",
    "is_verified",
    "roles",
    "created_at",
    "updated_at",
];

#[derive(Deserialize)]
struct OwnFields {
    email: Option<Email>,
    username: Option<Username>,
    password: Option<Password>,
    current_password: Option<Password>,
}

#[derive(Deserialize)]
struct Flags {
    is_active: Option<bool>,
    is_superuser: Option<bool>,
    is_verified: Option<bool>,
    roles: Option<Vec<String>>,
}

/// A self-update from a `PATCH /users/me` body: privileged keys are ignored (ASVS5 15.3.3).
pub(super) fn user_update<P: Profile>(
    body: Map<String, Value>,
    current: &P,
) -> Result<UserUpdate<P>, ApiError> {
    let own: OwnFields = from_value(Value::Object(body.clone()))?;
    Ok(UserUpdate {
        email: own.email,
        username: own.username,
        password: own.password,
        current_password: own.current_password,
        profile: profile_patch(body, current)?,
    })
}

/// An administrator's update from a `PATCH /users/{id}` body.
pub(super) fn admin_update<P: Profile>(
    body: Map<String, Value>,
    current: &P,
) -> Result<AdminUpdate<P>, ApiError> {
    let flags: Flags = from_value(Value::Object(body.clone()))?;
    let user = user_update(body, current)?;
    Ok(AdminUpdate {
        user: UserUpdate {
            current_password: None,
            ..user
        },
        is_active: flags.is_active,
        is_superuser: flags.is_superuser,
        is_verified: flags.is_verified,
        roles: flags.roles.map(Roles::from_iter),
    })
}

/// The keys of a body that may belong to the app's profile: everything but [`RESERVED`].
fn profile_keys(body: Map<String, Value>) -> Map<String, Value> {
    body.into_iter()
        .filter(|(key, _)| !RESERVED.contains(&key.as_str()))
        .collect()
}

/// A new user's profile from a registration body. Privileged and account keys never reach
/// it, and a bad profile value is reported at its own key (`["body","first_name"]`), which
/// `#[serde(flatten)]` would lose.
pub(super) fn new_profile<P: Profile>(body: Map<String, Value>) -> Result<P, ApiError> {
    from_value(Value::Object(profile_keys(body)))
}

/// The profile with the body's profile keys laid over it, or `None` when the body has none.
fn profile_patch<P: Profile>(body: Map<String, Value>, current: &P) -> Result<Option<P>, ApiError> {
    let patch = profile_keys(body);
    if patch.is_empty() {
        return Ok(None);
    }
    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(map)) => map,
        Ok(_) => Map::new(),
        Err(err) => return Err(ApiError::internal(&err)),
    };
    merged.extend(patch);
    from_value(Value::Object(merged)).map(Some)
}
