//! `cargo spirit credit`: balances, the operator's minting, transfers and
//! the journal of the local credit ledger (`VUDO_HOME/ledger`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use spirit_build::Shell;
use spirit_build::home::vudo_home;

use crate::args::FormatArg;

/// Credits: balances, minting, transfers and history of the local ledger
#[derive(Debug, Args)]
#[command(after_help = "\
ACCOUNT is an ed25519 public key in 64 hex characters, or the name of a key
under $VUDO_HOME/keys (default ~/.vudo/keys).

Examples:
  cargo spirit credit balance                  The default key's balance
  cargo spirit credit mint alice 1000          The operator issues 1000 credits
  cargo spirit credit transfer bob 250         From the default key's account
  cargo spirit credit history --message-format json")]
pub(crate) struct CreditArgs {
    #[command(subcommand)]
    command: CreditCommand,
}

#[derive(Debug, Subcommand)]
enum CreditCommand {
    /// Print an account's balance and what of it is available
    Balance {
        /// The account [default: the default key's]
        account: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Issue new credits to an account (the local node's operator: whoever
    /// can write this VUDO_HOME)
    Mint {
        /// The account credited
        account: String,
        /// How many credits
        amount: u64,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Move credits from your account (the key's) to another
    Transfer {
        /// The account credited
        to: String,
        /// How many credits
        amount: u64,
        /// The private key of the account debited [default: SPIRIT_SIGNING_KEY,
        /// else VUDO_HOME/keys/default.key]
        #[arg(long, value_name = "PATH")]
        key: Option<PathBuf>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Print the journal: every change, or those touching one account
    History {
        /// Only the entries touching this account
        account: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
}

impl CreditArgs {
    pub(crate) fn execute(self, shell: &Shell) -> anyhow::Result<ExitCode> {
        let home = vudo_home().map_err(spirit_build::Error::from)?;
        match self.command {
            CreditCommand::Balance { account, format } => {
                let balance = spirit_build::ops::credit_balance(&home, account.as_deref())?;
                format.print(shell, balance, &balance)?;
            }
            CreditCommand::Mint {
                account,
                amount,
                format,
            } => {
                let balance = spirit_build::ops::credit_mint(&home, &account, amount)?;
                shell.status(
                    "Minted",
                    format_args!("{amount} credits to {}", balance.account),
                );
                format.print(shell, balance, &balance)?;
            }
            CreditCommand::Transfer {
                to,
                amount,
                key,
                format,
            } => {
                let balance =
                    spirit_build::ops::credit_transfer(&home, &to, amount, key.as_deref())?;
                shell.status(
                    "Transferred",
                    format_args!("{amount} credits from {} to {to}", balance.account),
                );
                format.print(shell, balance, &balance)?;
            }
            CreditCommand::History { account, format } => {
                let history = spirit_build::ops::credit_history(&home, account.as_deref())?;
                if format.is_json() {
                    for entry in history.entries() {
                        format.emit(shell, entry)?;
                    }
                } else {
                    shell.write_stdout(history.to_string().as_bytes())?;
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
