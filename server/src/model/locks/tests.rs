//! Lock strings: parsing, and evaluation over a world.

use super::*;
use crate::model::world::World;

#[test]
fn lock_strings_parse_with_precedence_and_round_trip() {
    let l = LockSet::parse("get:all(); edit:perm(Builder) or id(5) and not attr(cursed)").unwrap();
    assert_eq!(
        l.to_string(),
        "get:all();edit:perm(Builder) or id(5) and not attr(cursed)"
    );
    let LockExpr::Any(terms) = &l.get("edit").unwrap().expr else {
        panic!("or binds loosest")
    };
    let [left, right] = &terms[..] else {
        panic!("two terms: {terms:?}")
    };
    assert!(matches!(left, LockExpr::Func { name, .. } if &**name == "perm"));
    assert!(
        matches!(right, LockExpr::All(t) if matches!(&t[..], [LockExpr::Func { .. }, LockExpr::Not(_)]))
    );
    let l = LockSet::parse("x:(true() or false()) and false()").unwrap();
    assert!(
        matches!(&l.get("x").unwrap().expr, LockExpr::All(t) if matches!(&t[..], [LockExpr::Any(_), LockExpr::Func { .. }]))
    );
    // A chain of ors (a character's puppet lock) is one list of four.
    let l =
        LockSet::parse("puppet:id(#12) or pid(#3) or perm(Developer) or pperm(Developer)").unwrap();
    assert!(matches!(&l.get("puppet").unwrap().expr, LockExpr::Any(t) if t.len() == 4));
    let LockExpr::Func { args, .. } = &LockSet::parse("a:attr(colour, 'deep red')")
        .unwrap()
        .get("a")
        .unwrap()
        .expr
        .clone()
    else {
        panic!()
    };
    assert_eq!(&args[..], &["colour".to_string(), "deep red".to_string()]);
}

#[test]
fn bad_lock_strings_are_refused_with_a_reason() {
    for bad in [
        "nocolon",
        "get:",
        "get:perm(Builder",
        "get:perm(Builder) or",
        "get:perm Builder",
        "get:(all()",
        "get:all() all()",
        ":all()",
        "get:all()$",
    ] {
        assert!(LockSet::parse(bad).is_err(), "{bad} should be refused");
    }
    let deep = format!("x:{}all(){}", "(".repeat(40), ")".repeat(40));
    assert!(LockSet::parse(&deep).is_err(), "nesting is bounded");
    assert!(matches!(
        LockSet::parse(&"x".repeat(3000)),
        Err(LockError::TooLong)
    ));
    let mut l = LockSet::parse("get:all();view:all()").unwrap();
    l.add("get:false()").unwrap();
    assert_eq!(l.to_string(), "view:all();get:false()", "one lock per type");
    assert!(l.remove("GET") && !l.remove("get"));
}

#[test]
fn the_permission_hierarchy_is_ordered_and_plural_tolerant() {
    assert_eq!(permission_level("player"), Some(0));
    assert_eq!(permission_level("Builders"), Some(2));
    assert_eq!(permission_level("DEVELOPER"), Some(4));
    assert_eq!(permission_level("wizard"), None);
}

/// A world with a player (account 1, #10), a builder (account 2, #11), a
/// superuser (account 3, #12), and a box the player carries (#13).
fn world() -> World {
    use crate::model::world::{Account, Kind, Object, Tag};
    let mut w = World::new(1);
    w.insert_loaded(Object::new(1, "Limbo", "room", Kind::Room));
    for (id, name, perms, superuser) in [
        (1, "Pat", vec!["Player"], false),
        (2, "Bea", vec!["Builder"], false),
        (3, "Root", vec![], true),
    ] {
        w.accounts.insert(
            id,
            Account {
                is_superuser: superuser,
                permissions: perms.into_iter().map(String::from).collect(),
                ..Account::new(id, name)
            },
        );
        let mut c = Object::new(9 + id, name, "character", Kind::Character);
        c.account = Some(id);
        c.location = Some(1);
        w.insert_loaded(c);
    }
    let mut b = Object::new(13, "box", "thing", Kind::Thing);
    b.location = Some(10);
    w.insert_loaded(b);
    // Permissions outside the hierarchy, on the builder's character.
    w.update(11, |o| {
        o.permissions.push("Tinker".into());
        o.permissions.push("ÄRZTE".into());
    });
    w.update(10, |o| {
        o.set_attr("strength", 12);
        o.set_attr("colour", "red");
        o.tags.push(Tag::new("guild", Some("thieves")));
    });
    w
}

#[test]
fn lock_functions_see_permissions_ids_attributes_tags_and_holdings() {
    let mut funcs = LockFuncs::default();
    funcs.add("is_named", |ctx, args| {
        ctx.accessor
            .puppet
            .and_then(|p| ctx.world.get(p))
            .is_some_and(|o| args.first().is_some_and(|a| o.key.eq_ignore_ascii_case(a)))
    });
    let w = world();
    let (pa, player, ba, builder, root, box_id) = (1, 10, 2, 11, 12, 13);
    let who = |account, puppet| Accessor {
        account: Some(account),
        puppet: Some(puppet),
    };
    let (p, b) = (who(pa, player), who(ba, builder));
    let r = Accessor::object(root);
    let check = |a: Accessor, lock: &str| {
        let set = LockSet::parse(&format!("x:{lock}")).unwrap();
        let ctx = LockCtx {
            world: &w,
            accessor: a,
            target: Some(box_id),
        };
        ctx.passes(&funcs, &set, "x", false, true)
    };
    let cases: &[(&str, bool, bool)] = &[
        // lock, the player passes, the builder passes
        ("all()", true, true),
        ("none()", false, false),
        ("perm(Player)", true, true),
        ("perm(Builder)", false, true),
        ("perm(Helper)", false, true),
        ("perm(Admin)", false, false),
        ("perm_above(Player)", false, true),
        ("perm_above(Builder)", false, false),
        ("pperm(Builder)", false, true),
        ("perm(tinker)", false, true),
        ("perm(TINKER)", false, true),
        ("perm(ärzte)", false, true),
        ("perm_above(tinker)", false, false),
        ("pperm(tinker)", false, false),
        ("perm(tinkers)", false, false),
        (&format!("id({player})"), true, false),
        (&format!("id(#{builder})"), false, true),
        (&format!("pid({pa})"), true, false),
        ("attr(strength)", true, false),
        ("attr(colour, red)", true, false),
        ("attr(colour, blue)", false, false),
        ("attr_gt(strength, 10)", true, false),
        ("attr_le(strength, 10)", false, false),
        ("attr_eq(strength, 12)", true, false),
        ("tag(guild)", true, false),
        ("tag(guild, thieves)", true, false),
        ("tag(guild, knights)", false, false),
        ("holds(box)", true, false),
        ("holds()", true, false),
        ("not perm(Builder)", true, false),
        ("perm(Builder) or attr(strength)", true, true),
        ("perm(Builder) and attr(strength)", false, false),
        ("is_named(pat)", true, false),
        ("no_such_function()", false, false),
    ];
    for (lock, player_ok, builder_ok) in cases {
        assert_eq!(check(p, lock), *player_ok, "player vs {lock}");
        assert_eq!(check(b, lock), *builder_ok, "builder vs {lock}");
        // A character asking on its own (a room's listing, a script) asks
        // with its player's account, as a session does.
        let (p_alone, b_alone) = (Accessor::object(player), Accessor::object(builder));
        assert_eq!(
            check(p_alone, lock),
            *player_ok,
            "player's character vs {lock}"
        );
        assert_eq!(
            check(b_alone, lock),
            *builder_ok,
            "builder's character vs {lock}"
        );
        assert!(check(r, lock), "a superuser passes {lock}");
    }
    let ctx = |a| LockCtx {
        world: &w,
        accessor: a,
        target: Some(box_id),
    };
    let set = LockSet::parse("call:false()").unwrap();
    assert!(
        !ctx(p).passes(&funcs, &set, "no_such_type", false, true),
        "missing lock: the default"
    );
    assert!(ctx(p).passes(&funcs, &set, "no_such_type", true, true));
    assert!(
        !ctx(r).passes(&funcs, &set, "call", true, false),
        "without the bypass (call locks), superusers are held to the lock"
    );
    assert!(ctx(b).has_perm("Helper") && !ctx(b).has_perm("Admin"));
    assert!(ctx(r).has_perm("Developer"));
}
