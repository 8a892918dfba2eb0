// A real OpenID Connect provider for the e2e tests: panva's oidc-provider (v9) over plain HTTP
// on 127.0.0.1, with its built-in development login and consent pages (devInteractions).
//
//   node provider.mjs CONFIG.json [PORT]      (PORT also from $PORT; 0 or none = any free port)
//
// Once listening it prints exactly one JSON line to stdout, {"issuer":"http://127.0.0.1:PORT"};
// everything else (oidc-provider's notices included) goes to stderr. When stdin is a pipe it
// exits once the pipe closes, so a test process that dies does not leave it behind.
// oidc-provider 9 warns "Unsupported runtime" on Node.js 20 but works there.
//
// CONFIG.json:
//   {
//     "clients": [{ "client_id": "app", "client_secret": "…", "redirect_uris": ["http://…"],
//                   "token_endpoint_auth_method": "client_secret_basic" }],   // or _post
//     "accounts": { "alice": { "email": "alice@example.com", "email_verified": true,
//                              "name": "Alice" } },
//     "conform_id_token_claims": false    // optional; true = ID tokens carry only `sub`
//   }
// Clients are oidc-provider client metadata, passed through as they are (response_types defaults
// to ["code"], grant_types to ["authorization_code"]). Accounts map a `sub` (the login typed
// on the login page) to its claims; any other login signs in as an account with only a `sub`.
//
// Test controls, on the same port:
//   POST /__test/rotate   new signing keys (new kids): new ID tokens use them, /jwks lists only
//                         them (?keep=1 keeps the previous keys listed too); ends rogue mode
//   POST /__test/rogue    sign with keys that /jwks does not list (fresh kids)
//   POST /__test/client   body: one client's metadata (JSON); added, or replacing the client of
//                         that client_id (for a redirect URI known only once the app listens)
//   POST /__test/down     stop listening and exit (or just kill the process)
//   GET  /__test/state    {"signing": [kids signing now], "published": [kids in /jwks]}
import { randomBytes, randomUUID, generateKeyPairSync } from 'node:crypto';
import { fstatSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

// stdout carries the one issuer line only.
console.log = console.info = console.debug = console.error;

const [configPath, portArg] = process.argv.slice(2);
if (!configPath) {
  console.error('usage: node provider.mjs CONFIG.json [PORT]');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const port = Number(portArg ?? process.env.PORT ?? config.port ?? 0);
const accounts = config.accounts ?? {};
const withDefaults = (client) => ({
  response_types: ['code'],
  grant_types: ['authorization_code'],
  ...client,
});
let clients = (config.clients ?? []).map(withDefaults);

/** A fresh private JWK for `alg` (RS256 or ES256) with a random kid. */
function signingKey(alg) {
  const { privateKey } = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg}-${randomUUID()}`, alg, use: 'sig' };
}
const signingKeys = () => [signingKey('RS256'), signingKey('ES256')];
const publicPart = ({ kty, kid, alg, use, n, e, crv, x, y }) => ({
  kty, kid, alg, use, n, e, crv, x, y,
});

// Session and interaction cookies survive a key change: the provider object is rebuilt with
// new keys, the same cookie keys and the same (module-wide) in-memory storage.
const cookieKeys = [randomBytes(32).toString('base64url')];
let published = signingKeys(); // listed at /jwks
let signing = published; // what the provider signs with: the first key of an algorithm wins
let issuer;
let provider;
let handler;

function findAccount(_ctx, sub) {
  const known = Object.hasOwn(accounts, sub) ? accounts[sub] : {};
  return {
    accountId: sub,
    async claims() {
      return { ...known, sub };
    },
  };
}

function build() {
  provider = new Provider(issuer, {
    clients,
    findAccount,
    jwks: { keys: signing },
    cookies: { keys: cookieKeys },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'picture', 'locale'],
    },
    scopes: ['openid', 'email', 'profile', 'offline_access'],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 accepts
    conformIdTokenClaims: config.conform_id_token_claims ?? false,
    features: {
      devInteractions: { enabled: true },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 600,
      IdToken: 3600,
      Interaction: 3600,
      Session: 86400,
      Grant: 86400,
    },
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));
  handler = provider.callback();
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** oidc-provider's errors keep the useful part in `error_description`. */
const describe = (error) => [error.message, error.error_description].filter(Boolean).join(': ');

const kids = (keys) => keys.map(({ kid }) => kid);

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function addClient(req, res) {
  let client;
  try {
    client = withDefaults(await readJson(req));
  } catch (error) {
    json(res, 400, { error: `the body is not JSON: ${error.message}` });
    return;
  }
  const previous = clients;
  clients = [...clients.filter(({ client_id: id }) => id !== client.client_id), client];
  try {
    build();
    await provider.Client.validate(client);
  } catch (error) {
    clients = previous;
    build();
    json(res, 400, { error: describe(error) });
    return;
  }
  json(res, 200, { clients: clients.map(({ client_id: id }) => id) });
}

const server = createServer((req, res) => {
  const { pathname, searchParams } = new URL(req.url, issuer);
  if (pathname === '/jwks' && req.method === 'GET') {
    res.writeHead(200, {
      'content-type': 'application/jwk-set+json; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(JSON.stringify({ keys: published.map(publicPart) }));
    return;
  }
  if (pathname.startsWith('/__test/')) {
    const action = `${req.method} ${pathname.slice('/__test/'.length)}`;
    switch (action) {
      case 'POST rotate': {
        const fresh = signingKeys();
        published = searchParams.get('keep') === '1' ? [...fresh, ...published] : fresh;
        signing = published;
        build();
        break;
      }
      case 'POST rogue':
        signing = [...signingKeys(), ...published];
        build();
        break;
      case 'POST down':
        json(res, 200, { down: true });
        server.close();
        server.closeAllConnections();
        setImmediate(() => process.exit(0));
        return;
      case 'POST client':
        addClient(req, res);
        return;
      case 'GET state':
        break;
      default:
        json(res, 404, { error: `no test control ${action}` });
        return;
    }
    json(res, 200, { signing: kids(signing), published: kids(published) });
    return;
  }
  handler(req, res);
});

server.listen(port, '127.0.0.1', async () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  try {
    build();
    // Clients are checked on first use; a mistake in the configuration should stop us here.
    for (const client of clients) await provider.Client.validate(client);
  } catch (error) {
    console.error(`invalid configuration: ${describe(error)}`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

if (fstatSync(0).isFIFO()) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
