//! `micro CASE old|new ITERATIONS`: repeats what one Pingora patch changes, the way Pingora
//! 0.9.1 does it (`old`) or the way the patch does it (`new`), ITERATIONS times. The process
//! is timed from outside (`farm-bench`); per-operation costs are the difference of the two
//! CPU medians over ITERATIONS.

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use bytes::{BufMut, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use pingora_http::ResponseHeader;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The upstream's answer in `benches/load.sh` (nginx, a 19-byte body).
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 05 Dec 2026 20:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: keep-alive\r\n\r\nhello from the app\n";
const MAX_HEADERS: usize = 256;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (case, new, n) = match args.as_slice() {
        [_, case, variant, n] => (
            case.as_str(),
            variant == "new",
            n.parse().expect("ITERATIONS"),
        ),
        _ => {
            eprintln!("usage: micro CASE old|new ITERATIONS");
            std::process::exit(2);
        }
    };
    match case {
        "httparse" => httparse_headers(new, n),
        "peer" => peer_check(new, n),
        "insert" => insert_header(new, n),
        "body" => body_buffer(new, n),
        "response" => response_header(new, n),
        "pool" => pool(new, n),
        _ => {
            eprintln!("cases: httparse peer insert body response pool");
            std::process::exit(2);
        }
    }
}

/// 01: the response parsed with an initialised array of 256 headers, or an uninitialised one.
fn httparse_headers(new: bool, n: u64) {
    for _ in 0..n {
        let count = if new {
            let mut headers = [MaybeUninit::<httparse::Header>::uninit(); MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut []);
            let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut resp,
                black_box(RESPONSE),
                &mut headers,
            );
            black_box(parsed.is_ok()) as usize + resp.headers.len()
        } else {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut headers);
            let parsed =
                httparse::ParserConfig::default().parse_response(&mut resp, black_box(RESPONSE));
            black_box(parsed.is_ok()) as usize + resp.headers.len()
        };
        black_box(count);
    }
}

/// 02: a pooled connection's peer checked with getpeername(2), or against the address the
/// socket digest cached when the connection was first checked.
fn peer_check(new: bool, n: u64) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let want: SocketAddr = listener.local_addr().expect("address");
    let stream = TcpStream::connect(want).expect("connect");
    let cached = stream.peer_addr().expect("peer");
    let socket = socket2::SockRef::from(&stream);
    let _fd = stream.as_raw_fd();
    for _ in 0..n {
        let same = if new {
            black_box(&cached) == black_box(&want)
        } else {
            socket.peer_addr().ok().and_then(|a| a.as_socket()) == Some(want)
        };
        black_box(same);
    }
}

/// 03: five identity headers inserted by ready `HeaderName`: parsed again from their title
/// form and stored with it (0.9.1), or stored as given with a case form made once (the patch).
fn insert_header(new: bool, n: u64) {
    let names: Vec<HeaderName> = [
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-groups",
        "x-forwarded-preferred-username",
        "x-authgate-assertion",
    ]
    .into_iter()
    .map(HeaderName::from_static)
    .collect();
    let ready: Vec<(HeaderName, bytes::Bytes)> = names
        .iter()
        .map(|h| {
            (
                h.clone(),
                bytes::Bytes::copy_from_slice(h.as_str().as_bytes()),
            )
        })
        .collect();
    let value = HeaderValue::from_static("alice");
    for _ in 0..n {
        let mut values: HeaderMap<HeaderValue> = HeaderMap::with_capacity(16);
        let mut cases: HeaderMap<bytes::Bytes> = HeaderMap::with_capacity(16);
        if new {
            for (name, case) in &ready {
                cases.insert(name.clone(), case.clone());
                values.insert(name.clone(), value.clone());
            }
        } else {
            for name in &names {
                // `titled_header_name` of a non-standard name, then `HeaderName::try_from`.
                let case = bytes::Bytes::copy_from_slice(name.as_str().as_bytes());
                let parsed = HeaderName::from_bytes(&case).expect("a header name");
                cases.insert(parsed.clone(), case);
                values.insert(parsed, value.clone());
            }
        }
        black_box((values, cases));
    }
}

/// 04: the body buffer of a 19-byte response: 64 KiB, or the body's length.
fn body_buffer(new: bool, n: u64) {
    let body = &RESPONSE[RESPONSE.len() - 19..];
    for _ in 0..n {
        let size = if new { body.len() } else { 64 * 1024 };
        let mut buf = BytesMut::with_capacity(black_box(size).max(body.len()));
        buf.put_slice(body);
        black_box(buf);
    }
}

/// 05: the response header handed to the proxy: a clone of all of it (0.9.1), or the header
/// itself, with the session keeping a header of its framing fields (the patch).
fn response_header(new: bool, n: u64) {
    let mut full = ResponseHeader::build(200, Some(8)).expect("a header");
    for (name, value) in [
        ("Server", "nginx/1.22.1"),
        ("Date", "Sat, 05 Dec 2026 20:00:00 GMT"),
        ("Content-Type", "text/plain"),
        ("Content-Length", "19"),
        ("Connection", "keep-alive"),
    ] {
        full.append_header(name, value).expect("a header");
    }
    let framing = [
        http::header::CONNECTION,
        http::header::CONTENT_LENGTH,
        http::header::TRANSFER_ENCODING,
        http::header::UPGRADE,
        HeaderName::from_static("keep-alive"),
    ];
    for _ in 0..n {
        if new {
            let mut kept =
                ResponseHeader::build(full.status, Some(framing.len())).expect("a header");
            for name in &framing {
                for value in full.headers.get_all(name) {
                    kept.append_header(name, value.clone()).expect("a header");
                }
            }
            black_box(kept);
        } else {
            black_box(Box::new(black_box(&full).clone()));
        }
    }
}

/// 06: a connection released to the pool and taken again: with a watcher task per release
/// that holds the connection's lock until it is picked up (0.9.1), or without one (the patch).
fn pool(new: bool, n: u64) {
    use std::sync::Arc;
    use tokio::sync::{oneshot, Mutex};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let mut conn = Arc::new(Mutex::new(0u64));
        for _ in 0..n {
            if new {
                let pooled = Arc::clone(&conn);
                drop(conn);
                let _ = pooled.lock().await;
                conn = pooled;
            } else {
                let guard = Arc::clone(&conn).try_lock_owned().expect("free");
                let (notify_use, watch_use) = oneshot::channel::<bool>();
                tokio::spawn(async move {
                    let _ = watch_use.await;
                    drop(guard);
                });
                tokio::task::yield_now().await;
                let _ = notify_use.send(true);
                let _ = conn.lock().await;
            }
            black_box(&conn);
        }
    });
}
