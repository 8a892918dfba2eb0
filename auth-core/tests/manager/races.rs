//! Real races: store and hasher wrappers that hold every racer between its read and its write,
//! so a check-then-act that is not one atomic step in the store loses here. The memory stores
//! alone cannot show it: their mutex never yields.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use auth_core::conformance::{CountingHasher, TestProfile};
use auth_core::*;
use futures::future::join_all;
use tokio::sync::Notify;

use crate::harness::{Harness, PASSWORD, codec};

/// A user store whose reads of one user can be held: every racer reads, then waits at the
/// barrier until all have read, and only then goes on to write.
#[derive(Debug)]
struct GatedUsers {
    inner: MemoryUserStore<TestProfile>,
    /// The next reads that wait for each other (one use only).
    gate: crate::harness::Gate,
    /// When set, the next read of a user signals `read` and waits for `go`.
    pause: std::sync::Mutex<Option<(Arc<Notify>, Arc<Notify>)>>,
}

impl GatedUsers {
    fn new() -> Self {
        Self {
            inner: MemoryUserStore::new(),
            gate: crate::harness::Gate::default(),
            pause: std::sync::Mutex::new(None),
        }
    }

    /// The next `parties` reads by id wait for each other.
    fn gate(&self, parties: usize) {
        self.gate.arm(parties);
    }

    /// The next read by id stops after reading until `go` is notified; `read` is notified
    /// when it has read.
    fn pause_next(&self) -> (Arc<Notify>, Arc<Notify>) {
        let pair = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        *self.pause.lock().unwrap() = Some(pair.clone());
        pair
    }
}

#[async_trait]
impl UserStore<TestProfile> for GatedUsers {
    async fn create(&self, user: &User<TestProfile>) -> Result<(), StoreError> {
        self.inner.create(user).await
    }
    async fn get(&self, id: UserId) -> Result<Option<User<TestProfile>>, StoreError> {
        let read = self.inner.get(id).await;
        self.gate.pass().await;
        let pause = self.pause.lock().unwrap().take();
        if let Some((done, go)) = pause {
            let go = go.notified();
            done.notify_one();
            go.await;
        }
        read
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<User<TestProfile>>, StoreError> {
        self.inner.find_by_email(email).await
    }
    async fn find_by_username(
        &self,
        name: &Username,
    ) -> Result<Option<User<TestProfile>>, StoreError> {
        self.inner.find_by_username(name).await
    }
    async fn update(&self, user: &User<TestProfile>) -> Result<(), StoreError> {
        self.inner.update(user).await
    }
    async fn delete(&self, id: UserId) -> Result<bool, StoreError> {
        self.inner.delete(id).await
    }
    async fn list(&self, query: &UserQuery) -> Result<Page<User<TestProfile>>, StoreError> {
        self.inner.list(query).await
    }
}

/// A hasher that takes its time (on the timer, so every racer overlaps) and counts.
#[derive(Debug, Default)]
struct SlowHasher {
    inner: CountingHasher,
    verifies: AtomicUsize,
}

#[async_trait]
impl PasswordHasher for SlowHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError> {
        self.inner.hash(password).await
    }
    async fn verify(
        &self,
        password: &Password,
        hash: &PasswordHash,
    ) -> Result<Verification, HashError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(StdDuration::from_millis(30)).await;
        self.inner.verify(password, hash).await
    }
    async fn dummy_verify(&self, password: &Password) -> Result<(), HashError> {
        self.verifies.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(StdDuration::from_millis(30)).await;
        self.inner.dummy_verify(password).await
    }
}

/// A mailer that never finishes (a dead SMTP server that accepts the connection).
#[derive(Debug, Default)]
struct HangingMailer {
    calls: AtomicUsize,
}

#[async_trait]
impl Mailer for HangingMailer {
    async fn send(&self, _mail: &Mail) -> Result<(), MailError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::pending::<()>().await;
        Ok(())
    }
}

/// A limiter that counts its calls.
#[derive(Debug, Default)]
struct CountingLimiter {
    inner: MemoryRateLimiter,
    calls: AtomicUsize,
}

#[async_trait]
impl RateLimiter for CountingLimiter {
    async fn hit(
        &self,
        key: &str,
        limit: &RateLimit,
        now: time::OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.hit(key, limit, now).await
    }
    async fn refund(&self, key: &str, now: time::OffsetDateTime) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.refund(key, now).await
    }
    async fn peek(
        &self,
        key: &str,
        limit: &RateLimit,
        now: time::OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.peek(key, limit, now).await
    }
    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.clear(key).await
    }
}

struct Rig {
    manager: UserManager<TestProfile>,
    users: Arc<GatedUsers>,
    hasher: Arc<SlowHasher>,
    outbox: MemoryMailer,
    client: ClientInfo,
}

fn rig(configure: impl FnOnce(ManagerConfig) -> ManagerConfig) -> Rig {
    let users = Arc::new(GatedUsers::new());
    let hasher = Arc::new(SlowHasher::default());
    let outbox = MemoryMailer::new();
    let manager = UserManager::builder(users.clone(), Arc::new(MemorySessionStore::new()), codec())
        .with_hasher(hasher.clone())
        .with_mailer(Arc::new(outbox.clone()))
        .with_config(configure(ManagerConfig::default()))
        .build();
    Rig {
        manager,
        users,
        hasher,
        outbox,
        client: ClientInfo::new(Some("198.51.100.4".parse().unwrap()), Some("racer")),
    }
}

impl Rig {
    /// Starts a login with the right password in its own task.
    fn spawn_login(
        &self,
        email: &'static str,
    ) -> tokio::task::JoinHandle<Result<Login<TestProfile>, AuthError>> {
        let manager = self.manager.clone();
        let client = self.client.clone();
        tokio::spawn(async move {
            manager
                .login(email, &Password::new(PASSWORD), &client)
                .await
        })
    }

    /// A login of `email` that reads the user, then waits while an administrator applies
    /// `change`, then goes on: what does it get?
    async fn login_racing(
        &self,
        email: &'static str,
        id: UserId,
        change: AdminUpdate<TestProfile>,
    ) -> Result<Login<TestProfile>, AuthError> {
        let (read, go) = self.users.pause_next();
        let login = self.spawn_login(email);
        read.notified().await;
        self.manager.update_user(id, change).await.unwrap();
        go.notify_one();
        login.await.unwrap()
    }

    async fn register(&self, email: &str) -> User<TestProfile> {
        match self
            .manager
            .register(Harness::new_user(email), &ClientInfo::default())
            .await
            .unwrap()
        {
            Registration::Created(user) => user,
            other => panic!("{other:?}"),
        }
    }

    async fn reset_token(&self, email: &str) -> String {
        self.manager
            .forgot_password(&Email::parse(email).unwrap(), &self.client)
            .await
            .unwrap();
        self.manager.flush_mail().await;
        link_token(&self.outbox.last_to(email).expect("a reset mail"))
    }
}

fn link_token(mail: &Mail) -> String {
    match &mail.kind {
        MailKind::Verify { link } | MailKind::ResetPassword { link } => {
            link.split_once("#token=").unwrap().1.to_owned()
        }
        other => panic!("no link in {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_parallel_resets_with_one_token_have_one_winner() {
    let rig = rig(|config| config);
    rig.register("alice@example.com").await;
    let token = rig.reset_token("alice@example.com").await;
    // Every submission reads the user (the token still matches its password) before any
    // writes: only a compare-and-set in the store can keep the token single-use.
    rig.users.gate(10);
    let client = ClientInfo::default();
    let results = join_all((0..10).map(|i| {
        let manager = rig.manager.clone();
        let token = token.clone();
        let client = client.clone();
        async move {
            manager
                .reset_password(
                    &token,
                    &Password::new(format!("new passphrase number {i}")),
                    &client,
                )
                .await
        }
    }))
    .await;
    let winners = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|result| result.is_err())
            .all(|result| matches!(result, Err(AuthError::BadResetToken)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_parallel_verifications_with_one_token_have_one_winner() {
    let rig = rig(|config| config);
    rig.register("alice@example.com").await;
    rig.manager
        .request_verify(&Email::parse("alice@example.com").unwrap(), &rig.client)
        .await
        .unwrap();
    rig.manager.flush_mail().await;
    let token = link_token(&rig.outbox.last_to("alice@example.com").unwrap());
    rig.users.gate(10);
    let client = ClientInfo::default();
    let results = join_all((0..10).map(|_| rig.manager.verify(&token, &client))).await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_guesses_get_at_most_the_account_budget_of_checks() {
    let rig = rig(|mut config| {
        config.rate_limits.login_account = Some(RateLimit::new(10, time::Duration::minutes(15)));
        config.rate_limits.login_ip = Some(RateLimit::new(100, time::Duration::minutes(15)));
        config
    });
    rig.register("alice@example.com").await;
    let before = rig.hasher.verifies.load(Ordering::SeqCst);
    let results = join_all((0..40).map(|i| {
        let manager = rig.manager.clone();
        let client = rig.client.clone();
        async move {
            manager
                .login(
                    "alice@example.com",
                    &Password::new(format!("guess number {i}")),
                    &client,
                )
                .await
        }
    }))
    .await;
    let checks = rig.hasher.verifies.load(Ordering::SeqCst) - before;
    let throttled = results
        .iter()
        .filter(|result| matches!(result, Err(AuthError::RateLimited { .. })))
        .count();
    assert!(checks <= 10, "{checks} password checks for a budget of 10");
    assert_eq!(throttled, 30);
    // Even the right password is throttled now.
    assert!(matches!(
        rig.manager
            .login("alice@example.com", &Password::new(PASSWORD), &rig.client)
            .await,
        Err(AuthError::RateLimited { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_from_one_ip_get_at_most_the_ip_budget_of_checks() {
    let rig = rig(|mut config| {
        config.rate_limits.login_account = None;
        config.rate_limits.login_ip = Some(RateLimit::new(5, time::Duration::minutes(15)));
        config
    });
    let results = join_all((0..30).map(|i| {
        let manager = rig.manager.clone();
        let client = rig.client.clone();
        async move {
            manager
                .login(
                    &format!("user{i}@example.com"),
                    &Password::new("wrong guess"),
                    &client,
                )
                .await
        }
    }))
    .await;
    assert!(rig.hasher.verifies.load(Ordering::SeqCst) <= 5);
    assert_eq!(
        results
            .iter()
            .filter(|result| matches!(result, Err(AuthError::RateLimited { .. })))
            .count(),
        25
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_racing_a_password_change_gets_no_session() {
    let rig = rig(|config| config);
    let alice = rig.register("alice@example.com").await;
    // The login reads the user (old password) and stops there ...
    let login = rig
        .login_racing(
            "alice@example.com",
            alice.id,
            AdminUpdate {
                user: UserUpdate {
                    password: Some(Password::new("a brand new passphrase")),
                    ..UserUpdate::default()
                },
                ..AdminUpdate::default()
            },
        )
        .await;
    // ... so the login, though its check passed against the old password, gets nothing.
    assert!(matches!(login, Err(AuthError::BadCredentials)));
    assert!(
        rig.manager
            .list_sessions(alice.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_racing_a_demotion_gets_the_demoted_user() {
    let rig = rig(|config| config);
    let alice = rig.register("alice@example.com").await;
    rig.manager
        .update_user(
            alice.id,
            AdminUpdate {
                is_superuser: Some(true),
                ..AdminUpdate::default()
            },
        )
        .await
        .unwrap();
    let login = rig
        .login_racing(
            "alice@example.com",
            alice.id,
            AdminUpdate {
                is_superuser: Some(false),
                ..AdminUpdate::default()
            },
        )
        .await;
    let login = login.unwrap();
    assert!(
        !login.user.is_superuser,
        "the session carries the current privileges"
    );
    let claims = rig
        .manager
        .authenticate_token(&login.tokens.access_token)
        .await
        .unwrap();
    assert!(!claims.is_superuser);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_racing_a_deactivation_gets_no_session() {
    let rig = rig(|config| config);
    let alice = rig.register("alice@example.com").await;
    let login = rig
        .login_racing(
            "alice@example.com",
            alice.id,
            AdminUpdate {
                is_active: Some(false),
                ..AdminUpdate::default()
            },
        )
        .await;
    assert!(login.is_err());
    assert!(
        rig.manager
            .list_sessions(alice.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_edits_lose_nothing() {
    let rig = rig(|config| config);
    let alice = rig.register("alice@example.com").await;
    rig.users.gate(2);
    let names = UserUpdate {
        username: Some(Username::parse("alice").unwrap()),
        ..UserUpdate::default()
    };
    let profile = UserUpdate {
        profile: Some(TestProfile {
            first_name: Some("Alice".into()),
            second_name: None,
            age: 30,
        }),
        ..UserUpdate::default()
    };
    let (first, second) = tokio::join!(
        rig.manager.update_self(alice.id, None, names),
        rig.manager.update_self(alice.id, None, profile)
    );
    first.unwrap();
    second.unwrap();
    let stored = rig.manager.get_user(alice.id).await.unwrap();
    assert_eq!(stored.username.unwrap().as_str(), "alice");
    assert_eq!(stored.profile.age, 30, "neither edit overwrote the other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_refreshes_with_one_token_have_one_winner() {
    let rig = rig(|config| config);
    rig.register("alice@example.com").await;
    let login = rig
        .manager
        .login("alice@example.com", &Password::new(PASSWORD), &rig.client)
        .await
        .unwrap();
    // Each refresh reads the user, then every one of them waits for the others.
    rig.users.gate(100);
    let token = login.tokens.refresh_token.clone();
    let results = join_all((0..100).map(|_| {
        let manager = rig.manager.clone();
        let token = token.clone();
        let client = rig.client.clone();
        async move { manager.refresh(&token, &client).await }
    }))
    .await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
}

#[tokio::test]
async fn forgot_password_does_the_same_work_for_known_and_unknown_addresses() {
    let users = Arc::new(GatedUsers::new());
    let limiter = Arc::new(CountingLimiter::default());
    let mailer = Arc::new(HangingMailer::default());
    let manager = UserManager::<TestProfile>::builder(
        users.clone(),
        Arc::new(MemorySessionStore::new()),
        codec(),
    )
    .with_hasher(Arc::new(CountingHasher::new()))
    .with_rate_limiter(limiter.clone())
    .with_mailer(mailer.clone())
    .build();
    manager
        .register(
            Harness::new_user("alice@example.com"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let client = ClientInfo::default();
    let mut work = Vec::new();
    for address in ["alice@example.com", "nobody@example.com"] {
        let before = limiter.calls.load(Ordering::SeqCst);
        // The mail server never answers: the request must not wait for it.
        tokio::time::timeout(
            StdDuration::from_secs(5),
            manager.forgot_password(&Email::parse(address).unwrap(), &client),
        )
        .await
        .expect("forgot-password does not wait for the mailer")
        .unwrap();
        work.push(limiter.calls.load(Ordering::SeqCst) - before);
    }
    assert_eq!(work[0], work[1], "the same throttle work either way");
    // The mail left the request: the queue has handed it to the (hanging) mailer.
    for _ in 0..100 {
        if mailer.calls.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    assert_eq!(mailer.calls.load(Ordering::SeqCst), 1);
}

/// A verification mail to alice, as the default templates word it.
fn verify_mail() -> Mail {
    let to = Email::parse("alice@example.com").unwrap();
    let link = MailLink::new(
        "https://example.com/verify#token=x",
        time::Duration::hours(24),
    );
    let context = MailContext::new(to.clone(), "Example", time::OffsetDateTime::now_utc());
    let content = DefaultMailTemplates.verify(&context, &link);
    Mail::new(to, MailKind::Verify { link: link.url }, content)
}

#[tokio::test]
async fn a_failing_mailer_is_retried_and_the_queue_drains() {
    #[derive(Debug, Default)]
    struct Flaky {
        attempts: AtomicUsize,
        outbox: MemoryMailer,
    }
    #[async_trait]
    impl Mailer for Flaky {
        async fn send(&self, mail: &Mail) -> Result<(), MailError> {
            if self.attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(MailError(Box::new(std::io::Error::other("try again"))));
            }
            self.outbox.send(mail).await
        }
    }
    let flaky = Arc::new(Flaky::default());
    let queue = MailQueue::new(
        flaky.clone(),
        MailQueueConfig::default().with_first_retry(StdDuration::from_millis(5)),
    );
    queue.enqueue(verify_mail()).unwrap();
    tokio::time::timeout(StdDuration::from_secs(5), queue.flush())
        .await
        .unwrap();
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(flaky.outbox.sent().len(), 1);
    assert_eq!(queue.pending(), 0);
}

#[tokio::test]
async fn a_full_mail_queue_refuses_instead_of_growing() {
    let mailer = Arc::new(HangingMailer::default());
    let config = MailQueueConfig::default().with_capacity(2);
    let queue = MailQueue::new(mailer, config);
    let mail = verify_mail();
    let mut refused = 0;
    for _ in 0..20 {
        if queue.enqueue(mail.clone()).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 0, "a bounded queue refuses");
    // At most the capacity, the mails being sent and one waiting for a sender.
    assert!(queue.pending() <= 2 + 4 + 1, "{} pending", queue.pending());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_racing_an_email_change_cannot_put_the_old_address_back_without_the_password() {
    let rig = rig(|config| config);
    let alice = rig.register("alice@example.com").await;
    // A stolen session sends the current address back with a harmless edit: no password is
    // needed for that, since the address does not change ... as long as it is current.
    let (read, go) = rig.users.pause_next();
    let attacker = tokio::spawn({
        let manager = rig.manager.clone();
        let id = alice.id;
        async move {
            manager
                .update_self(
                    id,
                    None,
                    UserUpdate {
                        email: Some(Email::parse("alice@example.com").unwrap()),
                        profile: Some(TestProfile {
                            first_name: Some("x".into()),
                            second_name: None,
                            age: 1,
                        }),
                        ..UserUpdate::default()
                    },
                )
                .await
        }
    });
    read.notified().await;
    // Meanwhile the owner moves the account to a new address, with the password.
    rig.manager
        .update_self(
            alice.id,
            None,
            UserUpdate {
                email: Some(Email::parse("alice@safe.example").unwrap()),
                current_password: Some(Password::new(PASSWORD)),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    go.notify_one();
    assert!(matches!(
        attacker.await.unwrap(),
        Err(AuthError::BadCurrentPassword)
    ));
    let stored = rig.manager.get_user(alice.id).await.unwrap();
    assert_eq!(stored.email.as_str(), "alice@safe.example");
}
