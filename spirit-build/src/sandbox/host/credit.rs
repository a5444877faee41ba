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
