//! The HTML pages, built on the cookie backend and the middleware: sign up, log in (with a
//! password, a passkey, and the second step), account (the session list and "log out
//! everywhere", the authenticator app, passkeys), log out, forgot / reset password, verify.
//!
//! Forms post to the JSON API with `fetch` from the same origin, so the cross-site check
//! passes them and no token ever sits in a URL: mail links carry theirs in the fragment.

use auth_axum::{Auth, AuthUser, CurrentUser, safe_next};
use auth_core::mfa::PasskeyInfo;
use auth_core::{AuditEvent, AuditQuery, Session};
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::Names;

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}\
form{display:grid;gap:.6rem}label{display:grid;gap:.2rem}input,textarea,button{font:inherit;padding:.5rem}button{cursor:pointer}\
article{border-bottom:1px solid #ddd;padding:.2rem 0 .6rem}article h2{margin:.6rem 0 .2rem;font-size:1.2rem}.meta{color:#666;font-size:.85rem;margin:0}.text{white-space:pre-wrap}\
.error{color:#b00020}.ok{color:#1b5e20}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;font-size:.9rem}\
nav a{margin-right:1rem}form>div{display:grid;gap:.6rem}label.check{display:flex;gap:.4rem;align-items:center}[hidden]{display:none!important}";

/// The pages' shared script: `send` posts to the JSON API, `explain` turns any answer the
/// pages can get (every `detail` code, a validation error, a `429` with its `Retry-After`, a
/// failed connection) into a sentence for a person.
const SCRIPT: &str = r#"
async function send(url, options) {
  let response;
  try {
    response = await fetch(url, Object.assign({credentials: 'same-origin'}, options));
  } catch (e) {
    return {status: 0, body: null, retryAfter: null};
  }
  let body = null;
  try { body = await response.json(); } catch (e) {}
  return {status: response.status, body, retryAfter: response.headers.get('Retry-After')};
}
const MESSAGES = {
  LOGIN_BAD_CREDENTIALS: 'The e-mail address or the password is wrong.',
  LOGIN_USER_NOT_VERIFIED: 'Please verify your e-mail address first: open the link in the mail we sent you.',
  REGISTER_USER_ALREADY_EXISTS: 'There is already an account with this e-mail address. Log in, or reset your password if you forgot it.',
  REGISTER_USERNAME_ALREADY_EXISTS: 'This username is taken. Please choose another one.',
  RESET_PASSWORD_BAD_TOKEN: 'This reset link is not valid any more: it was used already, has expired, or was copied incompletely. Ask for a new one.',
  VERIFY_USER_BAD_TOKEN: 'This verification link is not valid: it has expired or was copied incompletely. Log in to ask for a new one on your account page.',
  VERIFY_USER_ALREADY_VERIFIED: 'Your address is already verified. You can log in.',
  UPDATE_USER_EMAIL_ALREADY_EXISTS: 'Another account already uses this e-mail address.',
  UPDATE_USER_USERNAME_ALREADY_EXISTS: 'This username is taken. Please choose another one.',
  UPDATE_USER_BAD_CURRENT_PASSWORD: 'Your current password is wrong.',
  MFA_BAD_CODE: 'This code is wrong, or was used already. Wait for the next code of your app, or use a recovery code.',
  MFA_TOKEN_INVALID: 'This sign-in has expired. Please enter your password again.',
  MFA_ALREADY_ENABLED: 'An authenticator app is already set up.',
  MFA_NOT_ENABLED: 'No authenticator app is set up.',
  PASSKEY_INVALID: 'This passkey was not accepted: it may have been removed from the account, or the request took too long. Please try again.',
  PASSKEYS_UNAVAILABLE: 'Passkeys are not available on this site: it is not served under a domain name.',
};
const PASSWORD_CODES = ['REGISTER_INVALID_PASSWORD', 'RESET_PASSWORD_INVALID_PASSWORD', 'UPDATE_USER_INVALID_PASSWORD'];
const STATUSES = {
  400: 'The request was not understood. Please check what you entered.',
  401: 'You are not signed in, or your session has ended. Please log in again.',
  403: 'You are not allowed to do this.',
  404: 'This was not found: it may have been removed.',
  405: 'This action is not available here.',
  413: 'What you sent is too large.',
  415: 'The request was not understood. Please reload the page and try again.',
  500: 'Something went wrong on our side. Please try again later.',
  502: 'The service is unavailable right now. Please try again in a moment.',
  503: 'The service is unavailable right now. Please try again in a moment.',
  504: 'The service did not answer in time. Please try again in a moment.',
};
const FIELDS = {email: 'E-mail', password: 'Password', username: 'E-mail or username', first_name: 'First name', second_name: 'Second name', token: 'The link', title: 'Title', body: 'Text', current_password: 'Current password'};
function sentence(text) {
  text = String(text || '').trim();
  if (!text) return '';
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : text + '.';
}
function waitFor(retryAfter) {
  const seconds = Number.parseInt(retryAfter, 10);
  if (!Number.isFinite(seconds) || seconds <= 0) return 'Please wait a while before trying again.';
  if (seconds < 60) return 'Please try again in ' + seconds + (seconds === 1 ? ' second.' : ' seconds.');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return 'Please try again in ' + minutes + (minutes === 1 ? ' minute.' : ' minutes.');
  const hours = Math.ceil(minutes / 60);
  return 'Please try again in ' + hours + (hours === 1 ? ' hour.' : ' hours.');
}
function invalidField(error) {
  const loc = (error.loc || []).filter(part => part !== 'body');
  const field = loc.length ? (FIELDS[loc[loc.length - 1]] || loc.join(' ')) : null;
  if (error.type === 'missing') return field ? field + ' is required.' : 'Something required is missing.';
  if (error.type === 'json_invalid' || !field) return 'The request was not understood. Please reload the page and try again.';
  let msg = String(error.msg || 'is not valid');
  if (msg.startsWith('Value error, ')) msg = msg.slice('Value error, '.length);
  const notAnAddress = 'value is not a valid email address: ';
  if (msg.startsWith(notAnAddress)) msg = 'this is not a valid e-mail address (' + msg.slice(notAnAddress.length) + ')';
  return field + ': ' + sentence(msg).replace(/^./, c => c.toLowerCase());
}
function explain(r) {
  if (r.status === 0) return 'The server cannot be reached. Check your connection and try again.';
  if (r.status === 429) return 'Too many attempts. ' + waitFor(r.retryAfter);
  const d = r.body && r.body.detail;
  if (r.status === 422 && Array.isArray(d)) return d.map(invalidField).join(' ');
  if (typeof d === 'string' && MESSAGES[d]) return MESSAGES[d];
  if (d && typeof d === 'object' && PASSWORD_CODES.includes(d.code)) {
    return 'This password cannot be used: ' + sentence(d.reason).replace(/^Password /, 'it ').replace(/^./, c => c.toLowerCase());
  }
  return STATUSES[r.status] || 'Something went wrong (error ' + r.status + '). Please try again.';
}
function show(id, text, ok) {
  const el = document.getElementById(id);
  el.textContent = text;
  el.className = ok ? 'ok' : 'error';
}
function fragmentToken() {
  return new URLSearchParams(location.hash.slice(1)).get('token') || '';
}
"#;

/// The passkey helpers of the login and account pages: the options of a ceremony's start
/// (binary fields in base64url) for `navigator.credentials`, the browser's answer as JSON for
/// the finish (the browser's own `parse…FromJSON` and `toJSON` where it has them, else the
/// same by hand), and a sentence for a failed `navigator.credentials` call.
const WEBAUTHN: &str = r#"<script>
const passkeysHere = !!(window.PublicKeyCredential && navigator.credentials);
function fromB64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='));
  return Uint8Array.from(bytes, c => c.charCodeAt(0)).buffer;
}
function toB64url(buffer) {
  let bytes = '';
  for (const b of new Uint8Array(buffer)) bytes += String.fromCharCode(b);
  return btoa(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function withIds(list) {
  return (list || []).map(c => Object.assign({}, c, {id: fromB64url(c.id)}));
}
function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  const options = structuredClone(json);
  options.challenge = fromB64url(json.challenge);
  options.user = Object.assign({}, json.user, {id: fromB64url(json.user.id)});
  options.excludeCredentials = withIds(json.excludeCredentials);
  return options;
}
function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  const options = structuredClone(json);
  options.challenge = fromB64url(json.challenge);
  options.allowCredentials = withIds(json.allowCredentials);
  return options;
}
function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = {clientDataJSON: toB64url(r.clientDataJSON)};
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    if (typeof r.getTransports === 'function') response.transports = r.getTransports();
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    if (r.userHandle) response.userHandle = toB64url(r.userHandle);
  }
  // Extension outputs that are buffers do not survive JSON; none is read by the server.
  const results = JSON.parse(JSON.stringify(cred.getClientExtensionResults()));
  return {id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response, clientExtensionResults: results,
    authenticatorAttachment: cred.authenticatorAttachment || undefined};
}
function passkeyProblem(error, rpId) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'AbortError') return 'No passkey was used: the request was cancelled or timed out.';
  if (name === 'InvalidStateError') return 'This device already holds a passkey of your account.';
  if (name === 'SecurityError') {
    return rpId && rpId !== location.hostname
      ? 'Passkeys of this site work only when it is opened as ' + rpId + ', not ' + location.hostname + '.'
      : 'Passkeys cannot be used at this address.';
  }
  if (name === 'NotSupportedError') return 'This device has no kind of passkey that this site accepts.';
  return 'The passkey did not work (' + (name || 'unknown error') + '). Please try again.';
}
function postJSON(url, body) {
  return send(url, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
}
</script>"#;

/// A page of the site: the shared style, script and navigation around `body` (HTML).
pub(crate) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style><script>{SCRIPT}</script></head>\
         <body><nav><a href=\"/\">Home</a><a href=\"/account\">Account</a><a href=\"/blog\">Articles</a><a href=\"/docs\">API</a></nav>\
         <h1>{title}</h1>{body}</body></html>"
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Every page.
pub fn routes<S: Clone + Send + Sync + 'static>(auth: Auth<Names>) -> Router<S> {
    Router::new()
        .route("/", get(home))
        .route("/register", get(register))
        .route("/login", get(login))
        .route("/account", get(account))
        .route("/logout", get(logout))
        .route("/forgot-password", get(forgot))
        .route("/reset-password", get(reset))
        .route("/verify", get(verify))
        .with_state(auth)
}

async fn home(user: Option<CurrentUser>) -> Response {
    let body = match user {
        Some(_) => "<p>You are signed in. <a href=\"/account\">Your account</a>.</p>".to_owned(),
        None => {
            "<p><a href=\"/register\">Sign up</a> or <a href=\"/login\">log in</a>.</p>".to_owned()
        }
    };
    page("Accounts", &body)
}

async fn register() -> Response {
    page(
        "Sign up",
        r#"<form id="f">
<label>E-mail <input name="email" type="email" autocomplete="email" required></label>
<label>Password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>
<label>First name <input name="first_name" autocomplete="given-name"></label>
<label>Second name <input name="second_name" autocomplete="family-name"></label>
<button>Sign up</button><p id="msg"></p></form>
<p>Already registered? <a href="/login">Log in</a>.</p>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const data = Object.fromEntries(form.entries());
  for (const k of ['first_name', 'second_name']) if (!data[k]) delete data[k];
  const created = await send('/auth/register', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(data)});
  if (created.status !== 201 && created.status !== 202) return show('msg', explain(created), false);
  const login = await send('/auth/cookie/login', {method: 'POST', body: new URLSearchParams({username: data.email, password: data.password})});
  if (login.status === 204) location.href = '/account';
  else show('msg', 'Account created. ' + explain(login), login.status < 500);
});
</script>"#,
    )
}

/// The query of the login page.
#[derive(Debug, serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
    /// The code of a failed provider sign-in, which sends the browser back here.
    error: Option<String>,
}

/// Where the login page sends the visitor: the `next` it was given when that passes the one
/// rule of `auth_axum::safe_next`, else the account page. The page's script reads this value
/// from the form's `data-next` (a JSON string); it never reads the address bar.
fn login_target(query: Result<Query<LoginQuery>, QueryRejection>) -> String {
    let next = query.ok().and_then(|Query(query)| query.next);
    next.as_deref()
        .and_then(safe_next)
        .unwrap_or("/account")
        .to_owned()
}

async fn login(
    State(auth): State<Auth<Names>>,
    query: Result<Query<LoginQuery>, QueryRejection>,
) -> Response {
    let error = query
        .as_ref()
        .ok()
        .and_then(|Query(query)| query.error.clone())
        .map(|code| {
            format!(
                r#"<p class="err" id="oauth-error">{}</p>"#,
                escape(&provider_error(&code))
            )
        })
        .unwrap_or_default();
    let target = login_target(query);
    let next = serde_json::Value::from(target.clone()).to_string();
    let form = format!(r#"{error}<form id="f" data-next="{}">"#, escape(&next));
    let providers: String = auth
        .oauth_client()
        .map(|client| {
            let mut names: Vec<&str> = client.providers().map(|p| p.name()).collect();
            names.sort_unstable();
            names
                .into_iter()
                .map(|name| {
                    format!(
                        r#"<p><a class="provider" href="/auth/cookie/{0}/authorize?next={1}">Continue with {0}</a></p>"#,
                        escape(name),
                        escape(&percent(&target)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    page(
        "Log in",
        &(form
            + &providers
            + r#"
<label>E-mail or username <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button>
<button type="button" id="passkey-login">Sign in with a passkey</button><p id="msg"></p></form>
<form id="second" hidden>
<p id="second-intro">Enter the 6-digit code of your authenticator app, or one of your recovery codes.</p>
<div id="second-code"><label>Code <input name="code" id="code" autocomplete="one-time-code" inputmode="numeric" required></label>
<label class="check"><input type="checkbox" id="use-recovery"> This is a recovery code</label>
<button>Continue</button></div>
<button type="button" id="use-passkey" hidden>Use a passkey</button><p id="msg2"></p></form>
<p><a href="/forgot-password">Forgot your password?</a> · <a href="/register">Sign up</a></p>"#
            + WEBAUTHN
            + r#"<script>
const first = document.getElementById('f');
const second = document.getElementById('second');
let mfaToken = null;
// Checked on the server (auth_axum::safe_next): a path of this site.
const goNext = () => { location.href = JSON.parse(first.dataset.next); };
// A failed second step: an expired or spent token sends the visitor back to the password.
function secondFailed(r, msg) {
  if (!(r.body && r.body.detail === 'MFA_TOKEN_INVALID')) return show(msg, explain(r), false);
  mfaToken = null;
  second.hidden = true;
  first.hidden = false;
  show('msg', explain(r), false);
}
first.addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await send('/auth/cookie/login', {method: 'POST', body: new URLSearchParams(new FormData(e.target))});
  const d = r.body && r.body.detail;
  if (r.status === 403 && d && d.code === 'LOGIN_MFA_REQUIRED') return secondStep(d.mfa_token, d.methods);
  if (r.status !== 204) return show('msg', explain(r), false);
  goNext();
});
function secondStep(token, methods) {
  mfaToken = token;
  methods = Array.isArray(methods) && methods.length ? methods : ['totp', 'recovery_code'];
  const codes = methods.includes('totp') || methods.includes('recovery_code');
  const passkey = methods.includes('passkey');
  document.getElementById('second-code').hidden = !codes;
  document.getElementById('code').disabled = !codes;
  document.getElementById('use-passkey').hidden = !passkey;
  document.getElementById('second-intro').textContent = codes
    ? 'Enter the 6-digit code of your authenticator app, or one of your recovery codes' + (passkey ? ', or use a passkey.' : '.')
    : 'Confirm with a passkey of your account.';
  document.getElementById('msg2').textContent = '';
  first.hidden = true;
  second.hidden = false;
  if (codes) document.getElementById('code').focus();
}
// A provider sign-in of an account with a second factor comes back here with its token in
// the fragment (never sent to a server); the address bar forgets it at once.
{
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('mfa_token');
  if (token) {
    history.replaceState(null, '', location.pathname + location.search);
    secondStep(token, (fragment.get('methods') || '').split(',').filter(Boolean));
  }
}
second.addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = document.getElementById('code').value.trim();
  const body = document.getElementById('use-recovery').checked
    ? {mfa_token: mfaToken, recovery_code: code}
    : {mfa_token: mfaToken, code};
  const r = await postJSON('/auth/cookie/mfa', body);
  if (r.status === 204) return goNext();
  secondFailed(r, 'msg2');
});
// A sign-in with a passkey: alone (the browser offers the passkeys it holds for this site),
// or, with the token of a password login, as its second step.
async function passkeySignIn(token, msg) {
  if (!passkeysHere) return show(msg, 'This browser cannot use passkeys.', false);
  show(msg, 'Waiting for your passkey…', true);
  const start = await postJSON('/auth/cookie/passkey/start', token ? {mfa_token: token} : {});
  if (start.status !== 200) return secondFailed(start, msg);
  let cred;
  try {
    // Only the options: a "mediation" beside them is for conditional (autofill) requests.
    cred = await navigator.credentials.get({publicKey: requestOptions(start.body.publicKey)});
  } catch (error) {
    return show(msg, passkeyProblem(error, start.body.publicKey.rpId), false);
  }
  if (!cred) return show(msg, 'No passkey was used.', false);
  const body = {state: start.body.state, credential: credentialJSON(cred)};
  if (token) body.mfa_token = token;
  const r = await postJSON('/auth/cookie/passkey/finish', body);
  if (r.status === 204) return goNext();
  secondFailed(r, msg);
}
const passkeyLogin = document.getElementById('passkey-login');
passkeyLogin.hidden = !passkeysHere;
passkeyLogin.addEventListener('click', () => passkeySignIn(null, 'msg'));
document.getElementById('use-passkey').addEventListener('click', () => passkeySignIn(mfaToken, 'msg2'));
</script>"#),
    )
}

/// What a failed provider sign-in's code means, for the login page.
fn provider_error(code: &str) -> String {
    match code {
        "OAUTH_USER_ALREADY_EXISTS" => {
            "An account with this e-mail address exists: log in with its password, then link the provider from your account page.".to_owned()
        }
        "OAUTH_NOT_AVAILABLE_EMAIL" => "The provider did not share an e-mail address.".to_owned(),
        "OAUTH_INVALID_STATE" | "ACCESS_TOKEN_DECODE_ERROR" | "ACCESS_TOKEN_ALREADY_EXPIRED" => {
            "That sign-in link was used or has expired: please try again.".to_owned()
        }
        "OAUTH_PROVIDER_ERROR" => "The provider could not be reached: please try again later.".to_owned(),
        "LOGIN_BAD_CREDENTIALS" => "This account is disabled.".to_owned(),
        _ => "Sign-in with the provider did not complete.".to_owned(),
    }
}

/// Percent-encodes a path for a query parameter.
fn percent(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn session_row(session: &Session, current: &CurrentUser) -> String {
    let this = session.id == current.session_id;
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&session.created_at.date().to_string()),
        escape(session.user_agent.as_deref().unwrap_or("unknown")),
        escape(&session.ip.map(|ip| ip.to_string()).unwrap_or_default()),
        if this {
            "this device".to_owned()
        } else {
            format!("<button data-session=\"{}\">Revoke</button>", session.id)
        },
    )
}

/// A moment as the pages show it: `2026-03-01 14:05 UTC`.
fn moment(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

fn passkey_row(passkey: &PasskeyInfo) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td><button data-passkey=\"{}\">Remove</button></td></tr>",
        escape(&passkey.name),
        escape(&moment(passkey.created_at)),
        escape(
            &passkey
                .last_used_at
                .map_or_else(|| "never".to_owned(), moment)
        ),
        passkey.id,
    )
}

/// How many events "Recent activity" shows.
const RECENT_EVENTS: u32 = 10;

/// One event of "Recent activity": when, what (and how, and why), from where.
fn event_row(event: &AuditEvent) -> String {
    let what = [Some(event.kind()), event.method(), event.detail()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&moment(event.at())),
        escape(&what),
        escape(&event.ip().map(|ip| ip.to_string()).unwrap_or_default()),
        escape(event.user_agent().unwrap_or("")),
    )
}

/// How young a session must be for the server to add a passkey without the password
/// (`auth_core`'s rule): the page asks for the password only for an older one.
const FRESH_SESSION: time::Duration = time::Duration::minutes(5);

async fn account(
    State(auth): State<Auth<Names>>,
    current: CurrentUser,
    AuthUser(user): AuthUser<Names>,
) -> Response {
    let sessions = auth
        .manager()
        .list_sessions(user.id)
        .await
        .unwrap_or_default();
    let rows: String = sessions.iter().map(|s| session_row(s, &current)).collect();
    // A small margin, so that the password is asked for rather than refused on the click.
    let fresh = sessions.iter().any(|s| {
        s.id == current.session_id
            && time::OffsetDateTime::now_utc() - s.created_at
                < FRESH_SESSION - time::Duration::seconds(30)
    });
    let events = auth
        .manager()
        .user_events(
            user.id,
            &AuditQuery {
                limit: RECENT_EVENTS,
                offset: 0,
            },
        )
        .await
        .map(|page| page.items)
        .unwrap_or_default();
    let event_rows: String = events.iter().map(event_row).collect();
    let passkeys = auth.manager().passkeys(user.id).await.unwrap_or_default();
    let passkey_rows: String = passkeys.iter().map(passkey_row).collect();
    let passkeys_part = format!(
        r#"<p id="passkeys-none"{none_hidden}>No passkeys yet.</p>
<table id="passkeys"{list_hidden}><tr><th>Name</th><th>Added</th><th>Last used</th><th></th></tr>{passkey_rows}</table>
<form id="passkey-add"><label>Name of the new passkey <input name="name" id="passkey-name" maxlength="64" placeholder="for example: Laptop"></label>
<label id="passkey-password"{password_hidden}>Current password <input name="current_password" type="password" autocomplete="current-password"{password_required}></label>
<button>Add a passkey</button></form>
<p id="msg-passkeys"></p>"#,
        none_hidden = if passkeys.is_empty() { "" } else { " hidden" },
        list_hidden = if passkeys.is_empty() { " hidden" } else { "" },
        password_hidden = if fresh { " hidden" } else { "" },
        password_required = if fresh { "" } else { " required" },
    );
    let totp_on = auth.manager().totp_enabled(user.id).await.unwrap_or(false);
    let codes_left = auth
        .manager()
        .recovery_codes_left(user.id)
        .await
        .unwrap_or(0);
    let two_step = if totp_on {
        format!(
            r#"<p id="totp-state">Authenticator app: <strong>on</strong>. Recovery codes left: {codes_left}.</p>
<form id="totp-off"><label>Current password <input name="current_password" type="password" autocomplete="current-password" required></label>
<button name="action" value="remove">Remove the authenticator app</button> <button name="action" value="codes">New recovery codes</button></form>"#
        )
    } else {
        r#"<p id="totp-state">Authenticator app: off.</p>
<form id="totp-on"><label>Current password <input name="current_password" type="password" autocomplete="current-password" required></label>
<button>Set up an authenticator app</button></form>
<div id="totp-setup" hidden><p>Scan this code with your authenticator app, or type the key <code id="totp-secret"></code>.</p>
<img id="totp-qr" alt="QR code of the key" width="200" height="200">
<form id="totp-confirm"><label>Code from the app <input name="code" id="totp-code" autocomplete="one-time-code" inputmode="numeric" required></label><button>Turn on</button></form></div>"#
            .to_owned()
    };
    let name = [
        user.profile.first_name.as_deref(),
        user.profile.second_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let roles = user.roles.iter().collect::<Vec<_>>().join(", ");
    page(
        "Your account",
        &format!(
            r#"<p id="who">Signed in as <strong>{email}</strong>{name}.</p>
<p>Roles: {roles}. Address {verified}.</p>{resend}
<h2>Two-step sign-in</h2>
{two_step}
<div id="recovery" hidden><p>Your recovery codes. Each works once, in place of a code of your app. Keep them somewhere safe: they are shown only now.</p><ul id="recovery-codes"></ul></div>
<p id="msg-2fa"></p>
<h2>Passkeys</h2>
<p>A passkey signs you in without your password, with your device's screen lock or security key; after the password, it also serves as the second step.</p>
{passkeys_part}
<h2>Sessions</h2>
<table><tr><th>Since</th><th>Device</th><th>IP</th><th></th></tr>{rows}</table>
<p><button id="everywhere">Log out everywhere</button> <button id="logout">Log out</button></p><p id="msg"></p>
<h2>Recent activity</h2>
<table id="activity"><tr><th>When</th><th>What</th><th>IP</th><th>Device</th></tr>{event_rows}</table>
{webauthn}<script>
document.querySelectorAll('button[data-session]').forEach(b => b.addEventListener('click', async () => {{
  const r = await send('/users/me/sessions/' + b.dataset.session, {{method: 'DELETE'}});
  if (r.status === 204) b.closest('tr').remove(); else show('msg', explain(r), false);
}}));
const resend = document.getElementById('resend');
if (resend) resend.addEventListener('click', async () => {{
  const r = await send('/auth/request-verify-token', {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify({{email: resend.dataset.email}})}});
  show('msg', r.status === 202 ? 'A new verification link is on its way.' : explain(r), r.status === 202);
}});
function showCodes(codes) {{
  const list = document.getElementById('recovery-codes');
  list.replaceChildren(...codes.map(c => {{ const li = document.createElement('li'); li.textContent = c; return li; }}));
  document.getElementById('recovery').hidden = false;
}}
const json = (body) => ({{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify(body)}});
const on = document.getElementById('totp-on');
if (on) on.addEventListener('submit', async (e) => {{
  e.preventDefault();
  const r = await send('/users/me/mfa/totp', json(Object.fromEntries(new FormData(e.target))));
  if (r.status !== 200) return show('msg-2fa', explain(r), false);
  document.getElementById('totp-secret').textContent = r.body.secret;
  document.getElementById('totp-qr').src = 'data:image/svg+xml;base64,' + btoa(r.body.qr_svg);
  on.hidden = true;
  document.getElementById('totp-setup').hidden = false;
}});
const confirmForm = document.getElementById('totp-confirm');
if (confirmForm) confirmForm.addEventListener('submit', async (e) => {{
  e.preventDefault();
  const r = await send('/users/me/mfa/totp/confirm', json({{code: document.getElementById('totp-code').value.trim()}}));
  if (r.status !== 200) return show('msg-2fa', explain(r), false);
  document.getElementById('totp-setup').hidden = true;
  document.getElementById('totp-state').textContent = 'Authenticator app: on. Your other sessions were signed out.';
  showCodes(r.body.recovery_codes);
  show('msg-2fa', 'Two-step sign-in is on.', true);
}});
const off = document.getElementById('totp-off');
if (off) off.addEventListener('submit', async (e) => {{
  e.preventDefault();
  const body = Object.fromEntries(new FormData(e.target));
  if (e.submitter && e.submitter.value === 'codes') {{
    const r = await send('/users/me/mfa/recovery-codes', json(body));
    if (r.status !== 200) return show('msg-2fa', explain(r), false);
    showCodes(r.body.recovery_codes);
    return show('msg-2fa', 'New recovery codes; the old ones no longer work.', true);
  }}
  const r = await send('/users/me/mfa/totp', Object.assign(json(body), {{method: 'DELETE'}}));
  if (r.status !== 204) return show('msg-2fa', explain(r), false);
  document.getElementById('totp-state').textContent = 'Authenticator app: off.';
  off.hidden = true;
  show('msg-2fa', 'Two-step sign-in is off.', true);
}});
function passkeysShown() {{
  const empty = document.querySelectorAll('button[data-passkey]').length === 0;
  document.getElementById('passkeys').hidden = empty;
  document.getElementById('passkeys-none').hidden = !empty;
}}
function removable(button) {{
  button.addEventListener('click', async () => {{
    const r = await send('/users/me/passkeys/' + encodeURIComponent(button.dataset.passkey), {{method: 'DELETE'}});
    if (r.status !== 204) return show('msg-passkeys', explain(r), false);
    button.closest('tr').remove();
    passkeysShown();
    show('msg-passkeys', 'The passkey is removed. Your other sessions were signed out.', true);
  }});
}}
document.querySelectorAll('button[data-passkey]').forEach(removable);
function moment(iso) {{
  if (!iso) return 'never';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? String(iso) : at.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}}
const askPassword = document.getElementById('passkey-password');
document.getElementById('passkey-add').addEventListener('submit', async (e) => {{
  e.preventDefault();
  if (!passkeysHere) return show('msg-passkeys', 'This browser cannot use passkeys.', false);
  const form = new FormData(e.target);
  const password = askPassword.hidden ? '' : String(form.get('current_password') || '');
  show('msg-passkeys', 'Waiting for your device…', true);
  const start = await postJSON('/users/me/passkeys/register/start', password ? {{current_password: password}} : {{}});
  if (start.status !== 200) {{
    if (askPassword.hidden && start.body && start.body.detail === 'UPDATE_USER_BAD_CURRENT_PASSWORD') {{
      // The session is no longer fresh enough to stand in for the password.
      askPassword.hidden = false;
      askPassword.querySelector('input').required = true;
      askPassword.querySelector('input').focus();
      return show('msg-passkeys', 'Please enter your current password to add a passkey.', false);
    }}
    return show('msg-passkeys', explain(start), false);
  }}
  let cred;
  try {{
    cred = await navigator.credentials.create({{publicKey: creationOptions(start.body.publicKey)}});
  }} catch (error) {{
    return show('msg-passkeys', passkeyProblem(error, start.body.publicKey.rp && start.body.publicKey.rp.id), false);
  }}
  if (!cred) return show('msg-passkeys', 'No passkey was made.', false);
  const name = String(form.get('name') || '').trim();
  const r = await postJSON('/users/me/passkeys/register/finish', {{name, state: start.body.state, credential: credentialJSON(cred)}});
  if (r.status !== 201) return show('msg-passkeys', explain(r), false);
  const row = document.createElement('tr');
  for (const text of [r.body.name, moment(r.body.created_at), moment(r.body.last_used_at)]) {{
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }}
  const cell = document.createElement('td');
  const button = document.createElement('button');
  button.textContent = 'Remove';
  button.dataset.passkey = r.body.id;
  removable(button);
  cell.append(button);
  row.append(cell);
  const table = document.getElementById('passkeys');
  (table.tBodies[0] || table).append(row);
  passkeysShown();
  e.target.reset();
  show('msg-passkeys', 'The passkey is added. Your other sessions were signed out.', true);
}});
document.getElementById('everywhere').addEventListener('click', async () => {{
  await send('/users/me/sessions', {{method: 'DELETE'}});
  location.href = '/login';
}});
document.getElementById('logout').addEventListener('click', async () => {{
  await send('/auth/cookie/logout', {{method: 'POST'}});
  location.href = '/login';
}});
</script>"#,
            email = escape(user.email.as_str()),
            name = if name.is_empty() {
                String::new()
            } else {
                format!(" ({})", escape(&name))
            },
            roles = escape(&roles),
            two_step = two_step,
            passkeys_part = passkeys_part,
            webauthn = WEBAUTHN,
            resend = if user.is_verified {
                String::new()
            } else {
                format!(
                    r#"<p><button id="resend" data-email="{}">Send me a new verification link</button></p>"#,
                    escape(user.email.as_str())
                )
            },
            verified = if user.is_verified {
                "verified"
            } else {
                "not verified yet"
            },
        ),
    )
}

async fn logout() -> Response {
    page(
        "Log out",
        r#"<p><button id="out">Log out</button></p><p id="msg"></p>
<script>
document.getElementById('out').addEventListener('click', async () => {
  const r = await send('/auth/cookie/logout', {method: 'POST'});
  show('msg', r.status === 204 || r.status === 401 ? 'You are logged out.' : explain(r), r.status < 500);
});
</script>"#,
    )
}

async fn forgot() -> Response {
    page(
        "Forgot your password?",
        r#"<form id="f"><label>E-mail <input name="email" type="email" required></label>
<button>Send me a reset link</button><p id="msg"></p></form>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await send('/auth/forgot-password', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(Object.fromEntries(new FormData(e.target)))});
  show('msg', r.status === 202 ? 'If that address has an account, a link is on its way.' : explain(r), r.status === 202);
});
</script>"#,
    )
}

async fn reset() -> Response {
    page(
        "Choose a new password",
        r#"<form id="f"><label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>
<button>Set password</button><p id="msg"></p></form>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = {token: fragmentToken(), password: new FormData(e.target).get('password')};
  const r = await send('/auth/reset-password', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  if (r.status === 200) { show('msg', 'Your password is changed. You can log in now.', true); history.replaceState(null, '', '/reset-password'); }
  else show('msg', explain(r), false);
});
</script>"#,
    )
}

async fn verify() -> Response {
    page(
        "Verify your address",
        r#"<p id="msg">Verifying…</p>
<script>
(async () => {
  const r = await send('/auth/verify', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({token: fragmentToken()})});
  history.replaceState(null, '', '/verify');
  const done = r.status === 200 || (r.body && r.body.detail === 'VERIFY_USER_ALREADY_VERIFIED');
  show('msg', r.status === 200 ? 'Your address is verified.' : explain(r), done);
})();
</script>"#,
    )
}

#[cfg(test)]
mod tests {
    use super::{LoginQuery, PasskeyInfo, Query, escape, login_target, passkey_row};

    fn target(next: &str) -> String {
        login_target(Ok(Query(LoginQuery {
            next: Some(next.to_owned()),
            error: None,
        })))
    }

    #[test]
    fn the_login_page_returns_only_to_paths_of_this_site() {
        assert_eq!(target("/articles?page=2"), "/articles?page=2");
        for attack in ["/\\evil.com", "/%5Cevil.com", "/%09/evil.com", "//evil.com"] {
            assert_eq!(target(attack), "/account", "{attack}");
        }
        assert_eq!(
            login_target(Ok(Query(LoginQuery {
                next: None,
                error: None
            }))),
            "/account"
        );
    }

    #[test]
    fn a_passkey_row_escapes_the_name_and_shows_utc_minutes() {
        let at = time::macros::datetime!(2026-03-01 15:05:59 +01:00);
        let row = passkey_row(&PasskeyInfo {
            id: uuid::Uuid::nil(),
            name: "<img src=x onerror=alert(1)>".to_owned(),
            created_at: at,
            last_used_at: None,
        });
        assert!(
            row.contains("<td>&lt;img src=x onerror=alert(1)&gt;</td>"),
            "{row}"
        );
        assert!(
            row.contains("<td>2026-03-01 14:05 UTC</td><td>never</td>"),
            "{row}"
        );
        assert!(
            row.contains("data-passkey=\"00000000-0000-0000-0000-000000000000\""),
            "{row}"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
