//! The admin site (`/admin` on the web port) in real headless Chromium
//! against the real binaries: an admin logs in, finds a player's character,
//! sets an attribute that the game then has, boots a player; a plain
//! account is refused; a forged cross-site POST and a POST without the
//! form's token change nothing.

use tavern_tests::webdriver::{Browser, ENTER};
use tavern_tests::{LiveGame, http_request};

const PW: &str = "keys-to-the-inn";

/// The session cookie a log-in over plain HTTP sets.
async fn log_in_over_http(port: u16, name: &str) -> (u16, Option<String>) {
    let (status, head, _) = http_request(
        port,
        "POST",
        "/admin/login",
        &[],
        &format!("name={name}&password={PW}"),
    )
    .await;
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .map(str::to_string);
    (status, cookie)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_edits_the_world_from_the_browser_and_forgeries_change_nothing() {
    let game = LiveGame::new("admin-site", "").start();
    game.tavern_ok(&["account", "create", "Root", PW, "--superuser"]);
    game.tavern_ok(&["account", "create", "Pleb", PW]);
    let web = game.web_port();
    let mut pleb = game.connect().await;
    pleb.expect("connect <username> <password>").await;
    pleb.send(&format!("connect Pleb {PW}")).await;
    pleb.expect("You become Pleb.").await;

    // A plain account is refused, with the reason (in the browser below too).
    let (status, cookie) = log_in_over_http(web, "Pleb").await;
    assert_eq!((status, cookie), (403, None));
    // Behind a proxy that says the request came over HTTPS, the cookie is Secure.
    let (status, head, _) = http_request(
        web,
        "POST",
        "/admin/login",
        &["X-Forwarded-Proto: https"],
        &format!("name=Root&password={PW}"),
    )
    .await;
    assert_eq!(status, 303);
    let set = head
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/admin"] {
        assert!(set.contains(flag), "{flag} in {set}");
    }

    let Some(browser) = Browser::start(game.dir.join("chromium")).await else {
        eprintln!("skipped: Chromium or chromedriver is not installed; .ci/run installs them");
        return;
    };
    let base = format!("http://127.0.0.1:{web}");
    browser.goto(&format!("{base}/admin")).await;
    let name = browser.wait_find("#name").await;
    browser.type_into(&name, "Pleb").await;
    let password = browser.find("#password").await;
    browser.type_into(&password, &format!("{PW}{ENTER}")).await;
    browser
        .wait_page_text("Only accounts with the Admin permission may use the admin site.")
        .await;
    browser.goto(&format!("{base}/admin")).await;
    let name = browser.wait_find("#name").await;
    browser.type_into(&name, "Root").await;
    let password = browser.find("#password").await;
    browser.type_into(&password, &format!("{PW}{ENTER}")).await;
    let sessions = browser.wait_find("#sessions").await;
    browser.wait_text(&sessions, "Pleb").await;

    // Find Pleb's character and give it an attribute.
    browser.goto(&format!("{base}/admin/objects?q=Pleb")).await;
    let found = browser.wait_find("table.objects a").await;
    browser.click(&found).await;
    let key = browser.wait_find("#attr-key").await;
    browser.type_into(&key, "mood").await;
    let value = browser.find("#attr-value").await;
    browser.type_into(&value, "\"cheerful\"").await;
    let set = browser.find("#attr-set").await;
    browser.click(&set).await;
    // The change's answer comes on the page the form goes back to.
    let flash = browser.wait_find("#flash").await;
    browser.wait_text(&flash, "mood").await;
    let attributes = browser.wait_find("#attributes").await;
    browser.wait_text(&attributes, "cheerful").await;
    let url = browser.run_js("return location.pathname").await;
    let object_path = url.as_str().unwrap().to_string();
    let id = object_path.rsplit('/').next().unwrap().to_string();
    let shots = std::env::var("TAVERN_SCREENSHOTS")
        .ok()
        .map(std::path::PathBuf::from);
    if let Some(dir) = &shots {
        browser.resize(1200, 900).await;
        browser.screenshot(&dir.join("admin-object.png")).await;
    }

    // The game has it: a builder in game reads it back.
    let mut root = game.connect().await;
    root.expect("connect <username> <password>").await;
    root.send(&format!("connect Root {PW}")).await;
    root.expect("You become Root.").await;
    root.send(&format!("set #{id}/mood")).await;
    root.expect("cheerful").await;

    // A forged form on another site posts to the admin site: refused.
    let forged = format!(
        "data:text/html,<form method=post action='{base}/admin/do'>\
         <input name=action value=set_attr><input name=id value={id}>\
         <input name=key value=mood><input name=value value=forged>\
         <input name=back value=/admin></form><script>document.forms[0].submit()</script>"
    );
    browser.goto(&forged).await;
    browser.wait_page_text("Cross-site request refused").await;
    // The admin's own cookie with no form token: refused too.
    let (_, cookie) = log_in_over_http(web, "Root").await;
    let cookie = cookie.expect("an admin gets a session cookie");
    let (status, _, said) = http_request(
        web,
        "POST",
        "/admin/do",
        &[&format!("Cookie: {cookie}")],
        &format!("action=set_attr&id={id}&key=mood&value=stolen&back=/admin"),
    )
    .await;
    assert_eq!(status, 403, "{said}");
    root.send(&format!("set #{id}/mood")).await;
    let shown = root.expect("cheerful").await;
    assert!(
        !shown.contains("forged") && !shown.contains("stolen"),
        "{shown}"
    );

    // Boot Pleb from the sessions page.
    browser.goto(&format!("{base}/admin")).await;
    let sessions = browser.wait_find("#sessions").await;
    browser.wait_text(&sessions, "Pleb").await;
    let boot = browser
        .run_js(
            "window.confirm = () => true; \
             for (const tr of document.querySelectorAll('#sessions tr')) \
             { if (tr.textContent.includes('Pleb')) { tr.querySelector('button').click(); return true; } } return false;",
        )
        .await;
    assert_eq!(boot, serde_json::json!(true));
    let flash = browser.wait_find("#flash").await;
    browser.wait_text(&flash, "Pleb").await;
    pleb.expect_closed().await;
    if let Some(dir) = &shots {
        browser.screenshot(&dir.join("admin-sessions.png")).await;
    }

    // Logged out, the pages are the log-in form again.
    let logout = browser.find("header button").await;
    browser.click(&logout).await;
    browser.wait_find("#password").await;
    browser.quit().await;
    assert!(!game.all_logs().contains(PW), "a password reached a log");
}
