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
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
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

#[test]
fn serves_rebuilds_and_reports_errors() {
    let root = std::env::temp_dir().join(format!("netledger-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("content/models")).unwrap();
    std::fs::copy(
        "content/models/resnet18.toml",
        root.join("content/models/resnet18.toml"),
    )
    .unwrap();
    let page = root.join("content/index.md");
    std::fs::write(
        &page,
        "+++\ntitle = \"Live\"\n+++\nFirst: {{ params(model=\"resnet18\") | num }}.\n",
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_netledger"))
        .args(["serve", "--address", "127.0.0.1:0"])
        .current_dir(&root)
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
    let server = Server { child, address };
    assert!(!server.address.is_empty(), "no address printed");

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
