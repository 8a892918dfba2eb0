//! The OpenAPI document of the routers, with every error response, for merging into the app's
//! own document.

use auth_core::Profile;
use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

use crate::config::Transport;
use crate::routes::Auth;

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorModel"}}}
    })
}

fn validation() -> Value {
    json!({
        "description": "Validation Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}
    })
}

fn json_body(schema: &str) -> Value {
    json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

fn ok(description: &str, schema: Option<&str>) -> Value {
    match schema {
        Some(schema) => json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
        }),
        None => json!({ "description": description }),
    }
}

/// An operation; `secured` adds both security schemes and the `401`.
fn op(
    tag: &str,
    summary: &str,
    id: &str,
    body: Option<Value>,
    mut responses: Map<String, Value>,
    secured: bool,
) -> Value {
    responses.insert("422".into(), validation());
    responses.insert(
        "429".into(),
        error("Too Many Requests (`TOO_MANY_REQUESTS`, with `Retry-After`)"),
    );
    let mut operation = json!({
        "tags": [tag],
        "summary": summary,
        "operationId": id,
        "responses": responses,
    });
    if let Some(body) = body {
        operation["requestBody"] = body;
    }
    if secured {
        operation["security"] = json!([{"bearer": []}, {"cookie": []}]);
        operation["responses"]["401"] =
            error("Unauthorized: missing, invalid, expired or revoked token");
    }
    operation
}

fn responses(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(code, v)| ((*code).to_owned(), v.clone()))
        .collect()
}

fn user_schema(profile: &Map<String, Value>) -> Value {
    let mut properties = json!({
        "id": {"type": "string", "format": "uuid"},
        "email": {"type": "string", "format": "email"},
        "username": {"type": ["string", "null"]},
        "is_active": {"type": "boolean"},
        "is_superuser": {"type": "boolean"},
        "is_verified": {"type": "boolean"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    });
    if let Some(map) = properties.as_object_mut() {
        map.extend(profile.clone());
    }
    json!({
        "type": "object",
        "required": ["id", "email", "is_active", "is_superuser", "is_verified", "roles", "created_at", "updated_at"],
        "properties": properties,
    })
}

fn object(required: &[&str], properties: Value, extra: &Map<String, Value>) -> Value {
    let mut properties = properties;
    if let Some(map) = properties.as_object_mut() {
        map.extend(extra.clone());
    }
    json!({"type": "object", "required": required, "properties": properties})
}

impl<P: Profile> Auth<P> {
    /// The OpenAPI 3.1 document of [`Auth::routes`] (with the configured backends), to merge
    /// into the app's own with [`OpenApi::merge`]. The app's profile fields are not described;
    /// see [`Auth::openapi_with_profile`].
    pub fn openapi(&self) -> OpenApi {
        self.document(&Map::new())
    }

    /// [`Auth::openapi`] with the app's profile fields (the properties of `T`'s object schema)
    /// added to the user schemas.
    pub fn openapi_with_profile<T: utoipa::ToSchema>(&self) -> OpenApi {
        let schema = serde_json::to_value(T::schema()).unwrap_or(Value::Null);
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        self.document(&properties)
    }

    fn document(&self, profile: &Map<String, Value>) -> OpenApi {
        let mut paths = Map::new();
        let mut add = |path: &str, method: &str, operation: Value| {
            let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
            item[method] = operation;
        };
        add(
            "/auth/register",
            "post",
            op(
                "auth",
                "Register",
                "register",
                Some(json_body("UserCreate")),
                responses(&[
                    ("201", ok("The new user", Some("UserRead"))),
                    ("202", ok("Accepted (enumeration-safe registration)", None)),
                    (
                        "400",
                        error(
                            "`REGISTER_USER_ALREADY_EXISTS`, `REGISTER_USERNAME_ALREADY_EXISTS`, or `{code: REGISTER_INVALID_PASSWORD, reason}`",
                        ),
                    ),
                ]),
                false,
            ),
        );
        for backend in &self.config().backends {
            let name = &backend.name;
            let (success, refresh_body) = match backend.transport {
                Transport::Bearer => (
                    ("200", ok("The token pair", Some("BearerResponse"))),
                    Some(json_body("RefreshRequest")),
                ),
                _ => (
                    (
                        "204",
                        ok("Logged in: the access and refresh cookies are set", None),
                    ),
                    None,
                ),
            };
            add(
                &format!("/auth/{name}/login"),
                "post",
                op(
                    "auth",
                    &format!("Log in ({name})"),
                    &format!("login_{name}"),
                    Some(json!({"required": true, "content": {
                        "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/LoginForm"}},
                        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/LoginForm"}},
                        "application/json": {"schema": {"$ref": "#/components/schemas/LoginForm"}},
                    }})),
                    responses(&[
                        success.clone(),
                        (
                            "400",
                            error("`LOGIN_BAD_CREDENTIALS` or `LOGIN_USER_NOT_VERIFIED`"),
                        ),
                        ("403", error("Cross-site request (cookie backend)")),
                    ]),
                    false,
                ),
            );
            add(
                &format!("/auth/{name}/refresh"),
                "post",
                op(
                    "auth",
                    &format!("Refresh ({name})"),
                    &format!("refresh_{name}"),
                    refresh_body,
                    responses(&[
                        success,
                        (
                            "401",
                            error("Unknown, expired, revoked or reused refresh token"),
                        ),
                        ("403", error("Cross-site request (cookie backend)")),
                    ]),
                    false,
                ),
            );
            add(
                &format!("/auth/{name}/logout"),
                "post",
                op(
                    "auth",
                    &format!("Log out ({name})"),
                    &format!("logout_{name}"),
                    None,
                    responses(&[("204", ok("Logged out: the session is revoked", None))]),
                    true,
                ),
            );
        }
        add(
            "/auth/request-verify-token",
            "post",
            op(
                "auth",
                "Request a verification mail",
                "request_verify_token",
                Some(json_body("EmailRequest")),
                responses(&[(
                    "202",
                    ok("Accepted, whether or not the address is known", None),
                )]),
                false,
            ),
        );
        add(
            "/auth/verify",
            "post",
            op(
                "auth",
                "Verify the e-mail address",
                "verify",
                Some(json_body("TokenRequest")),
                responses(&[
                    ("200", ok("The verified user", Some("UserRead"))),
                    (
                        "400",
                        error("`VERIFY_USER_BAD_TOKEN` or `VERIFY_USER_ALREADY_VERIFIED`"),
                    ),
                ]),
                false,
            ),
        );
        add(
            "/auth/forgot-password",
            "post",
            op(
                "auth",
                "Request a password-reset mail",
                "forgot_password",
                Some(json_body("EmailRequest")),
                responses(&[(
                    "202",
                    ok("Accepted, whether or not the address is known", None),
                )]),
                false,
            ),
        );
        add(
            "/auth/reset-password",
            "post",
            op(
                "auth",
                "Reset the password",
                "reset_password",
                Some(json_body("ResetRequest")),
                responses(&[
                    ("200", ok("Password reset; every session revoked", None)),
                    (
                        "400",
                        error(
                            "`RESET_PASSWORD_BAD_TOKEN` or `{code: RESET_PASSWORD_INVALID_PASSWORD, reason}`",
                        ),
                    ),
                ]),
                false,
            ),
        );
        let update_errors = "`UPDATE_USER_EMAIL_ALREADY_EXISTS`, `UPDATE_USER_USERNAME_ALREADY_EXISTS`, `UPDATE_USER_BAD_CURRENT_PASSWORD` or `{code: UPDATE_USER_INVALID_PASSWORD, reason}`";
        add(
            "/users/me",
            "get",
            op(
                "users",
                "The current user",
                "users_me",
                None,
                responses(&[("200", ok("The current user", Some("UserRead")))]),
                true,
            ),
        );
        add(
            "/users/me",
            "patch",
            op(
                "users",
                "Update the current user",
                "users_patch_me",
                Some(json_body("UserUpdate")),
                responses(&[
                    ("200", ok("The updated user", Some("UserRead"))),
                    ("400", error(update_errors)),
                ]),
                true,
            ),
        );
        add(
            "/users/me/sessions",
            "get",
            op(
                "users",
                "The current user's sessions",
                "users_me_sessions",
                None,
                responses(&[(
                    "200",
                    json!({"description": "Live sessions, oldest first", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/SessionRead"}}}}}),
                )]),
                true,
            ),
        );
        add(
            "/users/me/sessions",
            "delete",
            op(
                "users",
                "Log out everywhere",
                "users_me_revoke_all",
                None,
                responses(&[("204", ok("Every session revoked, this one included", None))]),
                true,
            ),
        );
        let id_param = |name: &str| json!([{"name": name, "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}]);
        let mut revoke = op(
            "users",
            "Revoke one of the current user's sessions",
            "users_me_revoke_session",
            None,
            responses(&[
                ("204", ok("Revoked", None)),
                ("404", error("No such session of this user")),
            ]),
            true,
        );
        revoke["parameters"] = id_param("id");
        add("/users/me/sessions/{id}", "delete", revoke);
        let page_params = json!([
            {"name": "limit", "in": "query",
                    "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
            {"name": "offset", "in": "query",
                    "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
        ]);
        let mut my_events = op(
            "users",
            "The current user's recent activity",
            "users_me_events",
            None,
            responses(&[(
                "200",
                ok("One page of events, newest first", Some("EventPage")),
            )]),
            true,
        );
        my_events["parameters"] = page_params.clone();
        add("/users/me/events", "get", my_events);
        let admin = |summary: &str, id: &str, body: Option<Value>, extra: &[(&str, Value)]| {
            let mut list = vec![
                ("403", error("Not a superuser")),
                ("404", error("No such user")),
            ];
            list.extend(extra.iter().cloned());
            op("users", summary, id, body, responses(&list), true)
        };
        let mut list_users = admin(
            "List users (superusers)",
            "users_list",
            None,
            &[("200", ok("One page of users", Some("UserPage")))],
        );
        list_users["parameters"] = json!([
            {"name": "limit", "in": "query",
                    "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
            {"name": "offset", "in": "query",
                    "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
            {"name": "email", "in": "query",
                    "required": false, "schema": {"type": "string"}, "description": "Case-insensitive substring of the e-mail address"},
            {"name": "role", "in": "query",
                    "required": false, "schema": {"type": "string"}, "description": "Only users holding this role (exact)"},
            {"name": "is_active", "in": "query", "required": false, "schema": {"type": "boolean"}},
            {"name": "is_verified", "in": "query", "required": false, "schema": {"type": "boolean"}},
            {"name": "is_superuser", "in": "query", "required": false, "schema": {"type": "boolean"}},
            {"name": "sort", "in": "query", "required": false,
                    "schema": {"type": "string", "enum": ["created_at", "-created_at", "email", "-email"]},
                    "description": "The order; by default creation (id) order. Ties are broken by id"},
        ]);
        add("/users", "get", list_users);
        for (method, operation) in [
            (
                "get",
                admin(
                    "Read a user (superusers)",
                    "users_read",
                    None,
                    &[("200", ok("The user", Some("UserRead")))],
                ),
            ),
            (
                "patch",
                admin(
                    "Update a user (superusers)",
                    "users_patch",
                    Some(json_body("AdminUserUpdate")),
                    &[
                        ("200", ok("The updated user", Some("UserRead"))),
                        ("400", error(update_errors)),
                    ],
                ),
            ),
            (
                "delete",
                admin(
                    "Delete a user (superusers)",
                    "users_delete",
                    None,
                    &[("204", ok("Deleted; every session revoked", None))],
                ),
            ),
        ] {
            let mut operation = operation;
            operation["parameters"] = id_param("id");
            add("/users/{id}", method, operation);
        }
        let mut their_events = admin(
            "A user's recent activity (superusers)",
            "users_events",
            None,
            &[(
                "200",
                ok("One page of events, newest first", Some("EventPage")),
            )],
        );
        let mut parameters = id_param("id");
        if let (Some(all), Some(page)) = (parameters.as_array_mut(), page_params.as_array()) {
            all.extend(page.iter().cloned());
        }
        their_events["parameters"] = parameters;
        add("/users/{id}/events", "get", their_events);
        let sessions_list = json!({"description": "The user's live sessions, oldest first", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/SessionRead"}}}}});
        for (method, operation) in [
            (
                "get",
                admin(
                    "A user's sessions (superusers)",
                    "users_sessions",
                    None,
                    &[("200", sessions_list)],
                ),
            ),
            (
                "delete",
                admin(
                    "Revoke every session of a user (superusers)",
                    "users_revoke_all_sessions",
                    None,
                    &[("204", ok("Every session of the user revoked", None))],
                ),
            ),
        ] {
            let mut operation = operation;
            operation["parameters"] = id_param("id");
            add("/users/{id}/sessions", method, operation);
        }
        let mut revoke_user_session = admin(
            "Revoke one session of a user (superusers)",
            "users_revoke_session",
            None,
            &[
                ("204", ok("Revoked", None)),
                (
                    "404",
                    error(
                        "No such user, or no such session of this user (another user's included)",
                    ),
                ),
            ],
        );
        revoke_user_session["parameters"] = json!([
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
            {"name": "sid", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
        ]);
        add("/users/{id}/sessions/{sid}", "delete", revoke_user_session);

        let cookie_name = self
            .config()
            .cookie_settings()
            .map_or("access_token", |settings| settings.access_name.as_str())
            .to_owned();
        let update_props = json!({
            "email": {"type": "string", "format": "email"},
            "username": {"type": "string"},
            "password": {"type": "string"},
            "current_password": {"type": "string", "description": "Required to change the password"},
        });
        let mut admin_props = update_props.clone();
        if let Some(map) = admin_props.as_object_mut() {
            map.remove("current_password");
            map.insert("is_active".into(), json!({"type": "boolean"}));
            map.insert("is_superuser".into(), json!({"type": "boolean"}));
            map.insert("is_verified".into(), json!({"type": "boolean"}));
            map.insert(
                "roles".into(),
                json!({"type": "array", "items": {"type": "string"}}),
            );
        }
        let document = json!({
            "openapi": "3.1.0",
            "info": {"title": "Accounts", "version": env!("CARGO_PKG_VERSION")},
            "paths": paths,
            "components": {
                "schemas": {
                    "UserRead": user_schema(profile),
                    "UserCreate": object(&["email", "password"], json!({
                        "email": {"type": "string", "format": "email"},
                        "password": {"type": "string", "minLength": 8, "maxLength": 128},
                        "username": {"type": ["string", "null"]},
                    }), profile),
                    "UserUpdate": object(&[], update_props, profile),
                    "AdminUserUpdate": object(&[], admin_props, profile),
                    "UserPage": {"type": "object", "required": ["items", "total"], "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/UserRead"}},
                        "total": {"type": "integer"},
                    }},
                    "LoginForm": {"type": "object", "required": ["username", "password"], "properties": {
                        "username": {"type": "string", "description": "The e-mail address or the username"},
                        "password": {"type": "string"},
                    }},
                    "BearerResponse": {"type": "object", "required": ["access_token", "token_type", "refresh_token", "expires_in"], "properties": {
                        "access_token": {"type": "string"},
                        "token_type": {"type": "string", "enum": ["bearer"]},
                        "refresh_token": {"type": "string"},
                        "expires_in": {"type": "integer"},
                    }},
                    "RefreshRequest": {"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}},
                    "EmailRequest": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}}},
                    "TokenRequest": {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}},
                    "ResetRequest": {"type": "object", "required": ["token", "password"], "properties": {"token": {"type": "string"}, "password": {"type": "string"}}},
                    "SessionRead": {"type": "object", "required": ["id", "created_at", "last_used_at", "expires_at", "current"], "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "last_used_at": {"type": "string", "format": "date-time"},
                        "expires_at": {"type": "string", "format": "date-time"},
                        "user_agent": {"type": ["string", "null"]},
                        "ip": {"type": ["string", "null"]},
                        "current": {"type": "boolean"},
                    }},
                    "EventRead": {"type": "object", "required": ["id", "at", "kind"], "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "at": {"type": "string", "format": "date-time"},
                        "kind": {"type": "string", "description": "What happened: registered, login_succeeded, login_failed, refreshed, refresh_token_reused, logged_out, session_revoked, password_changed..."},
                        "method": {"type": ["string", "null"], "description": "How: password, oauth, passkey, second_factor, import, admin, current_password"},
                        "detail": {"type": ["string", "null"], "description": "The reason, provider or changed field names (never a value)"},
                        "session_id": {"type": ["string", "null"], "format": "uuid"},
                        "ip": {"type": ["string", "null"]},
                        "user_agent": {"type": ["string", "null"]},
                    }},
                    "EventPage": {"type": "object", "required": ["items", "total"], "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/EventRead"}},
                        "total": {"type": "integer"},
                    }},
                    "ErrorModel": {"type": "object", "required": ["detail"], "properties": {"detail": {"oneOf": [
                        {"type": "string"},
                        {"type": "object", "required": ["code", "reason"], "properties": {"code": {"type": "string"}, "reason": {"type": "string"}}},
                    ]}}},
                    "HTTPValidationError": {"type": "object", "properties": {"detail": {"type": "array", "items": {
                        "type": "object", "required": ["type", "loc", "msg"], "properties": {
                            "type": {"type": "string"},
                            "loc": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
                            "msg": {"type": "string"},
                            "input": {"type": ["string", "number", "boolean", "object", "array", "null"]},
                        }
                    }}}},
                },
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                    "cookie": {"type": "apiKey", "in": "cookie", "name": cookie_name},
                },
            },
        });
        serde_json::from_value(document).unwrap_or_else(|err| {
            tracing::error!(error = %err, "the OpenAPI document did not build");
            OpenApi::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use auth_core::{
        JwtAlgorithm, JwtCodec, JwtKeys, MemorySessionStore, MemoryUserStore, NoProfile,
        UserManager,
    };

    use super::*;
    use crate::AuthConfig;

    #[test]
    fn every_route_is_documented_with_its_errors() {
        let keys = JwtKeys::hmac(JwtAlgorithm::HS256, &[7; 32]).unwrap();
        let manager = UserManager::<NoProfile>::builder(
            Arc::new(MemoryUserStore::new()),
            Arc::new(MemorySessionStore::new()),
            JwtCodec::new(keys, "t"),
        )
        .build();
        let auth = Auth::new(manager, AuthConfig::default());
        let doc = serde_json::to_value(auth.openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/auth/register",
            "/auth/jwt/login",
            "/auth/jwt/refresh",
            "/auth/jwt/logout",
            "/auth/cookie/login",
            "/auth/cookie/refresh",
            "/auth/cookie/logout",
            "/auth/request-verify-token",
            "/auth/verify",
            "/auth/forgot-password",
            "/auth/reset-password",
            "/users/me",
            "/users/me/sessions",
            "/users/me/sessions/{id}",
            "/users/me/events",
            "/users",
            "/users/{id}",
            "/users/{id}/events",
            "/users/{id}/sessions",
            "/users/{id}/sessions/{sid}",
        ] {
            assert!(paths.contains_key(path), "{path} missing");
        }
        assert!(doc["paths"]["/users/me"]["get"]["responses"]["401"].is_object());
        let revoke = &doc["paths"]["/users/{id}/sessions/{sid}"]["delete"];
        assert!(revoke["responses"]["403"].is_object());
        assert!(revoke["responses"]["404"].is_object());
        assert_eq!(revoke["parameters"].as_array().map(Vec::len), Some(2));
        let sort = &doc["paths"]["/users"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|param| param["name"] == "sort")
            .unwrap()["schema"]["enum"];
        assert_eq!(sort.as_array().map(Vec::len), Some(4));
        assert!(doc["paths"]["/auth/register"]["post"]["responses"]["422"].is_object());
        assert!(
            doc["components"]["schemas"]["UserRead"]["properties"]["hashed_password"].is_null()
        );
    }
}
