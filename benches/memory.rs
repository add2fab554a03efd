//! Memory of the in-memory session store: RSS growth for 1,000,000 sessions, and where
//! `max_entries` caps it. `cargo bench --bench memory`

use std::time::Duration;

/// The allocator the binary uses (`src/main.rs`): its size classes decide what an entry costs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use authgate::clock::{Clock, SystemClock};
use authgate::secret::{new_id, new_secret};
use authgate::session::memory::MemoryStore;
use authgate::session::{Key, Kind, SessionRecord, Store};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// `n` sessions of alice, signed in from `address` (a record of 52 bytes without one).
fn fill(store: &MemoryStore, n: usize, address: Option<&str>, rt: &tokio::runtime::Runtime) {
    let now = SystemClock.now();
    rt.block_on(async {
        for _ in 0..n {
            let r = SessionRecord {
                user: "alice".into(),
                sid: new_id(),
                auth_time: now,
                expires: now + 43_200,
                last_seen: now,
                parent: None,
                amr: vec!["pwd".into()],
                address: address.map(str::to_string),
                source: Some(authgate::directory::Source::Local),
            };
            store
                .put(
                    &Key::secret(Kind::Session, &new_secret()),
                    r.encode().unwrap(),
                    Duration::from_secs(43_200),
                )
                .await
                .unwrap();
        }
    });
}

/// What moka itself costs per entry, with the store's key type and an 8-byte value, built as
/// the store builds it (per-entry expiry and a size cap) and in lighter ways, to show what each
/// feature costs.
fn moka_alone(variant: &str, n: usize) {
    use moka::sync::Cache;
    struct Fixed;
    impl moka::Expiry<[u8; 16], u64> for Fixed {
        fn expire_after_create(
            &self,
            _: &[u8; 16],
            _: &u64,
            _: std::time::Instant,
        ) -> Option<Duration> {
            Some(Duration::from_secs(43_200))
        }
    }
    let day = Duration::from_secs(43_200);
    let (label, cache): (&str, Cache<[u8; 16], u64>) = match variant {
        "expiry" => (
            "per-entry expiry and a size cap (as the store)",
            Cache::builder()
                .max_capacity(2_000_000)
                .expire_after(Fixed)
                .build(),
        ),
        "ttl" => (
            "one time-to-live for all and a size cap",
            Cache::builder()
                .max_capacity(2_000_000)
                .time_to_live(day)
                .build(),
        ),
        "cap" => (
            "a size cap only",
            Cache::builder().max_capacity(2_000_000).build(),
        ),
        _ => ("nothing (unbounded, no expiry)", Cache::builder().build()),
    };
    let before = rss_bytes();
    for i in 0..n as u64 {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&i.to_le_bytes());
        cache.insert(k, i);
    }
    cache.run_pending_tasks();
    let per_entry = rss_bytes().saturating_sub(before) / n as u64;
    println!("moka alone, {label}: {per_entry} bytes/entry");
}

fn record_sizes() {
    let record = SessionRecord {
        user: "alice".into(),
        sid: new_id(),
        auth_time: 1_700_000_000,
        expires: 1_700_043_200,
        last_seen: 1_700_000_000,
        parent: None,
        amr: vec!["pwd".into()],
        address: None,
        source: Some(authgate::directory::Source::Local),
    };
    let addressed = SessionRecord {
        address: Some("203.0.113.45".into()),
        ..record.clone()
    };
    println!(
        "a session record: {} bytes compact (version byte + postcard), {} bytes as JSON; {} compact with a client address",
        record.encode().map_or(0, |b| b.len()),
        serde_json::to_vec(&record).map_or(0, |b| b.len()),
        addressed.encode().map_or(0, |b| b.len())
    );
}

/// Each measurement runs in a process of its own (this binary again, `MEMORY_CASE` set), so
/// that memory freed by one is not reused by the next.
fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 1_000_000 } else { 10_000 };
    match std::env::var("MEMORY_CASE").as_deref() {
        Ok("store") => store(n, None),
        Ok("store-address") => store(n, Some("203.0.113.45")),
        Ok("record") => record_sizes(),
        Ok(moka) if moka.starts_with("moka-") => moka_alone(&moka[5..], n),
        Ok("cap") => capped(if full { 100_000 } else { 1_000 }),
        _ => {
            let cases = [
                "store",
                "store-address",
                "record",
                "moka-expiry",
                "moka-ttl",
                "moka-cap",
                "moka-none",
                "cap",
            ];
            for case in cases {
                let status = std::process::Command::new(std::env::current_exe().unwrap())
                    .args(std::env::args().skip(1))
                    .env("MEMORY_CASE", case)
                    .status()
                    .unwrap();
                assert!(status.success(), "{case}: {status}");
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn store(n: usize, address: Option<&str>) {
    let before = rss_bytes();
    let store = MemoryStore::new(2_000_000);
    fill(&store, n, address, &runtime());
    let count = store.entry_count();
    let growth = rss_bytes().saturating_sub(before);
    let from = address.map_or("no client address".into(), |a| {
        format!("signed in from {a}")
    });
    println!(
        "the memory store, {count} sessions ({from}): {:.1} MB, {} bytes/session",
        growth as f64 / 1e6,
        growth / count.max(1)
    );
    assert_eq!(count, n as u64);
}

fn capped(cap: u64) {
    let store = MemoryStore::new(cap);
    fill(&store, 2 * cap as usize, None, &runtime());
    println!();
    println!(
        "max_entries = {cap}: after inserting {} sessions the store holds {}",
        2 * cap,
        store.entry_count()
    );
    assert!(store.entry_count() <= cap);
}
