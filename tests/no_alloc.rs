//! Rule matching allocates nothing per request: a decision on a route with 50 access rules,
//! the last one matching, counted by a global allocator once the regexes' caches are warm.

#[path = "common/rules.rs"]
mod rules;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use authgate::policy::{self, Credential, Principal, Requires};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Alice(Vec<String>);

impl Principal for Alice {
    fn username(&self) -> &str {
        "alice"
    }
    fn groups(&self) -> &[String] {
        &self.0
    }
    fn second_factor(&self) -> bool {
        false
    }
    fn credential(&self) -> Credential {
        Credential::Session
    }
}

#[test]
fn a_decision_over_fifty_rules_allocates_nothing() {
    let mut rules = rules::forty_nine_misses();
    rules.push_str("[[routes.rules]]\nnetworks = [\"10.0.0.0/8\"]\ngroups = [\"staff\"]\npolicy = \"one_factor\"\n");
    let cfg = authgate::config::from_str(&format!(
        "[server]\nlisten = [\"127.0.0.1:1\"]\npublic_url = \"http://a.test\"\n[tokens]\n\
         signing_key_file = \"/nonexistent/k.pem\"\ncreate_key_if_missing = true\n\
         [[routes]]\nupstreams = [\"127.0.0.1:2\"]\n{rules}"
    ))
    .unwrap();
    let route = &cfg.routes[0];
    let who = Alice(vec!["staff".to_string()]);
    let req = policy::Request {
        path: "/report",
        method: "GET",
        client_ip: Some("10.1.2.3".parse().unwrap()),
        query: Some("a=1"),
    };
    let requires = Requires {
        second_factor: false,
        everywhere: false,
    };
    // Warm the regexes' per-thread caches.
    for _ in 0..3 {
        policy::decide(route, &req, Some(&who), requires);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..1000 {
        let d = policy::decide(route, &req, Some(&who), requires);
        assert_eq!(d, policy::Decision::Allow);
    }
    let allocated = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(allocated, 0, "1000 decisions allocated {allocated} times");
}
