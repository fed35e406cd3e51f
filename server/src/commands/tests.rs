use super::split_args;

#[test]
fn arguments_split_on_spaces_and_keep_quoted_words_together() {
    assert_eq!(split_args("anna secret"), vec!["anna", "secret"]);
    assert_eq!(
        split_args("\"Anna Bell\" secret"),
        vec!["Anna Bell", "secret"]
    );
    assert_eq!(
        split_args("'Anna Bell' \"my pass\""),
        vec!["Anna Bell", "my pass"]
    );
    assert_eq!(split_args("  a   b  "), vec!["a", "b"]);
    assert_eq!(split_args("\"\" x"), vec!["", "x"]);
    assert_eq!(split_args("it's fine"), vec!["it's", "fine"]);
    assert!(split_args("").is_empty());
}

use super::{CmdCtx, CmdSet, Command, Holder, MergeType};
use crate::model::world::{Kind, ObjId};
use crate::runtime::typeclass::{Typeclass, defaults};
use crate::testing::harness::{harness_with, texts_for};
use crate::{Game, NewObject, Server};

struct Climb;

impl Command for Climb {
    fn key(&self) -> &str {
        "climb"
    }
    fn help(&self) -> &str {
        "climb\n\nClimb the tree."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let tree = ctx
            .obj
            .and_then(|o| ctx.server.world.get(o))
            .map(|o| o.key.clone());
        ctx.msg(format!("You climb the {}.", tree.unwrap_or_default()));
    }
}

/// A tree offers `climb` to whoever stands near it.
struct Tree;

impl Typeclass for Tree {
    fn name(&self) -> &str {
        "tree"
    }
    fn kind(&self) -> Kind {
        Kind::Thing
    }
    fn cmdset(&self) -> Option<CmdSet> {
        let mut s = CmdSet::new("TreeCmdSet");
        s.add(Climb);
        Some(s)
    }
    fn locks(&self) -> &str {
        "get:false()"
    }
    fn at_object_creation(&self, server: &mut Server, obj: ObjId) {
        server.world.update(obj, |o| o.set_attr("rings", 100));
    }
    fn return_appearance(&self, server: &Server, obj: ObjId, looker: ObjId) -> String {
        let rings: i64 = server
            .world
            .get(obj)
            .and_then(|o| o.attr("rings"))
            .unwrap_or(0);
        format!(
            "{}\nIt has {rings} rings.",
            defaults::appearance(server, obj, looker)
        )
    }
}

/// A parrot who repeats everything louder.
struct Parrot;

impl Typeclass for Parrot {
    fn name(&self) -> &str {
        "parrot"
    }
    fn kind(&self) -> Kind {
        Kind::Character
    }
    fn at_say(&self, server: &mut Server, speaker: ObjId, message: &str) {
        defaults::say(server, speaker, &message.to_uppercase());
    }
}

struct Lost;

impl Command for Lost {
    fn key(&self) -> &str {
        "__nomatch_command"
    }
    fn help(&self) -> &str {
        ""
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        let raw = ctx.raw.clone();
        ctx.msg(format!("Huh? ({raw})"));
    }
}

fn game() -> Game {
    let mut dark = CmdSet::new("Dark")
        .with_priority(5)
        .with_merge_type(MergeType::Replace);
    dark.add(Lost);
    Game::new().typeclass(Tree).typeclass(Parrot).cmdset(dark)
}

#[tokio::test]
async fn exits_objects_and_system_commands_come_through_the_merge() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, me) = h.account("Ann", &["Builder"]).await;
    h.login(1, a);
    let limbo = h.server.world.start_room;
    let garden = h
        .server
        .create_object(NewObject::new(Kind::Room, "Garden"))
        .unwrap();
    for _ in 0..2 {
        h.server
            .create_object(
                NewObject::new(Kind::Exit, "north")
                    .aliases(["n"])
                    .location(limbo)
                    .destination(garden),
            )
            .unwrap();
    }
    // Two exits named north: a numbered choice.
    let out = h.cmd(1, "north");
    assert!(
        out.contains("More than one command matches 'north'") && out.contains("north-2"),
        "{out}"
    );
    let out = h.cmd(1, "north-2");
    assert!(out.contains("Garden"), "{out}");
    assert_eq!(h.server.world.get(me).unwrap().location, Some(garden));
    assert!(
        h.cmd(1, "n").contains("Command 'n' is not available"),
        "no exit here"
    );

    // An object's typeclass offers its commands; its call lock can take them away.
    let tree = h
        .server
        .create_object(
            NewObject::new(Kind::Thing, "oak")
                .typeclass("tree")
                .location(garden),
        )
        .unwrap();
    assert_eq!(
        h.server.world.get(tree).unwrap().attr::<i64>("rings"),
        Some(100)
    );
    assert_eq!(h.cmd(1, "climb"), "You climb the oak.");
    assert!(h.cmd(1, "look oak").contains("It has 100 rings."));
    assert_eq!(
        h.cmd(1, "get oak"),
        "You can't get that.",
        "the typeclass's own lock"
    );
    h.server.world.update(tree, |o| {
        o.locks.add("call:false()").unwrap();
    });
    assert!(h.cmd(1, "climb").contains("not available"));

    // A higher-priority Replace set with its own no-match command.
    let dark = h.server.game.commands.named["Dark"].as_ref().clone();
    h.server.cmdset_add(Holder::Object(me), dark);
    assert_eq!(
        h.cmd(1, "look"),
        "Huh? (look)",
        "Replace took every command away"
    );
    assert!(h.server.cmdset_remove(Holder::Object(me), "Dark"));
    assert!(h.cmd(1, "look").contains("Garden"));
}

#[tokio::test]
async fn in_a_crowd_only_what_carries_commands_offers_them() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, me) = h.account("Ann", &["Builder"]).await;
    h.login(1, a);
    let here = h.server.world.get(me).unwrap().location.unwrap();
    let crowd: Vec<ObjId> = (0..300)
        .map(|i| {
            h.server
                .create_object(NewObject::new(Kind::Character, format!("Guest {i}")).location(here))
                .unwrap()
        })
        .collect();
    let tree = h
        .server
        .create_object(
            NewObject::new(Kind::Thing, "oak")
                .typeclass("tree")
                .location(here),
        )
        .unwrap();
    assert_eq!(
        h.server.world.offering(here),
        &[tree],
        "the people here carry no commands of their own"
    );
    assert_eq!(h.cmd(1, "climb"), "You climb the oak.");
    assert!(
        h.cmd(1, "look").contains("Guest 299"),
        "a character's own set is not offered"
    );
    // A guest given a set until the reload offers it once its call lock
    // lets others use it (a character's is call:false() by default).
    let guest = crowd[150];
    let dark = h.server.game.commands.named["Dark"].as_ref().clone();
    h.server.cmdset_add(Holder::Object(guest), dark);
    assert!(h.server.world.offering(here).contains(&guest));
    assert!(
        h.cmd(1, "look").contains("Guest 299"),
        "its default call lock"
    );
    h.server
        .world
        .update(guest, |o| o.locks.add("call:true()").unwrap());
    assert_eq!(h.cmd(1, "look"), "Huh? (look)", "the guest's Replace set");
    assert!(h.server.cmdset_remove(Holder::Object(guest), "Dark"));
    assert!(!h.server.world.offering(here).contains(&guest));
    assert!(h.cmd(1, "look").contains("Guest 299"));
    // Named by a stored name, the same; and it follows the guest out.
    h.server
        .cmdset_add_persistent(Holder::Object(guest), "Dark")
        .unwrap();
    assert_eq!(h.cmd(1, "look"), "Huh? (look)");
    let garden = h
        .server
        .create_object(NewObject::new(Kind::Room, "Garden"))
        .unwrap();
    h.server.world.move_to(guest, Some(garden));
    assert!(h.cmd(1, "look").contains("Guest 299"));
    assert_eq!(h.server.world.offering(garden), &[guest]);
}

#[tokio::test]
async fn persistent_cmdsets_survive_a_reload_and_temporary_ones_do_not() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, me) = h.account("Ann", &[]).await;
    h.login(1, a);
    assert!(
        h.server
            .cmdset_add_persistent(Holder::Object(me), "Nope")
            .is_err()
    );
    h.server
        .cmdset_add_persistent(Holder::Session(1), "Dark")
        .unwrap();
    assert_eq!(h.cmd(1, "look"), "Huh? (look)");
    // A reload: the next server knows the session only from what it synced.
    let sync = h.server.sessions.get(1).unwrap().sync.clone();
    let mut next = harness_with(game(), |_| {}).await;
    next.server.world = std::mem::take(&mut h.server.world);
    next.link(tavern_shared::link::ToServer::Sync {
        portal_instance: 7,
        portal_id: 0,
        start_mode: tavern_shared::link::StartMode::Reload,
        sessions: vec![sync],
    });
    assert_eq!(
        next.cmd(1, "look"),
        "Huh? (look)",
        "the session's named set came back"
    );
    assert!(next.server.cmdset_remove(Holder::Session(1), "Dark"));
    next.server.cmdset_add(
        Holder::Session(1),
        CmdSet::new("Temp")
            .with_priority(9)
            .with_merge_type(MergeType::Replace),
    );
    assert!(
        next.cmd(1, "look")
            .contains("Command 'look' is not available")
    );
}

#[tokio::test]
async fn typeclass_hooks_run_and_unknown_typeclasses_fall_back() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, me) = h.account("Polly", &[]).await;
    h.server.world.update(me, |o| o.typeclass = "parrot".into());
    let (b, _) = h.account("Bo", &[]).await;
    h.login(1, a);
    h.login(2, b);
    let frames = h.input(1, "say hello");
    assert!(
        texts_for(&frames, 1)
            .join("")
            .contains("You say, \"HELLO|n\"")
    );
    assert!(
        texts_for(&frames, 2)
            .join("")
            .contains("Polly says, \"HELLO|n\"")
    );
    h.server
        .world
        .update(me, |o| o.typeclass = "gone_from_the_game".into());
    let frames = h.input(1, "say hello");
    assert!(
        texts_for(&frames, 2)
            .join("")
            .contains("Polly says, \"hello|n\""),
        "the default character"
    );
}

#[tokio::test]
async fn builder_commands_are_refused_to_players_and_help_lists_only_what_you_may_use() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, _) = h.account("Pat", &[]).await;
    let (b, _) = h.account("Bea", &["Builder"]).await;
    h.login(1, a);
    h.login(2, b);
    assert!(
        h.cmd(1, "dig House")
            .contains("Command 'dig' is not available")
    );
    let help = h.cmd(1, "help");
    assert!(
        help.contains("look") && !help.contains("dig") && !help.contains("reload"),
        "{help}"
    );
    let help = h.cmd(2, "help");
    assert!(
        help.contains("|yBuilding|n") && help.contains("dig") && !help.contains("reload"),
        "{help}"
    );
    // The keys come in lines that fit the screen, a wrapped one indented,
    // on a narrow screen as on the usual 80 columns; none is lost.
    let listed = |help: &str| -> Vec<String> {
        let mut keys: Vec<String> = help
            .lines()
            .filter(|l| l.starts_with("  "))
            .flat_map(|l| l.split(',').map(|k| k.trim().to_string()))
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort();
        keys
    };
    let wide = listed(&help);
    assert!(wide.len() > 30, "{wide:?}");
    if let Some(s) = h.server.sessions.get_mut(2) {
        s.sync.flags.screen_width = Some(30);
    }
    let narrow = h.cmd(2, "help");
    assert_eq!(listed(&narrow), wide);
    for (w, text) in [(80, &help), (30, &narrow)] {
        for line in text.lines().filter(|l| l.starts_with("  ")) {
            assert!(tavern_shared::text::width(line) <= w, "{line:?} at {w}");
        }
    }
    assert!(
        narrow.lines().filter(|l| l.starts_with("  ")).count()
            > help.lines().filter(|l| l.starts_with("  ")).count()
    );
    // A category: one line for each of its commands, cut to the screen.
    for w in [40usize, 80] {
        if let Some(s) = h.server.sessions.get_mut(2) {
            s.sync.flags.screen_width = Some(w as u16);
        }
        let cat = h.cmd(2, "help building");
        let rows: Vec<&str> = cat
            .lines()
            .skip(1)
            .take_while(|l| !l.trim().is_empty())
            .collect();
        assert!(rows.len() > 10, "{cat}");
        for row in rows {
            assert!(
                row.trim_start().starts_with("|w"),
                "a row of its own: {row:?} at {w}"
            );
            assert!(tavern_shared::text::width(row) <= w, "{row:?} at {w}");
        }
    }
    assert!(h.cmd(2, "help dig").contains("dig[/teleport] <room>"));
    assert!(h.cmd(1, "help dig").contains("No help found for 'dig'"));
    // Stored topics: written durably, then readable.
    let _ = h.input(2, "sethelp rules;Game = Be kind.");
    let done = h.complete().await;
    assert!(
        texts_for(&done, 2)
            .join("")
            .contains("The help topic 'rules' was saved.")
    );
    assert!(h.cmd(1, "help rules").contains("Be kind."));
    let stored = crate::store::load_help(&h.server.db).await.unwrap();
    assert_eq!(stored.len(), 1);
}

#[tokio::test]
async fn builders_build_and_everything_is_written_to_the_database() {
    let mut h = harness_with(game(), |_| {}).await;
    let (b, me) = h.account("Bea", &["Builder"]).await;
    h.login(1, b);
    let out = h.cmd(1, "dig Kitchen;kit = east;e, west;w");
    assert!(
        out.contains("Created room Kitchen(#") && out.contains("Created Exit from Limbo"),
        "{out}"
    );
    assert!(h.cmd(1, "east").contains("Kitchen"));
    let kitchen = h.server.world.get(me).unwrap().location.unwrap();
    assert!(
        h.cmd(1, "create pot;kettle:tree")
            .contains("You create a new tree: pot(#")
    );
    assert!(
        h.cmd(1, "set pot/colour = \"blue\"")
            .contains("Created attribute pot(")
    );
    assert!(h.cmd(1, "set pot/weight = 3").contains("= 3"));
    // A name with markup in it is shown as typed, not obeyed.
    let out = h.cmd(1, "set pot/|rhot = 1");
    assert!(out.ends_with("/||rhot = 1"), "{out}");
    assert!(h.cmd(1, "examine pot").contains("\n ||rhot = 1"));
    let out = h.cmd(1, "set pot/|rhot =");
    assert!(
        out.starts_with("Deleted attribute pot(") && out.ends_with("/||rhot."),
        "{out}"
    );
    let out = h.cmd(1, "set pot/|rhot =");
    assert!(out.ends_with("has no attribute '||rhot'."), "{out}");
    // A value with no attribute's name to set is refused, not ignored.
    for line in ["set pot/ = 3", "set pot = 3", "set pot/ =", "set pot ="] {
        let out = h.cmd(1, line);
        assert!(out.starts_with("Which attribute?"), "{line}: {out}");
    }
    assert!(h.cmd(1, "set pot").contains("weight = 3"), "listed");
    assert!(h.cmd(1, "set pot/").contains("weight = 3"), "listed");
    assert!(
        h.cmd(1, "desc here = Warm and smoky.")
            .contains("The description was set on Kitchen")
    );
    assert!(
        h.cmd(1, "tag pot = cookware:kind")
            .contains("Added tag 'cookware:kind'")
    );
    assert!(
        h.cmd(1, "alias pot = cauldron")
            .contains("set to 'kettle, cauldron'")
    );
    assert!(
        h.cmd(1, "lock pot = get:perm(Admin)")
            .contains("Added lock")
    );
    assert!(
        h.cmd(1, "lock pot = get:perm(Admin")
            .contains("Lock not added")
    );
    let ex = h.cmd(1, "examine cauldron");
    for want in [
        "pot",
        "tree",
        "colour = \"blue\"",
        "cookware:kind",
        "get:perm(Admin)",
        "kettle, cauldron",
    ] {
        assert!(ex.contains(want), "examine shows {want}: {ex}");
    }
    assert!(h.cmd(1, "teleport Limbo").contains("Teleported Bea("));
    assert!(h.cmd(1, "tel pot = here").contains("Teleported pot("));
    assert!(
        h.cmd(1, "typeclass pot = thing")
            .contains("changed typeclass from tree to thing")
    );
    // Everything above is in the database once flushed.
    h.written().await;
    let rows = crate::store::load_objects(&h.server.db).await.unwrap();
    let pot = rows.iter().find(|r| r.key == "pot").expect("pot saved");
    assert!(
        pot.attributes.contains("blue")
            && pot.tags.contains("cookware")
            && pot.aliases.contains("cauldron")
    );
    assert_eq!(pot.location_id, Some(h.server.world.start_room));
    assert_eq!(pot.typeclass, "thing");
    assert!(
        rows.iter()
            .any(|r| r.key == "Kitchen" && r.description == "Warm and smoky.")
    );
    // Destroying a room sends its contents home and takes the exits to it along.
    assert!(h.cmd(1, "destroy Kitchen").contains("was destroyed"));
    h.written().await;
    let rows = crate::store::load_objects(&h.server.db).await.unwrap();
    assert!(
        !rows.iter().any(|r| r.id == kitchen || r.key == "east"),
        "room and exit gone"
    );
    assert!(
        !rows.iter().any(|r| r.key == "west"),
        "its own exits went with it"
    );
    assert!(h.cmd(1, "destroy Limbo").contains("cannot be destroyed"));
}

#[tokio::test]
async fn puppeting_follows_the_multisession_mode_and_the_puppet_lock() {
    use crate::testing::harness::disconnected;
    // Mode 0: a new login replaces the old session.
    let mut h = crate::testing::harness::harness().await;
    let (a, _) = h.account("Solo", &[]).await;
    h.login(1, a);
    h.connect(2);
    let acc = h.server.world.accounts[&a].clone();
    h.server.login(2, acc);
    let frames = h.input(2, "look");
    assert_eq!(
        disconnected(&frames, 1),
        Some(Some(
            crate::runtime::actions::LOGGED_IN_ELSEWHERE_MSG.to_string()
        ))
    );
    assert!(h.server.sessions.get(1).is_none());

    // Mode 2 with one puppet at a time: a second character waits its turn.
    let mut h = harness_with(game(), |s| {
        s.server.multisession_mode = 2;
        s.server.max_nr_characters = 2;
    })
    .await;
    let (a, first) = h.account("Ada", &[]).await;
    let (other_acc, other) = h.account("Zed", &[]).await;
    h.login(1, a);
    h.login(3, other_acc);
    assert!(
        h.cmd(1, "charcreate Byron")
            .contains("Created new character Byron")
    );
    h.connect(2);
    let acc = h.server.world.accounts[&a].clone();
    h.server.login(2, acc);
    let frames = h.input(1, "look");
    assert!(
        texts_for(&frames, 1)
            .join("")
            .contains("is now acted from another of your sessions")
    );
    assert_eq!(h.server.session_puppet(2), Some(first));
    assert_eq!(h.server.session_puppet(1), None);
    let out = h.cmd(1, "ic Byron");
    assert!(
        out.contains("already puppeting the max number of characters"),
        "{out}"
    );
    // Another account's character: not by name, and not by lock.
    assert!(
        h.cmd(1, "ic Zed")
            .contains("That is not a valid character choice.")
    );
    assert_eq!(
        h.server.puppet(1, other),
        Err("You don't have permission to puppet 'Zed'.".to_string())
    );
    assert_eq!(h.server.session_puppet(3), Some(other), "Zed keeps playing");
}

/// Counts logins on the account, as an account typeclass would.
struct Counted;

impl crate::runtime::typeclass::AccountTypeclass for Counted {
    fn name(&self) -> &str {
        "counted"
    }
    fn at_post_login(
        &self,
        server: &mut Server,
        account: crate::model::world::AccountId,
        sessid: tavern_shared::SessId,
    ) {
        server.world.update_account(account, |a| {
            let n = a.attr::<i64>("logins").unwrap_or(0) + 1;
            a.db.insert("logins".into(), n.into());
        });
        defaults::post_login(server, account, sessid);
    }
}

#[tokio::test]
async fn account_and_admin_commands_do_what_they_say() {
    let mut h = harness_with(game().account_typeclass(Counted), |s| {
        s.server.max_nr_characters = 2
    })
    .await;
    let (a, _) = h.account("Ann", &[]).await;
    let (adm, _) = h.account("Boss", &["Admin"]).await;
    h.login(1, a);
    h.login(2, adm);
    assert_eq!(
        h.server.world.accounts[&a].attr::<i64>("logins"),
        Some(1),
        "the account hook ran"
    );

    // password: checked, hashed and stored before the player hears of it.
    let _ = h.input(1, "password wrong = newpass1");
    let done = h.complete().await;
    assert!(
        texts_for(&done, 1)
            .join("")
            .contains("The specified old password isn't correct.")
    );
    let _ = h.input(1, "password secret = newpass1");
    let done = h.complete().await;
    assert!(texts_for(&done, 1).join("").contains("Password changed."));
    let row = crate::store::load_account(&h.server.db, a)
        .await
        .unwrap()
        .unwrap();
    assert!(
        crate::runtime::passwords::verify_password(
            &h.server.settings.security,
            "newpass1".into(),
            Some(row.password_hash)
        )
        .await
    );

    // charcreate / chardelete, with a confirmation.
    assert!(
        h.cmd(1, "charcreate Extra = A spare.")
            .contains("Created new character Extra")
    );
    assert!(h.cmd(1, "charcreate Third").contains("maximum of 2"));
    h.cmd(1, "ooc");
    let ooc = h.cmd(1, "look");
    assert!(
        ooc.contains("Account |gAnn|n (you are Out-of-Character)") && ooc.contains("Extra"),
        "{ooc}"
    );
    assert!(h.cmd(1, "ic Ann").contains("You become |cAnn|n."));
    assert!(
        h.cmd(1, "chardelete Extra")
            .contains("This will permanently destroy 'Extra'")
    );
    assert!(h.cmd(1, "no").contains("Deletion was aborted."));
    h.cmd(1, "chardelete Extra");
    assert!(
        h.cmd(1, "yes")
            .contains("Character 'Extra' was permanently deleted.")
    );
    assert!(h.server.world.objects().all(|o| o.key != "Extra"));

    // who, server, perm, boot.
    assert!(h.cmd(1, "who").contains("2 unique accounts logged in."));
    assert!(
        h.cmd(1, "server")
            .contains("Command 'server' is not available")
    );
    let status = h.cmd(2, "server");
    assert!(
        status.contains("Sessions:   2 (2 logged in)") && status.contains("Memory:"),
        "{status}"
    );
    assert!(
        h.cmd(2, "perm *Ann = Builder")
            .contains("Permission 'Builder' given to Ann (the Account).")
    );
    assert!(
        h.cmd(2, "perm *Ann = Developer").contains("not allowed"),
        "above the giver's own"
    );
    for empty in ["perm *Ann =", "perm *Ann = , ,", "perm/del *Ann = "] {
        let said = h.cmd(2, empty);
        assert!(
            said.contains("No permission given for Ann"),
            "{empty}: {said}"
        );
    }
    assert!(
        h.cmd(2, "perm *Ann").contains("Builder"),
        "nothing was taken"
    );
    assert!(
        h.cmd(1, "dig Shed").contains("Created room Shed"),
        "Ann builds now"
    );
    assert!(
        h.cmd(2, "perm/del *Ann = Builder")
            .contains("was removed from Ann")
    );
    assert!(
        h.cmd(1, "dig Shed")
            .contains("Command 'dig' is not available")
    );
    let frames = h.input(2, "boot Ann : too loud");
    assert_eq!(
        crate::testing::harness::disconnected(&frames, 1),
        Some(Some(
            "You have been disconnected by Boss.\nReason given: too loud".into()
        ))
    );
    h.written().await;
    let row = crate::store::load_account(&h.server.db, a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.permissions, r#"["Player"]"#,
        "permission changes are stored"
    );
    assert!(row.attributes.contains("\"logins\":1"));
}

#[tokio::test]
async fn changing_what_kind_an_object_is_takes_control_spares_occupied_rooms_and_resets_locks() {
    let mut h = harness_with(game(), |_| {}).await;
    let (b, me) = h.account("Bea", &["Builder"]).await;
    h.login(1, b);
    let (d, _) = h.account("Dev", &["Developer"]).await;
    h.login(2, d);
    let limbo = h.server.world.start_room;
    // A Builder may change a thing to another thing, not a room to a character.
    assert!(
        h.cmd(1, "create rock")
            .contains("You create a new thing: rock")
    );
    assert!(
        h.cmd(1, "typeclass rock = tree")
            .contains("changed typeclass from thing to tree")
    );
    let out = h.cmd(1, "typeclass here = character");
    assert!(out.contains("changing its kind takes control"), "{out}");
    assert_eq!(h.server.world.get(limbo).unwrap().kind, Kind::Room);
    // Not even a Developer turns a room with people in it into something else.
    let out = h.cmd(2, "typeclass here = character");
    assert!(
        out.contains("a room with people in it stays a room"),
        "{out}"
    );
    // Everyone still plays: no second set of commands from the room.
    assert!(h.cmd(1, "look").contains("Limbo"));
    assert!(!h.cmd(1, "look").contains("More than one command"));
    // An empty room may become a thing, and gets a thing's locks.
    assert!(h.cmd(2, "dig Attic").contains("Created room Attic"));
    let out = h.cmd(2, "typeclass Attic = thing");
    assert!(
        out.contains("changed typeclass from room to thing"),
        "{out}"
    );
    let attic = h
        .server
        .world
        .objects()
        .find(|o| o.key == "Attic")
        .map(|o| o.id)
        .unwrap();
    let locks = h.server.world.get(attic).unwrap().locks.to_string();
    assert!(locks.contains("get:all()"), "a thing's locks: {locks}");
    let _ = me;
}

#[test]
fn times_and_spans_read_as_people_read_them() {
    use crate::commands::{span_text, time_text};
    assert_eq!(time_text(0), "1970-01-01 00:00:00.000 UTC");
    assert_eq!(time_text(1_764_944_602_125), "2025-12-05 14:23:22.125 UTC");
    assert_eq!(span_text(-5), "0s");
    assert_eq!(span_text(45_999), "45s");
    assert_eq!(span_text(125_000), "2m 05s");
    assert_eq!(span_text(3_720_000), "1h 02m");
    assert_eq!(span_text(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
}

/// A garden north of Limbo, with exits both ways: Limbo, the garden, and
/// the exit north.
fn garden_north_of_limbo(h: &mut crate::testing::harness::LinkHarness) -> (ObjId, ObjId, ObjId) {
    let limbo = h.server.world.start_room;
    let garden = h
        .server
        .create_object(NewObject::new(Kind::Room, "Garden"))
        .unwrap();
    let [north, _] = [("north", limbo, garden), ("south", garden, limbo)].map(|(key, from, to)| {
        h.server
            .create_object(
                NewObject::new(Kind::Exit, key)
                    .location(from)
                    .destination(to),
            )
            .unwrap()
    });
    (limbo, garden, north)
}

/// Merges the command handler made or looked up so far.
fn merges(h: &crate::testing::harness::LinkHarness) -> u64 {
    let c = h.server.cmdset_cache.lock().unwrap();
    c.hits + c.misses
}

#[tokio::test]
async fn a_remembered_merge_lasts_while_players_walk_and_goes_when_what_it_came_from_changes() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, me) = h.account("Ann", &[]).await;
    let (b, bob) = h.account("Bob", &[]).await;
    h.login(1, a);
    h.login(2, b);
    let (limbo, garden, north) = garden_north_of_limbo(&mut h);
    assert!(h.cmd(1, "look").contains("north"));
    let (epoch, asked) = (h.server.world.cmdset_epoch(), merges(&h));
    // Someone else walking, and attributes changing, leave the merge good:
    // the next line takes it without collecting or merging a set.
    h.server.world.move_to(bob, Some(garden));
    h.server.world.set_attr(me, "hp", 7);
    assert_eq!(h.server.world.cmdset_epoch(), epoch);
    assert!(h.cmd(1, "look").contains("north"));
    assert_eq!(merges(&h), asked, "the remembered merge was used");
    // Nor do the commands players type most: looking, talking, walking.
    assert!(h.cmd(1, "north").contains("Garden"));
    let _ = h.cmd(1, "say hi");
    let _ = h.cmd(1, "help");
    assert!(h.cmd(1, "south").contains("Limbo"));
    assert_eq!(h.server.world.cmdset_epoch(), epoch);
    // Nor does building what offers no commands: a thing made and
    // described, the room described, an exit to nowhere made.
    let asked = merges(&h);
    let stone = h
        .server
        .create_object(NewObject::new(Kind::Thing, "stone").location(limbo))
        .unwrap();
    h.server.world.update(stone, |o| o.desc = "Grey.".into());
    h.server.world.update(limbo, |o| o.desc = "Misty.".into());
    h.server
        .create_object(NewObject::new(Kind::Exit, "nowhere").location(limbo))
        .unwrap();
    assert_eq!(h.server.world.cmdset_epoch(), epoch);
    assert!(h.cmd(1, "look").contains("stone"));
    assert_eq!(merges(&h), asked, "the remembered merge was used");
    // What does offer commands changes it: a set given to the stone, and
    // taken away again.
    h.server
        .world
        .update(stone, |o| o.cmdsets.push("Dark".into()));
    assert_ne!(h.server.world.cmdset_epoch(), epoch);
    assert_eq!(h.cmd(1, "look"), "Huh? (look)");
    let epoch = h.server.world.cmdset_epoch();
    h.server.world.update(stone, |o| o.cmdsets.clear());
    assert_ne!(h.server.world.cmdset_epoch(), epoch);
    assert!(h.cmd(1, "look").contains("stone"));
    // A change of kind or typeclass (a puppet's own commands follow them),
    // as of anything indexed, counts.
    let epoch = h.server.world.cmdset_epoch();
    h.server.world.update(stone, |o| o.kind = Kind::Character);
    assert_ne!(h.server.world.cmdset_epoch(), epoch);

    // Walking takes the new place's commands.
    assert!(h.cmd(1, "north").contains("Garden"));
    assert!(h.cmd(1, "north").contains("not available"));
    assert!(h.cmd(1, "south").contains("Limbo"));
    // An exit renamed answers to its new name at once.
    h.server.world.update(north, |o| o.key = "up".into());
    assert!(h.cmd(1, "north").contains("not available"));
    assert!(h.cmd(1, "up").contains("Garden"));

    // A set offered behind a `call` lock that reads an attribute: an
    // attribute change leaves the epoch, so such a merge is never remembered.
    let oak = h
        .server
        .create_object(
            NewObject::new(Kind::Thing, "oak")
                .typeclass("tree")
                .location(garden),
        )
        .unwrap();
    h.server
        .world
        .update(oak, |o| o.locks.add("call:attr(climber)").unwrap());
    assert!(h.cmd(1, "climb").contains("not available"));
    h.server.world.set_attr(me, "climber", true);
    assert_eq!(h.cmd(1, "climb"), "You climb the oak.");
    h.server.world.del_attr(me, "climber");
    assert!(h.cmd(1, "climb").contains("not available"));

    // An object that offers commands carried in or out.
    h.server
        .world
        .update(oak, |o| o.locks.add("call:true()").unwrap());
    assert_eq!(h.cmd(1, "climb"), "You climb the oak.");
    h.server.world.move_to(oak, Some(limbo));
    assert!(h.cmd(1, "climb").contains("not available"));
    // An exit carried into the room where a remembered merge is in use.
    let gate = h
        .server
        .create_object(
            NewObject::new(Kind::Exit, "gate")
                .location(limbo)
                .destination(limbo),
        )
        .unwrap();
    assert!(h.cmd(1, "gate").contains("not available"));
    assert!(h.cmd(1, "look").contains("Garden"));
    h.server.world.move_to(gate, Some(garden));
    assert!(h.cmd(1, "gate").contains("Limbo"));
    // Sets added to the session or the account, and taken away.
    assert!(h.cmd(1, "up").contains("Garden"));
    let dark = h.server.game.commands.named["Dark"].as_ref().clone();
    h.server.cmdset_add(Holder::Session(1), dark);
    assert_eq!(h.cmd(1, "look"), "Huh? (look)");
    assert!(h.server.cmdset_remove(Holder::Session(1), "Dark"));
    assert!(h.cmd(1, "look").contains("Garden"));
    h.server
        .cmdset_add_persistent(Holder::Account(a), "Dark")
        .unwrap();
    assert_eq!(h.cmd(1, "look"), "Huh? (look)");
    assert!(h.server.cmdset_remove(Holder::Account(a), "Dark"));
    assert!(h.cmd(1, "look").contains("Garden"));
    // Walking reuses the player's own layers; what changes them is seen
    // wherever the player walks next: a set on the character that hides
    // exits, added while the player stands in the garden, holds in Limbo
    // (no exit there answers), and when taken away, exits answer again.
    let mut walls = CmdSet::new("Walls").with_priority(2);
    walls.no_exits = Some(true);
    h.server.cmdset_add(Holder::Object(me), walls);
    assert!(h.cmd(1, "south").contains("not available"));
    h.server.world.move_to(me, Some(limbo));
    assert!(h.cmd(1, "up").contains("not available"));
    assert!(h.cmd(1, "look").contains("Limbo"), "its own commands stay");
    assert!(h.server.cmdset_remove(Holder::Object(me), "Walls"));
    assert!(h.cmd(1, "up").contains("Garden"));
    assert!(h.cmd(1, "south").contains("Limbo"));
    // Another player's remembered merge is theirs: Bob in the garden.
    assert!(h.cmd(2, "south").contains("Limbo"));
    assert_eq!(h.cmd(2, "climb"), "You climb the oak.");
}

#[tokio::test]
async fn a_place_shares_its_merge_with_whoever_brings_nothing_of_their_own() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, ann) = h.account("Ann", &[]).await;
    let (b, _) = h.account("Bob", &[]).await;
    h.login(1, a);
    h.login(2, b);
    let (limbo, _, _) = garden_north_of_limbo(&mut h);
    // Ann's lines in Limbo and in the garden leave both places' merges
    // remembered; Bob, with the same sets of his own, takes them without
    // a merge made or looked up.
    assert!(h.cmd(1, "north").contains("Garden"));
    assert!(h.cmd(1, "south").contains("Limbo"));
    let asked = merges(&h);
    assert!(h.cmd(2, "north").contains("Garden"));
    assert!(h.cmd(2, "south").contains("Limbo"));
    assert_eq!(merges(&h), asked, "Bob took the places' merges");
    assert!(h.cmd(2, "climb").contains("not available"));

    // What a player carries is theirs alone. Ann with the oak in hand
    // climbs it in the garden; Bob, coming after her, does not.
    let oak = h
        .server
        .create_object(
            NewObject::new(Kind::Thing, "oak")
                .typeclass("tree")
                .location(ann),
        )
        .unwrap();
    assert!(h.cmd(1, "north").contains("Garden"));
    assert_eq!(h.cmd(1, "climb"), "You climb the oak.");
    assert!(h.cmd(2, "north").contains("Garden"));
    assert!(h.cmd(2, "climb").contains("not available"));
    // And the other way round: Bob's merge of the garden is not Ann's.
    assert!(h.cmd(2, "south").contains("Limbo"));
    assert!(h.cmd(1, "south").contains("Limbo"));
    assert!(h.cmd(2, "north").contains("Garden"));
    assert!(h.cmd(1, "north").contains("Garden"));
    assert_eq!(h.cmd(1, "climb"), "You climb the oak.");
    assert!(h.cmd(2, "climb").contains("not available"));
    h.server.world.move_to(oak, Some(limbo));
    // An exit carried (a portal in hand) asks no lock and is offered to
    // its carrier alone: the merge Ann makes of the garden with it is not
    // Bob's there.
    h.server
        .create_object(
            NewObject::new(Kind::Exit, "portal")
                .location(ann)
                .destination(limbo),
        )
        .unwrap();
    assert!(h.cmd(1, "look").contains("Garden"));
    assert!(h.cmd(2, "portal").contains("not available"));
    assert!(h.cmd(1, "portal").contains("Limbo"));
}

#[tokio::test]
async fn bare_help_is_remembered_only_for_what_the_reader_may_read() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, me) = h.account("Pat", &[]).await;
    let (b, _) = h.account("Bea", &["Builder"]).await;
    h.login(1, a);
    h.login(2, b);
    let first = h.cmd(1, "help");
    assert!(!first.contains("dig"), "{first}");
    assert_eq!(h.cmd(1, "help"), first, "the same text again");
    // Elsewhere, with other exits: the same text, and no other one kept.
    let cellar = h
        .server
        .create_object(NewObject::new(Kind::Room, "Cellar"))
        .unwrap();
    let limbo = h.server.world.start_room;
    h.server
        .create_object(
            NewObject::new(Kind::Exit, "up")
                .location(cellar)
                .destination(limbo),
        )
        .unwrap();
    h.server.world.move_to(me, Some(cellar));
    assert_eq!(h.cmd(1, "help"), first);
    assert_eq!(h.server.help_indexes.len(), 1);
    // Promoted: the same commands, but the locks now let Pat use more.
    h.server
        .world
        .update_account(a, |acc| acc.permissions.push("Builder".into()));
    let promoted = h.cmd(1, "help");
    assert!(promoted.contains("dig"), "{promoted}");
    // A stored topic, readable by builders only, appears once it is saved
    // and goes when it is deleted; who may read it decides, not who asked first.
    let _ = h.input(2, "sethelp rules;Lore;view:perm(Builder) = Be kind.");
    let done = h.complete().await;
    assert!(texts_for(&done, 2).join("").contains("was saved"));
    assert!(h.cmd(1, "help").contains("|yLore|n"));
    h.server
        .world
        .update_account(a, |acc| acc.permissions.clear());
    let demoted = h.cmd(1, "help");
    assert!(
        !demoted.contains("Lore") && !demoted.contains("dig"),
        "{demoted}"
    );
    assert_eq!(demoted, first);
    assert!(h.cmd(2, "help").contains("|yLore|n"));
    // Saved again under another category: the same topics readable, a new text.
    let _ = h.input(2, "sethelp rules;Manners;view:perm(Builder) = Be kind.");
    let done = h.complete().await;
    assert!(texts_for(&done, 2).join("").contains("was saved"));
    let again = h.cmd(2, "help");
    assert!(
        again.contains("|yManners|n") && !again.contains("Lore"),
        "{again}"
    );
    let _ = h.input(2, "sethelp/delete rules");
    let done = h.complete().await;
    assert!(texts_for(&done, 2).join("").contains("Deleted"));
    assert!(!h.cmd(2, "help").contains("Manners"));
}

/// A room's players are found in the world's index of those played, not by
/// walking the room: it must stay true through logins, `ooc`/`ic`, moves,
/// disconnections, and changes made in the same event.
#[tokio::test]
async fn a_room_of_many_things_hears_exactly_its_players() {
    use tavern_shared::link::ToServer;
    let mut h = harness_with(game(), |_| {}).await;
    let (a, ann) = h.account("Ann", &[]).await;
    let (b, bo) = h.account("Bo", &[]).await;
    h.login(1, a);
    h.login(2, b);
    let limbo = h.server.world.start_room;
    let inn = h
        .server
        .create_object(NewObject::new(Kind::Room, "Inn"))
        .unwrap();
    for _ in 0..300 {
        let pebble = NewObject::new(Kind::Thing, "pebble").location(limbo);
        h.server.create_object(pebble).unwrap();
    }
    let mut both = vec![ann, bo];
    both.sort_unstable();
    assert_eq!(h.server.world.played_in(limbo), both.as_slice());
    let heard = |h: &mut crate::testing::harness::LinkHarness, line: &str, who| {
        let frames = h.input(1, line);
        texts_for(&frames, who).join("\n")
    };
    let one = heard(&mut h, "say one", 2);
    assert!(one.contains("Ann says, \"one"), "{one}");
    // Out of character, Bo is no longer in the room's audience.
    h.cmd(2, "ooc");
    assert_eq!(h.server.world.played_in(limbo), &[ann]);
    assert!(!heard(&mut h, "say two", 2).contains("two"));
    h.cmd(2, "ic Bo");
    assert_eq!(h.server.world.played_in(limbo), both.as_slice());
    assert!(heard(&mut h, "say three", 2).contains("three"));
    // Moved by the world: heard where it is, not where it was.
    h.server.world.move_to(bo, Some(inn));
    assert_eq!(h.server.sessions_in(limbo), vec![1]);
    assert_eq!(h.server.sessions_in(inn), vec![2]);
    assert!(!heard(&mut h, "say four", 2).contains("four"));
    h.server.world.move_to(bo, Some(limbo));
    // Changed within one event, before the world's index is told: the
    // sessions lent out count as they are now.
    h.server.sessions.get_mut(2).unwrap().sync.puppet_id = None;
    assert_eq!(h.server.sessions_in(limbo), vec![1]);
    assert_eq!(h.server.played_in(limbo), vec![ann]);
    h.server.sessions.get_mut(2).unwrap().sync.puppet_id = Some(bo);
    assert_eq!(h.server.sessions_in(limbo), vec![1, 2]);
    assert_eq!(h.server.played_in(limbo), both);
    h.server.settle_sessions();
    assert_eq!(h.server.world.played_in(limbo), both.as_slice());
    // A connection gone: its character is no longer played (it is also
    // taken out of the world, as a player who quits is).
    h.link(ToServer::Disconnected { sessid: 2 });
    assert_eq!(h.server.world.played_in(limbo), &[ann]);
    assert_eq!(h.server.sessions_in(limbo), vec![1]);
}

#[tokio::test]
async fn a_room_lists_only_what_its_looker_may_view() {
    let mut h = harness_with(game(), |_| {}).await;
    let (a, _) = h.account("Ann", &[]).await;
    // A Builder account: a listing asks as the character, with its
    // player's permissions, as `look lantern` does.
    let (b, _) = h.account("Bo", &["Builder"]).await;
    h.login(1, a);
    h.login(2, b);
    let limbo = h.server.world.start_room;
    let mut made = Vec::new();
    for (key, locks) in [
        ("lantern", "view:perm(Builder)"),
        ("ghost", "view:false()"),
        ("rock", ""),
    ] {
        let mut new = NewObject::new(Kind::Thing, key).location(limbo);
        if !locks.is_empty() {
            new = new.locks(locks);
        }
        made.push(h.server.create_object(new).unwrap());
    }
    let ann = h.cmd(1, "look");
    assert!(ann.contains("rock"), "{ann}");
    assert!(!ann.contains("lantern") && !ann.contains("ghost"), "{ann}");
    let bo = h.cmd(2, "look");
    assert!(bo.contains("rock") && bo.contains("lantern"), "{bo}");
    assert!(!bo.contains("ghost"), "{bo}");
    assert!(h.cmd(2, "look lantern").contains("lantern"));
    // Quelled, the account's Builder no longer counts, in either.
    h.cmd(2, "quell");
    let bo = h.cmd(2, "look");
    assert!(bo.contains("rock") && !bo.contains("lantern"), "{bo}");
    assert!(h.cmd(2, "look lantern").contains("Could not find"));
    h.cmd(2, "unquell");
    assert!(h.cmd(2, "look").contains("lantern"));
    // A superuser sees all, the ghost too; quelled, as a player does.
    let (c, _) = h.account("Cy", &[]).await;
    h.server.world.accounts.get_mut(&c).unwrap().is_superuser = true;
    h.login(3, c);
    let cy = h.cmd(3, "look");
    assert!(
        cy.contains("lantern") && cy.contains("ghost") && cy.contains("rock"),
        "{cy}"
    );
    h.cmd(3, "quell");
    let cy = h.cmd(3, "look");
    assert!(cy.contains("rock") && !cy.contains("ghost"), "{cy}");
    // The lock taken away: everyone sees it.
    h.server.world.update(made[0], |o| {
        o.locks.remove("view");
    });
    assert!(h.cmd(1, "look").contains("lantern"));
}
