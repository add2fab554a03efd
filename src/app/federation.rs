//! Upstream OpenID Providers: their discovered metadata (cached, refreshed when an ID token
//! names a key the cache does not have), and the mapping of their claims to an authgate user
//! (a pure function). The relying-party protocol is the `openidconnect` crate's.

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{IssuerUrl, ProviderMetadata};
use tokio::sync::RwLock;

use crate::config::{Config, UpstreamProvider};
use crate::directory::UserInfo;

/// RFC 9207's discovery field, beside the core metadata.
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
pub struct IssParameter {
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl openidconnect::AdditionalProviderMetadata for IssParameter {}

/// An upstream provider's discovery document.
pub type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// RFC 9207 §2.4: an authorization response's `iss` must be the provider's issuer, and a
/// provider that advertises the parameter must send it, so a response from another provider
/// (mix-up) is refused.
pub fn check_response_issuer(m: &Metadata, iss: Option<&str>) -> Result<(), Refusal> {
    let required = m
        .additional_metadata()
        .authorization_response_iss_parameter_supported;
    match iss {
        Some(iss) if iss == m.issuer().as_str() => Ok(()),
        Some(_) => Err(Refusal::OtherIssuer),
        None if required => Err(Refusal::OtherIssuer),
        None => Ok(()),
    }
}

/// One upstream provider and what authgate learnt of it.
pub struct Provider {
    pub cfg: UpstreamProvider,
    metadata: RwLock<Option<Metadata>>,
}

pub struct Providers {
    pub http: openidconnect::reqwest::Client,
    list: Vec<Arc<Provider>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("{0} cannot be reached: {1}")]
    Unreachable(String, String),
}

impl Providers {
    /// The providers of `cfg`, which it hands over.
    pub fn new(cfg: &mut Config) -> Providers {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Never follow redirects from the upstream (SSRF): the protocol has none here.
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let list = std::mem::take(&mut cfg.upstream_providers)
            .into_iter()
            .map(|cfg| {
                Arc::new(Provider {
                    cfg,
                    metadata: RwLock::new(None),
                })
            })
            .collect();
        Providers { http, list }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Provider>> {
        self.list.iter().find(|p| p.cfg.id == id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Provider>> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Provider {
    /// The discovered metadata; asked again when `refresh` (an unknown key id) or not yet known.
    pub async fn metadata(
        &self,
        http: &openidconnect::reqwest::Client,
        refresh: bool,
    ) -> Result<Metadata, FederationError> {
        if !refresh {
            if let Some(m) = self.metadata.read().await.as_ref() {
                return Ok(m.clone());
            }
        }
        let unreachable = |e: String| FederationError::Unreachable(self.cfg.name.clone(), e);
        let issuer = IssuerUrl::new(self.cfg.issuer.as_str().trim_end_matches('/').to_string())
            .map_err(|e| unreachable(e.to_string()))?;
        let m = Metadata::discover_async(issuer, http)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        *self.metadata.write().await = Some(m.clone());
        Ok(m)
    }
}

/// Where to send the browser after `username` signed out here: the end-session endpoint of
/// the upstream provider they came from, when it has one and `logout_upstream` is set, with
/// `post_logout_redirect_uri` back to authgate's login page. `None` otherwise, or when the
/// upstream cannot say (the local sign-out has happened either way).
pub async fn logout_url(app: &super::App, username: &str) -> Option<String> {
    let federated = app.federated.as_ref()?;
    let id = federated.provider_of(username).await.ok()??;
    let p = app.federation.get(&id)?;
    if !p.cfg.logout_upstream {
        return None;
    }
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        p.cfg.issuer.as_str().trim_end_matches('/')
    );
    let fetched = async {
        let r = app.federation.http.get(&discovery).send().await.ok()?;
        let doc: serde_json::Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
        doc.get("end_session_endpoint")?
            .as_str()
            .map(str::to_string)
    };
    let endpoint = fetched.await?;
    let back = format!("{}/login", app.cfg.server.issuer);
    Some(crate::oidc::authorize::build_url(
        &endpoint,
        crate::oidc::authorize::ResponseMode::Query,
        &[
            ("client_id", &p.cfg.client_id),
            ("post_logout_redirect_uri", &back),
        ],
    ))
}

/// Why a federated sign-in is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the provider did not say who the user is (no {0:?} claim)")]
    NoUsername(String),
    #[error("this account is not allowed to sign in here")]
    NotAllowed,
    /// The user's name would be their email, which the provider has not verified.
    #[error("the provider has not verified the email address")]
    UnverifiedEmail,
    /// The authorization response names another issuer, or none where one is promised.
    #[error("the sign-in response is not from this provider")]
    OtherIssuer,
    /// Userinfo is about someone else than the ID token (OIDC Core §5.3.2).
    #[error("userinfo names another subject than the ID token")]
    OtherSubject,
}

/// Claims the ID token alone may say: userinfo never overrides who, for whom, by whom and how.
const ID_TOKEN_ONLY: [&str; 5] = ["sub", "iss", "aud", "amr", "acr"];

/// Adds userinfo's claims to the ID token's. Its `sub` must be the ID token's (OIDC Core
/// §5.3.2), and it never overrides `ID_TOKEN_ONLY`.
pub fn merge_userinfo(
    claims: &mut serde_json::Map<String, serde_json::Value>,
    userinfo: serde_json::Map<String, serde_json::Value>,
) -> Result<(), Refusal> {
    if userinfo.get("sub") != claims.get("sub") {
        return Err(Refusal::OtherSubject);
    }
    for (k, v) in userinfo {
        if !ID_TOKEN_ONLY.contains(&k.as_str()) {
            claims.insert(k, v);
        }
    }
    Ok(())
}

/// `email`, when the provider verified it (`email_verified` true, as a boolean or the string
/// some providers send), or when `trust_email` says to take it anyway. An unverified address
/// would let anyone who can type it into their upstream account become its owner in apps
/// keyed on email (hardening: unverified email).
fn verified_email(
    p: &UpstreamProvider,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    let verified = match claims.get("email_verified") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    claims
        .get("email")
        .and_then(|v| v.as_str())
        .filter(|_| verified || p.trust_email)
        .map(str::to_string)
}

/// A claim that is a string or an array of strings, as strings.
pub fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The authgate user for `claims` (ID token and userinfo claims merged): the username claim
/// with its prefix, email, name, and groups mapped through `group_map`; refused when outside
/// `allowed_groups` or `allowed_email_domains`.
pub fn map_claims(
    p: &UpstreamProvider,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Result<UserInfo, Refusal> {
    let claim = p.username_claim.as_deref().unwrap_or("sub");
    let email = verified_email(p, claims);
    if claim == "email" && email.is_none() && claims.contains_key("email") {
        return Err(Refusal::UnverifiedEmail);
    }
    let name_claim = claims
        .get(claim)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty() && !s.chars().any(|c| c.is_control() || c == ','))
        .ok_or_else(|| Refusal::NoUsername(claim.to_string()))?;
    // Without a mapping, the name is stable and apart from local ones: `{id}:{sub}`.
    let prefix = match (&p.username_claim, p.username_prefix.is_empty()) {
        (None, true) => format!("{}:", p.id),
        _ => p.username_prefix.clone(),
    };
    let groups: Vec<String> = p
        .groups_claim
        .as_ref()
        .map(|c| strings(claims.get(c)))
        .unwrap_or_default()
        .into_iter()
        .map(|g| p.group_map.get(&g).cloned().unwrap_or(g))
        // A name with a comma would reach apps as several groups.
        .filter(|g| !g.contains(','))
        .collect();
    let group_ok =
        p.allowed_groups.is_empty() || p.allowed_groups.iter().any(|g| groups.contains(g));
    let domain_ok = p.allowed_email_domains.is_empty()
        || email.as_deref().is_some_and(|e| {
            let domain = e.rsplit_once('@').map_or("", |(_, d)| d);
            p.allowed_email_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
        });
    if !group_ok || !domain_ok {
        return Err(Refusal::NotAllowed);
    }
    Ok(UserInfo {
        source: crate::directory::Source::Upstream(p.id.clone()),
        // Only a verified address is kept (or one `trust_email` takes as such).
        email_verified: true,
        username: format!("{prefix}{name_claim}"),
        email,
        name: claims
            .get("name")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        groups,
        disabled: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn provider() -> UpstreamProvider {
        UpstreamProvider {
            id: "corp".into(),
            name: "Corp".into(),
            issuer: url::Url::parse("https://idp.test").unwrap(),
            client_id: "authgate".into(),
            client_secret: None,
            scopes: vec!["openid".into()],
            username_claim: Some("preferred_username".into()),
            groups_claim: Some("groups".into()),
            username_prefix: "corp:".into(),
            allowed_groups: vec!["finance".into()],
            allowed_email_domains: vec!["corp.example".into()],
            group_map: HashMap::from([("b7a1-guid".to_string(), "finance".to_string())]),
            auto_redirect: false,
            trust_upstream_mfa: false,
            trust_email: false,
            logout_upstream: false,
        }
    }

    fn claims(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn maps_prefix_groups_and_refuses_outsiders() {
        let p = provider();
        let u = map_claims(
            &p,
            &verified(serde_json::json!({"preferred_username": "dana", "email": "dana@corp.example", "groups": ["b7a1-guid", "x"]})),
        )
        .unwrap();
        assert_eq!(u.username, "corp:dana");
        assert_eq!(u.groups, ["finance", "x"]);
        let outsider = serde_json::json!({"preferred_username": "eve", "email": "eve@corp.example", "groups": ["x"]});
        assert_eq!(map_claims(&p, &claims(outsider)), Err(Refusal::NotAllowed));
        let other_domain = serde_json::json!({"preferred_username": "eve", "email": "eve@evil.example", "groups": ["b7a1-guid"]});
        assert_eq!(
            map_claims(&p, &claims(other_domain)),
            Err(Refusal::NotAllowed)
        );
        assert!(matches!(
            map_claims(&p, &claims(serde_json::json!({"email": "x@corp.example"}))),
            Err(Refusal::NoUsername(_))
        ));
    }

    fn verified(mut v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        v["email_verified"] = true.into();
        claims(v)
    }

    /// hardening: unverified email.
    #[test]
    fn unverified_email_is_dropped_unless_trusted() {
        let mut p = provider();
        p.allowed_groups.clear();
        let dana = serde_json::json!({"preferred_username": "dana", "email": "dana@corp.example", "email_verified": false});
        assert_eq!(
            map_claims(&p, &claims(dana.clone())),
            Err(Refusal::NotAllowed)
        );
        p.allowed_email_domains.clear();
        assert_eq!(map_claims(&p, &claims(dana.clone())).unwrap().email, None);
        let ok = map_claims(&p, &verified(dana.clone())).unwrap();
        assert_eq!(ok.email.as_deref(), Some("dana@corp.example"));
        p.username_claim = Some("email".into());
        assert_eq!(
            map_claims(&p, &claims(dana.clone())),
            Err(Refusal::UnverifiedEmail)
        );
        p.trust_email = true;
        assert_eq!(
            map_claims(&p, &claims(dana)).unwrap().username,
            "corp:dana@corp.example"
        );
    }

    #[test]
    fn userinfo_never_overrides_the_id_token() {
        let mut c = claims(serde_json::json!({"sub": "1", "amr": ["pwd"], "acr": "0"}));
        let other = claims(serde_json::json!({"sub": "2", "email": "x@y"}));
        assert_eq!(merge_userinfo(&mut c, other), Err(Refusal::OtherSubject));
        let same = claims(
            serde_json::json!({"sub": "1", "amr": ["mfa"], "acr": "mfa", "iss": "x", "email": "x@y"}),
        );
        merge_userinfo(&mut c, same).unwrap();
        assert_eq!(c["amr"], serde_json::json!(["pwd"]));
        assert_eq!(c["acr"], "0");
        assert_eq!(c["email"], "x@y");
        assert!(!c.contains_key("iss"));
    }

    /// hardening: group splitting.
    #[test]
    fn group_names_with_a_comma_are_dropped() {
        let mut p = provider();
        p.allowed_groups.clear();
        let u = map_claims(
            &p,
            &verified(serde_json::json!({"preferred_username": "dana", "email": "dana@corp.example", "groups": ["ops,admin", "ops"]})),
        )
        .unwrap();
        assert_eq!(u.groups, ["ops"]);
    }

    /// RFC 9207 §2.4: mix-up.
    #[test]
    fn the_response_issuer_must_be_the_providers() {
        let metadata = |advertised: bool| -> Metadata {
            serde_json::from_value(serde_json::json!({
                "issuer": "https://idp.test",
                "authorization_endpoint": "https://idp.test/authorize",
                "jwks_uri": "https://idp.test/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["ES256"],
                "authorization_response_iss_parameter_supported": advertised,
            }))
            .unwrap()
        };
        let (promised, silent) = (metadata(true), metadata(false));
        assert_eq!(
            check_response_issuer(&promised, Some("https://idp.test")),
            Ok(())
        );
        assert_eq!(
            check_response_issuer(&promised, None),
            Err(Refusal::OtherIssuer)
        );
        assert_eq!(
            check_response_issuer(&silent, Some("https://evil.test")),
            Err(Refusal::OtherIssuer)
        );
        assert_eq!(check_response_issuer(&silent, None), Ok(()));
    }
}
