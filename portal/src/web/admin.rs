//! The admin site at `/admin` on the web port: server-rendered pages for
//! accounts with the Admin permission — sessions, accounts, objects with
//! their attributes, tags and locks, scripts and flows, recent log lines,
//! the metrics — and forms that boot, ban and edit.
//!
//! The portal holds no world: every page asks the server
//! ([`AdminRequest`]), and every change is a command line the server runs
//! as the admin (`set`, `tag`, `lock`, `boot`, `ban`), so locks, messages
//! and saving are the in-game commands' — the page is answered once the
//! change is saved.
//!
//! A log-in is the account's password, checked by the server as `connect`
//! checks it. It gives a session cookie (random, `HttpOnly`,
//! `SameSite=Strict`, `Secure` when the request came over HTTPS through a
//! proxy); every form carries the session's CSRF token, and a POST whose
//! `Origin` is another site is refused.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tavern_shared::link::admin::{
    ACCOUNT_GONE_MSG, AdminAccount, AdminObject, AdminObjectRow, AdminReply, AdminRequest,
    AdminScript, AdminSession, NOT_ADMIN_MSG,
};
use tokio::sync::{mpsc, oneshot};

use crate::session::SessionEvent;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "tavern_admin";
/// An admin session unused for this long ends.
const IDLE: Duration = Duration::from_secs(30 * 60);
/// The most admin sessions at once (the oldest goes first).
const MAX_LOGINS: usize = 256;
/// How long a page waits for the server.
const ASK_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest field a form may send.
const MAX_FIELD: usize = 8 * 1024;
/// How many log lines the log page shows.
const LOG_LINES: usize = 200;

/// One browser logged in.
struct Login {
    account: i64,
    name: String,
    csrf: String,
    last_seen: Instant,
    /// What the last change said, shown once on the next page.
    flash: Option<String>,
}

/// The admin site's state: who is logged in, and how to reach the game.
pub(crate) struct AdminSite {
    logins: Mutex<HashMap<String, Login>>,
    hub: mpsc::Sender<SessionEvent>,
    log_dir: PathBuf,
    /// This portal's log's name (`portal`, `portal-1`).
    portal_log: String,
    metrics: Option<Arc<crate::stats::PortalStats>>,
}

type Site = State<super::WebState>;

impl AdminSite {
    /// The site, asking the game through `hub`; log lines from `log_dir`.
    pub(crate) fn new(
        hub: mpsc::Sender<SessionEvent>,
        log_dir: PathBuf,
        portal_log: String,
        metrics: Option<Arc<crate::stats::PortalStats>>,
    ) -> Self {
        Self {
            logins: Mutex::new(HashMap::new()),
            hub,
            log_dir,
            portal_log,
            metrics,
        }
    }

    fn logins(&self) -> std::sync::MutexGuard<'_, HashMap<String, Login>> {
        self.logins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The login a request's cookie names, if it is live: (cookie, account, name, csrf, flash).
    fn current(&self, headers: &HeaderMap) -> Option<Current> {
        let token = cookie(headers, COOKIE)?;
        let mut logins = self.logins();
        logins.retain(|_, l| l.last_seen.elapsed() < IDLE);
        let l = logins.get_mut(&token)?;
        l.last_seen = Instant::now();
        Some(Current {
            token,
            account: l.account,
            name: l.name.clone(),
            csrf: l.csrf.clone(),
            flash: l.flash.take(),
        })
    }

    fn begin(&self, account: i64, name: String) -> String {
        let token = random_hex();
        let mut logins = self.logins();
        logins.retain(|_, l| l.last_seen.elapsed() < IDLE);
        if logins.len() >= MAX_LOGINS
            && let Some(oldest) = logins
                .iter()
                .min_by_key(|(_, l)| l.last_seen)
                .map(|(k, _)| k.clone())
        {
            logins.remove(&oldest);
        }
        logins.insert(
            token.clone(),
            Login {
                account,
                name,
                csrf: random_hex(),
                last_seen: Instant::now(),
                flash: None,
            },
        );
        token
    }

    fn end(&self, token: &str) {
        self.logins().remove(token);
    }

    fn set_flash(&self, token: &str, text: String) {
        if let Some(l) = self.logins().get_mut(token) {
            l.flash = Some(text);
        }
    }

    /// Asks the game; the answer, or why there is none.
    async fn ask(&self, account: i64, request: AdminRequest) -> AdminReply {
        let (reply, answer) = oneshot::channel();
        let asked = SessionEvent::Admin {
            account,
            request,
            reply,
        };
        if self.hub.send(asked).await.is_err() {
            return AdminReply::Refused("The portal is shutting down.".into());
        }
        match tokio::time::timeout(ASK_TIMEOUT, answer).await {
            Ok(Ok(reply)) => reply,
            _ => AdminReply::Refused("The game did not answer in time; try again.".into()),
        }
    }
}

/// The logged-in admin of a request.
struct Current {
    token: String,
    account: i64,
    name: String,
    csrf: String,
    flash: Option<String>,
}

fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// Whether the request came over HTTPS (a proxy in front says so).
fn over_https(headers: &HeaderMap) -> bool {
    let said = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase())
    };
    said("x-forwarded-proto").is_some_and(|p| p.split(',').next().map(str::trim) == Some("https"))
        || said("forwarded").is_some_and(|f| f.contains("proto=https"))
}

/// A POST from a page of another site (its `Origin` is not this host) is refused.
fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    origin_host != Some(host)
}

/// A form's fields (`application/x-www-form-urlencoded`), each bounded.
fn form(body: &[u8]) -> Result<HashMap<String, String>, &'static str> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if v.len() > MAX_FIELD {
            return Err("A field is too long.");
        }
        out.insert(k.into_owned(), v.into_owned());
    }
    Ok(out)
}

fn query(uri: &axum::http::Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.chars().take(MAX_FIELD).collect()))
        .collect()
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    tavern_shared::markup::escape_html(s)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f6f5f2;color:#222}\
header{background:#3b2f2a;color:#fff;padding:.6em 1em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}\
header a{color:#ffd99a;text-decoration:none}header form{margin-left:auto}\
main{padding:1em;max-width:70em}table{border-collapse:collapse;width:100%;background:#fff}\
td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#eee}.flash{background:#fff6d6;border:1px solid #e0c060;padding:.6em;white-space:pre-wrap}\
.error{background:#fde2e2;border:1px solid #d66;padding:.6em}form.inline{display:inline}\
pre{background:#fff;border:1px solid #ddd;padding:.6em;overflow:auto;max-height:40em}\
input[type=text],input[type=password]{padding:.3em}button{padding:.2em .6em}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — admin</title><style>{STYLE}</style></head><body>{body}</body></html>",
        esc(title)
    )
}

/// A page of the logged-in site: the menu, the flash, the body.
fn site_page(me: &Current, title: &str, body: &str) -> Response {
    let flash = me
        .flash
        .as_deref()
        .map(|f| format!("<p class=\"flash\" id=\"flash\">{}</p>", esc(f)))
        .unwrap_or_default();
    let html = format!(
        "<header><strong>Admin</strong>\
         <a href=\"/admin\">Sessions</a><a href=\"/admin/accounts\">Accounts</a>\
         <a href=\"/admin/objects\">Objects</a><a href=\"/admin/scripts\">Scripts</a>\
         <a href=\"/admin/logs\">Logs</a><a href=\"/admin/metrics\">Metrics</a>\
         <form method=\"post\" action=\"/admin/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         {name} <button>Log out</button></form></header><main><h1>{t}</h1>{flash}{body}</main>",
        csrf = esc(&me.csrf),
        name = esc(&me.name),
        t = esc(title),
    );
    no_store(Html(page(title, &html)).into_response())
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r.headers_mut().insert(
        header::X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("DENY"),
    );
    r
}

fn login_page(status: StatusCode, message: Option<&str>) -> Response {
    let error = message
        .map(|m| format!("<p class=\"error\" id=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<main><h1>Admin log-in</h1>{error}<form method=\"post\" action=\"/admin/login\">\
         <p><label>Account <input type=\"text\" name=\"name\" id=\"name\" autocomplete=\"username\"></label></p>\
         <p><label>Password <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\"></label></p>\
         <p><button id=\"login\">Log in</button></p></form>\
         <p>For accounts with the Admin permission. Players: the game is at <a href=\"/\">/</a>.</p></main>"
    );
    no_store((status, Html(page("Log in", &body))).into_response())
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// A form that posts one action, with the CSRF token and where to come back.
fn action_form(
    me: &Current,
    back: &str,
    action: &str,
    fields: &[(&str, &str)],
    label: &str,
) -> String {
    let mut f = format!(
        "<form class=\"inline\" method=\"post\" action=\"/admin/do\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\">\
         <input type=\"hidden\" name=\"action\" value=\"{}\">",
        esc(&me.csrf),
        esc(back),
        esc(action)
    );
    for (k, v) in fields {
        let _ = write!(
            f,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        );
    }
    // Every one-click action here takes something away: asked first.
    let _ = write!(
        f,
        "<button onclick=\"return confirm('{} — are you sure?')\">{}</button></form>",
        esc(label),
        esc(label)
    );
    f
}

/// A table of an object's named values, each with a button that deletes it.
struct Deletable<'a> {
    me: &'a Current,
    back: &'a str,
    id: &'a str,
}

impl Deletable<'_> {
    /// Rows of `pairs` in a table with id `table` under `head`; Delete posts
    /// `action` with the name as `field`.
    fn rows(
        &self,
        body: &mut String,
        table: &str,
        head: &str,
        action: &str,
        field: &str,
        pairs: &[(String, String)],
    ) {
        let _ = write!(
            body,
            "<table id=\"{table}\"><tr><th>{head}</th><th></th></tr>"
        );
        for (k, v) in pairs {
            let fields = [("id", self.id), (field, k.as_str())];
            let delete = action_form(self.me, self.back, action, &fields, "Delete");
            let _ = write!(
                body,
                "<tr><td>{}</td><td><code>{}</code></td><td>{delete}</td></tr>",
                esc(k),
                esc(v)
            );
        }
        body.push_str("</table>");
    }
}

/// The start of a form with inputs of its own.
fn open_form(me: &Current, back: &str, action: &str, id: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/admin/do\" id=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" value=\"{}\">\
         <input type=\"hidden\" name=\"action\" value=\"{}\">",
        esc(id),
        esc(&me.csrf),
        esc(back),
        esc(action)
    )
}

/// The page for a reply that is not what was asked: refused (the session
/// ends if the account may no longer administer).
fn refused(site: &AdminSite, me: &Current, why: String) -> Response {
    if why == NOT_ADMIN_MSG || why == ACCOUNT_GONE_MSG {
        site.end(&me.token);
        return login_page(StatusCode::FORBIDDEN, Some(&why));
    }
    let me = Current {
        flash: Some(why),
        token: me.token.clone(),
        account: me.account,
        name: me.name.clone(),
        csrf: me.csrf.clone(),
    };
    site_page(&me, "Not now", "")
}

/// `GET /admin`: the sessions, or the log-in form.
pub(crate) async fn overview(State(state): Site, headers: HeaderMap) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    let sessions = match site.ask(me.account, AdminRequest::Sessions).await {
        AdminReply::Sessions(s) => s,
        AdminReply::Refused(why) => return refused(site, &me, why),
        _ => Vec::new(),
    };
    let mut body = format!("<p>{} sessions.</p>", sessions.len());
    body.push_str(
        "<table id=\"sessions\"><tr><th>Session</th><th>Account</th><th>Character</th>\
         <th>Protocol</th><th>Address</th><th>Connected</th><th>Idle</th><th></th></tr>",
    );
    for s in &sessions {
        let AdminSession {
            sessid,
            account,
            puppet,
            protocol,
            address,
            connected_secs,
            idle_secs,
        } = s;
        let sid = sessid.to_string();
        let _ = write!(
            body,
            "<tr><td>{sid}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(account.as_deref().unwrap_or("-")),
            esc(puppet.as_deref().unwrap_or("-")),
            esc(protocol),
            esc(address),
            duration(*connected_secs),
            duration(*idle_secs),
            action_form(&me, "/admin", "boot_session", &[("sid", &sid)], "Boot"),
        );
    }
    body.push_str("</table><h2>Ban</h2>");
    body.push_str(&open_form(&me, "/admin", "ban", "ban"));
    body.push_str(
        "<label>Account name or address pattern <input type=\"text\" name=\"who\"></label> \
         <label>Reason <input type=\"text\" name=\"reason\"></label> \
         <button onclick=\"return confirm('Ban — are you sure?')\">Ban</button></form>",
    );
    site_page(&me, "Sessions", &body)
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s / 60 % 60),
        s => format!("{}d {}h", s / 86_400, s / 3600 % 24),
    }
}

/// `POST /admin/login`.
pub(crate) async fn login(
    State(state): Site,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if cross_site(&headers) {
        return login_page(StatusCode::FORBIDDEN, Some("Cross-site request refused."));
    }
    let Ok(fields) = form(&body) else {
        return login_page(StatusCode::BAD_REQUEST, Some("A field is too long."));
    };
    let name = fields.get("name").map(|s| s.trim()).unwrap_or("");
    let password = fields.get("password").map(String::as_str).unwrap_or("");
    if name.is_empty() || password.is_empty() {
        return login_page(
            StatusCode::BAD_REQUEST,
            Some("Give an account name and its password."),
        );
    }
    let request = AdminRequest::LogIn {
        name: name.to_string(),
        password: password.to_string(),
        address: addr.to_string(),
    };
    match state.admin.ask(0, request).await {
        AdminReply::LoggedIn { account, name } => {
            let token = state.admin.begin(account, name);
            let secure = if over_https(&headers) { "; Secure" } else { "" };
            let mut r = redirect("/admin");
            if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
                "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict{secure}"
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        AdminReply::Refused(why) => login_page(StatusCode::FORBIDDEN, Some(&why)),
        _ => login_page(
            StatusCode::BAD_GATEWAY,
            Some("The game answered something else."),
        ),
    }
}

/// Checks a POST of a logged-in admin: same site, right CSRF token. The
/// admin and the form's fields, or the page to answer with.
fn checked_post(
    site: &AdminSite,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Current, HashMap<String, String>), Box<Response>> {
    if cross_site(headers) {
        return Err(Box::new(
            (StatusCode::FORBIDDEN, "Cross-site request refused.\n").into_response(),
        ));
    }
    let Some(me) = site.current(headers) else {
        return Err(Box::new(login_page(
            StatusCode::FORBIDDEN,
            Some("Log in first."),
        )));
    };
    let fields = form(body).map_err(|e| Box::new((StatusCode::BAD_REQUEST, e).into_response()))?;
    let token_ok = fields.get("csrf").is_some_and(|t| same_secret(t, &me.csrf));
    if !token_ok {
        return Err(Box::new(
            (
                StatusCode::FORBIDDEN,
                "The form's token is missing or stale: reload the page.\n",
            )
                .into_response(),
        ));
    }
    Ok((me, fields))
}

/// `POST /admin/logout`.
pub(crate) async fn logout(State(state): Site, headers: HeaderMap, body: Bytes) -> Response {
    match checked_post(&state.admin, &headers, &body) {
        Ok((me, _)) => {
            state.admin.end(&me.token);
            let mut r = redirect("/admin");
            r.headers_mut().insert(
                header::SET_COOKIE,
                axum::http::HeaderValue::from_static(
                    "tavern_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
                ),
            );
            r
        }
        Err(r) => *r,
    }
}

/// The command line a form's action stands for, or why there is none.
fn command_line(f: &HashMap<String, String>) -> Result<String, String> {
    let get = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or("");
    if f.values().any(|v| v.contains(['\n', '\r'])) {
        return Err("A value must be one line.".into());
    }
    let id = || -> Result<i64, String> {
        get("id")
            .trim_start_matches('#')
            .parse()
            .map_err(|_| "No such object.".to_string())
    };
    let reason = match get("reason") {
        "" => String::new(),
        r => format!(" : {r}"),
    };
    let word = |k: &str, what: &str| -> Result<String, String> {
        let v = get(k);
        if v.is_empty() || v.contains(['=', '/', ';']) {
            return Err(format!("Give {what} (without = / ;)."));
        }
        Ok(v.to_string())
    };
    Ok(match get("action") {
        "boot_session" => {
            let sid: u64 = get("sid")
                .parse()
                .map_err(|_| "No such session.".to_string())?;
            format!("boot/sid {sid}{reason}")
        }
        "boot_account" => format!("boot {}{reason}", word("who", "an account name")?),
        "ban" => {
            let who = word("who", "an account name or an address pattern")?;
            if who.contains(':') {
                return Err("Give an account name or an address pattern to ban.".into());
            }
            format!("ban {who}{reason}")
        }
        "unban" => format!(
            "unban {}",
            get("ban")
                .parse::<u64>()
                .map_err(|_| "No such ban.".to_string())?
        ),
        "set_attr" => {
            let key = get("key");
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err("An attribute name is letters, digits and _.".into());
            }
            let value = get("value");
            if value.is_empty() {
                return Err(
                    "Give a value (to delete the attribute, use its Delete button).".into(),
                );
            }
            format!("set #{}/{key} = {value}", id()?)
        }
        "del_attr" => {
            let key = get("key");
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err("An attribute name is letters, digits and _.".into());
            }
            format!("set #{}/{key} =", id()?)
        }
        "add_tag" => format!("tag #{} = {}", id()?, word("tag", "a tag")?),
        "del_tag" => format!("tag/del #{} = {}", id()?, word("tag", "a tag")?),
        "set_lock" => {
            let access = word("access", "an access type")?;
            let expr = get("expr");
            if expr.is_empty() || expr.contains(';') {
                return Err("Give one lock expression (without ;).".into());
            }
            format!("lock #{} = {access}:{expr}", id()?)
        }
        "del_lock" => format!("lock/del #{}/{}", id()?, word("access", "an access type")?),
        "" => return Err("No action given.".into()),
        other => return Err(format!("Unknown action '{other}'.")),
    })
}

/// `POST /admin/do`: one change, as a command run by the admin; the page
/// it came from shows what the command said.
pub(crate) async fn act(State(state): Site, headers: HeaderMap, body: Bytes) -> Response {
    let site = &state.admin;
    let (me, fields) = match checked_post(site, &headers, &body) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let back = fields
        .get("back")
        .filter(|b| {
            b.starts_with("/admin") && !b.contains(['\r', '\n']) && !b.starts_with("/admin//")
        })
        .cloned()
        .unwrap_or_else(|| "/admin".into());
    let said = match command_line(&fields) {
        Err(why) => why,
        Ok(line) => match site.ask(me.account, AdminRequest::Run { line }).await {
            AdminReply::Ran(said) if said.trim().is_empty() => "Done.".to_string(),
            AdminReply::Ran(said) => said,
            AdminReply::Refused(why) => return refused(site, &me, why),
            _ => "The game answered something else.".into(),
        },
    };
    site.set_flash(&me.token, said);
    redirect(&back)
}

/// `GET /admin/accounts[?q=name]`.
pub(crate) async fn accounts(
    State(state): Site,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    let q = query(&uri).remove("q").unwrap_or_default();
    let found = match site
        .ask(me.account, AdminRequest::Accounts { query: q.clone() })
        .await
    {
        AdminReply::Accounts(a) => a,
        AdminReply::Refused(why) => return refused(site, &me, why),
        _ => Vec::new(),
    };
    let mut body = format!(
        "<form method=\"get\"><label>Account name <input type=\"text\" name=\"q\" value=\"{}\"></label> \
         <button>Find</button></form><table id=\"accounts\"><tr><th>Id</th><th>Name</th><th>Permissions</th>\
         <th>Characters</th><th>Sessions</th><th></th></tr>",
        esc(&q)
    );
    for a in &found {
        let AdminAccount {
            id,
            name,
            permissions,
            superuser,
            characters,
            sessions,
        } = a;
        let mut perms = permissions.join(", ");
        if *superuser {
            perms = format!("superuser {perms}");
        }
        let _ = write!(
            body,
            "<tr><td>{id}</td><td>{}</td><td>{}</td><td>{}</td><td>{sessions}</td><td>{} {}</td></tr>",
            esc(name),
            esc(&perms),
            esc(&characters.join(", ")),
            action_form(
                &me,
                "/admin/accounts",
                "boot_account",
                &[("who", name)],
                "Boot"
            ),
            action_form(&me, "/admin/accounts", "ban", &[("who", name)], "Ban"),
        );
    }
    body.push_str("</table>");
    if found.is_empty() {
        body.push_str("<p>No account found.</p>");
    }
    site_page(&me, "Accounts", &body)
}

fn object_rows(body: &mut String, rows: &[AdminObjectRow]) {
    body.push_str(
        "<table class=\"objects\"><tr><th>Id</th><th>Key</th><th>Kind</th><th>Typeclass</th><th>Location</th></tr>",
    );
    for r in rows {
        let _ = write!(
            body,
            "<tr><td><a href=\"/admin/object/{id}\">#{id}</a></td><td><a href=\"/admin/object/{id}\">{}</a></td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.key),
            esc(&r.kind),
            esc(&r.typeclass),
            esc(r.location.as_deref().unwrap_or("-")),
            id = r.id,
        );
    }
    body.push_str("</table>");
}

/// `GET /admin/objects[?q=...]`.
pub(crate) async fn objects(
    State(state): Site,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    let q = query(&uri).remove("q").unwrap_or_default();
    let mut body = format!(
        "<form method=\"get\" id=\"search\"><label>Find <input type=\"text\" name=\"q\" id=\"q\" value=\"{}\"></label> \
         <button>Find</button> <small>#id, tag:name, type:typeclass, or the start of a name</small></form>",
        esc(&q)
    );
    if !q.trim().is_empty() {
        match site
            .ask(me.account, AdminRequest::Objects { query: q.clone() })
            .await
        {
            AdminReply::Objects { found, total } => {
                let _ = write!(
                    body,
                    "<p>{total} found{}.</p>",
                    if total > found.len() {
                        format!(", the first {} shown", found.len())
                    } else {
                        String::new()
                    }
                );
                object_rows(&mut body, &found);
            }
            AdminReply::Refused(why) => return refused(site, &me, why),
            _ => {}
        }
    }
    site_page(&me, "Objects", &body)
}

/// `GET /admin/object/{id}`: an object with forms for its attributes, tags and locks.
pub(crate) async fn object(
    State(state): Site,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    let Ok(id) = id.trim_start_matches('#').parse::<i64>() else {
        return site_page(&me, "No such object", "<p>No such object.</p>");
    };
    let o = match site.ask(me.account, AdminRequest::Object { id }).await {
        AdminReply::Object(Some(o)) => o,
        AdminReply::Object(None) => {
            return site_page(&me, "No such object", "<p>No such object.</p>");
        }
        AdminReply::Refused(why) => return refused(site, &me, why),
        _ => return site_page(&me, "No such object", ""),
    };
    let AdminObject {
        row,
        aliases,
        attributes,
        tags,
        locks,
        contents,
    } = o;
    let back = format!("/admin/object/{id}");
    let ids = id.to_string();
    let mut body = String::new();
    let _ = write!(
        body,
        "<p>{} #{id} — {} ({}){}{}</p>",
        esc(&row.key),
        esc(&row.kind),
        esc(&row.typeclass),
        row.location
            .as_deref()
            .map(|l| format!(", in {}", esc(l)))
            .unwrap_or_default(),
        if aliases.is_empty() {
            String::new()
        } else {
            format!(", also {}", esc(&aliases.join(", ")))
        },
    );
    body.push_str("<h2>Attributes</h2>");
    let table = Deletable {
        me: &me,
        back: &back,
        id: &ids,
    };
    table.rows(
        &mut body,
        "attributes",
        "Name</th><th>Value",
        "del_attr",
        "key",
        &attributes,
    );
    body.push_str(&open_form(&me, &back, "set_attr", "set-attr"));
    let _ = write!(
        body,
        "<input type=\"hidden\" name=\"id\" value=\"{id}\"><label>Name <input type=\"text\" name=\"key\" id=\"attr-key\"></label> \
         <label>Value <input type=\"text\" name=\"value\" id=\"attr-value\"></label> \
         <button id=\"attr-set\">Set</button> <small>JSON when it parses as JSON, else text</small></form>"
    );
    body.push_str("<h2>Tags</h2><ul id=\"tags\">");
    for t in &tags {
        let _ = write!(
            body,
            "<li>{} {}</li>",
            esc(t),
            action_form(&me, &back, "del_tag", &[("id", &ids), ("tag", t)], "Remove"),
        );
    }
    body.push_str("</ul>");
    body.push_str(&open_form(&me, &back, "add_tag", "add-tag"));
    let _ = write!(
        body,
        "<input type=\"hidden\" name=\"id\" value=\"{id}\"><label>Tag <input type=\"text\" name=\"tag\"></label> \
         <button>Add</button> <small>name or name:category</small></form>"
    );
    body.push_str("<h2>Locks</h2>");
    table.rows(
        &mut body,
        "locks",
        "Access</th><th>Lock",
        "del_lock",
        "access",
        &locks,
    );
    body.push_str(&open_form(&me, &back, "set_lock", "set-lock"));
    let _ = write!(
        body,
        "<input type=\"hidden\" name=\"id\" value=\"{id}\"><label>Access <input type=\"text\" name=\"access\"></label> \
         <label>Lock <input type=\"text\" name=\"expr\"></label> <button>Set</button> \
         <small>for example get, perm(Builder) or id(12)</small></form>"
    );
    if !contents.is_empty() {
        body.push_str("<h2>Contents</h2>");
        object_rows(&mut body, &contents);
    }
    site_page(&me, &format!("{} (#{id})", row.key), &body)
}

/// `GET /admin/scripts`.
pub(crate) async fn scripts(State(state): Site, headers: HeaderMap) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    let found = match site.ask(me.account, AdminRequest::Scripts).await {
        AdminReply::Scripts(s) => s,
        AdminReply::Refused(why) => return refused(site, &me, why),
        _ => Vec::new(),
    };
    let mut body = String::from(
        "<table id=\"scripts\"><tr><th>Kind</th><th>Name</th><th>On</th><th>How</th></tr>",
    );
    for s in &found {
        let AdminScript {
            kind,
            name,
            on,
            detail,
        } = s;
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(kind),
            esc(name),
            esc(on),
            esc(detail)
        );
    }
    body.push_str("</table>");
    site_page(&me, "Scripts, timers and flows", &body)
}

/// The last `n` lines of the newest log file whose name starts with `role`.
fn tail_log(dir: &std::path::Path, role: &str, n: usize) -> String {
    let newest = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            // `role.log`, or `role.2026-12-06.log` when rotated.
            name == format!("{role}.log")
                || name.starts_with(&format!("{role}.")) && name.ends_with(".log")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
    let Some(file) = newest else {
        return format!("(no {role} log in {})", dir.display());
    };
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(file.path()) else {
        return "(cannot read the log)".into();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)));
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `GET /admin/logs`: the newest lines of the server's and the portal's logs.
pub(crate) async fn logs(State(state): Site, headers: HeaderMap) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    // The files are the portal's to read, for an admin the game still knows.
    if let AdminReply::Refused(why) = site.ask(me.account, AdminRequest::Whoami).await {
        return refused(site, &me, why);
    }
    let (dir, role) = (site.log_dir.clone(), site.portal_log.clone());
    let (server, portal) = tokio::task::spawn_blocking(move || {
        (
            tail_log(&dir, "server", LOG_LINES),
            tail_log(&dir, &role, LOG_LINES),
        )
    })
    .await
    .unwrap_or_default();
    let body = format!(
        "<h2>Server</h2><pre id=\"server-log\">{}</pre><h2>Portal</h2><pre id=\"portal-log\">{}</pre>",
        esc(&server),
        esc(&portal)
    );
    site_page(&me, "Recent log lines", &body)
}

/// `GET /admin/metrics`: what `/metrics` serves, for reading.
pub(crate) async fn metrics(State(state): Site, headers: HeaderMap) -> Response {
    let site = &state.admin;
    let Some(me) = site.current(&headers) else {
        return login_page(StatusCode::OK, None);
    };
    if let AdminReply::Refused(why) = site.ask(me.account, AdminRequest::Whoami).await {
        return refused(site, &me, why);
    }
    let body = match &site.metrics {
        Some(stats) => match super::metrics::render(stats) {
            Ok(text) => format!("<pre id=\"metrics\">{}</pre>", esc(&text)),
            Err(_) => "<p>The metrics could not be rendered.</p>".into(),
        },
        None => "<p>The metrics are off: set <code>[metrics] enabled = true</code>.</p>".into(),
    };
    site_page(&me, "Metrics", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn forms_become_the_in_game_commands_and_bad_ones_are_refused() {
        let line = |p: &[(&str, &str)]| command_line(&fields(p));
        assert_eq!(
            line(&[
                ("action", "set_attr"),
                ("id", "12"),
                ("key", "hp"),
                ("value", "20")
            ])
            .unwrap(),
            "set #12/hp = 20"
        );
        assert_eq!(
            line(&[("action", "del_attr"), ("id", "#12"), ("key", "hp")]).unwrap(),
            "set #12/hp ="
        );
        assert_eq!(
            line(&[
                ("action", "set_lock"),
                ("id", "3"),
                ("access", "get"),
                ("expr", "perm(Builder)")
            ])
            .unwrap(),
            "lock #3 = get:perm(Builder)"
        );
        assert_eq!(
            line(&[("action", "boot_session"), ("sid", "7"), ("reason", "spam")]).unwrap(),
            "boot/sid 7 : spam"
        );
        // A name that would reach another object, a second lock, a second line.
        assert!(
            line(&[
                ("action", "set_attr"),
                ("id", "12"),
                ("key", "hp/x"),
                ("value", "1")
            ])
            .is_err()
        );
        assert!(
            line(&[
                ("action", "set_lock"),
                ("id", "3"),
                ("access", "get"),
                ("expr", "all();delete:all()")
            ])
            .is_err()
        );
        assert!(
            line(&[
                ("action", "set_attr"),
                ("id", "12"),
                ("key", "hp"),
                ("value", "1\nshutdown")
            ])
            .is_err()
        );
        assert!(
            line(&[
                ("action", "set_attr"),
                ("id", "me"),
                ("key", "hp"),
                ("value", "1")
            ])
            .is_err()
        );
        assert!(line(&[("action", "shutdown")]).is_err());
        assert!(line(&[]).is_err());
    }

    #[test]
    fn a_cross_site_origin_is_told_apart_from_this_site() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:4001".parse().unwrap());
        assert!(!cross_site(&h), "no Origin: same-site browsers and tools");
        h.insert(header::ORIGIN, "http://127.0.0.1:4001".parse().unwrap());
        assert!(!cross_site(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(cross_site(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(cross_site(&h));
    }

    #[test]
    fn the_cookie_is_read_only_in_its_own_shape_and_html_is_escaped() {
        let token = "ab".repeat(32);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("x=1; {COOKIE}={token}").parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), Some(token));
        h.insert(
            header::COOKIE,
            format!("{COOKIE}=<script>").parse().unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE), None);
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert!(
            same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("ab", "abc")
        );
    }
}
