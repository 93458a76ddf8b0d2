//! A minimal HTTP/1.1 file server for the built site (GET and HEAD only).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{lock, Status};

/// Added before `</body>` of served HTML: polls the status, reloads on a new
/// build, shows the error of a failed one.
const RELOAD: &str = r#"<script>
(function () {
  var seen = null;
  function poll() {
    fetch("/__netledger/status", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
      if (seen !== null && s.version !== seen && !s.error) { location.reload(); return; }
      seen = s.version;
      var box = document.getElementById("netledger-error");
      if (s.error) {
        if (!box) { box = document.createElement("pre"); box.id = "netledger-error";
          box.style.cssText = "position:fixed;inset:1rem;z-index:9;overflow:auto;background:#300;color:#fee;padding:1rem;font:14px monospace;white-space:pre-wrap";
          document.body.appendChild(box); }
        box.textContent = s.error;
      } else if (box) { box.remove(); }
    }).catch(function () {}).finally(function () { setTimeout(poll, 700); });
  }
  poll();
})();
</script>
"#;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "toml" | "txt" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "js" => "text/javascript",
        _ => "application/octet-stream",
    }
}

/// Maps a request path to a file under `root`, refusing anything that leaves it.
pub fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let mut out = root.to_path_buf();
    for part in Path::new(path.trim_start_matches('/')).components() {
        match part {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

fn respond(stream: &mut TcpStream, code: &str, kind: &str, body: &[u8], head_only: bool) {
    let header = format!(
        "HTTP/1.1 {code}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes());
    if !head_only {
        let _ = stream.write_all(body);
    }
}

/// Turns a connection away when [`super::MAX_CONNECTIONS`] are open.
pub fn busy(stream: &mut TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    respond(
        stream,
        "503 Service Unavailable",
        "text/plain",
        b"too many connections\n",
        false,
    );
}

/// Most bytes of request line and headers together.
pub const MAX_HEAD: usize = 8 * 1024;

/// Time a client has to send its whole request head.
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);

/// Why a request head could not be read.
#[derive(Debug, PartialEq)]
enum HeadError {
    /// Longer than [`MAX_HEAD`].
    TooLarge,
    /// Not complete within [`HEAD_DEADLINE`], or the client went away.
    Incomplete,
}

/// Reads up to the blank line that ends the head, within the size and time limits.
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, HeadError> {
    let deadline = Instant::now() + HEAD_DEADLINE;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(HeadError::Incomplete)?;
        stream
            .set_read_timeout(Some(left))
            .map_err(|_| HeadError::Incomplete)?;
        let n = stream.read(&mut buf).map_err(|_| HeadError::Incomplete)?;
        if n == 0 {
            return Err(HeadError::Incomplete);
        }
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find_blank_line(&head[from..]) {
            head.truncate(from + end);
            return if head.len() > MAX_HEAD {
                Err(HeadError::TooLarge)
            } else {
                Ok(head)
            };
        }
        if head.len() > MAX_HEAD {
            return Err(HeadError::TooLarge);
        }
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| bytes.windows(2).position(|w| w == b"\n\n"))
}

/// True when a `Host` header names this machine's loopback interface (any
/// port): `localhost`, `*.localhost`, `127.x.x.x` or `[::1]`. Anything else
/// may be a DNS-rebinding page in the reader's browser.
pub fn loopback_host(host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, port)) if port.is_empty() || port.starts_with(':') => inside.to_string(),
            _ => return false,
        }
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host.clone(), |(name, _)| name.to_string())
    };
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// What a request may name as its `Host`, besides the loopback names.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// The bound address, when serving beyond loopback was asked for.
    pub extra: Option<String>,
}

impl HostPolicy {
    fn allows(&self, host: &str) -> bool {
        loopback_host(host)
            || self.extra.as_deref().is_some_and(|extra| {
                let host = host.trim();
                host.eq_ignore_ascii_case(extra)
                    || host
                        .rsplit_once(':')
                        .is_some_and(|(name, _)| name.eq_ignore_ascii_case(extra))
            })
    }
}

/// Answers one request.
pub fn handle(mut stream: TcpStream, root: &Path, status: &Mutex<Status>, hosts: &HostPolicy) {
    let _ = stream.set_write_timeout(Some(HEAD_DEADLINE));
    let head = match read_head(&mut stream) {
        Ok(head) => head,
        Err(HeadError::TooLarge) => {
            respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "text/plain",
                b"request head over 8 KiB\n",
                false,
            );
            return;
        }
        Err(HeadError::Incomplete) => return,
    };
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let line = lines.next().unwrap_or("");
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("host"))
        .map(|(_, value)| value.trim().to_string());
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let head_only = method == "HEAD";
    if !host.as_deref().is_some_and(|h| hosts.allows(h)) {
        respond(
            &mut stream,
            "421 Misdirected Request",
            "text/plain",
            b"this server answers only for localhost\n",
            head_only,
        );
        return;
    }
    if method != "GET" && method != "HEAD" {
        respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
            false,
        );
        return;
    }
    let head = head_only;
    if target.starts_with("/__netledger/status") {
        let s = lock(status);
        let body = serde_json::json!({"version": s.version, "error": s.error}).to_string();
        drop(s);
        respond(
            &mut stream,
            "200 OK",
            "application/json",
            body.as_bytes(),
            head,
        );
        return;
    }
    let Some(path) = resolve(root, target) else {
        respond(
            &mut stream,
            "403 Forbidden",
            "text/plain",
            b"outside the site\n",
            head,
        );
        return;
    };
    match std::fs::read(&path) {
        Ok(mut bytes) => {
            let kind = content_type(&path);
            if kind.starts_with("text/html") {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let at = text.rfind("</body>").unwrap_or(text.len());
                bytes = format!("{}{RELOAD}{}", &text[..at], &text[at..]).into_bytes();
            }
            respond(&mut stream, "200 OK", kind, &bytes, head);
        }
        Err(_) => respond(
            &mut stream,
            "404 Not Found",
            "text/plain",
            b"not found\n",
            head,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_site() {
        let root = Path::new("/srv/site");
        assert_eq!(
            resolve(root, "/a/b.html?x=1"),
            Some(PathBuf::from("/srv/site/a/b.html"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../x"), None);
    }

    #[test]
    fn only_loopback_hosts_are_answered() {
        for ok in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:1",
            "127.8.9.10",
            "[::1]:80",
            "[::1]",
            "a.localhost:3",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.com",
            "evil.com:8000",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
            "[::1]x",
            "0.0.0.0",
            "10.0.0.1:80",
            "",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
        let policy = HostPolicy {
            extra: Some("192.0.2.7".into()),
        };
        assert!(policy.allows("192.0.2.7:8000"));
        assert!(!policy.allows("192.0.2.8:8000"));
    }
}
