//! The template's menus, its character sheet and its own description:
//!
//! - `chargen`: choose a background and a starting item for your character
//!   (once), as a menu;
//! - `buy` at the bar of the Common Room: the barkeep's wares as a menu,
//!   paid for in gold;
//! - `sheet`: your character as a table, fitted to your screen;
//! - `setdesc`: describe yourself in the line editor.
//!
//! A menu survives a reload or a crash in the middle: the player is shown
//! the node they were at, and their next choice works. The choices that
//! change the world are `Goto::call` functions, which run once per choice.

use tavern_server::menus::{EditTarget, Goto, Menu, MenuCtx, Node, Table};
use tavern_server::{CmdCtx, Command, Kind, NewObject};

/// What a character starts with before buying anything.
pub const STARTING_GOLD: i64 = 20;

/// The backgrounds `chargen` offers: name, what it means, and the stat it raises.
const BACKGROUNDS: &[(&str, &str, &str)] = &[
    ("soldier", "You held a pike in the old wars.", "maxhp"),
    (
        "scholar",
        "You read everything the monastery had.",
        "maxmana",
    ),
    ("drifter", "You have walked every road there is.", "maxmove"),
];

/// The items `chargen` offers.
const STARTING_ITEMS: &[(&str, &str)] = &[
    ("short sword", "A plain blade, well kept."),
    ("satchel of herbs", "Dried leaves that smell of summer."),
    (
        "walking staff",
        "Ash wood, worn smooth by a hand like yours.",
    ),
];

/// The barkeep's wares: name, price, description.
pub const WARES: &[(&str, i64, &str)] = &[
    ("mug of ale", 2, "Brown, foaming, and not too warm."),
    ("bowl of stew", 5, "Something with barley in it."),
    ("loaf of bread", 3, "Still warm."),
];

/// A character's gold.
fn gold(ctx: &MenuCtx<'_>) -> i64 {
    ctx.caller()
        .and_then(|c| ctx.server.world.get(c))
        .and_then(|o| o.attr::<i64>("gold"))
        .unwrap_or(STARTING_GOLD)
}

/// The character-creation menu: a background, then a starting item. It
/// cannot be quit halfway.
pub fn chargen() -> Menu {
    Menu::new("chargen", "background")
        .allow_quit(false)
        .node("background", |_| {
            let mut node = Node::new("|wWho were you, before you came to the tavern?|n")
                .help("Choose a background by its number. It raises one of your stats for good.");
            for (name, about, _) in BACKGROUNDS {
                node = node.option(
                    format!("|c{name}|n: {about}"),
                    Goto::call(move |ctx| {
                        ctx.set("background", *name);
                        Goto::node("item")
                    }),
                );
            }
            node
        })
        .node("item", |ctx| {
            let bg = ctx.get_str("background").to_string();
            let mut node = Node::new(format!("A {bg}, then. |wWhat did you bring with you?|n"));
            for (item, _) in STARTING_ITEMS {
                node = node.option(*item, Goto::call(move |ctx| finish(ctx, item)));
            }
            node.keyed("back;b", "Choose another background", "background")
        })
        .node("done", |ctx| {
            Node::new(format!(
                "You are a {} with a {}. |wsheet|n shows you; the tavern is |wt|n from Limbo.",
                ctx.get_str("background"),
                ctx.get_str("item")
            ))
        })
}

/// The last choice: the item is made and the background applied, once.
fn finish(ctx: &mut MenuCtx<'_>, item: &str) -> Goto {
    let Some(me) = ctx.caller() else {
        return Goto::Quit;
    };
    let bg = ctx.get_str("background").to_string();
    let Some((_, _, stat)) = BACKGROUNDS.iter().find(|(n, _, _)| *n == bg) else {
        return Goto::node("background");
    };
    let desc = STARTING_ITEMS
        .iter()
        .find(|(n, _)| *n == item)
        .map_or("", |(_, d)| *d);
    if let Err(e) = ctx
        .server
        .create_object(NewObject::new(Kind::Thing, item).desc(desc).location(me))
    {
        ctx.msg(format!("Something went wrong: {e}"));
        return Goto::Quit;
    }
    ctx.server.world.update(me, |o| {
        let raised = o.attr::<i64>(stat).unwrap_or(10) + 5;
        o.set_attr(stat, raised);
        o.set_attr("background", &bg);
    });
    ctx.set("item", item);
    Goto::node("done")
}

/// The barkeep's shop.
pub fn shop() -> Menu {
    Menu::new("shop", "wares")
        .node("wares", |ctx| {
            let mut table = Table::new(["#", "Item", "Price"]);
            for (i, (item, price, _)) in WARES.iter().enumerate() {
                table.row([
                    (i + 1).to_string(),
                    item.to_string(),
                    format!("{price} gold"),
                ]);
            }
            let mut node = Node::new(format!(
                "The barkeep wipes the counter. \"What'll it be?\" You have {} gold.\n{}",
                gold(ctx),
                table.render()
            ))
            .help("Type the number of what you want, or leave.");
            for (item, price, _) in WARES {
                node = node.option(
                    format!("{item} ({price} gold)"),
                    Goto::call(move |ctx| buy(ctx, item)),
                );
            }
            node.keyed("leave;l;q", "Leave the counter", Goto::Quit)
        })
        .on_exit(|ctx| ctx.msg("The barkeep goes back to polishing glasses."))
}

/// Buying one thing: paid for and handed over, or refused.
fn buy(ctx: &mut MenuCtx<'_>, item: &str) -> Goto {
    let Some((_, price, desc)) = WARES.iter().find(|(n, _, _)| *n == item) else {
        return Goto::stay("\"We're out of that.\"");
    };
    let Some(me) = ctx.caller() else {
        return Goto::Quit;
    };
    let have = gold(ctx);
    if have < *price {
        return Goto::stay(format!("\"That's {price} gold, friend. You have {have}.\""));
    }
    if let Err(e) = ctx
        .server
        .create_object(NewObject::new(Kind::Thing, item).desc(*desc).location(me))
    {
        ctx.msg(format!("Something went wrong: {e}"));
        return Goto::Quit;
    }
    ctx.server.world.set_attr(me, "gold", have - price);
    ctx.msg(format!("You buy a {item} for {price} gold."));
    Goto::node("wares")
}

/// `chargen`: choose your background and starting item (once).
pub struct Chargen;

impl Command for Chargen {
    fn key(&self) -> &str {
        "chargen"
    }
    fn aliases(&self) -> &[&str] {
        &["background"]
    }
    fn help(&self) -> &str {
        "chargen\n\nChoose your character's background and the item they start with. \
         Once chosen, it is yours for good."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.caller() else {
            return ctx.msg("You need to be in the game as a character.");
        };
        let chosen: Option<String> = ctx.server.world.get(me).and_then(|o| o.attr("background"));
        if let Some(bg) = chosen {
            return ctx.msg(format!("You are a {bg} already."));
        }
        ctx.open_menu("chargen");
    }
}

/// `buy`: the barkeep's shop (offered by the Common Room).
pub struct Buy;

impl Command for Buy {
    fn key(&self) -> &str {
        "buy"
    }
    fn aliases(&self) -> &[&str] {
        &["shop"]
    }
    fn help(&self) -> &str {
        "buy\n\nSee what the barkeep sells, and buy it."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        ctx.open_menu("shop");
    }
}

/// `sheet`: your character, as a table.
pub struct Sheet;

impl Command for Sheet {
    fn key(&self) -> &str {
        "sheet"
    }
    fn aliases(&self) -> &[&str] {
        &["score"]
    }
    fn read_only(&self) -> bool {
        true
    }
    fn help(&self) -> &str {
        "sheet\n\nYour character: background, stats, gold and what you carry."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(o) = ctx.caller().and_then(|c| ctx.server.world.get(c)) else {
            return ctx.msg("You need to be in the game as a character.");
        };
        let n = |a: &str| o.attr::<i64>(a).unwrap_or(0).to_string();
        let background: String = o
            .attr("background")
            .unwrap_or_else(|| "(none yet: chargen)".into());
        let mut table = Table::new([format!("|w{}|n", o.key), String::new()]);
        table
            .row(["Background".to_string(), background])
            .row(["Level".to_string(), n("level")])
            .row([
                "Health".to_string(),
                format!("{} / {}", n("hp"), n("maxhp")),
            ])
            .row([
                "Mana".to_string(),
                format!("{} / {}", n("mana"), n("maxmana")),
            ])
            .row([
                "Movement".to_string(),
                format!("{} / {}", n("movement"), n("maxmove")),
            ])
            .row([
                "Gold".to_string(),
                o.attr::<i64>("gold").unwrap_or(STARTING_GOLD).to_string(),
            ]);
        let carried: Vec<String> = ctx
            .server
            .world
            .contents(o.id)
            .iter()
            .filter_map(|c| ctx.server.world.get(*c))
            .map(|c| tavern_server::menus::crop(&c.key, 30, "..."))
            .collect();
        table.row([
            "Carrying".to_string(),
            if carried.is_empty() {
                "nothing".into()
            } else {
                carried.join(", ")
            },
        ]);
        table.max_width(ctx.screen_width());
        ctx.msg(table.render());
    }
}

/// `setdesc`: describe yourself, in the line editor.
pub struct SetDesc;

impl Command for SetDesc {
    fn key(&self) -> &str {
        "setdesc"
    }
    fn help(&self) -> &str {
        "setdesc\n\nDescribe your character in the line editor: type lines, :w to save, \
         :q to quit, :h for the editor's commands."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let Some(me) = ctx.caller() else {
            return ctx.msg("You need to be in the game as a character.");
        };
        let desc = ctx
            .server
            .world
            .get(me)
            .map(|o| o.desc.clone())
            .unwrap_or_default();
        ctx.edit("your description", &desc, EditTarget::Desc(me));
    }
}
