//! Menus as players use them: options by number, key and alias, free text,
//! look/help/quit, bad answers, the data a menu keeps, a reload in the
//! middle, GMCP `Tavern.Menu`, and menus that break without harming anyone.

use serde_json::json;
use tavern_server::menus::{Goto, Menu, Node};
use tavern_server::testing::TestGame;
use tavern_server::{CmdCtx, Command, Game};

struct Shop;

impl Command for Shop {
    fn key(&self) -> &str {
        "shop"
    }
    fn help(&self) -> &str {
        "shop\n\nBuy from the barkeep."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if !ctx.open_menu("shop") {
            ctx.msg("No shop here.");
        }
    }
}

fn gold(ctx: &tavern_server::menus::MenuCtx<'_>) -> i64 {
    ctx.caller()
        .and_then(|c| ctx.server.world.get(c))
        .and_then(|o| o.attr::<i64>("gold"))
        .unwrap_or(10)
}

fn shop() -> Menu {
    Menu::new("shop", "start")
        .node("start", |ctx| {
            Node::new(format!("The barkeep nods. You have {} gold.", gold(ctx)))
                .help("Pick something to buy, or leave.")
                .option("Ale (2 gold)", Goto::call(|ctx| buy(ctx, "ale", 2)))
                .option("Stew (5 gold)", Goto::call(|ctx| buy(ctx, "stew", 5)))
                .keyed("name;n", "Tell the barkeep your name", "name")
                .keyed("leave;bye", "Leave", Goto::Quit)
        })
        .node("name", |_| {
            Node::new("\"And you are?\"").otherwise(Goto::call(|ctx| {
                let name = ctx.input.trim().to_string();
                if name.len() > 20 {
                    return Goto::stay("\"That's too long to remember.\"");
                }
                ctx.set("name", name);
                Goto::node("greet")
            }))
        })
        .node("greet", |ctx| {
            Node::new(format!("\"Well met, {}.\"", ctx.get_str("name"))).keyed(
                "back;b",
                "Back to the counter",
                "start",
            )
        })
        .node("broken", |_| panic!("a bug in a node"))
        .on_exit(|ctx| ctx.msg("The barkeep turns away."))
}

fn buy(ctx: &mut tavern_server::menus::MenuCtx<'_>, item: &str, price: i64) -> Goto {
    let have = gold(ctx);
    if have < price {
        return Goto::stay("You cannot afford that.");
    }
    let me = ctx.caller().expect("a character");
    ctx.server
        .world
        .update(me, |o| o.set_attr("gold", have - price));
    ctx.msg(format!("You buy the {item}."));
    Goto::node("start")
}

fn game() -> Game {
    Game::new().command(Shop).menu(shop())
}

#[test]
fn a_menu_takes_options_by_number_key_and_alias_and_keeps_its_data() {
    let mut t = TestGame::new(game());
    let anna = t.player("Anna");
    let shown = t.cmd(anna, "shop");
    assert!(shown.contains("You have 10 gold."), "{shown}");
    assert!(shown.contains(" 1: Ale (2 gold)") && shown.contains(" name: Tell"));
    let bought = t.cmd(anna, "1");
    assert!(bought.starts_with("You buy the ale."), "{bought}");
    assert!(bought.contains("You have 8 gold."));
    // Commands are not commands in a menu.
    assert_eq!(t.cmd(anna, "look here"), "Choose an option or try 'help'.");
    assert_eq!(t.cmd(anna, ""), "Choose an option or try 'help'.");
    assert_eq!(t.cmd(anna, "help"), "Pick something to buy, or leave.");
    assert!(t.cmd(anna, "l").contains("You have 8 gold."));
    t.cmd(anna, "2");
    assert!(t.cmd(anna, "2").starts_with("You cannot afford that."));
    // Free text, checked; then kept.
    assert!(t.cmd(anna, "N").contains("And you are?"));
    assert!(t.cmd(anna, &"x".repeat(30)).contains("too long"));
    assert!(
        t.cmd(anna, "Anna the Bold")
            .contains("Well met, Anna the Bold.")
    );
    assert!(t.cmd(anna, "b").contains("You have 3 gold."));
    let left = t.cmd(anna, "bye");
    assert_eq!(left, "The barkeep turns away.");
    assert!(t.cmd(anna, "look").contains("Limbo"), "commands work again");
    // quit works anywhere.
    t.cmd(anna, "shop");
    assert_eq!(
        t.cmd(anna, "quit"),
        "You leave the menu.\nThe barkeep turns away."
    );
}

#[test]
fn a_menu_in_progress_survives_a_reload_and_shows_its_node_once() {
    let mut t = TestGame::new(game());
    let anna = t.player("Anna");
    t.cmd(anna, "shop");
    t.cmd(anna, "name");
    t.cmd(anna, "Bea");
    t.reload();
    let after = t.heard(anna);
    assert_eq!(after.matches("Well met, Bea.").count(), 1, "{after}");
    assert!(t.cmd(anna, "back").contains("You have 10 gold."));
    assert!(t.cmd(anna, "1").contains("You buy the ale."));
}

#[test]
fn gmcp_clients_get_the_options_and_the_close() {
    let mut t = TestGame::new(game());
    let anna = t.player("Anna");
    t.enable_oob(anna);
    t.oob(anna);
    t.cmd(anna, "shop");
    let menus: Vec<_> = t
        .oob(anna)
        .into_iter()
        .filter(|(n, _)| n == "gmcp:Tavern.Menu")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(menus.len(), 1);
    assert_eq!(menus[0]["menu"], "shop");
    assert_eq!(menus[0]["node"], "start");
    assert_eq!(
        menus[0]["options"][0],
        json!({"key": "1", "desc": "Ale (2 gold)"})
    );
    assert_eq!(
        menus[0]["options"][3],
        json!({"key": "leave", "desc": "Leave"})
    );
    t.cmd(anna, "leave");
    assert!(
        t.oob(anna)
            .contains(&("gmcp:Tavern.Menu".to_string(), json!({})))
    );
}

#[test]
fn a_broken_menu_closes_and_the_player_plays_on() {
    let game = game().menu(
        Menu::new("traps", "start")
            .node("start", |_| {
                Node::new("Pick.")
                    .option("A node that panics", "broken")
                    .option("A node that is missing", "nowhere")
                    .option(
                        "Round and round",
                        Goto::call(|_| Goto::call(|_| Goto::node("start"))),
                    )
                    .option("For ever", Goto::call(forever))
            })
            .node("broken", |_| panic!("a bug"))
            .allow_quit(false),
    );
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    for choice in ["1", "2", "4"] {
        t.with_server(|s| {
            assert!(s.menu_open(anna, "traps", Default::default()));
        });
        t.heard(anna);
        assert_eq!(t.cmd(anna, "quit"), "Choose an option or try 'help'.");
        assert_eq!(t.cmd(anna, "help"), "Commands: <menu option>, help");
        assert_eq!(t.cmd(anna, choice), "The menu broke, and you leave it.");
        assert!(t.cmd(anna, "look").contains("Limbo"));
    }
    t.with_server(|s| assert!(s.menu_open(anna, "traps", Default::default())));
    assert!(t.cmd(anna, "3").contains("Pick."), "a short chain is fine");
    t.with_server(|s| assert!(!s.menu_open(anna, "nosuch", Default::default())));
}

#[test]
fn look_and_help_can_be_left_to_the_menu() {
    let game = Game::new().menu(
        Menu::new("riddle", "ask")
            .builtins(false, false)
            .node("ask", |_| {
                Node::new("What has keys but opens no locks?").otherwise(Goto::call(|ctx| {
                    if ctx.input.eq_ignore_ascii_case("piano") {
                        Goto::node("right")
                    } else {
                        Goto::stay(format!("Not '{}'.", ctx.input))
                    }
                }))
            })
            .node("right", |_| Node::new("Right!")),
    );
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    t.with_server(|s| assert!(s.menu_open(anna, "riddle", Default::default())));
    assert_eq!(t.cmd(anna, "look"), "Not 'look'.");
    assert_eq!(t.cmd(anna, "help"), "Not 'help'.");
    assert_eq!(t.cmd(anna, "quit"), "You leave the menu.");
}

fn forever(_: &mut tavern_server::menus::MenuCtx<'_>) -> Goto {
    Goto::call(forever)
}

const GUIDE: &str = r#"
name = "guide"
start = "start"
exit_text = "The guide bows."

[[nodes]]
name = "start"
text = "Hello, {name}. Where to?"
help = "Pick a place."
options = [
  { desc = "The market", goto = "market", set = { place = "market" } },
  { desc = "Ask for a coin", call = "coin" },
  { key = "rename", aliases = ["r"], desc = "Give another name", goto = "rename" },
  { key = "bye", desc = "Leave", goto = "quit" },
]

[[nodes]]
name = "rename"
text = "What shall I call you?"
otherwise = { call = "rename" }

[[nodes]]
name = "market"
text = "The {place} is busy. You typed '{input}'."
"#;

#[test]
fn a_menu_declared_in_toml_runs_with_the_game_s_functions() {
    let game = Game::new()
        .menu(Menu::from_toml(GUIDE).expect("a valid menu"))
        .menu_fn("coin", |ctx| {
            ctx.msg("You get a coin.");
            Goto::stay("The guide has no more coins.")
        })
        .menu_fn("rename", |ctx| {
            let name = ctx.input.clone();
            ctx.set("name", name);
            Goto::node("start")
        });
    let mut t = TestGame::new(game);
    let anna = t.player("Anna");
    let mut data = serde_json::Map::new();
    data.insert("name".into(), json!("traveller"));
    t.with_server(|s| assert!(s.menu_open(anna, "guide", data)));
    let first = t.heard(anna);
    assert!(first.contains("Hello, traveller. Where to?"), "{first}");
    assert_eq!(
        t.cmd(anna, "2"),
        "You get a coin.\nThe guide has no more coins."
    );
    assert!(t.cmd(anna, "r").contains("What shall I call you?"));
    assert!(t.cmd(anna, "|rBea").contains("Hello, |rBea. Where to?"));
    assert_eq!(
        t.cmd(anna, "1"),
        "The market is busy. You typed '1'.\nThe guide bows."
    );
}

#[test]
fn a_toml_menu_with_a_mistake_is_refused_before_anyone_uses_it() {
    let missing = GUIDE.replace("goto = \"market\"", "goto = \"nowhere\"");
    assert_eq!(
        Menu::from_toml(&missing).err().map(|e| e.to_string()),
        Some(
            "menu guide: option 1 of node 'start' goes to node 'nowhere', which it does not have"
                .into()
        )
    );
    let both = GUIDE.replace("call = \"coin\"", "call = \"coin\", goto = \"start\"");
    assert!(
        Menu::from_toml(&both)
            .err()
            .unwrap()
            .to_string()
            .contains("both goto and call")
    );
    let neither = GUIDE.replace(", goto = \"quit\"", "");
    assert!(
        Menu::from_toml(&neither)
            .err()
            .unwrap()
            .to_string()
            .contains("needs goto or call")
    );
    let start = GUIDE.replace("start = \"start\"", "start = \"begin\"");
    assert!(
        Menu::from_toml(&start)
            .err()
            .unwrap()
            .to_string()
            .contains("'begin'")
    );
    assert!(Menu::from_toml("name = 3").is_err());
    let typo = GUIDE.replace("help = ", "hlep = ");
    assert!(
        Menu::from_toml(&typo).is_err(),
        "unknown fields are refused"
    );
    let option_typo = GUIDE.replace("{ key = \"bye\", desc", "{ key = \"bye\", dsc");
    assert!(Menu::from_toml(&option_typo).is_err(), "in options too");
    let option_extra = GUIDE.replace("{ key = \"bye\",", "{ key = \"bye\", colour = \"red\",");
    assert!(Menu::from_toml(&option_extra).is_err(), "{option_extra}");
}
