//! Micro-benchmarks of the per-request hot path and of the provider's expensive steps.
//! `cargo bench --bench hot_path`

#[path = "../tests/common/rules.rs"]
mod rules;

use std::hint::black_box;
use std::sync::Arc;

use authgate::app::auth::Accepts;
use authgate::app::App;
use authgate::config;
use authgate::http::path;
use authgate::identity::{Identity, Target};
use authgate::keys::{generate, Alg, KeySet};
use authgate::oidc::grant::{check_code, CodeRecord};
use authgate::oidc::tokens::{self, IdTokenInput, Subject};
use authgate::policy;
use criterion::{criterion_group, criterion_main, Criterion};
use pingora::http::RequestHeader;

fn app(dir: &std::path::Path) -> Arc<App> {
    let hash = authgate::login::password::hash("pw").unwrap();
    let cfg = config::from_str(&format!(
        r#"
[server]
listen = ["127.0.0.1:1"]
public_url = "http://auth.test"
[tokens]
signing_key_file = "{}/k.pem"
create_key_if_missing = true
[[users]]
username = "alice"
password_hash = "{hash}"
email = "alice@example.com"
groups = ["staff", "admin"]
[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:2"]
allow_groups = ["admin"]
public_paths = ["/static/"]
[[routes]]
host = "rules.test"
upstreams = ["127.0.0.1:2"]
{}
"#,
        dir.display(),
        fifty_rules()
    ))
    .unwrap();
    let clock = Arc::new(authgate::clock::SystemClock);
    Arc::new(App::start(cfg, clock).unwrap())
}

/// 49 rules that miss a request for `/report` from 10.1.2.3, then one that matches it.
fn fifty_rules() -> String {
    let mut rules = rules::forty_nine_misses();
    rules.push_str("[[routes.rules]]\nnetworks = [\"10.0.0.0/8\"]\npolicy = \"one_factor\"\n");
    rules
}

const REPORT: policy::Request<'static> = policy::Request {
    path: "/report",
    method: "GET",
    client_ip: Some(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 3))),
    query: Some("a=1"),
};

const ONE_FACTOR: policy::Requires = policy::Requires {
    second_factor: false,
    everywhere: false,
};

fn hot_path(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = app(dir.path());
    let now = app.now();
    // 10,000 sessions in the store, like a busy gateway.
    let mut cookie = String::new();
    rt.block_on(async {
        for _ in 0..10_000 {
            let (id, _) = app
                .sessions()
                .create(
                    ("alice", &authgate::directory::Source::Local),
                    vec!["pwd".into()],
                    None,
                    now,
                )
                .await
                .unwrap();
            cookie = id;
        }
    });
    let mut req = RequestHeader::build("GET", b"/report?x=1", None).unwrap();
    req.insert_header("Host", "app.test").unwrap();
    req.insert_header("Cookie", format!("theme=dark; authgate_session={cookie}"))
        .unwrap();

    c.bench_function("cookie → session lookup (authenticate)", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                authgate::app::auth::authenticate(&app, &req, Accepts::cookies(), now)
                    .await
                    .unwrap()
                    .unwrap(),
            )
        })
    });

    let route = &app.cfg().routes[0];
    let who = rt
        .block_on(authgate::app::auth::authenticate(
            &app,
            &req,
            Accepts::cookies(),
            now,
        ))
        .unwrap()
        .unwrap();
    c.bench_function("policy decision", |b| {
        b.iter(|| {
            black_box(policy::decide(
                route,
                black_box(&REPORT),
                Some(&who),
                ONE_FACTOR,
            ))
        })
    });
    let with_rules = &app.cfg().routes[1];
    assert_eq!(with_rules.rules.len(), 50);
    assert_eq!(
        policy::decide(with_rules, &REPORT, Some(&who), ONE_FACTOR),
        policy::Decision::Allow
    );
    c.bench_function("policy decision, 50 rules, the last matching", |b| {
        b.iter(|| {
            black_box(policy::decide(
                with_rules,
                black_box(&REPORT),
                Some(&who),
                ONE_FACTOR,
            ))
        })
    });

    let host = authgate::http::host::Host::parse("app.test").unwrap();
    let target = Target {
        route: Some(0),
        names: &route.headers,
        audience: &host,
        basic: None,
    };
    c.bench_function("identity headers, prepared and cached", |b| {
        b.iter(|| {
            black_box(
                app.identities()
                    .get(app.keys(), &app.cfg().server.issuer, &target, &who, now)
                    .unwrap(),
            )
        })
    });
    let mut n = 0u64;
    c.bench_function("identity headers, assertion signed (ES256)", |b| {
        b.iter(|| {
            n += 1;
            let fresh = Identity {
                cache_key: format!("k{n}"),
                ..who.clone()
            };
            black_box(
                app.identities()
                    .get(app.keys(), &app.cfg().server.issuer, &target, &fresh, now)
                    .unwrap(),
            )
        })
    });

    c.bench_function("path normalisation", |b| {
        b.iter(|| {
            black_box(path::normalize(black_box(
                "/static/../api//v1/./items/%7Euser/42",
            )))
        })
    });

    // Provider.
    let client = app.clients().get(authgate::PROXY_CLIENT_ID).unwrap();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let record = CodeRecord {
        client_id: client.client_id.clone(),
        redirect_uri: "http://app.test/.authgate/callback".into(),
        redirect_uri_given: true,
        code_challenge: Some(authgate::oidc::pkce::challenge(verifier)),
        nonce: None,
        scope: vec!["openid".into()],
        user: "alice".into(),
        sid: "sid".into(),
        session: authgate::session::Key::secret(authgate::session::Kind::Session, "x"),
        auth_time: now,
        expires: now + 60,
        amr: vec!["pwd".into()],
        source: None,
    };
    c.bench_function(
        "code exchange checks (client, redirect_uri, PKCE S256)",
        |b| {
            b.iter(|| {
                black_box(check_code(
                    &record,
                    client,
                    Some("http://app.test/.authgate/callback"),
                    Some(verifier),
                    now,
                ))
            })
        },
    );
    let user = rt.block_on(app.directory().find("alice")).unwrap().unwrap();
    let scope = vec!["openid".to_string(), "email".to_string()];
    for alg in [Alg::ES256, Alg::RS256, Alg::EdDSA] {
        let keys = KeySet::from_pem(&generate(alg).unwrap()).unwrap();
        let subject = Subject {
            user: &user,
            sub: &user.username,
            client_id: "wiki",
            scope: &scope,
            sid: "sid",
            auth_time: now,
            grant: "g",
            amr: &[],
            machine: false,
        };
        c.bench_function(&format!("id_token signing {}", alg.name()), |b| {
            b.iter(|| {
                black_box(
                    tokens::id_token(
                        &keys,
                        "http://auth.test",
                        &subject,
                        &IdTokenInput {
                            nonce: Some("n"),
                            access_token: Some("at"),
                            code: None,
                        },
                        600,
                        now,
                    )
                    .unwrap(),
                )
            })
        });
    }
    let phc = authgate::login::password::hash("correct horse").unwrap();
    let mut g = c.benchmark_group("argon2");
    g.sample_size(10);
    g.bench_function("argon2id verify (m=19456, t=2, p=1)", |b| {
        b.iter(|| black_box(authgate::login::password::check(&phc, "correct horse")))
    });
    g.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
