//! [`OAuthSettings`]: the providers and the token key, from configuration variables.

use crate::env::{Env, EnvError};

use super::keys::MIN_SECRET_LEN;
use super::provider::OAuthProvider;

/// The OAuth providers and the token key, as configuration variables name them:
///
/// | variable | meaning |
/// |---|---|
/// | `OAUTH_PROVIDERS` | the providers' names, comma-separated (`google,corp`): lower-case letters, digits, `-` and `_` |
/// | `OAUTH_{NAME}_CLIENT_ID`, `OAUTH_{NAME}_CLIENT_SECRET` | the app's credentials at provider `{name}` (required) |
/// | `OAUTH_{NAME}_ISSUER` | an OpenID Connect issuer URL (found by discovery), or a preset: `google`, `github`, `gitlab`, `microsoft`; default: the preset of the provider's name |
/// | `OAUTH_{NAME}_TENANT` | the tenant of the `microsoft` preset (required with it) |
/// | `OAUTH_{NAME}_SCOPES` | the scopes to ask for, comma-separated (default: the preset's, or `openid,email,profile`) |
/// | `OAUTH_{NAME}_ASSOCIATE_BY_EMAIL` | link an account whose verified address belongs to a user to that user (default `false`) |
/// | `OAUTH_TOKEN_KEY` | 32 or more bytes (its UTF-8 bytes are used): seals the providers' tokens and signs the flow's state |
///
/// `{NAME}` is the name in upper case, `-` written `_`.
///
/// ```
/// use auth_core::env::Env;
/// use auth_core::oauth::OAuthSettings;
///
/// let env = Env::from_map([
///     ("OAUTH_PROVIDERS", "google,corp"),
///     ("OAUTH_GOOGLE_CLIENT_ID", "g-id"),
///     ("OAUTH_GOOGLE_CLIENT_SECRET", "g-secret"),
///     ("OAUTH_CORP_CLIENT_ID", "c-id"),
///     ("OAUTH_CORP_CLIENT_SECRET", "c-secret"),
///     ("OAUTH_CORP_ISSUER", "https://sso.example.com"),
///     ("OAUTH_CORP_ASSOCIATE_BY_EMAIL", "true"),
/// ]);
/// let settings = OAuthSettings::from_lookup(&env)?;
/// assert_eq!(settings.providers.len(), 2);
/// assert!(settings.providers[1].associate_by_email());
/// assert!(settings.token_key.is_none());
/// # Ok::<(), auth_core::env::EnvError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// The configured providers, in the order named.
    pub providers: Vec<OAuthProvider>,
    /// `OAUTH_TOKEN_KEY`, when set (checked to be long enough).
    pub token_key: Option<String>,
}

impl OAuthSettings {
    /// Reads the variables of the table above from the process environment.
    ///
    /// # Errors
    /// As [`OAuthSettings::from_lookup`].
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(&Env::process())
    }

    /// Reads the variables of the table above through `env`.
    ///
    /// # Errors
    /// An [`EnvError`] naming the variable: a bad provider name, missing credentials, an
    /// issuer that is neither a URL nor a preset, a short `OAUTH_TOKEN_KEY`.
    pub fn from_lookup(env: &Env) -> Result<Self, EnvError> {
        let mut providers: Vec<OAuthProvider> = Vec::new();
        for name in env.list("OAUTH_PROVIDERS") {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
                || matches!(name.as_str(), "cookie" | "associate")
                || providers.iter().any(|known| known.name() == name)
            {
                return Err(EnvError::new(
                    "OAUTH_PROVIDERS",
                    format!("{name:?} is not a usable provider name"),
                    "Use distinct lower-case names of letters, digits, - and _ (not cookie or associate).",
                ));
            }
            providers.push(provider(env, &name)?);
        }
        let token_key = env.raw("OAUTH_TOKEN_KEY");
        if let Some(key) = &token_key
            && key.len() < MIN_SECRET_LEN
        {
            return Err(EnvError::new(
                "OAUTH_TOKEN_KEY",
                format!(
                    "is {} bytes; at least {MIN_SECRET_LEN} are needed",
                    key.len()
                ),
                "Generate one: openssl rand -base64 48",
            ));
        }
        Ok(Self {
            providers,
            token_key,
        })
    }
}

fn provider(env: &Env, name: &str) -> Result<OAuthProvider, EnvError> {
    let prefix = format!("OAUTH_{}", name.to_ascii_uppercase().replace('-', "_"));
    let var = |suffix: &str| format!("{prefix}_{suffix}");
    let required = |suffix: &str| {
        let variable = var(suffix);
        env.raw(&variable).ok_or_else(|| {
            EnvError::new(
                &variable,
                format!("is missing for provider {name:?}"),
                "Set it to the value the provider's console shows for this app.",
            )
        })
    };
    let id = required("CLIENT_ID")?;
    let secret = required("CLIENT_SECRET")?;
    let issuer_var = var("ISSUER");
    let issuer = env.string(&issuer_var);
    let kind = issuer.as_deref().unwrap_or(name);
    let provider = if kind.starts_with("https://") || kind.starts_with("http://") {
        OAuthProvider::openid(name, kind, id, secret)
    } else {
        match kind {
            "google" => OAuthProvider::google(id, secret),
            "github" => OAuthProvider::github(id, secret),
            "gitlab" => OAuthProvider::gitlab(id, secret),
            "microsoft" => {
                let tenant = required("TENANT")?;
                OAuthProvider::microsoft(&tenant, id, secret)
            }
            other => {
                return Err(EnvError::new(
                    &issuer_var,
                    format!("{other:?} is neither an issuer URL nor a preset"),
                    "Set an https:// issuer URL, or one of google, github, gitlab, microsoft.",
                ));
            }
        }
        .named(name)
    };
    let scopes = env.list(&var("SCOPES"));
    let provider = if scopes.is_empty() {
        provider
    } else {
        provider.with_scopes(scopes)
    };
    Ok(provider.with_associate_by_email(env.flag(&var("ASSOCIATE_BY_EMAIL"), false)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::ProviderKind;

    #[test]
    fn presets_issuers_and_errors_name_their_variable() {
        let env = Env::from_map([
            ("OAUTH_PROVIDERS", "github,ms,corp-sso"),
            ("OAUTH_GITHUB_CLIENT_ID", "a"),
            ("OAUTH_GITHUB_CLIENT_SECRET", "b"),
            ("OAUTH_MS_CLIENT_ID", "a"),
            ("OAUTH_MS_CLIENT_SECRET", "b"),
            ("OAUTH_MS_ISSUER", "microsoft"),
            ("OAUTH_MS_TENANT", "contoso"),
            ("OAUTH_CORP_SSO_CLIENT_ID", "a"),
            ("OAUTH_CORP_SSO_CLIENT_SECRET", "b"),
            ("OAUTH_CORP_SSO_ISSUER", "http://127.0.0.1:9000"),
        ]);
        let settings = OAuthSettings::from_lookup(&env).unwrap();
        let names: Vec<&str> = settings.providers.iter().map(OAuthProvider::name).collect();
        assert_eq!(names, ["github", "ms", "corp-sso"]);
        assert!(matches!(
            settings.providers[0].kind(),
            ProviderKind::GitHub { .. }
        ));
        assert_eq!(
            settings.providers[1].kind(),
            &ProviderKind::OpenId {
                issuer: "https://login.microsoftonline.com/contoso/v2.0".to_owned()
            }
        );

        for (vars, variable) in [
            (vec![("OAUTH_PROVIDERS", "Bad Name")], "OAUTH_PROVIDERS"),
            (vec![("OAUTH_PROVIDERS", "cookie")], "OAUTH_PROVIDERS"),
            (vec![("OAUTH_PROVIDERS", "corp")], "OAUTH_CORP_CLIENT_ID"),
            (
                vec![
                    ("OAUTH_PROVIDERS", "corp"),
                    ("OAUTH_CORP_CLIENT_ID", "a"),
                    ("OAUTH_CORP_CLIENT_SECRET", "b"),
                ],
                "OAUTH_CORP_ISSUER",
            ),
            (vec![("OAUTH_TOKEN_KEY", "short")], "OAUTH_TOKEN_KEY"),
        ] {
            let err = OAuthSettings::from_lookup(&Env::from_map(vars)).unwrap_err();
            assert_eq!(err.variable(), variable, "{err}");
        }
    }
}
