// Verifies one of our access tokens the way another service would: panva's `jose`, a JOSE
// library the Rust code does not use, fetching the keys from our JWKS endpoint.
//
//   node jwks-verify.mjs <jwks-url> <issuer> <audience> <algorithm> <token>
//
// Prints `{"ok":true,"kid":...,"payload":{...}}` and exits 0 when the token verifies;
// prints `{"ok":false,"code":...,"message":...}` and exits 1 otherwise.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";

const [jwksUrl, issuer, audience, algorithm, token] = process.argv.slice(2);
if (!token) {
  console.error("usage: node jwks-verify.mjs <jwks-url> <issuer> <audience> <algorithm> <token>");
  process.exit(2);
}

try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 0 });
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    algorithms: [algorithm],
    typ: "JWT",
  });
  console.log(JSON.stringify({ ok: true, kid: protectedHeader.kid, payload }));
} catch (error) {
  let kid = null;
  try {
    kid = decodeProtectedHeader(token).kid ?? null;
  } catch {}
  console.log(JSON.stringify({ ok: false, kid, code: error.code ?? null, message: String(error.message) }));
  process.exit(1);
}
