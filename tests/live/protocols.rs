//! The protocols players' clients speak, against the real portal: websocket in
//! each subprotocol, a real TinTin++, and the webclient in a real browser.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tavern_tests::{LiveGame, PATIENCE};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A websocket client offering `protocol` (or none).
async fn ws_connect(game: &LiveGame, protocol: Option<&str>) -> (Ws, Option<String>) {
    let url = format!("ws://127.0.0.1:{}/ws", game.web_port());
    let mut req = url.into_client_request().unwrap();
    if let Some(p) = protocol {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket connects");
    let chosen = resp
        .headers()
        .get("Sec-WebSocket-Protocol")
        .map(|v| v.to_str().unwrap().to_string());
    (ws, chosen)
}

/// Reads frames until one's text (for binary: its UTF-8, escapes removed) contains `needle`.
async fn ws_expect(ws: &mut Ws, needle: &str) -> Message {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {needle:?}; saw {seen:#?}"))
            .expect("the websocket stays open")
            .expect("a valid frame");
        let text = match &frame {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => continue,
        };
        if text.contains(needle) {
            return frame;
        }
        seen.push(text);
    }
}

fn v1(cmd: &str, arg: &str) -> Message {
    Message::Text(json!([cmd, [arg], {}]).to_string().into())
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_v1_logs_in_and_talks_with_telnet_players() {
    let game = LiveGame::new("ws-v1", "").start();
    // No subprotocol offered: Evennia's v1 format.
    let (mut ws, chosen) = ws_connect(&game, None).await;
    assert_eq!(chosen, None);
    ws_expect(&mut ws, "create &lt;username&gt; &lt;password&gt;").await;
    ws.send(v1("text", "create Webby pass123")).await.unwrap();
    ws_expect(&mut ws, "A new account &#39;Webby&#39; was created.").await;
    ws.send(v1("text", "connect Webby pass123")).await.unwrap();
    let frame = ws_expect(&mut ws, "You become").await;
    let Message::Text(t) = frame else {
        panic!("v1 is text frames")
    };
    let v: Value = serde_json::from_str(&t).unwrap();
    assert_eq!(v[0], "text");
    assert!(
        v[1][0]
            .as_str()
            .unwrap()
            .contains("<span style=\"color:#00ffff;font-weight:bold\">Webby</span>"),
        "{v}"
    );

    let mut telnet = game.login("Telly", "pass123").await;
    ws.send(v1("text", "say <b>hello</b> from the web"))
        .await
        .unwrap();
    telnet
        .expect("Webby says, \"<b>hello</b> from the web\"")
        .await;
    telnet.send("say hi web").await;
    ws_expect(&mut ws, "Telly says, &quot;hi web&quot;").await;

    // The session survives a reload like any other.
    game.tavern_ok(&["reload"]);
    ws_expect(&mut ws, "Server restarted.").await;
    ws.send(v1("text", "say still here")).await.unwrap();
    ws_expect(&mut ws, "You say, &quot;still here&quot;").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_mudstandards_subprotocols_log_in() {
    let game = LiveGame::new("ws-ms", "").start();
    for (i, proto) in [
        "json.mudstandards.org",
        "gmcp.mudstandards.org",
        "terminal.mudstandards.org",
    ]
    .into_iter()
    .enumerate()
    {
        let (mut ws, chosen) = ws_connect(&game, Some(proto)).await;
        assert_eq!(chosen.as_deref(), Some(proto));
        let screen = ws_expect(&mut ws, "create <username> <password>").await;
        assert!(
            matches!(screen, Message::Binary(_)),
            "{proto}: text comes as binary ANSI"
        );
        let name = format!("Std{i}");
        ws.send(Message::Binary(
            format!("create {name} pass123\r\n").into_bytes().into(),
        ))
        .await
        .unwrap();
        ws_expect(&mut ws, &format!("A new account '{name}' was created.")).await;
        ws.send(Message::Binary(
            format!("connect {name} pass123\n").into_bytes().into(),
        ))
        .await
        .unwrap();
        let frame = ws_expect(&mut ws, &format!("{name}\x1b[0m.")).await;
        let Message::Binary(b) = frame else { panic!() };
        assert!(
            String::from_utf8_lossy(&b).contains("You become \x1b[0;1;36m"),
            "{proto}: colours as ANSI"
        );
        if proto != "terminal.mudstandards.org" {
            // GMCP in text frames reaches the portal: a ping is answered.
            let ping = if proto == "json.mudstandards.org" {
                json!({"proto": "gmcp", "id": "Core.Ping", "data": ""}).to_string()
            } else {
                "Core.Ping".to_string()
            };
            ws.send(Message::Text(ping.into())).await.unwrap();
            let pong = ws_expect(&mut ws, "Core.Ping").await;
            assert!(
                matches!(pong, Message::Text(_)),
                "{proto}: GMCP comes in text frames"
            );
        }
        ws.send(Message::Close(None)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_and_malformed_websocket_frames_close_cleanly() {
    let game = LiveGame::new("ws-bad", "").start();
    let (mut ws, _) = ws_connect(&game, None).await;
    ws_expect(&mut ws, "connect").await;
    ws.send(Message::Text("[\"text\", 42, null]".into()))
        .await
        .unwrap();
    ws.send(Message::Text("{not json".into())).await.unwrap();
    ws.send(v1("text", "look")).await.unwrap();
    ws_expect(&mut ws, "Welcome to").await;
    let huge = "x".repeat(1 << 20);
    let _ = ws.send(v1("text", &huge)).await;
    let end = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(
        end.is_ok(),
        "the portal closes a connection that sends a 1 MiB frame"
    );
    // Everyone else is unaffected.
    let mut c = game.login("Unbothered", "pass123").await;
    c.send("say fine").await;
    c.expect("You say, \"fine\"").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_asked_for_is_hidden_and_never_shown() {
    let game = LiveGame::new("hidden", "").start();
    let mut c = game.connect().await;
    c.expect("connect <username>").await;
    c.send("create Shy pass123").await;
    c.expect("was created").await;
    c.send("connect Shy").await;
    c.expect("Password: ").await;
    let will_echo = [255u8, 251, 1];
    let pos = c
        .all_raw
        .windows(3)
        .position(|w| w == will_echo)
        .expect("the portal offers to echo (so the client stops echoing)");
    // The client agrees, as telnet clients do, and types the password.
    c.send_raw(&[255, 253, 1]).await;
    c.send("pass123").await;
    c.expect("You become Shy.").await;
    let after = &c.all_raw[pos..];
    assert!(
        after.windows(3).any(|w| w == [255, 252, 1]),
        "echo is handed back to the client afterwards"
    );
    assert!(!String::from_utf8_lossy(&c.all_raw).contains("pass123\r\n"));
    // A wrong password asked the same way fails the same way.
    let mut d = game.connect().await;
    d.expect("connect <username>").await;
    d.send("connect Shy").await;
    d.expect("Password: ").await;
    d.send("nope").await;
    d.expect("Username and/or password is incorrect.").await;
}

/// A program from PATH or /usr/games (where Debian puts tt++).
fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/games")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[tokio::test(flavor = "multi_thread")]
async fn tintin_logs_in_with_gmcp_msdp_naws_ttype_and_mccp() {
    let (Some(tt), Some(script)) = (find_program("tt++"), find_program("script")) else {
        eprintln!("skipped: TinTin++ (tt++) or script(1) is not installed; .ci/run installs them");
        return;
    };
    let game = LiveGame::new("tintin", "").start();
    // TinTin++ refuses GMCP and MSDP unless told to accept them, as its users configure it.
    let tin = game.dir.join("login.tin");
    std::fs::write(
        &tin,
        format!(
            "#event {{IAC WILL GMCP}} {{#send {{\\xFF\\xFD\\xC9\\}}}}\n\
             #event {{IAC WILL MSDP}} {{#send {{\\xFF\\xFD\\x45\\}}}}\n\
             #action {{look will re-show this screen}} {{create Tinny pass123}}\n\
             #action {{was created. Welcome!}} {{connect Tinny pass123}}\n\
             #action {{You become Tinny.}} {{option}}\n\
             #action {{GMCP packages:}} {{#end}}\n\
             #session game 127.0.0.1 {}\n",
            game.telnet_port
        ),
    )
    .unwrap();
    // A pseudo-terminal of a known size, so NAWS has something to report. Its
    // stdin stays open: at end of input script(1) types ^D into the terminal,
    // and TinTin++ takes ^D as "zap the session".
    let mut child = tokio::process::Command::new(script)
        .arg("-q")
        .arg("-c")
        .arg(format!(
            "stty rows 40 cols 120; {} -G {}",
            tt.display(),
            tin.display()
        ))
        .arg("/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let _keep_stdin_open = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        use tokio::io::AsyncReadExt;
        stdout.read_to_end(&mut bytes).await
    })
    .await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(read.is_ok(), "TinTin++ did not finish its script:\n{text}");
    let line = |label: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
            .to_string()
    };
    assert!(line("Client:").contains("TINTIN++"), "{text}");
    assert!(line("Screen:").contains("120x40"), "{text}");
    let options = line("Options:");
    for opt in ["GMCP", "MSDP", "NAWS", "TTYPE", "MCCP2"] {
        assert!(options.contains(opt), "{opt} negotiated: {options}");
    }
    assert!(
        text.contains("Limbo"),
        "the room arrived through MCCP2 intact"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn telnet_over_tls_with_a_generated_certificate() {
    use tokio::io::AsyncWriteExt;

    let game = LiveGame::new("tls", "[portal]\ntls_ports = [0]\n").start();
    let port = game.runtime().unwrap()["tls_ports"][0].as_u64().unwrap() as u16;
    // The portal generated a certificate for localhost on first start; trust just that.
    let mut tls = game.tls_connect().await;
    let mut seen = String::new();
    let until = tavern_tests::read_until;
    until(&mut tls, &mut seen, "create <username> <password>").await;
    tls.write_all(b"create Secure pass123\r\n").await.unwrap();
    until(&mut tls, &mut seen, "was created").await;
    tls.write_all(b"connect Secure pass123\r\n").await.unwrap();
    until(&mut tls, &mut seen, "Secure").await;
    tls.write_all(b"option\r\n").await.unwrap();
    until(&mut tls, &mut seen, "telnet/ssl").await;

    // Plain telnet on the TLS port gets no game, just a closed connection.
    let mut plain = game.connect_port(port).await;
    plain.send("look").await;
    let got = plain.expect_closed().await;
    assert!(!got.contains("Welcome"), "{got}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webclient_in_a_real_browser_logs_in_says_and_hears() {
    let game = LiveGame::new("browser", "").start();
    let Some(browser) = tavern_tests::webdriver::Browser::start(game.dir.join("chromium")).await
    else {
        eprintln!("skipped: Chromium or chromedriver is not installed; .ci/run installs them");
        return;
    };
    use tavern_tests::webdriver::ENTER;
    browser
        .goto(&format!("http://127.0.0.1:{}/", game.web_port()))
        .await;
    let output = browser.find("#output").await;
    let input = browser.find("#input").await;
    browser
        .wait_text(&output, "create <username> <password>")
        .await;

    browser
        .type_into(&input, &format!("create Browsy pass123{ENTER}"))
        .await;
    browser
        .wait_text(&output, "A new account 'Browsy' was created.")
        .await;
    // A password typed on the connect line is masked and never kept.
    browser
        .type_into(&input, &format!("connect Browsy pass123{ENTER}"))
        .await;
    let page = browser.wait_text(&output, "You become Browsy.").await;
    assert!(page.contains("create Browsy ********"), "{page}");
    assert!(page.contains("connect Browsy ********"), "{page}");
    assert!(
        !page.contains("pass123"),
        "the password is never shown:\n{page}"
    );
    // A deliberate quit stays disconnected, until the player asks again.
    browser.type_into(&input, &format!("quit{ENTER}")).await;
    browser.wait_text(&output, "You left the game.").await;
    let greetings = |page: &str| page.matches("create <username> <password>").count();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline {
        // (An absence can only be watched for a while: the page would
        // reconnect within half a second.)
        let page = browser.text(&output).await;
        assert_eq!(greetings(&page), 1, "it reconnected by itself:\n{page}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = browser.find("#output a.again").await;
    browser.click(&again).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while greetings(&browser.text(&output).await) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no new connection");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The password is asked for separately and typed into a password field.
    browser
        .type_into(&input, &format!("connect Browsy{ENTER}"))
        .await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while browser.property(&input, "type").await != "password" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the input never became a password field"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser.type_into(&input, &format!("pass123{ENTER}")).await;
    let page = browser.wait_text(&output, "You become Browsy.").await;
    assert!(
        !page.lines().any(|l| l.trim() == "pass123"),
        "the hidden answer was not echoed:\n{page}"
    );
    assert_eq!(browser.property(&input, "type").await, "text");
    let prompt = browser.find("#prompt").await;
    assert_eq!(
        browser.text(&prompt).await,
        "",
        "no \"Password:\" left behind"
    );

    let mut telnet = game.login("Telly", "pass123").await;
    browser
        .type_into(&input, &format!("say Hello from Chromium{ENTER}"))
        .await;
    telnet.expect("Browsy says, \"Hello from Chromium\"").await;
    telnet.send("say |rred|n reply <b>bold?</b>").await;
    browser
        .wait_text(&output, "Telly says, \"red reply <b>bold?</b>\"")
        .await;
    // Channel lines have a pane of their own; what a player typed stays text.
    telnet.send("pub |rred|n <b>channel</b> news").await;
    let channels = browser.find("#channels").await;
    browser
        .wait_text(&channels, "[Public] Telly: |rred|n <b>channel</b> news")
        .await;
    let page = browser.text(&output).await;
    assert!(!page.contains("channel</b> news"), "shown apart:\n{page}");
    // Input history: arrow up brings back the last command, and no line
    // that held a password is in it.
    browser.type_into(&input, "\u{E013}").await;
    assert_eq!(
        browser.property(&input, "value").await,
        "say Hello from Chromium"
    );
    for _ in 0..6 {
        browser.type_into(&input, "\u{E013}").await;
        let v = browser.property(&input, "value").await;
        assert!(!v.to_string().contains("pass123"), "kept in history: {v}");
    }
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mssp_reports_live_figures_and_idle_connections_get_keepalives() {
    let game = LiveGame::new(
        "mssp",
        "[game]\nname = \"Crawlable\"\n[portal]\nkeepalive_secs = 1\n",
    )
    .start();
    let _player = game.login("Counted", "pass123").await;
    let mut crawler = game.connect().await;
    crawler.expect("connect <username>").await;
    // A crawler asks for MSSP: IAC DO MSSP.
    crawler.send_raw(&[255, 253, 70]).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let table = loop {
        let raw = &crawler.all_raw;
        if let Some(start) = raw.windows(3).position(|w| w == [255, 250, 70])
            && let Some(len) = raw[start..].windows(2).position(|w| w == [255, 240])
        {
            break raw[start + 3..start + len].to_vec();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no MSSP table arrived"
        );
        crawler.read_for(std::time::Duration::from_millis(50)).await;
    };
    // VAR name VAL value pairs.
    let text: String = table
        .iter()
        .map(|&b| match b {
            1 => '\n',
            2 => '=',
            b => b as char,
        })
        .collect();
    for field in [
        "NAME=Crawlable",
        "PLAYERS=1",
        "CODEBASE=Tavern",
        "GMCP=1",
        "MCCP=1",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }
    assert!(
        text.contains(&format!("PORT={}", game.telnet_port)),
        "{text}"
    );
    // An idle connection gets IAC NOP within the keepalive period.
    let nops_before = crawler
        .all_raw
        .windows(2)
        .filter(|w| *w == [255, 241])
        .count();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while crawler
        .all_raw
        .windows(2)
        .filter(|w| *w == [255, 241])
        .count()
        == nops_before
    {
        assert!(tokio::time::Instant::now() < deadline, "no keepalive NOP");
        crawler
            .read_for(std::time::Duration::from_millis(100))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_limits_timeouts_and_the_wrong_protocol_get_clear_answers() {
    let game = LiveGame::new(
        "limits",
        "[security]\nmax_connections_per_address = 3\nunauthenticated_timeout_secs = 1\n",
    )
    .start();
    // Three at once are fine; the fourth is told why and closed.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = game.connect().await;
        c.expect("connect <username>").await;
        held.push(c);
    }
    let mut fourth = game.connect().await;
    let told = fourth.expect_closed().await;
    assert!(
        told.contains("Too many connections from your address"),
        "{told}"
    );
    // Connections that never log in are closed after the timeout, with a reason.
    for c in &mut held {
        let last = c.expect_closed().await;
        assert!(last.contains("No login within 1 seconds"), "{last}");
    }
    // With the places free again, a player logs in and stays past the timeout.
    let mut player = game.login("Stayer", "pass123").await;
    // A connection opened after the login is timed out; by then the player has been past the limit too.
    let mut later = game.connect().await;
    later.expect("connect <username>").await;
    later.expect_closed().await;
    player.send("say still connected").await;
    player.expect("You say, \"still connected\"").await;

    // A browser pointed at the telnet port gets an HTTP answer, not silence.
    let mut http = game.connect().await;
    http.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let answer = http.expect_closed().await;
    assert!(
        answer.contains("HTTP/1.1 400 Bad Request") && answer.contains("telnet port"),
        "{answer}"
    );
    // A TLS hello on the plain port is closed at once (the greeting went out before it arrived).
    let mut tls = game.connect().await;
    tls.send_raw(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])
        .await;
    tls.expect_closed().await;
    tavern_tests::wait_for("the portal to log the TLS hello", || {
        game.all_logs()
            .contains("a TLS hello on the plain telnet port")
    })
    .await;
}

/// The portal's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_is_disconnected_and_memory_stays_bounded() {
    let game = LiveGame::new("slow", "[portal]\nmax_queued_output = 16\n").start();
    let mut reader = game.login("Reader", "pass123").await;
    let mut talker = game.login("Talker", "pass123").await;
    reader.expect("Talker has entered the game.").await;
    let portal = game.portal_pid().unwrap();
    let before = rss_kib(portal);
    // From here on the reader never reads. The talker floods the room, reading
    // its own echo before it says the next line (as a client that reads does:
    // one that sends faster than it reads is a stalled reader too).
    let line = format!("say {}", "x".repeat(4000));
    let mut sent = 0;
    loop {
        talker.send(&line).await;
        sent += 1;
        let got = talker
            .expect_any(&["You say, \"", "Reader has left the game."])
            .await;
        if got.ends_with("Reader has left the game.") {
            break;
        }
        // Keep only the tail: the echo is not what this test is about.
        if talker.text.len() > 1 << 16 {
            let cut = talker.text.len() - 1024;
            let cut = (cut..talker.text.len())
                .find(|&i| talker.text.is_char_boundary(i))
                .unwrap();
            talker.text.drain(..cut);
        }
        assert!(sent < 20_000, "the stalled reader was never disconnected");
    }
    let after = rss_kib(portal);
    assert!(
        after < before + 64 * 1024,
        "the portal grew from {before} KiB to {after} KiB for one stalled reader"
    );
    assert!(game.all_logs().contains("output queue full"));
    talker.send("who").await;
    talker.expect("1 unique account logged in.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn text_by_every_path_is_cleaned_bounded_and_cannot_pass_for_the_game() {
    let game = LiveGame::new("cleantext", "").start();
    let mut anna = game.login("Anna", "pass123").await;
    let mut bob = game.login("Bob", "pass123").await;
    anna.accept_oob().await;
    // Control characters sent as GMCP Core.Text, and as MSDP text, are cleaned
    // as typed text is: nobody else's terminal gets them.
    anna.send_gmcp(
        "Core.Text",
        "\"say bell\\u0007 back\\u0008space shift\\u000e csi\\u009b2J\"",
    )
    .await;
    bob.expect("Anna says, \"bell back").await;
    bob.expect("\"").await;
    for bad in [0x07u8, 0x08, 0x0e, 0x1b] {
        assert!(
            !bob.all_raw.contains(&bad) || bad == 0x1b,
            "byte {bad:#x} reached another player"
        );
    }
    let raw = String::from_utf8_lossy(&bob.all_raw).into_owned();
    assert!(
        !raw.contains('\u{9b}'),
        "a one-byte CSI reached another player"
    );
    // A line past max_line_length is refused whatever carried it.
    let long = "x".repeat(60 * 1024);
    anna.send_gmcp("Core.Text", &format!("\"say {long}\""))
        .await;
    anna.expect("was dropped").await;
    // A player's markup cannot start a line that looks like the game's, and
    // their colours end with their words.
    anna.send("say hi|/SYSTEM: the server restarts, re-enter your password")
        .await;
    let heard = bob.expect("re-enter your password").await;
    assert!(
        heard.contains("Anna says, \"hi SYSTEM: the server restarts"),
        "the forged line stays inside Anna's: {heard}"
    );
    // The game still answers both.
    bob.send("say fine").await;
    anna.expect("Bob says, \"fine\"").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_port_holds_the_per_address_limits_for_every_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let game = LiveGame::new(
        "weblimits",
        "[security]\nmax_connections_per_address = 3\n[portal]\nheader_timeout_secs = 1\n",
    )
    .start();
    let web = format!("127.0.0.1:{}", game.web_port());
    // Three half-sent request heads hold the address's places...
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(&web).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(s);
    }
    // ...so a fourth HTTP connection is refused at once...
    let mut fourth = tokio::net::TcpStream::connect(&web).await.unwrap();
    let mut answer = String::new();
    let _ = tokio::time::timeout(PATIENCE, fourth.read_to_string(&mut answer)).await;
    assert!(answer.contains("429"), "{answer}");
    // ...and the slow heads are dropped when their time is up, freeing them.
    for s in &mut slow {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(PATIENCE, s.read(&mut buf))
            .await
            .expect("a dawdling head is closed");
        let got = n.map(|n| String::from_utf8_lossy(&buf[..n]).into_owned());
        assert!(
            matches!(&got, Ok(t) if t.is_empty() || t.contains("408")),
            "{got:?}"
        );
    }
    // Websockets hold their places for as long as they are open, and the
    // limit is one across protocols: three websockets leave no room for telnet.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(ws_connect(&game, None).await.0);
    }
    let url = format!("ws://{web}/ws");
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err(),
        "a fourth websocket is refused"
    );
    let mut telnet = game.connect().await;
    let told = telnet.expect_closed().await;
    assert!(told.contains("Too many connections"), "{told}");
    // Closed websockets free their places (once the portal has seen them close).
    drop(sockets);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio_tungstenite::connect_async(url.as_str())
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "closed websockets free their places"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `option nocolor = on` turns colour off on this connection at once, in the
/// portal's rendering; `option/save` keeps it for the account's next ones.
#[tokio::test(flavor = "multi_thread")]
async fn a_player_turns_colour_off_with_option_and_keeps_it() {
    let game = LiveGame::new("option", "").start();
    let mut c = game.login("Hue", "pass123").await;
    c.send("say |rred|n one").await;
    c.expect("You say, \"").await;
    c.expect("one\"").await;
    assert!(
        String::from_utf8_lossy(&c.all_raw).contains("\x1b["),
        "colour by default"
    );
    c.send("option/save nocolor = on").await;
    c.expect("Saved for every connection of your account.")
        .await;
    let from = c.all_raw.len();
    c.send("say |rred|n two").await;
    c.expect("two\"").await;
    let after = String::from_utf8_lossy(&c.all_raw[from..]).into_owned();
    assert!(after.contains("You say, \"red two\""), "{after:?}");
    assert!(!after.contains('\x1b'), "no colour now: {after:?}");
    // A new connection of the account starts with the saved choice.
    let mut d = game.login("Hue", "pass123").await;
    let from = d.all_raw.len();
    d.send("say |ggreen|n three").await;
    d.expect("three\"").await;
    assert!(!String::from_utf8_lossy(&d.all_raw[from..]).contains('\x1b'));
    d.send("option bogus = 1").await;
    d.expect("No option 'BOGUS'.").await;
}

/// A line said in a room goes to its listeners as one message the portal
/// renders once for each way their clients show text (docs/architecture.md):
/// each listener still gets it as its own client shows it, whichever of the
/// listeners rendered it first.
#[tokio::test(flavor = "multi_thread")]
async fn a_line_heard_by_many_reaches_each_as_its_own_client_shows_it() {
    let game = LiveGame::new("shared-render", "").start();
    let mut speaker = game.login("Crier", "pass123").await;
    let mut plain = Vec::new();
    for name in ["Mono", "Grey"] {
        let mut c = game.login(name, "pass123").await;
        c.send("option nocolor = on").await;
        c.expect("Option NOCOLOR set for this connection.").await;
        plain.push(c);
    }
    let mut coloured = [game.login("Hue", "pass123").await];
    for c in plain.iter_mut().chain(coloured.iter_mut()) {
        c.send("look").await;
        c.expect("Crier").await;
    }
    let marks: Vec<usize> = plain
        .iter()
        .chain(coloured.iter())
        .map(|c| c.all_raw.len())
        .collect();
    for round in ["one", "two"] {
        speaker.send(&format!("say |rred|n {round}")).await;
        for c in plain.iter_mut().chain(coloured.iter_mut()) {
            c.expect(&format!("{round}\"")).await;
        }
    }
    for (c, from) in plain.iter().zip(&marks) {
        let heard = String::from_utf8_lossy(&c.all_raw[*from..]).into_owned();
        assert!(heard.contains("Crier says, \"red one\""), "{heard:?}");
        assert!(heard.contains("Crier says, \"red two\""), "{heard:?}");
        assert!(
            !heard.contains('\x1b'),
            "no colour for a client without: {heard:?}"
        );
    }
    let heard = String::from_utf8_lossy(&coloured[0].all_raw[marks[2]..]).into_owned();
    assert!(
        heard.contains("\x1b[0;1;31mred\x1b[0m two"),
        "colour for the one that shows it: {heard:?}"
    );
}

/// Mudlet's GMCP log-in: a client that announces `Char.Login` is offered
/// it, sends its credentials over GMCP (never in the text stream), and
/// hears how it went; a wrong password is refused the same way as typed.
/// The password reaches no log.
#[tokio::test(flavor = "multi_thread")]
async fn mudlet_logs_in_over_gmcp_and_the_password_reaches_no_log() {
    use tavern_tests::LiveGame;
    let game = LiveGame::new("gmcp-login", "").start();
    game.tavern_ok(&["account", "create", "Mudder", "gmcp-secret-1"]);
    let mut c = game.connect().await;
    c.expect("connect <username>").await;
    c.accept_oob().await;
    c.send_gmcp("Core.Hello", r#"{"client": "Mudlet", "version": "4.20.1"}"#)
        .await;
    c.send_gmcp("Core.Supports.Set", r#"["Char 1", "Char.Login 1"]"#)
        .await;
    let offer = c.expect_oob("gmcp", "Char.Login.Default", |_| true).await;
    assert!(offer.contains("password-credentials"), "{offer}");
    // An empty answer: the client knows no credentials; nothing happens.
    c.send_gmcp("Char.Login.Credentials", "{}").await;
    c.send_gmcp(
        "Char.Login.Credentials",
        r#"{"account": "Mudder", "password": "not-it-at-all"}"#,
    )
    .await;
    let refused = c.expect_oob("gmcp", "Char.Login.Result", |_| true).await;
    assert!(refused.contains("\"success\":false"), "{refused}");
    assert!(refused.contains("password is incorrect"), "{refused}");
    c.send_gmcp(
        "Char.Login.Credentials",
        r#"{"account": "Mudder", "password": "gmcp-secret-1"}"#,
    )
    .await;
    let ok = c.expect_oob("gmcp", "Char.Login.Result", |_| true).await;
    assert_eq!(ok, r#"{"success":true}"#);
    c.expect("You become Mudder.").await;
    c.send("look").await;
    c.expect("Limbo").await;
    // Logged in, credentials are ignored.
    c.send_gmcp(
        "Char.Login.Credentials",
        r#"{"account": "Mudder", "password": "gmcp-secret-1"}"#,
    )
    .await;
    c.send("say still here").await;
    c.expect("still here").await;
    assert!(c.oob_named("gmcp", "Char.Login.Result").is_empty());
    let logs = game.all_logs();
    assert!(!logs.contains("gmcp-secret-1") && !logs.contains("not-it-at-all"));
}
