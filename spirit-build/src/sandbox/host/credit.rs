//! `host_credit_balance`, `host_credit_transfer`, `host_credit_reserve`,
//! `host_credit_release`, `host_credit_consume` and `host_credit_available`:
//! the VUDO credit functions, over the run's
//! [`RunCredits`](crate::ledger::RunCredits), which holds the rule the VUDO
//! VM lacks: a spirit debits only the run's payer, within the run's spend
//! limit, and settles only its own reservations.
//!
//! Every refusal returns `-1` to the spirit and tells the person running it
//! why (a warning, at most a few per run). An account is the 32 bytes at
//! the pointer.

use spirit_sdk::abi;
use wasmtime::Caller;

use super::{memory, range};
use crate::ledger::{Account, CreditError, MAX_RESERVE, MAX_TRANSFER};
use crate::sandbox::state::HostState;

/// The balance of the account at `account_ptr`.
pub(super) fn host_credit_balance(caller: &mut Caller<'_, HostState>, account_ptr: i32) -> i64 {
    const NAME: &str = "host_credit_balance";
    let Some(account) = guest_account(caller, account_ptr) else {
        return i64::from(abi::ERROR);
    };
    caller
        .data_mut()
        .credit(NAME, |credits| credits.holdings(&account))
        .map_or(i64::from(abi::ERROR), |h| as_i64(h.balance))
}

/// The balance minus active reservations of the account at `account_ptr`.
pub(super) fn host_credit_available(caller: &mut Caller<'_, HostState>, account_ptr: i32) -> i64 {
    const NAME: &str = "host_credit_available";
    let Some(account) = guest_account(caller, account_ptr) else {
        return i64::from(abi::ERROR);
    };
    caller
        .data_mut()
        .credit(NAME, |credits| credits.holdings(&account))
        .map_or(i64::from(abi::ERROR), |h| as_i64(h.available()))
}

/// Moves `amount` from the payer's account to another.
pub(super) fn host_credit_transfer(
    caller: &mut Caller<'_, HostState>,
    from_ptr: i32,
    to_ptr: i32,
    amount: i64,
) -> i32 {
    const NAME: &str = "host_credit_transfer";
    let (Some(from), Some(to)) = (
        guest_account(caller, from_ptr),
        guest_account(caller, to_ptr),
    ) else {
        return abi::ERROR;
    };
    let state = caller.data_mut();
    let Some(amount) = positive(state, NAME, amount, MAX_TRANSFER) else {
        return abi::ERROR;
    };
    if from == to {
        state.warn(format!(
            "`{NAME}` returned -1: a transfer needs two different accounts, not {from} twice"
        ));
        return abi::ERROR;
    }
    state
        .credit(NAME, |credits| credits.transfer(&from, &to, amount))
        .map_or(abi::ERROR, |()| abi::SUCCESS)
}

/// Holds `amount` of the payer's account; the reservation's id.
pub(super) fn host_credit_reserve(
    caller: &mut Caller<'_, HostState>,
    account_ptr: i32,
    amount: i64,
) -> i64 {
    const NAME: &str = "host_credit_reserve";
    let Some(account) = guest_account(caller, account_ptr) else {
        return i64::from(abi::ERROR);
    };
    let state = caller.data_mut();
    let Some(amount) = positive(state, NAME, amount, MAX_RESERVE) else {
        return i64::from(abi::ERROR);
    };
    state
        .credit(NAME, |credits| credits.reserve(&account, amount))
        .map_or(i64::from(abi::ERROR), as_i64)
}

/// Cancels one of this run's reservations.
pub(super) fn host_credit_release(caller: &mut Caller<'_, HostState>, reservation_id: i64) -> i32 {
    const NAME: &str = "host_credit_release";
    settle(caller.data_mut(), NAME, reservation_id, false)
}

/// Spends one of this run's reservations.
pub(super) fn host_credit_consume(caller: &mut Caller<'_, HostState>, reservation_id: i64) -> i32 {
    const NAME: &str = "host_credit_consume";
    settle(caller.data_mut(), NAME, reservation_id, true)
}

fn settle(state: &mut HostState, function: &'static str, id: i64, consume: bool) -> i32 {
    let Some(id) = u64::try_from(id).ok().filter(|id| *id > 0) else {
        state.warn(format!(
            "`{function}` returned -1: {}",
            CreditError::NotThisRun(id)
        ));
        return abi::ERROR;
    };
    state
        .credit(function, |credits| {
            if consume {
                credits.consume(id)
            } else {
                credits.release(id)
            }
        })
        .map_or(abi::ERROR, |()| abi::SUCCESS)
}

/// The account whose 32 bytes are at `ptr`, when they are inside memory.
fn guest_account(caller: &mut Caller<'_, HostState>, ptr: i32) -> Option<Account> {
    let (mem, _) = memory(caller)?;
    let r = range(mem.len(), ptr, 32)?;
    let mut account = [0u8; 32];
    account.copy_from_slice(&mem[r]);
    Some(Account(account))
}

/// `amount` as credits when it is in `1..=max`; otherwise warns.
fn positive(state: &mut HostState, function: &'static str, amount: i64, max: u64) -> Option<u64> {
    match u64::try_from(amount) {
        Ok(credits) if credits > 0 && credits <= max => Some(credits),
        _ => {
            state.warn(format!(
                "`{function}` returned -1: {}",
                CreditError::Amount {
                    function,
                    amount,
                    max
                }
            ));
            None
        }
    }
}

/// Balances and ids are below `i64::MAX` (the ledger caps balances at it).
fn as_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use spirit_sdk::abi::Capability;

    use crate::ledger::{Account, Ledger, Origin, RunCredits, Spending};
    use crate::sandbox::{
        Arg, Call, CollectingIo, Limits, LoadedSpirit, Policy, RunRequest, Sandbox, SandboxConfig,
        Value,
    };

    const PAYER: Account = Account([1; 32]);
    const OTHER: Account = Account([2; 32]);
    const AUTHOR: Account = Account([3; 32]);

    /// A VUDO VM module: the six credit imports exactly as `vudo_vm`'s
    /// linker declares them, the payer's account at 0, another at 32, and
    /// one export per function (plus a scenario) to call them with.
    const VUDO_CREDITS: &str = r#"(module
        (import "vudo" "host_credit_balance" (func $balance (param i32) (result i64)))
        (import "vudo" "host_credit_transfer" (func $transfer (param i32 i32 i64) (result i32)))
        (import "vudo" "host_credit_reserve" (func $reserve (param i32 i64) (result i64)))
        (import "vudo" "host_credit_release" (func $release (param i64) (result i32)))
        (import "vudo" "host_credit_consume" (func $consume (param i64) (result i32)))
        (import "vudo" "host_credit_available" (func $available (param i32) (result i64)))
        (memory (export "memory") 1)
        (data (i32.const 0) "\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01\01")
        (data (i32.const 32) "\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02\02")
        (func (export "balance") (param i32) (result i64) (call $balance (local.get 0)))
        (func (export "available") (param i32) (result i64) (call $available (local.get 0)))
        (func (export "transfer") (param i32 i32 i64) (result i32)
            (call $transfer (local.get 0) (local.get 1) (local.get 2)))
        (func (export "reserve") (param i32 i64) (result i64) (call $reserve (local.get 0) (local.get 1)))
        (func (export "release") (param i64) (result i32) (call $release (local.get 0)))
        (func (export "consume") (param i64) (result i32) (call $consume (local.get 0)))
        ;; Reserve 50 and consume it, reserve 20 and release it, reserve 5
        ;; and leave it, transfer 10: the payer's available balance after.
        (func (export "scenario") (result i64) (local $id i64)
            (local.set $id (call $reserve (i32.const 0) (i64.const 50)))
            (if (i32.ne (call $consume (local.get $id)) (i32.const 0)) (then unreachable))
            (local.set $id (call $reserve (i32.const 0) (i64.const 20)))
            (if (i32.ne (call $release (local.get $id)) (i32.const 0)) (then unreachable))
            (drop (call $reserve (i32.const 0) (i64.const 5)))
            (if (i32.ne (call $transfer (i32.const 0) (i32.const 32) (i64.const 10)) (i32.const 0))
                (then unreachable))
            (call $available (i32.const 0))))"#;

    struct Fixture {
        _home: tempfile::TempDir,
        ledger: Arc<Ledger>,
        sandbox: Sandbox,
        spirit: LoadedSpirit,
    }

    fn fixture() -> Fixture {
        let home = tempfile::tempdir().unwrap();
        let ledger = Arc::new(Ledger::open(home.path()).unwrap());
        ledger.mint(&PAYER, 1_000, &Origin::operator()).unwrap();
        ledger.mint(&OTHER, 500, &Origin::operator()).unwrap();
        let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
        let spirit = sandbox
            .load("vudo", &wat::parse_str(VUDO_CREDITS).unwrap())
            .unwrap();
        Fixture {
            _home: home,
            ledger,
            sandbox,
            spirit,
        }
    }

    impl Fixture {
        /// Calls `function(args)` in one run whose payer is `PAYER` with
        /// `limit`; the result and the run's warnings.
        fn call(&self, limit: u64, function: &str, args: &[&str]) -> (Value, Vec<String>) {
            let mut request = RunRequest::new(
                Policy::allow([Capability::ActuatorCredit]),
                Limits::default(),
            );
            request.call = Call::Invoke {
                function: function.into(),
                args: args.iter().map(|a| a.parse().unwrap()).collect(),
            };
            request.credits = Some(RunCredits::new(
                self.ledger.clone(),
                Some(Spending {
                    payer: PAYER,
                    limit,
                }),
                Some(AUTHOR),
                Origin::run("vudo", None),
            ));
            let outcome = self.sandbox.run(&self.spirit, request).unwrap();
            let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
            (outcome.results[0], io.warnings)
        }

        fn ok(&self, limit: u64, function: &str, args: &[&str]) -> Value {
            let (value, warnings) = self.call(limit, function, args);
            assert!(warnings.is_empty(), "{function}: {warnings:?}");
            value
        }

        /// The call returned -1, with a warning containing `why`.
        fn refused(&self, limit: u64, function: &str, args: &[&str], why: &str) {
            let (value, warnings) = self.call(limit, function, args);
            assert!(
                matches!(value, Value::I32(-1) | Value::I64(-1)),
                "{function}{args:?}: {value:?}"
            );
            assert!(
                warnings.iter().any(|w| w.contains(why)),
                "{function}{args:?}: {warnings:?} lacks {why:?}"
            );
        }
    }

    #[test]
    fn the_six_vudo_functions_work_unchanged_for_the_payer() {
        let f = fixture();
        assert_eq!(f.ok(0, "balance", &["0"]), Value::I64(1_000));
        // Any account may be read, and one never seen has 0.
        assert_eq!(f.ok(0, "balance", &["32"]), Value::I64(500));
        assert_eq!(f.ok(0, "available", &["64"]), Value::I64(0));
        // 1,000 − 50 consumed − 10 transferred − 5 still held.
        assert_eq!(f.ok(100, "scenario", &[]), Value::I64(935));
        // The 5 the run left held were released when it ended; the 50
        // consumed went to the author.
        assert_eq!(f.ledger.available(&PAYER).unwrap(), 940);
        assert_eq!(f.ledger.balance(&AUTHOR).unwrap(), 50);
        assert_eq!(f.ledger.balance(&OTHER).unwrap(), 510);
        assert!(f.ledger.audit().unwrap().is_consistent());
        assert_eq!(f.ledger.reservations().unwrap(), []);
    }

    #[test]
    fn a_spirit_cannot_debit_another_account_or_pass_its_limit() {
        let f = fixture();
        f.refused(
            1_000,
            "transfer",
            &["32", "0", "1"],
            "may debit only the payer's account",
        );
        f.refused(
            1_000,
            "reserve",
            &["32", "1"],
            "may debit only the payer's account",
        );
        f.refused(100, "transfer", &["0", "32", "101"], "spend limit of 100");
        f.refused(0, "reserve", &["0", "1"], "spend limit of 0");
        f.refused(
            5_000,
            "transfer",
            &["0", "32", "2000"],
            "not the 2000 needed",
        );
        f.refused(
            1_000,
            "transfer",
            &["0", "0", "1"],
            "two different accounts",
        );
        f.refused(
            1_000,
            "transfer",
            &["0", "32", "0"],
            "from 1 to 1000000000000, not 0",
        );
        f.refused(1_000, "transfer", &["0", "32", "-5"], "not -5");
        f.refused(
            i64::MAX as u64,
            "transfer",
            &["0", "32", "1000000000001"],
            "from 1 to 1000000000000",
        );
        f.refused(
            i64::MAX as u64,
            "reserve",
            &["0", "100000000001"],
            "from 1 to 100000000000",
        );
        // An account pointer past the end of memory.
        let (value, _) = f.call(0, "balance", &["65530"]);
        assert_eq!(value, Value::I64(-1));
        assert_eq!(f.ledger.balance(&PAYER).unwrap(), 1_000);
        assert_eq!(f.ledger.balance(&OTHER).unwrap(), 500);
    }

    #[test]
    fn reservation_ids_belong_to_the_run_that_made_them() {
        let f = fixture();
        // Made by another run (here the operator's), still active.
        let theirs = f.ledger.reserve(&PAYER, 10, &Origin::operator()).unwrap();
        let id = theirs.to_string();
        f.refused(
            100,
            "consume",
            &[&id],
            "not an active reservation of this run",
        );
        f.refused(
            100,
            "release",
            &[&id],
            "not an active reservation of this run",
        );
        f.refused(
            100,
            "release",
            &["0"],
            "not an active reservation of this run",
        );
        f.refused(
            100,
            "consume",
            &["-1"],
            "not an active reservation of this run",
        );
        assert_eq!(f.ledger.holdings(&PAYER).unwrap().held, 10);
        // A run's own reservation is released when the run ends.
        assert!(matches!(f.ok(100, "reserve", &["0", "40"]), Value::I64(id) if id > 0));
        assert_eq!(f.ledger.holdings(&PAYER).unwrap().held, 10);
    }

    #[test]
    fn without_a_ledger_or_the_capability_every_call_is_refused() {
        let f = fixture();
        let mut request = RunRequest::new(
            Policy::allow([Capability::ActuatorCredit]),
            Limits::default(),
        );
        request.call = Call::Invoke {
            function: "balance".into(),
            args: vec![Arg::Int(0)],
        };
        let outcome = f.sandbox.run(&f.spirit, request).unwrap();
        assert_eq!(outcome.results, [Value::I64(-1)]);
        let io = outcome.io.into_any().downcast::<CollectingIo>().unwrap();
        assert!(io.warnings[0].contains("this run has no credit ledger"));
        // Without `actuator_credit` the module is refused before it runs.
        let request = RunRequest::new(Policy::default(), Limits::default());
        assert!(f.sandbox.run(&f.spirit, request).is_err());
    }
}
