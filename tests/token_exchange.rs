//! Token exchange (RFC 8693): a service trades a user's access token for one meant for another
//! client or route, never wider, never longer-lived, revoked with the original; only services
//! the original client names in `may_act`.

mod common;

use common::jose;
use common::oidc::*;
use common::*;

const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn gateway() -> (Gateway, Upstream) {
    let up = Upstream::start("reports").await;
    let h = authgate::oidc::client_auth::hash_secret(WIKI_SECRET);
    let gw = provider(&format!(
        "[[clients]]\nclient_id = \"portal\"\nclient_secret_sha256 = \"{h}\"\nredirect_uris = [\"https://portal.test/cb\"]\nmay_act = [\"api\"]\n\n\
         [[clients]]\nclient_id = \"api\"\nclient_secret_sha256 = \"{h}\"\ngrant_types = [\"client_credentials\", \"{EXCHANGE}\"]\n\n\
         [[clients]]\nclient_id = \"intruder\"\nclient_secret_sha256 = \"{h}\"\ngrant_types = [\"{EXCHANGE}\"]\n\n\
         [[clients]]\nclient_id = \"reports\"\nclient_secret_sha256 = \"{h}\"\ngrant_types = [\"client_credentials\"]\nmay_act = [\"api\"]\n\n\
         [[clients]]\nclient_id = \"pw\"\nclient_secret_sha256 = \"{h}\"\nredirect_uris = [\"https://pw.test/cb\"]\nsubject_type = \"pairwise\"\nmay_act = [\"api\"]\n\n\
         [[routes]]\npath_prefix = \"/reports\"\nupstreams = [\"{a}\"]\nbearer_clients = [\"reports\"]\n\n\
         [[routes]]\npath_prefix = \"/ledger\"\nupstreams = [\"{a}\"]\nbearer_clients = [\"api\"]\n\n\
         [[routes]]\npath_prefix = \"/private\"\nupstreams = [\"{a}\"]\nbearer_clients = [\"reports\"]\n\n\
         [storage]\nurl = \"sqlite://{{dir}}/authgate.db\"\nencryption_key_file = \"{{dir}}/storage.key\"\ncreate_key_if_missing = true\n",
        a = up.addr
    ));
    (gw, up)
}

/// alice's access token at `portal`.
async fn portal_token(gw: &Gateway) -> String {
    user_token(gw, "portal", "https://portal.test/cb").await
}

/// alice's access token at `client_id`.
async fn user_token(gw: &Gateway, client_id: &str, redirect: &str) -> String {
    let url = gw.url(&format!(
        "/oauth2/authorize?client_id={client_id}&response_type=code&scope=openid+email&redirect_uri={}",
        enc(redirect)
    ));
    let back = authorize_with_login(&browser(gw), gw, &url, "alice", ALICE_PW).await;
    let code = param(&back, "code").unwrap();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
    ];
    let tokens = token(gw, client_id, &form).await;
    tokens["access_token"].as_str().unwrap().to_string()
}

async fn token(gw: &Gateway, client_id: &str, form: &[(&str, &str)]) -> serde_json::Value {
    client(gw)
        .post(gw.url("/oauth2/token"))
        .basic_auth(client_id, Some(WIKI_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn exchange(
    gw: &Gateway,
    client_id: &str,
    subject: &str,
    extra: &[(&str, &str)],
) -> serde_json::Value {
    let mut form = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS),
    ];
    form.extend_from_slice(extra);
    token(gw, client_id, &form).await
}

async fn status_at(gw: &Gateway, path: &str, token: &str) -> u16 {
    let r = client(gw)
        .get(gw.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_exchanges_a_users_token_for_another_audience_never_wider() {
    let (gw, _up) = gateway().await;
    let subject = portal_token(&gw).await;
    let actor = token(&gw, "api", &[("grant_type", "client_credentials")]).await;
    let actor = actor["access_token"].as_str().unwrap();

    let answer = exchange(
        &gw,
        "api",
        &subject,
        &[
            ("audience", "reports"),
            ("scope", "openid"),
            ("actor_token", actor),
            ("actor_token_type", ACCESS),
        ],
    )
    .await;
    assert_eq!(answer["issued_token_type"], ACCESS, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "openid");
    let exchanged = answer["access_token"].as_str().unwrap().to_string();
    let (new, old) = (jose::claims(&exchanged), jose::claims(&subject));
    assert_eq!(
        (new["aud"].as_str(), new["client_id"].as_str()),
        (Some("reports"), Some("api"))
    );
    assert_eq!(new["sub"], "alice");
    assert!(
        new["exp"].as_u64() <= old["exp"].as_u64(),
        "never outlives the subject token"
    );
    assert_eq!(new["act"]["sub"], jose::claims(actor)["sub"], "who acts");

    // Used where its audience is accepted, and nowhere else.
    assert_eq!(status_at(&gw, "/reports/q1", &exchanged).await, 200);
    assert_eq!(status_at(&gw, "/ledger/q1", &exchanged).await, 401);
    assert_eq!(
        status_at(&gw, "/reports/q1", &subject).await,
        401,
        "the original is portal's"
    );

    // A route as the resource.
    let answer = exchange(&gw, "api", &subject, &[("resource", &gw.url("/ledger/"))]).await;
    let for_ledger = answer["access_token"]
        .as_str()
        .expect("a token for the route");
    assert_eq!(status_at(&gw, "/ledger/q1", for_ledger).await, 200);
    assert_eq!(status_at(&gw, "/reports/q1", for_ledger).await, 401);

    // Refused: wider, unknown targets, a client portal did not name, a client's own token.
    let private = gw.url("/private/");
    let pairwise = user_token(&gw, "pw", "https://pw.test/cb").await;
    let refusals = [
        (
            "api",
            subject.as_str(),
            vec![("audience", "nobody")],
            "invalid_target",
        ),
        (
            "api",
            subject.as_str(),
            vec![("audience", "wiki")],
            "invalid_target",
        ),
        (
            "api",
            subject.as_str(),
            vec![("resource", private.as_str())],
            "invalid_target",
        ),
        (
            "api",
            pairwise.as_str(),
            vec![("audience", "reports")],
            "invalid_target",
        ),
        (
            "api",
            subject.as_str(),
            vec![("resource", "https://elsewhere.test/")],
            "invalid_target",
        ),
        (
            "intruder",
            subject.as_str(),
            vec![("audience", "reports")],
            "invalid_grant",
        ),
        ("api", actor, vec![("audience", "reports")], "invalid_grant"),
        (
            "api",
            "not-a-token",
            vec![("audience", "reports")],
            "invalid_grant",
        ),
    ];
    // Wider than the subject token: what curl from a shell gets.
    let wider = format!(
        "grant_type={EXCHANGE}&subject_token={subject}&subject_token_type={ACCESS}&audience=reports&scope=openid+email+profile"
    );
    let r = curl(&[
        "-u",
        &format!("api:{WIKI_SECRET}"),
        "-d",
        &wider,
        &gw.url("/oauth2/token"),
    ]);
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_scope")),
        "{}",
        r.body
    );
    for (client_id, subject, extra, error) in refusals {
        let answer = exchange(&gw, client_id, subject, &extra).await;
        assert_eq!(answer["error"], error, "{client_id} {extra:?}: {answer}");
    }
    let discovery = gw.json("/.well-known/openid-configuration").await;
    assert!(discovery["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&EXCHANGE.into()));

    // Revoking the original revokes what it was exchanged for.
    let r = client(&gw)
        .post(gw.url("/oauth2/revoke"))
        .basic_auth("portal", Some(WIKI_SECRET))
        .form(&[("token", subject.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(status_at(&gw, "/reports/q1", &exchanged).await, 401);
}
