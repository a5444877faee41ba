//! Credits end to end: a priced, signed spirit that moves its payer's
//! credits through `spirit_sdk::credit`, run by `cargo spirit run --payer`,
//! with balances read back through `cargo spirit credit`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use snapbox::str;

use crate::support::{bin, cargo_spirit, new_spirit, shared_target};

/// The spirit: input is the payer's account (32 bytes) and a shop's (32
/// bytes); it moves 5 credits to the shop and reserves and consumes 10
/// (paid to its author). A 65th input byte `s` makes it spin instead.
const SHOP: &str = r#"#![cfg_attr(not(test), no_std)]

use spirit_sdk::HostError;
use spirit_sdk::credit::{self, Account};

#[spirit_sdk::main]
fn run() -> Result<(), HostError> {
    let mut input = [0u8; 65];
    let n = spirit_sdk::input::read(0, &mut input)?;
    if n == 65 && input[64] == b's' {
        loop {
            core::hint::spin_loop();
        }
    }
    let mut payer = [0u8; 32];
    let mut shop = [0u8; 32];
    payer.copy_from_slice(&input[..32]);
    shop.copy_from_slice(&input[32..64]);
    let (payer, shop) = (Account(payer), Account(shop));
    credit::transfer(&payer, &shop, 5)?;
    credit::reserve(&payer, 10)?.consume()?;
    spirit_sdk::log::info("paid");
    Ok(())
}
"#;

const SHOP_ACCOUNT: [u8; 32] = [0x5a; 32];

struct Shop {
    tmp: tempfile::TempDir,
    home: PathBuf,
    package: PathBuf,
}

impl Shop {
    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn cli(&self) -> snapbox::cmd::Command {
        cargo_spirit(self.dir()).env("VUDO_HOME", &self.home)
    }

    fn key(&self, name: &str) -> PathBuf {
        self.home.join("keys").join(format!("{name}.key"))
    }

    fn account(&self, name: &str) -> String {
        std::fs::read_to_string(self.home.join("keys").join(format!("{name}.pub")))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// An input file naming `payer` and the shop (and spinning with `spin`).
    fn input(&self, payer: &str, spin: bool) -> PathBuf {
        let mut bytes = hex(&self.account(payer));
        bytes.extend_from_slice(&SHOP_ACCOUNT);
        if spin {
            bytes.push(b's');
        }
        let path = self.dir().join(format!("{payer}-{spin}.in"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn mint(&self, account: &str, amount: u64) {
        self.cli()
            .args(["credit", "mint", account, &amount.to_string(), "-q"])
            .assert()
            .success();
    }

    /// `(balance, reserved)` of an account, through the CLI's JSON.
    fn balance(&self, account: &str) -> (u64, u64) {
        let out = self
            .cli()
            .args(["credit", "balance", account, "--message-format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        (
            json["balance"].as_u64().unwrap(),
            json["held"].as_u64().unwrap(),
        )
    }

    fn run_args(&self, payer: &str, spend_limit: u64, spin: bool) -> Vec<String> {
        let input = self.input(payer, spin);
        vec![
            "run".into(),
            self.package.display().to_string(),
            "--payer".into(),
            self.key(payer).display().to_string(),
            "--spend-limit".into(),
            spend_limit.to_string(),
            "--input".into(),
            input.display().to_string(),
            "--fuel".into(),
            if spin { "10000000000" } else { "20000" }.into(),
            "--timeout".into(),
            "60s".into(),
        ]
    }
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The shop spirit, priced at 100 + 1 per 1000 fuel, built, signed by
/// `author` and packed; keys `author`, `payer` and `poor` under its home.
fn shop(name: &str) -> Shop {
    let (tmp, dir) = new_spirit(name, "hello");
    std::fs::write(dir.join("src/lib.rs"), SHOP).unwrap();
    let cargo_toml = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo_toml).unwrap().replace(
        "capabilities = [\"actuator_log\"]",
        "capabilities = [\"actuator_log\", \"actuator_credit\"]\n\n[package.metadata.spirit.pricing]\nbase_cost = 100\nper_fuel_cost = 1",
    );
    std::fs::write(&cargo_toml, text).unwrap();
    let home = tmp.path().join("home");
    let cli = || cargo_spirit(&dir).env("VUDO_HOME", &home);
    for key in ["author", "payer", "poor"] {
        cli()
            .args(["keygen", "-q", "--name", key])
            .assert()
            .success();
    }
    cli().args(["build", "--release", "-q"]).assert().success();
    cli()
        .args(["sign", "--release", "-q", "--key"])
        .arg(home.join("keys/author.key"))
        .assert()
        .success();
    let out = cli()
        .args(["pack", "--release", "-q"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let package = PathBuf::from(String::from_utf8(out).unwrap().trim());
    Shop { tmp, home, package }
}

/// The credits of a `Charged N credits to …` line.
fn charged(stderr: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Charged "))
        .unwrap_or_else(|| panic!("no charge in {text}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_priced_run_pays_its_author_and_its_spirit_spends_within_the_limit() {
    let shop = shop("credit-shop");
    let shop_hex: String = SHOP_ACCOUNT.iter().map(|b| format!("{b:02x}")).collect();
    shop.mint("payer", 1_000);
    let out = shop
        .cli()
        .args(shop.run_args("payer", 15, false))
        .assert()
        .success()
        .stderr_eq(str![[r#"
     Running spirit `credit-shop`
[INFO credit-shop] paid
     Charged [..] credits to [..] (paid to the author, [..])

"#]]);
    let cost = charged(&out.get_output().stderr);
    assert!((100..=120).contains(&cost), "{cost}");
    assert_eq!(shop.balance("payer"), (1_000 - cost - 15, 0));
    assert_eq!(shop.balance("author"), (cost + 10, 0));
    assert_eq!(shop.balance(&shop_hex), (5, 0));

    // Without a spend limit the spirit cannot move the payer's credits:
    // its transfer returns -1, it ends with that error, and the run is
    // charged its base cost.
    let out = shop
        .cli()
        .args(shop.run_args("payer", 0, false))
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("`host_credit_transfer` returned -1: the spirit tried to move 5 credits of the payer's, but only 0 of its spend limit of 0 are left"),
        "{stderr}"
    );
    assert_eq!(charged(stderr.as_bytes()), 100);
    assert_eq!(shop.balance("payer").0, 1_000 - cost - 15 - 100);

    // A payer who cannot cover the most the run can cost (120 credits at
    // 20,000 fuel) is refused before it starts.
    shop.mint("poor", 119);
    shop.cli()
        .args(shop.run_args("poor", 15, false))
        .assert()
        .failure()
        .stderr_eq(str![[r#"
error: spirit `credit-shop` was not run: its payer cannot cover it: account [..] has 119 credits available (balance 119, 0 reserved), not the 120 needed
help: the run may cost up to 120 credits (base_cost 100 + fuel limit 20000 × per_fuel_cost 1 / 1000); lower `--fuel`, or move credits to the payer with `cargo spirit credit transfer`

"#]]);
    assert_eq!(shop.balance("poor"), (119, 0));

    // The journal has every change, with the spirit's name.
    let out = shop
        .cli()
        .args(["credit", "history", "author", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let kinds: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let entry: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(entry["spirit"] == "credit-shop" || entry["kind"] != "charge");
            entry["kind"].as_str().unwrap().to_owned()
        })
        .collect();
    // The spirit's consume comes before its run is charged.
    assert_eq!(kinds, ["consume", "charge", "charge"]);
}

/// 8 runs at once against a payer who can afford about three: each run's
/// maximum cost is held before it starts, so a payer who cannot cover it is
/// refused, and a spirit whose own transfer finds the credits held by the
/// other runs gets `-1` (and its run the base cost). Whatever the
/// interleaving, every credit the payer lost is one the author or the shop
/// gained, and the payer never goes below zero.
#[test]
fn eight_concurrent_priced_runs_never_overspend() {
    let shop = shop("credit-crowd");
    let shop_hex: String = SHOP_ACCOUNT.iter().map(|b| format!("{b:02x}")).collect();
    // What one run costs the payer: its charge plus the 15 it spends.
    shop.mint("poor", 1_000);
    let out = shop
        .cli()
        .args(shop.run_args("poor", 15, false))
        .assert()
        .success();
    let per_run = charged(&out.get_output().stderr) + 15;
    let budget = 3 * per_run + per_run / 2;
    shop.mint("payer", budget);
    let (author_before, _) = shop.balance("author");
    let (shop_before, _) = shop.balance(&shop_hex);
    let args = shop.run_args("payer", 15, false);
    let runs: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(bin())
                .arg("spirit")
                .args(&args)
                .current_dir(shop.dir())
                .env("CARGO_TARGET_DIR", shared_target())
                .env("VUDO_HOME", &shop.home)
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let (mut paid, mut charges, mut transfers, mut refused) = (0, 0, 0, 0);
    for run in runs {
        let out = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            paid += 1;
            transfers += 1;
            charges += charged(&out.stderr);
        } else if stderr.contains("was not run: its payer cannot cover it") {
            refused += 1;
        } else {
            // The spirit ran and one of its own calls found too little
            // available: charged, and its transfer done if the reserve failed.
            assert!(stderr.contains("credits available"), "{stderr}");
            charges += charged(&out.stderr);
            if stderr.contains("`host_credit_reserve` returned -1") {
                transfers += 1;
            }
        }
    }
    // Each run that starts costs at least the base cost, 100, so at most 4
    // of 8 fit in 3.5 runs' worth; at least one always starts.
    assert!((4..8).contains(&refused), "{paid} paid, {refused} refused");
    let (payer, held) = shop.balance("payer");
    let (author, _) = shop.balance("author");
    let (shop_after, _) = shop.balance(&shop_hex);
    assert_eq!(held, 0);
    assert_eq!(author - author_before, charges + 10 * paid);
    assert_eq!(shop_after - shop_before, 5 * transfers);
    assert_eq!(payer, budget - (charges + 10 * paid + 5 * transfers));
}

/// A run killed with SIGKILL while its charge is held: the next open of
/// the ledger releases the hold, and the payer has paid nothing.
#[test]
fn a_killed_run_leaves_no_reservation() {
    let shop = shop("credit-killed");
    shop.mint("payer", 20_000_000);
    let mut run = std::process::Command::new(bin())
        .arg("spirit")
        .args(shop.run_args("payer", 0, true))
        .current_dir(shop.dir())
        .env("CARGO_TARGET_DIR", shared_target())
        .env("VUDO_HOME", &shop.home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run holds its maximum cost, 100 + 10^10 / 1000.
    let deadline = Instant::now() + Duration::from_secs(60);
    while shop.balance("payer").1 == 0 {
        assert!(Instant::now() < deadline, "the run never held its cost");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap();
    run.wait().unwrap();
    assert_eq!(shop.balance("payer"), (20_000_000, 0));
    let out = shop
        .cli()
        .args(["credit", "history", "payer"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let history = String::from_utf8(out).unwrap();
    let abandon = history
        .lines()
        .find(|l| l.contains("abandon"))
        .expect(&history);
    assert!(abandon.contains(" 10000100 "), "{history}");
}

/// A priced run keeps its deadline checks (it is not ended by the process
/// alarm of unpriced runs): one that spins past its timeout is stopped by
/// the sandbox, returns, and is charged its base cost, the hold released.
#[test]
fn a_priced_run_that_times_out_is_charged_its_base_cost() {
    let shop = shop("credit-slow");
    shop.mint("payer", 20_000_000);
    let mut args = shop.run_args("payer", 0, true);
    let timeout = args.iter().position(|a| a == "60s").unwrap();
    args[timeout] = "500ms".into();
    let out = shop.cli().args(args).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("error: spirit `credit-slow` failed: timed out after 500ms"),
        "{stderr}"
    );
    assert_eq!(charged(stderr.as_bytes()), 100);
    assert_eq!(shop.balance("payer"), (20_000_000 - 100, 0));
}
