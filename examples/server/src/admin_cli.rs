//! The administration subcommands of the command line: `list-users`, `show-user`,
//! `set-roles`, `add-role`, `remove-role`, `set-flags`, `deactivate`, `revoke-sessions` and
//! `reset-second-factors`.
//!
//! Every change goes through [`UserManager`], as the HTTP routes' do: its rules apply (a
//! change of roles or flags ends the user's sessions), its hooks fire, and the stores'
//! change feeds tell a running server's caches. Nothing writes rows directly.

use auth_core::{
    AdminUpdate, AuthError, Email, Roles, Session, User, UserId, UserManager, UserQuery, UserSort,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Names;

/// An administration subcommand; a user is named by id or e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// One page of users, as a table or as `GET /users` answers.
    ListUsers {
        /// Filters, order and page.
        query: UserQuery,
        /// JSON instead of a table.
        json: bool,
    },
    /// One user with their roles, sessions and second factors.
    ShowUser {
        /// The user.
        user: String,
        /// JSON instead of text.
        json: bool,
    },
    /// Replaces the user's roles.
    SetRoles {
        /// The user.
        user: String,
        /// The new roles (none clears them).
        roles: Vec<String>,
    },
    /// Adds roles.
    AddRole {
        /// The user.
        user: String,
        /// The roles to add.
        roles: Vec<String>,
    },
    /// Removes roles.
    RemoveRole {
        /// The user.
        user: String,
        /// The roles to remove.
        roles: Vec<String>,
    },
    /// Sets the flags given.
    SetFlags {
        /// The user.
        user: String,
        /// `is_active`.
        active: Option<bool>,
        /// `is_verified`.
        verified: Option<bool>,
        /// `is_superuser`.
        superuser: Option<bool>,
    },
    /// Revokes every session, then deactivates.
    Deactivate {
        /// The user.
        user: String,
    },
    /// Revokes one session of the user, or all of them.
    RevokeSessions {
        /// The user.
        user: String,
        /// The session's id; all of them when absent.
        session: Option<String>,
    },
    /// Removes the TOTP factor, passkeys and recovery codes, ends every session and tells the
    /// user.
    ResetSecondFactors {
        /// The user.
        user: String,
    },
}

/// Parses the administration subcommand `name` with its arguments `rest`; `None` when `name`
/// is not one.
///
/// # Errors
/// A message saying what is wrong (the caller adds the usage).
pub fn parse(name: &str, rest: &[String]) -> Option<Result<AdminCommand, String>> {
    let parsed = match name {
        "list-users" => list_users(rest),
        "show-user" => {
            let json = rest.iter().any(|arg| arg == "--json");
            let positional: Vec<String> = rest
                .iter()
                .filter(|arg| *arg != "--json")
                .cloned()
                .collect();
            one_user(&positional, name).map(|user| AdminCommand::ShowUser { user, json })
        }
        "set-roles" | "add-role" | "remove-role" => user_and_roles(name, rest),
        "set-flags" => set_flags(rest),
        "deactivate" => one_user(rest, name).map(|user| AdminCommand::Deactivate { user }),
        "reset-second-factors" => {
            one_user(rest, name).map(|user| AdminCommand::ResetSecondFactors { user })
        }
        "revoke-sessions" => match rest {
            [user] => Ok(AdminCommand::RevokeSessions {
                user: user.clone(),
                session: None,
            }),
            [user, session] => Ok(AdminCommand::RevokeSessions {
                user: user.clone(),
                session: Some(session.clone()),
            }),
            _ => Err("revoke-sessions takes a user and, optionally, one session id".to_owned()),
        },
        _ => return None,
    };
    Some(parsed)
}

fn one_user(rest: &[String], name: &str) -> Result<String, String> {
    match rest {
        [user] if !user.starts_with("--") => Ok(user.clone()),
        _ => Err(format!(
            "{name} takes exactly one user (an id or an e-mail address)"
        )),
    }
}

fn user_and_roles(name: &str, rest: &[String]) -> Result<AdminCommand, String> {
    let Some((user, roles)) = rest.split_first() else {
        return Err(format!("{name} takes a user, then roles"));
    };
    if let Some(bad) = roles
        .iter()
        .find(|role| role.trim().is_empty() || role.starts_with("--"))
    {
        return Err(format!("{bad:?} is not a role name"));
    }
    let (user, roles) = (user.clone(), roles.to_vec());
    match name {
        "set-roles" => Ok(AdminCommand::SetRoles { user, roles }),
        _ if roles.is_empty() => Err(format!("{name} takes at least one role")),
        "add-role" => Ok(AdminCommand::AddRole { user, roles }),
        _ => Ok(AdminCommand::RemoveRole { user, roles }),
    }
}

fn flag(option: &str, value: Option<&String>) -> Result<bool, String> {
    match value.map(String::as_str) {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(format!("{option} takes true or false, not {other:?}")),
        None => Err(format!("{option} takes true or false")),
    }
}

fn set_flags(rest: &[String]) -> Result<AdminCommand, String> {
    let Some((user, options)) = rest.split_first() else {
        return Err("set-flags takes a user, then --active, --verified or --superuser".to_owned());
    };
    let (mut active, mut verified, mut superuser) = (None, None, None);
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let slot = match option.as_str() {
            "--active" => &mut active,
            "--verified" => &mut verified,
            "--superuser" => &mut superuser,
            other => return Err(format!("unknown argument {other:?}")),
        };
        *slot = Some(flag(option, options.next())?);
    }
    if active.is_none() && verified.is_none() && superuser.is_none() {
        return Err("set-flags needs --active, --verified or --superuser".to_owned());
    }
    Ok(AdminCommand::SetFlags {
        user: user.clone(),
        active,
        verified,
        superuser,
    })
}

fn list_users(rest: &[String]) -> Result<AdminCommand, String> {
    let mut query = UserQuery::default();
    let mut json = false;
    let mut args = rest.iter();
    while let Some(option) = args.next() {
        if option == "--json" {
            json = true;
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{option} takes a value"))?;
        match option.as_str() {
            "--email" => query.email_contains = Some(value.clone()),
            "--role" => query.role = Some(value.clone()),
            "--active" => query.is_active = Some(flag(option, Some(value))?),
            "--verified" => query.is_verified = Some(flag(option, Some(value))?),
            "--superuser" => query.is_superuser = Some(flag(option, Some(value))?),
            "--sort" => {
                query.sort = UserSort::parse(value).ok_or_else(|| {
                    format!("--sort takes created_at, -created_at, email or -email, not {value:?}")
                })?;
            }
            "--limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|limit| *limit > 0)
                    .ok_or_else(|| format!("--limit takes a positive number, not {value:?}"))?;
            }
            "--offset" => {
                query.offset = value
                    .parse()
                    .map_err(|_| format!("--offset takes a number, not {value:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(AdminCommand::ListUsers { query, json })
}

/// Runs `command` with `manager`; what it did, on standard output.
///
/// # Errors
/// A message for the terminal: an unknown user or session, or what failed.
pub async fn run(manager: &UserManager<Names>, command: AdminCommand) -> Result<(), String> {
    match command {
        AdminCommand::ListUsers { query, json } => list(manager, &query, json).await,
        AdminCommand::ShowUser { user, json } => show(manager, &user, json).await,
        AdminCommand::SetRoles { user, roles } => {
            let user = find(manager, &user).await?;
            set_roles(manager, &user, Roles::from_iter(roles)).await
        }
        AdminCommand::AddRole { user, roles } => {
            let user = find(manager, &user).await?;
            let mut all = user.roles.clone();
            for role in roles {
                all.insert(role);
            }
            set_roles(manager, &user, all).await
        }
        AdminCommand::RemoveRole { user, roles } => {
            let user = find(manager, &user).await?;
            let mut all = user.roles.clone();
            for role in &roles {
                all.remove(role);
            }
            set_roles(manager, &user, all).await
        }
        AdminCommand::SetFlags {
            user,
            active,
            verified,
            superuser,
        } => {
            let user = find(manager, &user).await?;
            let update = AdminUpdate {
                is_active: active,
                is_verified: verified,
                is_superuser: superuser,
                ..AdminUpdate::default()
            };
            let updated = manager
                .update_user(user.id, update)
                .await
                .map_err(|err| failed(&err))?;
            println!(
                "{}: active {}, verified {}, superuser {}",
                cell(updated.email.as_str()),
                yes_no(updated.is_active),
                yes_no(updated.is_verified),
                yes_no(updated.is_superuser)
            );
            Ok(())
        }
        AdminCommand::Deactivate { user } => {
            let user = find(manager, &user).await?;
            // The sessions first, each reported to the hooks as an administrator's revocation;
            // the deactivation then moves the session mark again, so a login racing this
            // command keeps nothing either.
            let revoked = manager
                .admin_revoke_sessions(user.id)
                .await
                .map_err(|err| failed(&err))?;
            let update = AdminUpdate {
                is_active: Some(false),
                ..AdminUpdate::default()
            };
            manager
                .update_user(user.id, update)
                .await
                .map_err(|err| failed(&err))?;
            println!(
                "deactivated {} and revoked {revoked} session(s)",
                cell(user.email.as_str())
            );
            Ok(())
        }
        AdminCommand::RevokeSessions { user, session } => {
            let user = find(manager, &user).await?;
            match session {
                Some(raw) => {
                    let id = raw
                        .parse()
                        .map_err(|_| format!("{raw:?} is not a session id"))?;
                    manager
                        .admin_revoke_session(user.id, id)
                        .await
                        .map_err(|err| match err {
                            AuthError::SessionNotFound => {
                                format!("{} has no session {raw:?}", cell(user.email.as_str()))
                            }
                            other => failed(&other),
                        })?;
                    println!("revoked session {id} of {}", cell(user.email.as_str()));
                }
                None => {
                    let revoked = manager
                        .admin_revoke_sessions(user.id)
                        .await
                        .map_err(|err| failed(&err))?;
                    println!(
                        "revoked {revoked} session(s) of {}",
                        cell(user.email.as_str())
                    );
                }
            }
            Ok(())
        }
        AdminCommand::ResetSecondFactors { user } => {
            let user = find(manager, &user).await?;
            let before = factors(manager, user.id).await?;
            manager
                .mfa_reset(user.id)
                .await
                .map_err(|err| failed(&err))?;
            println!(
                "removed {} second factor(s) and {} recovery code(s) of {}; every session \
                 was revoked and the user was told",
                before.count(),
                before.recovery_codes_left,
                cell(user.email.as_str())
            );
            Ok(())
        }
    }
}

/// A manager error as one line.
fn failed(err: &AuthError) -> String {
    crate::cli::describe(err)
}

/// The user named by an id or an e-mail address.
async fn find(manager: &UserManager<Names>, who: &str) -> Result<User<Names>, String> {
    let missing = || format!("no user {who:?}");
    if let Ok(id) = who.parse::<UserId>() {
        return match manager.get_user(id).await {
            Ok(user) => Ok(user),
            Err(AuthError::UserNotFound) => Err(missing()),
            Err(err) => Err(failed(&err)),
        };
    }
    let email = Email::parse(who)
        .map_err(|_| format!("{who:?} is neither a user id nor an e-mail address"))?;
    manager
        .users()
        .find_by_email(&email)
        .await
        .map_err(|err| crate::cli::describe(&err))?
        .ok_or_else(missing)
}

async fn set_roles(
    manager: &UserManager<Names>,
    user: &User<Names>,
    roles: Roles,
) -> Result<(), String> {
    let update = AdminUpdate {
        roles: Some(roles),
        ..AdminUpdate::default()
    };
    let updated = manager
        .update_user(user.id, update)
        .await
        .map_err(|err| failed(&err))?;
    println!(
        "roles of {}: {}",
        cell(updated.email.as_str()),
        roles_text(&updated.roles)
    );
    Ok(())
}

async fn list(manager: &UserManager<Names>, query: &UserQuery, json: bool) -> Result<(), String> {
    let page = manager
        .list_users(query)
        .await
        .map_err(|err| failed(&err))?;
    if json {
        let body = json!({ "items": page.items, "total": page.total });
        println!(
            "{}",
            serde_json::to_string_pretty(&body).map_err(|err| err.to_string())?
        );
        return Ok(());
    }
    let mut rows = vec![[
        "ID".to_owned(),
        "EMAIL".to_owned(),
        "ACTIVE".to_owned(),
        "VERIFIED".to_owned(),
        "SUPERUSER".to_owned(),
        "ROLES".to_owned(),
        "CREATED".to_owned(),
    ]];
    rows.extend(page.items.iter().map(|user| {
        [
            user.id.to_string(),
            cell(user.email.as_str()),
            yes_no(user.is_active).to_owned(),
            yes_no(user.is_verified).to_owned(),
            yes_no(user.is_superuser).to_owned(),
            roles_text(&user.roles),
            timestamp(user.created_at),
        ]
    }));
    print!("{}", table(&rows));
    let from = if page.items.is_empty() {
        0
    } else {
        query.offset + 1
    };
    println!(
        "users {from} to {} of {}",
        query.offset + page.items.len() as u64,
        page.total
    );
    Ok(())
}

/// A user's second factors.
struct Factors {
    totp: bool,
    passkeys: usize,
    recovery_codes_left: u64,
}

impl Factors {
    /// How many second factors: the TOTP factor counts one, each passkey one.
    fn count(&self) -> usize {
        usize::from(self.totp) + self.passkeys
    }
}

async fn factors(manager: &UserManager<Names>, id: UserId) -> Result<Factors, String> {
    Ok(Factors {
        totp: manager.totp_enabled(id).await.map_err(|err| failed(&err))?,
        passkeys: manager
            .passkeys(id)
            .await
            .map_err(|err| failed(&err))?
            .len(),
        recovery_codes_left: manager
            .recovery_codes_left(id)
            .await
            .map_err(|err| failed(&err))?,
    })
}

async fn show(manager: &UserManager<Names>, who: &str, json: bool) -> Result<(), String> {
    let user = find(manager, who).await?;
    let sessions = manager
        .admin_list_sessions(user.id)
        .await
        .map_err(|err| failed(&err))?;
    let factors = factors(manager, user.id).await?;
    if json {
        let body = json!({
            "user": user,
            "sessions": sessions.iter().map(session_json).collect::<Vec<_>>(),
            "second_factors": {
                "count": factors.count(),
                "totp": factors.totp,
                "passkeys": factors.passkeys,
                "recovery_codes_left": factors.recovery_codes_left,
            },
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&body).map_err(|err| err.to_string())?
        );
        return Ok(());
    }
    let username = user
        .username
        .as_ref()
        .map_or_else(|| "-".to_owned(), |name| cell(name.as_str()));
    println!("id:             {}", user.id);
    println!("email:          {}", cell(user.email.as_str()));
    println!("username:       {username}");
    println!("active:         {}", yes_no(user.is_active));
    println!("verified:       {}", yes_no(user.is_verified));
    println!("superuser:      {}", yes_no(user.is_superuser));
    println!("roles:          {}", roles_text(&user.roles));
    println!("created:        {}", timestamp(user.created_at));
    println!("updated:        {}", timestamp(user.updated_at));
    println!(
        "second factors: {} (TOTP {}, {} passkey(s)); {} recovery code(s) left",
        factors.count(),
        if factors.totp { "on" } else { "off" },
        factors.passkeys,
        factors.recovery_codes_left
    );
    println!("sessions:       {}", sessions.len());
    if !sessions.is_empty() {
        let mut rows = vec![[
            "SESSION".to_owned(),
            "CREATED".to_owned(),
            "LAST USED".to_owned(),
            "EXPIRES".to_owned(),
            "IP".to_owned(),
            "USER AGENT".to_owned(),
        ]];
        rows.extend(sessions.iter().map(|session| {
            [
                session.id.to_string(),
                timestamp(session.created_at),
                timestamp(session.last_used_at),
                timestamp(session.effective_expiry()),
                session
                    .ip
                    .map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
                session
                    .user_agent
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), cell),
            ]
        }));
        print!("{}", table(&rows));
    }
    Ok(())
}

fn session_json(session: &Session) -> Value {
    json!({
        "id": session.id,
        "created_at": timestamp(session.created_at),
        "last_used_at": timestamp(session.last_used_at),
        "expires_at": timestamp(session.effective_expiry()),
        "ip": session.ip.map(|ip| ip.to_string()),
        "user_agent": session.user_agent,
    })
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

fn roles_text(roles: &Roles) -> String {
    if roles.is_empty() {
        return "-".to_owned();
    }
    roles.iter().map(cell).collect::<Vec<_>>().join(",")
}

fn timestamp(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_else(|_| time.to_string())
}

/// Text for the terminal: control characters (escape sequences included) escaped, so that a
/// stored value cannot rewrite the screen.
fn cell(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Rows in columns padded to their widest cell, two spaces apart.
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0; N];
    for row in rows {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line = row
            .iter()
            .zip(widths)
            .map(|(text, width)| format!("{text:<width$}"))
            .collect::<Vec<_>>()
            .join("  ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn parsed(list: &[&str]) -> Result<AdminCommand, String> {
        let all = args(list);
        parse(&all[0], &all[1..]).unwrap_or_else(|| panic!("{} is an admin command", all[0]))
    }

    #[test]
    fn admin_commands_parse() {
        assert!(parse("serve", &[]).is_none());
        assert_eq!(
            parsed(&[
                "list-users",
                "--role",
                "editor",
                "--active",
                "true",
                "--superuser",
                "false",
                "--sort",
                "-email",
                "--limit",
                "5",
                "--offset",
                "10",
                "--email",
                "ex",
                "--json"
            ]),
            Ok(AdminCommand::ListUsers {
                query: UserQuery::default()
                    .with_role("editor")
                    .with_active(true)
                    .with_superuser(false)
                    .with_sort(UserSort::EmailDesc)
                    .with_limit(5)
                    .with_offset(10)
                    .with_email_contains("ex"),
                json: true,
            })
        );
        assert_eq!(
            parsed(&["show-user", "a@b.co", "--json"]),
            Ok(AdminCommand::ShowUser {
                user: "a@b.co".into(),
                json: true
            })
        );
        assert_eq!(
            parsed(&["set-roles", "a@b.co"]),
            Ok(AdminCommand::SetRoles {
                user: "a@b.co".into(),
                roles: vec![]
            })
        );
        assert_eq!(
            parsed(&["add-role", "a@b.co", "x", "y"]),
            Ok(AdminCommand::AddRole {
                user: "a@b.co".into(),
                roles: vec!["x".into(), "y".into()]
            })
        );
        assert_eq!(
            parsed(&[
                "set-flags",
                "a@b.co",
                "--verified",
                "true",
                "--active",
                "false"
            ]),
            Ok(AdminCommand::SetFlags {
                user: "a@b.co".into(),
                active: Some(false),
                verified: Some(true),
                superuser: None
            })
        );
        assert_eq!(
            parsed(&["revoke-sessions", "a@b.co", "sid"]),
            Ok(AdminCommand::RevokeSessions {
                user: "a@b.co".into(),
                session: Some("sid".into())
            })
        );
        for bad in [
            &["list-users", "--active", "yes"][..],
            &["list-users", "--sort", "password"],
            &["list-users", "--limit", "0"],
            &["list-users", "--role"],
            &["list-users", "--colour", "red"],
            &["show-user"],
            &["show-user", "a", "b"],
            &["add-role", "a@b.co"],
            &["remove-role", "a@b.co", ""],
            &["set-flags", "a@b.co"],
            &["set-flags", "a@b.co", "--active", "maybe"],
            &["deactivate"],
            &["revoke-sessions"],
            &["revoke-sessions", "a", "b", "c"],
            &["reset-second-factors", "a", "b"],
        ] {
            assert!(parsed(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn cells_escape_control_characters_and_tables_align() {
        assert_eq!(cell("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        let rows = [
            ["A".to_owned(), "B".to_owned()],
            ["long".to_owned(), "x".to_owned()],
        ];
        assert_eq!(table(&rows), "A     B\nlong  x\n");
    }
}
