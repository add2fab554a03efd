//! The durable storage contract, against a real SQLite file and a real PostgreSQL cluster:
//! factors, replay-proof TOTP steps, single-use recovery codes, idempotent migrations, a newer
//! schema refused, and no secret in the clear in the database file.

mod common;

use authgate::directory::Source;
use authgate::storage::{generate_key_file, FactorKind, Owner, Storage, StorageError, StorageKey};
use common::postgres::Postgres;

fn key(dir: &std::path::Path) -> StorageKey {
    let path = dir.join("storage.key");
    if !path.exists() {
        generate_key_file(&path, false).unwrap();
    }
    StorageKey::load(&path).unwrap()
}

const ALICE: Owner = Owner {
    name: "alice",
    source: &Source::Local,
};
const BOB: Owner = Owner {
    name: "bob",
    source: &Source::Local,
};

const SEED: &[u8] = b"12345678901234567890";
const NOW: i64 = 1_700_000_000;

async fn contract(url: &str, key: &StorageKey) {
    let s = Storage::open(url, key).await.unwrap();
    // Migrations are idempotent: opening again changes nothing.
    let s2 = Storage::open(url, key).await.unwrap();
    assert!(s.factors(&ALICE).await.unwrap().is_empty());
    let totp = s
        .add(&ALICE, FactorKind::Totp, "phone", SEED, NOW)
        .await
        .unwrap();
    let opened = s2.opened(&ALICE, FactorKind::Totp).await.unwrap();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].secret, SEED);
    assert_eq!(opened[0].factor.id, totp);
    assert!(s.use_step(&totp, 100, NOW).await.unwrap());
    assert!(
        !s2.use_step(&totp, 100, NOW).await.unwrap(),
        "a step is used once"
    );
    assert!(
        !s.use_step(&totp, 99, NOW).await.unwrap(),
        "no step before the last"
    );
    assert!(s.use_step(&totp, 101, NOW).await.unwrap());
    let again = s
        .add(&ALICE, FactorKind::Totp, "new phone", b"other", NOW + 1)
        .await
        .unwrap();
    let passkey = s
        .add(&ALICE, FactorKind::Passkey, "key", b"{}", NOW + 2)
        .await
        .unwrap();
    let factors = s.factors(&ALICE).await.unwrap();
    let ids: Vec<&str> = factors.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [again.as_str(), passkey.as_str()],
        "TOTP replaced, passkey added"
    );
    assert_eq!(factors[0].last_used_at, None);
    s.passkey_used(&passkey, b"{\"n\":1}", NOW + 3)
        .await
        .unwrap();
    let keys = s.opened(&ALICE, FactorKind::Passkey).await.unwrap();
    assert_eq!(keys[0].secret, b"{\"n\":1}");
    assert_eq!(keys[0].factor.last_used_at, Some(NOW + 3));
    assert!(s.remove(&ALICE, &passkey).await.unwrap());
    assert!(
        !s.remove(&BOB, &again).await.unwrap(),
        "only the owner removes"
    );
    let codes: Vec<String> = (0..3).map(|i| format!("code-{i}")).collect();
    s.set_recovery_codes(&ALICE, &codes, NOW).await.unwrap();
    assert_eq!(s.recovery_codes_left(&ALICE).await.unwrap(), 3);
    assert!(s.use_recovery_code(&ALICE, "code-1", NOW).await.unwrap());
    assert!(
        !s2.use_recovery_code(&ALICE, "code-1", NOW).await.unwrap(),
        "used once"
    );
    assert!(!s.use_recovery_code(&BOB, "code-2", NOW).await.unwrap());
    assert_eq!(s.recovery_codes_left(&ALICE).await.unwrap(), 2);
    assert_eq!(s.all_factors().await.unwrap().len(), 1);
    assert_eq!(s.reset("alice").await.unwrap(), 1);
    assert!(s.factors(&ALICE).await.unwrap().is_empty());
    assert_eq!(s.recovery_codes_left(&ALICE).await.unwrap(), 0);
    // Whose a record is: a name and its source. The directory's alice owns none of the local
    // alice's factors or app passwords.
    let ldap_alice = Owner {
        name: "alice",
        source: &Source::Ldap,
    };
    s.add(&ALICE, FactorKind::Totp, "phone", SEED, NOW)
        .await
        .unwrap();
    assert!(s.factors(&ldap_alice).await.unwrap().is_empty());
    s.add_app_password(&ALICE, "dav", "app-pw-1", NOW)
        .await
        .unwrap();
    let used = |o| s.use_app_password(o, "app-pw-1", NOW);
    assert!(used(&ldap_alice).await.unwrap().is_none());
    assert!(used(&ALICE).await.unwrap().is_some());
    assert!(s.ready().await);
}

/// Records written before sources were kept (source '') belong to the first source whose user
/// signs in with them, and from then on to it alone.
#[tokio::test(flavor = "multi_thread")]
async fn records_from_before_sources_are_claimed_by_the_first_to_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/authgate.db", dir.path().display());
    let s = Storage::open(&url, &key(dir.path())).await.unwrap();
    {
        use sqlx::ConnectOptions;
        let db = format!("{}/authgate.db", dir.path().display());
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .unwrap();
        sqlx::query("INSERT INTO factors (id, username, kind, name, secret, created_at) VALUES ('old', 'erin', 'totp', 'phone', 'sealed', 0)")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let ldap_erin = Owner {
        name: "erin",
        source: &Source::Ldap,
    };
    let local_erin = Owner {
        name: "erin",
        source: &Source::Local,
    };
    assert_eq!(s.factors(&ldap_erin).await.unwrap().len(), 1);
    s.claim(&ldap_erin).await.unwrap();
    assert_eq!(s.factors(&ldap_erin).await.unwrap().len(), 1);
    assert!(s.factors(&local_erin).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_contract_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/authgate.db", dir.path().display());
    contract(&url, &key(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_contract_on_postgresql() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    contract(&pg.url(), &key(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_at_rest_are_never_in_the_clear_in_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/authgate.db", dir.path().display());
    let s = Storage::open(&url, &key(dir.path())).await.unwrap();
    s.add(&ALICE, FactorKind::Totp, "phone", SEED, NOW)
        .await
        .unwrap();
    let codes = vec!["RECOVERY-CODE-ONE".to_string()];
    s.set_recovery_codes(&ALICE, &codes, NOW).await.unwrap();
    drop(s);
    let raw = std::fs::read(dir.path().join("authgate.db")).unwrap();
    let hay = String::from_utf8_lossy(&raw);
    for secret in [
        String::from_utf8_lossy(SEED).to_string(),
        hex::encode(SEED),
        "RECOVERY-CODE-ONE".to_string(),
    ] {
        assert!(!hay.contains(&secret), "{secret} is in the database file");
    }
    assert!(hay.contains("alice"), "the file was read");
    // The wrong key opens nothing.
    let other = tempfile::tempdir().unwrap();
    let s = Storage::open(&url, &key(other.path())).await.unwrap();
    assert!(matches!(
        s.opened(&ALICE, FactorKind::Totp).await,
        Err(StorageError::Sealed)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_schema_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/authgate.db", dir.path().display());
    let k = key(dir.path());
    drop(Storage::open(&url, &k).await.unwrap());
    let db = format!("{}/authgate.db", dir.path().display());
    {
        use sqlx::ConnectOptions;
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .connect()
            .await
            .unwrap();
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99, 'future', 1, x'00', 0)")
            .execute(&mut c)
            .await
            .unwrap();
    }
    match Storage::open(&url, &k).await {
        Err(e @ StorageError::Newer(99)) => assert!(e.to_string().contains("newer")),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn a_missing_storage_key_says_how_to_create_it() {
    let err = StorageKey::load(std::path::Path::new("/nonexistent/storage.key")).unwrap_err();
    assert!(err
        .to_string()
        .contains("authgate gen-key --kind storage --out /nonexistent/storage.key"));
}
