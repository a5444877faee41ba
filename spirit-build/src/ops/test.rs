//! `cargo spirit test`: builds a spirit's sandbox tests for wasm32,
//! validates the module as a build does, and runs each test in the real
//! sandbox, in parallel on one engine.
//!
//! Cargo builds with `SPIRIT_SDK_TEST=1` (so `#[spirit_sdk::test]` exports
//! the tests) in `<target>/spirit-test/`, a cargo target directory of its
//! own: the normal build's `.wasm`, stripped module, manifest and
//! fingerprint are never touched, and the two builds never make each other
//! rebuild. The module is checked like a build checks it (imports against
//! the declared capabilities, the entry, memory), but not against
//! `max-size`, as the tests themselves add code; it is stripped with its
//! name section kept, so a trap names its function.
//!
//! Each test is one call in a fresh instance with a fresh temporary
//! `VUDO_HOME` (its own storage, removed afterwards), the capabilities the
//! manifest declares and the manifest's `run` limits. Results print in
//! libtest's format, in name order, as soon as every test before them is
//! done.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use spirit_sdk::sandbox_test::{EXPORT_PREFIX, TEST_ENV};

use super::examine::examine;
use super::plan::Plan;
use super::test_report::{Suite, TestResult, TestRun, TestStatus};
use crate::compile::{self, CompileUnit, MessageFormat};
use crate::manifest::ModuleLimits;
use crate::options::BuildOptions;
use crate::project::{self, SpiritPackage};
use crate::sandbox::{
    Call, CollectingIo, Limits, LoadedSpirit, LogRecord, Policy, RunError, RunRequest, Sandbox,
    SandboxConfig, SpiritIo,
};
use crate::strip::StripOptions;
use crate::validate::Expectations;
use crate::{Error, Shell};

/// Which tests to run, and how.
#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    /// What to build (the selection and cargo's flags).
    pub build: BuildOptions,
    /// Which tests.
    pub filter: TestFilter,
    /// Print each test's logs and output as it finishes, not only with
    /// the failures (`--nocapture`).
    pub nocapture: bool,
    /// How many tests run at once (default: the available parallelism).
    pub threads: Option<usize>,
    /// Go on with the next spirit's tests after one failed
    /// (`--no-fail-fast`).
    pub no_fail_fast: bool,
}

/// libtest's selection: name filters, `--skip`, `--exact`, and what
/// happens to `#[ignore]`d tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestFilter {
    /// A test runs when its name contains one of these (or, with `exact`,
    /// is one of them); none: every test.
    pub filters: Vec<String>,
    /// Tests whose names contain one of these do not run (`--skip`).
    pub skip: Vec<String>,
    /// Match whole names (`--exact`).
    pub exact: bool,
    /// `#[ignore]`d tests.
    pub ignored: Ignored,
}

/// What happens to `#[ignore]`d tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ignored {
    /// They are reported as ignored (the default).
    #[default]
    Skip,
    /// Only they run (`--ignored`).
    Only,
    /// They run with the others (`--include-ignored`).
    Include,
}

impl TestFilter {
    /// Whether a test of this name passes the name filters.
    ///
    /// ```
    /// use spirit_build::ops::TestFilter;
    /// let filter = TestFilter { filters: vec!["count".into()], ..TestFilter::default() };
    /// assert!(filter.matches("tests::counts"));
    /// assert!(!TestFilter { exact: true, ..filter }.matches("tests::counts"));
    /// ```
    pub fn matches(&self, name: &str) -> bool {
        let hit = |f: &String| {
            if self.exact {
                name == f
            } else {
                name.contains(f.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(hit)) && !self.skip.iter().any(hit)
    }
}

/// One test the module exports.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TestCase {
    /// `tests::counts`.
    name: String,
    /// The export to call.
    export: String,
    /// `#[ignore]`, with its reason.
    ignore: Option<Option<String>>,
    /// `#[should_panic]`, with its expected text.
    should_panic: Option<Option<String>>,
}

/// Builds the selected spirits' sandbox tests and runs them; prints each
/// suite as it runs (libtest's format, or JSON lines with
/// [`MessageFormat::Json`]) and returns every result.
///
/// # Errors
///
/// Fails when a spirit does not compile or its test module fails
/// validation (with the build's message), or when the sandbox cannot be
/// set up. A failing test is not an error: it is in the [`TestRun`].
pub fn test(shell: &Shell, options: &TestOptions) -> Result<TestRun, Error> {
    let plan = Plan::new(&options.build.selection)?;
    let project = project::load_at(&options.build.selection, plan.manifest_path.clone())?;
    let mut compile_options = options.build.compile.clone();
    let target_dir = compile_options
        .absolute_target_dir()
        .unwrap_or_else(|| project.target_directory.clone());
    compile_options.target_dir = Some(test_target_dir(&target_dir));
    let units: Vec<CompileUnit> = project.spirits.iter().map(CompileUnit::of).collect();
    let artifacts = compile::compile_with_env(
        shell,
        &plan.dir,
        &units,
        &compile_options,
        &[(TEST_ENV, "1")],
    )?;
    let threads = options
        .threads
        .or_else(|| std::thread::available_parallelism().ok().map(Into::into))
        .unwrap_or(1)
        .max(1);
    let sandbox = Sandbox::with_config(SandboxConfig {
        max_instances: u32::try_from(threads).unwrap_or(u32::MAX),
        ..SandboxConfig::in_memory()
    })?;
    let format = options.build.compile.message_format;
    let mut run = TestRun::default();
    for (spirit, artifact) in project.spirits.iter().zip(&artifacts) {
        let wasm = crate::fs::read(&artifact.path)?;
        let suite = run_suite(
            shell,
            &sandbox,
            spirit,
            &wasm,
            &artifact.path,
            options,
            threads,
        )?;
        if format == MessageFormat::Json {
            format
                .emit(shell, &suite.message())
                .map_err(compile::CompileError::Forward)?;
        }
        let failed = suite.failed() > 0;
        run.suites.push(suite);
        if failed && !options.no_fail_fast {
            break;
        }
    }
    Ok(run)
}

/// Where `cargo spirit test` has cargo build: a target directory of its
/// own inside the normal one, so neither build overwrites the other.
///
/// ```
/// use std::path::Path;
/// let dir = spirit_build::ops::test_target_dir(Path::new("target"));
/// assert_eq!(dir, Path::new("target/spirit-test"));
/// ```
pub fn test_target_dir(target_dir: &Path) -> std::path::PathBuf {
    target_dir.join("spirit-test")
}

fn run_suite(
    shell: &Shell,
    sandbox: &Sandbox,
    spirit: &SpiritPackage,
    wasm: &[u8],
    path: &Path,
    options: &TestOptions,
    threads: usize,
) -> Result<Suite, Error> {
    let subject = format!("spirit `{}`", spirit.name);
    let expected = Expectations {
        capabilities: &spirit.config.capabilities,
        entry: &spirit.config.entry,
    };
    // The tests add code: the size says nothing about the spirit's.
    let limits = ModuleLimits {
        max_size: u64::MAX,
        ..spirit.config.limits
    };
    let strip = StripOptions { keep_names: true };
    let (_, stripped) = examine(shell, &subject, wasm, &expected, &limits, strip, None)?;
    let cases = test_cases(shell, &stripped);
    let total = cases.len();
    let cases: Vec<TestCase> = cases
        .into_iter()
        .filter(|case| options.filter.matches(&case.name))
        .filter(|case| options.filter.ignored != Ignored::Only || case.ignore.is_some())
        .collect();
    let filtered_out = total - cases.len();
    shell.status(
        "Running",
        format_args!("sandbox tests of {subject} ({})", path.display()),
    );
    let loaded = sandbox.load(&spirit.name, &stripped)?;
    let setup = Setup {
        shell,
        spirit: &loaded,
        policy: Policy::allow(spirit.config.capabilities.iter().copied()),
        limits: spirit.config.run,
        format: options.build.compile.message_format,
        nocapture: options.nocapture,
        run_ignored: options.filter.ignored != Ignored::Skip,
    };
    let json = setup.format == MessageFormat::Json;
    if !json {
        shell
            .write_stdout(Suite::header(cases.len()).as_bytes())
            .map_err(compile::CompileError::Forward)?;
    }
    let started = Instant::now();
    let tests = setup.run_all(sandbox, &cases, threads)?;
    let suite = Suite {
        spirit: spirit.name.clone(),
        tests,
        filtered_out,
        duration: started.elapsed(),
        nocapture: options.nocapture,
    };
    if !json {
        shell
            .write_stdout(suite.footer().as_bytes())
            .map_err(compile::CompileError::Forward)?;
    }
    Ok(suite)
}

/// The tests a module exports, by name.
fn test_cases(shell: &Shell, wasm: &[u8]) -> Vec<TestCase> {
    let mut cases = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(wasmparser::Payload::ExportSection(exports)) = payload else {
            continue;
        };
        for export in exports.into_iter().flatten() {
            if export.kind != wasmparser::ExternalKind::Func {
                continue;
            }
            let Some(json) = export.name.strip_prefix(EXPORT_PREFIX) else {
                continue;
            };
            match parse_case(export.name, json) {
                Some(case) => cases.push(case),
                None => shell.warn(format_args!(
                    "skipping the export `{}`: not a test `#[spirit_sdk::test]` of this version wrote",
                    export.name
                )),
            }
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// A test from its export's JSON: `{"path":"crate::tests","name":"counts",…}`.
fn parse_case(export: &str, json: &str) -> Option<TestCase> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let path = value.get("path")?.as_str()?;
    let name = value.get("name")?.as_str()?;
    // libtest leaves out the crate's name.
    let name = match path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_owned(),
    };
    let option = |key: &str| match value.get(key) {
        Some(serde_json::Value::String(text)) => Some(Some(text.clone())),
        Some(serde_json::Value::Bool(true)) => Some(None),
        _ => None,
    };
    Some(TestCase {
        name,
        export: export.to_owned(),
        ignore: option("ignore"),
        should_panic: option("should_panic"),
    })
}

/// What every test of one suite runs with.
struct Setup<'a> {
    shell: &'a Shell,
    spirit: &'a LoadedSpirit,
    policy: Policy,
    limits: Limits,
    format: MessageFormat,
    nocapture: bool,
    run_ignored: bool,
}

/// Finished tests not printed yet, and the first one not printed.
struct Printing {
    next: usize,
    done: Vec<Option<TestResult>>,
}

impl Setup<'_> {
    /// Runs `cases` on `threads` threads; prints each result once every
    /// result before it is printed, so the output is in name order.
    fn run_all(
        &self,
        sandbox: &Sandbox,
        cases: &[TestCase],
        threads: usize,
    ) -> Result<Vec<TestResult>, Error> {
        let next_case = AtomicUsize::new(0);
        let printing = Mutex::new(Printing {
            next: 0,
            done: vec![None; cases.len()],
        });
        let failure: Mutex<Option<std::io::Error>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..threads.min(cases.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next_case.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(i) else { break };
                        let result = self.run_one(sandbox, case);
                        let mut printing = printing.lock().unwrap_or_else(|e| e.into_inner());
                        printing.done[i] = Some(result);
                        while let Some(Some(result)) = printing.done.get(printing.next) {
                            if let Err(e) = self.print(result) {
                                failure
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .get_or_insert(e);
                            }
                            printing.next += 1;
                        }
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(compile::CompileError::Forward(e).into());
        }
        Ok(printing
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .done
            .into_iter()
            .flatten()
            .collect())
    }

    fn print(&self, result: &TestResult) -> std::io::Result<()> {
        if self.format == MessageFormat::Json {
            return self
                .format
                .emit(self.shell, &result.message(self.spirit.name()));
        }
        if self.nocapture {
            for line in &result.logs {
                self.shell.print_err_line(line);
            }
            self.shell.write_stdout(result.output.as_bytes())?;
        }
        self.shell.write_stdout(format!("{result}\n").as_bytes())
    }

    fn run_one(&self, sandbox: &Sandbox, case: &TestCase) -> TestResult {
        let mut result = TestResult {
            name: case.name.clone(),
            status: TestStatus::Passed,
            duration: Duration::ZERO,
            fuel_used: 0,
            logs: Vec::new(),
            output: String::new(),
        };
        if let Some(reason) = &case.ignore
            && !self.run_ignored
        {
            result.status = TestStatus::Ignored(reason.clone());
            return result;
        }
        let home = match tempfile::Builder::new().prefix("spirit-test-").tempdir() {
            Ok(home) => home,
            Err(e) => {
                result.status = TestStatus::Failed(format!(
                    "could not create a temporary VUDO_HOME for the test: {e}"
                ));
                return result;
            }
        };
        let io = SharedIo::default();
        let mut request = RunRequest::new(self.policy.clone(), self.limits);
        request.call = Call::Entry(case.export.clone());
        request.io = Box::new(io.clone());
        let started = Instant::now();
        let outcome =
            sandbox.run_with_storage(self.spirit, request, &crate::home::storage_dir(home.path()));
        result.duration = started.elapsed();
        let collected = io.take();
        result.logs = collected.logs.iter().map(LogRecord::to_string).collect();
        result
            .logs
            .extend(collected.warnings.iter().map(|w| format!("warning: {w}")));
        result.output = String::from_utf8_lossy(&collected.output).into_owned();
        result.status = match outcome {
            Ok(outcome) => {
                result.fuel_used = outcome.fuel_used;
                match (&case.should_panic, outcome.status) {
                    (Some(_), _) => {
                        TestStatus::Failed("note: test did not panic as expected".into())
                    }
                    (None, 0) => TestStatus::Passed,
                    (None, status) => {
                        TestStatus::Failed(format!("the test returned status {status}, not 0"))
                    }
                }
            }
            Err(error) => verdict(case, &error, &self.limits),
        };
        result
    }
}

/// Whether a test that ended with `error` failed, and how to say so.
fn verdict(case: &TestCase, error: &RunError, limits: &Limits) -> TestStatus {
    let panic = match error {
        RunError::Aborted(message) if message.starts_with("panicked") => Some(message),
        _ => None,
    };
    match (&case.should_panic, panic) {
        (Some(None), Some(_)) => return TestStatus::Passed,
        (Some(Some(expected)), Some(message)) if message.contains(expected.as_str()) => {
            return TestStatus::Passed;
        }
        (Some(Some(expected)), Some(message)) => {
            return TestStatus::Failed(format!(
                "{message}\nnote: panic did not contain expected string\n      panic message: {message:?},\n expected substring: {expected:?}"
            ));
        }
        _ => {}
    }
    let limit = |what: &str, key: &str| {
        format!("{what}\nhelp: the limit is `run.{key}` under [package.metadata.spirit]")
    };
    TestStatus::Failed(match error {
        RunError::OutOfFuel(used) => limit(&format!("out of fuel after {used} units"), "fuel"),
        RunError::Timeout(_) => limit(&format!("timed out after {:?}", limits.timeout), "timeout"),
        RunError::MemoryLimit(bytes) => limit(
            &format!("memory limit of {} reached", crate::units::Bytes(*bytes)),
            "max-memory",
        ),
        RunError::Aborted(message) => message.clone(),
        other => other.to_string(),
    })
}

/// A test's logs and output, kept where the runner can read them even when
/// the run fails (a failed run does not hand its I/O back).
#[derive(Clone, Debug, Default)]
struct SharedIo(Arc<Mutex<CollectingIo>>);

impl SharedIo {
    fn take(&self) -> CollectingIo {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl SpiritIo for SharedIo {
    fn log(&mut self, record: LogRecord) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).log(record);
    }

    fn output(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .output(bytes)
    }

    fn warning(&mut self, message: String) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .warning(message);
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_names_its_test_without_the_crate() {
        let export = r#"__spirit_test:{"path":"hello::tests","name":"counts","ignore":"slow","should_panic":true}"#;
        let json = export.strip_prefix(EXPORT_PREFIX).unwrap();
        let case = parse_case(export, json).unwrap();
        assert_eq!(case.name, "tests::counts");
        assert_eq!(case.ignore, Some(Some("slow".into())));
        assert_eq!(case.should_panic, Some(None));
        let root = parse_case(export, r#"{"path":"hello","name":"works"}"#).unwrap();
        assert_eq!((root.name.as_str(), root.ignore), ("works", None));
        assert!(parse_case(export, "{").is_none());
    }

    #[test]
    fn should_panic_passes_on_a_panic_with_the_expected_text() {
        let case = |expected: Option<&str>| TestCase {
            name: "t".into(),
            export: "e".into(),
            ignore: None,
            should_panic: Some(expected.map(Into::into)),
        };
        let panic = RunError::Aborted("panicked at src/lib.rs:1:1: boom".into());
        let limits = Limits::default();
        assert_eq!(verdict(&case(None), &panic, &limits), TestStatus::Passed);
        assert_eq!(
            verdict(&case(Some("boom")), &panic, &limits),
            TestStatus::Passed
        );
        assert!(matches!(
            verdict(&case(Some("bang")), &panic, &limits),
            TestStatus::Failed(m) if m.contains("did not contain expected string")
        ));
        // An error returned is not a panic.
        let error = RunError::Aborted("storage is full".into());
        assert!(matches!(
            verdict(&case(None), &error, &limits),
            TestStatus::Failed(m) if m == "storage is full"
        ));
    }
}
