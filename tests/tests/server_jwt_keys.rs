//! The reference server with `JWT_KEYS_DIR`: keys rotated and removed while it runs (`SIGHUP`),
//! a bad file ignored, and its tokens verified through `/.well-known/jwks.json` by panva's
//! `jose` (`createRemoteJWKSet` + `jwtVerify`), a JOSE library we do not use ourselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use auth_e2e::oidc;
use auth_e2e::server::{Backend, Config, PASSWORD, Server};
use serde_json::Value;

const ISSUER: &str = "e2e-keys";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../auth-core/tests/keys");

fn key(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(KEYS).join(name)).unwrap()
}

/// Writes a key file as an operator should: under a hidden name, then renamed into place.
fn install(dir: &Path, name: &str, contents: &[u8]) {
    let staging = dir.join(format!(".{name}.tmp"));
    std::fs::write(&staging, contents).unwrap();
    std::fs::rename(staging, dir.join(name)).unwrap();
}

/// What `node jwks-verify.mjs` answered about `token`.
fn jose_verify(server: &Server, token: &str) -> Value {
    let dir = oidc::package_dir();
    oidc::ensure_installed(&dir);
    let output = Command::new("node")
        .arg(dir.join("jwks-verify.mjs"))
        .args([
            &server.url("/.well-known/jwks.json"),
            ISSUER,
            "accounts:access",
            "EdDSA",
            token,
        ])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|error| panic!("cannot run `node` (Node.js 20+ is needed): {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "jwks-verify.mjs printed no answer ({}): {stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(output.status.success(), answer["ok"] == true, "{answer}");
    answer
}

async fn jwks(server: &Server) -> (reqwest::header::HeaderMap, Value) {
    let res = server
        .http
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    (headers, res.json().await.unwrap())
}

fn kids(jwks: &Value) -> Vec<String> {
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// Sends `SIGHUP` and waits until the JWKS lists exactly `expected`.
async fn reload(server: &Server, expected: &[&str]) {
    server.hangup();
    for _ in 0..200 {
        if kids(&jwks(server).await.1) == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the keys did not become {expected:?}:\n{}", server.log());
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn access_token(server: &Server, email: &str) -> String {
    server.tokens(email, PASSWORD).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_and_retire_while_the_server_runs_and_jose_verifies_through_the_jwks() {
    let keys_dir = tempfile::tempdir().unwrap();
    let dir: PathBuf = keys_dir.path().to_owned();
    install(&dir, "2026-01.pem", &key("ed25519-test-private.pem"));
    let config = Config::new(Backend::Sqlite)
        .await
        .without("JWT_SECRET_KEY")
        .with("JWT_ALGORITHM", "EdDSA")
        .with("JWT_KEYS_DIR", dir.to_str().unwrap())
        // Reloads come from SIGHUP in this test, not from the timer.
        .with("JWT_KEYS_RELOAD_INTERVAL", "1h")
        .with("JWT_ISSUER", ISSUER);
    let server = config.start().await;
    server.register("alice@example.com", PASSWORD).await;

    // One key, published without any private part, and cacheable for a short while.
    let (headers, document) = jwks(&server).await;
    assert_eq!(kids(&document), ["2026-01"]);
    assert_eq!(headers["cache-control"], "public, max-age=300");
    for key in document["keys"].as_array().unwrap() {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "EdDSA");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }

    let old = access_token(&server, "alice@example.com").await;
    assert_eq!(kid_of(&old), "2026-01");
    let answer = jose_verify(&server, &old);
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["kid"], "2026-01");
    assert_eq!(answer["payload"]["iss"], ISSUER);

    // Rotation: a newer key signs; the old one keeps verifying, so nobody is logged out.
    install(&dir, "2026-07.pem", &key("ed25519-test-second-private.pem"));
    reload(&server, &["2026-01", "2026-07"]).await;
    let new = access_token(&server, "alice@example.com").await;
    assert_eq!(kid_of(&new), "2026-07");
    assert_eq!(server.me(&old).await.status(), 200);
    assert_eq!(server.me(&new).await.status(), 200);
    assert_eq!(jose_verify(&server, &old)["ok"], true);
    assert_eq!(jose_verify(&server, &new)["ok"], true);

    // A bad file: logged, and the keys in use are kept.
    install(
        &dir,
        "broken.pem",
        b"-----BEGIN PRIVATE KEY-----\nnot a key\n",
    );
    server.hangup();
    for _ in 0..200 {
        if server.log().contains("jwt keys not reloaded") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.log().contains("jwt keys not reloaded"),
        "{}",
        server.log()
    );
    assert_eq!(kids(&jwks(&server).await.1), ["2026-01", "2026-07"]);
    assert_eq!(server.me(&old).await.status(), 200);
    assert_eq!(
        kid_of(&access_token(&server, "alice@example.com").await),
        "2026-07"
    );
    std::fs::remove_file(dir.join("broken.pem")).unwrap();

    // Retired: the public half only. Its tokens still verify, here and for jose.
    let public = key("ed25519-test-public.pem");
    std::fs::remove_file(dir.join("2026-01.pem")).unwrap();
    install(&dir, "2026-01.pub.pem", &public);
    reload(&server, &["2026-01", "2026-07"]).await;
    assert_eq!(server.me(&old).await.status(), 200);
    assert_eq!(jose_verify(&server, &old)["ok"], true);

    // Removed: its tokens are refused, by the server (whatever it cached) and by jose.
    std::fs::remove_file(dir.join("2026-01.pub.pem")).unwrap();
    reload(&server, &["2026-07"]).await;
    assert_eq!(server.me(&old).await.status(), 401);
    assert_eq!(server.me(&new).await.status(), 200);
    let answer = jose_verify(&server, &old);
    assert_eq!(answer["ok"], false, "{answer}");
    assert_eq!(answer["code"], "ERR_JWKS_NO_MATCHING_KEY", "{answer}");
    assert_eq!(jose_verify(&server, &new)["ok"], true);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hmac_server_publishes_no_jwks_and_a_bad_key_dir_stops_the_start() {
    let config = Config::new(Backend::Sqlite).await;
    let server = config.start().await;
    let res = server
        .http
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    server.stop().await;

    let empty = tempfile::tempdir().unwrap();
    let output = config
        .without("JWT_SECRET_KEY")
        .with("JWT_ALGORITHM", "EdDSA")
        .with("JWT_KEYS_DIR", empty.path().to_str().unwrap())
        .run(&["serve"], "");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stderr.contains("no private key") || stdout.contains("no private key"),
        "{stderr}{stdout}"
    );
}
