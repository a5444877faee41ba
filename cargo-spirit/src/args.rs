//! The arguments several commands share: cargo's build flags,
//! `--message-format` (and the one way a command writes JSON), and the
//! value parsers of capabilities and keys.

use std::fmt::Display;
use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::Serialize;
use spirit_build::compile::CompileOptions;
use spirit_build::ops::{BuildOptions, Target};
use spirit_build::project::Selection;
use spirit_build::strip::StripOptions;
use spirit_build::{MessageFormat, Shell};

/// The cargo flags shared by every command that builds.
#[derive(Clone, Debug, Args)]
pub(crate) struct CargoArgs {
    /// Package to build (see `cargo help pkgid`); repeatable
    #[arg(
        short,
        long = "package",
        value_name = "SPEC",
        help_heading = "Package Selection"
    )]
    package: Vec<String>,
    /// Build every spirit in the workspace
    #[arg(long, help_heading = "Package Selection")]
    workspace: bool,
    /// Exclude packages from the build (with --workspace)
    #[arg(
        long,
        value_name = "SPEC",
        requires = "workspace",
        help_heading = "Package Selection"
    )]
    exclude: Vec<String>,
    /// Space or comma separated list of features to activate
    #[arg(
        short = 'F',
        long,
        value_name = "FEATURES",
        help_heading = "Feature Selection"
    )]
    features: Vec<String>,
    /// Activate all available features
    #[arg(long, help_heading = "Feature Selection")]
    all_features: bool,
    /// Do not activate the `default` feature
    #[arg(long, help_heading = "Feature Selection")]
    no_default_features: bool,
    /// Path to Cargo.toml
    #[arg(long, value_name = "PATH", help_heading = "Manifest Options")]
    manifest_path: Option<PathBuf>,
    /// Assert that `Cargo.lock` will remain unchanged
    #[arg(long, help_heading = "Manifest Options")]
    locked: bool,
    /// Run without accessing the network
    #[arg(long, help_heading = "Manifest Options")]
    offline: bool,
    /// Equivalent to specifying both --locked and --offline
    #[arg(long, help_heading = "Manifest Options")]
    frozen: bool,
    /// Build with the release profile
    #[arg(
        short,
        long,
        conflicts_with = "profile",
        help_heading = "Compilation Options"
    )]
    release: bool,
    /// Build with the given profile
    #[arg(
        long,
        value_name = "PROFILE-NAME",
        help_heading = "Compilation Options"
    )]
    profile: Option<String>,
    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIRECTORY", help_heading = "Compilation Options")]
    target_dir: Option<PathBuf>,
    /// Keep the name section (for profiling and readable traps)
    #[arg(long, help_heading = "Compilation Options")]
    keep_debug: bool,
}

impl CargoArgs {
    /// The options, with the release profile unless one was chosen (what
    /// `install` builds with, as `cargo install` does).
    pub(crate) fn release_options(mut self) -> BuildOptions {
        if self.profile.is_none() {
            self.release = true;
        }
        self.options()
    }

    /// The build options these flags say.
    pub(crate) fn options(self) -> BuildOptions {
        BuildOptions {
            selection: Selection {
                manifest_path: self.manifest_path,
                packages: self.package,
                workspace: self.workspace,
                exclude: self.exclude,
            },
            compile: CompileOptions {
                profile: if self.release {
                    Some("release".to_owned())
                } else {
                    self.profile
                },
                target_dir: self.target_dir,
                features: self.features,
                all_features: self.all_features,
                no_default_features: self.no_default_features,
                locked: self.locked,
                offline: self.offline,
                frozen: self.frozen,
                message_format: MessageFormat::Human,
            },
            strip: StripOptions {
                keep_names: self.keep_debug,
            },
        }
    }
}

/// A TARGET argument, classified; none is the crate(s) `options` select.
pub(crate) fn target(arg: Option<&Path>, options: BuildOptions) -> anyhow::Result<Target> {
    Ok(Target::classify(arg, options).map_err(spirit_build::Error::from)?)
}

/// `--message-format`: what goes to standard output.
#[derive(Clone, Copy, Debug, Args)]
pub(crate) struct FormatArg {
    /// The output format: human, or json (one object per line, for CI)
    #[arg(
        long = "message-format",
        value_name = "FMT",
        default_value = "human",
        value_parser = message_formats()
    )]
    pub(crate) format: MessageFormat,
}

/// The formats as clap's possible values.
fn message_formats() -> impl TypedValueParser<Value = MessageFormat> {
    PossibleValuesParser::new(MessageFormat::ALL.map(MessageFormat::as_str))
        .try_map(|name| name.parse::<MessageFormat>())
}

impl FormatArg {
    /// Whether `--message-format json` was given.
    pub(crate) fn is_json(self) -> bool {
        self.format.is_json()
    }

    /// JSON when `json` (the older `--json` flag) or `--message-format json`.
    pub(crate) fn or_json(self, json: bool) -> FormatArg {
        if json {
            FormatArg {
                format: MessageFormat::Json,
            }
        } else {
            self
        }
    }

    /// With `--message-format json`, `message` as one line on standard
    /// output: every JSON line of a command goes through here.
    pub(crate) fn emit(self, shell: &Shell, message: &impl Serialize) -> anyhow::Result<()> {
        self.format.emit(shell, message)?;
        Ok(())
    }

    /// With `--message-format json`, `data`'s fields and `"reason": reason`
    /// as one line.
    pub(crate) fn emit_event(
        self,
        shell: &Shell,
        reason: &str,
        data: &impl Serialize,
    ) -> anyhow::Result<()> {
        if self.is_json() {
            let mut message = serde_json::to_value(data)?;
            message["reason"] = reason.into();
            self.emit(shell, &message)?;
        }
        Ok(())
    }

    /// `human` as it is, or with `--message-format json`, `json` as one line.
    pub(crate) fn print(
        self,
        shell: &Shell,
        human: impl Display,
        json: &impl Serialize,
    ) -> anyhow::Result<()> {
        if self.is_json() {
            self.emit(shell, json)
        } else {
            Ok(shell.write_stdout(human.to_string().as_bytes())?)
        }
    }
}

/// Parses a capability name for `--allow` and `--deny`.
pub(crate) fn capability(name: &str) -> Result<spirit_sdk::abi::Capability, String> {
    use spirit_sdk::abi::Capability;
    Capability::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "unknown capability `{name}`; accepted: {}",
            names.join(", ")
        )
    })
}

/// Parses an author or node key (64 hex characters) for `--author`, `--node`
/// and `trust`.
pub(crate) fn author(hex: &str) -> Result<spirit_build::sign::Author, String> {
    spirit_build::sign::Author::from_hex(hex).map_err(|e| e.to_string())
}

/// Parses `--fuel`: a number of units, at least 1.
pub(crate) fn fuel(text: &str) -> Result<u64, String> {
    let units: u64 = text.trim().parse().map_err(|_| {
        format!(
            "invalid fuel `{text}`: expected a whole number of units from 1 to {}, such as `1000000`",
            u64::MAX
        )
    })?;
    spirit_build::limits::check::fuel(units).map_err(|e| e.to_string())
}

/// Parses `--max-memory`: a size from 64 KiB to 4 GiB.
pub(crate) fn max_memory(text: &str) -> Result<u64, String> {
    let size = spirit_build::units::parse_size(text)?;
    spirit_build::limits::check::max_memory(size).map_err(|e| e.to_string())
}

/// Parses `--max-input`: a size from 1 byte to 2 GiB − 1.
pub(crate) fn max_input(text: &str) -> Result<u64, String> {
    let size = spirit_build::units::parse_size(text)?;
    spirit_build::limits::check::max_input(size).map_err(|e| e.to_string())
}

/// How to reach an OCI registry: `push`, `pull`, and `install` of a
/// reference.
#[derive(Clone, Debug, Args)]
pub(crate) struct RegistryArgs {
    /// Speak plain HTTP to the registry (one on loopback or a lab network)
    #[arg(long, help_heading = "Registry Options")]
    plain_http: bool,
    /// The registry user name (the password is read from standard input);
    /// without it, Docker's credentials for the registry are used
    #[arg(
        long,
        value_name = "USER",
        requires = "password_stdin",
        help_heading = "Registry Options"
    )]
    username: Option<String>,
    /// Read the registry password (or token) from standard input
    #[arg(long, requires = "username", help_heading = "Registry Options")]
    password_stdin: bool,
}

impl RegistryArgs {
    /// The client options for `reference`: the credentials given, else
    /// those of Docker's configuration for its registry.
    pub(crate) fn client_options(
        &self,
        reference: &spirit_build::oci::Reference,
    ) -> anyhow::Result<spirit_build::oci::ClientOptions> {
        use spirit_build::oci::Credentials;
        let credentials = match &self.username {
            Some(username) => {
                use std::io::Read;
                let mut password = String::new();
                // A password or token is short; anything longer is not one.
                std::io::stdin()
                    .take(64 << 10)
                    .read_to_string(&mut password)
                    .map_err(|e| {
                        anyhow::anyhow!("could not read the password from standard input: {e}")
                    })?;
                let password = password.trim_end_matches(['\n', '\r']).to_owned();
                if password.is_empty() {
                    anyhow::bail!(
                        "`--password-stdin` read no password from standard input\nhelp: pipe it in, e.g. `echo \"$TOKEN\" | cargo spirit push --username USER --password-stdin …`"
                    );
                }
                Credentials::Basic {
                    username: username.clone(),
                    password,
                }
            }
            None => Credentials::from_docker_config(reference.registry())
                .map_err(spirit_build::Error::from)?,
        };
        Ok(spirit_build::oci::ClientOptions {
            plain_http: self.plain_http,
            credentials,
        })
    }
}

/// The network flags `run` and `seance` share: where a spirit may connect
/// and listen beyond its manifest's `[network]`, and the limits.
#[derive(Clone, Debug, Args)]
pub(crate) struct NetworkArgs {
    /// Let the spirit connect to (and send HTTP requests to) this entry:
    /// `host:port`, `*.example.org:443`, `127.0.0.1:6379` or
    /// `https://api.example.com`; repeatable, added to the manifest's
    /// `[network] connect` (each spirit's, in a séance). Needs
    /// `network_connect`
    #[arg(long, value_name = "PATTERN", value_parser = connect_rule)]
    allow_net: Vec<spirit_build::net::ConnectRule>,
    /// Let the spirit listen on this IP:PORT; repeatable, added to the
    /// manifest's `[network] listen`. Needs `network_listen`
    #[arg(long, value_name = "ADDR:PORT", value_parser = listen_rule)]
    allow_listen: Vec<spirit_build::net::ListenRule>,
    /// The longest one network lookup, connect, send or HTTP request may
    /// take, never past the run's (an invocation's) timeout [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = spirit_build::units::parse_duration)]
    net_timeout: Option<std::time::Duration>,
    /// The largest HTTP response body a spirit may receive, up to 1GiB
    /// [default: 8MiB]
    #[arg(long, value_name = "SIZE", value_parser = max_response)]
    max_response: Option<u64>,
    /// Also trust the certificate authorities in this PEM file for HTTPS
    /// (besides Mozilla's roots)
    #[arg(long, value_name = "FILE", env = "SPIRIT_NET_CA_FILE")]
    net_ca: Option<PathBuf>,
}

impl NetworkArgs {
    /// The access these flags give, the extra roots read from `--net-ca`.
    pub(crate) fn access(self) -> anyhow::Result<spirit_build::net::NetworkAccess> {
        use spirit_build::net::{Allowlist, NetLimits, NetworkAccess};
        let defaults = NetLimits::default();
        Ok(NetworkAccess {
            allowlist: Allowlist {
                connect: self.allow_net,
                listen: self.allow_listen,
            },
            limits: NetLimits {
                timeout: self.net_timeout.unwrap_or(defaults.timeout),
                max_response: self.max_response.unwrap_or(defaults.max_response),
                ..defaults
            },
            extra_roots: match &self.net_ca {
                Some(path) => spirit_build::net::read_roots(path)?,
                None => Vec::new(),
            },
        })
    }
}

/// Parses `--allow-net`: a connect allowlist entry.
pub(crate) fn connect_rule(text: &str) -> Result<spirit_build::net::ConnectRule, String> {
    spirit_build::net::ConnectRule::parse(text).map_err(|e| e.to_string())
}

/// Parses `--allow-listen`: `IP:PORT`.
pub(crate) fn listen_rule(text: &str) -> Result<spirit_build::net::ListenRule, String> {
    spirit_build::net::ListenRule::parse(text).map_err(|e| e.to_string())
}

/// Parses `--max-response`: a size from 1 byte to 1 GiB.
pub(crate) fn max_response(text: &str) -> Result<u64, String> {
    let size = spirit_build::units::parse_size(text)?;
    if (1..=1 << 30).contains(&size) {
        Ok(size)
    } else {
        Err(format!(
            "the response limit must be between 1 byte and 1GiB, not {text}"
        ))
    }
}
