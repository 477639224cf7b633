//! Sending email: through an SMTP server (`BACKROOM_SMTP_URL`), or, in development, into
//! the log instead, which says so.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::outbox::Email;

#[derive(Clone)]
pub enum Mailer {
    /// No SMTP server configured: emails are written to the log, marked as not sent. Their
    /// text (which may hold a reset token) only when serving on loopback, in development.
    Log { with_text: bool },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Log { with_text } => write!(f, "Mailer::Log(with_text: {with_text})"),
            Mailer::Smtp { from, .. } => write!(f, "Mailer::Smtp(from {from})"),
        }
    }
}

impl Mailer {
    /// `smtp://[user:password@]host[:port]` (plain SMTP to a relay), or the log when `None`
    /// (with the emails' text only when `development`).
    pub fn new(smtp_url: Option<&str>, from: &str, development: bool) -> Result<Mailer, String> {
        let Some(url) = smtp_url.filter(|url| !url.is_empty()) else {
            return Ok(Mailer::Log { with_text: development });
        };
        let transport = smtp_transport(url)?;
        let from = from
            .parse()
            .map_err(|error| format!("the sender address {from:?} is not valid: {error}"))?;
        Ok(Mailer::Smtp { transport, from })
    }

    pub async fn send(&self, email: &Email) -> Result<(), String> {
        match self {
            Mailer::Log { with_text: true } => {
                tracing::info!(
                    to = %email.to,
                    subject = %email.subject,
                    text = %email.text,
                    "email not sent (no BACKROOM_SMTP_URL: development mode writes it to the log instead)"
                );
                Ok(())
            }
            Mailer::Log { with_text: false } => {
                tracing::warn!(
                    to = %email.to,
                    subject = %email.subject,
                    "email not sent: set BACKROOM_SMTP_URL (its text is not logged off loopback, it may hold a secret)"
                );
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = email.to.parse().map_err(|error| format!("bad recipient: {error}"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&email.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone())
                    .map_err(|error| format!("cannot build the message: {error}"))?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            }
        }
    }
}

/// A transport for `smtp://[user:password@]host[:port]` (port 25 by default). Plain SMTP
/// to a relay the operator runs: lettre's TLS would bring a TLS stack into the binary for
/// a hop that usually stays on the machine or the private network.
fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| "BACKROOM_SMTP_URL must look like smtp://[user:password@]host[:port]".to_owned())?;
    let rest = rest.trim_end_matches('/');
    let (credentials, address) = match rest.rsplit_once('@') {
        Some((userinfo, address)) => (Some(userinfo), address),
        None => (None, rest),
    };
    let (host, port) = match address.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>().map_err(|_| format!("bad SMTP port {port:?}"))?,
        ),
        None => (address, 25),
    };
    if host.is_empty() {
        return Err("BACKROOM_SMTP_URL has no host".to_owned());
    }
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(std::time::Duration::from_secs(10)));
    if let Some(userinfo) = credentials {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        builder = builder.credentials(Credentials::new(user.to_owned(), password.to_owned()));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_smtp_urls() {
        assert!(smtp_transport("smtp://127.0.0.1:2525").is_ok());
        assert!(smtp_transport("smtp://user:secret@mail.example.com").is_ok());
        assert!(smtp_transport("smtps://mail.example.com").is_err());
        assert!(smtp_transport("smtp://:25").is_err());
        assert!(smtp_transport("smtp://host:port").is_err());
    }
}
