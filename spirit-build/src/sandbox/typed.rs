//! Typed calls: a serde value in as the spirit's input, a serde value out
//! of its output, encoded as JSON ([`Sandbox::call`], Extism's
//! `plugin.call::<In, Out>`), and the [`CallError`] that says which side
//! failed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::engine::Sandbox;
use super::io::CollectingIo;
use super::load::LoadedSpirit;
use super::outcome::RunFailure;
use super::run::RunRequest;

/// Why a typed call ([`Sandbox::call`]) did not return a value.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The input could not be encoded as JSON.
    #[error("could not encode the call's input as JSON: {0}")]
    Input(#[source] serde_json::Error),
    /// The run failed; what it did until then is in the [`RunFailure`].
    #[error(transparent)]
    Run(Box<RunFailure>),
    /// The spirit returned, but its output is not JSON of the expected
    /// type.
    #[error("the spirit's output ({} bytes) is not the JSON value expected: {error}", output.len())]
    Output {
        /// Why it does not decode.
        #[source]
        error: serde_json::Error,
        /// The output, as the spirit wrote it.
        output: Vec<u8>,
    },
}

impl Sandbox {
    /// Runs `request` with `input` encoded as JSON for its input, and
    /// decodes its output as JSON into `Out`: a typed call, as Extism's
    /// `plugin.call::<In, Out>`. The run's logs and output are collected in
    /// memory (the request's own I/O sink is not used); use
    /// [`Sandbox::execute`] with [`RunRequest::with_input`] for bytes in
    /// and out.
    ///
    /// ```
    /// use spirit_build::sandbox::{Limits, Policy, RunRequest, Sandbox, SandboxConfig};
    ///
    /// // Echoes its input: a JSON value comes back as it went in.
    /// let sandbox = Sandbox::with_config(SandboxConfig::in_memory())?;
    /// let echo = sandbox.load("echo", &wat::parse_str(r#"(module
    ///     (import "vudo" "host_input_read" (func $in (param i32 i32 i32) (result i32)))
    ///     (import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))
    ///     (memory (export "memory") 1)
    ///     (func (export "run") (drop (call $out (i32.const 0) (call $in (i32.const 0) (i32.const 1000) (i32.const 0))))))"#)?)?;
    /// let request = RunRequest::new(Policy::default(), Limits::default());
    /// let back: Vec<u32> = sandbox.call(&echo, request, &[1, 2, 3])?;
    /// assert_eq!(back, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`CallError::Input`] when `input` does not encode, [`CallError::Run`]
    /// when the run fails (with its partial outcome), [`CallError::Output`]
    /// when the output is not JSON of type `Out`.
    pub fn call<In, Out>(
        &self,
        spirit: &LoadedSpirit,
        request: RunRequest,
        input: &In,
    ) -> Result<Out, CallError>
    where
        In: Serialize + ?Sized,
        Out: DeserializeOwned,
    {
        let input = serde_json::to_vec(input).map_err(CallError::Input)?;
        let mut request = request.with_input(input);
        request.io = Box::new(CollectingIo::default());
        let outcome = self.execute(spirit, request).map_err(CallError::Run)?;
        serde_json::from_slice(outcome.output()).map_err(|error| CallError::Output {
            error,
            output: outcome.output().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Limits, Policy};
    use crate::sandbox::{RunError, SandboxConfig};

    /// Writes `{"n":` and loops: out of fuel with output so far.
    const HALF: &str = r#"(module
        (import "vudo" "host_output_write" (func $out (param i32 i32) (result i32)))
        (memory (export "memory") 1) (data (i32.const 0) "{\"n\":")
        (func (export "run") (drop (call $out (i32.const 0) (i32.const 5))))
        (func (export "spin") (drop (call $out (i32.const 0) (i32.const 5))) (loop (br 0))))"#;

    #[test]
    fn each_side_of_a_typed_call_fails_in_its_own_words() {
        let sandbox = Sandbox::with_config(SandboxConfig::in_memory()).unwrap();
        let spirit = sandbox
            .load("half", &wat::parse_str(HALF).unwrap())
            .unwrap();
        let request = || RunRequest::new(Policy::default(), Limits::default());
        let error = sandbox.call::<_, u32>(&spirit, request(), &1).unwrap_err();
        assert!(
            matches!(&error, CallError::Output { output, .. } if output == b"{\"n\":"),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("the spirit's output (5 bytes) is not the JSON value expected: "),
            "{error}"
        );
        let limits = Limits {
            fuel: 50_000,
            ..Limits::default()
        };
        let spin = RunRequest::new(Policy::default(), limits)
            .with_call(crate::sandbox::Call::Entry("spin".into()));
        match sandbox.call::<_, u32>(&spirit, spin, &1).unwrap_err() {
            CallError::Run(failure) => {
                assert!(matches!(failure.error, RunError::OutOfFuel(50_000)));
                assert_eq!(failure.output(), b"{\"n\":");
            }
            other => panic!("{other}"),
        }
        let map = std::collections::HashMap::from([(vec![1u8], 1u8)]);
        assert!(matches!(
            sandbox.call::<_, u32>(&spirit, request(), &map),
            Err(CallError::Input(_))
        ));
    }
}
