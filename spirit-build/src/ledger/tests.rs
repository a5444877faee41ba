use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

const PAYER: Account = Account([1; 32]);
const AUTHOR: Account = Account([2; 32]);
const OTHER: Account = Account([3; 32]);

fn op() -> Origin {
    Origin::operator()
}

fn open(home: &Path) -> Arc<Ledger> {
    Arc::new(Ledger::open(home).unwrap())
}

fn consistent(ledger: &Ledger) -> Audit {
    let audit = ledger.audit().unwrap();
    assert!(audit.is_consistent(), "{audit:?}");
    audit
}

#[test]
fn changes_persist_with_their_journal() {
    let home = tempfile::tempdir().unwrap();
    {
        let ledger = open(home.path());
        ledger.mint(&PAYER, 1_000, &op()).unwrap();
        ledger.transfer(&PAYER, &OTHER, 300, &op()).unwrap();
        let id = ledger
            .reserve(&PAYER, 200, &Origin::run("s", Some("ab".into())))
            .unwrap();
        assert_eq!(id, 1);
        ledger.consume(id, Some(&AUTHOR), &op()).unwrap();
        let id = ledger.reserve(&PAYER, 100, &op()).unwrap();
        assert_eq!(id, 2, "ids are never reused");
        ledger.release(id, &op()).unwrap();
        ledger.consume(3, None, &op()).unwrap_err();
    }
    let ledger = open(home.path());
    assert_eq!(ledger.balance(&PAYER).unwrap(), 500);
    assert_eq!(ledger.balance(&OTHER).unwrap(), 300);
    assert_eq!(ledger.balance(&AUTHOR).unwrap(), 200);
    let kinds: Vec<_> = ledger
        .history(None)
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "mint", "transfer", "reserve", "consume", "reserve", "release"
        ]
    );
    let reserve = &ledger.history(Some(&AUTHOR)).unwrap()[0];
    assert_eq!(reserve.kind, EntryKind::Consume);
    assert_eq!(ledger.history(Some(&OTHER)).unwrap().len(), 1);
    let entry = &ledger.history(None).unwrap()[2];
    assert_eq!(entry.spirit.as_deref(), Some("s"));
    assert_eq!(entry.wasm.as_deref(), Some("ab"));
    assert!(entry.run.is_some());
    assert_eq!(consistent(&ledger).entries, 6);
}

#[test]
fn refused_changes_leave_nothing() {
    let home = tempfile::tempdir().unwrap();
    let ledger = open(home.path());
    ledger.mint(&PAYER, 100, &op()).unwrap();
    let hold = ledger.reserve(&PAYER, 60, &op()).unwrap();
    let e = ledger.transfer(&PAYER, &OTHER, 50, &op()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "account {PAYER} has 40 credits available (balance 100, 60 reserved), not the 50 needed"
        )
    );
    assert!(matches!(
        ledger.transfer(&PAYER, &PAYER, 1, &op()),
        Err(LedgerError::SameAccount(_))
    ));
    assert!(matches!(
        ledger.mint(&PAYER, 0, &op()),
        Err(LedgerError::ZeroAmount)
    ));
    assert!(matches!(
        ledger.mint(&PAYER, MAX_BALANCE, &op()),
        Err(LedgerError::Overflow { .. })
    ));
    assert!(matches!(
        ledger.release(hold + 1, &op()),
        Err(LedgerError::NoReservation { .. })
    ));
    // The credit side of a transfer fails after the debit: rolled back.
    ledger.mint(&OTHER, MAX_BALANCE - 10, &op()).unwrap();
    ledger.transfer(&PAYER, &OTHER, 20, &op()).unwrap_err();
    assert_eq!(
        ledger.holdings(&PAYER).unwrap(),
        Holdings {
            balance: 100,
            held: 60
        }
    );
    assert_eq!(ledger.history(None).unwrap().len(), 3);
    consistent(&ledger);
}

#[test]
fn a_dropped_ledger_releases_its_holds_and_another_keeps_them() {
    let home = tempfile::tempdir().unwrap();
    let first = open(home.path());
    first.mint(&PAYER, 100, &op()).unwrap();
    first.reserve(&PAYER, 30, &op()).unwrap();
    let second = open(home.path());
    second.reserve(&PAYER, 20, &op()).unwrap();
    // Opening `second` did not take `first`'s live hold.
    assert_eq!(second.available(&PAYER).unwrap(), 50);
    drop(first);
    assert_eq!(second.available(&PAYER).unwrap(), 80);
    assert_eq!(second.reservations().unwrap().len(), 1);
    drop(second);
    let third = open(home.path());
    assert_eq!(
        third.holdings(&PAYER).unwrap(),
        Holdings {
            balance: 100,
            held: 0
        }
    );
    assert!(
        std::fs::read_dir(crate::home::ledger_holders_dir(home.path()))
            .unwrap()
            .all(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(&format!("{:016x}", third.holder())))
    );
    consistent(&third);
}

#[test]
fn a_run_may_debit_only_its_payer_within_its_limit() {
    let home = tempfile::tempdir().unwrap();
    let ledger = open(home.path());
    ledger.mint(&PAYER, 1_000, &op()).unwrap();
    ledger.mint(&OTHER, 1_000, &op()).unwrap();
    let spending = Spending {
        payer: PAYER,
        limit: 100,
    };
    let mut run = RunCredits::new(
        ledger.clone(),
        Some(spending),
        Some(AUTHOR),
        Origin::run("s", None),
    );
    assert!(matches!(
        run.transfer(&OTHER, &PAYER, 1),
        Err(CreditError::NotPayer { .. })
    ));
    assert!(matches!(
        run.reserve(&OTHER, 1),
        Err(CreditError::NotPayer { .. })
    ));
    assert!(matches!(
        run.transfer(&PAYER, &OTHER, 0),
        Err(CreditError::Amount { .. })
    ));
    assert!(matches!(
        run.transfer(&PAYER, &OTHER, MAX_TRANSFER + 1),
        Err(CreditError::Amount { .. })
    ));
    assert!(matches!(
        run.reserve(&PAYER, MAX_RESERVE + 1),
        Err(CreditError::Amount { .. })
    ));
    run.transfer(&PAYER, &OTHER, 30).unwrap();
    let a = run.reserve(&PAYER, 50).unwrap();
    let e = run.reserve(&PAYER, 21).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the spirit tried to move 21 credits of the payer's, but only 20 of its spend limit of 100 are left\nhelp: raise it with `--spend-limit`"
    );
    // Releasing gives the limit back; consuming does not.
    run.release(a).unwrap();
    assert_eq!(run.left(), 70);
    let b = run.reserve(&PAYER, 70).unwrap();
    run.consume(b).unwrap();
    assert_eq!(run.left(), 0);
    assert!(matches!(run.release(b), Err(CreditError::NotThisRun(_))));
    // Another run's reservation is not this run's, even when it is active.
    let mut other = RunCredits::new(
        ledger.clone(),
        Some(Spending {
            payer: PAYER,
            limit: 10,
        }),
        None,
        Origin::run("t", None),
    );
    let theirs = other.reserve(&PAYER, 10).unwrap();
    assert!(matches!(
        run.consume(theirs),
        Err(CreditError::NotThisRun(_))
    ));
    assert!(matches!(
        run.release(theirs),
        Err(CreditError::NotThisRun(_))
    ));
    // Reading any account is allowed.
    assert_eq!(run.holdings(&OTHER).unwrap().balance, 1_030);
    run.finish().unwrap();
    drop(other); // releases `theirs`
    assert_eq!(
        ledger.holdings(&PAYER).unwrap(),
        Holdings {
            balance: 900,
            held: 0
        }
    );
    assert_eq!(ledger.balance(&AUTHOR).unwrap(), 70);
    let mut no_payer = RunCredits::new(ledger.clone(), None, None, op());
    assert!(matches!(
        no_payer.reserve(&PAYER, 1),
        Err(CreditError::NoPayer)
    ));
    consistent(&ledger);
}

#[test]
fn an_unsigned_spirits_consumed_credits_are_burned() {
    let home = tempfile::tempdir().unwrap();
    let ledger = open(home.path());
    ledger.mint(&PAYER, 100, &op()).unwrap();
    let mut run = RunCredits::new(
        ledger.clone(),
        Some(Spending {
            payer: PAYER,
            limit: 40,
        }),
        None,
        op(),
    );
    let id = run.reserve(&PAYER, 40).unwrap();
    run.consume(id).unwrap();
    let audit = consistent(&ledger);
    assert_eq!((audit.minted, audit.burned, audit.balances), (100, 40, 60));
}

#[test]
fn charges_pay_the_author_and_release_the_rest() {
    let home = tempfile::tempdir().unwrap();
    let ledger = open(home.path());
    ledger.mint(&PAYER, 1_000, &op()).unwrap();
    let terms = ChargeTerms {
        payer: PAYER,
        payee: AUTHOR,
        max_cost: 400,
        min_balance: Some(900),
    };
    let charge = ledger.hold_charge(terms, Origin::run("s", None)).unwrap();
    assert_eq!(ledger.available(&PAYER).unwrap(), 600);
    // A cost above the hold is capped at it.
    let settled = charge.settle(450).unwrap();
    assert_eq!((settled.cost, settled.held), (400, 400));
    assert_eq!(ledger.balance(&PAYER).unwrap(), 600);
    assert_eq!(ledger.balance(&AUTHOR).unwrap(), 400);
    // Now below the minimum balance: refused, with what the payer has.
    let e = ledger
        .hold_charge(terms, Origin::run("s", None))
        .unwrap_err();
    assert!(
        matches!(
            e,
            LedgerError::Insufficient {
                balance: 600,
                needed: 900,
                ..
            }
        ),
        "{e}"
    );
    // An unsettled charge (the run never started) costs nothing.
    let terms = ChargeTerms {
        min_balance: None,
        ..terms
    };
    drop(ledger.hold_charge(terms, Origin::run("s", None)).unwrap());
    assert_eq!(ledger.available(&PAYER).unwrap(), 600);
    // The author running their own spirit pays nothing, whatever they have.
    let own = ChargeTerms {
        payer: AUTHOR,
        payee: AUTHOR,
        max_cost: 1 << 40,
        min_balance: Some(1 << 40),
    };
    let settled = ledger
        .hold_charge(own, op())
        .unwrap()
        .settle(1 << 40)
        .unwrap();
    assert_eq!((settled.cost, settled.held), (0, 0));
    let kinds: Vec<_> = ledger
        .history(Some(&PAYER))
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    use EntryKind::*;
    assert_eq!(kinds, [Mint, Reserve, Charge, Reserve, Release]);
    consistent(&ledger);
}

/// 8 threads charge runs of up to 150 credits against a payer with 1,000:
/// each run is held before it starts, so at most 6 run, and the payer
/// ends with exactly 1,000 − 100 × (runs that started).
#[test]
fn concurrent_priced_runs_never_overspend() {
    for keep_open in [false, true] {
        eight_runs_against_one_payer(keep_open);
    }
}

fn eight_runs_against_one_payer(keep_open: bool) {
    let home = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(home.path()).unwrap().keep_open(keep_open));
    ledger.mint(&PAYER, 1_000, &op()).unwrap();
    let barrier = std::sync::Barrier::new(8);
    let started = std::thread::scope(|s| {
        let runs: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let terms = ChargeTerms {
                        payer: PAYER,
                        payee: AUTHOR,
                        max_cost: 150,
                        min_balance: None,
                    };
                    let charge = match ledger.hold_charge(terms, Origin::run("s", None)) {
                        Ok(charge) => charge,
                        Err(LedgerError::Insufficient { .. }) => return false,
                        Err(e) => panic!("{e}"),
                    };
                    std::thread::sleep(Duration::from_millis(20));
                    charge.settle(100).unwrap();
                    true
                })
            })
            .collect();
        runs.into_iter()
            .map(|r| r.join().unwrap())
            .filter(|ran| *ran)
            .count() as u64
    });
    assert!((6..=8).contains(&started), "{started}");
    assert_eq!(ledger.balance(&PAYER).unwrap(), 1_000 - 100 * started);
    assert_eq!(ledger.balance(&AUTHOR).unwrap(), 100 * started);
    let audit = consistent(&ledger);
    assert_eq!(audit.reservations, 0);
}

/// Two handles in one process (as two embedders would have) share the
/// file by taking turns, and their transfers add up.
#[test]
fn handles_in_one_process_take_turns() {
    let home = tempfile::tempdir().unwrap();
    let a = open(home.path());
    let b = open(home.path());
    a.mint(&PAYER, 10_000, &op()).unwrap();
    std::thread::scope(|s| {
        for (ledger, to) in [(&a, &OTHER), (&b, &AUTHOR)] {
            s.spawn(move || {
                for _ in 0..50 {
                    ledger.transfer(&PAYER, to, 7, &op()).unwrap();
                }
            });
        }
    });
    assert_eq!(a.balance(&PAYER).unwrap(), 10_000 - 700);
    assert_eq!(b.balance(&OTHER).unwrap(), 350);
    assert_eq!(consistent(&b).entries, 101);
}

/// The environment variables that make this test binary a child process
/// of the tests below: what to do, and the ledger's home.
const CHILD_MODE: &str = "SPIRIT_LEDGER_TEST_CHILD";
const CHILD_HOME: &str = "SPIRIT_LEDGER_TEST_HOME";

/// Not a test of its own: the body of the child processes below, which
/// run this test binary with only this test selected.
#[test]
fn child_process() {
    let (Some(mode), Some(home)) = (std::env::var_os(CHILD_MODE), std::env::var_os(CHILD_HOME))
    else {
        return;
    };
    let home = Path::new(&home);
    let ledger = open(home);
    match mode.to_str().unwrap() {
        // Charge 10 runs of at most 150, cost 100, to the author.
        "charge" => {
            for _ in 0..10 {
                let terms = ChargeTerms {
                    payer: PAYER,
                    payee: AUTHOR,
                    max_cost: 150,
                    min_balance: None,
                };
                match ledger.hold_charge(terms, Origin::run("s", None)) {
                    Ok(charge) => {
                        charge.settle(100).unwrap();
                    }
                    Err(LedgerError::Insufficient { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
            }
        }
        // With the database kept open (never closed cleanly), hold a
        // charge without flushing, say so, and wait to be killed.
        "hold-open" => {
            let ledger = Arc::new(Ledger::open(home).unwrap().keep_open(true));
            let terms = ChargeTerms {
                payer: PAYER,
                payee: AUTHOR,
                max_cost: 400,
                min_balance: None,
            };
            let _charge = ledger.hold_charge(terms, Origin::run("s", None)).unwrap();
            assert_eq!(ledger.available(&PAYER).unwrap(), 600);
            crate::fs::write_atomic(&home.join("held"), b"").unwrap();
            std::thread::sleep(Duration::from_secs(60));
        }
        // Hold a charge, say so, and wait to be killed.
        "hold" => {
            let terms = ChargeTerms {
                payer: PAYER,
                payee: AUTHOR,
                max_cost: 400,
                min_balance: None,
            };
            let _charge = ledger.hold_charge(terms, Origin::run("s", None)).unwrap();
            crate::fs::write_atomic(&home.join("held"), b"").unwrap();
            std::thread::sleep(Duration::from_secs(60));
        }
        // Move credits back and forth, with holds, until killed.
        "churn" => {
            for round in 0.. {
                if round == 5 {
                    crate::fs::write_atomic(&home.join("churning"), b"").unwrap();
                }
                ledger.transfer(&PAYER, &OTHER, 3, &op()).unwrap();
                let id = ledger.reserve(&OTHER, 2, &op()).unwrap();
                ledger.consume(id, Some(&PAYER), &op()).unwrap();
                let id = ledger.reserve(&PAYER, 1, &op()).unwrap();
                if id.is_multiple_of(2) {
                    ledger.release(id, &op()).unwrap();
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn spawn_child(mode: &str, home: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ledger::tests::child_process",
            "--test-threads",
            "1",
            "--quiet",
        ])
        .env(CHILD_MODE, mode)
        .env(CHILD_HOME, home)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(file: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !file.exists() {
        assert!(
            Instant::now() < deadline,
            "the child never wrote {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// 4 processes × 10 priced runs of at most 150 against a payer with
/// 3,000: the payer pays exactly 100 per run that was held, the author
/// gets it, and no more than 3,000 is ever spent.
#[test]
fn concurrent_processes_never_overspend() {
    let home = tempfile::tempdir().unwrap();
    open(home.path()).mint(&PAYER, 3_000, &op()).unwrap();
    let children: Vec<_> = (0..4).map(|_| spawn_child("charge", home.path())).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let ledger = open(home.path());
    let charges = ledger
        .history(Some(&AUTHOR))
        .unwrap()
        .iter()
        .filter(|e| e.kind == EntryKind::Charge)
        .count() as u64;
    // 40 runs wanted 4,000: at least 28 fit (the last 100 credits of
    // 3,000 can stay stranded behind holds of 150), at most 30.
    assert!((28..=30).contains(&charges), "{charges}");
    assert_eq!(ledger.balance(&PAYER).unwrap(), 3_000 - 100 * charges);
    assert_eq!(ledger.balance(&AUTHOR).unwrap(), 100 * charges);
    assert_eq!(consistent(&ledger).reservations, 0);
}

/// A process killed (SIGKILL) while it holds a run's maximum cost leaves
/// the hold in the database; the next open releases it, and the payer has
/// paid nothing.
#[test]
fn a_killed_runs_hold_is_released_on_the_next_open() {
    let home = tempfile::tempdir().unwrap();
    open(home.path()).mint(&PAYER, 1_000, &op()).unwrap();
    let mut child = spawn_child("hold", home.path());
    wait_for(&home.path().join("held"));
    child.kill().unwrap();
    child.wait().unwrap();
    let ledger = open(home.path());
    assert_eq!(
        ledger.holdings(&PAYER).unwrap(),
        Holdings {
            balance: 1_000,
            held: 0
        }
    );
    let last = ledger.history(None).unwrap().pop().unwrap();
    assert_eq!((last.kind, last.amount), (EntryKind::Abandon, 400));
    consistent(&ledger);
}

/// The same with a ledger kept open: the process dies with the database
/// open and its hold committed without a flush. The next open repairs the
/// database, and the hold is gone either way (released as abandoned, or
/// never flushed).
#[test]
fn a_killed_kept_open_ledgers_hold_is_gone_on_the_next_open() {
    let home = tempfile::tempdir().unwrap();
    open(home.path()).mint(&PAYER, 1_000, &op()).unwrap();
    let mut child = spawn_child("hold-open", home.path());
    wait_for(&home.path().join("held"));
    child.kill().unwrap();
    child.wait().unwrap();
    let ledger = open(home.path());
    assert_eq!(
        ledger.holdings(&PAYER).unwrap(),
        Holdings {
            balance: 1_000,
            held: 0
        }
    );
    let audit = consistent(&ledger);
    assert_eq!(audit.reservations, 0);
    ledger.transfer(&PAYER, &OTHER, 1_000, &op()).unwrap();
}

/// A process killed at a random point while changing the ledger as fast as
/// it can: every change committed or not at all, so the ledger still adds
/// up and the killed process's holds are released.
#[test]
fn killing_a_process_mid_change_creates_and_loses_nothing() {
    let home = tempfile::tempdir().unwrap();
    open(home.path()).mint(&PAYER, 1_000_000, &op()).unwrap();
    let mut entries = 1;
    for round in 0..3u64 {
        let mut child = spawn_child("churn", home.path());
        wait_for(&home.path().join("churning"));
        std::thread::sleep(Duration::from_millis(50 + 37 * round));
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_file(home.path().join("churning")).unwrap();
        let ledger = open(home.path());
        let audit = consistent(&ledger);
        assert_eq!(audit.reservations, 0, "{audit:?}");
        assert!(
            audit.entries > entries + 10,
            "the child changed little: {audit:?}"
        );
        entries = audit.entries;
        assert_eq!(
            ledger.balance(&PAYER).unwrap() + ledger.balance(&OTHER).unwrap(),
            1_000_000
        );
    }
}
