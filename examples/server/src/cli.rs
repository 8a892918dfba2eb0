//! The command line: `serve` (the default), `create-user`, `migrate`,
//! `import-fastapi-users`, and the administration subcommands of [`crate::admin_cli`].

use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use auth_core::{CreateOptions, Email, NewUser, Password, Roles, Username};

use crate::admin_cli::{self, AdminCommand};
use crate::settings::Settings;
use crate::{Names, app, keys, stores};

const USAGE: &str = "usage:
  server [serve]                     run the server (HOST, PORT, ... from the environment and .env)
  server migrate                     run pending migrations and exit
  server create-user --email E [--username U] [--superuser] [--verified] [--role R]...
                                     create a user; the password is read from standard input
  server import-fastapi-users --from URL
                                     import the users (with their password hashes) and linked
                                     provider accounts of a fastapi-users 15 database, given by
                                     its SQLAlchemy URL (sqlite:///app.db, postgresql://...);
                                     users already present are skipped
administration (USER is an id or an e-mail address; changes go through the same rules as the
HTTP routes: a change of roles or flags signs the user out everywhere):
  server list-users [--email E] [--role R] [--active B] [--verified B] [--superuser B]
                    [--sort created_at|-created_at|email|-email] [--limit N] [--offset N] [--json]
                                     list users (B is true or false) as a table, or as JSON
  server show-user USER [--json]     a user with roles, sessions and second factors
  server set-roles USER [ROLE]...    replace the roles (none: clear them)
  server add-role USER ROLE...       add roles
  server remove-role USER ROLE...    remove roles
  server set-flags USER [--active B] [--verified B] [--superuser B]
                                     set flags
  server deactivate USER             revoke every session, then deactivate
  server revoke-sessions USER [SESSION]
                                     revoke one session of the user, or all of them
  server reset-second-factors USER   remove TOTP, passkeys and recovery codes; revokes every
                                     session and mails the user a notice";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Run the migrations.
    Migrate,
    /// Create a user.
    CreateUser {
        /// The e-mail address.
        email: String,
        /// An optional username.
        username: Option<String>,
        /// Make a superuser.
        superuser: bool,
        /// Mark verified.
        verified: bool,
        /// Extra roles.
        roles: Vec<String>,
    },
    /// Import the users of a fastapi-users database.
    ImportFastapiUsers {
        /// Its SQLAlchemy URL.
        from: String,
    },
    /// An administration subcommand.
    Admin(AdminCommand),
}

/// Parses the arguments after the program name.
///
/// # Errors
/// A message with the usage.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut args = args.iter();
    match args.next().map(String::as_str) {
        None | Some("serve") => Ok(Command::Serve),
        Some("migrate") => Ok(Command::Migrate),
        Some("create-user") => {
            let (mut email, mut username, mut superuser, mut verified, mut roles) =
                (None, None, false, false, Vec::new());
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--email" => email = args.next().cloned(),
                    "--username" => username = args.next().cloned(),
                    "--superuser" => superuser = true,
                    "--verified" => verified = true,
                    "--role" => roles.extend(args.next().cloned()),
                    other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
                }
            }
            let email = email.ok_or_else(|| format!("--email is required\n{USAGE}"))?;
            Ok(Command::CreateUser {
                email,
                username,
                superuser,
                verified,
                roles,
            })
        }
        Some("import-fastapi-users") => {
            let mut from = None;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--from" => from = args.next().cloned(),
                    other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
                }
            }
            let from = from.ok_or_else(|| format!("--from is required\n{USAGE}"))?;
            Ok(Command::ImportFastapiUsers { from })
        }
        Some("-h" | "--help" | "help") => Err(USAGE.to_owned()),
        Some(other) => match admin_cli::parse(other, args.as_slice()) {
            Some(parsed) => parsed
                .map(Command::Admin)
                .map_err(|message| format!("{message}\n{USAGE}")),
            None => Err(format!("unknown command {other:?}\n{USAGE}")),
        },
    }
}

/// Runs the command line; every subcommand runs pending migrations first.
pub async fn main(args: Vec<String>) -> ExitCode {
    let command = match parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    if matches!(command, Command::Admin(_)) {
        // Standard output is the command's answer (`--json` included); logs go aside.
        crate::init_tracing_on_stderr(settings.log_json, settings.log_filter.as_deref());
    } else {
        crate::init_tracing(settings.log_json, settings.log_filter.as_deref());
    }
    let result = match command {
        Command::Serve => serve(&settings).await,
        Command::Migrate => stores::Backends::connect(&settings)
            .await
            .map(|_| {
                println!("migrations are up to date");
            })
            .map_err(|err| describe(&*err)),
        Command::CreateUser {
            email,
            username,
            superuser,
            verified,
            roles,
        } => {
            create_user(
                &settings,
                &email,
                username.as_deref(),
                superuser,
                verified,
                roles,
            )
            .await
        }
        Command::ImportFastapiUsers { from } => import_fastapi_users(&settings, &from).await,
        Command::Admin(command) => administer(&settings, command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: &Settings) -> Result<(), String> {
    // Bind first, so that with PORT=0 the mail links carry the port actually bound.
    let addr = SocketAddr::new(settings.host, settings.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|err| format!("cannot listen on {addr}: {err}"))?;
    let local = listener.local_addr().map_err(|err| err.to_string())?;
    let settings = settings.clone().with_bound_address(local);
    // Before the app, so that nothing it records is lost; announced before "listening on".
    if let Some(metrics) = crate::metrics::start(&settings.metrics).await? {
        tracing::info!(address = %metrics, "serving metrics");
        println!("metrics on http://{metrics}/metrics");
    }
    let app = app::build(&settings).await.map_err(|err| describe(&err))?;
    tracing::info!(address = %local, "listening");
    println!("listening on http://{local}");
    // Serves with the client's address for the per-IP throttles, and cuts off slow clients.
    let config = settings.serve;
    auth_axum::serve(listener, app.router, config, shutdown())
        .await
        .map_err(|err| err.to_string())?;
    // Mail leaves requests through a queue: deliver what is queued before exiting, but do not
    // hang on a dead mail server.
    if tokio::time::timeout(Duration::from_secs(10), app.manager.flush_mail())
        .await
        .is_err()
    {
        tracing::warn!("mail still queued at shutdown was dropped");
    }
    if tokio::time::timeout(Duration::from_secs(10), app.manager.flush_audit())
        .await
        .is_err()
    {
        tracing::warn!("audit events still queued at shutdown were dropped");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Imports a fastapi-users database and prints what happened; any failed row is an error.
async fn import_fastapi_users(settings: &Settings, from: &str) -> Result<(), String> {
    let source = crate::import::Source::parse(from)?;
    let keys = keys::oauth_key(settings).map_err(|err| describe(&*err))?;
    let (manager, _) = app::manager(settings).await.map_err(|err| describe(&err))?;
    let report = crate::import::import(&manager, &keys, &source).await?;
    let _ = tokio::time::timeout(Duration::from_secs(10), manager.flush_audit()).await;
    for (id, reason) in &report.failed {
        eprintln!("failed user {id}: {reason}");
    }
    for (account, reason) in &report.links_failed {
        eprintln!("failed provider account {account}: {reason}");
    }
    println!(
        "users: {} imported, {} skipped (already present), {} failed",
        report.imported,
        report.skipped,
        report.failed.len()
    );
    println!(
        "provider accounts: {} linked, {} skipped (already linked), {} failed",
        report.linked,
        report.links_skipped,
        report.links_failed.len()
    );
    if report.has_failures() {
        return Err("some rows were not imported (see above)".into());
    }
    Ok(())
}

/// Runs an administration subcommand, then delivers the mail it queued (a notice of reset
/// second factors), without hanging on a dead mail server.
async fn administer(settings: &Settings, command: AdminCommand) -> Result<(), String> {
    let (manager, _) = app::manager(settings).await.map_err(|err| describe(&err))?;
    let result = admin_cli::run(&manager, command).await;
    if tokio::time::timeout(Duration::from_secs(10), manager.flush_mail())
        .await
        .is_err()
    {
        eprintln!("warning: mail still queued was dropped");
    }
    result
}

/// An error as one sentence for the terminal: its message, then each cause that the message
/// does not already include (never the `Debug` form).
pub(crate) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(source) = cause {
        let text = source.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = source.source();
    }
    message
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn create_user(
    settings: &Settings,
    email: &str,
    username: Option<&str>,
    superuser: bool,
    verified: bool,
    roles: Vec<String>,
) -> Result<(), String> {
    let email = Email::parse(email).map_err(|err| err.to_string())?;
    let username = username
        .map(Username::parse)
        .transpose()
        .map_err(|err| err.to_string())?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .map_err(|err| format!("reading the password from standard input: {err}"))?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err("no password on standard input".into());
    }
    let (manager, _) = app::manager(settings).await.map_err(|err| describe(&err))?;
    let user = manager
        .create_user(
            NewUser {
                email,
                password: Password::new(password),
                username,
                profile: Names::default(),
            },
            CreateOptions {
                superuser,
                verified,
                roles: Roles::from_iter(roles),
            },
        )
        .await
        .map_err(|err| match err {
            auth_core::AuthError::InvalidPassword(reason) => reason.reason(),
            other => describe(&other),
        })?;
    // The audit trail is written off the request path: keep the new user's first event.
    let _ = tokio::time::timeout(Duration::from_secs(10), manager.flush_audit()).await;
    println!("created user {} ({})", user.id, user.email);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn errors_are_described_with_their_causes_once() {
        let io = std::io::Error::other("connection refused");
        let err = crate::app::AppError::Storage(Box::new(io));
        assert_eq!(describe(&err), "storage: connection refused");
        let err = auth_core::AuthError::Store(auth_core::StoreError::unavailable(
            std::io::Error::other("connection refused"),
        ));
        assert_eq!(
            describe(&err),
            "store error: store unavailable: connection refused"
        );
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse(&args(&[])).unwrap(), Command::Serve);
        assert_eq!(parse(&args(&["migrate"])).unwrap(), Command::Migrate);
        assert_eq!(
            parse(&args(&[
                "create-user",
                "--email",
                "a@b.co",
                "--superuser",
                "--role",
                "author",
                "--role",
                "reader"
            ]))
            .unwrap(),
            Command::CreateUser {
                email: "a@b.co".into(),
                username: None,
                superuser: true,
                verified: false,
                roles: vec!["author".into(), "reader".into()],
            }
        );
        assert!(parse(&args(&["create-user"])).is_err());
        assert_eq!(
            parse(&args(&[
                "import-fastapi-users",
                "--from",
                "sqlite:///app.db"
            ]))
            .unwrap(),
            Command::ImportFastapiUsers {
                from: "sqlite:///app.db".into()
            }
        );
        assert!(parse(&args(&["import-fastapi-users"])).is_err());
        assert!(parse(&args(&["dance"])).is_err());
        assert_eq!(
            parse(&args(&["deactivate", "a@b.co"])).unwrap(),
            Command::Admin(AdminCommand::Deactivate {
                user: "a@b.co".into()
            })
        );
        let error = parse(&args(&["set-flags", "a@b.co"])).unwrap_err();
        assert!(error.contains("--active"), "{error}");
        assert!(error.ends_with(USAGE), "the usage follows the error");
        for command in [
            "list-users",
            "show-user",
            "set-roles",
            "add-role",
            "remove-role",
            "set-flags",
            "deactivate",
            "revoke-sessions",
            "reset-second-factors",
        ] {
            assert!(
                USAGE.contains(&format!("server {command} ")),
                "{command} is in the usage"
            );
        }
    }
}
