//! A master of a Redis Cluster (three masters, one replica each, on private loopback ports)
//! is killed while a manager over it serves a load of logins and authenticated requests. The
//! client follows the new topology once the replica is promoted; meanwhile every failure is
//! an unavailability (answered `503`, never `500`), a session revoked before the crash stays
//! revoked throughout, and revocation works again after it. The time to recover is printed.
// Helpers outside the #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Without the feature there is nothing to test; say so instead of passing silently.
#[cfg(not(feature = "cluster"))]
#[test]
#[ignore = "the Redis Cluster tests need `--features cluster` (or `--all-features`)"]
fn needs_the_cluster_feature() {}

#[cfg(feature = "cluster")]
mod common;

#[cfg(feature = "cluster")]
mod failover {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    use auth_core::{
        Argon2Hasher, AuthError, ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, ManagerConfig,
        MemoryUserStore, NewUser, NoProfile, Password, RateLimits, UserManager,
    };
    use auth_redis::{RedisConfig, RedisSessionStore};

    use super::common;
    use super::common::cluster::TestCluster;

    const PASSWORD: &str = "a quiet river at dawn";
    /// How long the nodes wait for a silent peer before declaring it failed.
    const NODE_TIMEOUT_MS: u32 = 1_000;
    /// The most the whole failover (detection, election, the client's new routes) may take.
    const RECOVERY_BOUND: Duration = Duration::from_secs(30);

    /// What the load saw.
    #[derive(Default)]
    struct Tally {
        ok: AtomicU64,
        /// Unavailable backing service: `503`.
        unavailable: AtomicU64,
        /// Any other failure of a call that should have worked: would be a `500` (or worse).
        wrong: AtomicU64,
        /// A token revoked before the crash accepted: a broken revocation.
        revoked_accepted: AtomicU64,
    }

    impl Tally {
        fn count<T>(&self, result: &Result<T, AuthError>) {
            let counter = match result {
                Ok(_) => &self.ok,
                Err(err) if err.is_unavailable() => &self.unavailable,
                Err(_) => &self.wrong,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    struct User {
        email: String,
        access: String,
        id: auth_core::UserId,
        session: auth_core::SessionId,
    }

    async fn user(manager: &UserManager<NoProfile>, n: usize) -> User {
        let email = format!(
            "user{n}-{}@example.com",
            auth_core::conformance::unique_tag()
        );
        manager
            .register(
                NewUser::new(Email::parse(&email).unwrap(), PASSWORD),
                &ClientInfo::default(),
            )
            .await
            .unwrap();
        let login = manager
            .login(&email, &Password::new(PASSWORD), &ClientInfo::default())
            .await
            .unwrap();
        User {
            email,
            access: login.tokens.access_token,
            id: login.user.id,
            session: login.tokens.session_id,
        }
    }

    /// One round over every user: each live token must be accepted, each revoked one refused,
    /// and a fresh login of each live user must open a session (so every master is written
    /// to). `true` when all of it worked.
    async fn round(
        manager: &UserManager<NoProfile>,
        live: &[User],
        revoked: &[User],
        tally: &Tally,
    ) -> bool {
        let mut whole = true;
        for user in live {
            let result = manager.authenticate_token(&user.access).await;
            tally.count(&result);
            whole &= result.is_ok();
        }
        for user in revoked {
            match manager.authenticate_token(&user.access).await {
                Ok(_) => {
                    tally.revoked_accepted.fetch_add(1, Ordering::Relaxed);
                    whole = false;
                }
                Err(AuthError::InvalidToken) => {}
                Err(err) if err.is_unavailable() => whole = false,
                Err(_) => {
                    tally.wrong.fetch_add(1, Ordering::Relaxed);
                    whole = false;
                }
            }
        }
        for user in live {
            let result = manager
                .login(
                    &user.email,
                    &Password::new(PASSWORD),
                    &ClientInfo::default(),
                )
                .await;
            tally.count(&result);
            whole &= result.is_ok();
        }
        whole
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_killed_master_fails_over_without_500s_and_revocation_holds() {
        let mut cluster = TestCluster::start_private_with_replicas(1, NODE_TIMEOUT_MS);
        let connection = RedisConfig::cluster(cluster.urls())
            .unwrap()
            .with_key_prefix(&common::fresh_prefix())
            .unwrap()
            .with_timeout(Duration::from_secs(1))
            .with_connection_timeout(Duration::from_millis(500))
            .connect()
            .await
            .unwrap();
        let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"0123456789abcdef0123456789abcdef").unwrap();
        let manager = UserManager::<NoProfile>::builder(
            Arc::new(MemoryUserStore::new()),
            Arc::new(RedisSessionStore::new(connection)),
            JwtCodec::new(keys, "failover-tests"),
        )
        .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
        .with_config(ManagerConfig {
            rate_limits: RateLimits::none(),
            max_sessions_per_user: None,
            ..ManagerConfig::default()
        })
        .build();

        // Thirty users, so that every master holds sessions (all miss one with odds of 5 in a
        // million); ten of them logged out before the crash.
        let mut users = Vec::new();
        for n in 0..30 {
            users.push(user(&manager, n).await);
        }
        let mut revoked: Vec<User> = users.drain(..10).collect();
        for user in &revoked {
            manager.logout(user.id, user.session).await.unwrap();
            assert!(matches!(
                manager.authenticate_token(&user.access).await,
                Err(AuthError::InvalidToken)
            ));
        }
        // Replication is asynchronous: give the replicas a moment to have the logouts (on
        // loopback they have them within a millisecond).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = Tally::default();
        assert!(round(&manager, &users, &revoked, &before).await);

        // A load in the background for the whole test: four clients looping over the users.
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let users = Arc::new(users);
        let revoked_before = Arc::new(std::mem::take(&mut revoked));
        let load: Vec<_> = (0..4)
            .map(|_| {
                let (manager, users, revoked) =
                    (manager.clone(), users.clone(), revoked_before.clone());
                let (tally, stop) = (tally.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        round(&manager, &users, &revoked, &tally).await;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;

        let master = (0..6)
            .find(|n| cluster.role(*n).as_deref() == Some("master"))
            .expect("a master");
        cluster.kill(master);
        let killed = Instant::now();

        // Recovered: a whole round (every token checked, logins on every master) works.
        let probe = Tally::default();
        let recovered = loop {
            if round(&manager, &users, &revoked_before, &probe).await {
                break killed.elapsed();
            }
            assert!(
                killed.elapsed() < RECOVERY_BOUND,
                "not recovered {RECOVERY_BOUND:?} after the master was killed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let promoted = (0..6)
            .filter(|n| *n != master)
            .filter(|n| cluster.role(*n).as_deref() == Some("master"))
            .count();
        assert_eq!(promoted, 3, "a replica took the killed master's place");

        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.unwrap();
        }

        // Revocation after recovery: ten more users logged out, refused at once.
        let after: Vec<&User> = users.iter().take(10).collect();
        for user in &after {
            manager.logout(user.id, user.session).await.unwrap();
            assert!(
                matches!(
                    manager.authenticate_token(&user.access).await,
                    Err(AuthError::InvalidToken)
                ),
                "a session logged out after the failover is refused"
            );
        }
        let tallies = [&before, &probe, &tally];
        let sum = |pick: fn(&Tally) -> &AtomicU64| -> u64 {
            tallies
                .iter()
                .map(|t| pick(t).load(Ordering::Relaxed))
                .sum()
        };
        println!(
            "master on node {master} killed; recovered after {recovered:?}; load: {} ok, {} \
             unavailable (503), {} other failures, {} revoked tokens accepted",
            sum(|t| &t.ok),
            sum(|t| &t.unavailable),
            sum(|t| &t.wrong),
            sum(|t| &t.revoked_accepted),
        );
        assert_eq!(
            sum(|t| &t.revoked_accepted),
            0,
            "a revoked token was accepted"
        );
        assert!(sum(|t| &t.ok) > 0);
        assert!(recovered < RECOVERY_BOUND);
        assert_eq!(
            sum(|t| &t.wrong),
            0,
            "a failure other than unavailability (a 500) during the failover"
        );
        // Every pre-crash revocation still holds, every untouched session still lives.
        for user in revoked_before.iter() {
            assert!(matches!(
                manager.authenticate_token(&user.access).await,
                Err(AuthError::InvalidToken)
            ));
        }
        for user in users.iter().skip(10) {
            manager.authenticate_token(&user.access).await.unwrap();
        }
    }
}
