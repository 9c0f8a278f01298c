//! Run records, their listings and their journals.

use super::{both_engines, new_run};
use crate::engine::records::RunFilter;
use crate::run::{Run, RunId, RunStatus, Step, StepOutcome};

fn step(path: &str) -> Step {
    Step {
        path: path.into(),
        action: "stop".into(),
        line: 0,
        started_at_ms: 0,
        duration_ms: 0,
        outcome: StepOutcome::Waiting { until_ms: 1 },
        warnings: vec![],
        channel: None,
    }
}

fn paths(steps: Vec<Step>) -> Vec<String> {
    steps.into_iter().map(|s| s.path).collect()
}

both_engines! {
    async fn steps_come_back_in_order_per_run(subject: Subject) {
        let store = subject.open().await;
        // Index 256 would sort before 2 if keys were not ordered as numbers.
        store.append_step(RunId(1), 256, &step("c")).await.unwrap();
        store.append_step(RunId(1), 0, &step("a")).await.unwrap();
        store.append_step(RunId(1), 2, &step("b")).await.unwrap();
        store.append_step(RunId(2), 0, &step("other")).await.unwrap();
        assert_eq!(paths(store.steps(RunId(1)).await.unwrap()), ["a", "b", "c"]);
        // A step written again replaces the first.
        store.append_step(RunId(1), 2, &step("b2")).await.unwrap();
        assert_eq!(paths(store.steps(RunId(1)).await.unwrap()), ["a", "b2", "c"]);
        store.drop_steps_from(RunId(1), 2).await.unwrap();
        assert_eq!(paths(store.steps(RunId(1)).await.unwrap()), ["a"]);
        assert_eq!(paths(store.steps(RunId(2)).await.unwrap()), ["other"]);
        assert!(store.steps(RunId(3)).await.unwrap().is_empty());
    }

    async fn runs_are_listed_newest_first_as_the_filter_asks(subject: Subject) {
        let store = subject.open().await;
        let mut all: Vec<Run> = Vec::new();
        for (i, event) in ["a", "b", "a", "b", "a"].into_iter().enumerate() {
            let mut run = new_run(&store, i as u64).await;
            run.event_id = event.into();
            store.accept_run(&run, None).await.unwrap();
            if i % 2 == 0 {
                run.status = RunStatus::Failed;
                run.finished_at_ms = Some(10);
                store.finish_run(&run).await.unwrap();
            }
            all.push(run);
        }
        let ids = |runs: Vec<Run>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let list = |event: Option<&str>, failed: bool, limit: usize| RunFilter {
            event: event.map(str::to_owned),
            failed,
            limit,
        };
        assert_eq!(
            ids(store.runs_newest_first(&list(None, false, 10)).await.unwrap()),
            all.iter().rev().map(|r| r.id).collect::<Vec<_>>()
        );
        assert_eq!(
            ids(store.runs_newest_first(&list(None, false, 2)).await.unwrap()),
            [all[4].id, all[3].id]
        );
        assert_eq!(
            ids(store.runs_newest_first(&list(Some("b"), false, 10)).await.unwrap()),
            [all[3].id, all[1].id]
        );
        assert_eq!(
            ids(store.runs_newest_first(&list(Some("a"), true, 2)).await.unwrap()),
            [all[4].id, all[2].id]
        );
        assert!(store
            .runs_newest_first(&list(Some("b"), true, 10))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(store.run(all[1].id).await.unwrap().as_ref(), Some(&all[1]));
        assert_eq!(store.run(RunId(7)).await.unwrap(), None);
    }

    async fn a_record_keeps_every_character(subject: Subject) {
        let store = subject.open().await;
        let mut run = new_run(&store, 1).await;
        // What a webhook body may carry, U+0000 included.
        let text = "nul \u{0} tab \t quote \" emoji \u{1F600} backslash \\ ☃";
        run.variables.insert("body", text);
        store.accept_run(&run, None).await.unwrap();
        let mut with_step = step(text);
        with_step.action = text.into();
        store.append_step(run.id, 0, &with_step).await.unwrap();
        assert_eq!(store.run(run.id).await.unwrap().unwrap(), run);
        assert_eq!(store.steps(run.id).await.unwrap(), [with_step]);
    }
}
