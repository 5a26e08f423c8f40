//! Commands and flags (clap derive) and one small handler per command.
//!
//! Handlers return `Result<Outcome, miette::Report>`: `run` maps the outcome
//! to an exit code and prints errors as miette reports. Shared steps
//! (`load_desired`, `resolve_accounts`, `read_observed`, `read_saved_plan`,
//! `write_file`) are public so that the executor/status handlers reuse them.

use crate::apply::session::{ClusterOptions, Session};
use crate::error::{install_report_handler, CliError, Outcome, EXIT_ERROR, EXIT_SUCCESS};
use crate::observe::Observed;
use crate::plan::artifact::SavedPlan;
use crate::plan::Plan;
use crate::render;
use crate::spec::Desired;
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use is_terminal::IsTerminal;
use miette::Report;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub type CmdResult = Result<Outcome, Report>;

#[derive(Debug, Parser)]
#[command(
    name = "paraform",
    version,
    about = "Declarative, Terraform-style GitOps reconciler for Polkadot/Substrate testnets",
    after_help = "Exit codes: 0 success / no changes, 1 error, 2 changes pending (plan --detailed-exitcode, drift)."
)]
pub struct Cli {
    /// More logs on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Never colour the output (also: the NO_COLOR environment variable).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Kubernetes networks: the kubeconfig file (default: KUBECONFIG,
    /// ~/.kube/config, else the in-cluster service account).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Kubernetes")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubernetes networks: the kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes")]
    pub context: Option<String>,
    /// Kubernetes networks: paraform runs inside the cluster (a pod): the
    /// API through the pod's service account (unless --kubeconfig or
    /// --context is given), node RPCs through Service DNS instead of
    /// port-forwards.
    #[arg(long, global = true, help_heading = "Kubernetes")]
    pub in_cluster: bool,
    /// Kubernetes networks: a node is ready when its pod is (its readiness
    /// probe), without paraform's own RPC health check through a
    /// port-forward (for credentials without `pods/portforward`).
    #[arg(long, global = true, help_heading = "Kubernetes")]
    pub pod_readiness: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load and validate a network's desired state.
    Validate(ValidateArgs),
    /// Show what apply would change (desired state vs the live network).
    Plan(PlanArgs),
    /// Carry out a plan (re-planned now, or a saved plan after a staleness check).
    Apply(ApplyArgs),
    /// Read-only plan for a scheduled job: exit 2 on drift.
    Drift(DriftArgs),
    /// Show nodes, validators, parachains or collators.
    Status(StatusArgs),
    /// Inspect or break the network's lock.
    #[command(subcommand)]
    Lock(LockCommand),
    /// Deregister and delete everything paraform manages in a network.
    Destroy(DestroyArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The network directory (every *.toml in it is merged).
    pub net_dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
    Dot,
}

impl From<PlanFormat> for render::Format {
    fn from(f: PlanFormat) -> Self {
        match f {
            PlanFormat::Text => render::Format::Text,
            PlanFormat::Json => render::Format::Json,
            PlanFormat::Markdown => render::Format::Markdown,
            PlanFormat::Dot => render::Format::Dot,
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The network directory (every *.toml in it is merged).
    pub net_dir: PathBuf,
    /// Save the plan (JSON, with paraform version, git commit and the observed
    /// fingerprint) for a later `paraform apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 2 when the plan has changes (0 when none, 1 on error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan the desired state of this git revision, without a checkout.
    #[arg(long, value_name = "GITREV")]
    pub rev: Option<String>,
    /// Plan against a recorded snapshot instead of observing the live network.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub observed: Option<PathBuf>,
    /// Proceed even if the plan breaks a safety rule.
    #[arg(long)]
    pub allow_unsafe: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A network directory, or a plan saved with `plan --out`.
    pub target: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Steps run at once within a wave.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallelism: u32,
    /// Proceed even if the plan breaks a safety rule.
    #[arg(long)]
    pub allow_unsafe: bool,
    /// Refuse unless the plan's content hash (`content_digest` in `plan
    /// --format json` and in saved plans) is HASH: what a reviewer approved.
    #[arg(long, value_name = "HASH")]
    pub expect_hash: Option<String>,
    /// Kubernetes networks: take over fields another field manager (kubectl,
    /// Helm) owns on paraform's objects, as `kubectl apply --server-side
    /// --force-conflicts` does.
    #[arg(long)]
    pub force_conflicts: bool,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    pub net_dir: PathBuf,
    /// Write a Markdown drift report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write Prometheus text-format metrics to FILE.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Compare against a recorded snapshot instead of the live network.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub observed: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusView {
    Nodes,
    Validators,
    Parachains,
    Collators,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    pub net_dir: PathBuf,
    /// Which view (default: nodes).
    #[arg(value_enum)]
    pub view: Option<StatusView>,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    /// Show a recorded snapshot instead of observing the live network.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub observed: Option<PathBuf>,
    /// An earlier observation (see --save-observed): parachain heads are
    /// compared with it to tell whether they advance.
    #[arg(long, value_name = "SNAPSHOT.json")]
    pub previous: Option<PathBuf>,
    /// Write the observation shown to FILE (for a later --previous or --observed).
    #[arg(long, value_name = "FILE")]
    pub save_observed: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Who holds the network's lock, for which operation, since when.
    Status { net_dir: PathBuf },
    /// Break a lock left by a crashed or killed apply (break-glass).
    ForceUnlock { net_dir: PathBuf, id: String },
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    pub net_dir: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

/// Per-invocation settings derived from global flags and the terminal.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Colour stdout (a TTY, no --no-color, no NO_COLOR).
    pub color: bool,
    /// stdout is a terminal (progress bars, prompts).
    pub stdout_tty: bool,
    /// How to reach the cluster of a kubernetes network.
    pub cluster: ClusterOptions,
}

/// Parse the command line. Usage errors print clap's message and give exit
/// code 1 (not clap's 2, which would read as "changes pending"); `--help`
/// and `--version` give 0.
pub fn parse_args() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        ExitCode::from(if e.use_stderr() {
            EXIT_ERROR
        } else {
            EXIT_SUCCESS
        })
    })
}

/// Run a parsed command line: logs, report handler, dispatch, exit code.
pub fn run(cli: Cli) -> ExitCode {
    let no_color = cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let stdout_tty = std::io::stdout().is_terminal();
    let stderr_tty = std::io::stderr().is_terminal();
    init_tracing(cli.verbose, stderr_tty && !no_color);
    install_report_handler(!no_color, stderr_tty);
    let ctx = Ctx {
        color: stdout_tty && !no_color,
        stdout_tty,
        cluster: ClusterOptions {
            kubeconfig: cli.kubeconfig,
            context: cli.context,
            in_cluster: cli.in_cluster,
            force_conflicts: false,
            pod_readiness_only: cli.pod_readiness,
        },
    };

    match dispatch(cli.command, &ctx) {
        Ok(outcome) => outcome.exit_code(),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_tracing(verbose: u8, ansi: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        // kube logs its own request failures at error level; paraform
        // reports them itself, once, with context.
        0 => "warn,kube_client=off",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

fn dispatch(command: Command, ctx: &Ctx) -> CmdResult {
    match command {
        Command::Validate(args) => cmd_validate(&args, ctx),
        Command::Plan(args) => cmd_plan(&args, ctx),
        Command::Apply(args) => cmd_apply(&args, ctx),
        Command::Drift(args) => cmd_drift(&args, ctx),
        Command::Status(args) => cmd_status(&args, ctx),
        Command::Lock(LockCommand::Status { net_dir }) => cmd_lock_status(&net_dir, ctx),
        Command::Lock(LockCommand::ForceUnlock { net_dir, id }) => {
            cmd_force_unlock(&net_dir, &id, ctx)
        }
        Command::Destroy(args) => cmd_destroy(&args, ctx),
    }
}

// ---- validate ---------------------------------------------------------------

fn cmd_validate(args: &ValidateArgs, _ctx: &Ctx) -> CmdResult {
    let desired = load_desired(&args.net_dir, None)?;
    let nodes = desired.nodes().count();
    println!(
        "Success! The network {} is valid ({} group{}, {} node{}, {} parachain{}).",
        desired.network,
        desired.groups.len(),
        plural(desired.groups.len()),
        nodes,
        plural(nodes),
        desired.parachains.len(),
        plural(desired.parachains.len()),
    );
    Ok(Outcome::Success)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

// ---- plan -------------------------------------------------------------------

fn cmd_plan(args: &PlanArgs, ctx: &Ctx) -> CmdResult {
    let mut desired = load_desired(&args.net_dir, args.rev.as_deref())?;
    let rt = runtime()?;
    rt.block_on(async {
        let (session, observed) = observe_for(
            &mut desired,
            &args.net_dir,
            args.observed.as_deref(),
            ctx,
            Accounts::Required,
        )
        .await?;
        let plan = crate::plan::plan(&desired, &observed);

        let opts = render::Options {
            color: ctx.color && args.format == PlanFormat::Text,
        };
        // Markdown (a PR comment) is printed once the dry-run section is
        // known, so both fit GitHub's limit together.
        let mut markdown_appendix = String::new();
        if args.format != PlanFormat::Markdown {
            print_stdout(&render::render(&plan, args.format.into(), opts))?;
        }
        // What the API server makes of the changed objects (defaults,
        // admission, validation): a rejected manifest fails the plan.
        if let (None, Some(k8s)) = (
            &args.observed,
            session.as_ref().and_then(|s| s.kubernetes()),
        ) {
            let diffs = server_dry_run(k8s, &desired, &plan).await?;
            match args.format {
                PlanFormat::Text => {
                    print_stdout(&render::dry_run::render(k8s.namespace(), &diffs))?
                }
                PlanFormat::Markdown => {
                    markdown_appendix =
                        render::dry_run::markdown(k8s.namespace(), &diffs, DRY_RUN_COMMENT_SHARE)
                }
                // JSON and DOT stay the plan alone (machine-read formats).
                PlanFormat::Json | PlanFormat::Dot => {}
            }
        }

        if args.format == PlanFormat::Markdown {
            let body = render::markdown::render_leaving(&plan, markdown_appendix.len());
            print_stdout(&(body + &markdown_appendix))?;
        }

        // Shown above so the reviewer sees what is refused; not saved.
        crate::apply::workflow::check_safety(&plan, args.allow_unsafe)?;

        if let Some(out) = &args.out {
            let mut created_by = format!(
                "paraform {} plan {}",
                env!("CARGO_PKG_VERSION"),
                args.net_dir.display()
            );
            if let Some(rev) = &args.rev {
                created_by.push_str(&format!(" --rev {rev}"));
            }
            let net_dir = args.net_dir.display().to_string();
            let saved = SavedPlan::new(&desired, plan.clone(), net_dir, created_by);
            let json = saved
                .to_json()
                .map_err(|e| CliError::Usage(format!("cannot encode the plan: {e}")))?;
            write_file(out, &json)?;
            eprintln!(
                "Saved the plan to {}. To carry it out exactly: paraform apply {}",
                out.display(),
                out.display()
            );
        }

        Ok(if args.detailed_exitcode && !plan.is_empty() {
            Outcome::ChangesPending
        } else {
            Outcome::Success
        })
    })
}

/// At most this much of a PR comment goes to the Kubernetes dry-run.
const DRY_RUN_COMMENT_SHARE: usize = 16_000;

/// The server-side dry-run of every workload step that creates or updates
/// a group; nothing is changed in the cluster.
async fn server_dry_run(
    k8s: &crate::provider::kubernetes::KubernetesProvider,
    desired: &Desired,
    plan: &Plan,
) -> Result<Vec<render::dry_run::StepDiffs>, Report> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let Some(req) =
            crate::apply::steps::workload_request(desired, step, std::time::Duration::ZERO)
        else {
            continue;
        };
        let diffs = k8s.plan_workload_forced(&req).await.map_err(|e| {
            CliError::Usage(format!(
                "the Kubernetes API server's dry-run of {} failed: {e}. Nothing was applied.",
                step.id
            ))
        })?;
        out.push(render::dry_run::StepDiffs {
            step: step.id.clone(),
            objects: diffs,
        });
    }
    Ok(out)
}

// ---- shared steps -----------------------------------------------------------

/// Load and validate the desired state from `net_dir`, or from git revision
/// `rev` of the repository containing it (no checkout).
pub fn load_desired(net_dir: &Path, rev: Option<&str>) -> Result<Desired, Report> {
    let desired = match rev {
        None => crate::spec::load_dir(net_dir)?,
        Some(rev) => {
            // The directory may not exist in the working tree (e.g. a network
            // added in that revision): discover the repository from the
            // nearest existing ancestor.
            let abs = std::path::absolute(net_dir).map_err(|source| CliError::Read {
                path: net_dir.into(),
                source,
            })?;
            let repo_dir = abs
                .ancestors()
                .find(|p| p.is_dir())
                .unwrap_or(&abs)
                .to_path_buf();
            crate::spec::load_git(&repo_dir, rev, &abs)?
        }
    };
    Ok(desired)
}

/// Resolve `[secrets] derivation_root` (when set; `k8s:` references through
/// the session's cluster) and fill every node's account. The secret value
/// stays in a `SecretString` and is dropped here.
pub async fn resolve_accounts(
    desired: &mut Desired,
    net_dir: &Path,
    session: Option<&Session>,
) -> Result<(), Report> {
    let root = resolve_secret(desired.secrets.derivation_root.as_ref(), net_dir, session).await?;
    crate::chain::keys::derive_accounts(desired, root.as_ref()).map_err(|e| CliError::Keys {
        message: e.to_string(),
    })?;
    Ok(())
}

/// Whether a secret reference of the network names a Kubernetes Secret.
fn uses_cluster_secrets(desired: &Desired) -> bool {
    [&desired.secrets.sudo, &desired.secrets.derivation_root]
        .into_iter()
        .flatten()
        .any(|r| matches!(r, crate::spec::SecretRef::K8s { .. }))
}

/// Read an `Observed` snapshot; JSON errors point at the file and position.
pub fn read_observed(path: &Path) -> Result<Observed, Report> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.into(),
        source,
    })?;
    let label = path.display().to_string();
    let observed: Observed = serde_json::from_str(&text)
        .map_err(|e| CliError::observed_json(&label, text.clone(), &e))?;
    if observed.format_version != crate::observe::OBSERVED_FORMAT_VERSION {
        return Err(CliError::Usage(format!(
            "{label}: observed format version {} is not supported (this paraform reads version {})",
            observed.format_version,
            crate::observe::OBSERVED_FORMAT_VERSION
        ))
        .into());
    }
    Ok(observed)
}

/// Open the network's provider and state store (local files, or the
/// cluster named by the kubeconfig flags).
pub async fn open_session(desired: &Desired, cluster: &ClusterOptions) -> Result<Session, Report> {
    Session::open(desired, cluster)
        .await
        .map_err(|e| CliError::Provider(e.to_string()).into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Accounts {
    /// The derivation root must resolve.
    Required,
    /// Read-only views go on without it (a warning).
    BestEffort,
}

/// Resolve the accounts and observe: live through the network's provider,
/// or a recorded snapshot (which needs no provider, unless a secret lives in
/// the cluster). The session, when one was opened, comes back for reuse.
async fn observe_for(
    desired: &mut Desired,
    net_dir: &Path,
    snapshot: Option<&Path>,
    ctx: &Ctx,
    accounts: Accounts,
) -> Result<(Option<Session>, Observed), Report> {
    let session = match snapshot {
        Some(_) if !uses_cluster_secrets(desired) => None,
        _ => Some(open_session(desired, &ctx.cluster).await?),
    };
    match resolve_accounts(desired, net_dir, session.as_ref()).await {
        Err(e) if accounts == Accounts::BestEffort => {
            tracing::warn!("accounts not derived: {e:?}")
        }
        other => other?,
    }
    let observed = match (snapshot, &session) {
        (Some(path), _) => read_observed(path)?,
        (None, Some(s)) => observe_with(desired, s).await?,
        (None, None) => {
            return Err(CliError::Usage(
                "internal: no session to observe the live network with".into(),
            )
            .into())
        }
    };
    Ok((session, observed))
}

/// Observe the live network through the session's provider (workloads,
/// node RPCs, the relay chain at one pinned finalized block).
async fn observe_with(desired: &Desired, session: &Session) -> Result<Observed, Report> {
    crate::observe::live::observe(desired, session.provider.as_ref(), &Default::default())
        .await
        .map_err(|e| CliError::Usage(e.to_string()).into())
}

fn runtime() -> Result<tokio::runtime::Runtime, Report> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Usage(format!("cannot start the async runtime: {e}")).into())
}

/// Resolve an optional secret reference (values stay in `SecretString`s);
/// `k8s:` references need the session of a kubernetes network.
async fn resolve_secret(
    reference: Option<&crate::spec::SecretRef>,
    base: &Path,
    session: Option<&Session>,
) -> Result<Option<secrecy::SecretString>, Report> {
    let Some(r) = reference else {
        return Ok(None);
    };
    let resolved = match session {
        Some(s) => s.resolve_secret(r, base).await,
        None => crate::spec::secrets::resolve(r, base),
    };
    resolved.map(Some).map_err(|e| {
        CliError::Secret {
            message: e.to_string(),
        }
        .into()
    })
}

fn state_err(e: crate::state::StateError) -> Report {
    CliError::Usage(e.to_string()).into()
}

/// Ask for `expected` on the terminal (Terraform's "Enter a value").
/// Set while waiting for the user's answer: a signal then exits at once
/// (nothing has started; a blocking read cannot be cancelled).
static PROMPTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn confirm(question: &str, expected: &str) -> std::io::Result<bool> {
    use std::sync::atomic::Ordering;
    eprintln!("{question}");
    eprint!("  Enter a value: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    PROMPTING.store(true, Ordering::SeqCst);
    let read = std::io::stdin().read_line(&mut line);
    PROMPTING.store(false, Ordering::SeqCst);
    read?;
    Ok(line.trim() == expected)
}

/// SIGINT / SIGTERM for `apply` and `destroy` (see `apply::interrupt`).
fn listen_for_signals() -> Result<crate::apply::Interrupt, Report> {
    crate::apply::interrupt::listen(|signal| {
        if PROMPTING.load(std::sync::atomic::Ordering::SeqCst) {
            eprintln!("\n{}: nothing was applied.", signal.name());
            std::process::exit(i32::from(signal.exit_code()));
        }
        eprintln!(
            "\n{}: stopping after the running steps (again to exit at once)…",
            signal.name()
        );
    })
    .map_err(|e| CliError::Usage(format!("cannot listen for signals: {e}")).into())
}

/// A failed apply / destroy; an interrupted one reports what was left
/// undone and exits 130 / 143.
fn workflow_failed(e: crate::apply::WorkflowError) -> CmdResult {
    match e {
        crate::apply::WorkflowError::Interrupted { signal, .. } => {
            eprintln!("{:?}", Report::new(e));
            Ok(Outcome::Interrupted(signal.exit_code()))
        }
        e => Err(e.into()),
    }
}

/// Read a plan saved by `plan --out`.
pub fn read_saved_plan(path: &Path) -> Result<SavedPlan, Report> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.into(),
        source,
    })?;
    SavedPlan::from_json(&text).map_err(|e| {
        CliError::SavedPlan {
            path: path.display().to_string(),
            message: e.to_string(),
        }
        .into()
    })
}

/// Whether an `apply` target is a saved plan (a file) rather than a network directory.
pub fn is_saved_plan(target: &Path) -> bool {
    target.is_file()
}

/// Write `contents` to `path` (creating parent directories) atomically: a
/// temporary file in the same directory, then a rename.
pub fn write_file(path: &Path, contents: &str) -> Result<(), Report> {
    let err = |source| CliError::Write {
        path: path.into(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, contents).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })?;
    Ok(())
}

/// Print to stdout; a closed pipe (`paraform plan | head`) is not an error worth a panic.
fn print_stdout(s: &str) -> Result<(), Report> {
    write_stdout(s).map_err(|e| {
        CliError::Write {
            path: "<stdout>".into(),
            source: e,
        }
        .into()
    })
}

fn write_stdout(s: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// How `apply` and `destroy` show a plan and ask for approval.
struct Prompt {
    color: bool,
    auto_approve: bool,
    /// `destroy`: the network name to type; `apply`: "yes".
    destroy_of: Option<String>,
}

impl crate::apply::Review for Prompt {
    fn show(&self, plan: &Plan) -> std::io::Result<()> {
        if self.destroy_of.is_some() && plan.is_empty() {
            return Ok(());
        }
        let opts = render::Options { color: self.color };
        write_stdout(&render::render(plan, render::Format::Text, opts))
    }

    fn approve(&self, _plan: &Plan) -> std::io::Result<bool> {
        if self.auto_approve {
            return Ok(true);
        }
        match &self.destroy_of {
            None => confirm(
                "\nDo you want to perform these actions? Only 'yes' will be accepted to approve.",
                "yes",
            ),
            Some(net) => confirm(
                &format!("\nThis stops every node of network {net} and deletes their data. Type the network name ({net}) to confirm."),
                net,
            ),
        }
    }
}

// ---- commands that need a provider, executor or state store ------------------

fn cmd_apply(args: &ApplyArgs, ctx: &Ctx) -> CmdResult {
    use crate::apply::{workflow, Applied, ExecOptions, Live, PlanSource, Policy, Progress};

    let saved = if is_saved_plan(&args.target) {
        Some(read_saved_plan(&args.target)?)
    } else {
        None
    };
    let mut desired = match &saved {
        Some(s) => s.desired.clone(),
        None => load_desired(&args.target, None)?,
    };
    let net_dir = desired.source.dir.clone();
    let mut cluster = ctx.cluster.clone();
    cluster.force_conflicts = args.force_conflicts;
    let rt = runtime()?;
    rt.block_on(async {
        let session = open_session(&desired, &cluster).await?;
        if saved.is_none() {
            resolve_accounts(&mut desired, &net_dir, Some(&session)).await?;
        }
        let sudo = resolve_secret(desired.secrets.sudo.as_ref(), &net_dir, Some(&session)).await?;
        let root =
            resolve_secret(desired.secrets.derivation_root.as_ref(), &net_dir, Some(&session))
                .await?;
        let chain = session.chain(&desired, sudo, root);
        let live = Live {
            provider: session.provider.as_ref(),
            store: session.store.as_ref(),
            chain: &chain,
        };
        let source = match saved {
            Some(s) => PlanSource::Saved(Box::new(s)),
            None => PlanSource::Desired,
        };
        let policy = Policy {
            allow_unsafe: args.allow_unsafe,
            expect_hash: args.expect_hash.clone(),
            exec: ExecOptions {
                parallelism: args.parallelism as usize,
                interrupt: listen_for_signals()?,
                ..Default::default()
            },
        };
        let prompt = Prompt {
            color: ctx.color,
            auto_approve: args.auto_approve,
            destroy_of: None,
        };
        let progress = Progress::new(ctx.stdout_tty && std::io::stderr().is_terminal());
        let applied = match workflow::apply(&live, &desired, source, &policy, &prompt, &progress)
            .await
        {
            Ok(a) => a,
            Err(e) => return workflow_failed(e),
        };
        match applied {
            Applied::NoChanges => {}
            Applied::Complete { report, .. } => {
                let done = report.count(|r| matches!(r, crate::apply::StepResult::Done { .. }));
                let already =
                    report.count(|r| matches!(r, crate::apply::StepResult::AlreadyDone { .. }));
                println!(
                    "\nApply complete! {done} step(s) done, {already} already in effect, in {:.0}s.",
                    report.elapsed.as_secs_f64()
                );
                println!("{}", session.hints());
            }
        }
        Ok(Outcome::Success)
    })
}

fn cmd_drift(args: &DriftArgs, ctx: &Ctx) -> CmdResult {
    let mut desired = load_desired(&args.net_dir, None)?;
    let rt = runtime()?;
    let (_, observed) = rt.block_on(observe_for(
        &mut desired,
        &args.net_dir,
        args.observed.as_deref(),
        ctx,
        Accounts::Required,
    ))?;
    let plan = crate::plan::plan(&desired, &observed);
    let opts = render::Options { color: ctx.color };
    print_stdout(&render::render(&plan, render::Format::Text, opts))?;
    let report = crate::drift::DriftReport::classify(&plan, &observed);
    print_stdout(&format!("\n{}\n", report.summary_line()))?;
    if let Some(path) = &args.report {
        write_file(path, &crate::drift::markdown::render(&report))?;
    }
    if let Some(path) = &args.metrics {
        write_file(path, &crate::drift::metrics::render(&report))?;
    }
    match report.verdict {
        crate::drift::Verdict::InSync => Ok(Outcome::Success),
        crate::drift::Verdict::Drift => Ok(Outcome::ChangesPending),
        crate::drift::Verdict::Incomplete => {
            let what = report
                .unobserved
                .iter()
                .map(|u| format!("{} at {} ({})", u.chain, u.endpoint, u.error))
                .collect::<Vec<_>>()
                .join("; ");
            Err(CliError::Usage(format!("drift check incomplete: could not read {what}")).into())
        }
    }
}

fn cmd_status(args: &StatusArgs, ctx: &Ctx) -> CmdResult {
    let mut desired = load_desired(&args.net_dir, None)?;
    let rt = runtime()?;
    // Read-only: without the derivation root, accounts come from what the
    // provider recorded for running nodes.
    let (_, observed) = rt.block_on(observe_for(
        &mut desired,
        &args.net_dir,
        args.observed.as_deref(),
        ctx,
        Accounts::BestEffort,
    ))?;
    let previous = match &args.previous {
        Some(p) => Some(read_observed(p)?),
        None => None,
    };
    if let Some(path) = &args.save_observed {
        let json = serde_json::to_string_pretty(&observed)
            .map_err(|e| CliError::Usage(format!("cannot encode the observation: {e}")))?;
        write_file(path, &(json + "\n"))?;
    }
    use crate::status::View;
    let view = match args.view.unwrap_or(StatusView::Nodes) {
        StatusView::Nodes => View::Nodes,
        StatusView::Validators => View::Validators,
        StatusView::Parachains => View::Parachains,
        StatusView::Collators => View::Collators,
    };
    let out = crate::status::render(
        &desired,
        &observed,
        previous.as_ref(),
        view,
        args.format == TableFormat::Json,
    );
    print_stdout(&out)?;
    Ok(Outcome::Success)
}

fn cmd_lock_status(net_dir: &Path, ctx: &Ctx) -> CmdResult {
    let desired = load_desired(net_dir, None)?;
    let rt = runtime()?;
    let (holder, state) = rt.block_on(async {
        let session = open_session(&desired, &ctx.cluster).await?;
        let h = session.store.lock_status().await.map_err(state_err)?;
        let s = session.store.load().await.map_err(state_err)?;
        Ok::<_, Report>((h, s))
    })?;
    match holder {
        Some(h) => println!("Locked: {}\n  command: {}", h.describe(), h.command),
        None => println!("Not locked."),
    }
    if let Some(c) = &state.last_applied_commit {
        println!("Last applied commit: {c}");
    }
    if let Some(t) = state.last_applied_unix {
        println!("Last successful apply: {}", crate::state::format_unix(t));
    }
    if state.dirty {
        println!(
            "State is DIRTY: {}",
            state
                .dirty_reason
                .as_deref()
                .unwrap_or("the last apply did not finish")
        );
    }
    Ok(Outcome::Success)
}

fn cmd_force_unlock(net_dir: &Path, id: &str, ctx: &Ctx) -> CmdResult {
    let desired = load_desired(net_dir, None)?;
    let rt = runtime()?;
    let was = rt.block_on(async {
        let session = open_session(&desired, &ctx.cluster).await?;
        session.store.force_unlock(id).await.map_err(state_err)
    })?;
    println!("Lock {} removed (was: {}).", was.id, was.describe());
    Ok(Outcome::Success)
}

fn cmd_destroy(args: &DestroyArgs, ctx: &Ctx) -> CmdResult {
    use crate::apply::{workflow, Applied, Live, PlanSource, Policy, Progress};
    let mut desired = load_desired(&args.net_dir, None)?;
    let rt = runtime()?;
    rt.block_on(async {
        let session = open_session(&desired, &ctx.cluster).await?;
        // Accounts of running nodes are recorded by the provider: destroy
        // works without the derivation root. Sudo is needed only to deregister.
        if let Err(e) = resolve_accounts(&mut desired, &args.net_dir, Some(&session)).await {
            tracing::warn!("{e}");
        }
        let sudo = resolve_secret(desired.secrets.sudo.as_ref(), &args.net_dir, Some(&session))
            .await
            .unwrap_or_else(|e| {
                tracing::warn!("{e}");
                None
            });
        let chain = session.chain(&desired, sudo, None);
        let live = Live {
            provider: session.provider.as_ref(),
            store: session.store.as_ref(),
            chain: &chain,
        };
        let prompt = Prompt {
            color: ctx.color,
            auto_approve: args.auto_approve,
            destroy_of: Some(desired.network.to_string()),
        };
        let progress = Progress::new(ctx.stdout_tty && std::io::stderr().is_terminal());
        let policy = Policy {
            exec: crate::apply::ExecOptions {
                interrupt: listen_for_signals()?,
                ..Default::default()
            },
            ..Default::default()
        };
        let applied = match workflow::apply(
            &live,
            &desired,
            PlanSource::Destroy,
            &policy,
            &prompt,
            &progress,
        )
        .await
        {
            Ok(a) => a,
            Err(e) => return workflow_failed(e),
        };
        match applied {
            Applied::NoChanges => {
                println!(
                    "Nothing to destroy: no workloads of {} exist.",
                    desired.network
                )
            }
            Applied::Complete { plan, .. } => println!(
                "Destroy complete: {} workload(s) removed.",
                plan.steps
                    .iter()
                    .filter(|s| matches!(s.kind, crate::plan::StepKind::Workload { .. }))
                    .count()
            ),
        }
        Ok(Outcome::Success)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
