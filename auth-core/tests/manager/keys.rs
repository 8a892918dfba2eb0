//! Key sets behind the manager: the cache of verified asymmetric tokens never outlives the
//! session or the key that made them.

use auth_core::{JwtAlgorithm, JwtCodec, JwtKeySet, JwtKeys, SharedJwtKeySet};

use crate::harness::Harness;

const ED_PRIVATE: &[u8] = include_bytes!("../keys/ed25519-test-private.pem");
const ED2_PRIVATE: &[u8] = include_bytes!("../keys/ed25519-test-second-private.pem");

fn ed(pem: &[u8], kid: &str) -> JwtKeys {
    JwtKeys::from_private_pem(JwtAlgorithm::EdDSA, pem)
        .unwrap()
        .with_kid(kid)
}

#[tokio::test]
async fn a_cached_token_of_a_revoked_session_is_refused() {
    let h = Harness::with_codec(JwtCodec::new(ed(ED_PRIVATE, "a"), "tests"));
    let user = h.register("alice@example.com").await;
    let login = h.login("alice@example.com").await;
    let token = &login.tokens.access_token;
    // Verified, then answered from the cache.
    let claims = h.manager.authenticate_token(token).await.unwrap();
    h.manager.authenticate_token(token).await.unwrap();

    h.manager.logout(user.id, claims.sid).await.unwrap();
    // The signature is still cached as good; the session check after it refuses the token.
    assert!(h.manager.authenticate_token(token).await.is_err());
    assert!(h.manager.authenticator().authenticate(token).await.is_err());
}

#[tokio::test]
async fn removing_a_key_refuses_its_cached_tokens_and_rotation_keeps_them() {
    let keys = SharedJwtKeySet::new(JwtKeySet::new(ed(ED_PRIVATE, "old")));
    let h = Harness::with_codec(JwtCodec::with_shared_keys(keys.clone(), "tests"));
    h.register("alice@example.com").await;
    let before = h.login("alice@example.com").await.tokens.access_token;
    h.manager.authenticate_token(&before).await.unwrap();

    keys.store(
        JwtKeySet::new(ed(ED2_PRIVATE, "new"))
            .with_key(ed(ED_PRIVATE, "old"))
            .unwrap(),
    );
    h.manager.authenticate_token(&before).await.unwrap();
    let after = h.login("alice@example.com").await.tokens.access_token;
    let header = jsonwebtoken::decode_header(&after).unwrap();
    assert_eq!(header.kid.as_deref(), Some("new"));
    h.manager.authenticate_token(&after).await.unwrap();

    keys.store(JwtKeySet::new(ed(ED2_PRIVATE, "new")));
    assert!(h.manager.authenticate_token(&before).await.is_err());
    h.manager.authenticate_token(&after).await.unwrap();
}
