//! What `cargo spirit test` reports: each test's [`TestResult`], each
//! spirit's [`Suite`], in libtest's words for people (`test name ... ok`,
//! `test result: ok. 2 passed; …`) and as JSON lines for tools.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// How one test ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestStatus {
    /// It returned (or, with `#[should_panic]`, panicked as expected).
    Passed,
    /// It failed; the message says how (the panic, the error, the trap, the
    /// limit reached).
    Failed(String),
    /// It was not run: `#[ignore]`d, with its reason when it gave one.
    Ignored(Option<String>),
}

/// One test: its name, how it ended, what it logged and wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// Its path without the crate's name, as libtest names it
    /// (`tests::counts`).
    pub name: String,
    /// How it ended.
    pub status: TestStatus,
    /// Wall-clock time of its run (instantiation included).
    pub duration: Duration,
    /// Fuel it used (0 when it did not run or did not finish).
    pub fuel_used: u64,
    /// Its log lines, as `cargo spirit run` prints them.
    pub logs: Vec<String>,
    /// What it wrote to its output.
    pub output: String,
}

impl fmt::Display for TestResult {
    /// `test tests::counts ... ok`, as libtest prints it.
    ///
    /// ```
    /// use spirit_build::ops::{TestResult, TestStatus};
    /// let mut result = TestResult {
    ///     name: "tests::counts".into(),
    ///     status: TestStatus::Passed,
    ///     duration: Default::default(),
    ///     fuel_used: 0,
    ///     logs: vec![],
    ///     output: String::new(),
    /// };
    /// assert_eq!(result.to_string(), "test tests::counts ... ok");
    /// result.status = TestStatus::Ignored(Some("slow".into()));
    /// assert_eq!(result.to_string(), "test tests::counts ... ignored, slow");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "test {} ... ", self.name)?;
        match &self.status {
            TestStatus::Passed => f.write_str("ok"),
            TestStatus::Failed(_) => f.write_str("FAILED"),
            TestStatus::Ignored(None) => f.write_str("ignored"),
            TestStatus::Ignored(Some(reason)) => write!(f, "ignored, {reason}"),
        }
    }
}

impl TestResult {
    /// The `--message-format json` line for this test.
    pub fn message(&self, spirit: &str) -> TestMessage {
        let (event, message) = match &self.status {
            TestStatus::Passed => ("ok", None),
            TestStatus::Failed(message) => ("failed", Some(message.clone())),
            TestStatus::Ignored(reason) => ("ignored", reason.clone()),
        };
        TestMessage {
            reason: "spirit-test".to_owned(),
            spirit: spirit.to_owned(),
            name: self.name.clone(),
            event: event.to_owned(),
            message,
            duration_ms: self.duration.as_secs_f64() * 1000.0,
            fuel_used: self.fuel_used,
            logs: self.logs.clone(),
            output: self.output.clone(),
        }
    }
}

/// The line `--message-format json` prints for each test.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct TestMessage {
    /// Always `spirit-test`.
    pub reason: String,
    /// The spirit whose test it is.
    pub spirit: String,
    /// The test's name.
    pub name: String,
    /// `ok`, `failed` or `ignored`.
    pub event: String,
    /// Why it failed, or why it is ignored.
    pub message: Option<String>,
    /// How long it ran, in milliseconds.
    pub duration_ms: f64,
    /// Fuel it used.
    pub fuel_used: u64,
    /// Its log lines.
    pub logs: Vec<String>,
    /// Its output.
    pub output: String,
}

/// One spirit's tests: what ran and how it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suite {
    /// The spirit.
    pub spirit: String,
    /// Every test that matched the filters, by name.
    pub tests: Vec<TestResult>,
    /// How many tests the filters left out.
    pub filtered_out: usize,
    /// Wall-clock time of all its tests.
    pub duration: Duration,
    /// Whether logs and output were printed as they came (`--nocapture`)
    /// rather than with the failures.
    pub nocapture: bool,
}

impl Suite {
    /// How many tests passed.
    pub fn passed(&self) -> usize {
        self.count(|s| matches!(s, TestStatus::Passed))
    }

    /// How many tests failed.
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, TestStatus::Failed(_)))
    }

    /// How many tests were ignored.
    pub fn ignored(&self) -> usize {
        self.count(|s| matches!(s, TestStatus::Ignored(_)))
    }

    fn count(&self, f: impl Fn(&TestStatus) -> bool) -> usize {
        self.tests.iter().filter(|t| f(&t.status)).count()
    }

    /// `running N tests`, the line before the tests (after a blank one).
    pub fn header(tests: usize) -> String {
        format!(
            "\nrunning {tests} test{}\n",
            if tests == 1 { "" } else { "s" }
        )
    }

    /// What follows the tests' lines: the failures, then `test result: …`.
    pub fn footer(&self) -> String {
        let mut out = String::from("\n");
        let failed: Vec<&TestResult> = self
            .tests
            .iter()
            .filter(|t| matches!(t.status, TestStatus::Failed(_)))
            .collect();
        if !failed.is_empty() {
            out.push_str("failures:\n\n");
            for test in &failed {
                out.push_str(&format!("---- {} stdout ----\n", test.name));
                if !self.nocapture {
                    for line in &test.logs {
                        out.push_str(line);
                        out.push('\n');
                    }
                    if !test.output.is_empty() {
                        out.push_str(&test.output);
                        if !test.output.ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                if let TestStatus::Failed(message) = &test.status {
                    out.push_str(message);
                    out.push_str("\n\n");
                }
            }
            out.push_str("\nfailures:\n");
            for test in &failed {
                out.push_str(&format!("    {}\n", test.name));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "test result: {}. {} passed; {} failed; {} ignored; 0 measured; {} filtered out; finished in {:.2}s\n\n",
            if failed.is_empty() { "ok" } else { "FAILED" },
            self.passed(),
            failed.len(),
            self.ignored(),
            self.filtered_out,
            self.duration.as_secs_f64()
        ));
        out
    }

    /// The `--message-format json` line that ends the suite.
    pub fn message(&self) -> SuiteMessage {
        SuiteMessage {
            reason: "spirit-test-result".to_owned(),
            spirit: self.spirit.clone(),
            result: if self.failed() == 0 { "ok" } else { "failed" }.to_owned(),
            passed: self.passed(),
            failed: self.failed(),
            ignored: self.ignored(),
            filtered_out: self.filtered_out,
            duration_ms: self.duration.as_secs_f64() * 1000.0,
        }
    }
}

impl fmt::Display for Suite {
    /// The whole report, as libtest prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&Suite::header(self.tests.len()))?;
        for test in &self.tests {
            writeln!(f, "{test}")?;
        }
        f.write_str(&self.footer())
    }
}

/// The line `--message-format json` prints after each spirit's tests.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SuiteMessage {
    /// Always `spirit-test-result`.
    pub reason: String,
    /// The spirit.
    pub spirit: String,
    /// `ok` or `failed`.
    pub result: String,
    /// Tests that passed.
    pub passed: usize,
    /// Tests that failed.
    pub failed: usize,
    /// Tests ignored.
    pub ignored: usize,
    /// Tests the filters left out.
    pub filtered_out: usize,
    /// How long the suite ran, in milliseconds.
    pub duration_ms: f64,
}

/// Every suite `cargo spirit test` ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestRun {
    /// One per spirit, in the order they ran.
    pub suites: Vec<Suite>,
}

impl TestRun {
    /// The spirits with a failed test.
    pub fn failed_spirits(&self) -> Vec<&str> {
        self.suites
            .iter()
            .filter(|s| s.failed() > 0)
            .map(|s| s.spirit.as_str())
            .collect()
    }
}

impl fmt::Display for TestRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.suites.iter().try_for_each(|s| write!(f, "{s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, status: TestStatus) -> TestResult {
        TestResult {
            name: name.into(),
            status,
            duration: Duration::ZERO,
            fuel_used: 0,
            logs: vec!["[INFO s] hi".into()],
            output: "out".into(),
        }
    }

    #[test]
    fn a_suite_prints_as_libtest_does() {
        let suite = Suite {
            spirit: "s".into(),
            tests: vec![
                result("a", TestStatus::Passed),
                result(
                    "b",
                    TestStatus::Failed("panicked at src/lib.rs:1:1: no".into()),
                ),
                result("c", TestStatus::Ignored(None)),
            ],
            filtered_out: 2,
            duration: Duration::from_millis(10),
            nocapture: false,
        };
        assert_eq!(
            suite.to_string(),
            "\nrunning 3 tests\ntest a ... ok\ntest b ... FAILED\ntest c ... ignored\n\
             \nfailures:\n\n---- b stdout ----\n[INFO s] hi\nout\npanicked at src/lib.rs:1:1: no\n\n\
             \nfailures:\n    b\n\
             \ntest result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 2 filtered out; finished in 0.01s\n\n"
        );
        let message = suite.message();
        assert_eq!((message.result.as_str(), message.failed), ("failed", 1));
    }

    #[test]
    fn one_test_is_singular() {
        assert_eq!(Suite::header(1), "\nrunning 1 test\n");
    }
}
