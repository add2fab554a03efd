//! Memory of the in-memory session store: RSS growth for 1,000,000 sessions, and where
//! `max_entries` caps it. `cargo bench --bench memory`

use std::time::Duration;

use authgate::clock::{Clock, SystemClock};
use authgate::secret::{new_id, new_secret};
use authgate::session::memory::MemoryStore;
use authgate::session::{Key, Kind, Records, SessionRecord};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn fill(store: &MemoryStore, n: usize, rt: &tokio::runtime::Runtime) {
    let now = SystemClock.now();
    rt.block_on(async {
        let records = Records(store);
        for _ in 0..n {
            let r = SessionRecord {
                user: "alice".into(),
                sid: new_id(),
                auth_time: now,
                expires: now + 43_200,
                last_seen: now,
                parent: None,
                amr: vec!["pwd".into()],
                address: None,
            };
            records
                .put(
                    &Key::secret(Kind::Session, &new_secret()),
                    &r,
                    Duration::from_secs(43_200),
                )
                .await
                .unwrap();
        }
    });
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` does not: then a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let n = if full { 1_000_000 } else { 10_000 };
    let before = rss_bytes();
    let store = MemoryStore::new(2_000_000);
    fill(&store, n, &rt);
    let count = store.entry_count();
    let after = rss_bytes();
    let growth = after.saturating_sub(before);
    println!("| sessions | RSS growth | bytes/session |");
    println!("|---|---|---|");
    println!(
        "| {count} | {:.1} MB | {} |",
        growth as f64 / 1e6,
        growth / count.max(1)
    );
    drop(store);

    let cap = if full { 100_000 } else { 1_000 };
    let capped = MemoryStore::new(cap);
    fill(&capped, 2 * cap as usize, &rt);
    println!();
    println!(
        "max_entries = {cap}: after inserting {} sessions the store holds {}",
        2 * cap,
        capped.entry_count()
    );
}
