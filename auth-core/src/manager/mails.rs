//! The manager's mails, rendered by its [`MailTemplates`](crate::MailTemplates) with the
//! configured app name and link lifetimes.

use crate::email::Email;
use crate::mail::{Mail, MailContext, MailKind, MailLink};
use crate::user::Profile;

use super::UserManager;

impl<P: Profile> UserManager<P> {
    /// What every template is told about a mail to `to`.
    fn mail_context(&self, to: &Email) -> MailContext {
        MailContext::new(to.clone(), self.config().app_name.clone(), self.now())
    }

    /// The verification mail, stating the verify token's lifetime.
    pub(super) fn verify_mail(&self, to: &Email, link: String) -> Mail {
        let link = MailLink::new(link, self.config().verify_token_lifetime);
        let content = self.inner.templates.verify(&self.mail_context(to), &link);
        Mail::new(to.clone(), MailKind::Verify { link: link.url }, content)
    }

    /// The password-reset mail, stating the reset token's lifetime.
    pub(super) fn reset_mail(&self, to: &Email, link: String) -> Mail {
        let link = MailLink::new(link, self.config().reset_token_lifetime);
        let content = self
            .inner
            .templates
            .reset_password(&self.mail_context(to), &link);
        Mail::new(
            to.clone(),
            MailKind::ResetPassword { link: link.url },
            content,
        )
    }

    /// The notice to the old address that the account's address is now `new_email`.
    pub(super) fn email_changed_mail(&self, old: &Email, new_email: &Email) -> Mail {
        let content = self
            .inner
            .templates
            .email_changed(&self.mail_context(old), new_email);
        Mail::new(
            old.clone(),
            MailKind::EmailChanged {
                new_email: new_email.clone(),
            },
            content,
        )
    }

    /// A notice that `what` happened to the sign-in of the account at `to`.
    pub(super) fn security_notice_mail(&self, to: &Email, what: &str) -> Mail {
        let content = self
            .inner
            .templates
            .security_notice(&self.mail_context(to), what);
        Mail::new(to.clone(), MailKind::SecurityNotice, content)
    }
}
