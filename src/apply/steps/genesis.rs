//! A para's genesis (head + validation code) for onboarding, resolved when
//! the onboarding step runs ("known after apply") from the source the
//! desired state names — never guessed:
//!
//! - `genesis = "collator"`: block #0 read through a node of the para
//!   (`chain_getHeader(#0)` + `:code` at #0, see `chain::node_rpc`). When
//!   that fails (no node answers, block #0's state pruned), the collator
//!   binary exports it (`export-genesis-head` / `export-genesis-wasm` through
//!   the provider's one-off command); the journal records which source gave it.
//! - `genesis = "<raw spec>"`: the code is the spec's `:code`; the head needs
//!   the genesis state root (a trie over all of `genesis.raw`), which only
//!   the collator binary computes: `export-genesis-head --chain <spec>`. With
//!   no collator group to run it, the step fails saying what to configure.

use super::StepCtx;
use crate::apply::ops::OpError;
use crate::spec::ids::{ChainSide, ParaId};
use crate::spec::model::{ChainRef, GenesisSource, Role};
use crate::spec::workload::WorkloadSpec;
use std::time::Duration;

/// How long an `export-genesis-*` command may take (it builds the genesis
/// state from the chain spec).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub struct Genesis {
    pub head: Vec<u8>,
    pub code: Vec<u8>,
    /// Where it came from, for the journal and messages.
    pub from: String,
}

pub async fn resolve(
    ctx: &StepCtx<'_>,
    para: ParaId,
    source: &GenesisSource,
) -> Result<Genesis, OpError> {
    let g = match source {
        GenesisSource::Collator => from_collator(ctx, para).await?,
        GenesisSource::RawSpec { path } => from_raw_spec(ctx, para, path).await?,
    };
    if g.head.is_empty() || g.code.is_empty() {
        return Err(OpError::Invalid(format!(
            "the genesis of para {para} from {} has an empty {}",
            g.from,
            if g.head.is_empty() { "head" } else { "code" }
        )));
    }
    Ok(g)
}

async fn from_collator(ctx: &StepCtx<'_>, para: ParaId) -> Result<Genesis, OpError> {
    let rpc_err = match ctx.chain.para_genesis(para).await {
        Ok(g) => {
            return Ok(Genesis {
                head: g.head,
                code: g.code,
                from: format!("block #0 of para {para} (node RPC)"),
            })
        }
        Err(e) => e,
    };
    let Some(spec) = para_spec(ctx, para) else {
        return Err(OpError::Invalid(format!(
            "cannot read the genesis of para {para} from its nodes ({rpc_err}), and the desired \
             state has no collator group for para {para} whose binary could export it: add the \
             para's collators, or set the para's genesis to its raw chain spec"
        )));
    };
    tracing::warn!(%para, error = %rpc_err, command = %spec.command,
        "block #0 not readable through the para's nodes; exporting the genesis with the collator binary");
    let chain = chain_arg(&spec.chain);
    let head = export(ctx, &spec, "export-genesis-head", &chain).await;
    let code = export(ctx, &spec, "export-genesis-wasm", &chain).await;
    match (head, code) {
        (Ok(head), Ok(code)) => Ok(Genesis {
            head,
            code,
            from: format!(
                "`{} export-genesis-head/-wasm --chain {chain}`",
                spec.command
            ),
        }),
        (Err(e), _) | (_, Err(e)) => Err(OpError::Invalid(format!(
            "cannot obtain the genesis of para {para}: through its nodes: {rpc_err}; with the \
             collator binary: {e}. Make a node of para {para} answer RPC with block #0's state \
             (a young chain or an archive node), or set the para's genesis to its raw chain spec"
        ))),
    }
}

async fn from_raw_spec(ctx: &StepCtx<'_>, para: ParaId, path: &str) -> Result<Genesis, OpError> {
    if path.starts_with("http://") || path.starts_with("https://") {
        return Err(OpError::Invalid(format!(
            "para {para}: genesis = {path:?} is a URL; download the raw chain spec into the \
             network directory and name that file"
        )));
    }
    let file = ctx.desired.source.dir.join(path);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        OpError::Invalid(format!(
            "para {para}: cannot read the raw chain spec {}: {e}",
            file.display()
        ))
    })?;
    let code = crate::chain::node_rpc::code_from_raw_spec(&text).map_err(|e| {
        OpError::Invalid(format!(
            "para {para}: {}: {e} (build one with `<collator> build-spec --raw`)",
            file.display()
        ))
    })?;
    let Some(spec) = para_spec(ctx, para) else {
        return Err(OpError::Invalid(format!(
            "para {para}: the genesis head cannot be taken from the raw chain spec {path} alone (it \
             needs the genesis state root, a trie over genesis.raw); paraform runs `<collator> \
             export-genesis-head --chain {path}` for it, but para {para} has no collator group. \
             Add the para's collator group, or set genesis = \"collator\""
        )));
    };
    let head = export(ctx, &spec, "export-genesis-head", path)
        .await
        .map_err(|e| {
            OpError::Invalid(format!(
                "para {para}: the genesis head of the raw chain spec {path} needs the genesis state \
                 root, which `{} export-genesis-head --chain {path}` computes, and that failed: {e}. \
                 Make the collator binary available to the provider, or set genesis = \"collator\"",
                spec.command
            ))
        })?;
    Ok(Genesis {
        head,
        code,
        from: format!(
            "{path} (code) and `{} export-genesis-head --chain {path}` (head)",
            spec.command
        ),
    })
}

/// The workload spec of the para's first collator group (any group of the
/// para when it has no collator group): its binary exports the genesis.
fn para_spec(ctx: &StepCtx<'_>, para: ParaId) -> Option<WorkloadSpec> {
    let groups = || {
        ctx.desired
            .groups
            .iter()
            .filter(move |g| g.chain == ChainSide::Para(para))
    };
    groups()
        .find(|g| g.role == Role::Collator)
        .or_else(|| groups().next())
        .map(|g| WorkloadSpec::for_group(ctx.desired, g))
}

fn chain_arg(chain: &ChainRef) -> String {
    match chain {
        ChainRef::BuiltIn { name } => name.clone(),
        ChainRef::Spec { path } => path.clone(),
    }
}

async fn export(
    ctx: &StepCtx<'_>,
    spec: &WorkloadSpec,
    subcommand: &str,
    chain: &str,
) -> Result<Vec<u8>, OpError> {
    let args = vec![
        subcommand.to_string(),
        "--chain".to_string(),
        chain.to_string(),
    ];
    let out = ctx.provider.run_once(spec, &args, EXPORT_TIMEOUT).await?;
    parse_hex_output(&out).map_err(|why| {
        OpError::Invalid(format!(
            "`{} {subcommand} --chain {chain}` printed {why}",
            spec.command
        ))
    })
}

/// `export-genesis-*` print `0x…` hex on stdout (without `--raw`).
pub fn parse_hex_output(out: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(out).map_err(|_| "non-UTF-8 output, not hex".to_string())?;
    let text = text.trim();
    let hex_part = text
        .strip_prefix("0x")
        .ok_or_else(|| format!("{} byte(s) not starting with 0x", text.len()))?;
    let bytes = hex::decode(hex_part).map_err(|e| format!("invalid hex ({e})"))?;
    if bytes.is_empty() {
        return Err("nothing (0x)".into());
    }
    Ok(bytes)
}
