//! The `hookbot` command line: parses arguments and hands each subcommand to `hookbot::cli`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hookbot::config::LogFormat;

#[derive(Parser)]
#[command(
    name = "hookbot",
    version,
    about = "A self-hosted Discord bot with a BotGhost-compatible webhook listener"
)]
struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        env = "HOOKBOT_CONFIG",
        default_value = "config.toml"
    )]
    config: PathBuf,
    /// How log lines on stderr look: text, or json (one object a line); overrides [log] format.
    #[arg(long, global = true, value_name = "text|json")]
    log_format: Option<LogFormat>,
    /// Without a Discord token: a local Discord stand-in plays Discord, and hookbot keeps its
    /// own database beside the configured one (`data/db-sandbox`). The other commands take it
    /// too, to read and change that database: `hookbot runs --sandbox`.
    #[arg(long, global = true)]
    sandbox: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bot and the webhook listener until SIGINT or SIGTERM.
    Run,
    /// Validate the config and every event file; print each problem as FILE:LINE:COL: message.
    Check,
    /// The webhook API key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// The web console (http.console_listen).
    Console {
        #[command(subcommand)]
        command: ConsoleCommand,
    },
    /// Event files.
    Event {
        #[command(subcommand)]
        command: EventCommand,
    },
    /// Runs, newest first: id, time, event, status.
    Runs {
        #[command(subcommand)]
        command: Option<RunsCommand>,
        /// Only the runs of this event.
        #[arg(long = "event", value_name = "ID")]
        event: Option<String>,
        /// Only failed and dead-lettered runs.
        #[arg(long)]
        failed: bool,
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Event files, persistent variables and settings (the API key's hash, never a key) as one
    /// JSON document on stdout, for backups and moves.
    Export,
    /// Restore an export: variables and settings, and every event file that does not exist yet.
    Import {
        /// The export's file; `-` reads stdin.
        file: PathBuf,
    },
    /// Act as a member of the sandbox's server while `hookbot run --sandbox` runs in another
    /// terminal: say something, join, leave, react, use a slash command, click a button.
    Sandbox {
        #[command(subcommand)]
        act: SandboxCommand,
        /// Who acts: a member's name or id (alice and bob are members of every sandbox server).
        #[arg(
            long = "as",
            value_name = "USER",
            default_value = "alice",
            global = true
        )]
        user: String,
        /// The server, by id, when the events name several.
        #[arg(long, value_name = "ID", global = true)]
        server: Option<String>,
    },
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Write a message in a channel: `hookbot sandbox say '#general' 'hello'`.
    Say {
        /// `#name` or an id.
        channel: String,
        /// The message text.
        text: String,
    },
    /// Join the server (a new user by that name, or one who left): starts `member_join` events.
    Join,
    /// Leave the server: starts `member_leave` events.
    Leave,
    /// React to a message (the channel's newest unless --message says which).
    React {
        /// A unicode emoji, or a custom emoji's name.
        emoji: String,
        /// `#name` or an id; default #general.
        #[arg(long)]
        channel: Option<String>,
        /// The message's id.
        #[arg(long)]
        message: Option<String>,
        /// Take the reaction back instead (starts `reaction_remove` events).
        #[arg(long)]
        remove: bool,
    },
    /// Use a slash command: `hookbot sandbox command deploy service=billing version=2.4.1`.
    Command {
        /// The command's name, with or without the `/`.
        name: String,
        /// Options as NAME=VALUE: users by name, channels as `#name`, roles by name.
        #[arg(value_parser = parse_variable)]
        options: Vec<(String, String)>,
        /// `#name` or an id; default #general.
        #[arg(long)]
        channel: Option<String>,
    },
    /// Click a button, by its label, of a message (the channel's newest with buttons unless
    /// --message says which).
    Click {
        /// The button's label (or its custom id).
        button: String,
        /// `#name` or an id; default #general.
        #[arg(long)]
        channel: Option<String>,
        /// The message's id.
        #[arg(long)]
        message: Option<String>,
    },
}

#[derive(Subcommand)]
enum RunsCommand {
    /// One run: when, event, variables, and every step with Discord's error.
    Show {
        /// The run's id (run_…).
        run: String,
    },
    /// Put a failed or dead-lettered run back in the queue, resuming at its failed action.
    Retry {
        /// The run's id (run_…).
        run: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new API key, replacing the old one at once; print it once.
    Rotate,
}

#[derive(Subcommand)]
enum ConsoleCommand {
    /// Make a new console key, replacing the old one (its sessions end); print it once.
    Key,
}

#[derive(Subcommand)]
enum EventCommand {
    /// Write a new event file with a fresh random id; print its webhook URL.
    New {
        /// The event's name (free text).
        name: String,
        /// The Discord server (guild) id the event runs in.
        #[arg(long)]
        server: String,
    },
    /// Id, name, server and webhook URL of every event.
    List,
    /// An event's webhook URL, headers, example body, a ready-to-paste curl line and its
    /// revisions.
    Show {
        /// The event's id.
        id: String,
    },
    /// Run an event as if a webhook had arrived, printing each step.
    Test {
        /// The event's id.
        id: String,
        /// A variable, as NAME=VALUE (`--var service=billing`); repeat for more.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_variable)]
        variables: Vec<(String, String)>,
        /// Change nothing anywhere: print what each action would do.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `NAME=VALUE`, the name as between the braces (`{NAME}`), braces optional.
fn parse_variable(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    let name = name.trim().trim_start_matches('{').trim_end_matches('}');
    if name.is_empty() {
        return Err(format!("{text:?} has no name before ="));
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // serenity narrates every shard step at info; hookbot logs the connection itself.
    let default_filter = match &cli.command {
        Command::Run => "info,serenity=warn",
        // The stand-in says in plain words what reached "Discord".
        Command::Event {
            command: EventCommand::Test { .. },
        } if cli.sandbox => "warn,hookbot::sandbox=info",
        _ => "warn",
    };
    hookbot::cli::init_logs(&cli.config, cli.log_format, default_filter);
    match execute(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("hookbot: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn sandbox_act(command: SandboxCommand) -> hookbot::cli::Act {
    use hookbot::cli::Act;
    match command {
        SandboxCommand::Say { channel, text } => Act::Say { channel, text },
        SandboxCommand::Join => Act::Join,
        SandboxCommand::Leave => Act::Leave,
        SandboxCommand::React {
            emoji,
            channel,
            message,
            remove,
        } => Act::React {
            emoji,
            channel,
            message,
            remove,
        },
        SandboxCommand::Command {
            name,
            options,
            channel,
        } => Act::Command {
            name,
            options,
            channel,
        },
        SandboxCommand::Click {
            button,
            channel,
            message,
        } => Act::Click {
            button,
            channel,
            message,
        },
    }
}

/// How long `hookbot run` waits for tasks still running once it has stopped.
const RUNTIME_SHUTDOWN: std::time::Duration = std::time::Duration::from_millis(500);

/// Ok(false): the command ran and found problems (`check`).
fn execute(cli: Cli) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut stdout = std::io::stdout().lock();
    let config = cli.config.as_path();
    let sandbox = cli.sandbox;
    match cli.command {
        Command::Run => {
            let result = runtime.block_on(hookbot::cli::run(config, sandbox));
            // After a second signal, tasks may still hold on (a run in progress): the store is
            // flushed, so the process does not wait for them.
            runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
            result.map(|()| true)
        }
        Command::Check => hookbot::cli::check(config, sandbox, &mut stdout),
        Command::Key {
            command: KeyCommand::Rotate,
        } => runtime
            .block_on(hookbot::cli::key_rotate(config, sandbox, &mut stdout))
            .map(|()| true),
        Command::Console {
            command: ConsoleCommand::Key,
        } => runtime
            .block_on(hookbot::cli::console_key(config, sandbox, &mut stdout))
            .map(|()| true),
        Command::Event {
            command: EventCommand::New { name, server },
        } => runtime
            .block_on(hookbot::cli::event_new(
                config,
                sandbox,
                &name,
                &server,
                &mut stdout,
            ))
            .map(|()| true),
        Command::Event {
            command: EventCommand::List,
        } => runtime
            .block_on(hookbot::cli::event_list(config, sandbox, &mut stdout))
            .map(|()| true),
        Command::Event {
            command: EventCommand::Show { id },
        } => runtime
            .block_on(hookbot::cli::event_show(config, sandbox, &id, &mut stdout))
            .map(|()| true),
        Command::Event {
            command:
                EventCommand::Test {
                    id,
                    variables,
                    dry_run,
                },
        } => runtime.block_on(hookbot::cli::event_test(
            config,
            &id,
            &variables,
            dry_run,
            sandbox,
            &mut stdout,
        )),
        Command::Runs {
            command: None,
            event,
            failed,
            limit,
        } => runtime
            .block_on(hookbot::cli::runs_list(
                config,
                sandbox,
                event.as_deref(),
                failed,
                limit,
                &mut stdout,
            ))
            .map(|()| true),
        Command::Runs {
            command: Some(RunsCommand::Show { run }),
            ..
        } => runtime
            .block_on(hookbot::cli::runs_show(config, sandbox, &run, &mut stdout))
            .map(|()| true),
        Command::Runs {
            command: Some(RunsCommand::Retry { run }),
            ..
        } => runtime
            .block_on(hookbot::cli::runs_retry(config, sandbox, &run, &mut stdout))
            .map(|()| true),
        Command::Export => runtime
            .block_on(hookbot::cli::export(config, sandbox, &mut stdout))
            .map(|()| true),
        Command::Import { file } => runtime
            .block_on(hookbot::cli::import(config, sandbox, &file, &mut stdout))
            .map(|()| true),
        Command::Sandbox { act, user, server } => runtime
            .block_on(hookbot::cli::sandbox_act(
                config,
                sandbox_act(act),
                &user,
                server.as_deref(),
                &mut stdout,
            ))
            .map(|()| true),
    }
}
