//! Mail over SMTP with lettre.

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sends mail through the configured relay. Without a relay (outbox mode)
/// every send fails, which never happens because nothing is routed here.
pub struct MailSender {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: String,
}

impl MailSender {
    /// Builds the transport from `smtp_*` settings.
    pub fn from_config(config: &crate::config::Config) -> Result<MailSender, String> {
        if config.smtp_host.is_empty() {
            return Ok(MailSender {
                transport: None,
                from: config.mail_from.clone(),
            });
        }
        let host = config.smtp_host.as_str();
        let builder = match config.smtp_tls.as_str() {
            "tls" => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| e.to_string())?
            }
            "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| e.to_string())?,
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(config.smtp_port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if !config.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                config.smtp_username.clone(),
                config.smtp_password.clone(),
            ));
        }
        config
            .mail_from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| format!("mail_from: {e}"))?;
        Ok(MailSender {
            transport: Some(builder.build()),
            from: config.mail_from.clone(),
        })
    }

    /// Sends a plain-text message with `reference` as its Message-ID.
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        reference: &str,
    ) -> Result<(), String> {
        let transport = self
            .transport
            .as_ref()
            .ok_or("no SMTP relay is configured (smtp_host)")?;
        let domain = self
            .from
            .rsplit('@')
            .next()
            .unwrap_or("koban")
            .trim_end_matches('>');
        let message = Message::builder()
            .from(self.from.parse().map_err(|e| format!("mail_from: {e}"))?)
            .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
            .subject(subject)
            .message_id(Some(format!("<{reference}@{domain}>")))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}
