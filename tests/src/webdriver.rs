//! Just enough WebDriver to drive a real headless Chromium through
//! chromedriver: start a session, open a page, find elements, type, read text.
//! Plain HTTP/1.0 over a TCP socket per request; no client library needed.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::PATIENCE;

/// The WebDriver key code for Enter.
pub const ENTER: &str = "\u{E007}";
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium driven over WebDriver (chromedriver), for the webclient's tests.
pub struct Browser {
    driver: tokio::process::Child,
    port: u16,
    session: String,
    profile: std::path::PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session;
    /// None (with a notice) where they are not installed.
    pub async fn start(profile: std::path::PathBuf) -> Option<Self> {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        // chromedriver now and then exits at start before it reports a port
        // (seen once in a full run of the suite, not reproduced alone): it is
        // started again, three tries in all, before the test gives up.
        let mut started = None;
        for _ in 0..3 {
            let mut driver = tokio::process::Command::new("chromedriver")
                .arg("--port=0")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                // Its own process group, which Chromium's processes inherit: dropping
                // the Browser kills the whole group, also when a test fails.
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .ok()?;
            let stdout = driver.stdout.take()?;
            let mut lines = BufReader::new(stdout).lines();
            let port = tokio::time::timeout(PATIENCE, async {
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(rest) = line.split("started successfully on port ").nth(1) {
                        return rest.trim_end_matches('.').parse::<u16>().ok();
                    }
                }
                None
            })
            .await
            .ok()
            .flatten();
            if let Some(port) = port {
                // Keep draining its stdout so it never blocks on a full pipe.
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                started = Some((driver, port));
                break;
            }
        }
        let (driver, port) = started.expect("chromedriver reports its port");
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let mut b = Self {
            driver,
            port,
            session: String::new(),
            profile,
        };
        let v = b.call("POST", "/session", Some(caps)).await;
        b.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        Some(b)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("reach chromedriver");
        s.write_all(req.as_bytes()).await.unwrap();
        let resp = tokio::time::timeout(PATIENCE, read_response(&mut s))
            .await
            .expect("chromedriver answers");
        let text = String::from_utf8_lossy(&resp);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or(("", ""));
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("chromedriver sent no JSON ({e}):\n{text}"));
        v["value"].clone()
    }

    fn sp(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Opens a page.
    pub async fn goto(&self, url: &str) {
        self.call("POST", &self.sp("/url"), Some(json!({"url": url})))
            .await;
    }

    /// The id of the element a CSS selector finds, if the page has one now.
    async fn element(&self, css: &str) -> (Option<String>, Value) {
        let v = self
            .call(
                "POST",
                &self.sp("/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        (v[ELEMENT_KEY].as_str().map(str::to_string), v)
    }

    /// The id of the element a CSS selector finds.
    pub async fn find(&self, css: &str) -> String {
        match self.element(css).await {
            (Some(id), _) => id,
            (None, v) => panic!("no element {css}: {v}"),
        }
    }

    /// Waits until the page (after a navigation, say) has an element the
    /// CSS selector finds; its id.
    pub async fn wait_find(&self, css: &str) -> String {
        until(async || match self.element(css).await {
            (Some(id), _) => Ok(id),
            (None, v) => Err(format!("the page never had {css}: {v}")),
        })
        .await
    }

    /// Waits until the page's text (whichever page is loaded by then)
    /// contains `needle`; returns it.
    pub async fn wait_page_text(&self, needle: &str) -> String {
        until(async || {
            let t = self
                .run_js("return document.body ? document.body.innerText : ''")
                .await;
            showing(t.as_str().unwrap_or_default().to_string(), needle)
        })
        .await
    }

    /// Types text into the element a CSS selector finds.
    pub async fn type_into(&self, element: &str, text: &str) {
        self.call(
            "POST",
            &self.sp(&format!("/element/{element}/value")),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Clicks an element.
    pub async fn click(&self, element: &str) {
        self.call(
            "POST",
            &self.sp(&format!("/element/{element}/click")),
            Some(json!({})),
        )
        .await;
    }

    /// The visible text of the element a CSS selector finds.
    pub async fn text(&self, element: &str) -> String {
        self.call("GET", &self.sp(&format!("/element/{element}/text")), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A DOM property of the element a CSS selector finds.
    pub async fn property(&self, element: &str, name: &str) -> Value {
        self.call(
            "GET",
            &self.sp(&format!("/element/{element}/property/{name}")),
            None,
        )
        .await
    }

    /// Waits until the element's visible text contains `needle`.
    pub async fn wait_text(&self, element: &str, needle: &str) -> String {
        until(async || showing(self.text(element).await, needle)).await
    }

    /// Runs JavaScript in the page; what it returns.
    pub async fn run_js(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.sp("/execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Sets the window's size in CSS pixels (a phone: 390 × 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.sp("/window/rect"),
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Saves a PNG of the page as it is drawn now.
    pub async fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine as _;
        let v = self.call("GET", &self.sp("/screenshot"), None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("a screenshot in base64");
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Closes the browser.
    pub async fn quit(self) {
        self.call("DELETE", &self.sp(""), None).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // SAFETY: killpg(2) on the group chromedriver leads.
            unsafe {
                libc::killpg(pid as i32, libc::SIGKILL);
            }
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// The body of a chunked HTTP response.
fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// One HTTP response: the headers, then Content-Length bytes or chunks up to the last.
async fn read_response(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let body = buf.len() - end - 4;
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let done = match length {
                Some(n) => body >= n,
                None => buf.ends_with(b"0\r\n\r\n"),
            };
            if done {
                return buf;
            }
        }
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Tries `attempt` every 50 ms until it gives a value; fails the test with
/// its last complaint once the patience is spent.
async fn until<T>(mut attempt: impl AsyncFnMut() -> Result<T, String>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(why) => assert!(tokio::time::Instant::now() < deadline, "{why}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text if it shows `needle`; otherwise the complaint a wait ends with.
fn showing(text: String, needle: &str) -> Result<String, String> {
    if text.contains(needle) {
        Ok(text)
    } else {
        Err(format!(
            "the page never showed {needle:?}; it shows:\n{text}"
        ))
    }
}
