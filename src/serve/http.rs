//! A minimal HTTP/1.1 file server for the built site (GET and HEAD only).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

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
        "HTTP/1.1 {code}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes());
    if !head_only {
        let _ = stream.write_all(body);
    }
}

/// Answers one request.
pub fn handle(mut stream: TcpStream, root: &Path, status: &Mutex<Status>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Drain the headers; we need none of them.
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
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
    let head = method == "HEAD";
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
}
