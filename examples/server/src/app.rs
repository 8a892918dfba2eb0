//! Assembling the server: stores, manager, routers, middleware.

use std::sync::Arc;
use std::time::Duration;

use auth_axum::metrics::HttpMetricsLayer;
use auth_axum::{Auth, AuthLayer, BodyLimitLayer, RequestIdLayer};
use auth_core::oauth::OAuthClient;
use auth_core::{Argon2Hasher, JwtStrategy, ManagerConfig, UserManager};
use axum::Router;
use axum::http::{HeaderName, HeaderValue, Request, header};
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::settings::Settings;
use crate::stores::Backends;
use crate::{Names, articles, docs, health, keys, mail, metrics, pages};

/// Why the server could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A store could not be reached or set up.
    #[error("storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The JWT keys could not be loaded.
    #[error("JWT keys: {0}")]
    Keys(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The mailer settings are wrong.
    #[error("mail: {0}")]
    Mail(#[source] auth_core::SmtpError),
}

/// The assembled server: its router and the manager behind it.
pub struct App {
    /// Every route, with the middleware.
    pub router: Router,
    /// The manager (for the command-line subcommands).
    pub manager: UserManager<Names>,
}

/// The manager over the configured stores, keys and mailer.
///
/// # Errors
/// When a store, the keys or the mailer cannot be set up.
pub async fn manager(settings: &Settings) -> Result<(UserManager<Names>, Backends), AppError> {
    let backends = Backends::connect(settings)
        .await
        .map_err(AppError::Storage)?;
    let codec = keys::codec(settings).map_err(AppError::Keys)?;
    let config = settings.manager.clone();
    // The default strategy, with the configured cache of verified tokens.
    let strategy = JwtStrategy::new(codec.clone(), config.access_lifetime)
        .with_verified_cache(settings.jwt.verified_token_cache);
    let manager = UserManager::builder(backends.users.clone(), backends.sessions.clone(), codec)
        .with_token_strategy(Arc::new(strategy))
        .with_oauth_accounts(backends.oauth_accounts.clone())
        .with_mfa(
            backends.mfa.clone(),
            keys::mfa_keys(settings).map_err(AppError::Keys)?,
        )
        .with_hasher(Arc::new(hasher(&config, settings.hash_niceness)))
        .with_rate_limiter(backends.limiter.clone())
        .with_audit_log(backends.audit.clone())
        .with_mailer(mail::mailer(settings).map_err(AppError::Mail)?)
        .with_config(config)
        .build();
    Ok((manager, backends))
}

/// Argon2id at its defaults, running as many hashes at once as the manager admits, at the
/// configured niceness (the hasher's default when unset).
fn hasher(config: &ManagerConfig, niceness: Option<u8>) -> Argon2Hasher {
    let hasher = match &config.hash_admission {
        Some(admission) => Argon2Hasher::default().with_max_concurrent(admission.slots),
        None => Argon2Hasher::default(),
    };
    match niceness {
        Some(niceness) => hasher.with_niceness(niceness),
        None => hasher,
    }
}

/// The whole server.
///
/// # Errors
/// When a store, the keys or the mailer cannot be set up.
pub async fn build(settings: &Settings) -> Result<App, AppError> {
    let (manager, backends) = manager(settings).await?;
    let auth_config = settings.auth.clone();
    let mut auth = Auth::new(manager.clone(), auth_config);
    if !settings.oauth.providers.is_empty() {
        let keys = keys::oauth_key(settings).map_err(AppError::Keys)?;
        let client = OAuthClient::new(
            settings.oauth.providers.clone(),
            keys,
            backends.limiter.clone(),
        )
        .map_err(|err| AppError::Keys(err.into()))?;
        tracing::info!(providers = ?settings.oauth.providers.iter().map(|p| p.name()).collect::<Vec<_>>(), "sign-in with providers enabled");
        auth = auth.with_oauth(client);
    }
    let document = docs::document(auth.openapi_with_profile::<Names>());
    let body_limit = auth.config().body_limit;
    let routes = Router::new()
        .merge(auth.routes())
        .merge(pages::routes(auth.clone()))
        .merge(articles::routes(auth.core(), articles::Articles::default()))
        .merge(health::routes(backends.probes.clone()))
        .merge(docs::routes(document))
        // Unknown paths: the contract's JSON 404 for everyone (the layer below answers
        // anonymous requests for them with the same).
        .fallback(auth_axum::not_found);
    // The auth layer goes on the routes (through `Router::layer`): it tells a page from an
    // unknown path by the matched route, which only exists inside the routing.
    let routes = routes.layer(
        AuthLayer::new(auth.clone())
            .public([
                "/",
                "/.well-known/*",
                "/health",
                "/docs/*",
                "/blog",
                "/openapi.json",
                "/login",
                "/register",
                "/logout",
                "/forgot-password",
                "/reset-password",
                "/verify",
                "/articles/*",
                "/auth/*",
                "/users/*",
            ])
            .login_page("/login")
            .redirect_signed_in(["/login", "/register"], "/account"),
    );
    let routes = if settings.metrics.addr.is_some() {
        metrics::spawn_session_sampler(backends.sessions.clone(), settings.metrics.sessions_every);
        // Inside the routing, where the matched route (the label) is known, around the auth
        // layer. Answers given by the layers outside the routing (the body limit's 413s) are
        // not counted here.
        routes.layer(HttpMetricsLayer::new())
    } else {
        routes
    };
    // The other middleware wraps the router once, outermost first, rather than through
    // `Router::layer`, which wraps every route in each layer: boxed and cloned again per layer
    // on every request.
    let service = ServiceBuilder::new()
        // A client's id only when harmless in a log line; otherwise a new UUID. Echoed on
        // the response.
        .layer(RequestIdLayer::new(HeaderName::from_static("x-request-id")))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                // The id is one the request id layer checked or made; the path is printed
                // with `?` (escaped), as is everything else a client sends. A span at `info`
                // would cost every request a seventh of its work (registering and formatting
                // it) to decorate the few lines logged inside one, so it is at `debug` under
                // its own target: `RUST_LOG=info,request=debug` puts the request's id, method
                // and path on every line logged while it runs.
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::debug_span!(target: "request", "request", id = %id, method = %request.method(), path = ?request.uri().path())
            }),
        )
        // A declared body over the limit is refused before it is read, on every route.
        .layer(BodyLimitLayer::new(body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .service(routes);
    let router = Router::new().fallback_service(service);
    backends.spawn_sweeper(settings.session_sweep_interval);
    backends.spawn_audit_pruner(manager.config().audit_retention, Duration::from_secs(3600));
    Ok(App { router, manager })
}
