//! Menus, the pager and the line editor over real telnet and in a real
//! browser: a menu in progress through `tavern reload` and a `kill -9` of
//! the server (the node shown once, the next choice works), paging to a
//! small NAWS height, the shop end to end, and the menu's options as
//! buttons in the webclient.

use std::time::Duration;

use tavern_tests::{LiveGame, PATIENCE, kill, wait_for};

fn times(c: &tavern_tests::Client, needle: &str) -> usize {
    String::from_utf8_lossy(&c.all_raw).matches(needle).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_menu_goes_on_through_a_reload_and_a_kill_9_and_nothing_is_bought_twice() {
    let game = LiveGame::new("menus-live", "").start();
    let mut anna = game.login("Anna", "anna-pass").await;
    anna.send("chargen").await;
    anna.expect("Who were you").await;
    anna.send("2").await;
    anna.expect("A scholar, then.").await;

    game.tavern_ok(&["reload"]);
    anna.expect("Server restarted.").await;
    anna.expect("A scholar, then.").await;
    anna.send("3").await;
    anna.expect("You are a scholar with a walking staff.").await;
    assert_eq!(
        times(&anna, "A scholar, then."),
        2,
        "shown once after the reload"
    );

    anna.send("tavern").await;
    anna.expect("The Common Room").await;
    anna.send("buy").await;
    anna.expect("You have 20 gold.").await;
    anna.send("1").await;
    anna.expect("You buy a mug of ale for 2 gold.").await;
    anna.expect("You have 18 gold.").await;
    let pid = game.server_pid().expect("a server runs");
    kill(pid, libc::SIGKILL);
    wait_for("the portal to restart the server", || {
        game.server_pid().is_some_and(|p| p != pid)
    })
    .await;
    // Still at the counter: the node again, and the next choice works.
    anna.expect("You have 18 gold.").await;
    anna.send("2").await;
    anna.expect("You buy a bowl of stew for 5 gold.").await;
    anna.expect("You have 13 gold.").await;
    anna.send("leave").await;
    anna.expect("The barkeep goes back to polishing glasses.")
        .await;
    anna.send("sheet").await;
    let sheet = anna.expect("Carrying").await;
    assert!(sheet.contains("| Gold       | 13"), "{sheet}");
    anna.send("inventory").await;
    let inv = anna.expect("bowl of stew").await;
    assert_eq!(inv.matches("mug of ale").count(), 1, "{inv}");
    assert_eq!(times(&anna, "You buy a mug of ale"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn long_output_is_paged_to_the_height_the_client_reports_and_the_editor_saves() {
    let game = LiveGame::new("pager-live", "").start();
    let mut anna = game.login("Anna", "anna-pass").await;
    // NAWS: 80 columns, 12 lines.
    anna.send_raw(&[255, 251, 31, 255, 250, 31, 0, 80, 0, 12, 255, 240])
        .await;
    anna.send("help").await;
    let first = anna.expect("(Page 1/").await;
    assert!(first.contains("Help: commands"), "{first}");
    let page = anna.expect(")").await;
    assert!(page.contains("next | end | quit"), "{page}");
    anna.send("").await;
    anna.expect("(Page 2/").await;
    anna.send("q").await;
    anna.expect("Exited pager.").await;

    anna.send("setdesc").await;
    anna.expect("Line editor: your description").await;
    anna.send("A traveller in a grey cloak.").await;
    anna.send(":wq").await;
    anna.expect("Saved. Exited the editor.").await;
    anna.send("look me").await;
    anna.expect("A traveller in a grey cloak.").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_webclient_shows_a_menu_s_options_as_buttons() {
    let game = LiveGame::new("menus-browser", "").start();
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
        .type_into(&input, &format!("create Menny pass123{ENTER}"))
        .await;
    browser.wait_text(&output, "was created").await;
    browser
        .type_into(&input, &format!("connect Menny pass123{ENTER}"))
        .await;
    browser.wait_text(&output, "You become Menny.").await;
    browser.type_into(&input, &format!("tavern{ENTER}")).await;
    browser.wait_text(&output, "The Common Room").await;
    browser.type_into(&input, &format!("buy{ENTER}")).await;
    browser.wait_text(&output, "You have 20 gold.").await;
    let menu = browser.find("#menu").await;
    let buttons = browser.wait_text(&menu, "leave: Leave the counter").await;
    assert!(buttons.contains("2: bowl of stew (5 gold)"), "{buttons}");
    let stew = browser.find("#menu button[data-key='2']").await;
    browser.click(&stew).await;
    browser
        .wait_text(&output, "You buy a bowl of stew for 5 gold.")
        .await;
    // The option keys in the text are links too: clicking one types it.
    let link = browser.find("#output a.cmd[data-cmd='2']").await;
    browser.click(&link).await;
    browser.wait_text(&output, "You have 10 gold.").await;
    let leave = browser.find("#menu button[data-key='leave']").await;
    browser.click(&leave).await;
    browser
        .wait_text(&output, "The barkeep goes back to polishing glasses.")
        .await;
    // The menu closed: its buttons went with it.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !browser.text(&menu).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the buttons stayed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A player cannot make a link, nor markup of the page: a hostile say
    // stays text.
    browser
        .type_into(
            &input,
            &format!(
                "say <img src=x onerror=\"alert(1)\"> <script>alert(2)</script> \
                 |lcquit|ltfree gold|le |lujavascript:alert(3)|ltprize|le{ENTER}"
            ),
        )
        .await;
    browser.wait_text(&output, "|lcquit|ltfree gold|le").await;
    let html = browser.property(&output, "innerHTML").await;
    let html = html.as_str().unwrap_or_default();
    assert!(
        !html.contains("<img") && !html.contains("<script"),
        "{html}"
    );
    assert!(!html.contains("data-cmd=\"quit\""), "{html}");
    assert!(!html.contains("href=\"javascript"), "{html}");
    // The page's own links are markup of the game, never of a player:
    // even the game's own javascript: link would not be one.
    let links = browser
        .run_js("return document.querySelectorAll('#output a[href^=\"javascript\"]').length")
        .await;
    assert_eq!(links, serde_json::json!(0));
    browser.quit().await;
}

/// The webclient's panes fill from the game's feeds: vitals as bars, the
/// room with its exits as buttons that walk; settings stay in the browser;
/// `;` splits commands when asked; and on a phone it is one column. The
/// screenshots of both layouts are kept in the game dir when asked
/// (`TAVERN_SCREENSHOTS=dir`).
#[tokio::test(flavor = "multi_thread")]
async fn the_webclient_shows_vitals_the_room_and_its_exits_and_fits_a_phone() {
    let game = LiveGame::new("webclient-panes", "");
    // The template's own plugin, in the game's webclient folder.
    std::fs::create_dir_all(game.dir.join("webclient")).unwrap();
    std::fs::write(
        game.dir.join("webclient/bell.js"),
        include_str!("../../game_template/webclient/bell.js"),
    )
    .unwrap();
    std::fs::write(
        game.dir.join("webclient/broken.js"),
        "this is not javascript(",
    )
    .unwrap();
    let game = game.start();
    let Some(browser) = tavern_tests::webdriver::Browser::start(game.dir.join("chromium")).await
    else {
        eprintln!("skipped: Chromium or chromedriver is not installed; .ci/run installs them");
        return;
    };
    use tavern_tests::webdriver::ENTER;
    browser.resize(1200, 800).await;
    browser
        .goto(&format!("http://127.0.0.1:{}/", game.web_port()))
        .await;
    let output = browser.find("#output").await;
    let input = browser.find("#input").await;
    browser.wait_text(&output, "create <username>").await;
    browser
        .type_into(&input, &format!("create Pane pass1234{ENTER}"))
        .await;
    browser.wait_text(&output, "was created").await;
    browser
        .type_into(&input, &format!("connect Pane pass1234{ENTER}"))
        .await;
    browser.wait_text(&output, "You become Pane.").await;
    let vitals = browser.find("#vitals").await;
    browser.wait_text(&vitals, "health 20/20").await;
    let side = browser.find("#side").await;
    browser.wait_text(&side, "Limbo").await;
    let tavern = browser.find("#exits button[data-exit='tavern']").await;
    browser.click(&tavern).await;
    browser.wait_text(&output, "The Common Room").await;
    browser.wait_text(&side, "The Common Room").await;
    // The plugin's pane, fed by the game's own GMCP package (a broken
    // plugin beside it stops only itself).
    let bell = browser.find("#plugin-bell").await;
    browser.wait_text(&bell, "rung 0 time(s)").await;
    let ring = browser.find("#plugin-bell button").await;
    browser.click(&ring).await;
    browser.wait_text(&bell, "rung 1 time(s)").await;
    let down = browser.find("#exits button[data-exit='down']").await;
    browser.click(&down).await;
    browser.wait_text(&output, "The Cellar").await;
    browser.wait_text(&side, "up").await;

    // `;` splits commands once the player asks for it, and the choice stays.
    browser
        .run_js("localStorage.setItem('tavern.settings', JSON.stringify({split: true, theme: 'contrast', size: 18})); location.reload();")
        .await;
    let output = browser.find("#output").await;
    let input = browser.find("#input").await;
    browser.wait_text(&output, "create <username>").await;
    // Reloading the page resumes the session (its token is in the tab's
    // sessionStorage): no password typed again.
    browser.wait_text(&output, "You become Pane.").await;
    browser
        .type_into(&input, &format!("say one;say two{ENTER}"))
        .await;
    browser.wait_text(&output, "You say, \"two\"").await;
    let text = browser.text(&output).await;
    assert!(text.contains("You say, \"one\""), "{text}");
    assert!(!text.contains("is not available"), "{text}");
    let theme = browser
        .run_js("return document.body.className + ' ' + getComputedStyle(document.body).fontSize")
        .await;
    assert_eq!(theme.as_str(), Some("contrast 18px"), "{theme}");

    // A phone: one column, the exits under the text, big tap targets.
    browser.resize(390, 844).await;
    let layout = browser
        .run_js(
            "const o = document.getElementById('output').getBoundingClientRect();
             const s = document.getElementById('side').getBoundingClientRect();
             const b = document.querySelector('#exits button').getBoundingClientRect();
             return [s.top >= o.bottom - 1, Math.round(b.height)];",
        )
        .await;
    assert_eq!(layout[0], serde_json::json!(true), "{layout}");
    assert!(layout[1].as_i64().unwrap_or(0) >= 44, "{layout}");
    // The connection drops: the page comes back on its own, logged in
    // again without the password (a single-use token, not the password,
    // is what the tab keeps).
    let kept = browser
        .run_js("return sessionStorage.getItem('tavern.resume') || ''")
        .await;
    assert_eq!(kept.as_str().map(str::len), Some(64), "{kept}");
    let before = browser
        .text(&output)
        .await
        .matches("You become Pane.")
        .count();
    browser.run_js("ws.close();").await;
    let deadline = tokio::time::Instant::now() + tavern_tests::PATIENCE;
    loop {
        let text = browser.text(&output).await;
        if text.matches("You become Pane.").count() > before {
            assert!(text.contains("Connection lost; reconnecting"), "{text}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never resumed:\n{text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Tab completes from what the server offers.
    let input = browser.find("#input").await;
    browser.type_into(&input, "inven\u{E004}").await;
    let deadline = tokio::time::Instant::now() + tavern_tests::PATIENCE;
    while browser.property(&input, "value").await != serde_json::json!("inventory ") {
        assert!(tokio::time::Instant::now() < deadline, "never completed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stored = browser
        .run_js("return JSON.stringify([localStorage, sessionStorage])")
        .await;
    assert!(!stored.to_string().contains("pass1234"), "{stored}");
    if let Ok(dir) = std::env::var("TAVERN_SCREENSHOTS") {
        let dir = std::path::PathBuf::from(dir);
        browser.screenshot(&dir.join("webclient-phone.png")).await;
        browser.resize(1200, 800).await;
        browser
            .run_js("localStorage.setItem('tavern.settings', '{}');")
            .await;
        browser
            .screenshot(&dir.join("webclient-desktop-contrast.png"))
            .await;
    }
    browser.quit().await;
}
