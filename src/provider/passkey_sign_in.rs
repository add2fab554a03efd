//! Passkeys as the whole sign-in: a discoverable credential with user verification, no
//! username. The login page starts a conditional-mediation request (the browser offers saved
//! passkeys in the username's autofill) and a "Sign in with a passkey" button; both end here.
//! A passkey with user verification is two factors at once: `amr` `hwk`, `user`, `mfa`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PublicKeyCredential,
};

use super::passkeys::{json_ceremony, keep, refused, take, user_handle, webauthn};
use super::sign_in::{self, Pending};
use super::Request;
use crate::app::App;
use crate::directory::UserInfo;
use crate::http::{GatewayError, Reply};
use crate::secret::Purpose;

/// How a passkey sign-in is recorded (RFC 8176): a hardware key, verified user, two factors.
pub const AMR: [&str; 3] = ["hwk", "user", "mfa"];

/// Whether the login page offers it: passkeys are usable here and not turned off.
pub fn offered(app: &App) -> bool {
    app.cfg.login.passkey_sign_in && app.factors.as_ref().is_some_and(|f| f.passkeys.is_some())
}

fn pending(
    app: &App,
    req: &Request<'_>,
    form: &crate::http::params::Params,
) -> Result<Pending, GatewayError> {
    sign_in::opened(
        app,
        req,
        form,
        "auth",
        Purpose::PendingLogin,
        |p: &Pending| &p.csrf,
    )
}

/// `POST /login/passkey-sign-in/start`: a challenge for any passkey of this site.
pub async fn start(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    if !offered(app) {
        return Err(GatewayError::NotConfigured("passkey sign-in"));
    }
    let form = req.form()?;
    pending(app, req, &form)?;
    app.admit(req.facts.client_ip).await?;
    let (options, state) = webauthn(app)?
        .start_discoverable_authentication()
        .map_err(|_| GatewayError::Internal)?;
    let id = keep(app, "", state).await?;
    Ok(json_ceremony(&id, &options))
}

/// `POST /login/passkey-sign-in/finish`: the passkey's owner is signed in.
pub async fn finish(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    if !offered(app) {
        return Err(GatewayError::NotConfigured("passkey sign-in"));
    }
    let form = req.form()?;
    let pending = pending(app, req, &form)?;
    let state: DiscoverableAuthentication = take(app, &form, "").await?;
    let credential: PublicKeyCredential =
        serde_json::from_str(form.get("credential").unwrap_or(""))
            .map_err(|_| refused("passkey-malformed"))?;
    let user = verify(app, &credential, state).await?;
    let amr = AMR.iter().map(|m| m.to_string()).collect();
    sign_in::after_first_factor(app, req, pending, &user, amr).await
}

/// The enabled user whose discoverable passkey made `credential`, its counter stored.
async fn verify(
    app: &App,
    credential: &PublicKeyCredential,
    state: DiscoverableAuthentication,
) -> Result<std::sync::Arc<UserInfo>, GatewayError> {
    let unknown = || refused("passkey-unknown");
    let webauthn = webauthn(app)?;
    let (handle, credential_id) = webauthn
        .identify_discoverable_authentication(credential)
        .map_err(|_| unknown())?;
    let store = &app.factors()?.store;
    let (opened, source) = store
        .discoverable_passkey(&URL_SAFE_NO_PAD.encode(credential_id))
        .await?
        .ok_or_else(unknown)?;
    let username = opened.factor.username.clone();
    if handle != user_handle(&username) {
        return Err(unknown());
    }
    let mut key: Passkey =
        serde_json::from_slice(&opened.secret).map_err(|_| GatewayError::Internal)?;
    let result = webauthn
        .finish_discoverable_authentication(credential, state, &[DiscoverableKey::from(&key)])
        .map_err(|_| refused("passkey-not-verified"))?;
    if !result.user_verified() {
        return Err(refused("passkey-no-user-verification"));
    }
    if key.update_credential(&result).is_some() {
        let json = serde_json::to_vec(&key).map_err(|_| GatewayError::Internal)?;
        let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
        store.passkey_used(&opened.factor.id, &json, now).await?;
    }
    // The person is still there, under the same source, and not disabled.
    app.directory
        .find(&username)
        .await?
        .filter(|u| !u.disabled && (source.is_empty() || String::from(u.source.clone()) == source))
        .ok_or_else(unknown)
}
