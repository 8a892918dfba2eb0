//! A manager over memory stores, a counting hasher, a manual clock and a memory mailer.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use auth_core::conformance::{CountingHasher, TestProfile};
use auth_core::*;

/// Records hook calls by name, with the fields of updates.
#[derive(Debug, Default)]
pub(crate) struct RecordingHooks {
    pub(crate) calls: Mutex<Vec<String>>,
    pub(crate) veto_delete: bool,
}

impl RecordingHooks {
    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl UserHooks<TestProfile> for RecordingHooks {
    async fn validate_password(
        &self,
        password: &Password,
        _user: &User<TestProfile>,
    ) -> Result<(), PasswordRejection> {
        if password.expose().contains("forbidden") {
            return Err(PasswordRejection::Custom("no forbidden words".into()));
        }
        Ok(())
    }
    async fn on_after_register(&self, user: &User<TestProfile>) {
        assert!(!serde_json::to_string(user).unwrap().contains("argon2"));
        self.record("register".into());
    }
    async fn on_after_import(&self, user: &User<TestProfile>) {
        assert!(!format!("{user:?}").contains("$2b$"), "a hash never prints");
        self.record("import".into());
    }
    async fn on_duplicate_registration(&self, _existing: &User<TestProfile>) {
        self.record("duplicate".into());
    }
    async fn on_after_login(&self, _u: &User<TestProfile>, _s: SessionId, _c: &ClientInfo) {
        self.record("login".into());
    }
    async fn on_failed_login(&self, _i: &str, reason: LoginFailure, _c: &ClientInfo) {
        self.record(format!("failed:{reason:?}"));
    }
    async fn on_after_logout(&self, _u: UserId, _s: SessionId) {
        self.record("logout".into());
    }
    async fn on_after_update(&self, _u: &User<TestProfile>, fields: &[&'static str]) {
        self.record(format!("update:{}", fields.join(",")));
    }
    async fn on_after_request_verify(&self, _u: &User<TestProfile>) {
        self.record("request_verify".into());
    }
    async fn on_after_verify(&self, _u: &User<TestProfile>) {
        self.record("verify".into());
    }
    async fn on_after_forgot_password(&self, _u: &User<TestProfile>) {
        self.record("forgot".into());
    }
    async fn on_after_reset_password(&self, _u: &User<TestProfile>) {
        self.record("reset".into());
    }
    async fn on_before_delete(&self, _u: &User<TestProfile>) -> Result<(), AuthError> {
        if self.veto_delete {
            return Err(AuthError::Forbidden);
        }
        Ok(())
    }
    async fn on_after_delete(&self, _u: &User<TestProfile>) {
        self.record("delete".into());
    }
    async fn on_email_changed(&self, _u: &User<TestProfile>, _old: &Email) {
        self.record("email_changed".into());
    }
    async fn on_refresh_token_reused(&self, _u: UserId, _s: SessionId, _c: &ClientInfo) {
        self.record("refresh_reused".into());
    }
    async fn on_session_revoked(&self, _u: UserId, _s: SessionId, reason: Revocation) {
        self.record(format!("session_revoked:{reason:?}"));
    }
    async fn on_throttled(&self, throttle: Throttle, _c: &ClientInfo) {
        self.record(format!("throttled:{throttle:?}"));
    }
    async fn on_after_oauth_link(&self, _u: &User<TestProfile>, account: &OAuthAccount) {
        assert!(
            !format!("{account:?}").contains("secret"),
            "a hook never sees a provider token in the clear"
        );
        self.record(format!("oauth_link:{}", account.provider));
    }
    async fn on_after_oauth_unlink(&self, _u: &User<TestProfile>, provider: &str, _a: &str) {
        self.record(format!("oauth_unlink:{provider}"));
    }
}

pub(crate) const PASSWORD: &str = "a quiet river at dawn";

pub(crate) struct Harness {
    pub(crate) manager: UserManager<TestProfile>,
    pub(crate) hasher: Arc<CountingHasher>,
    pub(crate) hooks: Arc<RecordingHooks>,
    pub(crate) clock: ManualClock,
    pub(crate) mailer: MemoryMailer,
    pub(crate) audit: Arc<MemoryAuditLog>,
    pub(crate) client: ClientInfo,
}

pub(crate) fn codec() -> JwtCodec {
    let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
    JwtCodec::new(keys, "tests")
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(|config| config, false)
    }

    pub(crate) fn with(
        configure: impl FnOnce(ManagerConfig) -> ManagerConfig,
        veto_delete: bool,
    ) -> Self {
        Self::build(configure, veto_delete, false)
    }

    /// A manager whose tokens `codec` signs.
    pub(crate) fn with_codec(codec: JwtCodec) -> Self {
        Self::build_with(|config| config, false, false, codec)
    }

    /// A manager that keeps provider accounts too (in the same memory store as the users).
    pub(crate) fn with_oauth(configure: impl FnOnce(ManagerConfig) -> ManagerConfig) -> Self {
        Self::build(configure, false, true)
    }

    fn build(
        configure: impl FnOnce(ManagerConfig) -> ManagerConfig,
        veto_delete: bool,
        oauth: bool,
    ) -> Self {
        Self::build_with(configure, veto_delete, oauth, codec())
    }

    fn build_with(
        configure: impl FnOnce(ManagerConfig) -> ManagerConfig,
        veto_delete: bool,
        oauth: bool,
        codec: JwtCodec,
    ) -> Self {
        let hasher = Arc::new(CountingHasher::new());
        let hooks = Arc::new(RecordingHooks {
            calls: Mutex::default(),
            veto_delete,
        });
        let clock = ManualClock::starting_now();
        let mailer = MemoryMailer::new();
        let sessions = Arc::new(MemorySessionStore::new());
        let config = configure(ManagerConfig {
            default_roles: Roles::from_iter(["reader"]),
            ..ManagerConfig::default()
        });
        let users = Arc::new(MemoryUserStore::<TestProfile>::new());
        let audit = Arc::new(MemoryAuditLog::new());
        let mut builder = UserManager::builder(users.clone(), sessions, codec)
            .with_audit_log(audit.clone())
            .with_hasher(hasher.clone())
            .with_hooks(hooks.clone())
            .with_clock(Arc::new(clock.clone()))
            .with_mailer(Arc::new(mailer.clone()))
            .with_config(config);
        if oauth {
            builder = builder.with_oauth_accounts(users);
        }
        let manager = builder.build();
        Self {
            manager,
            hasher,
            hooks,
            clock,
            mailer,
            audit,
            client: ClientInfo::new(
                Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
                Some("tests"),
            ),
        }
    }

    pub(crate) fn new_user(email: &str) -> NewUser<TestProfile> {
        NewUser::new(Email::parse(email).unwrap(), PASSWORD)
    }

    pub(crate) async fn register(&self, email: &str) -> User<TestProfile> {
        match self
            .manager
            .register(Self::new_user(email), &self.client)
            .await
            .unwrap()
        {
            Registration::Created(user) => user,
            other => panic!("expected a new user, got {other:?}"),
        }
    }

    pub(crate) async fn login(&self, email: &str) -> Login<TestProfile> {
        self.manager
            .login(email, &Password::new(PASSWORD), &self.client)
            .await
            .unwrap()
    }

    /// The ids of a user's live sessions, oldest first.
    pub(crate) async fn live_sessions(&self, user: UserId) -> Vec<SessionId> {
        self.manager
            .list_sessions(user)
            .await
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect()
    }

    /// A user's trail, newest first, once the queue has written what it holds.
    pub(crate) async fn events(&self, user: UserId) -> Vec<AuditEvent> {
        self.manager.flush_audit().await;
        let query = AuditQuery {
            limit: 100,
            offset: 0,
        };
        self.manager.user_events(user, &query).await.unwrap().items
    }

    /// A user's trail as `kind[/method][:detail]`, oldest first.
    pub(crate) async fn trail(&self, user: UserId) -> Vec<String> {
        let mut trail: Vec<String> = self
            .events(user)
            .await
            .iter()
            .map(|event| {
                let mut line = event.kind().to_owned();
                if let Some(method) = event.method() {
                    line = format!("{line}/{method}");
                }
                if let Some(detail) = event.detail() {
                    line = format!("{line}:{detail}");
                }
                line
            })
            .collect();
        trail.reverse();
        trail
    }

    /// Every mail sent so far, once the queue has delivered what it holds.
    pub(crate) async fn sent(&self) -> Vec<Mail> {
        self.manager.flush_mail().await;
        self.mailer.sent()
    }

    /// The token inside the newest link mailed to `to`.
    pub(crate) async fn mailed_token(&self, to: &str) -> String {
        self.manager.flush_mail().await;
        let mail = self.mailer.last_to(to).expect("a mail");
        let link = match mail.kind {
            MailKind::Verify { link } | MailKind::ResetPassword { link } => link,
            _ => unreachable!(),
        };
        assert!(link.starts_with("http://127.0.0.1:8000/"), "{link}");
        link.split_once("#token=").unwrap().1.to_owned()
    }
}

/// A one-use barrier for the next so many callers.
#[derive(Debug, Default)]
pub(crate) struct Gate(std::sync::Mutex<Option<(Arc<tokio::sync::Barrier>, usize)>>);

impl Gate {
    pub(crate) fn arm(&self, parties: usize) {
        *self.0.lock().unwrap() = Some((Arc::new(tokio::sync::Barrier::new(parties)), parties));
    }

    pub(crate) async fn pass(&self) {
        let barrier = {
            let mut slot = self.0.lock().unwrap();
            match slot.as_mut() {
                Some((barrier, left)) if *left > 0 => {
                    *left -= 1;
                    Some(Arc::clone(barrier))
                }
                _ => None,
            }
        };
        if let Some(barrier) = barrier {
            barrier.wait().await;
        }
    }
}
