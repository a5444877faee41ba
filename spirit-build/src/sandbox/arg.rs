//! The arguments of an invoked function ([`Arg`]): typed values an embedder
//! passes, or the numbers `--invoke FUNC ARGS…` parses from its text, each
//! checked against the parameter's type before the run.

use std::fmt;
use std::str::FromStr;

use super::outcome::Value;

/// One argument of an invoked function ([`Call::Invoke`](super::Call)).
///
/// An embedder passes typed values (`Arg::from(7i32)`, or a [`Value`]),
/// whose type must be the parameter's. A command line parses its text into
/// a number ([`Arg::from_str`](std::str::FromStr)) that fits any parameter
/// it can be converted to exactly as `wasmtime run --invoke` does: an
/// integer in the signed or unsigned range of an integer parameter (or any
/// float parameter), a decimal fraction for a float parameter.
///
/// ```
/// use spirit_build::sandbox::{Arg, Value};
///
/// let arg: Arg = "0x10".parse()?;
/// assert_eq!(arg.to_value("i32"), Ok(Value::I32(16)));
/// assert_eq!(arg.to_value("f64"), Ok(Value::F64(16.0)));
/// assert_eq!("4294967295".parse::<Arg>()?.to_value("i32"), Ok(Value::I32(-1)));
/// assert!("1.5".parse::<Arg>()?.to_value("i64").is_err());
/// assert!(Arg::from(7i64).to_value("i32").is_err());
/// assert!("two".parse::<Arg>().is_err());
/// # Ok::<(), spirit_build::sandbox::ArgError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    /// Exactly this value: the parameter must have its type.
    Value(Value),
    /// An integer: an integer parameter in its signed or unsigned range,
    /// or a float parameter (converted to the nearest float).
    Int(i128),
    /// A number with a fraction or exponent (or `inf`, `nan`): a float
    /// parameter only.
    Float(f64),
}

/// Why a text is not an [`Arg`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a number: give an integer (decimal, or hexadecimal after `0x`) or a decimal fraction such as 1.5"
)]
pub struct ArgError {
    /// The text given.
    pub text: String,
}

impl FromStr for Arg {
    type Err = ArgError;

    /// Decimal or `0x` hexadecimal integers (with an optional `-`), and
    /// anything Rust parses as an `f64`.
    fn from_str(text: &str) -> Result<Arg, ArgError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let hex = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"));
        let magnitude = match hex {
            Some(h) => i128::from_str_radix(h, 16).ok(),
            None if digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse::<i128>().ok(),
            None => None,
        };
        // A sign inside the digits (`--5`, `0x-5`) is not a number.
        let signed_digits =
            digits.starts_with(['-', '+']) || hex.is_some_and(|h| h.starts_with(['-', '+']));
        match magnitude {
            Some(m) if !signed_digits => Ok(Arg::Int(if negative { -m } else { m })),
            _ if hex.is_none() && !signed_digits => {
                text.parse::<f64>().map(Arg::Float).map_err(|_| ArgError {
                    text: text.to_owned(),
                })
            }
            _ => Err(ArgError {
                text: text.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Value(v) => v.fmt(f),
            Arg::Int(i) => i.fmt(f),
            Arg::Float(x) => x.fmt(f),
        }
    }
}

impl Arg {
    /// This argument as a value of the parameter type `ty` (`i32`, `i64`,
    /// `f32` or `f64`).
    ///
    /// # Errors
    ///
    /// Says why it does not fit: out of range, a fraction for an integer,
    /// a typed value of another type, or a parameter type that cannot be
    /// passed.
    pub fn to_value(&self, ty: &str) -> Result<Value, String> {
        let int = |i: i128, bits: u32| -> Result<i128, String> {
            // The signed and the unsigned range: wasm integers have no sign
            // of their own.
            let (min, max) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
            if (min..=max).contains(&i) {
                Ok(i)
            } else {
                Err(format!("`{i}` is out of range for {ty}"))
            }
        };
        Ok(match (*self, ty) {
            (Arg::Value(v), _) if v.type_name() == ty => v,
            (Arg::Value(v), "i32" | "i64" | "f32" | "f64") => {
                return Err(format!(
                    "{} `{v}` was given for a parameter of type {ty}",
                    v.type_name()
                ));
            }
            (Arg::Int(i), "i32") => Value::I32(int(i, 32)? as u32 as i32),
            (Arg::Int(i), "i64") => Value::I64(int(i, 64)? as u64 as i64),
            (Arg::Int(i), "f32") => Value::F32(i as f32),
            (Arg::Int(i), "f64") => Value::F64(i as f64),
            (Arg::Float(x), "i32" | "i64") => return Err(format!("`{x}` is not a valid {ty}")),
            (Arg::Float(x), "f32") => Value::F32(x as f32),
            (Arg::Float(x), "f64") => Value::F64(x),
            (_, other) => return Err(format!("parameters of type {other} cannot be passed")),
        })
    }
}

impl From<Value> for Arg {
    fn from(value: Value) -> Arg {
        Arg::Value(value)
    }
}

impl From<i32> for Arg {
    fn from(v: i32) -> Arg {
        Arg::Value(Value::I32(v))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Value(Value::I64(v))
    }
}

impl From<f32> for Arg {
    fn from(v: f32) -> Arg {
        Arg::Value(Value::F32(v))
    }
}

impl From<f64> for Arg {
    fn from(v: f64) -> Arg {
        Arg::Value(Value::F64(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_parses_as_the_command_line_wrote_it() {
        assert_eq!("-0x10".parse(), Ok(Arg::Int(-16)));
        assert_eq!("7".parse(), Ok(Arg::Int(7)));
        assert_eq!("-2.5".parse(), Ok(Arg::Float(-2.5)));
        assert_eq!("1e3".parse(), Ok(Arg::Float(1000.0)));
        for bad in ["", "-", "0x", "0x-5", "--5", "two", "0xzz", "1_000"] {
            assert!(bad.parse::<Arg>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_argument_is_checked_against_its_parameter() {
        assert_eq!(Arg::Int(-1).to_value("i64"), Ok(Value::I64(-1)));
        assert_eq!(
            Arg::Int(1 << 32).to_value("i32"),
            Err("`4294967296` is out of range for i32".into())
        );
        assert_eq!(
            Arg::from(1.5f32).to_value("f64"),
            Err("f32 `1.5` was given for a parameter of type f64".into())
        );
        assert_eq!(Arg::from(1.5f32).to_value("f32"), Ok(Value::F32(1.5)));
        assert_eq!(
            Arg::Int(1).to_value("v128"),
            Err("parameters of type v128 cannot be passed".into())
        );
    }
}
