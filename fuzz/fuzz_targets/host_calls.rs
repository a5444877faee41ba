//! Host calls driven by arbitrary arguments: each input becomes a module
//! that imports every function of the host ABI (`spirit_sdk::abi::HOST_FUNCTIONS`)
//! and calls them in an arbitrary order with arbitrary `i32`/`i64`
//! arguments (biased towards the edges of its memory, where range checks
//! live), over memory holding arbitrary bytes (invalid UTF-8 for `host_log`,
//! for instance). It runs with every capability granted and a real storage
//! directory. The host must never panic: a trap, an abort or `-1` is fine.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use spirit_build::sandbox::{
    Limits, Policy, RunError, RunRequest, Sandbox, SandboxConfig, StorageQuota,
};
use spirit_sdk::abi::{self, Capability, HOST_FUNCTIONS};
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, ImportSection, Instruction, MemorySection, MemoryType, Module, TypeSection,
    ValType,
};

/// One argument.
#[derive(Arbitrary, Debug)]
enum Arg {
    /// An offset within the first page or just past it.
    Near(u16),
    /// A value at an edge: zero, -1, the page size, the extremes.
    Edge(u8),
    /// Anything.
    Any(i64),
}

impl Arg {
    fn value(&self) -> i64 {
        const EDGES: &[i64] = &[
            0,
            1,
            -1,
            65_535,
            65_536,
            65_537,
            131_072,
            i32::MAX as i64,
            i32::MIN as i64,
            u32::MAX as i64,
            i64::MAX,
            i64::MIN,
        ];
        match *self {
            Arg::Near(v) => i64::from(v) + i64::from(v % 3),
            Arg::Edge(i) => EDGES[usize::from(i) % EDGES.len()],
            Arg::Any(v) => v,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// `(index into HOST_FUNCTIONS, arguments)`.
    calls: Vec<(u8, Vec<Arg>)>,
    /// Bytes placed in memory at `data_offset`.
    data: Vec<u8>,
    data_offset: u16,
    /// 0, 1 or 2 pages of memory.
    pages: u8,
    /// What `host_input_read` returns.
    input: Vec<u8>,
    /// Deterministic mode, or the real clock and randomness.
    seed: Option<u64>,
}

fn module(input: &Input) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    let val = |t: &abi::ValType| match t {
        abi::ValType::I32 => ValType::I32,
        abi::ValType::I64 => ValType::I64,
        abi::ValType::F64 => ValType::F64,
    };
    for (i, f) in HOST_FUNCTIONS.iter().enumerate() {
        types
            .ty()
            .function(f.params.iter().map(val), f.results.iter().map(val));
        imports.import(abi::MODULE, f.name, EntityType::Function(i as u32));
    }
    let run_type = HOST_FUNCTIONS.len() as u32;
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    functions.function(run_type);
    let pages = u64::from(input.pages % 3);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: pages,
        maximum: Some(pages),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export(abi::MEMORY_EXPORT, ExportKind::Memory, 0);
    exports.export(
        abi::DEFAULT_ENTRY,
        ExportKind::Func,
        HOST_FUNCTIONS.len() as u32,
    );

    let mut body = Function::new([]);
    for (index, args) in input.calls.iter().take(64) {
        let f_index = usize::from(*index) % HOST_FUNCTIONS.len();
        let f = &HOST_FUNCTIONS[f_index];
        for (i, ty) in f.params.iter().enumerate() {
            let v = args.get(i).map_or(0, Arg::value);
            match ty {
                abi::ValType::I32 => body.instruction(&Instruction::I32Const(v as i32)),
                abi::ValType::I64 => body.instruction(&Instruction::I64Const(v)),
                abi::ValType::F64 => body.instruction(&Instruction::F64Const((v as f64).into())),
            };
        }
        body.instruction(&Instruction::Call(f_index as u32));
        for _ in f.results {
            body.instruction(&Instruction::Drop);
        }
    }
    body.instruction(&Instruction::End);
    let mut code = CodeSection::new();
    code.function(&body);

    let mut data = DataSection::new();
    let size = (pages as usize) << 16;
    let len = input.data.len().min(size);
    if len > 0 {
        let offset = usize::from(input.data_offset) % (size - len + 1);
        data.active(
            0,
            &ConstExpr::i32_const(offset as i32),
            input.data[..len].iter().copied(),
        );
    }

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&memories)
        .section(&exports)
        .section(&code);
    if len > 0 {
        module.section(&data);
    }
    module.finish()
}

/// One sandbox for the whole session, with its storage in a temporary
/// directory. (A static is never dropped, so the directory stays behind in
/// the system's temporary directory: a few KiB, named `.tmp*`.)
fn sandbox() -> &'static (Sandbox, tempfile::TempDir) {
    static SANDBOX: OnceLock<(Sandbox, tempfile::TempDir)> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = SandboxConfig {
            storage_dir: Some(dir.path().join("storage")),
            ..SandboxConfig::in_memory()
        };
        (Sandbox::with_config(config).expect("a sandbox"), dir)
    })
}

fuzz_target!(|input: Input| {
    let wasm = module(&input);
    let (sandbox, _) = sandbox();
    let spirit = sandbox
        .load("fuzz", &wasm)
        .unwrap_or_else(|e| panic!("the generated module does not load: {e}"));
    let limits = Limits {
        fuel: 1_000_000,
        timeout: Duration::from_secs(10),
        max_memory: 1 << 20,
        storage: StorageQuota {
            max_key: 256,
            max_value: 4096,
            max_total: 1 << 20,
        },
        ..Limits::default()
    };
    let mut request = RunRequest::new(Policy::allow(Capability::ALL.iter().copied()), limits);
    request.input = input.input.clone();
    request.seed = input.seed;
    match sandbox.run(&spirit, request) {
        Ok(_) | Err(RunError::Aborted(_) | RunError::Trap(_) | RunError::OutOfFuel(_)) => {}
        Err(e) => panic!("unexpected end of a run of host calls: {e}"),
    }
});
