//! What a run is: where, how many bots, which profile, for how long, and
//! what the server says at each step of logging in (so the same tool can be
//! pointed at Evennia: its words are Tavern's defaults).

use std::time::Duration;

use crate::conn::Transport;
use crate::procs::PidSource;
use crate::profile::Profile;

/// How a bot learns that its command was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum MarkerMode {
    /// Evennia's `echo` input function: GMCP `Core.Echo` over telnet,
    /// `["echo", [marker], {}]` over a websocket.
    Echo,
    /// A command of this template (holding `{marker}`) whose answer shows the marker.
    Text(String),
}

/// The words of logging in: templates may use `{name}` and `{password}`.
#[derive(Debug, Clone)]
pub struct LoginScript {
    /// Account names are this, the run id, `-`, the bot's number.
    pub name_prefix: String,
    /// Every bot's password.
    pub password: String,
    /// A line of the connection screen.
    pub greeting: Vec<String>,
    /// The command making the account; None: the accounts exist.
    pub create: Option<String>,
    /// Lines that say it was made (or already existed).
    pub created: Vec<String>,
    /// The command logging in.
    pub connect: String,
    /// Lines that say the bot is in the game.
    pub logged_in: Vec<String>,
    /// Lines that say a step failed.
    pub fail: Vec<String>,
}

impl Default for LoginScript {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Self {
            name_prefix: "Load".into(),
            password: "load-test-password".into(),
            greeting: v(&["connect <username> <password>"]),
            create: Some("create {name} {password}".into()),
            created: v(&["was created", "already an account"]),
            connect: "connect {name} {password}".into(),
            logged_in: v(&["You become {name}"]),
            fail: v(&[
                "must be",
                "incorrect",
                "could not be created",
                "too many",
                "cannot log you in",
                "Sorry",
            ]),
        }
    }
}

/// A reload ordered during the measurement window.
#[derive(Debug, Clone)]
pub struct ReloadPlan {
    /// How long into the window.
    pub at: Duration,
    /// The command that orders it (`tavern --settings FILE reload`).
    pub command: Vec<String>,
    /// The text every session is sent when it begins.
    pub notice: String,
    /// What a bot types as soon as it sees the notice; its answer marks the bot as served again.
    pub probe: String,
}

/// What a [`Fault`] does to the game.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Runs a command (`tavern --settings FILE reload`).
    Command(Vec<String>),
    /// Kills the watched process of this label (`server`) with SIGKILL.
    Kill(String),
}

/// Something done to the game again and again during the window: the soak's
/// reloads and crashes.
#[derive(Debug, Clone)]
pub struct Fault {
    /// What the report calls it ("reload", "kill -9").
    pub name: String,
    /// How often: first after one period, then every period.
    pub every: Duration,
    /// What it does.
    pub action: FaultAction,
}

/// Logins and logouts while the others play.
#[derive(Debug, Clone)]
pub struct Churn {
    /// How many bots log in (each makes a new account, logs in and quits).
    pub logins: usize,
    /// How many at once.
    pub concurrency: usize,
}

/// One run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Where the bots connect.
    pub transport: Transport,
    /// How many bots.
    pub clients: usize,
    /// What they do.
    pub profile: Profile,
    /// How long the measurement window is.
    pub duration: Duration,
    /// How long bots act before the window opens.
    pub warmup: Duration,
    /// How many bots log in at once (0: all).
    pub concurrency: usize,
    /// Bots started per second (0: as fast as `concurrency` lets them).
    pub connect_rate: f64,
    /// The words of logging in.
    pub login: LoginScript,
    /// How answers are recognized.
    pub marker: MarkerMode,
    /// Take MCCP2 compression when the server offers it (telnet).
    pub mccp: bool,
    /// Tells this run's accounts and rooms from others'.
    pub run_id: String,
    /// For the bots' random choices.
    pub seed: u64,
    /// How long each step of logging in and setting up may take.
    pub step_timeout: Duration,
    /// How long bots wait for outstanding answers after the window; what
    /// is still unanswered then is lost.
    pub drain: Duration,
    /// A reload during the window.
    pub reload: Option<ReloadPlan>,
    /// A login storm during the window.
    pub churn: Option<Churn>,
    /// Faults done again and again during the window.
    pub faults: Vec<Fault>,
    /// Read the processes' memory this often during the window, for the
    /// report's history (None: only at the end).
    pub memory_every: Option<Duration>,
    /// The processes whose cost is measured.
    pub watch: Vec<(String, PidSource)>,
    /// After the window, measure the machine's floor (a bare loopback
    /// ping-pong at the profile's pace; for a listening profile, a bare
    /// fan-out to as many connections) for comparison.
    pub floor: bool,
    /// Progress lines on stderr.
    pub progress: bool,
}

impl RunConfig {
    /// A run of `clients` bots of `profile` against `transport`, with the defaults.
    pub fn new(transport: Transport, clients: usize, profile: Profile) -> Self {
        Self {
            transport,
            clients,
            profile,
            duration: Duration::from_secs(30),
            warmup: Duration::from_secs(2),
            concurrency: 200,
            connect_rate: 0.0,
            login: LoginScript::default(),
            marker: MarkerMode::Echo,
            mccp: false,
            run_id: format!("{:04x}", rand::random::<u16>()),
            seed: rand::random(),
            step_timeout: Duration::from_secs(60),
            drain: Duration::from_secs(10),
            reload: None,
            churn: None,
            faults: Vec::new(),
            memory_every: None,
            watch: Vec::new(),
            floor: false,
            progress: false,
        }
    }
}
