//! [`Ctx`], what the parser carries while it reads one file: the action numbering and where it
//! stands, and every `save_as` and template met, for the checks that need the whole file.

use std::cell::RefCell;
use std::ops::Range;

use crate::lang::templates::Template;
use crate::problem::Checker;

/// What the parser knows while it reads a file's actions: where it is, and every `save_as` and
/// template it has met, for the checks that need the whole file.
pub(crate) struct Ctx<'c, 't> {
    pub checker: &'c Checker<'t>,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    /// The number the next action gets: actions are numbered depth first, in the order
    /// [`walk_actions`](crate::events::walk_actions) visits them.
    next_action: usize,
    /// The actions being read, innermost last.
    current: Vec<usize>,
    /// Action lists around the place being read; the event's `actions` is 1.
    lists: usize,
    /// Loop bodies around the place being read.
    loops: usize,
    /// `on_error` lists around the place being read.
    on_errors: usize,
    saves: Vec<Save>,
    uses: Vec<Use>,
    /// Names `math` and `get_variable` set with `variable`.
    run_variables: Vec<String>,
    /// Every button's `event`, where it is written: judged against the other files.
    button_events: Vec<(String, Range<usize>)>,
    /// Where each `reply` action's `type` is written: judged against the `[trigger]`.
    replies: Vec<Range<usize>>,
}

/// A `save_as` and the action that sets it.
#[derive(Debug, Clone)]
pub(crate) struct Save {
    pub name: String,
    /// The action's number; it and the actions nested in it are before `end`.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    /// The action's type and `output_fields`, when it was read without problems.
    pub kind: Option<(&'static str, &'static [&'static str])>,
}

/// One template as written, with where it stands.
#[derive(Debug, Clone)]
pub(crate) struct Use {
    pub text: String,
    pub span: Range<usize>,
    /// The number of the action holding it.
    pub action: usize,
    pub in_loop: bool,
    pub in_on_error: bool,
}

impl<'c, 't> Ctx<'c, 't> {
    pub fn new(checker: &'c Checker<'t>) -> Self {
        Ctx {
            checker,
            state: RefCell::new(State::default()),
        }
    }

    /// A template read from the file at `span`, recorded for the reference checks.
    pub fn template(&self, text: &str, span: Range<usize>) -> Template {
        let template = Template::new(text);
        // A text with a brace but no placeholder is kept too: it may hold an unclosed `{name`.
        if !template.is_static() || text.contains('{') {
            let mut state = self.state.borrow_mut();
            let action = state.current.last().copied().unwrap_or(0);
            let (in_loop, in_on_error) = (state.loops > 0, state.on_errors > 0);
            state.uses.push(Use {
                text: text.to_owned(),
                span,
                action,
                in_loop,
                in_on_error,
            });
        }
        template
    }

    /// Numbers a new action and makes it the current one.
    pub fn begin_action(&self) -> usize {
        let mut state = self.state.borrow_mut();
        let index = state.next_action;
        state.next_action += 1;
        state.current.push(index);
        index
    }

    /// Ends the current action; gives the number after it and everything nested in it.
    pub fn end_action(&self) -> usize {
        let mut state = self.state.borrow_mut();
        state.current.pop();
        state.next_action
    }

    pub fn list_depth(&self) -> usize {
        self.state.borrow().lists
    }

    pub fn loop_depth(&self) -> usize {
        self.state.borrow().loops
    }

    /// Runs `read` one action list deeper; `loop_body` and `on_error` say what kind of list.
    pub fn in_list<T>(&self, loop_body: bool, on_error: bool, read: impl FnOnce() -> T) -> T {
        self.change(|state| {
            state.lists += 1;
            state.loops += usize::from(loop_body);
            state.on_errors += usize::from(on_error);
        });
        let result = read();
        self.change(|state| {
            state.lists -= 1;
            state.loops -= usize::from(loop_body);
            state.on_errors -= usize::from(on_error);
        });
        result
    }

    fn change(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.state.borrow_mut());
    }

    /// The action that already has `name` as its `save_as`.
    pub fn save_named(&self, name: &str) -> Option<Save> {
        let state = self.state.borrow();
        state.saves.iter().find(|save| save.name == name).cloned()
    }

    pub fn add_save(&self, save: Save) {
        self.state.borrow_mut().saves.push(save);
    }

    pub fn add_run_variable(&self, name: &str) {
        self.state.borrow_mut().run_variables.push(name.to_owned());
    }

    pub fn add_button_event(&self, event: &str, span: Range<usize>) {
        let mut state = self.state.borrow_mut();
        state.button_events.push((event.to_owned(), span));
    }

    pub fn button_events(&self) -> Vec<(String, Range<usize>)> {
        self.state.borrow().button_events.clone()
    }

    pub fn add_reply(&self, span: Range<usize>) {
        self.state.borrow_mut().replies.push(span);
    }

    pub fn replies(&self) -> Vec<Range<usize>> {
        self.state.borrow().replies.clone()
    }

    pub fn saves(&self) -> Vec<Save> {
        self.state.borrow().saves.clone()
    }

    pub fn uses(&self) -> Vec<Use> {
        self.state.borrow().uses.clone()
    }

    pub fn run_variables(&self) -> Vec<String> {
        self.state.borrow().run_variables.clone()
    }

    /// The 1-based line of `span`'s start.
    pub fn line(&self, span: &Range<usize>) -> usize {
        self.checker.position(span).0
    }
}
