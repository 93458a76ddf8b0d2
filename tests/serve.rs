//! `netledger serve` on loopback: serves the site, rebuilds on change, reports errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(address: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

fn version(address: &str) -> (u64, String) {
    let (_, body) = get(address, "/__netledger/status");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["version"].as_u64().unwrap(),
        v["error"].as_str().unwrap().to_string(),
    )
}

fn wait_for_version(address: &str, after: u64) -> (u64, String) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        let v = version(address);
        if v.0 > after {
            return v;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no rebuild within 20 s");
}

/// Starts `netledger serve` on a free loopback port in `root`.
fn start(root: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(["serve", "--address", "127.0.0.1:0"])
        .current_dir(root)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut address = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.split("http://").nth(1) {
            address = rest.split('/').next().unwrap().to_string();
            break;
        }
        line.clear();
    }
    std::thread::spawn(move || for _ in stderr.lines() {});
    assert!(!address.is_empty(), "no address printed");
    Server { child, address }
}

/// Sends raw bytes; returns the status line of the answer.
fn raw(address: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn project(name: &str) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("netledger-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("content/models")).unwrap();
    std::fs::copy(
        "content/models/resnet18.toml",
        root.join("content/models/resnet18.toml"),
    )
    .unwrap();
    std::fs::write(
        root.join("content/index.md"),
        "+++\ntitle = \"Live\"\n+++\n{{ params(model=\"resnet18\") | num }}\n",
    )
    .unwrap();
    root
}

#[test]
fn hostile_clients_get_refusals_not_resources() {
    let root = project("hostile");
    let server = start(&root);
    let a = server.address.as_str();
    let ok = |host: &str| {
        raw(
            a,
            format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes(),
        )
    };
    assert_eq!(ok("localhost"), "HTTP/1.1 200 OK");
    assert_eq!(ok(a), "HTTP/1.1 200 OK");
    assert_eq!(ok("[::1]:8000"), "HTTP/1.1 200 OK");
    // DNS rebinding: a foreign name that resolves to 127.0.0.1.
    assert_eq!(
        ok("attacker.example:8000"),
        "HTTP/1.1 421 Misdirected Request"
    );
    assert_eq!(
        raw(a, b"GET / HTTP/1.1\r\n\r\n"),
        "HTTP/1.1 421 Misdirected Request"
    );
    // Oversized heads: a long header, and a stream with no newline at all.
    let big = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_eq!(
        raw(a, big.as_bytes()),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(
        raw(a, &vec![b'G'; 1 << 20]),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    // Idle connections hold at most MAX_CONNECTIONS (32) places; the rest are turned away.
    let idle: Vec<TcpStream> = (0..32).map(|_| TcpStream::connect(a).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ok("localhost"), "HTTP/1.1 503 Service Unavailable");
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ok("localhost"), "HTTP/1.1 200 OK");
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_slow_client_is_cut_off_at_the_deadline() {
    let root = project("slow");
    let server = start(&root);
    let mut s = TcpStream::connect(&server.address).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let started = Instant::now();
    // One byte every 500 ms: a per-read timeout would never fire.
    let mut closed = false;
    for b in b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "
        .iter()
        .cycle()
        .take(60)
    {
        if s.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        let mut probe = [0u8; 1];
        s.set_nonblocking(true).unwrap();
        let gone = matches!(s.read(&mut probe), Ok(0));
        s.set_nonblocking(false).unwrap();
        if gone {
            closed = true;
            break;
        }
    }
    assert!(
        closed,
        "connection still open after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(14),
        "{:?}",
        started.elapsed()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_status_endpoint_shows_no_file_outside_the_project() {
    let root = project("leak");
    let outside = root.with_extension("outside.toml");
    std::fs::write(&outside, "root:x:0:0:secret\n").unwrap();
    let server = start(&root);
    let (v, err) = version(&server.address);
    assert!(err.is_empty(), "{err}");
    std::os::unix::fs::symlink(&outside, root.join("content/models/evil.toml")).unwrap();
    let (_, err) = wait_for_version(&server.address, v);
    assert_eq!(
        err,
        "error: the build failed on a file outside the project's folders; the terminal shows where\n"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_file(&outside);
}

#[test]
fn binding_beyond_loopback_needs_a_flag() {
    let out = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(["serve", "--address", "0.0.0.0:0"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --address `0.0.0.0:0` is not loopback (0.0.0.0:0): other machines could read the site and its build errors\n  = hint: use 127.0.0.1, or add --allow-remote if that is what you want\n"
    );
}

#[test]
fn serves_rebuilds_and_reports_errors() {
    let root = project("live");
    let page = root.join("content/index.md");
    std::fs::write(
        &page,
        "+++\ntitle = \"Live\"\n+++\nFirst: {{ params(model=\"resnet18\") | num }}.\n",
    )
    .unwrap();

    let server = start(&root);

    let (status, body) = get(&server.address, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("First: 11,689,512."), "{body}");
    assert!(
        body.contains("/__netledger/status"),
        "reload script injected"
    );
    assert!(
        !std::fs::read_to_string(root.join("site/index.html"))
            .unwrap()
            .contains("__netledger"),
        "files stay clean"
    );
    assert_eq!(
        get(&server.address, "/missing.html").0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        get(&server.address, "/../../etc/passwd").0,
        "HTTP/1.1 403 Forbidden"
    );

    let (v1, err) = version(&server.address);
    assert!(err.is_empty(), "{err}");
    std::fs::write(
        &page,
        "+++\ntitle = \"Live\"\n+++\nSecond: {{ macs(model=\"resnet18\") | num }}.\n",
    )
    .unwrap();
    let (v2, err) = wait_for_version(&server.address, v1);
    assert!(err.is_empty(), "{err}");
    assert!(get(&server.address, "/index.html")
        .1
        .contains("Second: 1,814,073,344."));

    std::fs::write(
        &page,
        "+++\ntitle = \"Live\"\n+++\n{{ params(model=\"nope\") }}\n",
    )
    .unwrap();
    let (_, err) = wait_for_version(&server.address, v2);
    assert!(err.contains("content/index.md:4:4"), "{err}");
    assert!(
        get(&server.address, "/index.html").1.contains("Second:"),
        "last good site still served"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
