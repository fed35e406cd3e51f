//! Channels (issue 19), played through `TestGame`: the real server on a
//! real SQLite file, players typing, reloads from the database.

use tavern_server::Game;
use tavern_server::testing::TestGame;

#[test]
fn a_new_account_joins_public_and_talks_by_the_channel_name_an_alias_or_the_command() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    let list = t.cmd(anna, "channel");
    assert!(list.contains("Public") && list.contains("Yes"), "{list}");
    assert!(!list.contains("Staff"), "{list}");
    assert_eq!(
        t.cmd(anna, "channel Public = Hello all"),
        "[Public] Anna: Hello all"
    );
    assert_eq!(t.heard(bert), "[Public] Anna: Hello all");
    t.cmd(anna, "pub Second line");
    assert_eq!(t.heard(bert), "[Public] Anna: Second line");
    t.cmd(bert, "public :waves");
    assert_eq!(t.heard(anna), "[Public] Bert waves");
    t.cmd(anna, "channel pub ;grins");
    assert_eq!(t.heard(bert), "[Public] Anna grins");
    // Markup a player types is shown, never obeyed.
    t.cmd(anna, "pub |rred|n and |/ newline");
    let heard = t.heard(bert);
    assert!(heard.contains("|rred|n and |/ newline"), "{heard}");
    // A bare alias shows the channel; an empty line is refused.
    assert!(t.cmd(anna, "pub").contains("Channel Public"));
    assert!(t.cmd(anna, "channel pub =").contains("Channel Public"));
}

#[test]
fn muting_leaving_and_the_locks_decide_who_hears() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    let cleo = t.player("Cleo");
    assert!(t.cmd(bert, "channel/mute pub").contains("You mute Public"));
    assert!(
        t.cmd(bert, "channel/mute pub")
            .contains("You have muted Public already")
    );
    assert!(
        t.cmd(anna, "channel/unmute pub")
            .contains("You are not muting Public")
    );
    assert!(
        t.cmd(cleo, "channel/unsub pub")
            .contains("You stop listening")
    );
    t.cmd(anna, "pub anyone?");
    assert_eq!(t.heard(bert), "", "muted");
    assert_eq!(t.heard(cleo), "", "left");
    assert!(
        t.cmd(cleo, "pub me too")
            .contains("You are not listening to Public")
    );
    assert!(
        t.cmd(bert, "channel/unmute pub")
            .contains("You hear Public again")
    );
    t.cmd(anna, "pub now?");
    assert_eq!(t.heard(bert), "[Public] Anna: now?");
    // Staff is for Builders: a Player may neither join nor talk.
    assert!(
        t.cmd(anna, "channel/sub staff")
            .contains("may not listen to Staff")
    );
    assert!(t.cmd(anna, "staff hi").contains("not listening to Staff"));
    t.grant(bert, "Builder");
    assert!(
        t.cmd(bert, "channel/sub staff")
            .contains("You now listen to Staff")
    );
    assert_eq!(t.cmd(bert, "staff hi"), "[Staff] Bert: hi");
    // channel/all shows what a player may join.
    let all = t.cmd(anna, "channel/all");
    assert!(all.contains("Public") && !all.contains("Staff"), "{all}");
    assert!(t.cmd(anna, "channel/who pub").contains("Bert"));
}

#[test]
fn history_is_kept_through_a_reload_bounded_and_paged() {
    let mut t = TestGame::with_settings(Game::new(), |s| s.channels.history_lines = 30);
    let anna = t.player("Anna");
    for i in 1..=45 {
        t.cmd(anna, &format!("pub line {i}"));
    }
    t.reload();
    let h = t.cmd(anna, "channel/history pub");
    assert!(
        h.contains("Anna: line 45") && h.contains("Anna: line 26"),
        "{h}"
    );
    assert!(!h.contains("line 25"), "{h}");
    assert!(
        h.contains("10 older line(s): channel/history Public = 20"),
        "{h}"
    );
    let older = t.cmd(anna, "channel/history pub = 20");
    assert!(
        older.contains("line 16") && older.contains("line 25"),
        "{older}"
    );
    assert!(!older.contains("line 15"), "pruned beyond 30: {older}");
    assert!(
        t.cmd(anna, "channel/history pub = 500")
            .contains("Nothing was said")
    );
    assert!(
        t.cmd(anna, "channel/history pub = lots")
            .contains("is not a number")
    );
    // Subscriptions and mutes came through the reload too.
    let bert = t.player("Bert");
    t.cmd(bert, "channel/mute pub");
    t.reload();
    t.heard(bert);
    t.cmd(anna, "pub after");
    assert_eq!(t.heard(bert), "");
    assert!(t.cmd(bert, "channel").contains("Muting"));
}

#[test]
fn a_channel_is_made_described_locked_and_destroyed_only_when_confirmed() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    assert!(t.cmd(anna, "channel/create").contains("Nothing was done."));
    assert!(
        t.cmd(anna, "channel/create Trade;tr = Buy and sell")
            .contains("Created channel Trade")
    );
    assert!(
        t.cmd(anna, "channel/create trade")
            .contains("exists already")
    );
    assert!(
        t.cmd(anna, "channel/create bad|name")
            .contains("Nothing was done.")
    );
    assert!(
        t.cmd(bert, "channel/sub tr = market;m")
            .contains("You now listen to Trade")
    );
    t.cmd(bert, "m selling a sword");
    assert_eq!(t.heard(anna), "[Trade] Bert: selling a sword");
    // Only its maker (control) manages it.
    assert!(
        t.cmd(bert, "channel/desc tr = mine")
            .contains("control lock")
    );
    assert!(
        t.cmd(anna, "channel/desc tr = Buy, sell, swap")
            .contains("is set")
    );
    assert!(t.cmd(bert, "channel tr").contains("Buy, sell, swap"));
    assert!(
        t.cmd(anna, "channel/lock tr = send:perm(Admin)")
            .contains("takes Admin")
    );
    assert!(t.cmd(bert, "channel/destroy tr").contains("control lock"));
    assert!(t.cmd(anna, "channel/destroy").contains("Nothing was done."));
    assert!(t.cmd(anna, "channel/destroy tr").contains("yes/[no]"));
    assert_eq!(t.cmd(anna, "no"), "Nothing was destroyed.");
    assert!(t.cmd(anna, "channel/destroy tr").contains("yes/[no]"));
    t.cmd(anna, "yes");
    assert!(t.heard(bert).contains("Channel Trade was destroyed."));
    assert!(
        t.cmd(bert, "m hello?").contains("not available"),
        "the alias went with it"
    );
    t.reload();
    assert!(
        t.cmd(anna, "channel trade")
            .contains("No channel is called")
    );
}

/// The attributes an account keeps.
fn account_attrs(t: &TestGame, name: &str) -> serde_json::Map<String, serde_json::Value> {
    let w = &t.server().world;
    let id = w.account_named(name).expect("the account");
    w.accounts[&id].db.to_json_map()
}

#[test]
fn default_channels_are_joined_at_login_except_those_left_or_booted_from() {
    let mut t = TestGame::new(Game::new());
    let admin = t.player("Ada");
    t.grant(admin, "Admin");
    let anna = t.player("Anna");
    assert!(t.cmd(anna, "pub hello").contains("[Public] Anna: hello"));
    assert!(
        account_attrs(&t, "Anna").is_empty(),
        "joining a default channel keeps nothing on the account"
    );
    // She leaves Public: logging in again does not join her again, even
    // after a reload.
    assert!(
        t.cmd(anna, "channel/unsub pub")
            .contains("You stop listening")
    );
    t.disconnect(anna);
    t.reload();
    let anna = t.connect();
    t.login(anna, "Anna");
    assert!(
        t.cmd(anna, "pub hi")
            .contains("You are not listening to Public")
    );
    // She joins again: the next login keeps her there, and her account
    // holds nothing about it any more.
    assert!(t.cmd(anna, "channel/sub pub").contains("You now listen"));
    assert!(account_attrs(&t, "Anna").is_empty());
    t.disconnect(anna);
    let anna = t.connect();
    t.login(anna, "Anna");
    assert!(t.cmd(anna, "pub back").contains("[Public] Anna: back"));
    // Booted (not banned): out at the next login too, until he joins.
    let bert = t.player("Bert");
    assert!(
        t.cmd(admin, "channel/boot pub = Bert")
            .contains("Bert was booted")
    );
    t.disconnect(bert);
    let bert = t.connect();
    t.login(bert, "Bert");
    assert!(
        t.cmd(bert, "pub hi")
            .contains("You are not listening to Public")
    );
    // An account of an older build kept the default channels it was made
    // to join; it left Public since. Its next login reads that as leaving.
    let cleo = t.player("Cleo");
    t.cmd(cleo, "channel/unsub pub");
    t.disconnect(cleo);
    t.with_server(|s| {
        let id = s.world.account_named("Cleo").unwrap();
        s.world.update_account(id, |a| {
            a.del_attr("_channels_left");
            a.set_attr("_channels_autojoined", ["Public"]);
        });
    });
    let cleo = t.connect();
    t.login(cleo, "Cleo");
    assert!(
        t.cmd(cleo, "pub hi")
            .contains("You are not listening to Public")
    );
    let kept = account_attrs(&t, "Cleo");
    assert!(!kept.contains_key("_channels_autojoined"), "{kept:?}");
    assert_eq!(kept["_channels_left"], serde_json::json!(["Public"]));
}

#[test]
fn boot_and_ban_keep_someone_out_until_unbanned() {
    let mut t = TestGame::new(Game::new());
    let admin = t.player("Ada");
    t.grant(admin, "Admin");
    let bert = t.player("Bert");
    assert!(
        t.cmd(admin, "channel/boot pub")
            .contains("Nothing was done.")
    );
    assert!(
        t.cmd(admin, "channel/boot pub = Nobody")
            .contains("No account is called")
    );
    assert!(
        t.cmd(admin, "channel/boot pub = Bert: spam")
            .contains("Bert was booted")
    );
    assert!(
        t.heard(bert)
            .contains("You were booted from channel Public by Ada. Reason: spam")
    );
    assert!(
        t.cmd(bert, "channel/sub pub").contains("You now listen"),
        "a boot is not a ban"
    );
    assert!(t.cmd(admin, "channel/ban pub = Bert").contains("banned"));
    assert!(
        t.cmd(bert, "channel/sub pub")
            .contains("banned from Public")
    );
    assert!(t.cmd(admin, "channel/ban pub").contains("Bert"));
    t.reload();
    assert!(
        t.cmd(bert, "channel/sub pub")
            .contains("banned from Public"),
        "through a reload"
    );
    assert!(
        t.cmd(admin, "channel/unban pub = Bert")
            .contains("may join Public again")
    );
    assert!(t.cmd(bert, "channel/sub pub").contains("You now listen"));
    // A player cannot boot.
    assert!(
        t.cmd(bert, "channel/boot pub = Ada")
            .contains("control lock")
    );
    assert!(t.cmd(bert, "channel/frob pub").contains("unknown switch"));
}

#[test]
fn gmcp_clients_get_comm_channel_text_and_admins_hear_who_connects() {
    let mut t = TestGame::new(Game::new());
    let admin = t.player("Ada");
    t.grant(admin, "Admin");
    assert!(
        t.cmd(admin, "channel/sub mudinfo")
            .contains("You now listen to MudInfo")
    );
    let bert = t.player("Bert");
    assert!(t.heard(admin).contains("Bert connected"));
    t.enable_oob(admin);
    t.oob(admin);
    t.cmd(bert, "pub :waves");
    let texts: Vec<_> = t
        .oob(admin)
        .into_iter()
        .filter(|(n, _)| n == "gmcp:Comm.Channel.Text")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["channel"], "public");
    assert_eq!(texts[0]["talker"], "Bert");
    assert_eq!(texts[0]["text"], "Bert waves");
    t.send_oob(admin, "comm_channel_list", serde_json::Value::Null);
    let list: Vec<_> = t
        .oob(admin)
        .into_iter()
        .filter(|(n, _)| n == "gmcp:Comm.Channel.List")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(list.len(), 1, "{list:?}");
    let names: Vec<&str> = list[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["public", "mudinfo"]);
    assert_eq!(list[0][0]["command"], "pub");
    t.send_oob(admin, "comm_channel_players", serde_json::Value::Null);
    let players: Vec<_> = t
        .oob(admin)
        .into_iter()
        .filter(|(n, _)| n == "gmcp:Comm.Channel.Players")
        .map(|(_, v)| v)
        .collect();
    let bert_on = players[0]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Bert")
        .expect("Bert is online on Public");
    assert_eq!(bert_on["channels"], serde_json::json!(["public"]));
    t.disconnect(bert);
    assert!(t.heard(admin).contains("Bert disconnected"));
    // Nobody may talk on MudInfo.
    assert!(
        t.cmd(admin, "mudinfo hi")
            .contains("may not talk on MudInfo")
    );
}

#[test]
fn msdp_clients_get_their_channels_and_every_line_when_they_report_channel_text() {
    let mut t = TestGame::new(Game::new());
    let carl = t.player("Carl");
    let bert = t.player("Bert");
    // Carl's client speaks MSDP only (as TinTin++ scripts do): no GMCP.
    t.send_oob(carl, "msdp_list", serde_json::json!("REPORTABLE_VARIABLES"));
    let listed = t.oob(carl);
    let vars = &listed
        .iter()
        .find(|(n, _)| n == "msdp:REPORTABLE_VARIABLES")
        .expect("the list")
        .1;
    assert!(
        vars.as_array().unwrap().iter().any(|v| v == "CHANNEL_TEXT"),
        "{vars}"
    );
    t.send_oob(carl, "msdp_send", serde_json::json!("CHANNELS"));
    assert!(
        t.oob(carl)
            .contains(&("msdp:CHANNELS".into(), serde_json::json!(["Public"]))),
    );
    // Not reported: a line is text only.
    t.cmd(bert, "pub before");
    assert!(t.heard(carl).contains("[Public] Bert: before"));
    assert!(t.oob(carl).is_empty());
    t.send_oob(carl, "msdp_report", serde_json::json!("CHANNEL_TEXT"));
    t.oob(carl);
    t.cmd(bert, "pub :waves");
    assert_eq!(
        t.oob(carl),
        vec![(
            "msdp:CHANNEL_TEXT".into(),
            serde_json::json!({"CHANNEL": "public", "TALKER": "Bert", "TEXT": "Bert waves"})
        )]
    );
    t.send_oob(carl, "msdp_unreport", serde_json::json!("CHANNEL_TEXT"));
    t.cmd(bert, "pub after");
    assert!(t.oob(carl).is_empty());
}

#[test]
fn personal_aliases_come_and_go() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    assert!(
        t.cmd(anna, "channel/alias pub")
            .contains("Nothing was done.")
    );
    assert!(
        t.cmd(anna, "channel/alias pub = p;chat")
            .contains("'p', 'chat'")
    );
    t.cmd(anna, "chat via alias");
    assert_eq!(t.heard(bert), "[Public] Anna: via alias");
    let mine = t.cmd(anna, "channel");
    assert!(mine.contains("pub;chat;p"), "{mine}");
    assert!(t.cmd(anna, "channel/unalias chat").contains("is gone"));
    assert!(t.cmd(anna, "chat gone?").contains("not available"));
    assert!(
        t.cmd(anna, "channel/unalias chat")
            .contains("You have no channel alias")
    );
    t.cmd(anna, "channel/unsub pub");
    assert!(
        t.cmd(anna, "p hello").contains("not available"),
        "leaving drops the aliases"
    );
}

/// A kind of channel that refuses a word and shouts the rest.
struct Shouty;

impl tavern_server::channels::ChannelKind for Shouty {
    fn name(&self) -> &str {
        "shouty"
    }
    fn at_pre_send(
        &self,
        _server: &tavern_server::Server,
        _channel: &tavern_server::channels::Channel,
        _sender: Option<tavern_server::world::AccountId>,
        text: &str,
    ) -> Result<String, String> {
        if text.contains("darn") {
            return Err("Language!".into());
        }
        Ok(text.to_uppercase())
    }
    fn format(
        &self,
        channel: &tavern_server::channels::Channel,
        sender: &str,
        text: &str,
        _pose: bool,
    ) -> String {
        format!("<{}> {sender} shouts {text}", channel.key)
    }
}

#[test]
fn a_kind_of_channel_filters_and_formats_and_game_code_can_talk_on_it() {
    let mut t = TestGame::new(Game::new().channel_kind(Shouty));
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    assert!(
        t.cmd(anna, "channel/create Yard:shouty")
            .contains("Created")
    );
    t.cmd(bert, "channel/sub yard");
    assert_eq!(t.cmd(anna, "yard darn it"), "Language!");
    assert_eq!(t.heard(bert), "");
    t.cmd(anna, "yard hello");
    assert_eq!(t.heard(bert), "<Yard> Anna shouts HELLO");
    let ch = t.server().channel("yard").unwrap();
    t.with_server(|s| s.channel_send(ch, "The crier", "hear ye", false))
        .unwrap();
    assert_eq!(t.heard(bert), "<Yard> The crier shouts HEAR YE");
    assert!(
        t.cmd(bert, "channel/history yard")
            .contains("The crier: HEAR YE")
    );
}

#[test]
fn a_page_reaches_every_session_or_waits_for_the_next_login() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    assert_eq!(
        t.cmd(anna, "page Bert Are you there?"),
        "You paged Bert with: 'Are you there?'."
    );
    assert_eq!(t.heard(bert), "Account Anna pages: Are you there?");
    // Not an account's name: all of it goes to whom you paged last.
    assert_eq!(
        t.cmd(anna, "page still there"),
        "You paged Bert with: 'still there'."
    );
    assert_eq!(t.heard(bert), "Account Anna pages: still there");
    assert!(
        t.cmd(anna, "page Bert = :waves")
            .starts_with("Long distance to Bert: Anna waves")
    );
    assert_eq!(t.heard(bert), "From afar, Anna waves");
    // Mistakes send nothing.
    assert!(
        t.cmd(anna, "page Nobody, Bert = hi")
            .contains("No account is called 'Nobody'. Nothing was sent.")
    );
    assert_eq!(t.heard(bert), "");
    assert!(t.cmd(anna, "page Bert =").contains("Nothing was sent."));
    assert!(t.cmd(anna, "page = hi").contains("Nothing was sent."));
    let long = format!("page Bert {}", "x".repeat(2100));
    assert!(t.cmd(anna, &long).contains("too long"));
    // Offline: kept, shown at the next login, through a reload.
    t.disconnect(bert);
    let said = t.cmd(anna, "page Bert see you |rlater");
    assert!(said.contains("Bert is offline"), "{said}");
    t.reload();
    let bert = t.connect();
    let login = t.login(bert, "Bert");
    let heard = format!("{login}\n{}", t.heard(bert));
    assert!(
        heard.contains("While you were away you were paged 1 time(s):"),
        "{heard}"
    );
    assert!(
        heard.contains("Account Anna pages: see you |rlater"),
        "{heard}"
    );
    // Shown once.
    t.disconnect(bert);
    let bert = t.connect();
    let again = t.login(bert, "Bert");
    assert!(!again.contains("While you were away"), "{again}");
    let list = t.cmd(bert, "page");
    assert!(
        list.contains("Account Anna pages: Are you there?") && list.contains("see you"),
        "{list}"
    );
    assert!(t.cmd(bert, "page/last").contains("see you"));
    assert!(!t.cmd(bert, "page/last").contains("Are you there"));
}

#[test]
fn a_whisper_is_heard_only_by_whom_it_is_for() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    let cleo = t.player("Cleo");
    t.heard(bert);
    t.heard(anna);
    assert_eq!(
        t.cmd(anna, "whisper Bert = the |rkey|n is under the mat"),
        "You whisper to Bert, \"the |rkey|n is under the mat\""
    );
    assert_eq!(
        t.heard(bert),
        "Anna whispers: \"the |rkey|n is under the mat\""
    );
    assert_eq!(t.heard(cleo), "");
    assert!(t.cmd(anna, "whisper Bert").contains("Nothing was said."));
    assert!(t.cmd(anna, "whisper = hi").contains("Nothing was said."));
    assert!(
        t.cmd(anna, "whisper Nobody = hi")
            .contains("Could not find")
    );
    assert_eq!(t.heard(bert), "");
}

#[test]
fn commands_over_the_rate_are_refused_with_a_message_and_idlers_are_disconnected() {
    let mut t = TestGame::with_settings(Game::new(), |s| {
        s.server.max_command_rate = 2;
        s.server.idle_timeout_secs = 10;
    });
    let anna = t.player("Anna");
    let dev = t.player("Dev");
    t.grant(dev, "Developer");
    // Let the bucket fill after the logins.
    t.advance(std::time::Duration::from_secs(2));
    let answers: Vec<String> = (0..10).map(|i| t.cmd(anna, &format!("say {i}"))).collect();
    assert!(answers[0].contains("You say, \"0\""), "{answers:?}");
    assert!(answers[1].contains("You say, \"1\""), "{answers:?}");
    let refused = answers
        .iter()
        .filter(|a| a.contains("You are sending commands faster than 2 a second: 'say"))
        .count();
    assert!(refused >= 5, "{answers:?}");
    t.advance(std::time::Duration::from_secs(1));
    assert!(t.cmd(anna, "say again").contains("You say, \"again\""));
    // Ten seconds without typing: the player is disconnected, the Developer is not.
    t.advance(std::time::Duration::from_secs(6));
    assert_eq!(t.disconnected(anna), None, "not idle long enough yet");
    t.cmd(dev, "idle");
    for _ in 0..6 {
        t.advance(std::time::Duration::from_secs(1));
    }
    assert_eq!(
        t.disconnected(anna),
        Some(Some("Idle timeout exceeded, disconnecting."))
    );
    assert_eq!(t.disconnected(dev), None);
}

#[test]
fn nicks_rewrite_what_a_player_types_and_survive_a_reload() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    t.heard(anna);
    assert!(
        t.cmd(anna, "nick greet $1 = say Hello, $1!")
            .contains("stands for")
    );
    assert_eq!(t.cmd(anna, "greet Bert"), "You say, \"Hello, Bert!\"");
    assert!(t.heard(bert).contains("Anna says, \"Hello, Bert!\""));
    // A nick to a channel alias works too.
    t.cmd(anna, "nick shout $1 = pub $1");
    assert_eq!(t.cmd(anna, "shout hi all"), "[Public] Anna: hi all");
    // Bad nicks change nothing.
    assert!(
        t.cmd(anna, "nick oops $1 = look")
            .contains("Nothing was done.")
    );
    assert!(t.cmd(anna, "nick = look").contains("Nothing was done."));
    assert!(t.cmd(anna, "nick/delete").contains("Nothing was done."));
    assert!(
        t.cmd(anna, "nick/delete nosuch")
            .contains("Nothing was done.")
    );
    assert!(t.cmd(anna, "nick/bogus x = y").contains("unknown switch"));
    t.reload();
    let list = t.cmd(anna, "nick");
    assert!(
        list.contains("1. inputline greet $1 => say Hello, $1!")
            && list.contains("2. inputline shout"),
        "{list}"
    );
    assert!(t.cmd(anna, "nick/delete 1").contains("removed"));
    assert!(t.cmd(anna, "greet Bert").contains("not available"));
    // Even a nick that takes over everything can be undone with nick.
    t.cmd(anna, "nick * = look");
    assert!(t.cmd(anna, "say anything").contains("Limbo"));
    assert!(t.cmd(anna, "nick/clearall").contains("yes/[no]"));
    assert_eq!(t.cmd(anna, "no"), "Your nicks are kept.");
    t.cmd(anna, "nick/clearall");
    assert_eq!(t.cmd(anna, "yes"), "All your nicks are gone.");
    assert_eq!(t.cmd(anna, "say ok"), "You say, \"ok\"");
}

#[test]
fn object_and_account_nicks_stand_for_names_where_they_are_looked_up() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bobbington");
    t.grant(anna, "Builder");
    t.cmd(anna, "create/drop rusty iron sword");
    assert!(t.cmd(anna, "look blade").contains("Could not find"));
    assert_eq!(
        t.cmd(anna, "nick/object blade = rusty iron sword"),
        "Object nick 'blade' stands for 'rusty iron sword'."
    );
    assert!(t.cmd(anna, "look blade").contains("rusty iron sword"));
    // An object nick does not rewrite the line: "blade" alone is no command.
    assert!(t.cmd(anna, "blade").contains("not available"));
    assert_eq!(
        t.cmd(anna, "nick/account bob = Bobbington"),
        "Account nick 'bob' stands for 'Bobbington'."
    );
    t.heard(bert);
    assert!(
        t.cmd(anna, "page bob = hello")
            .contains("You paged Bobbington")
    );
    assert!(t.heard(bert).contains("hello"));
    assert!(
        t.cmd(anna, "page bob hi again")
            .contains("You paged Bobbington")
    );
    assert!(
        t.cmd(anna, "mail bob = Tea/At five?")
            .contains("Bobbington")
    );
    // The same pattern as an input nick is another nick.
    assert_eq!(
        t.cmd(anna, "nick bob = say bob!"),
        "Nick 'bob' stands for 'say bob!'."
    );
    let list = t.cmd(anna, "nick/list");
    assert!(
        list.contains("object    blade => rusty iron sword")
            && list.contains("account   bob => Bobbington")
            && list.contains("inputline bob => say bob!"),
        "{list}"
    );
    // Nicks changed by game code are seen at once (nothing stale is kept).
    t.with_server(|s| {
        let me = s.world.account_named("Anna").unwrap();
        s.set_nicks(me, &[]);
    });
    assert!(t.cmd(anna, "look blade").contains("Could not find"));
    assert!(
        t.cmd(anna, "page bob = hi")
            .contains("No account is called 'bob'")
    );
}

#[test]
fn a_nick_and_a_channel_name_cannot_send_a_line_round_for_ever() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    // "channel pub = hi" -> "pub = hi" -> (a channel name) "channel pub = = hi" -> ...
    t.cmd(anna, "nick channel $1 = $1");
    let said = t.cmd(anna, "pub hi");
    assert_eq!(said, "[Public] Anna: hi");
    assert!(
        t.cmd(anna, "look").contains("Limbo"),
        "the server is still there"
    );
}

#[test]
fn mail_is_kept_announced_at_login_read_replied_forwarded_and_deleted_after_asking() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    let bert = t.player("Bert");
    assert_eq!(t.cmd(bert, "mail"), "Your mailbox is empty.");
    assert_eq!(
        t.cmd(anna, "mail Bert = Supper/Come at |rseven|n."),
        "You sent your letter to Bert."
    );
    assert_eq!(t.heard(bert), "You have new mail from Anna: Supper");
    t.disconnect(bert);
    t.cmd(anna, "mail Bert = No subject here");
    t.reload();
    let bert = t.connect();
    let login = t.login(bert, "Bert");
    let heard = format!("{login}\n{}", t.heard(bert));
    assert!(heard.contains("You have 2 unread letter(s)."), "{heard}");
    let list = t.cmd(bert, "mail");
    assert!(
        list.contains("Supper") && list.contains("(no subject)") && list.contains("NEW"),
        "{list}"
    );
    let letter = t.cmd(bert, "mail 1");
    assert!(
        letter.contains("From: Anna") && letter.contains("Come at |rseven|n."),
        "{letter}"
    );
    assert!(
        t.cmd(bert, "mail/reply 1 = I will be there.")
            .contains("sent your letter to Anna")
    );
    assert!(t.cmd(anna, "mail 1").contains("Subject: RE: Supper"));
    assert!(
        t.cmd(bert, "mail/forward Anna = 2/See below")
            .contains("sent your letter to Anna")
    );
    let fwd = t.cmd(anna, "mail 2");
    assert!(
        fwd.contains("FWD: (no subject)") && fwd.contains("--- Forwarded from Anna ---"),
        "{fwd}"
    );
    // Mistakes send and delete nothing.
    assert!(t.cmd(bert, "mail/delete").contains("Nothing was done."));
    assert!(t.cmd(bert, "mail/delete 9").contains("Nothing was done."));
    assert!(t.cmd(bert, "mail 9").contains("You have no letter '9'"));
    assert!(
        t.cmd(bert, "mail Nobody = hi")
            .contains("Nothing was sent.")
    );
    assert!(
        t.cmd(bert, "mail Anna = Subject/")
            .contains("Nothing was sent.")
    );
    assert!(
        t.cmd(bert, "mail/reply 9 = hi")
            .contains("Nothing was sent.")
    );
    assert!(t.cmd(bert, "mail/delete 1").contains("yes/[no]"));
    assert_eq!(t.cmd(bert, "n"), "The letter is kept.");
    t.cmd(bert, "mail/delete 1");
    assert_eq!(t.cmd(bert, "yes"), "Letter deleted.");
    let list = t.cmd(bert, "mail");
    assert!(
        !list.contains("Supper") && list.contains("(no subject)"),
        "{list}"
    );
}

#[test]
fn a_line_after_a_reload_goes_on_numbering_and_is_kept() {
    // The channel's row is not rewritten for each line: its last number is
    // found again from the lines. A line numbered as an old one would be lost.
    let mut t = TestGame::with_settings(Game::new(), |s| s.channels.history_lines = 3);
    let anna = t.player("Anna");
    for i in 1..=5 {
        t.cmd(anna, &format!("pub line {i}"));
    }
    t.reload();
    t.cmd(anna, "pub after the reload");
    t.reload();
    let h = t.cmd(anna, "channel/history pub");
    assert!(
        h.contains("line 4") && h.contains("line 5") && h.contains("after the reload"),
        "{h}"
    );
    assert!(!h.contains("line 3"), "{h}");
}

#[test]
fn letter_number_zero_is_no_letter() {
    let mut t = TestGame::new(Game::new());
    let anna = t.player("Anna");
    for zero in [
        "mail 0",
        "mail/delete 0",
        "mail/reply 0 = hi",
        "mail/forward Anna = 0",
    ] {
        let said = t.cmd(anna, zero);
        assert!(!said.contains("An error occurred"), "{zero}: {said}");
    }
    assert!(t.cmd(anna, "mail 0").contains("You have no letter '0'"));
}
