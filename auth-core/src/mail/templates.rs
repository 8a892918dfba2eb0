//! [`MailTemplates`]: the words of every mail the manager sends, in text and in HTML.

use std::fmt::{self, Debug};

use time::{Duration, OffsetDateTime};

use super::{MailContent, duration_in_words, escape_html};
use crate::email::Email;

/// What every template is told: who the mail goes to, the app's name, and when the mail was
/// made (for notices, when the change happened).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailContext {
    /// The recipient: the address on record.
    pub to: Email,
    /// The app's name, as people know it
    /// ([`ManagerConfig::app_name`](crate::ManagerConfig::app_name)).
    pub app_name: String,
    /// When the mail was made, by the manager's clock.
    pub at: OffsetDateTime,
}

impl MailContext {
    /// A context for a mail to `to`.
    pub fn new(to: Email, app_name: impl Into<String>, at: OffsetDateTime) -> Self {
        Self {
            to,
            app_name: app_name.into(),
            at,
        }
    }

    /// [`MailContext::at`] as mail dates are written (RFC 2822: `Wed, 02 Dec 2026 09:30:00
    /// +0000`).
    pub fn when(&self) -> String {
        self.at
            .format(&time::format_description::well_known::Rfc2822)
            .unwrap_or_else(|_| self.at.to_string())
    }
}

/// The link of a verify or reset mail and how long it works. `Debug` hides the URL (it
/// carries a token).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailLink {
    /// The whole link, token included.
    pub url: String,
    /// How long the token in it works: the configured lifetime.
    pub lifetime: Duration,
}

impl MailLink {
    /// A link that works for `lifetime`.
    pub fn new(url: impl Into<String>, lifetime: Duration) -> Self {
        Self {
            url: url.into(),
            lifetime,
        }
    }

    /// The lifetime in words, as in "expires in 2 hours" (see [`duration_in_words`]).
    pub fn expires_in(&self) -> String {
        duration_in_words(self.lifetime)
    }
}

impl Debug for MailLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailLink")
            .field("url", &"[redacted]")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// The words of every mail the manager sends: one method per kind of mail, each giving a
/// subject, a text body and an HTML body. Every method has a default (in English); an app
/// overrides the ones it wants and sets its templates with
/// [`UserManagerBuilder::with_mail_templates`](crate::UserManagerBuilder::with_mail_templates).
///
/// The HTML body must pass everything it interpolates through [`escape_html`]: the app
/// name, addresses and links are data, and an app name such as `<b>Shop</b>` must show as
/// written.
///
/// # Overriding one mail
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{
///     Argon2Hasher, ClientInfo, Email, JwtAlgorithm, JwtCodec, JwtKeys, MailContent, MailContext,
///     MailLink, MailTemplates, ManagerConfig, MemoryMailer, MemorySessionStore, MemoryUserStore,
///     NoProfile, UserManager, escape_html,
/// };
///
/// /// The verification mail in the shop's own words; the other mails keep the defaults.
/// #[derive(Debug)]
/// struct ShopMails;
///
/// impl MailTemplates for ShopMails {
///     fn verify(&self, context: &MailContext, link: &MailLink) -> MailContent {
///         MailContent::new(
///             format!("Welcome to {}", context.app_name),
///             format!(
///                 "Welcome! Confirm your address within {}:\n\n{}\n",
///                 link.expires_in(),
///                 link.url
///             ),
///             format!(
///                 "<p>Welcome to {app}! <a href=\"{url}\">Confirm your address</a> within {within}.</p>",
///                 app = escape_html(&context.app_name),
///                 url = escape_html(&link.url),
///                 within = escape_html(&link.expires_in()),
///             ),
///         )
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let outbox = MemoryMailer::new();
/// let keys = JwtKeys::hmac(JwtAlgorithm::HS256, b"an example secret of at least 32 bytes!")?;
/// let manager = UserManager::<NoProfile>::builder(
///     Arc::new(MemoryUserStore::new()),
///     Arc::new(MemorySessionStore::new()),
///     JwtCodec::new(keys, "shop"),
/// )
/// # .with_hasher(Arc::new(Argon2Hasher::fast_insecure()))
/// .with_config(ManagerConfig {
///     app_name: "Bob's <Shop>".into(),
///     verify_token_lifetime: time::Duration::hours(2),
///     ..ManagerConfig::default()
/// })
/// .with_mailer(Arc::new(outbox.clone()))
/// .with_mail_templates(Arc::new(ShopMails))
/// .build();
///
/// let email = Email::parse("alice@example.com")?;
/// manager
///     .register(auth_core::NewUser::new(email.clone(), "a long enough passphrase"), &ClientInfo::default())
///     .await?;
/// manager.request_verify(&email, &ClientInfo::default()).await?;
/// manager.flush_mail().await;
/// let mail = outbox.last_to("alice@example.com").expect("a verification mail");
/// assert_eq!(mail.subject, "Welcome to Bob's <Shop>");
/// assert!(mail.text.contains("within 2 hours"));
/// assert!(mail.html.contains("Welcome to Bob&#39;s &lt;Shop&gt;!"));
/// # Ok(())
/// # }
/// ```
pub trait MailTemplates: Debug + Send + Sync + 'static {
    /// The verification mail: confirms the address by opening `link`.
    fn verify(&self, context: &MailContext, link: &MailLink) -> MailContent {
        let app = &context.app_name;
        let expires = link.expires_in();
        let text = format!(
            "Hello,\n\n\
             Please confirm the e-mail address of your {app} account by opening this link:\n\n\
             {url}\n\n\
             The link works once and expires in {expires}. If you did not sign up, ignore this \
             message.\n\n{footer}\n",
            url = link.url,
            footer = footer(context),
        );
        let html = page(
            context,
            "Confirm your e-mail address",
            &[
                "Hello,".to_owned(),
                format!(
                    "Please confirm the e-mail address of your {} account by opening this link:",
                    escape_html(app)
                ),
                button(&link.url, "Confirm my e-mail address"),
                format!(
                    "The link works once and expires in {}. If you did not sign up, ignore \
                     this message.",
                    escape_html(&expires)
                ),
            ],
        );
        MailContent::new("Confirm your e-mail address", text, html)
    }

    /// The password-reset mail: a new password is chosen by opening `link`.
    fn reset_password(&self, context: &MailContext, link: &MailLink) -> MailContent {
        let app = &context.app_name;
        let expires = link.expires_in();
        let text = format!(
            "Hello,\n\n\
             Someone asked to reset the password of your {app} account. To choose a new \
             password, open this link:\n\n\
             {url}\n\n\
             The link works once and expires in {expires}. If it was not you, ignore this \
             message: your password is unchanged.\n\n{footer}\n",
            url = link.url,
            footer = footer(context),
        );
        let html = page(
            context,
            "Reset your password",
            &[
                "Hello,".to_owned(),
                format!(
                    "Someone asked to reset the password of your {} account. To choose a new \
                     password, open this link:",
                    escape_html(app)
                ),
                button(&link.url, "Choose a new password"),
                format!(
                    "The link works once and expires in {}. If it was not you, ignore this \
                     message: your password is unchanged.",
                    escape_html(&expires)
                ),
            ],
        );
        MailContent::new("Reset your password", text, html)
    }

    /// The notice to the **old** address after the account's address changed to
    /// `new_email`: what changed, when, and what to do if it was not the owner.
    fn email_changed(&self, context: &MailContext, new_email: &Email) -> MailContent {
        let app = &context.app_name;
        let when = context.when();
        let consequences = "Mail about the account, including password resets, now goes to \
                            the new address. Every other session of the account was signed out.";
        let advice = "If you did not make this change, someone else may have your password: \
                      contact the site's support at once and keep this message.";
        let text = format!(
            "The e-mail address of your {app} account was changed to {new_email} on {when}.\n\n\
             {consequences}\n\n{advice}\n\n{footer}\n",
            footer = footer(context),
        );
        let html = page(
            context,
            "Your e-mail address was changed",
            &[
                format!(
                    "The e-mail address of your {} account was changed to <strong>{}</strong> \
                     on {}.",
                    escape_html(app),
                    escape_html(new_email.as_str()),
                    escape_html(&when)
                ),
                escape_html(consequences),
                escape_html(advice),
            ],
        );
        MailContent::new("Your e-mail address was changed", text, html)
    }

    /// A notice that the account's sign-in changed: `what` happened (a second factor added
    /// or removed, a provider account linked), when, and what to do if it was not the owner.
    fn security_notice(&self, context: &MailContext, what: &str) -> MailContent {
        let app = &context.app_name;
        let when = context.when();
        let advice = "If this was not you, someone else may have your password: change it, \
                      and contact the site's support.";
        let text = format!(
            "On {when}, on your {app} account: {what}.\n\n{advice}\n\n{footer}\n",
            footer = footer(context),
        );
        let html = page(
            context,
            "The sign-in of your account changed",
            &[
                format!(
                    "On {}, on your {} account: {}.",
                    escape_html(&when),
                    escape_html(app),
                    escape_html(what)
                ),
                escape_html(advice),
            ],
        );
        MailContent::new("The sign-in of your account changed", text, html)
    }
}

/// The templates as they come: every method's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultMailTemplates;

impl MailTemplates for DefaultMailTemplates {}

/// An HTML document titled `title` whose paragraphs are `paragraphs` (already HTML), with
/// the footer line.
fn page(context: &MailContext, title: &str, paragraphs: &[String]) -> String {
    let mut body = String::new();
    for paragraph in paragraphs {
        body.push_str("<p style=\"margin:0 0 16px\">");
        body.push_str(paragraph);
        body.push_str("</p>\n");
    }
    body.push_str("<p style=\"margin:24px 0 0;font-size:12px;color:#666\">");
    body.push_str(&escape_html(&footer(context)));
    body.push_str("</p>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n<title>{title}</title>\n\
         </head>\n<body style=\"font-family:sans-serif;line-height:1.5;color:#222;\
         max-width:36em;margin:0 auto;padding:16px\">\n{body}</body>\n</html>\n",
        title = escape_html(title),
    )
}

/// The last line of every mail: who sent it, to whom.
fn footer(context: &MailContext) -> String {
    format!("Sent by {} to {}.", context.app_name, context.to)
}

/// A link shown as a button, then the URL itself for clients that hide links.
fn button(url: &str, label: &str) -> String {
    let url = escape_html(url);
    format!(
        "<a href=\"{url}\" style=\"display:inline-block;padding:10px 16px;background:#1a56db;\
         color:#fff;text-decoration:none;border-radius:4px\">{label}</a><br>\n\
         <small>Or open this address: <a href=\"{url}\">{url}</a></small>",
        label = escape_html(label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(app: &str) -> MailContext {
        MailContext::new(
            Email::parse("o'hara@example.com").unwrap(),
            app,
            time::macros::datetime!(2026-12-02 09:30 UTC),
        )
    }

    const HOSTILE: &str = "<script>alert(\"x\")</script> & 'Co'";
    const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;";

    fn every_mail(context: &MailContext, link: &MailLink) -> Vec<MailContent> {
        let templates = DefaultMailTemplates;
        let new_email = Email::parse("o'brien@example.com").unwrap();
        vec![
            templates.verify(context, link),
            templates.reset_password(context, link),
            templates.email_changed(context, &new_email),
            templates.security_notice(context, "a passkey <b>\"Laptop\"</b> was added"),
        ]
    }

    #[test]
    fn every_mail_has_a_subject_a_text_and_an_html_body() {
        let link = MailLink::new("https://example.com/verify#token=abc", Duration::hours(2));
        for mail in every_mail(&context("Example"), &link) {
            assert!(!mail.subject.is_empty());
            assert!(mail.text.contains("Example"), "{}", mail.text);
            assert!(mail.html.starts_with("<!DOCTYPE html>"), "{}", mail.html);
            assert!(mail.html.contains("Example"), "{}", mail.html);
            assert!(
                !mail.text.contains("<p"),
                "the text is not HTML: {}",
                mail.text
            );
        }
    }

    #[test]
    fn the_link_is_in_both_bodies_with_its_lifetime() {
        let url = "https://example.com/verify#token=a.b_c-d&x=1";
        for (lifetime, words) in [
            (Duration::minutes(30), "30 minutes"),
            (Duration::hours(2), "2 hours"),
            (Duration::days(1), "1 day"),
        ] {
            let link = MailLink::new(url, lifetime);
            let templates = DefaultMailTemplates;
            let context = context("Example");
            for mail in [
                templates.verify(&context, &link),
                templates.reset_password(&context, &link),
            ] {
                assert!(mail.text.contains(&format!("\n{url}\n")), "{}", mail.text);
                assert!(
                    mail.text.contains(&format!("expires in {words}.")),
                    "{}",
                    mail.text
                );
                assert!(
                    mail.html
                        .contains("href=\"https://example.com/verify#token=a.b_c-d&amp;x=1\""),
                    "{}",
                    mail.html
                );
                assert!(
                    mail.html.contains(&format!("expires in {words}.")),
                    "{}",
                    mail.html
                );
            }
        }
    }

    #[test]
    fn everything_interpolated_into_html_is_escaped() {
        let link = MailLink::new(
            "https://example.com/r#token=\"><script>",
            Duration::hours(1),
        );
        let mails = every_mail(&context(HOSTILE), &link);
        for mail in &mails {
            assert!(mail.html.contains(ESCAPED), "{}", mail.html);
            assert!(!mail.html.contains("<script"), "{}", mail.html);
            assert!(!mail.html.contains("\"Laptop\""), "{}", mail.html);
            // The text body is not HTML: it keeps the name as written.
            assert!(mail.text.contains(HOSTILE), "{}", mail.text);
        }
        assert!(mails[2].html.contains("o&#39;brien@example.com"));
        for mail in &mails {
            assert!(
                mail.html.contains("to o&#39;hara@example.com."),
                "{}",
                mail.html
            );
            assert!(
                mail.text.contains("to o'hara@example.com."),
                "{}",
                mail.text
            );
        }
        assert!(
            mails[3]
                .html
                .contains("&lt;b&gt;&quot;Laptop&quot;&lt;/b&gt;")
        );
    }

    #[test]
    fn notices_say_what_happened_and_when() {
        let context = context("Example");
        let templates = DefaultMailTemplates;
        let notice = templates.security_notice(&context, "a passkey was added");
        assert!(
            notice.text.contains("a passkey was added"),
            "{}",
            notice.text
        );
        assert!(
            notice.text.contains("Wed, 02 Dec 2026 09:30:00 +0000"),
            "{}",
            notice.text
        );
        let changed = templates.email_changed(&context, &Email::parse("new@example.com").unwrap());
        assert!(
            changed
                .text
                .contains("changed to new@example.com on Wed, 02 Dec 2026 09:30:00 +0000."),
            "{}",
            changed.text
        );
        assert!(
            !changed.text.contains("  "),
            "no runs of spaces: {:?}",
            changed.text
        );
    }

    #[test]
    fn an_override_replaces_one_mail_and_keeps_the_others() {
        #[derive(Debug)]
        struct Short;
        impl MailTemplates for Short {
            fn reset_password(&self, _: &MailContext, link: &MailLink) -> MailContent {
                MailContent::new("Reset", link.url.clone(), escape_html(&link.url))
            }
        }
        let context = context("Example");
        let link = MailLink::new("https://example.com/r#token=x", Duration::hours(1));
        assert_eq!(Short.reset_password(&context, &link).subject, "Reset");
        assert_eq!(
            Short.verify(&context, &link),
            DefaultMailTemplates.verify(&context, &link)
        );
    }

    #[test]
    fn debug_hides_the_link() {
        let link = MailLink::new("https://example.com/r#token=secret", Duration::hours(1));
        assert!(!format!("{link:?}").contains("secret"));
    }
}
