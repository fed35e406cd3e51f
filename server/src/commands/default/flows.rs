//! `flows`: list, inspect, start and stop flows (permission Builder).

use serde_json::{Map, Value};

use crate::commands::{CmdCtx, Command, span_text, time_text};
use crate::flows::{Owner, Status};

/// `flows`, `flows/show <name>`, `flows/defs`, `flows/start <definition>
/// [= <name>]`, `flows/stop <name>`.
pub struct Flows;

impl Command for Flows {
    fn key(&self) -> &str {
        "flows"
    }
    fn switches(&self) -> &[&str] {
        &["defs", "show", "start", "stop"]
    }
    fn locks(&self) -> &str {
        "cmd:perm(Builder)"
    }
    fn help_category(&self) -> &str {
        "Building"
    }
    fn help(&self) -> &str {
        "flows\nflows/show <name>\nflows/defs\nflows/start <definition> [= <name>]\nflows/stop <name>\n\n\
         List the running flows; show one (its states and paths, listeners and \
         variables); list the definitions; start a flow owned by your character \
         (arguments as JSON after the definition: flows/start quest {\"level\": 2}); \
         stop one."
    }
    fn func(&self, ctx: &mut CmdCtx<'_>) {
        if ctx.has_switch("defs") {
            let names: Vec<String> = ctx.server.flows.defs.keys().cloned().collect();
            ctx.msg(if names.is_empty() {
                "No flow definitions.".to_string()
            } else {
                format!("|wFlow definitions:|n {}", names.join(", "))
            });
        } else if ctx.has_switch("show") {
            show(ctx);
        } else if ctx.has_switch("start") {
            start(ctx);
        } else if ctx.has_switch("stop") {
            let name = ctx.args.clone();
            if ctx.server.stop_flow(&name) {
                ctx.msg(format!("Stopped the flow '{name}'."));
            } else {
                ctx.msg(format!("No flow called '{name}' is running."));
            }
        } else {
            list(ctx);
        }
    }
}

fn owner_text(ctx: &CmdCtx<'_>, owner: Owner) -> String {
    match owner {
        Owner::Object(o) => ctx
            .server
            .world
            .get(o)
            .map(|o| o.display_with_id())
            .unwrap_or_else(|| format!("#{o} (gone)")),
        Owner::Account(a) => ctx
            .server
            .world
            .accounts
            .get(&a)
            .map(|a| format!("account {}", a.name))
            .unwrap_or_else(|| format!("account {a}")),
        Owner::Game => "the game".into(),
    }
}

fn list(ctx: &mut CmdCtx<'_>) {
    if ctx.server.world.flows.is_empty() {
        ctx.msg("No flows are running.");
        return;
    }
    let mut out = String::from("|wRunning flows:|n");
    let flows: Vec<_> = ctx
        .server
        .world
        .flows
        .values()
        .map(|f| {
            let states: Vec<String> = f.states.iter().map(|s| s.state.clone()).collect();
            (f.name.clone(), f.def.clone(), f.owner, states.join(", "))
        })
        .collect();
    for (name, def, owner, states) in flows {
        let owner = owner_text(ctx, owner);
        out.push_str(&format!("\n {name} ({def}) of {owner}: {states}"));
    }
    ctx.msg(out);
}

fn show(ctx: &mut CmdCtx<'_>) {
    let name = ctx.args.clone();
    let Some(f) = ctx.server.world.flows.get(&name).cloned() else {
        ctx.msg(format!("No flow called '{name}' is running."));
        return;
    };
    let now = ctx.server.flow_now();
    let mut out = format!(
        "|wFlow {}|n ({}) of {}",
        f.name,
        f.def,
        owner_text(ctx, f.owner)
    );
    for s in &f.states {
        let path = if s.path.is_empty() {
            "main".to_string()
        } else {
            s.path.join("/")
        };
        out.push_str(&format!(
            "\n state {} in path {path}, entered {} ago ({})",
            s.state,
            span_text(now - s.date),
            time_text(s.date)
        ));
    }
    for l in &f.listeners {
        let status = match l.status {
            Status::Active => "active",
            Status::Muted => "muted",
            Status::Stalled => "stalled",
        };
        let deadline = l
            .deadline
            .map(|d| format!(", fires in {} ({})", span_text(d - now + 999), time_text(d)))
            .unwrap_or_default();
        out.push_str(&format!(
            "\n listener {} ({}) {status}, {} queued{deadline}",
            l.id,
            l.action.kind(),
            l.queue.len()
        ));
    }
    for (k, v) in f.vars.iter() {
        out.push_str(&format!("\n var {k} = {v}"));
    }
    for (k, ids) in &f.refs {
        let ids: Vec<String> = ids.iter().map(|i| format!("#{i}")).collect();
        out.push_str(&format!("\n ref {k} = {}", ids.join(", ")));
    }
    ctx.msg(out);
}

fn start(ctx: &mut CmdCtx<'_>) {
    let Some(me) = ctx.caller() else {
        ctx.msg("You need a character to own the flow.");
        return;
    };
    let (head, json) = match ctx.lhs.split_once('{') {
        Some((h, j)) => (h.trim().to_string(), format!("{{{j}")),
        None => (ctx.lhs.trim().to_string(), String::new()),
    };
    let args: Map<String, Value> = if json.is_empty() {
        Map::new()
    } else {
        match serde_json::from_str(&json) {
            Ok(Value::Object(m)) => m,
            _ => {
                ctx.msg("The arguments must be a JSON object: {\"name\": value, ...}");
                return;
            }
        }
    };
    let name = ctx.rhs.clone();
    match ctx
        .server
        .start_flow(&head, name.as_deref(), Owner::Object(me), args)
    {
        Ok(name) => ctx.msg(format!("Started the flow '{name}' ({head}).")),
        Err(e) => ctx.msg(e),
    }
}
