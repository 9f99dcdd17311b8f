//! Context build + redaction + token budget for one incident, from a shipped example snapshot
//! (`cargo bench -p guardian --bench analysis`). Figures are recorded in docs/analysis.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use guardian_core::analysis::context::{self, Limits};
use guardian_core::analysis::{fit, rules};
use guardian_core::decide;
use guardian_core::detect::{self, Settings};
use guardian_core::policy::Policy;
use guardian_core::redact::Redactor;

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/crash-loop");
    let loaded = guardian::snapshot::load(&dir).expect("the crash-loop example loads");
    let snapshot = loaded.snapshot;
    let now = snapshot.newest_timestamp().unwrap_or(0);
    let signal = detect::run(&snapshot, &Settings::default(), now)
        .into_iter()
        .next()
        .expect("the crash-loop example has an incident");
    let incident = decide::on_signal(&signal, None, &[], None, &Policy::default(), now, || {
        "bench".into()
    })
    .incident;
    let redactor = Redactor::default();
    let mut group = c.benchmark_group("analysis");
    group.sample_size(20);
    group.bench_function("context_redact_fit_rules_crash_loop", |b| {
        b.iter(|| {
            let ctx = context::collect(
                black_box(&incident),
                Some(&snapshot),
                &redactor,
                &Limits::default(),
            );
            let ctx = fit::fit(ctx, 6_000, &guardian::analyze::estimate_tokens);
            black_box(rules::analyze(&ctx, &incident))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
