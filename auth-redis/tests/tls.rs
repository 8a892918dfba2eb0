//! `rediss://` (feature `tls`): a Redis with a certificate from a private CA, trusted through
//! `with_root_certificates`, and refused without it.
// Helpers outside the #[test] functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Without the feature there is nothing to test; say so instead of passing silently.
#[cfg(not(feature = "tls"))]
#[test]
#[ignore = "the TLS tests need `--features tls` (or `--all-features`)"]
fn needs_the_tls_feature() {}

#[cfg(feature = "tls")]
mod common;

#[cfg(feature = "tls")]
mod rediss {
    use std::path::Path;
    use std::process::Command;

    use super::common;
    use super::common::server::{Process, reserve_ports, scratch_dir};
    use auth_core::conformance::now_seconds;
    use auth_core::conformance::sessions::sample_session;
    use auth_core::{RateLimit, RateLimiter, SessionStore, UserId};
    use auth_redis::{Error, RedisConfig, RedisRateLimiter, RedisSessionStore};

    fn openssl(dir: &Path, args: &[&str]) {
        let status = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("cannot run openssl ({err}); the TLS tests need it"));
        assert!(
            status.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    /// A CA, and a certificate it signed for 127.0.0.1; returns the CA certificate (PEM).
    fn certificates(dir: &Path) -> Vec<u8> {
        std::fs::create_dir_all(dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec![
            "req",
            "-x509",
            "-days",
            "1",
            "-subj",
            "/CN=auth-redis test CA",
        ];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
        openssl(dir, &ca);
        let mut request = vec!["req", "-subj", "/CN=127.0.0.1"];
        request.extend(ec);
        request.extend(["-keyout", "server.key", "-out", "server.csr"]);
        openssl(dir, &request);
        std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.cnf",
                "-out",
                "server.crt",
            ],
        );
        std::fs::read(dir.join("ca.crt")).unwrap()
    }

    /// A Redis answering TLS on its second port (the first, plain, is for the readiness check).
    fn tls_server(dir: &Path) -> (Process, u16) {
        loop {
            let ports = reserve_ports(2);
            let tls_port = ports[1].to_string();
            let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
            let (cert, key, ca) = (file("server.crt"), file("server.key"), file("ca.crt"));
            let args = [
                "--tls-port",
                &tls_port,
                "--tls-cert-file",
                &cert,
                "--tls-key-file",
                &key,
                "--tls-ca-cert-file",
                &ca,
                "--tls-auth-clients",
                "no",
            ];
            if let Some(process) = Process::spawn(ports[0], &dir.to_path_buf(), &args) {
                return (process, ports[1]);
            }
        }
    }

    #[tokio::test]
    async fn a_private_ca_is_trusted_when_configured_and_refused_otherwise() {
        let dir = scratch_dir("private-tls");
        let ca = certificates(&dir);
        let (_server, port) = tls_server(&dir);
        let url = format!("rediss://127.0.0.1:{port}");

        let refused = RedisConfig::from_url(&url).unwrap().connect().await;
        assert!(matches!(refused, Err(Error::Connect(_))), "{refused:?}");

        let redis = RedisConfig::from_url(&url)
            .unwrap()
            .with_root_certificates(ca)
            .connect()
            .await
            .unwrap();
        let store = RedisSessionStore::new(redis.clone());
        let now = now_seconds();
        let session = sample_session(UserId::new(), now);
        store.create(&session, &common::FIRST_LOGIN).await.unwrap();
        assert_eq!(store.get(session.id, now).await.unwrap(), Some(session));
        let limiter = RedisRateLimiter::new(redis);
        let limit = RateLimit::new(1, time::Duration::minutes(1));
        assert!(
            limiter
                .hit("login:ip:192.0.2.1", &limit, now)
                .await
                .unwrap()
                .is_allowed()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
