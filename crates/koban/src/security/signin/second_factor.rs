//! The second step of a sign-in owed a second factor: a code, a recovery
//! code or a passkey, each wrong answer counted on its own counter.

use super::*;

/// Finishes a sign-in owed a second factor. `method` is `totp`,
/// `recovery_code` or `code` (the code sent at sign-in). Wrong answers count
/// on their own counter, apart from passwords.
pub async fn second_factor(
    app: &App,
    token: &str,
    method: &str,
    answer: &str,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    let challenge = open_challenge(app, token, "second_factor").await?;
    let account = &challenge.account;
    let binding = codes::challenge_binding(challenge.id);
    let proved = crate::security::totp::prove(
        app,
        account.id,
        method,
        answer,
        Purpose::SignIn,
        Some(&binding),
    )
    .await;
    let refused = match proved {
        Ok(()) => None,
        Err(e @ AccountError::SecondFactorLocked(_)) => Some(("second_factor_locked", e)),
        Err(e @ (AccountError::CodeInvalid | AccountError::TotpRefused { .. })) => {
            Some(("second_factor_failed", e))
        }
        Err(e) => return Err(e),
    };
    conclude_second_factor(app, &challenge, ctx, refused).await
}

/// The options for proving a sign-in's second factor with a passkey.
pub async fn passkey_options(
    app: &App,
    token: &str,
) -> Result<crate::security::passkeys::PasskeyOptions, AccountError> {
    let challenge = open_challenge(app, token, "second_factor").await?;
    crate::security::passkeys::begin_authentication(
        app,
        challenge.account.id,
        crate::security::passkeys::Purpose::SignIn,
        challenge.id,
    )
    .await
}

/// Finishes a sign-in owed a second factor with a passkey. A wrong passkey
/// counts on the second-factor counter and is recorded as `passkey_failed`.
pub async fn second_factor_passkey(
    app: &App,
    token: &str,
    ceremony: &str,
    credential: serde_json::Value,
    ctx: &ClientContext,
) -> Result<Outcome, AccountError> {
    use crate::security::passkeys::{self, Assertion};
    let challenge = open_challenge(app, token, "second_factor").await?;
    let account = &challenge.account;
    let verified = passkeys::verify(
        app,
        account.id,
        passkeys::Purpose::SignIn,
        challenge.id,
        ceremony,
        credential,
    )
    .await;
    let refused = match verified {
        Ok(Assertion::Passed) => None,
        Ok(Assertion::Failed(e)) => Some(("passkey_failed", e)),
        Err(e @ AccountError::SecondFactorLocked(_)) => Some(("second_factor_locked", e)),
        Err(e) => return Err(e),
    };
    conclude_second_factor(app, &challenge, ctx, refused).await
}

/// Ends a second-factor step: a refusal is recorded and returned; a pass
/// uses the challenge up (once) and signs in.
async fn conclude_second_factor(
    app: &App,
    challenge: &Challenge,
    ctx: &ClientContext,
    refused: Option<(&'static str, AccountError)>,
) -> Result<Outcome, AccountError> {
    let account = &challenge.account;
    if let Some((outcome, error)) = refused {
        crate::security::state(app)
            .attempt_log
            .record(attempt(ctx, Some(account.id), outcome, "deny"))
            .await?;
        return Err(error);
    }
    if !use_challenge(app, challenge.id).await? {
        return Err(AccountError::field("challenge", "invalid_value"));
    }
    finish(
        app,
        account,
        &challenge.spec,
        ctx,
        challenge.score,
        &challenge.reasons,
        Already::default(),
    )
    .await
}
