//! Passkeys (WebAuthn) through `webauthn-rs`: registration on `/account`, and use on the
//! second-factor page. The ceremony state stays on the server for five minutes (the store,
//! `Kind::Ceremony`), taken once; the page only carries its random id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::sign_in::{self, Waiting};
use super::Request;
use crate::app::App;
use crate::http::params::Params;
use crate::http::{GatewayError, Reply};
use crate::secret::{new_secret, Purpose};
use crate::session::{Key, Kind, Records};
use crate::storage::{FactorKind, Owner};

#[derive(Serialize, Deserialize)]
struct Ceremony<S> {
    username: String,
    state: S,
}

/// A stable WebAuthn user handle for `username` (not the name itself: it is not secret, but
/// need not be shown to authenticators).
pub(super) fn user_handle(username: &str) -> Uuid {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("authgate user {username}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    Uuid::from_bytes(bytes)
}

pub(super) fn refused(why: &'static str) -> GatewayError {
    GatewayError::SignInFailed(why)
}

pub(super) async fn keep<S: Serialize>(
    app: &App,
    username: &str,
    state: S,
) -> Result<String, GatewayError> {
    let id = new_secret();
    let ceremony = Ceremony {
        username: username.to_string(),
        state,
    };
    Records(app.stores.records.as_ref())
        .put(
            &Key::secret(Kind::Ceremony, &id),
            &ceremony,
            Kind::Ceremony.ttl(&app.cfg),
        )
        .await?;
    Ok(id)
}

pub(super) async fn take<S: serde::de::DeserializeOwned>(
    app: &App,
    form: &Params,
    username: &str,
) -> Result<S, GatewayError> {
    let id = form.get("ceremony").unwrap_or("");
    let ceremony: Ceremony<S> = Records(app.stores.records.as_ref())
        .take(&Key::secret(Kind::Ceremony, id))
        .await?
        .ok_or(refused("passkey-expired"))?;
    if ceremony.username != username {
        return Err(refused("passkey-someone-else"));
    }
    Ok(ceremony.state)
}

pub(super) fn webauthn(app: &App) -> Result<&webauthn_rs::Webauthn, GatewayError> {
    app.factors()?.passkeys()
}

/// The user's passkeys, with their factor ids.
async fn passkeys(app: &App, owner: Owner<'_>) -> Result<Vec<(String, Passkey)>, GatewayError> {
    let store = &app.factors()?.store;
    let opened = store.opened(&owner, FactorKind::Passkey).await?;
    Ok(opened
        .into_iter()
        .filter_map(|o| Some((o.factor.id, serde_json::from_slice(&o.secret).ok()?)))
        .collect())
}

pub(super) fn json_ceremony(ceremony: &str, options: &impl Serialize) -> Reply {
    Reply::json(
        200,
        &serde_json::json!({ "ceremony": ceremony, "options": options }),
    )
}

/// `POST /account/passkey/start` for the signed-in `owner`.
pub async fn start_registration(app: &App, owner: Owner<'_>) -> Result<Reply, GatewayError> {
    let username = owner.name;
    let existing = passkeys(app, owner).await?;
    let exclude = existing.iter().map(|(_, p)| p.cred_id().clone()).collect();
    let (mut options, state): (_, PasskeyRegistration) = webauthn(app)?
        .start_passkey_registration(user_handle(username), username, username, Some(exclude))
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    // A discoverable credential, so the passkey can sign in without a username.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let id = keep(app, username, state).await?;
    Ok(json_ceremony(&id, &options))
}

/// `POST /account/passkey/finish`: stores the new passkey.
pub async fn finish_registration(
    app: &App,
    owner: Owner<'_>,
    form: &Params,
) -> Result<(), GatewayError> {
    let username = owner.name;
    let state: PasskeyRegistration = take(app, form, username).await?;
    let credential: RegisterPublicKeyCredential =
        serde_json::from_str(form.get("credential").unwrap_or(""))
            .map_err(|_| refused("passkey-malformed"))?;
    let passkey = webauthn(app)?
        .finish_passkey_registration(&credential, &state)
        .map_err(|_| refused("passkey-not-verified"))?;
    let json = serde_json::to_vec(&passkey).map_err(|_| GatewayError::Internal)?;
    let store = &app.factors()?.store;
    let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
    let credential_id = URL_SAFE_NO_PAD.encode(passkey.cred_id());
    // A credential id is one authenticator's: one registered elsewhere is refused (WebAuthn
    // §7.1 step 25).
    if store.discoverable_passkey(&credential_id).await?.is_some() {
        return Err(refused("passkey-not-verified"));
    }
    store
        .add_with_credential(
            &owner,
            FactorKind::Passkey,
            "Passkey",
            &json,
            Some(&credential_id),
            now,
        )
        .await?;
    Ok(())
}

fn waiting(app: &App, req: &Request<'_>, form: &Params) -> Result<Waiting, GatewayError> {
    sign_in::opened(
        app,
        req,
        form,
        "mfa",
        Purpose::SecondFactor,
        |w: &Waiting| &w.pending.csrf,
    )
}

/// `POST /login/passkey/start`: the options for the waiting user's passkeys.
pub async fn start_authentication(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let waiting = waiting(app, req, &form)?;
    app.admit(req.facts.client_ip).await?;
    let source = waiting.source(app).await?;
    let owner = Owner {
        name: &waiting.username,
        source: &source,
    };
    let keys: Vec<Passkey> = passkeys(app, owner)
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let (options, state): (_, PasskeyAuthentication) = webauthn(app)?
        .start_passkey_authentication(&keys)
        .map_err(|_| refused("passkey-none"))?;
    let id = keep(app, &waiting.username, state).await?;
    Ok(json_ceremony(&id, &options))
}

/// `POST /login/passkey/finish`: a verified passkey completes the sign-in (`amr` `hwk`).
pub async fn finish_authentication(app: &App, req: &Request<'_>) -> Result<Reply, GatewayError> {
    let form = req.form()?;
    let waiting = waiting(app, req, &form)?;
    let state: PasskeyAuthentication = take(app, &form, &waiting.username).await?;
    let credential: PublicKeyCredential =
        serde_json::from_str(form.get("credential").unwrap_or(""))
            .map_err(|_| refused("passkey-malformed"))?;
    let result = webauthn(app)?
        .finish_passkey_authentication(&credential, &state)
        .map_err(|_| refused("passkey-not-verified"))?;
    // The signature counter moves on: store it, so a cloned key shows.
    let now = i64::try_from(app.now()).unwrap_or(i64::MAX);
    let store = &app.factors()?.store;
    let source = waiting.source(app).await?;
    let owner = Owner {
        name: &waiting.username,
        source: &source,
    };
    for (id, mut key) in passkeys(app, owner).await? {
        if key.update_credential(&result).is_some() {
            let json = serde_json::to_vec(&key).map_err(|_| GatewayError::Internal)?;
            store.passkey_used(&id, &json, now).await?;
        }
    }
    sign_in::complete(app, req, waiting, Some("hwk")).await
}
