use auth_core::*;

use crate::harness::{Harness, PASSWORD};

/// `PASSWORD` hashed by pwdlib 0.3 with its Argon2 defaults (argon2-cffi: m=65536, t=3, p=4),
/// as fastapi-users 15 stores it.
const PWDLIB_ARGON2: &str = "$argon2id$v=19$m=65536,t=3,p=4$+Cg09oWXDDS3LwXLLfsI7Q$yH4KKBnzQQnu4+UTTjMSXm9X14oLp4YH4DxZXN1xlfw";

/// `PASSWORD` hashed by Python's bcrypt 5 at cost 12, as older fastapi-users (passlib) stored it.
const BCRYPT_12: &str = "$2b$12$e83Hw96tgAowJg1KQ6x.p.kSFnRqLMssW9078xh4jpszBgiiHzqsW";

fn imported(email: &str, hash: &str) -> ImportedUser<conformance::TestProfile> {
    ImportedUser::new(
        UserId::new(),
        Email::parse(email).unwrap(),
        PasswordHash::from_imported(hash).unwrap(),
    )
}

/// The stored user's hash: the hasher's own parameters after an upgrade.
async fn stored_hash(h: &Harness, id: UserId) -> String {
    let user = h.manager.users().get(id).await.unwrap().unwrap();
    user.password_hash.as_str().to_owned()
}

async fn imported_hash_logs_in_and_is_upgraded(hash: &str) {
    let h = Harness::new();
    let mut user = imported("Alice@Example.COM", hash);
    user.is_verified = true;
    user.is_superuser = true;
    user.roles = Roles::from_iter(["author"]);
    let id = user.id;
    let created = h.manager.import(user).await.unwrap();
    assert_eq!(created.id, id);
    assert!(created.is_verified && created.is_superuser && created.is_active);
    assert!(created.roles.contains("author"));
    assert!(
        !created.roles.contains("reader"),
        "default roles are not added"
    );
    assert_eq!(h.hasher.runs(), 0, "an import hashes nothing");
    assert_eq!(stored_hash(&h, id).await, hash);

    let wrong = h
        .manager
        .login(
            "alice@example.com",
            &Password::new("not the password"),
            &h.client,
        )
        .await;
    assert!(matches!(wrong, Err(AuthError::BadCredentials)));
    assert_eq!(
        stored_hash(&h, id).await,
        hash,
        "no upgrade without the password"
    );

    let before = h.hasher.runs();
    let login = h
        .manager
        .login("alice@example.com", &Password::new(PASSWORD), &h.client)
        .await
        .unwrap();
    assert_eq!(login.user.id, id);
    assert_eq!(h.hasher.runs() - before, 2, "one verification, one re-hash");
    let upgraded = stored_hash(&h, id).await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=8,t=1,p=1$"),
        "stored with the hasher's parameters"
    );

    let before = h.hasher.runs();
    h.manager
        .login("alice@example.com", &Password::new(PASSWORD), &h.client)
        .await
        .unwrap();
    assert_eq!(
        h.hasher.runs() - before,
        1,
        "an upgraded hash is not re-hashed"
    );
    assert_eq!(stored_hash(&h, id).await, upgraded);
}

#[tokio::test]
async fn an_imported_pwdlib_argon2_hash_logs_in_and_is_upgraded() {
    imported_hash_logs_in_and_is_upgraded(PWDLIB_ARGON2).await;
}

#[tokio::test]
async fn an_imported_bcrypt_hash_logs_in_and_is_upgraded() {
    imported_hash_logs_in_and_is_upgraded(BCRYPT_12).await;
}

#[test]
fn hashes_that_cannot_be_verified_are_refused() {
    for bad in [
        "",
        "hunter2",
        "pbkdf2_sha256$600000$c2FsdA$aGFzaA",
        "$pbkdf2-sha256$29000$c2FsdA$aGFzaA",
        "$argon2id$v=19$m=65536,t=3,p=4$+Cg09oWXDDS3LwXLLfsI7Q",
        "$argon2id$v=19$m=4294967295,t=3,p=4$+Cg09oWXDDS3LwXLLfsI7Q$yH4KKBnzQQnu4+UTTjMSXm9X14oLp4YH4DxZXN1xlfw",
        "$argon2id$v=99$m=65536,t=3,p=4$+Cg09oWXDDS3LwXLLfsI7Q$yH4KKBnzQQnu4+UTTjMSXm9X14oLp4YH4DxZXN1xlfw",
        "$2b$12$tooshort",
        "$2b$31$e83Hw96tgAowJg1KQ6x.p.kSFnRqLMssW9078xh4jpszBgiiHzqsW",
        "$2x$12$e83Hw96tgAowJg1KQ6x.p.kSFnRqLMssW9078xh4jpszBgiiHzqsW",
    ] {
        let err = PasswordHash::from_imported(bad).unwrap_err();
        assert!(!err.to_string().contains(bad) || bad.is_empty(), "{err}");
        assert!(!err.reason().is_empty());
    }
}

#[tokio::test]
async fn import_rechecks_a_hash_wrapped_without_checks() {
    let h = Harness::new();
    let mut user = imported("bob@example.com", BCRYPT_12);
    user.password_hash = PasswordHash::new("md5$abc$def");
    let err = h.manager.import(user).await.unwrap_err();
    assert!(matches!(err, ImportError::UnsupportedHash(_)), "{err}");
    assert!(
        h.manager
            .users()
            .find_by_email(&Email::parse("bob@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn duplicate_ids_and_addresses_are_refused_as_duplicates() {
    let h = Harness::new();
    let first = imported("carol@example.com", BCRYPT_12);
    let again = first.clone();
    h.manager.import(first).await.unwrap();

    let err = h.manager.import(again).await.unwrap_err();
    assert!(
        matches!(err, ImportError::IdTaken) && err.is_duplicate(),
        "{err}"
    );

    let other_id = imported("CAROL@example.com", BCRYPT_12);
    let err = h.manager.import(other_id).await.unwrap_err();
    assert!(
        matches!(err, ImportError::EmailTaken) && err.is_duplicate(),
        "{err}"
    );

    h.register("dave@example.com").await;
    let err = h
        .manager
        .import(imported("dave@example.com", PWDLIB_ARGON2))
        .await
        .unwrap_err();
    assert!(matches!(err, ImportError::EmailTaken), "{err}");
}

#[tokio::test]
async fn import_fires_its_own_hook_and_sends_no_mail() {
    let h = Harness::with(
        |config| ManagerConfig {
            send_verification_on_register: true,
            ..config
        },
        false,
    );
    h.manager
        .import(imported("erin@example.com", BCRYPT_12))
        .await
        .unwrap();
    h.manager.flush_mail().await;
    assert_eq!(h.hooks.calls(), ["import"]);
    assert!(h.mailer.sent().is_empty());
}

#[tokio::test]
async fn an_inactive_imported_user_cannot_log_in() {
    let h = Harness::new();
    let mut user = imported("frank@example.com", PWDLIB_ARGON2);
    user.is_active = false;
    h.manager.import(user).await.unwrap();
    let login = h
        .manager
        .login("frank@example.com", &Password::new(PASSWORD), &h.client)
        .await;
    assert!(matches!(login, Err(AuthError::BadCredentials)));
}

#[tokio::test]
async fn provider_accounts_are_linked_to_imported_users_once() {
    let h = Harness::with_oauth(|config| config);
    let user = h
        .manager
        .import(imported("grace@example.com", BCRYPT_12))
        .await
        .unwrap();
    let now = h.manager.now();
    let account = OAuthAccount {
        user_id: user.id,
        provider: "github".into(),
        account_id: "583231".into(),
        account_email: Some("grace@example.com".into()),
        access_token: None,
        refresh_token: None,
        expires_at: None,
        created_at: now,
        updated_at: now,
    };
    h.manager.import_oauth_account(&account).await.unwrap();
    assert_eq!(h.manager.oauth_accounts(user.id).await.unwrap().len(), 1);
    let err = h.manager.import_oauth_account(&account).await.unwrap_err();
    assert!(matches!(err, ImportError::OAuthAccountTaken) && err.is_duplicate());
    let orphan = OAuthAccount {
        user_id: UserId::new(),
        account_id: "1".into(),
        ..account
    };
    let err = h.manager.import_oauth_account(&orphan).await.unwrap_err();
    assert!(matches!(err, ImportError::UserNotFound), "{err}");
    assert!(h.hooks.calls().contains(&"oauth_link:github".to_owned()));
}

#[tokio::test]
async fn provider_accounts_need_an_account_store() {
    let h = Harness::new();
    assert!(!h.manager.keeps_oauth_accounts());
    let user = h
        .manager
        .import(imported("heidi@example.com", BCRYPT_12))
        .await
        .unwrap();
    let now = h.manager.now();
    let account = OAuthAccount {
        user_id: user.id,
        provider: "github".into(),
        account_id: "7".into(),
        account_email: None,
        access_token: None,
        refresh_token: None,
        expires_at: None,
        created_at: now,
        updated_at: now,
    };
    let err = h.manager.import_oauth_account(&account).await.unwrap_err();
    assert!(
        matches!(err, ImportError::Auth(AuthError::Config(_))),
        "{err}"
    );
}
